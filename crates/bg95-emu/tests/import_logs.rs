//! `bg95-emu import`: each shape of field log in fixtures/field-logs/ imports to the scenario
//! shipped in scenarios/ (kept in step), and that scenario passes `bg95-emu run` with its
//! faults fired: the healthy emulator gives the field module's answers.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_field_log_imports_to_its_shipped_scenario_which_passes() {
    let logs = [
        ("terminal-wrong-password", "Terminal", "action = \"reply\""),
        ("driver-dns-then-get", "Driver", "action = \"dns_failure\""),
        (
            "pyserial-get-reset",
            "PythonRepr",
            "action = \"data_reset\"",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, shape, fault) in logs {
        let log = repo().join(format!("fixtures/field-logs/{name}.log"));
        let text = std::fs::read_to_string(&log).unwrap();
        let out = bg95_emu::import::import(&text, &format!("{name}.log"));
        assert_eq!(format!("{:?}", out.shape), shape);
        assert!(out.toml.contains(fault), "{}", out.toml);
        let shipped = repo().join(format!("scenarios/field-{name}.toml"));
        assert_eq!(
            std::fs::read_to_string(&shipped).unwrap(),
            out.toml,
            "{} is not what `bg95-emu import {}` writes",
            shipped.display(),
            log.display()
        );
        // The CLI writes the same file, with an ftp-root beside it.
        let written = dir.path().join(format!("{name}.toml"));
        let run = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
            .arg("import")
            .arg(&log)
            .arg("-o")
            .arg(&written)
            .output()
            .unwrap();
        assert!(run.status.success(), "{run:?}");
        assert_eq!(std::fs::read_to_string(&written).unwrap(), out.toml);
        let run = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
            .arg("run")
            .arg(&written)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(0), "{run:?}");
    }
}

#[test]
fn lines_that_cannot_be_placed_are_listed_with_their_numbers() {
    let log = repo().join("fixtures/field-logs/driver-dns-then-get.log");
    let run = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .arg("import")
        .arg(&log)
        .arg("-o")
        .arg(tempfile::tempdir().unwrap().path().join("s.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("driver-dns-then-get.log:1: not placed: [10:02:11.000] modem: power on"),
        "{stderr}"
    );
}
