//! `bg95-emu run`'s assertions fail as they should: a final answer that is not the expected
//! one fails the step at once (not after its timeout), `expect_silence` fails on a byte,
//! `not_before` on an answer that came too soon, file checks name what they found. Each
//! failing scenario is its own file; the passing forms run in the shipped scenarios.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Run one scenario file; its single output line and how long the run took.
fn run(dir: &Path, name: &str, text: &str) -> (Option<i32>, String, Duration) {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["run", p.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), stdout, start.elapsed())
}

const SERVER: &str = r#"
[network]
dns_exclusive = true
[network.dns]
"ftp.example.com" = "127.0.0.1"
[ftp_server]
root = "root"
[ftp_server.files]
"a.txt" = { text = "hello" }
[[step]]
line = "ATE0"
[[step]]
expect = "OK"
[[step]]
line = "AT+QFTPCFG=\"account\",\"test\",\"test\""
[[step]]
expect = "OK"
[[step]]
line = "AT+QFTPOPEN=\"ftp.example.com\",${ftp_port}"
"#;

#[test]
fn a_conflicting_final_answer_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("root")).unwrap();
    let text = format!(
        "{SERVER}[[step]]\nexpect = \"+QFTPOPEN: 0,0\"\n[[step]]\nline = \"AT+QFTPSIZE=\\\"none.txt\\\"\"\n[[step]]\nexpect = \"+QFTPSIZE: 0,5\"\ntimeout = \"100s\"\n"
    );
    let (code, out, took) = run(dir.path(), "s.toml", &text);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(": step at line 24: expected line \"+QFTPSIZE: 0,5\"; got \"+QFTPSIZE: 627,550\", a final answer (lines seen before it: [\"OK\"])"),
        "{out}"
    );
    // Far from the 100 s timeout (a bound on the failure, not a speed measurement).
    assert!(took < Duration::from_secs(60), "{took:?}");
    // An earlier command's OK, still unread when the next command goes, is skipped.
    let text = "[[step]]\nline = \"AT\"\n[[step]]\nwait = \"200ms\"\n[[step]]\nline = \"AT+CPIN?\"\n[[step]]\nexpect = \"+CPIN: READY\"\n";
    let (code, out, _) = run(dir.path(), "stale.toml", text);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn silence_and_not_before_fail_when_broken() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[[step]]\nexpect = \"APP RDY\"\n[[step]]\nline = \"AT\"\n[[step]]\nexpect_silence = \"1s\"\n";
    let (code, out, _) = run(dir.path(), "noisy.toml", text);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(": step at line 5: expected silence for 1s; after "),
        "{out}"
    );
    assert!(out.contains("came \"AT\\r"), "{out}");
    let text = "[[step]]\nline = \"AT\"\n[[step]]\nexpect = \"OK\"\nnot_before = \"5s\"\n";
    let (code, out, _) = run(dir.path(), "soon.toml", text);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(": step at line 3: \"OK\" came after "),
        "{out}"
    );
    assert!(out.contains(", before not_before 5s"), "{out}");
    let text = "[[step]]\nexpect = \"APP RDY\"\n[[step]]\nexpect_silence = \"300ms\"\n[[step]]\nline = \"AT\"\n[[step]]\nexpect_any = [\"ERROR\", \"OK\"]\n";
    let (code, out, _) = run(dir.path(), "quiet.toml", text);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn file_checks_say_what_they_found() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("root")).unwrap();
    let text = format!(
        "{SERVER}[[step]]\nexpect = \"+QFTPOPEN: 0,0\"\n[[step]]\nexpect_server_file = {{ name = \"a.txt\", text = \"hello\", size = 5 }}\n[[step]]\nexpect_ufs_file = {{ name = \"a.txt\", absent = true }}\n[[step]]\nexpect_server_file = {{ name = \"a.txt\", size = 6 }}\ntimeout = \"100ms\"\n"
    );
    let (code, out, _) = run(dir.path(), "files.toml", &text);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            ": step at line 26: server file \"a.txt\": 5 bytes, expected 6 (waited 100ms)"
        ),
        "{out}"
    );
}

/// A `repeat` group runs its steps again each round; a failure names the round and the
/// inner step's line. Round 1 passes with echo on; its ATE0 makes round 2's echo check fail.
#[test]
fn a_repeat_group_failure_names_its_round_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[[setup]]\nline = \"AT\"\n[[setup]]\nexpect = \"OK\"\n[[step]]\nrepeat = 3\n[[step.steps]]\nline = \"AT\"\n[[step.steps]]\nexpect_bytes = \"AT\\r\\r\\nOK\\r\\n\"\n[[step.steps]]\nline = \"ATE0\"\n[[step.steps]]\nexpect = \"OK\"\n";
    let (code, out, _) = run(dir.path(), "r.toml", text);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(": step at line 5: repetition 2 of 3, step at line 9: expected bytes \"AT\\r\\r\\nOK\\r\\n\""),
        "{out}"
    );
    // The same group without the echo check passes all its rounds.
    let text = "[[step]]\nrepeat = 50\nsteps = [{ line = \"AT+CSQ\" }, { expect_regex = '^\\+CSQ: \\d+,\\d+$' }, { expect = \"OK\" }]\n";
    let (code, out, _) = run(dir.path(), "ok.toml", text);
    assert_eq!(code, Some(0), "{out}");
}
