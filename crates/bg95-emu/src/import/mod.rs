//! `bg95-emu import LOG -o FILE.toml`: a log of AT traffic from the field → a scenario whose
//! steps send the host's commands and expect the module's answers, whose start state is
//! what the module was already doing when the log began, whose faults make a healthy
//! emulator give the answers the field module gave, and whose embedded server holds the
//! files and folders the log touches (docs/import.md).
//!
//! The log is read as a stream: a sample picks the format ([`log::scores`]), then every
//! line goes through [`log::Reader`] into the [`build::Builder`]; a COM download's data
//! becomes a server file (next to the scenario when large), never steps.

mod build;
pub mod clean;
pub mod cli;
pub mod input;
pub mod log;
mod recorded;
mod render;
mod steps;

use log::{Placed, Reader, Shape, Unplaced};

/// A transcript's `#!` header kept for its module (inline UFS files are at most 64 KiB each).
const MAX_HEADER: usize = 8 * 1024 * 1024;
/// How many lines choose the format.
const SAMPLE_LINES: usize = 2000;
/// How many unplaced lines are listed (the rest are counted).
pub const LISTED_UNPLACED: usize = 200;

/// Choices of the caller.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--format`: read the log in this format whatever the scores say.
    pub format: Option<Shape>,
    /// Where large server files go, relative to the scenario file's folder.
    pub data_dir: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            format: None,
            data_dir: "imported.data".into(),
        }
    }
}

/// What an import produced.
#[derive(Debug)]
pub struct Imported {
    pub shape: Shape,
    /// Every format's score on the sample, best first.
    pub scores: Vec<(Shape, usize)>,
    /// The scenario file's text.
    pub toml: String,
    /// Lines of the log that could not be placed (the first [`LISTED_UNPLACED`]; also
    /// listed in the file as comments).
    pub unplaced: Vec<Unplaced>,
    pub unplaced_total: usize,
    /// Faults that replace an AT answer (`at_answer`, the core's answer override).
    pub overrides: usize,
    /// What was inferred (format, start state, files, faults, passwords), one line each;
    /// also at the top of the file as comments.
    pub report: Vec<String>,
    /// Server files too large to inline: (path relative to the scenario's folder, bytes).
    pub data_files: Vec<(String, Vec<u8>)>,
    /// Why the scenario is incomplete, if it is (the CLI then writes nothing, exit 1).
    pub failed: Option<String>,
    /// Commands the host sent (0: the log holds no AT traffic).
    pub host_commands: usize,
    pub steps: usize,
}

/// Import a log held in memory (`source` names it in the file's header).
pub fn import(text: &str, source: &str) -> Imported {
    import_with(text, source, &Options::default())
}

pub fn import_with(text: &str, source: &str, opts: &Options) -> Imported {
    import_lines(
        text.lines().map(|l| l.trim_end_matches('\r').to_string()),
        source,
        opts,
    )
}

/// Import a log line by line (its lines without line ends): memory stays bounded by what
/// the scenario holds, not by the log's size.
pub fn import_lines(lines: impl Iterator<Item = String>, source: &str, opts: &Options) -> Imported {
    let mut lines = lines.enumerate().map(|(i, l)| (i + 1, l));
    let sample: Vec<(usize, String)> = lines.by_ref().take(SAMPLE_LINES).collect();
    let scores = log::scores(&sample);
    let shape = opts.format.unwrap_or(scores[0].0);
    let mut reader = Reader::new(shape);
    let mut b = build::Builder::new(shape == Shape::Transcript);
    let mut unplaced = Vec::new();
    let mut unplaced_total = 0;
    let mut header = String::new();
    let mut recorded = None;
    for (n, l) in sample.into_iter().chain(lines) {
        if shape == Shape::Transcript && recorded.is_none() {
            if l.starts_with("#! module ") || l.starts_with("#! ufs ") {
                if header.len() < MAX_HEADER {
                    header.push_str(&l);
                    header.push('\n');
                }
                continue;
            }
            if l.starts_with("> ") || l.starts_with("< ") {
                recorded = Some(recorded::apply(&mut b, &header));
            }
        }
        match reader.place(n, &l) {
            Placed::Entries(entries) => entries.iter().for_each(|e| b.entry(e)),
            Placed::Consumed => {}
            Placed::Unplaced => {
                unplaced_total += 1;
                if unplaced.len() < LISTED_UNPLACED {
                    unplaced.push(Unplaced { line: n, text: l });
                }
            }
        }
    }
    let recorded = recorded.unwrap_or_else(|| recorded::apply(&mut b, &header));
    b.finish();
    let rendered = render::render(
        &mut b,
        &render::Header {
            source,
            shape,
            scores: &scores,
            unplaced: &unplaced,
            unplaced_total,
            data_dir: &opts.data_dir,
            recorded: &recorded,
        },
    );
    Imported {
        shape,
        scores,
        toml: rendered.toml,
        unplaced,
        unplaced_total,
        overrides: b.overrides,
        report: rendered.report,
        data_files: rendered.data_files,
        failed: rendered.failed,
        host_commands: b.host_commands,
        steps: b.step_count(),
    }
}
