//! `bg95-emu replay --live`: a session recorded through the real PTY against the embedded
//! FTP server (login, download to COM:, upload from COM:, close) replays against a fresh
//! embedded server serving the same files without a diff; with a file changed on the
//! server the diff shows the changed bytes; with no server at the recorded address the
//! replay ends (bounded waits) with a diff, never a hang.

mod host;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use bg95_emu::Emulator;
use host::{boot_bytes, Host};

const CONTENT: &[u8] = b"first line\r\nsecond line: live bytes\r\n";

fn write_root(dir: &Path, content: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("test.txt"), content).unwrap();
}

/// Record a session against an embedded server serving `root`; returns the recording.
fn record(dir: &Path, root: &Path) -> std::path::PathBuf {
    let transcript = dir.join("session.txt");
    let emu = Emulator::builder()
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .ftp_root(root)
        .transcript(&transcript)
        .spawn()
        .unwrap();
    let port = emu.ftp_addr().unwrap().port();
    let mut host = Host::open(emu.tty_path());
    host.expect(&boot_bytes());
    host.chat("AT+QIACT=1\r", "AT+QIACT=1\r\r\nOK\r\n");
    host.chat(
        "AT+QFTPCFG=\"account\",\"test\",\"test\"\r",
        "AT+QFTPCFG=\"account\",\"test\",\"test\"\r\r\nOK\r\n",
    );
    host.send(format!("AT+QFTPOPEN=\"127.0.0.1\",{port}\r").as_bytes());
    host.read_until(b"+QFTPOPEN: 0,0\r\n");
    host.send(b"AT+QFTPGET=\"test.txt\",\"COM:\"\r");
    host.read_until(format!("+QFTPGET: 0,{}\r\n", CONTENT.len()).as_bytes());
    host.send(b"AT+QFTPPUT=\"up.txt\",\"COM:\",0,5,1\r");
    host.read_until(b"CONNECT\r\n");
    host.send(b"hello");
    host.read_until(b"+QFTPPUT: 0,5\r\n");
    host.send(b"AT+QFTPCLOSE\r");
    host.read_until(b"+QFTPCLOSE: 0,0\r\n");
    emu.stop().unwrap();
    assert_eq!(std::fs::read(root.join("up.txt")).unwrap(), b"hello");
    transcript
}

fn replay_live(file: &Path, root: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bg95-emu"));
    cmd.args(["replay", "--live", "--answer-wait", "3"])
        .arg(file);
    if let Some(root) = root {
        cmd.arg("--ftp-root").arg(root);
    }
    cmd.output().unwrap()
}

#[test]
fn a_recorded_session_replays_live_against_a_fresh_server() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    write_root(&root, CONTENT);
    let transcript = record(dir.path(), &root);
    let text = std::fs::read_to_string(&transcript).unwrap();
    assert!(text.contains("#! server embedded 127.0.0.1:"), "{text}");
    assert!(text.contains("= ftp upload-data \"hello\""), "{text}");

    // The same files on a fresh server at the recorded address: no diff.
    let fresh = dir.path().join("fresh");
    write_root(&fresh, CONTENT);
    let run = replay_live(&transcript, Some(&fresh));
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    // The replay uploads to a copy: the folder it was given is unchanged.
    assert!(!fresh.join("up.txt").exists());

    // The file changed on the server (same length): the diff shows the downloaded bytes.
    let changed = dir.path().join("changed");
    write_root(&changed, b"first line\r\nsecond line: LIVE bytes\r\n");
    let run = replay_live(&transcript, Some(&changed));
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let diff = String::from_utf8_lossy(&run.stdout);
    assert!(diff.contains("-< second line: live bytes\\r\\n"), "{diff}");
    assert!(diff.contains("+< second line: LIVE bytes\\r\\n"), "{diff}");
    assert_eq!(diff.matches("\n-< ").count(), 1, "only that line: {diff}");
}

#[test]
fn an_unreachable_server_is_a_diff_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    write_root(&root, CONTENT);
    let transcript = record(dir.path(), &root);
    // Nothing listens at the recorded address any more (the recording's server stopped).
    let start = std::time::Instant::now();
    let run = replay_live(&transcript, None);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let diff = String::from_utf8_lossy(&run.stdout);
    assert!(diff.contains("-< +QFTPOPEN: 0,0\\r\\n"), "{diff}");
    assert!(diff.contains("+< +QFTPOPEN: "), "{diff}");
    // Bounded: each answer that does not come is waited for a few seconds at most (a
    // bound on a failure, not a speed measurement).
    assert!(start.elapsed() < Duration::from_secs(120), "{diff}");
}

/// The user starts the server at the recorded address (here an embedded one with the real
/// account): the masked password needs `--ftp-password`.
#[test]
fn a_server_the_user_started_needs_the_real_password() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    write_root(&root, CONTENT);
    let transcript = record(dir.path(), &root);
    let text = std::fs::read_to_string(&transcript).unwrap();
    let addr: std::net::SocketAddr = text
        .lines()
        .find_map(|l| l.strip_prefix("#! server embedded "))
        .unwrap()
        .parse()
        .unwrap();
    let served = dir.path().join("served");
    write_root(&served, CONTENT);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _server = rt
        .block_on(bg95_emu::server::start_embedded_with(
            addr,
            served.clone(),
            bg95_emu::server::ServerOptions::default(),
        ))
        .unwrap();

    let run = replay_live(&transcript, None);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let diff = String::from_utf8_lossy(&run.stdout);
    assert!(diff.contains("+< +QFTPOPEN: 625,530\\r\\n"), "{diff}");

    let run = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["replay", "--live", "--ftp-password", "test"])
        .arg(&transcript)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    // This time the upload reached the server the user runs.
    assert_eq!(std::fs::read(served.join("up.txt")).unwrap(), b"hello");
}
