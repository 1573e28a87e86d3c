//! FTPS end to end through the PTY, as a host drives it: the embedded server with
//! `--ftp-tls` (explicit FTPS, CA placed in UFS), and vsftpd (explicit and implicit).

mod host;
mod support;

use bg95_emu::emulator::{ftps_setup_commands, FTPS_CA_UFS_NAME};
use bg95_emu::Emulator;
use host::{boot_bytes, Host};

fn fixture() -> Vec<u8> {
    (0..3000u32).map(|i| (i * 13 % 251) as u8).collect()
}

/// `--ftp-tls` out of the box: the three printed commands and a seclevel 1 open work at once.
#[test]
fn embedded_ftps_works_out_of_the_box() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("test.txt"), fixture()).unwrap();
    let emu = Emulator::builder()
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .ftp_root(root.path())
        .ftp_tls(true)
        .spawn()
        .unwrap();
    let ca = emu.ftp_ca_pem().expect("a CA").to_string();
    let port = emu.ftp_addr().unwrap().port();
    let mut h = Host::open(emu.tty_path());
    h.expect(&boot_bytes());
    h.chat("ATE0\r", "ATE0\r\r\nOK\r\n");
    // The CA is in UFS under the printed name.
    h.chat(
        "AT+QFLST=\"*\"\r",
        &format!(
            "\r\n+QFLST: \"{FTPS_CA_UFS_NAME}\",{}\r\n\r\nOK\r\n",
            ca.len()
        ),
    );
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    for cmd in ftps_setup_commands() {
        h.chat(&format!("{cmd}\r"), "\r\nOK\r\n");
    }
    h.chat(&format!("AT+QFTPOPEN=\"127.0.0.1\",{port}\r"), "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPOPEN: 0,0\r\n");
    h.chat("AT+QFTPGET=\"test.txt\",\"COM:\"\r", "\r\nCONNECT\r\n");
    let data = h.read_exact(fixture().len());
    assert_eq!(data, fixture());
    h.expect(format!("\r\nOK\r\n\r\n+QFTPGET: 0,{}\r\n", fixture().len()).as_bytes());
    h.chat("AT+QFTPCLOSE\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPCLOSE: 0,0\r\n");
}

/// The embedded FTPS server refuses plain FTP logins (TLS is required).
#[test]
fn embedded_ftps_refuses_plain_login() {
    let root = tempfile::tempdir().unwrap();
    let emu = Emulator::builder()
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .ftp_root(root.path())
        .ftp_tls(true)
        .spawn()
        .unwrap();
    let port = emu.ftp_addr().unwrap().port();
    let mut h = Host::open(emu.tty_path());
    h.expect(&boot_bytes());
    h.chat("ATE0\r", "ATE0\r\r\nOK\r\n");
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    h.chat(&format!("AT+QFTPOPEN=\"127.0.0.1\",{port}\r"), "\r\nOK\r\n");
    // libunftp answers USER on a plain control connection with `534 Policy requires
    // TLS`; 534 has no row of its own in the note's table (section 5): 601 unknown error,
    // with the server's code as <protocol_error>.
    h.expect(b"\r\n+QFTPOPEN: 601,534\r\n");
}
