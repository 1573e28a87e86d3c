//! `bg95-emu replay FILE`: plays the host side of a recorded transcript against a fresh
//! module whose FTP and network sides answer from the recorded events (`!` lines) — no
//! server, a fake clock, deterministic — and shows what the module said differently as a
//! unified diff (docs/transcripts.md).

pub mod live;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::scenario::FullStore;

use bg95_core::transcript::{fnv1a64, parse, parse_setup, Comparison, Harness, RecordedFile};
use bg95_core::{MemStore, Module, UfsStore};

/// The outcome of a replay: both texts and their unified diff (empty when identical).
#[derive(Debug)]
pub struct ReplayOutcome {
    pub comparison: Comparison,
    pub diff: String,
    /// What the replay could not rebuild exactly (e.g. a large UFS file recorded only as a
    /// digest), for the user to read next to a diff.
    pub notes: Vec<String>,
}

impl ReplayOutcome {
    pub fn identical(&self) -> bool {
        self.comparison.identical()
    }
}

/// Replay a transcript's text. A file with `#! boot` (every recording) starts at power-on
/// and claims the boot URCs itself; any other starts after them, like the golden runner.
pub fn replay_text(text: &str) -> Result<ReplayOutcome, String> {
    let lines = parse(text).map_err(|e| e.to_string())?;
    check_complete(text)?;
    let setup = parse_setup(text).map_err(|e| e.to_string())?;
    let mut store = MemStore::new();
    let mut notes = Vec::new();
    for (name, data) in ufs_at_boot(&setup, &mut notes) {
        store
            .write(&name, &data)
            .map_err(|e| format!("UFS file {name:?}: {e:?}"))?;
    }
    // A `ufs_full` fault is a state of the flash, not an event: set where the recording
    // says it fired.
    let full = Arc::new(AtomicBool::new(false));
    let store = FullStore::new(Box::new(store), full.clone());
    let mut harness = Harness::powered_on(setup.personality, Box::new(store));
    if !text.lines().any(|l| l.trim() == "#! boot") {
        harness = harness.booted();
    }
    let set_full = move |_: &mut Module, text: &str| {
        if text.ends_with("-> ufs full") {
            full.store(true, Ordering::Release);
        }
    };
    let comparison = harness.on_fault(Box::new(set_full)).compare(&lines);
    Ok(ReplayOutcome::new(comparison, notes))
}

/// A recording with nothing to replay (no `>`/`<` line), or one cut in the middle of a
/// line (every line the recorder writes ends with a line end), is an error: replaying it
/// would compare nothing and say "identical".
pub(crate) fn check_complete(text: &str) -> Result<(), String> {
    if !text
        .lines()
        .any(|l| l.starts_with('>') || l.starts_with('<'))
    {
        return Err("1: an empty transcript: no `>` or `<` line to replay".into());
    }
    if !text.ends_with('\n') {
        let line = text.lines().count();
        return Err(format!(
            "{line}: a truncated transcript: the last line has no line end"
        ));
    }
    Ok(())
}

impl ReplayOutcome {
    /// The outcome of `comparison`, with its unified diff.
    pub(crate) fn new(comparison: Comparison, notes: Vec<String>) -> ReplayOutcome {
        let diff = if comparison.identical() {
            String::new()
        } else {
            similar::TextDiff::from_lines(&comparison.recorded, &comparison.replayed)
                .unified_diff()
                .context_radius(3)
                .header("recorded", "replayed")
                .to_string()
        };
        ReplayOutcome {
            comparison,
            diff,
            notes,
        }
    }
}

/// The UFS files a recording's header says were there at power-on. A large file recorded
/// only as a digest is rebuilt as a scenario's `size = N` filler (exact when it was one);
/// any other gets a note.
pub(crate) fn ufs_at_boot(
    setup: &bg95_core::transcript::Setup,
    notes: &mut Vec<String>,
) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for (name, content) in &setup.ufs {
        let data = match content {
            RecordedFile::Bytes(b) => b.clone(),
            RecordedFile::Digest { len, fnv } => {
                let filler = crate::scenario::filler(*len);
                if fnv1a64(&filler) != *fnv {
                    notes.push(format!(
                        "UFS file {name:?} ({len} bytes) was recorded as a digest only: \
                         replayed with filler of its size"
                    ));
                }
                filler
            }
        };
        files.push((name.clone(), data));
    }
    files
}

/// Replay a transcript file; errors name the file (and line, for a bad line).
pub fn replay_file(path: &Path) -> Result<ReplayOutcome, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    replay_text(&text).map_err(|e| format!("{}:{e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = "#! boot\n@+10ms\n> AT\\r\n< AT\\r\\r\\nOK\\r\\n\n";

    #[test]
    fn a_changed_answer_is_a_diff() {
        let text = "> ATE0\\r\n< ATE0\\r\\r\\nOK\\r\\n\n> AT+CSQ\\r\n< \\r\\n+CSQ: 1,1\\r\\n\\r\\nOK\\r\\n\n";
        let out = replay_text(text).unwrap();
        assert!(!out.identical());
        assert!(out.diff.contains("-< +CSQ: 1,1\\r\\n"), "{}", out.diff);
        assert!(out.diff.contains("--- recorded"), "{}", out.diff);
    }

    #[test]
    fn an_empty_or_truncated_transcript_is_an_error() {
        assert!(replay_text("").unwrap_err().contains("empty transcript"));
        assert!(replay_text("#! boot\n@+10ms\n")
            .unwrap_err()
            .contains("1: an empty transcript"));
        assert_eq!(
            replay_text("#! boot\n@+10ms\n> AT\\r\n< AT\\r\\r\\nO").unwrap_err(),
            "4: a truncated transcript: the last line has no line end"
        );
    }

    #[test]
    fn a_bad_line_is_an_error() {
        assert!(replay_text("? nonsense\n").unwrap_err().contains("line 1"));
        // The boot URCs are unclaimed here: a diff, not an error.
        assert!(!replay_text(SESSION).unwrap().identical());
    }
}
