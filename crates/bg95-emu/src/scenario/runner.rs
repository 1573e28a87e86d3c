//! `bg95-emu run`: each scenario's `[[step]]`s drive a fresh emulator through its PTY, like
//! a host would. A scenario passes when every step passed and every declared fault fired
//! (unless `optional`).

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bg95_core::redact::mask_lines;
use bg95_core::transcript::escape;

use super::expect::{conflicts, wait_file};
use super::{Expect, Expectation, FiredFault, Scenario, Step, StepKind};
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
    /// A signal stopped the scenario before it ended (JUnit: an `<error>`, not a failure).
    pub interrupted: bool,
}

/// The signal that interrupted `run` (0: none). Set from the signal listener
/// ([`interrupt`]); steps that wait look at it, and no new scenario starts once it is set.
static INTERRUPT: AtomicI32 = AtomicI32::new(0);

/// A signal asks `run` to stop: the running scenarios end at their next wait (their
/// emulators are stopped and their temporary folders removed as usual), none starts.
pub fn interrupt(signal: i32) {
    let _ = INTERRUPT.compare_exchange(0, signal, Ordering::AcqRel, Ordering::Acquire);
}

/// The signal that interrupted the run, if one did.
pub fn interrupted() -> Option<i32> {
    match INTERRUPT.load(Ordering::Acquire) {
        0 => None,
        s => Some(s),
    }
}

/// How often a waiting step looks for an interrupt.
const INTERRUPT_POLL: Duration = Duration::from_millis(50);

/// Sleep `d`, or less if the run is interrupted.
fn sleep_interruptible(d: Duration) {
    let until = Instant::now() + d;
    while interrupted().is_none() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(INTERRUPT_POLL));
    }
}

fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map_or_else(|_| signal.to_string(), |s| s.to_string())
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
    /// The first bytes of `buf` that had arrived when the host last sent: answers to
    /// earlier commands, which never fail an expectation at once.
    before_send: usize,
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
            before_send: 0,
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
        while let Ok(b) = self.host.rx.try_recv() {
            self.buf.extend_from_slice(&b);
        }
        self.before_send = self.buf.len();
        self.host
            .tty
            .write_all(bytes)
            .and_then(|_| self.host.tty.flush())
            .map_err(|e| format!("tty write: {e}"))
    }

    /// More bytes, or false at the deadline (or when the run is interrupted).
    fn pull(&mut self, until: Instant) -> bool {
        while interrupted().is_none() {
            let left = until.saturating_duration_since(Instant::now());
            match self.host.rx.recv_timeout(left.min(INTERRUPT_POLL)) {
                Ok(b) => {
                    self.buf.extend_from_slice(&b);
                    return true;
                }
                Err(RecvTimeoutError::Timeout) if !left.is_zero() => {}
                Err(_) => return false,
            }
        }
        false
    }

    /// The next complete line (without its line end), empty lines skipped, and whether
    /// it had arrived before the host last sent.
    fn next_line(&mut self, until: Instant) -> Option<(String, bool)> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let earlier = line.len() <= self.before_send;
                self.before_send = self.before_send.saturating_sub(line.len());
                let text = String::from_utf8_lossy(&line)
                    .trim_end_matches(['\r', '\n'])
                    .trim_start_matches('\r')
                    .to_string();
                if text.is_empty() {
                    continue;
                }
                return Some((text, earlier));
            }
            if !self.pull(until) {
                return None;
            }
        }
    }

    /// Wait for the lines `e` expects; other lines are skipped (and reported on failure).
    /// A final answer of the kind expected that is not the one expected fails at once.
    fn expect_lines(
        &mut self,
        e: &Expectation,
        what: &str,
        wanted: Vec<String>,
    ) -> Result<(), String> {
        let start = Instant::now();
        let until = self.deadline(e.timeout);
        let mut remaining = wanted;
        let mut skipped = Vec::new();
        while let Some((l, earlier)) = self.next_line(until) {
            let accepted = match &e.expect {
                Expect::Regex(re) => re.0.is_match(&l),
                Expect::Unordered(_) => match remaining.iter().position(|w| *w == l) {
                    Some(i) => {
                        remaining.remove(i);
                        remaining.is_empty()
                    }
                    None => false,
                },
                _ => remaining.contains(&l),
            };
            if accepted {
                return too_soon(e, start, &l, self.scale);
            }
            if !earlier && conflicts(&e.expect, &remaining, &l) {
                let l = String::from_utf8_lossy(&mask_lines(l.as_bytes())).into_owned();
                return Err(format!(
                    "expected {what}; got {l:?}, a final answer (lines seen before it: {skipped:?})"
                ));
            }
            // Shown on stdout and in JUnit: never the password of an echoed account line.
            skipped.push(String::from_utf8_lossy(&mask_lines(l.as_bytes())).into_owned());
        }
        let partial = escape(&mask_lines(&self.buf));
        Err(format!(
            "expected {what} within {:?}; lines seen: {skipped:?}{}",
            e.timeout,
            if partial.is_empty() {
                String::new()
            } else {
                format!(", then \"{partial}\"")
            }
        ))
    }

    /// Forget what the module said so far (after `[[setup]]`: not part of what steps see).
    fn discard(&mut self) {
        self.buf.clear();
        self.before_send = 0;
        while self.host.rx.try_recv().is_ok() {}
    }

    fn expect_bytes(&mut self, want: &[u8], e: &Expectation) -> Result<(), String> {
        let start = Instant::now();
        let until = self.deadline(e.timeout);
        while self.buf.len() < want.len() && want.starts_with(&self.buf) {
            if !self.pull(until) {
                break;
            }
        }
        if self.buf.starts_with(want) {
            self.buf.drain(..want.len());
            self.before_send = self.before_send.saturating_sub(want.len());
            return too_soon(e, start, &escape(want), self.scale);
        }
        Err(format!(
            "expected bytes \"{}\" within {:?}; got \"{}\"",
            escape(&mask_lines(want)),
            e.timeout,
            escape(&mask_lines(&self.buf))
        ))
    }

    /// Nothing but line ends left over, and nothing more arrives for `d`.
    fn expect_silence(&mut self, d: Duration) -> Result<(), String> {
        let start = Instant::now();
        let until = start + self.scale.to_real(d);
        loop {
            if self.buf.iter().any(|b| !matches!(b, b'\r' | b'\n')) {
                return Err(format!(
                    "expected silence for {d:?}; after {:?} came \"{}\"",
                    start.elapsed(),
                    escape(&mask_lines(&self.buf))
                ));
            }
            if !self.pull(until) {
                return Ok(());
            }
        }
    }
}

/// `not_before`: the expected answer must not come before this long after the step began
/// (as the host reads it).
/// (`not_before` is module time, like every step time.)
fn too_soon(e: &Expectation, start: Instant, what: &str, scale: TimeScale) -> Result<(), String> {
    let took = scale.to_module(start.elapsed());
    match e.not_before {
        Some(min) if took < min => Err(format!(
            "{what:?} came after {took:?}, before not_before {min:?}"
        )),
        _ => Ok(()),
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
    let interrupted = interrupted().is_some() && result.is_err();
    Outcome {
        name: scenario.name.clone(),
        path: scenario.path.clone(),
        elapsed: start.elapsed(),
        result,
        fired,
        interrupted,
    }
}

fn run_steps(
    scenario: &Scenario,
    seed: Option<u64>,
    transcript: Option<PathBuf>,
    fired: &mut Vec<FiredFault>,
) -> Result<(), String> {
    // The runner's own UFS folder, so `expect_ufs_file` can look at it.
    let ufs = tempfile::Builder::new()
        .prefix("bg95-run-ufs-")
        .tempdir()
        .map_err(|e| format!("UFS folder: {e}"))?;
    let mut builder = Emulator::builder()
        .scenario(scenario.clone())
        .ufs_dir(ufs.path());
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
    let mut port = Port::open(emu.tty_path(), scenario.time_scale)?;
    let places = Places {
        tty: emu.tty_path(),
        ftp_root: emu.ftp_root(),
        ufs_dir: ufs.path(),
    };
    let mut result = Ok(());
    // A step a signal cut short (a wait, an expectation) is not passed.
    let run_one = |port: &mut Port, step: &Step, what: &str| -> Result<(), String> {
        let step_result = match interrupted() {
            Some(_) => Err(String::new()),
            None => run_step(port, &places, step, &vars)
                .and_then(|()| interrupted().map_or(Ok(()), |_| Err(String::new()))),
        };
        step_result.map_err(|e| match interrupted() {
            Some(sig) => format!(
                "interrupted by {} at the {what} at line {}",
                signal_name(sig),
                step.line
            ),
            None => format!("{what} at line {}: {e}", step.line),
        })
    };
    for step in &scenario.setup {
        if let Err(e) = run_one(&mut port, step, "setup step") {
            result = Err(e);
            break;
        }
    }
    if result.is_ok() && !scenario.setup.is_empty() {
        // What the module said during the setup is not the steps' to compare; without a
        // setup, nothing is discarded (the boot URCs are the steps' to expect).
        port.discard();
    }
    for step in scenario.steps.iter().filter(|_| result.is_ok()) {
        if let Err(e) = run_one(&mut port, step, "step") {
            result = Err(e);
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

/// Where a scenario's files are, for `expect_server_file` and `expect_ufs_file`.
struct Places<'a> {
    tty: &'a Path,
    ftp_root: Option<&'a Path>,
    ufs_dir: &'a Path,
}

fn run_step(
    port: &mut Port,
    places: &Places,
    step: &Step,
    vars: &[(&str, String)],
) -> Result<(), String> {
    let text = |s: &str| String::from_utf8_lossy(&substitute(s.as_bytes(), vars)).into_owned();
    match &step.kind {
        StepKind::Send(b) => port.send(&substitute(b, vars)),
        StepKind::Expect(e) => match &e.expect {
            Expect::Line(l) => {
                let want = text(l);
                port.expect_lines(e, &format!("line {want:?}"), vec![want])
            }
            Expect::Regex(re) => port.expect_lines(
                e,
                &format!("a line matching /{}/", re.0.as_str()),
                Vec::new(),
            ),
            Expect::Any(list) | Expect::Unordered(list) => {
                let want: Vec<String> = list.iter().map(|l| text(l)).collect();
                let how = if matches!(e.expect, Expect::Any(_)) {
                    "one of"
                } else {
                    "all of, in any order,"
                };
                port.expect_lines(e, &format!("{how} {want:?}"), want)
            }
            Expect::Bytes(b) => port.expect_bytes(&substitute(b, vars), e),
        },
        StepKind::ExpectSilence(d) => port.expect_silence(*d),
        StepKind::ExpectServerFile(c) => match places.ftp_root {
            Some(root) => {
                wait_file(Some(&root.join(&c.name)), c).map_err(|e| format!("server file {e}"))
            }
            None => Err("expect_server_file: the scenario has no [ftp_server]".into()),
        },
        StepKind::ExpectUfsFile(c) => {
            let path = crate::ufs_dir::safe_name(&c.name).then(|| places.ufs_dir.join(&c.name));
            wait_file(path.as_deref(), c).map_err(|e| format!("UFS file {e}"))
        }
        StepKind::Wait(d) => {
            sleep_interruptible(port.scale.to_real(*d));
            Ok(())
        }
        StepKind::Reopen => {
            let fresh = Port::open(places.tty, port.scale)?;
            // The old port closes first (its reader stops), as a host closing the tty.
            *port = fresh;
            Ok(())
        }
        StepKind::Repeat { times, steps } => run_repeat(port, places, *times, steps, vars),
    }
}

/// A `repeat` group: its steps in order, `times` times over (never expanded in memory).
/// A failure names the repetition and the inner step's line.
fn run_repeat(
    port: &mut Port,
    places: &Places,
    times: u64,
    steps: &[Step],
    vars: &[(&str, String)],
) -> Result<(), String> {
    for round in 1..=times {
        for step in steps {
            if interrupted().is_some() {
                return Err(format!("repetition {round} of {times}"));
            }
            run_step(port, places, step, vars).map_err(|e| {
                format!(
                    "repetition {round} of {times}, step at line {}: {e}",
                    step.line
                )
            })?;
        }
    }
    Ok(())
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
                if interrupted().is_some() {
                    break;
                }
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
    let errors = outcomes.iter().filter(|o| o.interrupted).count();
    let failures = outcomes.iter().filter(|o| !o.passed()).count() - errors;
    let total: f64 = outcomes.iter().map(|o| o.elapsed.as_secs_f64()).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x += &format!(
        "<testsuites tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{total:.3}\">\n",
        outcomes.len()
    );
    x += &format!(
        "  <testsuite name=\"bg95-emu scenarios\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{total:.3}\">\n",
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
            let tag = if o.interrupted { "error" } else { "failure" };
            x += &format!("      <{tag} message=\"{}\">{}</{tag}>\n", xml(e), xml(e));
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

/// `s` as XML 1.0 character data or attribute value. XML 1.0 has no way to write most C0
/// controls (not even as `&#1;`) nor U+FFFE/U+FFFF: those are written as visible text in the
/// transcript escape style (`\x01`, `\u{fffe}`), so the report always parses. Tab, LF and
/// CR are character references (an attribute would otherwise normalise them to spaces).
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push_str(&format!("&#{};", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            '\u{fffe}' | '\u{ffff}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
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
            interrupted: false,
        };
        let x = junit(&[o]);
        assert!(x.contains("<testcase name=\"a&lt;b\" classname=\"x.toml\" time=\"1.500\">"));
        assert!(x.contains("<failure message=\"expected &quot;OK&quot;\">"));
        assert!(x.contains("tests=\"1\" failures=\"1\""));
    }

    /// Control characters in a name or a message: the report is still XML 1.0 (a parser
    /// rejected `&#1;` before), and nothing is lost.
    #[test]
    fn junit_is_xml_1_0_whatever_the_names_hold() {
        let o = Outcome {
            name: "bad\x01name\u{fffe}".into(),
            path: "x\x1b.toml".into(),
            elapsed: Duration::from_millis(1),
            result: Err("got \"\x00\"\r\n\tend".into()),
            fired: Vec::new(),
            interrupted: false,
        };
        let x = junit(&[o]);
        for c in x.chars() {
            let ok = matches!(c, '\t' | '\n' | '\r')
                || ('\u{20}'..='\u{d7ff}').contains(&c)
                || ('\u{e000}'..='\u{fffd}').contains(&c)
                || c >= '\u{10000}';
            assert!(ok, "{c:?} is not an XML 1.0 character:\n{x}");
        }
        for bad in ["&#0;", "&#1;", "&#27;"] {
            assert!(!x.contains(bad), "{bad} is not allowed in XML 1.0:\n{x}");
        }
        assert!(x.contains("name=\"bad\\x01name\\u{fffe}\""), "{x}");
        assert!(x.contains("classname=\"x\\x1b.toml\""), "{x}");
        assert!(x.contains("got &quot;\\x00&quot;&#13;&#10;&#9;end"), "{x}");
    }
}
