//! Golden transcripts against real FTP(S) servers: every `fixtures/transcripts/servers/*.txt`
//! is replayed through the PTY of a spawned emulator against each server its `#! server`
//! header names, byte for byte. `{port}` in a host line stands for that server's port,
//! `{ssltype}` for the QFTPCFG "ssltype" it needs (0 plain, 1 implicit, 2 explicit FTPS).
//!
//! Servers (each serves a copy of `fixtures/ftp-root`, user `test`/`test`):
//! - `embedded`: the embedded libunftp server, plain FTP;
//! - `embedded-ftps`: the same with `--ftp-tls` (explicit FTPS required; its CA is in UFS as
//!   `ftps-ca.pem`);
//! - `vsftpd`, `vsftpd-explicit`, `vsftpd-implicit`: vsftpd, plain / explicit / implicit
//!   FTPS, with the CA of its certificate placed in UFS as `ftps-ca.pem` before boot.
//!
//! These files are not replayed by the core's runner: they need a real server, not
//! scripted `! ftp` events.

mod host;
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use bg95_core::transcript::parse;
use bg95_emu::emulator::{fixtures_dir, FTPS_CA_UFS_NAME};
use bg95_emu::Emulator;
use host::{boot_bytes, Host};
use support::vsftpd::{self, Mode, Vsftpd};

fn server_files() -> Vec<PathBuf> {
    let dir = fixtures_dir().join("transcripts/servers");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    files
}

/// The server names of a file's `#! server a b …` header.
fn servers_of(text: &str) -> Vec<String> {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.trim().strip_prefix("#! server "))
        .flat_map(|s| s.split_whitespace().map(str::to_string))
        .collect()
}

/// A running server with an emulator pointed at it.
struct Rig {
    emu: Emulator,
    port: u16,
    _vsftpd: Option<Vsftpd>,
    _dirs: Vec<tempfile::TempDir>,
}

fn copy_root_into(put: &mut dyn FnMut(&str, &[u8])) {
    let root = fixtures_dir().join("ftp-root");
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            put(&name, &std::fs::read(&path).unwrap());
        }
    }
}

fn embedded(tls: bool) -> Rig {
    let root = tempfile::tempdir().unwrap();
    copy_root_into(&mut |n, b| std::fs::write(root.path().join(n), b).unwrap());
    let emu = Emulator::builder()
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .ftp_root(root.path())
        .ftp_tls(tls)
        .spawn()
        .unwrap();
    let port = emu.ftp_addr().unwrap().port();
    Rig {
        emu,
        port,
        _vsftpd: None,
        _dirs: vec![root],
    }
}

fn vsftpd(mode: Mode) -> Rig {
    assert!(
        vsftpd::available(),
        "vsftpd is not installed or not root: run .ci/run"
    );
    let v = Vsftpd::start(mode);
    copy_root_into(&mut |n, b| v.put(n, b));
    let sub = v.root.join("TEST_2");
    std::fs::create_dir(&sub).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o777)).unwrap();
    let ufs = tempfile::tempdir().unwrap();
    if let Some(c) = &v.certs {
        std::fs::write(ufs.path().join(FTPS_CA_UFS_NAME), &c.ca_pem).unwrap();
    }
    let emu = Emulator::builder().ufs_dir(ufs.path()).spawn().unwrap();
    let port = v.addr.port();
    Rig {
        emu,
        port,
        _vsftpd: Some(v),
        _dirs: vec![ufs],
    }
}

fn start(server: &str) -> Result<Rig, String> {
    Ok(match server {
        "embedded" => embedded(false),
        "embedded-ftps" => embedded(true),
        "vsftpd" => vsftpd(Mode::Plain),
        "vsftpd-explicit" => vsftpd(Mode::Explicit),
        "vsftpd-implicit" => vsftpd(Mode::Implicit),
        other => return Err(format!("unknown server {other:?}")),
    })
}

fn replay(path: &Path, text: &str, server: &str) -> Result<(), String> {
    let rig = start(server)?;
    let ssltype = match server {
        "vsftpd-implicit" => "1",
        "embedded-ftps" | "vsftpd-explicit" => "2",
        _ => "0",
    };
    let text = text
        .replace("{port}", &rig.port.to_string())
        .replace("{ssltype}", ssltype);
    let lines = parse(&text).map_err(|e| e.to_string())?;
    let mut host = Host::open(rig.emu.tty_path());
    host.try_expect(&boot_bytes())
        .map_err(|e| format!("boot: {e}"))?;
    host::play(&mut host, &lines).map_err(|e| format!("{}: {e}", path.display()))
}

#[test]
fn server_transcripts_replay_against_real_servers() {
    let files = server_files();
    assert!(!files.is_empty(), "no server transcripts");
    let mut failures = Vec::new();
    let mut runs = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let servers = servers_of(&text);
        assert!(
            !servers.is_empty(),
            "{}: no `#! server` header",
            path.display()
        );
        for server in servers {
            runs += 1;
            if let Err(e) = replay(path, &text, &server) {
                failures.push(format!("{} [{server}]: {e}", path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} server transcript run(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
