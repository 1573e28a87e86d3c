//! `bg95-emu run`: each scenario's `[[step]]`s drive a fresh emulator through its PTY, like
//! a host would. A scenario passes when every step passed and every declared fault fired
//! (unless `optional`).

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bg95_core::transcript::escape;

use super::{FiredFault, Scenario, Step, StepKind};
use crate::host_tty::HostTty;
use crate::time_scale::TimeScale;
use crate::Emulator;

/// The result of one scenario.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub path: PathBuf,
    pub elapsed: Duration,
    /// `Err` says what failed, with the step's line.
    pub result: Result<(), String>,
    pub fired: Vec<FiredFault>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.result.is_ok()
    }

    /// The summary line `bg95-emu run` prints.
    pub fn line(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        match &self.result {
            Ok(()) => format!("ok    {} ({secs:.2}s) {}", self.name, self.path.display()),
            Err(e) => format!(
                "FAIL  {} ({secs:.2}s) {}: {e}",
                self.name,
                self.path.display()
            ),
        }
    }
}

/// The host side of the tty: a reader thread feeds a channel, so expectations wait with a
/// deadline.
struct Port {
    host: HostTty,
    buf: Vec<u8>,
    /// The scenario's time scale: step times are module time.
    scale: TimeScale,
}

/// The least real time an expectation waits at a time scale above 1 (or its whole
/// timeout, when shorter): what it waits for includes real work (TCP, TLS, disk, a loaded
/// CI machine) that does not run faster. A passing step never waits for it; a failing one
/// is reported this much later.
pub const MIN_REAL_EXPECT_TIMEOUT: Duration = Duration::from_secs(2);

impl Port {
    fn open(path: &Path, scale: TimeScale) -> Result<Port, String> {
        Ok(Port {
            host: HostTty::open(path)?,
            buf: Vec::new(),
            scale,
        })
    }

    /// When an expectation of `timeout` (module time) gives up, in real time.
    fn deadline(&self, timeout: Duration) -> Instant {
        let real = self
            .scale
            .to_real(timeout)
            .max(timeout.min(MIN_REAL_EXPECT_TIMEOUT));
        Instant::now() + real
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.host
            .tty
            .write_all(bytes)
            .and_then(|_| self.host.tty.flush())
            .map_err(|e| format!("tty write: {e}"))
    }

    /// More bytes, or false at the deadline.
    fn pull(&mut self, until: Instant) -> bool {
        let left = until.saturating_duration_since(Instant::now());
        match self.host.rx.recv_timeout(left) {
            Ok(b) => {
                self.buf.extend_from_slice(&b);
                true
            }
            Err(_) => false,
        }
    }

    /// The next complete line (without its line end), empty lines skipped.
    fn next_line(&mut self, until: Instant) -> Option<String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let text = String::from_utf8_lossy(&line)
                    .trim_end_matches(['\r', '\n'])
                    .trim_start_matches('\r')
                    .to_string();
                if text.is_empty() {
                    continue;
                }
                return Some(text);
            }
            if !self.pull(until) {
                return None;
            }
        }
    }

    /// Wait for a line `accept`s; other lines are skipped (and reported on failure).
    fn expect_line(
        &mut self,
        timeout: Duration,
        what: &str,
        accept: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        let until = self.deadline(timeout);
        let mut skipped = Vec::new();
        while let Some(l) = self.next_line(until) {
            if accept(&l) {
                return Ok(());
            }
            skipped.push(l);
        }
        let partial = escape(&self.buf);
        Err(format!(
            "expected {what} within {timeout:?}; lines seen: {skipped:?}{}",
            if partial.is_empty() {
                String::new()
            } else {
                format!(", then \"{partial}\"")
            }
        ))
    }

    fn expect_bytes(&mut self, want: &[u8], timeout: Duration) -> Result<(), String> {
        let until = self.deadline(timeout);
        while self.buf.len() < want.len() && want.starts_with(&self.buf) {
            if !self.pull(until) {
                break;
            }
        }
        if self.buf.starts_with(want) {
            self.buf.drain(..want.len());
            return Ok(());
        }
        Err(format!(
            "expected bytes \"{}\" within {timeout:?}; got \"{}\"",
            escape(want),
            escape(&self.buf)
        ))
    }
}

/// `${ftp_port}` and `${ftp_host}` in sent text and expectations: the scenario's server.
fn substitute(bytes: &[u8], vars: &[(&str, String)]) -> Vec<u8> {
    let mut text = bytes.to_vec();
    for (name, value) in vars {
        let pat = format!("${{{name}}}");
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            if text[i..].starts_with(pat.as_bytes()) {
                out.extend_from_slice(value.as_bytes());
                i += pat.len();
            } else {
                out.push(text[i]);
                i += 1;
            }
        }
        text = out;
    }
    text
}

/// Where `run --transcript` records each scenario's session (docs/transcripts.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TranscriptTarget {
    /// One file (a single scenario).
    File(PathBuf),
    /// `DIR/<file stem>.txt` for each scenario.
    Dir(PathBuf),
    /// A path with `{name}`, replaced by each scenario file's stem.
    Pattern(String),
}

impl TranscriptTarget {
    /// `--transcript PATH` for `scenarios` scenarios: a `{name}` pattern, an existing
    /// folder (or one ending in `/`, or any path when several scenarios run) → a file per
    /// scenario in it, else one file.
    pub fn from_arg(path: &Path, scenarios: usize) -> TranscriptTarget {
        let text = path.to_string_lossy();
        if text.contains("{name}") {
            TranscriptTarget::Pattern(text.into_owned())
        } else if path.is_dir() || text.ends_with('/') || scenarios > 1 {
            TranscriptTarget::Dir(path.to_path_buf())
        } else {
            TranscriptTarget::File(path.to_path_buf())
        }
    }

    /// The file for `scenario` (its folder is created).
    pub fn path_for(&self, scenario: &Scenario) -> std::io::Result<PathBuf> {
        let stem = scenario.path.file_stem().map_or_else(
            || scenario.name.clone(),
            |s| s.to_string_lossy().into_owned(),
        );
        let path = match self {
            TranscriptTarget::File(p) => p.clone(),
            TranscriptTarget::Dir(d) => d.join(format!("{stem}.txt")),
            TranscriptTarget::Pattern(p) => PathBuf::from(p.replace("{name}", &stem)),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Ok(path)
    }
}

/// Run one scenario on a fresh emulator.
pub fn run_scenario(scenario: &Scenario, seed: Option<u64>) -> Outcome {
    run_scenario_recorded(scenario, seed, None)
}

/// Run one scenario on a fresh emulator, recording its session to `transcript`
/// (`serve --transcript`'s format) if given.
pub fn run_scenario_recorded(
    scenario: &Scenario,
    seed: Option<u64>,
    transcript: Option<&TranscriptTarget>,
) -> Outcome {
    let start = Instant::now();
    let mut fired = Vec::new();
    let result = match transcript.map(|t| t.path_for(scenario)).transpose() {
        Ok(file) => run_steps(scenario, seed, file, &mut fired),
        Err(e) => Err(format!("--transcript: {e}")),
    };
    Outcome {
        name: scenario.name.clone(),
        path: scenario.path.clone(),
        elapsed: start.elapsed(),
        result,
        fired,
    }
}

fn run_steps(
    scenario: &Scenario,
    seed: Option<u64>,
    transcript: Option<PathBuf>,
    fired: &mut Vec<FiredFault>,
) -> Result<(), String> {
    let mut builder = Emulator::builder().scenario(scenario.clone());
    if let Some(s) = seed {
        builder = builder.seed(s);
    }
    if let Some(t) = transcript {
        builder = builder.transcript(t);
    }
    let emu = builder
        .spawn()
        .map_err(|e| format!("emulator did not start: {e}"))?;
    let vars: Vec<(&str, String)> = match emu.ftp_addr() {
        Some(a) => vec![
            ("ftp_port", a.port().to_string()),
            ("ftp_host", a.ip().to_string()),
        ],
        None => Vec::new(),
    };
    let scale = scenario.time_scale;
    let mut port = Port::open(emu.tty_path(), scale)?;
    let mut result = Ok(());
    for step in &scenario.steps {
        if let Err(e) = run_step(&mut port, emu.tty_path(), step, &vars) {
            result = Err(format!("step at line {}: {e}", step.line));
            break;
        }
    }
    drop(port);
    let engine = emu.faults().cloned();
    if let Some(engine) = &engine {
        *fired = engine.fired();
        let missing = engine.not_fired();
        if result.is_ok() && !missing.is_empty() {
            result = Err(format!("faults that never fired: {}", missing.join(", ")));
        }
    }
    let _ = emu.stop();
    result
}

fn run_step(
    port: &mut Port,
    tty: &Path,
    step: &Step,
    vars: &[(&str, String)],
) -> Result<(), String> {
    let text = |s: &str| String::from_utf8_lossy(&substitute(s.as_bytes(), vars)).into_owned();
    match &step.kind {
        StepKind::Send(b) => port.send(&substitute(b, vars)),
        StepKind::ExpectLine { line, timeout } => {
            let want = text(line);
            port.expect_line(*timeout, &format!("line {want:?}"), |l| l == want)
        }
        StepKind::ExpectRegex { regex, timeout } => {
            let re = &regex.0;
            port.expect_line(
                *timeout,
                &format!("a line matching /{}/", re.as_str()),
                |l| re.is_match(l),
            )
        }
        StepKind::ExpectBytes { bytes, timeout } => {
            port.expect_bytes(&substitute(bytes, vars), *timeout)
        }
        StepKind::Wait(d) => {
            std::thread::sleep(port.scale.to_real(*d));
            Ok(())
        }
        StepKind::Reopen => {
            let fresh = Port::open(tty, port.scale)?;
            // The old port closes first (its reader stops), as a host closing the tty.
            *port = fresh;
            Ok(())
        }
    }
}

/// Run `scenarios` with up to `jobs` at once (each with its own emulator, PTY and ports).
/// `report` gets each outcome as it finishes. Returns outcomes in the input order.
pub fn run_all(
    scenarios: &[Scenario],
    jobs: usize,
    seed: Option<u64>,
    report: impl Fn(&Outcome, usize, usize) + Sync,
) -> Vec<Outcome> {
    run_all_recorded(scenarios, jobs, seed, None, report)
}

/// [`run_all`], recording each scenario's session where `transcript` says.
pub fn run_all_recorded(
    scenarios: &[Scenario],
    jobs: usize,
    seed: Option<u64>,
    transcript: Option<&TranscriptTarget>,
    report: impl Fn(&Outcome, usize, usize) + Sync,
) -> Vec<Outcome> {
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..scenarios.len()).collect());
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; scenarios.len()]);
    let done = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, scenarios.len().max(1)) {
            s.spawn(|| loop {
                let Some(i) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front() else {
                    break;
                };
                let outcome = run_scenario_recorded(&scenarios[i], seed, transcript);
                let n = {
                    let mut d = done.lock().unwrap_or_else(|p| p.into_inner());
                    *d += 1;
                    *d
                };
                report(&outcome, n, scenarios.len());
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(outcome);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Print outcomes as `bg95-emu run` does: one line each; on a terminal a progress counter
/// is kept on the last line.
pub fn print_outcome(outcome: &Outcome, done: usize, total: usize) {
    let mut out = std::io::stdout().lock();
    if std::io::stdout().is_terminal() {
        let _ = write!(out, "\r\x1b[K{}\n[{done}/{total}] ", outcome.line());
        if done == total {
            let _ = write!(out, "\r\x1b[K");
        }
    } else {
        let _ = writeln!(out, "{}", outcome.line());
    }
    let _ = out.flush();
}

/// A JUnit XML report of `outcomes`.
pub fn junit(outcomes: &[Outcome]) -> String {
    junit_linked(outcomes, &[])
}

/// [`junit`], with each outcome's timeline page (`run --html`, by index) linked from its
/// testcase: a `timeline` property and a `[[ATTACHMENT|path]]` line in its system-out (the
/// convention CI servers read attachments from).
pub fn junit_linked(outcomes: &[Outcome], pages: &[Option<PathBuf>]) -> String {
    let failures = outcomes.iter().filter(|o| !o.passed()).count();
    let total: f64 = outcomes.iter().map(|o| o.elapsed.as_secs_f64()).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x += &format!(
        "<testsuites tests=\"{}\" failures=\"{failures}\" time=\"{total:.3}\">\n",
        outcomes.len()
    );
    x += &format!(
        "  <testsuite name=\"bg95-emu scenarios\" tests=\"{}\" failures=\"{failures}\" time=\"{total:.3}\">\n",
        outcomes.len()
    );
    for (i, o) in outcomes.iter().enumerate() {
        x += &format!(
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
            xml(&o.name),
            xml(&o.path.display().to_string()),
            o.elapsed.as_secs_f64()
        );
        x += ">\n";
        let page = pages
            .get(i)
            .and_then(Option::as_ref)
            .map(|p| p.display().to_string());
        if let Some(p) = &page {
            x += &format!(
                "      <properties><property name=\"timeline\" value=\"{}\"/></properties>\n",
                xml(p)
            );
        }
        if let Err(e) = &o.result {
            x += &format!(
                "      <failure message=\"{}\">{}</failure>\n",
                xml(e),
                xml(e)
            );
        }
        // The faults that fired, as transcript lines; the page as an attachment.
        if !o.fired.is_empty() || page.is_some() {
            let mut lines: Vec<String> = o.fired.iter().map(FiredFault::transcript_line).collect();
            lines.extend(page.iter().map(|p| format!("[[ATTACHMENT|{p}]]")));
            x += &format!(
                "      <system-out>{}</system-out>\n",
                xml(&lines.join("\n"))
            );
        }
        x += "    </testcase>\n";
    }
    x += "  </testsuite>\n</testsuites>\n";
    x
}

fn xml(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => format!("&#{};", c as u32),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_and_junit_escaping() {
        let vars = [("ftp_port", "2121".to_string())];
        assert_eq!(
            substitute(b"AT+QFTPOPEN=\"h\",${ftp_port}\r", &vars),
            b"AT+QFTPOPEN=\"h\",2121\r"
        );
        let o = Outcome {
            name: "a<b".into(),
            path: "x.toml".into(),
            elapsed: Duration::from_millis(1500),
            result: Err("expected \"OK\"".into()),
            fired: Vec::new(),
        };
        let x = junit(&[o]);
        assert!(x.contains("<testcase name=\"a&lt;b\" classname=\"x.toml\" time=\"1.500\">"));
        assert!(x.contains("<failure message=\"expected &quot;OK&quot;\">"));
        assert!(x.contains("tests=\"1\" failures=\"1\""));
    }
}
