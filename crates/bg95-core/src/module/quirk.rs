//! Firmware quirks: a command whose answer is replaced (information lines, final result,
//! delay), as some firmware revisions answer differently. A scenario (or a test) sets them
//! with [`Module::set_answer_override`]; dispatch consults them before any command area.

use std::collections::HashMap;
use std::time::Duration;

use bg95_at::{FinalResult, Invocation};

use crate::error::{CmeError, FtpError};
use crate::module::{Module, Outcome};
use crate::time::Instant;

/// The answer a command gives instead of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerOverride {
    /// Information lines, framed as the command's own would be.
    pub info: Vec<String>,
    pub final_result: FinalResult,
    /// The answer comes this long after the command line (zero: at once).
    pub delay: Duration,
}

impl AnswerOverride {
    /// A final result as a module prints it under ATV1/AT+CMEE=1: `OK`, `ERROR`,
    /// `CONNECT`, `NO CARRIER` or `+CME ERROR: <n>` with a code from the error table
    /// (printed as AT+CMEE says, like the module's own errors). `None` for anything else.
    pub fn parse_result(text: &str) -> Option<FinalResult> {
        match text.trim() {
            "OK" => Some(FinalResult::Ok),
            "ERROR" => Some(FinalResult::Error),
            "CONNECT" => Some(FinalResult::Connect),
            "NO CARRIER" => Some(FinalResult::NoCarrier),
            t => {
                let code: u16 = t.strip_prefix("+CME ERROR:")?.trim().parse().ok()?;
                CmeError::from_code(code)
                    .map(FinalResult::from)
                    .or_else(|| FtpError::from_code(code).map(FinalResult::from))
            }
        }
    }
}

/// The overrides in force (they outlive a reset, as firmware does) and an answer waiting for
/// its delay (lost with a reset).
#[derive(Debug, Default)]
pub(crate) struct Quirks {
    /// Command → its answer, and whether it is for the next use only.
    overrides: HashMap<String, (AnswerOverride, bool)>,
    due: Option<(Instant, AnswerOverride)>,
}

impl Quirks {
    pub fn boot(&mut self) {
        self.due = None;
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.due.as_ref().map(|(t, _)| *t)
    }
}

/// `+CPIN` for `+CPIN`, `CPIN` or `AT+CPIN`; basic commands (`E`, `&F`) as they are.
fn key(command: &str) -> String {
    let c = command.trim().to_ascii_uppercase();
    let c = c.strip_prefix("AT").map(str::to_string).unwrap_or(c);
    if c.starts_with('+') || c.len() <= 2 {
        c
    } else {
        format!("+{c}")
    }
}

impl Module {
    /// From now on, `command` (`+CPIN`, `+QFTPOPEN`, …, every form) answers `answer`
    /// instead of running. Replaces an earlier override of the same command.
    pub fn set_answer_override(&mut self, command: &str, answer: AnswerOverride) {
        tracing::info!(target: "bg95::core", "answer override for {}: {answer:?}", key(command));
        self.quirks.overrides.insert(key(command), (answer, false));
    }

    /// The next time `command` runs it answers `answer`; then it runs normally again.
    pub fn override_next_answer(&mut self, command: &str, answer: AnswerOverride) {
        tracing::info!(target: "bg95::core", "next answer of {}: {answer:?}", key(command));
        self.quirks.overrides.insert(key(command), (answer, true));
    }

    /// `command` runs normally again.
    pub fn clear_answer_override(&mut self, command: &str) {
        self.quirks.overrides.remove(&key(command));
    }

    /// The overridden answer of `inv`, if one is set: at once, or (with a delay) later, the
    /// rest of the line being dropped as when a command takes the port.
    pub(crate) fn dispatch_override(&mut self, now: Instant, inv: &Invocation) -> Option<Outcome> {
        let (answer, once) = self.quirks.overrides.get(&inv.name)?.clone();
        if once {
            self.quirks.overrides.remove(&inv.name);
        }
        if !answer.delay.is_zero() {
            self.quirks.due = Some((now + answer.delay, answer));
            return Some(Outcome::Pending);
        }
        self.info(&answer.info);
        Some(match answer.final_result {
            FinalResult::Ok => Outcome::Ok,
            r => Outcome::Fail(r),
        })
    }

    /// A delayed overridden answer whose time has come.
    pub(crate) fn quirk_timeout(&mut self, now: Instant) {
        if self.quirks.due.as_ref().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, answer)) = self.quirks.due.take() {
                self.info(&answer.info);
                self.final_result(answer.final_result);
            }
        }
    }
}
