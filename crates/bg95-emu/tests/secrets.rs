//! The FTP password never reaches a log or a transcript: the real binary with
//! `BG95_LOG=trace` (and a filter naming suppaftp itself), a login attempt that sends
//! `PASS`, then stderr and the `--transcript` file are searched for the password.

mod host;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use host::{boot_bytes, Host};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Unusual enough to appear nowhere by chance.
const PASSWORD: &str = "Qz7-pw-9Xk";

/// One `serve` run: log in with [`PASSWORD`] (the embedded server refuses it after PASS),
/// then (stderr, transcript).
fn run_with_log(filter: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("session.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["serve", "--ftp-server", "127.0.0.1:0", "--transcript"])
        .arg(&transcript)
        .env("BG95_LOG", filter)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut tty = String::new();
    out.read_line(&mut tty).unwrap();
    let mut ftp = String::new();
    out.read_line(&mut ftp).unwrap();
    let tty = tty.trim().strip_prefix("tty: ").unwrap().to_string();
    let port = ftp.trim().rsplit(':').next().unwrap().trim_end_matches('/');
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let mut h = Host::open(std::path::Path::new(&tty));
    h.expect(&boot_bytes());
    h.chat("AT+QIACT=1\r", "AT+QIACT=1\r\r\nOK\r\n");
    let account = format!("AT+QFTPCFG=\"account\",\"test\",\"{PASSWORD}\"\r");
    h.chat(&account, &format!("{account}\r\nOK\r\n"));
    let open = format!("AT+QFTPOPEN=\"127.0.0.1\",{port}\r");
    h.chat(&open, &format!("{open}\r\nOK\r\n"));
    h.expect(b"\r\n+QFTPOPEN: 625,530\r\n");
    drop(h);

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    child.wait().unwrap();
    let stderr = err_reader.join().unwrap();
    let transcript = std::fs::read_to_string(&transcript).unwrap();
    (stderr, transcript)
}

fn check(filter: &str) {
    let (stderr, transcript) = run_with_log(filter);
    // The logs and the transcript are really there (the test is not vacuous).
    assert!(
        stderr.contains("-> PASS ****"),
        "the driver's trace is missing ({filter}):\n{stderr}"
    );
    let masked = format!("\"{}\"", "*".repeat(PASSWORD.len()));
    assert!(
        transcript.contains(&format!("> AT+QFTPCFG=\"account\",\"test\",{masked}")),
        "host line not masked:\n{transcript}"
    );
    assert!(
        transcript.matches(&masked).count() >= 2,
        "the echo is masked too:\n{transcript}"
    );
    assert!(!stderr.contains(PASSWORD), "password in the log ({filter})");
    assert!(!transcript.contains(PASSWORD), "password in the transcript");
}

#[test]
fn password_is_in_no_log_and_no_transcript() {
    check("trace");
    check("warn,bg95=trace,suppaftp=trace,suppaftp::async_ftp::tokio_ftp::control=trace");
}
