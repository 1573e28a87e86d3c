//! Replays every golden transcript in `fixtures/transcripts/` against the core with a fake
//! clock. A file whose first lines hold `#! boot` starts before the boot URCs are read (it
//! expects them itself); every other file starts right after boot.

use std::path::{Path, PathBuf};

use bg95_core::transcript::{parse, Harness, Step};

fn transcript_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/transcripts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    files
}

#[test]
fn golden_transcripts_replay_against_the_core() {
    let files = transcript_files();
    assert!(
        files.len() >= 5,
        "expected golden transcripts, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let lines = match parse(&text) {
            Ok(l) => l,
            Err(e) => {
                failures.push(format!("{}:{e}", path.display()));
                continue;
            }
        };
        // A file with any `=` line claims every effect.
        let strict = lines.iter().any(|l| matches!(l.step, Step::Effect(_)));
        if let Err(m) = Harness::for_transcript(&text).run(&lines, strict) {
            failures.push(format!("{}:{m}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} transcript(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
