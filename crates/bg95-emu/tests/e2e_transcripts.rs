//! The golden transcripts marked `#! e2e`, replayed through the real PTY of a spawned
//! emulator: the same bytes the core produces must reach a host opening the tty.

mod host;

use std::path::{Path, PathBuf};

use bg95_core::transcript::parse;
use bg95_emu::Emulator;
use host::{boot_bytes, Host};

fn e2e_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/transcripts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "txt")
                && std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .take_while(|l| l.starts_with('#'))
                    .any(|l| l.trim() == "#! e2e")
        })
        .collect();
    files.sort();
    files
}

fn replay(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).unwrap();
    let lines = parse(&text).map_err(|e| e.to_string())?;
    let emu = Emulator::builder().spawn().map_err(|e| e.to_string())?;
    let mut host = Host::open(emu.tty_path());
    if !text.lines().any(|l| l.trim() == "#! boot") {
        host.try_expect(&boot_bytes())
            .map_err(|e| format!("boot: {e}"))?;
    }
    host::play(&mut host, &lines)?;
    emu.stop().map_err(|e| e.to_string())
}

#[test]
fn e2e_transcripts_replay_through_the_pty() {
    let files = e2e_files();
    assert!(
        files.len() >= 4,
        "expected e2e transcripts, found {}",
        files.len()
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| replay(f).err().map(|e| format!("{}: {e}", f.display())))
        .collect();
    assert!(
        failures.is_empty(),
        "{} e2e transcript(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
