//! `bg95-emu run --html DIR`: a timeline page per scenario (by default for the failed ones),
//! made from the transcript the run records (into a temporary folder when `--transcript`
//! was not given).

use std::path::{Path, PathBuf};

use crate::scenario::runner::{Outcome, TranscriptTarget};
use crate::scenario::Scenario;

/// Where the pages go and which scenarios get one.
pub struct RunPages {
    dir: PathBuf,
    all: bool,
    target: TranscriptTarget,
    /// The transcripts' folder when the user did not ask for them (removed on drop).
    _temp: Option<tempfile::TempDir>,
}

impl RunPages {
    /// Pages into `dir` (`all`: every scenario, else the failed ones); the transcripts go
    /// where `transcript` says, or into a temporary folder.
    pub fn new(
        dir: &Path,
        all: bool,
        transcript: Option<TranscriptTarget>,
    ) -> std::io::Result<RunPages> {
        let (target, temp) = match transcript {
            Some(t) => (t, None),
            None => {
                let temp = tempfile::tempdir()?;
                (TranscriptTarget::Dir(temp.path().to_path_buf()), Some(temp))
            }
        };
        Ok(RunPages {
            dir: dir.to_path_buf(),
            all,
            target,
            _temp: temp,
        })
    }

    /// Where the run records each scenario's transcript.
    pub fn transcript(&self) -> &TranscriptTarget {
        &self.target
    }

    /// Write the pages; the page of each outcome (by index), `None` where none was made.
    /// A page that cannot be made is reported on stderr and does not stop the others.
    pub fn write(&self, scenarios: &[Scenario], outcomes: &[Outcome]) -> Vec<Option<PathBuf>> {
        scenarios
            .iter()
            .zip(outcomes)
            .map(|(scenario, outcome)| {
                if outcome.passed() && !self.all {
                    return None;
                }
                match self.page(scenario, outcome) {
                    Ok(path) => Some(path),
                    Err(e) => {
                        eprintln!("bg95-emu: --html {}: {e}", scenario.path.display());
                        None
                    }
                }
            })
            .collect()
    }

    fn page(&self, scenario: &Scenario, outcome: &Outcome) -> Result<PathBuf, String> {
        let transcript = self.target.path_for(scenario).map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(&transcript)
            .map_err(|e| format!("{}: {e}", transcript.display()))?;
        let timeline = super::run_timeline(scenario, outcome, &text)
            .map_err(|e| format!("{}:{e}", transcript.display()))?;
        let stem = scenario.path.file_stem().map_or_else(
            || scenario.name.clone(),
            |s| s.to_string_lossy().into_owned(),
        );
        let page = self.dir.join(format!("{stem}.html"));
        super::write_page(&timeline, &page)?;
        Ok(page)
    }
}
