//! `bg95-emu view FILE -o page.html`, `run --html DIR`, `replay --html PAGE`: a transcript
//! as one self-contained HTML page — three lanes (host, module, FTP server) on a time axis,
//! faults marked, errors explained, a failed run's step or a replay's diff highlighted
//! (docs/transcripts.md, "The timeline page").
//!
//! [`model`] turns the transcript into rows; this module adds what the transcript does not
//! say (a run's failure, a replay's diff, the summary) and [`page`] renders the template.

pub mod model;
pub mod page;
pub mod run;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bg95_core::transcript::{escape, parse_setup, Comparison};
use serde::Serialize;

use crate::scenario::runner::Outcome;
use crate::scenario::{Expect, Scenario, Step, StepKind};
use model::{format_duration, Band, DiffMark, Direction, FailureMark, Item, Kind, Lane, Rows};

/// What the page says about where the transcript came from.
#[derive(Debug, Clone, Default)]
pub struct PageInfo {
    /// The scenario's name, or the file's.
    pub title: String,
    /// The transcript file (or scenario file) shown in the header.
    pub source: String,
    /// How many faults the scenario declared, when known.
    pub faults_declared: Option<usize>,
    /// `Some(true)` passed, `Some(false)` failed, `None` a recording without a verdict.
    pub passed: Option<bool>,
    /// The verdict's words (`passed`, the failure message, `replay identical`).
    pub verdict: String,
}

/// A transcript's rows and where they came from.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub rows: Rows,
    pub info: PageInfo,
    pub model: String,
    pub revision: String,
    /// The `#! server embedded <addr>` header, if any.
    pub server: Option<SocketAddr>,
}

/// The header of the page.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub title: String,
    pub source: String,
    pub model: String,
    pub revision: String,
    pub duration: String,
    pub host_bytes: u64,
    pub module_bytes: u64,
    pub ftp_down: u64,
    pub ftp_up: u64,
    pub faults_fired: usize,
    pub faults_declared: Option<usize>,
    pub errors: usize,
    /// `pass`, `fail` or `none`.
    pub result_class: &'static str,
    /// One word or two for the badge: `passed`, `failed`, `recorded`, `replay identical`.
    pub badge: String,
    pub verdict: String,
}

/// A failed `run` step placed on the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    pub step: String,
    pub expected: String,
    pub got: String,
    /// The host bytes sent before the step: its window starts when the last of them went.
    pub sent_before: u64,
    /// The step's timeout: its window ends no sooner than this after its start.
    pub timeout: Option<Duration>,
}

impl Timeline {
    /// The timeline of a transcript's text.
    pub fn from_text(text: &str, info: PageInfo) -> Result<Timeline, String> {
        let rows = model::rows(text)?;
        let setup = parse_setup(text).map_err(|e| e.to_string())?;
        let server = text
            .lines()
            .filter_map(|l| l.strip_prefix("#! server embedded "))
            .find_map(|rest| rest.split_whitespace().next()?.parse().ok());
        Ok(Timeline {
            rows,
            info,
            model: setup.personality.model,
            revision: setup.personality.revision,
            server,
        })
    }

    /// Highlight a failed step: a band from when the host had sent what came before the
    /// step to when the step gave up, with what was expected and what came.
    pub fn mark_failure(&mut self, f: StepFailure) {
        // Right after the host input that completed what came before the step: the rows
        // that follow are what came while the step waited.
        let (start, row) = if f.sent_before == 0 {
            (0, 0)
        } else {
            self.rows
                .host_progress
                .iter()
                .find(|(sent, _, _)| *sent >= f.sent_before)
                .map_or((self.rows.end_us, usize::MAX), |(_, t, row)| (*t, *row))
        };
        let timeout = f.timeout.map_or(0, |d| d.as_micros() as u64);
        let end = self.rows.end_us.max(start + timeout);
        let mut item = Item::new(
            start,
            0,
            Kind::Failure,
            Lane::Host,
            Lane::Module,
            format!("failed: {}", f.step),
        );
        item.error = true;
        let mut band = model_band(end, Direction::Down);
        band.failed = true;
        item.band = Some(band);
        item.failure = Some(FailureMark {
            step: f.step,
            expected: f.expected,
            got: f.got,
        });
        let last_row = self.rows.items.last().map_or(0, |i| i.t_us);
        self.rows.insert_at(row, item);
        // Where the step gave up, when nothing else happened then.
        if timeout > 0 && end > last_row {
            let text = format!(
                "the step gave up after {}",
                format_duration(Duration::from_micros(timeout))
            );
            let mut note = Item::new(end, 0, Kind::Note, Lane::Host, Lane::Module, text);
            note.error = true;
            self.rows.insert(note);
        }
    }

    /// Draw a replay's diff: each block (what the module said after one input) that differs
    /// becomes a row at its input's time, recorded lines beside replayed ones.
    pub fn mark_replay(&mut self, c: &Comparison) -> usize {
        let recorded = blocks(&c.recorded);
        let replayed = blocks(&c.replayed);
        let mut differences = 0;
        for i in 0..recorded.len().max(replayed.len()) {
            let rec = recorded.get(i).cloned().unwrap_or_default();
            let rep = replayed.get(i).cloned().unwrap_or_default();
            if rec == rep {
                continue;
            }
            differences += 1;
            let t = match i {
                0 => 0,
                i => self.rows.input_times.get(i - 1).copied().unwrap_or(0),
            };
            let (only_rec, only_rep) = changed_lines(&rec, &rep);
            let mut item = Item::new(
                t,
                0,
                Kind::Diff,
                Lane::Module,
                Lane::Host,
                "replay differs".into(),
            );
            item.error = true;
            item.diff = Some(DiffMark {
                recorded: only_rec,
                replayed: only_rep,
            });
            self.rows.insert(item);
        }
        differences
    }

    pub fn summary(&self) -> Summary {
        let t = &self.rows.totals;
        Summary {
            title: self.info.title.clone(),
            source: self.info.source.clone(),
            model: self.model.clone(),
            revision: self.revision.clone(),
            duration: format_duration(Duration::from_micros(self.rows.end_us)),
            host_bytes: t.host_bytes,
            module_bytes: t.module_bytes,
            ftp_down: t.ftp_down,
            ftp_up: t.ftp_up,
            faults_fired: t.faults_fired,
            faults_declared: self.info.faults_declared,
            errors: t.errors,
            result_class: match self.info.passed {
                Some(true) => "pass",
                Some(false) => "fail",
                None => "none",
            },
            badge: match self.info.passed {
                Some(true) if self.info.verdict.starts_with("replay") => "replay identical".into(),
                Some(true) => "passed".into(),
                Some(false) if self.info.verdict.starts_with("replay") => "replay differs".into(),
                Some(false) => "failed".into(),
                None => "recorded".into(),
            },
            verdict: self.info.verdict.clone(),
        }
    }

    /// The page (HTML).
    pub fn render(&self) -> Result<String, String> {
        page::render(self)
    }
}

fn model_band(end_us: u64, direction: Direction) -> Band {
    Band {
        end_us,
        direction,
        bytes: 0,
        first: Vec::new(),
        first_hex: String::new(),
        first_text: String::new(),
        shown: 0,
        open: false,
        failed: false,
    }
}

/// A comparison text's blocks: block 0 before the first input, block i after the i-th
/// input (`>`/`!` lines, which both sides share, are left out).
fn blocks(text: &str) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    for line in text.lines() {
        if line.starts_with("> ") || line.starts_with("! ") {
            out.push(Vec::new());
        } else if let Some(block) = out.last_mut() {
            block.push(line.to_string());
        }
    }
    out
}

/// The lines only the recording has and those only the replay has.
fn changed_lines(recorded: &[String], replayed: &[String]) -> (Vec<String>, Vec<String>) {
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, recorded, replayed);
    let (mut only_rec, mut only_rep) = (Vec::new(), Vec::new());
    for op in ops {
        for change in op.iter_changes(recorded, replayed) {
            match change.tag() {
                similar::ChangeTag::Delete => only_rec.push(change.value().clone()),
                similar::ChangeTag::Insert => only_rep.push(change.value().clone()),
                similar::ChangeTag::Equal => {}
            }
        }
    }
    (only_rec, only_rep)
}

/// `bg95-emu view FILE -o PAGE` (with `replay`: the fake-clock replay's diff drawn on it).
/// Returns whether the replay was identical (always true without `replay`).
pub fn view_file(file: &Path, page: &Path, replay: bool) -> Result<bool, String> {
    let mut timeline = file_timeline(file)?;
    let mut identical = true;
    if replay {
        let outcome = crate::replay::replay_file(file)?;
        identical = outcome.identical();
        timeline.apply_replay(&outcome.comparison);
    }
    write_page(&timeline, page)
        .map(|()| identical)
        .map_err(|e| format!("{}: {e}", page.display()))
}

/// `bg95-emu replay FILE --html PAGE`: the recording's timeline with the replay's diff.
pub fn replay_page(file: &Path, comparison: &Comparison, page: &Path) -> Result<(), String> {
    let mut timeline = file_timeline(file)?;
    timeline.apply_replay(comparison);
    write_page(&timeline, page).map_err(|e| format!("{}: {e}", page.display()))
}

/// The timeline of a transcript file, titled by its name (errors name the file and line).
fn file_timeline(file: &Path) -> Result<Timeline, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let title = file
        .file_name()
        .map_or_else(|| "transcript".into(), |n| n.to_string_lossy().into_owned());
    let info = PageInfo {
        title,
        source: file.display().to_string(),
        verdict: "recorded".into(),
        ..PageInfo::default()
    };
    Timeline::from_text(&text, info).map_err(|e| format!("{}:{e}", file.display()))
}

impl Timeline {
    /// [`Timeline::mark_replay`] and the verdict it gives.
    pub fn apply_replay(&mut self, c: &Comparison) {
        let n = self.mark_replay(c);
        self.info.passed = Some(n == 0);
        self.info.verdict = match n {
            0 => "replay identical".into(),
            1 => "replay differs in 1 place".into(),
            n => format!("replay differs in {n} places"),
        };
    }
}

/// Write the page (its folder is created).
pub fn write_page(timeline: &Timeline, page: &Path) -> Result<(), String> {
    let html = timeline.render()?;
    if let Some(dir) = page.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(page, html).map_err(|e| e.to_string())
}

/// The page of one `run` outcome from its transcript's text.
pub fn run_timeline(
    scenario: &Scenario,
    outcome: &Outcome,
    text: &str,
) -> Result<Timeline, String> {
    let info = PageInfo {
        title: scenario.name.clone(),
        source: scenario.path.display().to_string(),
        faults_declared: Some(scenario.faults.len()),
        passed: Some(outcome.passed()),
        verdict: match &outcome.result {
            Ok(()) => "passed".into(),
            Err(e) => format!("FAILED: {}", mask_passwords(e)),
        },
    };
    let mut timeline = Timeline::from_text(text, info)?;
    if let Err(message) = &outcome.result {
        let failure = step_failure(scenario, &mask_passwords(message), timeline.server);
        timeline.mark_failure(failure);
    }
    Ok(timeline)
}

/// The failed step of a `run` failure message (`step at line N: …`; any other message —
/// faults that never fired — is placed after the last step).
pub fn step_failure(scenario: &Scenario, message: &str, server: Option<SocketAddr>) -> StepFailure {
    let index = message
        .strip_prefix("step at line ")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(n, _)| n.trim().parse::<usize>().ok())
        .and_then(|n| scenario.steps.iter().position(|s| s.line == n));
    // `step at line N: expected … within …; lines seen: [...]` (or `; got "…"`): what came.
    let got = message
        .split_once(": ")
        .filter(|_| index.is_some())
        .map_or(message, |(_, rest)| rest);
    let got = got
        .split_once("; ")
        .map_or(got, |(_, seen)| seen)
        .to_string();
    let end = index.unwrap_or(scenario.steps.len());
    let sent_before = scenario.steps[..end]
        .iter()
        .map(|s| sent_by(s, server))
        .sum();
    let Some(step) = index.map(|i| &scenario.steps[i]) else {
        return StepFailure {
            step: "after the last step".into(),
            expected: "every declared fault fires".into(),
            got,
            sent_before,
            timeout: None,
        };
    };
    let (expected, timeout) = match &step.kind {
        StepKind::Send(b) => (format!("to send \"{}\"", escape(b)), None),
        StepKind::Expect(e) => (expectation_text(&e.expect), Some(e.timeout)),
        StepKind::ExpectSilence(d) => (format!("silence for {}", format_duration(*d)), None),
        StepKind::ExpectServerFile(f) => (format!("the server file {:?}", f.name), Some(f.timeout)),
        StepKind::ExpectUfsFile(f) => (format!("the UFS file {:?}", f.name), Some(f.timeout)),
        StepKind::Wait(d) => (format!("to wait {d:?}"), None),
        StepKind::Reopen => ("to reopen the tty".into(), None),
        StepKind::Repeat { times, steps } => (
            format!("{times} repetitions of a group of {} step(s)", steps.len()),
            None,
        ),
    };
    let expected = match timeout {
        Some(t) => format!("{expected} within {}", format_duration(t)),
        None => expected,
    };
    StepFailure {
        step: format!("step at line {} of {}", step.line, scenario.path.display()),
        expected,
        got,
        sent_before,
        timeout,
    }
}

/// What an expectation step waits for, in words.
fn expectation_text(expect: &Expect) -> String {
    match expect {
        Expect::Line(line) => format!("a line {line:?}"),
        Expect::Regex(regex) => format!("a line matching /{}/", regex.0.as_str()),
        Expect::Any(lines) => format!("one of the lines {lines:?}"),
        Expect::Unordered(lines) => format!("the lines {lines:?} in any order"),
        Expect::Bytes(bytes) => format!("the bytes \"{}\"", escape(bytes)),
    }
}

/// The password of `AT+QFTPCFG="account","<user>","<password>"` in a runner's message (its
/// lines are quoted, so their quotes may be escaped) as one `*` per character, as the
/// transcript has it: a page never shows a password.
pub fn mask_passwords(text: &str) -> String {
    static ACCOUNT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = ACCOUNT.get_or_init(|| {
        regex::Regex::new(
            r#"(?i)(QFTPCFG=\\?"account\\?",\\?"(?:[^"\\]|\\[^"])*\\?",\\?")((?:[^"\\]|\\[^"])*)"#,
        )
        .expect("a valid pattern")
    });
    re.replace_all(text, |c: &regex::Captures| {
        format!("{}{}", &c[1], "*".repeat(c[2].chars().count()))
    })
    .into_owned()
}

/// The bytes a step sends (a `repeat` group's, every time it runs).
fn sent_by(step: &Step, server: Option<SocketAddr>) -> u64 {
    match &step.kind {
        StepKind::Send(bytes) => substituted_len(bytes, server),
        StepKind::Repeat { times, steps } => steps
            .iter()
            .map(|s| sent_by(s, server))
            .sum::<u64>()
            .saturating_mul(*times),
        _ => 0,
    }
}

/// The length of a `send` after `${ftp_port}`/`${ftp_host}` were replaced by the
/// scenario's server (the runner's substitution).
fn substituted_len(bytes: &[u8], server: Option<SocketAddr>) -> u64 {
    let mut len = bytes.len() as i64;
    if let Some(addr) = server {
        for (var, value) in [
            (&b"${ftp_port}"[..], addr.port().to_string()),
            (&b"${ftp_host}"[..], addr.ip().to_string()),
        ] {
            let n = bytes.windows(var.len()).filter(|w| *w == var).count() as i64;
            len += n * (value.len() as i64 - var.len() as i64);
        }
    }
    len.max(0) as u64
}

#[cfg(test)]
mod tests;
