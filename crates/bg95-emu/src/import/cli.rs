//! `bg95-emu import`'s command line: read, import, report, write (exit codes in
//! docs/import.md: 0 written, 1 `--strict` and a line not placed (or a write failed), 2 a log
//! that cannot be imported or an output it must not write).

use std::path::PathBuf;

use super::clean::printable;
use super::input::{open, refuse_output, replace_file};
use super::log::Shape;
use super::{import_lines, Options, LISTED_UNPLACED};

/// What the command line asked.
#[derive(Debug, Clone)]
pub struct ImportCommand {
    pub log: PathBuf,
    pub output: PathBuf,
    /// Replace an existing output file (never the log itself).
    pub force: bool,
    /// Exit 1 when a line could not be placed.
    pub strict: bool,
    /// `--format NAME`.
    pub format: Option<String>,
}

/// Run the import; the process exit code.
pub fn run(cmd: &ImportCommand) -> u8 {
    let log = cmd.log.display().to_string();
    let format = match cmd.format.as_deref().map(|f| (f, Shape::from_name(f))) {
        None => None,
        Some((_, Some(s))) => Some(s),
        Some((f, None)) => {
            let names: Vec<&str> = Shape::ALL.iter().map(|s| s.name()).collect();
            eprintln!("--format {f}: not a format (one of {})", names.join(", "));
            return 2;
        }
    };
    if let Some(why) = refuse_output(&cmd.log, &cmd.output, cmd.force) {
        eprintln!("{}: {why}", cmd.output.display());
        return 2;
    }
    let (lines, notes) = match open(&cmd.log) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{log}: {e}");
            return 2;
        }
    };
    let stem = cmd
        .output
        .file_stem()
        .map_or("imported".into(), |s| s.to_string_lossy().into_owned());
    let source = cmd
        .log
        .file_name()
        .map_or("log".into(), |n| n.to_string_lossy().into_owned());
    let opts = Options {
        format,
        data_dir: format!("{stem}.data"),
    };
    let out = import_lines(lines, &source, &opts);
    let notes = notes.borrow();
    for u in &out.unplaced {
        eprintln!("{log}:{}: not placed: {}", u.line, printable(&u.text));
    }
    if out.unplaced_total > LISTED_UNPLACED {
        eprintln!(
            "{log}: … and {} more line(s) not placed",
            out.unplaced_total - LISTED_UNPLACED
        );
    }
    if let Some((n, why)) = &notes.truncated {
        eprintln!("{log}:{n}: truncated: {why}; the line is left out");
    }
    if out.host_commands == 0 {
        eprintln!("{log}: no AT traffic found: no line was placed as a command the host sent ({} format); nothing to import", out.shape.name());
        return 2;
    }
    for r in &out.report {
        eprintln!("{log}: {}", printable(r));
    }
    if let Some(enc) = notes.decoded_from {
        eprintln!("{log}: read as {enc} (byte-order mark)");
    }
    if out.overrides > 0 {
        eprintln!(
            "note: {} fault(s) replace an AT answer (action = \"at_answer\")",
            out.overrides
        );
    }
    if let Some(why) = &out.failed {
        eprintln!("{log}: {why}");
        return 1;
    }
    if let Err(e) = write(cmd, &out) {
        eprintln!("{}: {e}", cmd.output.display());
        return 1;
    }
    eprintln!(
        "{log}: {} log -> {} ({} steps)",
        out.shape.name(),
        cmd.output.display(),
        out.steps
    );
    let unplaced = out.unplaced_total + usize::from(notes.truncated.is_some());
    u8::from(cmd.strict && unplaced > 0)
}

/// The scenario, the `ftp-root` beside it, and the data files.
fn write(cmd: &ImportCommand, out: &super::Imported) -> std::io::Result<()> {
    let dir = cmd
        .output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir.join("ftp-root"))?;
    for (rel, _) in &out.data_files {
        let path = dir.join(rel);
        if let Some(why) = refuse_output(&cmd.log, &path, cmd.force) {
            return Err(std::io::Error::other(format!("{}: {why}", path.display())));
        }
    }
    for (rel, bytes) in &out.data_files {
        replace_file(&dir.join(rel), bytes)?;
    }
    replace_file(&cmd.output, out.toml.as_bytes())
}
