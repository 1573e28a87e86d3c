//! The backpressure limits of `bg95_core::Limits` apply where they say they do.

use bg95_core::ftp::FtpEvent;
use bg95_core::transcript::{Harness, OPEN_FTP_SESSION as OPEN};
use bg95_core::{Completion, Instant, Limits, Module};

/// A module with `limits` after `script`; the tests look at its own queues.
fn module(limits: Limits, script: &str) -> Module {
    let mut h = Harness::new();
    h.module_mut().set_limits(limits);
    h.play(script);
    h.into_module()
}

/// `output_high_water` bounds the core's own queued output plus the runtime's unwritten
/// backlog, so a download stops being fed once the host falls behind.
#[test]
fn output_high_water_counts_queued_and_unwritten_output() {
    let limits = Limits {
        output_high_water: 100,
        ..Limits::default()
    };
    let script = format!(
        "{OPEN}{}",
        r#"
> AT+QFTPGET="big.bin","COM:"\r
= ftp download file "big.bin" offset=0 limit=none
! ftp ready
< \r\nCONNECT\r\n
"#
    );
    let mut m = module(limits, &script);
    assert!(m.wants_data(0));
    assert!(m.wants_data(99));
    assert!(
        !m.wants_data(100),
        "the runtime's backlog alone reaches the limit"
    );
    // 60 bytes the runtime has not taken yet, plus 40 unwritten: at the limit.
    let now = Instant::from_micros(1);
    m.handle_completion(now, Completion::Ftp(FtpEvent::Data(vec![b'x'; 60])));
    assert!(m.wants_data(39));
    assert!(
        !m.wants_data(40),
        "queued plus unwritten output reaches the limit"
    );
    assert_eq!(m.poll_output().map(|o| o.len()), Some(60));
    assert!(m.wants_data(40), "handed out, the queue no longer counts");
}

/// A paused COM: download takes no data whatever the backlog.
#[test]
fn paused_download_wants_no_data() {
    let script = format!(
        "{OPEN}{}",
        r#"
> AT+QFTPGET="big.bin","COM:"\r
= ftp download file "big.bin" offset=0 limit=none
! ftp ready
< \r\nCONNECT\r\n
@+1100ms
> +++
@+1100ms
< \r\nOK\r\n
"#
    );
    let m = module(Limits::default(), &script);
    assert!(!m.wants_data(0));
}

/// `upload_chunk` cuts a UFS file into `UploadData` pieces of at most that size.
#[test]
fn ufs_upload_goes_in_upload_chunks() {
    let limits = Limits {
        upload_chunk: 4,
        ..Limits::default()
    };
    let script = format!(
        "{}{OPEN}{}",
        r#"
> AT+QFUPL="ten.txt",10\r
< AT+QFUPL="ten.txt",10\r\r\nCONNECT\r\n
> 0123456789
< \r\n+QFUPL: 10,3839\r\n\r\nOK\r\n
"#,
        r#"
> AT+QFTPPUT="ten.txt","UFS:ten.txt"\r
< \r\nOK\r\n
= ftp upload "ten.txt" offset=0 append=0
! ftp ready
= ftp upload-data "0123"
= ftp upload-data "4567"
= ftp upload-data "89"
= ftp upload-end close=1
! ftp done ok
< \r\n+QFTPPUT: 0,10\r\n
"#
    );
    module(limits, &script);
}
