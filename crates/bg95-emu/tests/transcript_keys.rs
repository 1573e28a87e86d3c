//! A PEM private key uploaded with AT+QFUPL during a recorded session never reaches the
//! transcript in clear: the upload's data is a `>key <len>B/fnv=<hex>` line (docs/transcripts.md),
//! decided from the module's UFS data mode. `bg95-emu replay` of that recording sends filler
//! of the same size and shows no diff (the `+QFUPL:` checksum after it is compared masked,
//! every other byte as before); `transcript_keys(true)` records the key in clear.

#![cfg(unix)]

mod host;

use std::path::Path;

use bg95_core::transcript::fnv1a64;
use bg95_emu::Emulator;
use host::{boot_bytes, Host};

/// The base64 body: the bytes that must never be in a default recording.
const BODY: &str = "MC4CAQAwBQYDK2VwBCIEIKeyMaterialThatMustNotLeak0000";

fn key() -> String {
    format!("-----BEGIN PRIVATE KEY-----\n{BODY}\n-----END PRIVATE KEY-----\n")
}

/// The BG95's QFUPL checksum: XOR of the data as 16-bit big-endian words (an odd last byte
/// is the high byte of its word).
fn checksum(data: &[u8]) -> u16 {
    data.chunks(2).fold(0, |acc, w| {
        acc ^ (u16::from(w[0]) << 8 | u16::from(*w.get(1).unwrap_or(&0)))
    })
}

/// Upload the key (in two writes, so the data spans reads) and a plain file, then list UFS.
fn session(host: &mut Host) {
    let key = key();
    host.chat("ATE0\r", "ATE0\r\r\nOK\r\n");
    host.send(format!("AT+QFUPL=\"client.key\",{},10\r", key.len()).as_bytes());
    host.expect(b"\r\nCONNECT\r\n");
    let (a, b) = key.as_bytes().split_at(20);
    host.send(a);
    std::thread::sleep(std::time::Duration::from_millis(50));
    host.send(b);
    host.expect(
        format!(
            "\r\n+QFUPL: {},{:x}\r\n\r\nOK\r\n",
            key.len(),
            checksum(key.as_bytes())
        )
        .as_bytes(),
    );
    host.send(b"AT+QFUPL=\"plain.txt\",5\r");
    host.expect(b"\r\nCONNECT\r\n");
    host.send(b"hello");
    host.expect(b"\r\n+QFUPL: 5,");
    host.read_until(b"OK\r\n");
    host.send(b"AT+QFLST\r");
    host.read_until(b"OK\r\n");
}

fn record(transcript: &Path, keys_in_clear: bool) -> String {
    let emu = Emulator::builder()
        .transcript(transcript)
        .transcript_keys(keys_in_clear)
        .spawn()
        .unwrap();
    let mut host = Host::open(emu.tty_path());
    host.expect(&boot_bytes());
    session(&mut host);
    emu.stop().unwrap();
    std::fs::read_to_string(transcript).unwrap()
}

#[test]
fn an_uploaded_private_key_is_recorded_as_size_and_digest_and_replays_without_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.txt");
    let text = record(&file, false);
    let key = key();

    assert!(!text.contains(BODY), "key body in:\n{text}");
    assert!(!text.contains("PRIVATE KEY"), "key armour in:\n{text}");
    let line = format!(
        "\n>key {}B/fnv={:016x}\n",
        key.len(),
        fnv1a64(key.as_bytes())
    );
    assert!(text.contains(&line), "no {line:?} in:\n{text}");
    // Other upload data stays in clear, and the module's answer is recorded as it was.
    assert!(text.contains("\n> hello\n"), "{text}");
    assert!(
        text.contains(&format!(
            "+QFUPL: {},{:x}\\r\\n",
            key.len(),
            checksum(key.as_bytes())
        )),
        "{text}"
    );

    let out = bg95_emu::replay::replay_file(&file).unwrap();
    assert!(out.identical(), "replay differs:\n{}\n{text}", out.diff);
    // The CLI agrees (exit 0, no diff), and the timeline page of it holds no key either.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .arg("replay")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let page = dir.path().join("keys.html");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .arg("view")
        .arg(&file)
        .arg("-o")
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains(BODY) && html.contains("plain.txt"));

    // Only the checksum is masked: the size after the redacted upload is still compared.
    let changed = text.replacen(
        &format!("+QFUPL: {},", key.len()),
        &format!("+QFUPL: {},", key.len() + 1),
        1,
    );
    let out = bg95_emu::replay::replay_text(&changed).unwrap();
    assert!(!out.identical(), "a changed size must be a diff");
    let masked = format!("+QFUPL: {},<masked>", key.len() + 1);
    assert!(out.diff.contains(&masked), "{}", out.diff);
    // And the plain upload's checksum is not masked.
    let changed = text.replacen("+QFUPL: 5,", "+QFUPL: 5,1", 1);
    let out = bg95_emu::replay::replay_text(&changed).unwrap();
    assert!(!out.identical(), "a changed plain checksum must be a diff");
}

#[test]
fn with_transcript_keys_the_uploaded_key_is_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.txt");
    let text = record(&file, true);
    assert!(text.contains(BODY), "no key body in:\n{text}");
    assert!(!text.contains("\n>key "), "{text}");
    let out = bg95_emu::replay::replay_file(&file).unwrap();
    assert!(out.identical(), "replay differs:\n{}\n{text}", out.diff);
}
