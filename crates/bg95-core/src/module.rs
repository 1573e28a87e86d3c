//! The module: one sans-IO state machine driven by `handle_*` and drained by `poll_*`.
//!
//! Bytes from the host go through the port: in command mode they are assembled into lines
//! and dispatched; in data mode they belong to the command that owns the port. Everything the
//! module says goes into one output buffer (`poll_output`); everything it needs done outside
//! goes into the effect queue (`poll_effect`); its next deadline is `poll_timeout`.

use std::collections::VecDeque;
use std::time::Duration;

use bg95_at::{parse_body, strip_prefix, FinalResult, Invocation, LineAssembler, LineEvent};

use crate::escape::EscapeDetector;
use crate::ftp::{FtpEvent, FtpRequest};
use crate::personality::Personality;
use crate::settings::Settings;
use crate::time::Instant;
use crate::ufs::UfsStore;

/// Something the runtime must do for the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Perform an FTP operation (one at a time; the answer is a [`Completion::Ftp`]).
    /// Boxed: an `Open` carries every TLS setting, the other effects are small.
    Ftp(Box<FtpRequest>),
    /// Pace module→host bytes at this rate from now on (0 = unpaced).
    SetBaud(u32),
}

impl Effect {
    pub fn ftp(req: FtpRequest) -> Effect {
        Effect::Ftp(Box::new(req))
    }
}

/// Something the runtime reports to the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Ftp(FtpEvent),
}

/// The result of one command of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Done; the chain goes on and ends with `OK`.
    Ok,
    /// Failed; the chain stops with this final result.
    Fail(FinalResult),
    /// The command owns the port and will send its own final result (e.g. `CONNECT`).
    Pending,
}

impl<E: Into<FinalResult>> From<E> for Outcome {
    fn from(e: E) -> Self {
        Outcome::Fail(e.into())
    }
}

/// What happens right after a chain's final `OK` has been sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AfterOk {
    Urc(String),
    Reset,
    PowerDown,
    SetBaud(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Power {
    On,
    Off { until: Instant },
}

/// Who owns the bytes the host sends.
#[derive(Debug)]
pub(crate) enum Port {
    Command,
    /// A command is running and will send its own final result; input is ignored.
    Busy,
    /// Data mode: the bytes belong to the command that owns the port.
    Data(DataMode),
}

/// The data-mode sessions; each area handles its own.
#[derive(Debug)]
pub(crate) enum DataMode {
    /// A COM: download (QFTPGET/LIST/NLST/MLSD): input is only watched for `+++`.
    FtpDownload { escape: EscapeDetector },
    /// A COM: upload (QFTPPUT).
    FtpUpload { escape: EscapeDetector },
    /// QFUPL / QFWRITE: bytes into a UFS file.
    Ufs(crate::ufs::UfsTransfer),
}

/// A bound on queued output while a download streams (the host reads at its own pace).
pub const OUTPUT_HIGH_WATER: usize = 16 * 1024;

pub struct Module {
    pub(crate) p: Personality,
    power: Power,
    pub(crate) cfg: Settings,
    /// The profile AT&W stores and ATZ restores (kept across resets, like NV memory).
    pub(crate) saved: Settings,
    line: LineAssembler,
    last_line: Option<Vec<u8>>,
    pub(crate) port: Port,
    out: Vec<u8>,
    effects: VecDeque<Effect>,
    pub(crate) after_ok: Vec<AfterOk>,
    pub(crate) net: crate::basic::Network,
    pub(crate) pdp: crate::pdp::Pdp,
    pub(crate) baud: u32,
    pub(crate) ftp: crate::ftp::Ftp,
    pub(crate) ufs: crate::ufs::Ufs,
}

impl Module {
    /// A module that powers on at `now`: the boot URCs are the first output.
    pub fn new(p: Personality, store: Box<dyn UfsStore>, now: Instant) -> Self {
        let cfg = Settings::factory(p.max_line);
        let mut m = Module {
            ufs: crate::ufs::Ufs::new(store, p.ufs_capacity),
            power: Power::On,
            saved: cfg.clone(),
            cfg,
            line: LineAssembler::new(),
            last_line: None,
            port: Port::Command,
            out: Vec::new(),
            effects: VecDeque::new(),
            after_ok: Vec::new(),
            net: Default::default(),
            pdp: Default::default(),
            baud: 0,
            ftp: Default::default(),
            p,
        };
        m.boot(now);
        m
    }

    pub fn personality(&self) -> &Personality {
        &self.p
    }

    /// True while the module is powered and takes AT commands.
    pub fn accepts_at(&self) -> bool {
        self.power == Power::On
    }

    /// True while host bytes are AT command lines (powered on, not in data mode and not
    /// waiting for a command's own result): a scenario's AT-command triggers watch only
    /// these.
    pub fn in_command_mode(&self) -> bool {
        self.power == Power::On && matches!(self.port, Port::Command)
    }

    /// The module→host pace in baud (0 = unpaced).
    pub fn baud(&self) -> u32 {
        self.baud
    }

    /// Set the initial pace (the `--baud` option) without an AT command.
    pub fn set_baud(&mut self, baud: u32) {
        self.baud = baud;
    }

    // ---- the sans-IO interface -------------------------------------------------------

    /// Bytes the host sent, received at `now`.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        self.handle_timeout(now);
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.power != Power::On {
                return;
            }
            let used = match &mut self.port {
                Port::Command => self.command_input(now, rest),
                // A command waits for its own result (e.g. CONNECT): input is ignored, but
                // the LF of its CR LF must not be mistaken later for data.
                Port::Busy => {
                    self.line.forget_terminator();
                    rest.len()
                }
                Port::Data(_) => self.data_input(now, rest),
            };
            rest = &rest[used.max(1).min(rest.len())..];
        }
    }

    /// The runtime finished something the module asked for.
    pub fn handle_completion(&mut self, now: Instant, c: Completion) {
        self.handle_timeout(now);
        if self.power != Power::On {
            return;
        }
        match c {
            Completion::Ftp(ev) => self.ftp_event(now, ev),
        }
    }

    /// Time passed; run whatever deadline is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Power::Off { until } = self.power {
            if now >= until {
                self.line.clear();
                self.boot(now);
            }
            return;
        }
        if let Port::Data(mode) = &self.port {
            let escaped = match mode {
                DataMode::FtpDownload { escape } | DataMode::FtpUpload { escape } => {
                    escape.escaped(now)
                }
                DataMode::Ufs(t) => t.escape.escaped(now),
            };
            if escaped {
                self.escape_data_mode(now);
            }
        }
        self.ufs_timeout(now);
        self.ftp_timeout(now);
    }

    /// The next bytes for the host, if any: each call returns everything queued so far,
    /// so a response is never split across writes.
    pub fn poll_output(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| std::mem::take(&mut self.out))
    }

    /// The next thing the runtime must do.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// The next deadline, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if let Power::Off { until } = self.power {
            return Some(until);
        }
        let escape = match &self.port {
            Port::Data(DataMode::FtpDownload { escape } | DataMode::FtpUpload { escape }) => {
                escape.deadline()
            }
            Port::Data(DataMode::Ufs(t)) => t.deadline(),
            _ => None,
        };
        [escape, self.ftp.deadline()].into_iter().flatten().min()
    }

    /// True when the runtime may hand over the next downloaded chunk: a COM: download is
    /// streaming and the host has kept up, or the download goes to UFS.
    pub fn wants_data(&self) -> bool {
        self.out.len() < OUTPUT_HIGH_WATER && self.ftp.wants_data()
    }

    // ---- output helpers for the command areas ----------------------------------------

    pub(crate) fn info<S: AsRef<str>>(&mut self, lines: &[S]) {
        self.cfg.fmt.info(lines, &mut self.out);
    }

    pub(crate) fn urc(&mut self, text: &str) {
        self.cfg.fmt.urc(text, &mut self.out);
    }

    pub(crate) fn final_result(&mut self, r: FinalResult) {
        self.cfg.fmt.final_result(r, &mut self.out);
    }

    /// Raw bytes (data mode).
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    pub(crate) fn effect(&mut self, e: Effect) {
        self.effects.push_back(e);
    }

    /// The `+++` guard time from S12 (20 ms units).
    pub(crate) fn guard_time(&self) -> Duration {
        Duration::from_millis(u64::from(self.cfg.sreg(12)) * 20)
    }

    /// Enter data mode; the `+++` guard starts counting now.
    pub(crate) fn escape_detector(&self, now: Instant) -> EscapeDetector {
        EscapeDetector::new(now, self.guard_time())
    }

    // ---- power -----------------------------------------------------------------------

    fn boot(&mut self, _now: Instant) {
        self.power = Power::On;
        self.cfg = self.saved.clone();
        // The line assembler is not cleared here: a reset (AT+CFUN=1,1) runs right after the
        // S3 that ended its line, and the LF of that CR LF still belongs to the terminator.
        self.port = Port::Command;
        self.net = Default::default();
        self.pdp = Default::default();
        self.ftp.reset();
        self.ufs.reset();
        self.after_ok.clear();
        for urc in self.p.boot_urcs.clone() {
            self.urc(&urc);
        }
    }

    /// AT+CFUN=1,1: reset at once. Session state goes; UFS and the AT&W profile stay.
    pub(crate) fn reset(&mut self, now: Instant) {
        self.drop_sessions();
        self.boot(now);
    }

    /// AT+QPOWD: `POWERED DOWN`, then silence for the off-time, then boot again.
    pub(crate) fn power_down(&mut self, now: Instant) {
        self.urc("POWERED DOWN");
        self.drop_sessions();
        self.power = Power::Off {
            until: now + self.p.power_off_time,
        };
    }

    /// Everything a reset loses that lives outside the core (sockets) is dropped too.
    fn drop_sessions(&mut self) {
        if self.ftp.has_connection() {
            self.effect(Effect::ftp(FtpRequest::Abort));
        }
    }

    // ---- command mode ------------------------------------------------------------------

    /// Feed command-mode bytes; returns how many were used (the rest may be data).
    fn command_input(&mut self, now: Instant, bytes: &[u8]) -> usize {
        let settings = self.cfg.line_settings();
        for (i, &b) in bytes.iter().enumerate() {
            let Some(ev) = self.line.push(b, &settings, &mut self.out) else {
                continue;
            };
            match ev {
                LineEvent::Line(line) => {
                    if let Some(body) = strip_prefix(&line) {
                        let body = body.to_vec();
                        self.last_line = Some(body.clone());
                        self.execute(now, &body);
                    }
                }
                LineEvent::Repeat => {
                    if let Some(body) = self.last_line.clone() {
                        self.execute(now, &body);
                    }
                }
                LineEvent::Overflow => self.final_result(FinalResult::Error),
            }
            if !matches!(self.port, Port::Command) || self.power != Power::On {
                return i + 1;
            }
        }
        bytes.len()
    }

    /// The LF of a CR LF that ended the command line belongs to the terminator even when
    /// the command switched to data mode: drop it here (observed-behaviour.md).
    pub(crate) fn skip_terminator_lf<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        if self.line.after_terminator() {
            self.line.forget_terminator();
            if bytes.first() == Some(&self.cfg.s4()) {
                return &bytes[1..];
            }
        }
        bytes
    }

    fn execute(&mut self, now: Instant, body: &[u8]) {
        let chain = match parse_body(body) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(target: "bg95::core", "syntax error: {e}");
                self.final_result(FinalResult::Error);
                return;
            }
        };
        self.after_ok.clear();
        for inv in &chain {
            match self.dispatch(now, inv) {
                Outcome::Ok => {}
                Outcome::Fail(r) => {
                    self.after_ok.clear();
                    self.final_result(r);
                    return;
                }
                Outcome::Pending => return,
            }
        }
        self.final_result(FinalResult::Ok);
        for a in std::mem::take(&mut self.after_ok) {
            match a {
                AfterOk::Urc(text) => self.urc(&text),
                AfterOk::Reset => self.reset(now),
                AfterOk::PowerDown => self.power_down(now),
                AfterOk::SetBaud(b) => {
                    self.baud = b;
                    self.effect(Effect::SetBaud(b));
                }
            }
        }
    }

    fn dispatch(&mut self, now: Instant, inv: &Invocation) -> Outcome {
        if let Some(o) = self.dispatch_basic(now, inv) {
            return o;
        }
        if let Some(o) = self.dispatch_pdp(now, inv) {
            return o;
        }
        if let Some(o) = self.dispatch_ftp(now, inv) {
            return o;
        }
        if let Some(o) = self.dispatch_ufs(now, inv) {
            return o;
        }
        // Unknown commands are syntax errors: always a bare ERROR.
        Outcome::Fail(FinalResult::Error)
    }

    // ---- data mode -------------------------------------------------------------------

    fn data_input(&mut self, now: Instant, bytes: &[u8]) -> usize {
        let before = bytes.len();
        let bytes = self.skip_terminator_lf(bytes);
        let skipped = before - bytes.len();
        if bytes.is_empty() {
            return skipped;
        }
        let used = match &self.port {
            Port::Data(DataMode::FtpDownload { .. }) => self.ftp_download_input(now, bytes),
            Port::Data(DataMode::FtpUpload { .. }) => self.ftp_upload_input(now, bytes),
            Port::Data(DataMode::Ufs(_)) => self.ufs_data_input(now, bytes),
            _ => 0,
        };
        skipped + used
    }

    /// A guarded `+++` ended data mode.
    fn escape_data_mode(&mut self, now: Instant) {
        match std::mem::replace(&mut self.port, Port::Command) {
            Port::Data(DataMode::FtpDownload { .. }) => self.ftp_download_escaped(now),
            Port::Data(DataMode::FtpUpload { .. }) => self.ftp_upload_escaped(now),
            Port::Data(DataMode::Ufs(t)) => self.ufs_escaped(now, t),
            other => self.port = other,
        }
    }
}
