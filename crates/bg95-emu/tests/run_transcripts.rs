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
