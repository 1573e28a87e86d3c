//! Record, then replay without a server: a session through the real PTY against the
//! embedded FTP server with `--transcript`, then `bg95-emu replay` of the recording shows no
//! difference; the same recording with one answer changed shows that difference (exit 1).

mod host;

use std::process::Command;
use std::time::Duration;

use bg95_emu::Emulator;
use host::{boot_bytes, Host};

/// A login, folder, size, download to COM, upload from COM, DNS lookup and close.
fn session(host: &mut Host, port: u16) {
    host.chat("AT+QIACT=1\r", "AT+QIACT=1\r\r\nOK\r\n");
    host.chat(
        "AT+QFTPCFG=\"account\",\"test\",\"test\"\r",
        "AT+QFTPCFG=\"account\",\"test\",\"test\"\r\r\nOK\r\n",
    );
    host.send(format!("AT+QFTPOPEN=\"127.0.0.1\",{port}\r").as_bytes());
    host.read_until(b"+QFTPOPEN: 0,0\r\n");
    host.send(b"AT+QFTPCWD=\"/\"\r");
    host.read_until(b"+QFTPCWD: 0,0\r\n");
    host.send(b"AT+QFTPSIZE=\"test.txt\"\r");
    host.read_until(b"+QFTPSIZE: 0,");
    host.read_until(b"\r\n");
    host.send(b"AT+QFTPGET=\"test.txt\",\"COM:\"\r");
    host.read_until(b"+QFTPGET: 0,");
    host.read_until(b"\r\n");
    host.send(b"AT+QFTPPUT=\"up.txt\",\"COM:\",0,5,1\r");
    host.read_until(b"CONNECT\r\n");
    host.send(b"hello");
    host.read_until(b"+QFTPPUT: 0,5\r\n");
    host.send(b"AT+QIDNSGIP=1,\"localhost\"\r");
    host.read_until(b"+QIURC: \"dnsgip\",0,");
    host.drain_for(Duration::from_millis(300));
    host.send(b"AT+QFTPCLOSE\r");
    host.read_until(b"+QFTPCLOSE: 0,0\r\n");
}

#[test]
fn a_recorded_session_replays_without_a_server_and_without_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("session.txt");
    let emu = Emulator::builder()
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .transcript(&transcript)
        .spawn()
        .unwrap();
    let port = emu.ftp_addr().unwrap().port();
    let mut host = Host::open(emu.tty_path());
    host.expect(&boot_bytes());
    session(&mut host, port);
    emu.stop().unwrap();
    let text = std::fs::read_to_string(&transcript).unwrap();

    // The seams are in the recording, in the replayable format, without the password.
    for want in [
        "#! boot",
        "= ftp open host=127.0.0.1",
        "user=test pass=**** ",
        "! ftp done ok",
        "! ftp data \"",
        "= ftp upload-data \"hello\"",
        "= resolve 1 \"localhost\"",
        "! dns 1 ok",
        "! net time ",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    assert!(!text.contains("\"test\"\\r\\r\\n"), "password in:\n{text}");

    let out = bg95_emu::replay::replay_file(&transcript).unwrap();
    assert!(out.identical(), "replay differs:\n{}\n{text}", out.diff);
    let run = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .arg("replay")
        .arg(&transcript)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert!(run.stdout.is_empty());

    // One answer changed in the recording: the replay shows it, exit 1.
    let changed = text.replacen("+QFTPPUT: 0,5", "+QFTPPUT: 0,6", 1);
    let changed_file = dir.path().join("changed.txt");
    std::fs::write(&changed_file, changed).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .arg("replay")
        .arg(&changed_file)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let diff = String::from_utf8_lossy(&run.stdout);
    assert!(diff.contains("-< +QFTPPUT: 0,6\\r\\n"), "{diff}");
    assert!(diff.contains("+< +QFTPPUT: 0,5\\r\\n"), "{diff}");
}
