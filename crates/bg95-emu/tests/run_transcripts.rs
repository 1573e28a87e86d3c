//! `bg95-emu run --transcript`: a scenario's session recorded in `serve --transcript`'s
//! format, which `bg95-emu replay` plays back without a server and without a diff.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bg95(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn run_records_one_transcript_per_scenario_that_replays_without_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("rec");
    let wrong = repo().join("scenarios/wrong-password.toml");
    let reset = repo().join("scenarios/get-reset-after-300k.toml");
    let run = bg95(&[
        "run".as_ref(),
        "--jobs".as_ref(),
        "2".as_ref(),
        "--transcript".as_ref(),
        out_dir.as_os_str(),
        wrong.as_os_str(),
        reset.as_os_str(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let wrong_txt = std::fs::read_to_string(out_dir.join("wrong-password.txt")).unwrap();
    let reset_txt = std::fs::read_to_string(out_dir.join("get-reset-after-300k.txt")).unwrap();
    assert!(wrong_txt.contains("! fault \"pass-530\""), "{wrong_txt}");
    assert!(
        wrong_txt.contains("< \\r\\n+QFTPOPEN: 625,530\\r\\n"),
        "{wrong_txt}"
    );
    assert!(
        wrong_txt.contains("\"test\",\"****\""),
        "password in:\n{wrong_txt}"
    );
    assert!(reset_txt.contains("! fault \"get-rst\""));
    assert!(reset_txt.contains("+QFTPGET: 607,"));
    for f in ["wrong-password.txt", "get-reset-after-300k.txt"] {
        let file = out_dir.join(f);
        let replay = bg95(&["replay".as_ref(), file.as_os_str()]);
        assert_eq!(replay.status.code(), Some(0), "{f}: {replay:?}");
    }

    // A `{name}` pattern names the file after the scenario, one scenario to one file.
    let pattern = dir.path().join("p/{name}.rec");
    let run = bg95(&[
        "run".as_ref(),
        "--transcript".as_ref(),
        pattern.as_os_str(),
        wrong.as_os_str(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let named = std::fs::read_to_string(dir.path().join("p/wrong-password.rec")).unwrap();
    assert!(named.starts_with("# recorded by bg95-emu"), "{named}");
}

/// The module a scenario builds — its `[module]` personality, its preloaded UFS files, a
/// SIM-less boot — is in the recording's `#! module`/`#! ufs` headers, and `replay` builds
/// the same module from them: no diff. Without the headers the same recording differs.
#[test]
fn a_scenario_module_is_recorded_in_the_headers_and_replayed_without_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("custom-module.toml");
    std::fs::write(
        &scenario,
        r#"
name = "a customised module without a SIM"
[module]
model = "BG95-M1"
signal = 9
ufs_size = 100000
boot_urcs = ["RDY", "APP RDY"]
[module.ufs]
"cfg.txt" = { text = "apn=\"iot\"\r\n" }
"big.bin" = { size = 70000 }
[network.pdp]
1 = "10.20.30.40"
[[fault]]
name = "no-sim"
on = "time"
after = "0s"
action = "sim_removed"
[[fault]]
name = "flash-full"
on = "at_command"
command = "+QFUPL"
action = "ufs_full"
[[step]]
expect_bytes = "\r\nRDY\r\n\r\nAPP RDY\r\n"
[[step]]
line = "ATE0"
[[step]]
expect = "OK"
[[step]]
line = "AT+CGMM"
[[step]]
expect = "BG95-M1"
[[step]]
line = "AT+CSQ"
[[step]]
expect = "+CSQ: 99,99"
[[step]]
line = "AT+QFLST"
[[step]]
expect = "+QFLST: \"cfg.txt\",11"
[[step]]
line = "AT+QFDWL=\"cfg.txt\""
[[step]]
expect = "CONNECT"
[[step]]
expect_regex = '^\+QFDWL: 11,'  
[[step]]
line = "AT+QFDWL=\"big.bin\""
[[step]]
expect_regex = '^\+QFDWL: 70000,'
[[step]]
line = "AT+CPIN?"
[[step]]
expect = "+CME ERROR: 10"
[[step]]
line = "AT+QFUPL=\"a.txt\",3"
[[step]]
expect = "CONNECT"
[[step]]
send = "xyz"
[[step]]
expect = "+CME ERROR: 420"
"#,
    )
    .unwrap();
    let file = dir.path().join("custom.txt");
    let run = bg95(&[
        "run".as_ref(),
        "--transcript".as_ref(),
        file.as_os_str(),
        scenario.as_os_str(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    for want in [
        "#! module model \"BG95-M1\"",
        "#! module csq_rssi 9",
        "#! module ufs_capacity 100000",
        "#! module sim_inserted false",
        "#! module boot_urcs \"RDY\" \"APP RDY\"",
        "#! module pdp_address 1 10.20.30.40",
        "#! ufs \"cfg.txt\" \"apn=\\\"iot\\\"\\r\\n\"",
        "#! ufs \"big.bin\" 70000B/fnv=",
        "-> ufs full",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    let replay = bg95(&["replay".as_ref(), file.as_os_str()]);
    assert_eq!(replay.status.code(), Some(0), "{replay:?}");
    assert!(replay.stderr.ends_with(b"replay identical\n"), "{replay:?}");

    // Without its headers, the default module answers differently.
    let bare: String = text
        .lines()
        .filter(|l| !l.starts_with("#! module") && !l.starts_with("#! ufs"))
        .map(|l| format!("{l}\n"))
        .collect();
    let bare_file = dir.path().join("bare.txt");
    std::fs::write(&bare_file, bare).unwrap();
    let replay = bg95(&["replay".as_ref(), bare_file.as_os_str()]);
    assert_eq!(replay.status.code(), Some(1), "{replay:?}");
    let diff = String::from_utf8_lossy(&replay.stdout);
    assert!(
        diff.contains("-< +CGMM") || diff.contains("-< BG95-M1"),
        "{diff}"
    );
}

/// The `-> action` of each `! fault` line of a recording, in order.
fn fired_actions(transcript: &str) -> Vec<String> {
    transcript
        .lines()
        .filter(|l| l.starts_with("! fault "))
        .filter_map(|l| l.split_once(" -> ").map(|(_, a)| a.to_string()))
        .collect()
}

/// The issue's round trip: a shipped scenario's run is recorded (`run --transcript`), the
/// recording is imported as a log (`import`), and the imported scenario passes `run` and
/// fires the same faults (a 530 to PASS; a data reset after the same 307200 bytes).
#[test]
fn a_recorded_run_imports_to_a_scenario_that_passes_and_fires_the_same_faults() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["wrong-password", "get-reset-after-300k"] {
        let shipped = repo().join(format!("scenarios/{name}.toml"));
        let recorded = dir.path().join(format!("{name}.txt"));
        let run = bg95(&[
            "run".as_ref(),
            "--transcript".as_ref(),
            recorded.as_os_str(),
            shipped.as_os_str(),
        ]);
        assert_eq!(run.status.code(), Some(0), "{name}: {run:?}");
        let imported = dir.path().join(format!("imported/{name}.toml"));
        let import = bg95(&[
            "import".as_ref(),
            recorded.as_os_str(),
            "-o".as_ref(),
            imported.as_os_str(),
        ]);
        assert!(import.status.success(), "{name}: {import:?}");
        let toml = std::fs::read_to_string(&imported).unwrap();
        let rerecorded = dir.path().join(format!("{name}.imported.txt"));
        let run = bg95(&[
            "run".as_ref(),
            "--transcript".as_ref(),
            rerecorded.as_os_str(),
            imported.as_os_str(),
        ]);
        assert_eq!(run.status.code(), Some(0), "{name}: {run:?}\n{toml}");
        let original = fired_actions(&std::fs::read_to_string(&recorded).unwrap());
        let again = fired_actions(&std::fs::read_to_string(&rerecorded).unwrap());
        assert!(!original.is_empty(), "{name}: no fault fired");
        assert_eq!(original, again, "{name}:\n{toml}");
    }
}
