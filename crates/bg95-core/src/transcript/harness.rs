//! [`Harness`]: the one driver of a [`Module`] that every core test uses — the golden
//! transcripts, the property and model tests, the UFS unit tests — and `bg95-emu replay`.
//!
//! It owns a module, a fake clock and the output the module has said but no test has
//! claimed yet. It drives the module the way a runtime does (docs/architecture.md): host
//! bytes, events and time go in through `handle_*` at the harness's clock, output is
//! collected after each of them, and time moves on by firing every deadline on the way in
//! order. Effects stay in the module's queue until a test takes or expects them.
//!
//! Expectations compare as golden transcripts do (docs/transcripts.md): output is claimed
//! byte-exact from the front of what was said, an effect by its line ([`effect_line`]) with
//! the subset match of `key=value` pairs ([`effect_matches`]).

use std::time::Duration;

use super::{effect_line, effect_matches, escape, parse, parse_event, Line, Mismatch, Step};
use crate::ftp::{FtpEvent, FtpRequest};
use crate::module::{Completion, Effect, Module};
use crate::personality::Personality;
use crate::time::Instant;
use crate::ufs::{MemStore, UfsStore};

/// A script for [`Harness::play`] that a test of an FTP session starts with: echo off,
/// context 1 active, a session opened on 127.0.0.1 (plain, no account).
pub const OPEN_FTP_SESSION: &str = r#"
> ATE0\r
< ATE0\r\r\nOK\r\n
> AT+QIACT=1\r
< \r\nOK\r\n
> AT+QFTPOPEN="127.0.0.1"\r
< \r\nOK\r\n
= ftp open host=127.0.0.1 port=21 user="" pass="" type=binary mode=passive data-address=reply tls=none
! ftp done ok
< \r\n+QFTPOPEN: 0,0\r\n
"#;

/// A module on a fake clock, driven as a runtime would drive it (module doc).
pub struct Harness {
    pub(super) module: Module,
    now: Instant,
    /// What the module said that no test has claimed yet.
    output: Vec<u8>,
    /// Called with the text of each `! fault` line [`Harness::compare`] passes.
    pub(super) fault_hook: Option<FaultHook>,
}

/// Applies a recorded `! fault` line to the module (e.g. a full UFS, which is no event).
pub type FaultHook = Box<dyn FnMut(&mut Module, &str)>;

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// The default personality with an empty UFS, after the boot URCs.
    pub fn new() -> Self {
        Self::with_personality(Personality::default())
    }

    /// A personality with an empty UFS, after the boot URCs.
    pub fn with_personality(p: Personality) -> Self {
        Self::powered_on(p, Box::new(MemStore::new())).booted()
    }

    /// A module that has just powered on at `Instant::ZERO`: the boot URCs are the first
    /// output a test takes or expects.
    pub fn powered_on(p: Personality, store: Box<dyn UfsStore>) -> Self {
        Harness {
            module: Module::new(p, store, Instant::ZERO),
            now: Instant::ZERO,
            output: Vec::new(),
            fault_hook: None,
        }
    }

    /// [`Harness::compare`] hands the text of each `! fault` line (after `! fault `) to
    /// `hook` where the recording has it, e.g. to set a fault state that is not an event.
    pub fn on_fault(mut self, hook: FaultHook) -> Self {
        self.fault_hook = Some(hook);
        self
    }

    /// Drop what has been said so far (the boot URCs): tests that are not about booting
    /// start here.
    pub fn booted(mut self) -> Self {
        self.take_output();
        self
    }

    /// A fresh default module as a transcript file expects it: at power-on when the file
    /// has the `#! boot` header (it claims the boot URCs itself), else after the boot URCs.
    pub fn for_transcript(text: &str) -> Self {
        let at_power_on = Self::powered_on(Personality::default(), Box::new(MemStore::new()));
        if text.lines().any(|l| l.trim() == "#! boot") {
            at_power_on
        } else {
            at_power_on.booted()
        }
    }

    /// The fake clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Move the clock without firing anything, as a runtime whose timer has not woken yet
    /// sees time pass between two inputs. Use [`Harness::advance`] to let deadlines fire.
    pub fn set_now(&mut self, now: Instant) {
        self.now = now;
    }

    /// The module, for what the harness does not wrap (its own queues, its settings).
    pub fn module(&self) -> &Module {
        &self.module
    }

    pub fn module_mut(&mut self) -> &mut Module {
        &mut self.module
    }

    /// The module, to go on without the harness (output not taken yet is lost).
    pub fn into_module(self) -> Module {
        self.module
    }

    fn collect(&mut self) {
        while let Some(out) = self.module.poll_output() {
            self.output.extend_from_slice(&out);
        }
    }

    // ---- input -----------------------------------------------------------------------

    /// The host sends `bytes` now.
    pub fn send(&mut self, bytes: &[u8]) {
        self.module.handle_input(self.now, bytes);
        self.collect();
    }

    /// Send `len` filler bytes for a redacted upload (`>key`), in pieces so a hostile length
    /// costs no memory.
    pub fn send_redacted(&mut self, len: u64) {
        let mut left = len;
        while left > 0 {
            let n = left.min(64 * 1024);
            self.module
                .handle_input(self.now, &super::redacted_filler(n as usize));
            self.collect();
            left -= n;
        }
    }

    /// Send `bytes` and take everything the module has said since the last take.
    pub fn exchange(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.send(bytes);
        self.take_output()
    }

    /// Send one command line (`line` and S3's factory CR) and take everything the module
    /// has said since the last take, as text.
    pub fn at(&mut self, line: &str) -> String {
        self.send(format!("{line}\r").as_bytes());
        self.take_text()
    }

    /// The runtime reports `completion` now.
    pub fn feed(&mut self, completion: Completion) {
        self.module.handle_completion(self.now, completion);
        self.collect();
    }

    /// The FTP side reports `event` now; everything the module has said since the last
    /// take, as text.
    pub fn ftp(&mut self, event: FtpEvent) -> String {
        self.feed(Completion::Ftp(event));
        self.take_text()
    }

    /// Feed an event written as a transcript's `!` line (`ftp done ok`, `net pdp-lost 1`,
    /// `power reset`; the leading `!` may be left out).
    pub fn event(&mut self, line: &str) -> Result<(), String> {
        let line = line.trim();
        let line = line.strip_prefix('!').unwrap_or(line).trim();
        self.feed(parse_event(line)?);
        Ok(())
    }

    // ---- time ------------------------------------------------------------------------

    /// Fire the earliest deadline if it falls due by `end`, moving the clock to it (never
    /// back); whether one fired. The step [`Harness::advance_to`] repeats, for tests that
    /// check the module between deadlines.
    pub fn fire_next_deadline(&mut self, end: Instant) -> bool {
        match self.module.poll_timeout() {
            Some(t) if t <= end => {
                self.now = self.now.max(t);
                self.module.handle_timeout(self.now);
                self.collect();
                true
            }
            _ => false,
        }
    }

    /// Let time pass until `end`, firing every deadline on the way in order, then tell the
    /// module the time is `end`.
    pub fn advance_to(&mut self, end: Instant) {
        while self.fire_next_deadline(end) {}
        self.now = end;
        self.module.handle_timeout(self.now);
        self.collect();
    }

    /// Let `d` pass ([`Harness::advance_to`]).
    pub fn advance(&mut self, d: Duration) {
        self.advance_to(self.now + d);
    }

    // ---- output and effects ----------------------------------------------------------

    /// Everything the module has said since the last take.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.collect();
        std::mem::take(&mut self.output)
    }

    /// [`Harness::take_output`] as text (a byte that is not UTF-8 shows as U+FFFD).
    pub fn take_text(&mut self) -> String {
        String::from_utf8_lossy(&self.take_output()).into_owned()
    }

    /// Every effect the module has asked for and no test has taken yet.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::iter::from_fn(|| self.module.poll_effect()).collect()
    }

    /// [`Harness::take_effects`] as effect lines (`ftp cwd "/"`).
    pub fn take_effect_lines(&mut self) -> Vec<String> {
        self.take_effects().iter().map(effect_line).collect()
    }

    /// The FTP requests among the effects not taken yet; the other effects are dropped.
    pub fn take_ftp_requests(&mut self) -> Vec<FtpRequest> {
        self.take_effects()
            .into_iter()
            .filter_map(|e| match e {
                Effect::Ftp(r) => Some(*r),
                _ => None,
            })
            .collect()
    }

    /// The module's next unclaimed bytes are exactly `want` (a `<` line); they are claimed.
    pub fn expect_output(&mut self, want: &[u8]) -> Result<(), String> {
        self.collect();
        if !self.output.starts_with(want) {
            return Err(format!(
                "expected \"{}\"\n     got \"{}\"",
                escape(want),
                escape(&self.output)
            ));
        }
        self.output.drain(..want.len());
        Ok(())
    }

    /// The next effect matches the effect line `want` (an `=` line: the same words, and
    /// the `key=value` pairs `want` names); it is taken.
    pub fn expect_effect(&mut self, want: &str) -> Result<(), String> {
        let got = self.module.poll_effect().map(|e| effect_line(&e));
        match got {
            Some(g) if effect_matches(want, &g) => Ok(()),
            _ => Err(format!("expected effect {want}\n     got {got:?}")),
        }
    }

    /// Every byte the module said has been claimed.
    pub fn expect_no_output(&mut self) -> Result<(), String> {
        self.collect();
        match self.output.is_empty() {
            true => Ok(()),
            false => Err(format!("unexpected output \"{}\"", escape(&self.output))),
        }
    }

    /// Every effect the module asked for has been taken.
    pub fn expect_no_effect(&mut self) -> Result<(), String> {
        match self.module.poll_effect() {
            None => Ok(()),
            Some(e) => Err(format!("unexpected effect {}", effect_line(&e))),
        }
    }

    // ---- transcripts -----------------------------------------------------------------

    /// Run the steps of a transcript; stops at the first mismatch. Output not claimed by a
    /// `<` line at the end, or effects not claimed by `=` lines when `strict_effects`, are
    /// mismatches too.
    pub fn run(&mut self, lines: &[Line], strict_effects: bool) -> Result<(), Mismatch> {
        for l in lines {
            match &l.step {
                Step::Send(bytes) => self.send(bytes),
                Step::SendRedacted { len, .. } => self.send_redacted(*len),
                Step::Wait(d) => self.advance(*d),
                Step::Event(ev) => self.feed(ev.clone()),
                // A record of a fault that fired; what it did is in the events around it.
                Step::Fault(_) => {}
                Step::Expect(want) => self.expect_output(want).map_err(|m| l.mismatch(m))?,
                Step::Effect(want) => self.expect_effect(want).map_err(|m| l.mismatch(m))?,
            }
        }
        let last = lines.last().map_or(0, |l| l.number);
        let at_end = |message| Mismatch {
            line: last,
            message,
        };
        self.expect_no_output().map_err(at_end)?;
        if strict_effects {
            self.expect_no_effect().map_err(at_end)?;
        }
        Ok(())
    }

    /// Run a transcript written inline in a test, claiming every effect; panics with the
    /// mismatch (a test's assertion).
    #[track_caller]
    pub fn play(&mut self, script: &str) {
        let lines = parse(script).unwrap_or_else(|e| panic!("the script does not parse: {e}"));
        if let Err(m) = self.run(&lines, true) {
            panic!("{m}");
        }
    }
}

impl Line {
    fn mismatch(&self, message: String) -> Mismatch {
        Mismatch {
            line: self.number,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deadlines fire in order on the way, each at its own time, and the clock ends where
    /// it was told to.
    #[test]
    fn advance_fires_deadlines_on_the_way() {
        let mut h = Harness::new();
        h.send(b"AT+QFUPL=\"p\",10,2\r");
        assert_eq!(h.take_text(), "AT+QFUPL=\"p\",10,2\r\r\nCONNECT\r\n");
        let end = Instant::from_millis(5000);
        assert!(h.fire_next_deadline(end));
        assert_eq!(h.now(), Instant::from_millis(2000));
        assert_eq!(h.take_text(), "\r\n+CME ERROR: 421\r\n");
        h.advance_to(end);
        assert_eq!(h.now(), end);
        assert_eq!(h.at("AT"), "AT\r\r\nOK\r\n");
    }

    #[test]
    fn expectations_claim_output_and_effects() {
        let mut h = Harness::new();
        h.send(b"ATE0\r");
        assert!(h.expect_output(b"ATE0\r\r\nOK").is_ok());
        assert!(h.expect_no_output().is_err());
        assert!(h.expect_output(b"\r\n").is_ok());
        h.send(b"AT+QIACT=1;+QFTPOPEN=\"127.0.0.1\"\r");
        assert!(h.expect_effect("ftp open host=127.0.0.1 tls=none").is_ok());
        assert!(h.expect_no_effect().is_ok());
        h.event("! ftp done ok").unwrap();
        assert_eq!(h.take_text(), "\r\nOK\r\n\r\n+QFTPOPEN: 0,0\r\n");
        assert!(h.event("ftp done maybe").is_err());
    }

    #[test]
    fn a_mismatch_names_its_line() {
        let mut h = Harness::new();
        let lines = parse("> AT\\r\n< AT\\r\\r\\nOK\\r\\n\n> AT\\r\n< nothing\n").unwrap();
        let m = h.run(&lines, true).unwrap_err();
        assert_eq!(m.line, 4);
        assert!(m.message.contains("got \"AT\\r\\r\\nOK\\r\\n\""), "{m}");
        let mut h = Harness::new();
        let m = h.run(&parse("> AT\\r\n").unwrap(), true).unwrap_err();
        assert_eq!(
            (m.line, m.message.starts_with("unexpected output")),
            (1, true)
        );
    }
}
