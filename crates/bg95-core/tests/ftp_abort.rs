//! Abort paths that need a module the golden transcripts cannot build (they all run on the
//! default personality): a download into a small UFS that outgrows it.

use bg95_core::transcript::{Harness, OPEN_FTP_SESSION as OPEN};
use bg95_core::Personality;

/// A download into UFS that does not fit is abandoned through the one abort path: 619, the
/// runtime drops the connections, nothing is written, and the rest of the download (before
/// the `aborted` marker) is ignored, so the next request gets its own answer.
#[test]
fn ufs_download_without_room_is_abandoned() {
    let p = Personality {
        ufs_capacity: 8,
        ..Personality::default()
    };
    let script = format!(
        "{OPEN}{}",
        r#"
> AT+QFTPGET="big.bin","UFS:big.bin"\r
< \r\nOK\r\n
= ftp download file "big.bin" offset=0 limit=none
! ftp ready
! ftp data "12345"
! ftp data "67890"
< \r\n+QFTPGET: 619,0\r\n
= ftp abort
> AT+QFTPSTAT;+QFLST\r
< \r\nOK\r\n\r\n+QFTPSTAT: 0,4\r\n
> AT+QFTPOPEN="127.0.0.1"\r
< \r\nOK\r\n
= ftp open host=127.0.0.1 port=21 user="" pass="" type=binary mode=passive data-address=reply tls=none
! ftp data "more"
! ftp done ok
! ftp aborted
> AT+QFTPSTAT\r
< \r\nOK\r\n\r\n+QFTPSTAT: 0,0\r\n
! ftp done ok
< \r\n+QFTPOPEN: 0,0\r\n
"#
    );
    Harness::with_personality(p).play(&script);
}
