//! `serve --transcript` with a `--ufs-dir`: the `#! ufs` header is streamed file by file (a
//! large file is digested in pieces, never held whole: 300 MB in UFS used to cost 314 MB of
//! memory at start), and a PEM private key is recorded as its size and digest unless
//! `--transcript-keys` asks for it (it used to be copied in clear).

#![cfg(unix)]

mod host;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use bg95_core::transcript::Fnv1a64;
use host::{boot_bytes, Host};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIKeyMaterialThatMustNotLeak0000\n-----END PRIVATE KEY-----\n";
/// The large file (sparse, so the test writes nothing).
const BIG: u64 = 100 * 1024 * 1024;
/// The peak resident memory allowed while the header is written (the file is 100 MiB).
const PEAK_BOUND_KB: u64 = 48 * 1024;

/// One `serve --transcript` on `ufs`; (transcript text, peak resident KiB).
fn record(ufs: &std::path::Path, extra: &[&str]) -> (String, u64) {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("t.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["serve", "--ftp-server", "off", "--ufs-dir"])
        .arg(ufs)
        .arg("--transcript")
        .arg(&transcript)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let tty = line.trim().strip_prefix("tty: ").unwrap().to_string();
    // The header is written before the module takes input.
    let mut h = Host::open(std::path::Path::new(&tty));
    h.expect(&boot_bytes());
    drop(h);
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    child.wait().unwrap();
    (std::fs::read_to_string(&transcript).unwrap(), peak)
}

#[test]
fn the_ufs_header_streams_large_files_and_hides_private_keys() {
    let ufs = tempfile::tempdir().unwrap();
    std::fs::write(ufs.path().join("key.pem"), KEY).unwrap();
    std::fs::write(ufs.path().join("cfg.txt"), "a=1\r\n").unwrap();
    let big = std::fs::File::create(ufs.path().join("big.bin")).unwrap();
    big.set_len(BIG).unwrap();
    drop(big);

    let (text, peak_kb) = record(ufs.path(), &[]);
    assert!(
        peak_kb < PEAK_BOUND_KB,
        "peak {peak_kb} KiB with a {BIG}-byte UFS file"
    );
    let mut zeros = Fnv1a64::default();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..BIG >> 20 {
        zeros.update(&chunk);
    }
    assert!(
        text.contains(&format!(
            "#! ufs \"big.bin\" {BIG}B/fnv={:016x}\n",
            zeros.hash
        )),
        "{text}"
    );
    let mut key = Fnv1a64::default();
    key.update(KEY.as_bytes());
    assert!(
        text.contains(&format!(
            "#! ufs \"key.pem\" {}B/fnv={:016x}\n",
            KEY.len(),
            key.hash
        )),
        "{text}"
    );
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains("KeyMaterial"),
        "{text}"
    );
    assert!(
        text.contains("#! ufs \"cfg.txt\" \"a=1\\r\\n\"\n"),
        "{text}"
    );

    // Opt-in for local debugging: the key is in the header again.
    let (text, _) = record(ufs.path(), &["--transcript-keys"]);
    assert!(
        text.contains("#! ufs \"key.pem\" \"-----BEGIN PRIVATE KEY-----\\n"),
        "{text}"
    );
}
