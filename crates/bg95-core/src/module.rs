//! The module: one sans-IO state machine driven by `handle_*` and drained by `poll_*`.
//!
//! Bytes from the host go through the port: in command mode they are assembled into lines
//! and dispatched; in data mode they belong to the command that owns the port. Everything the
//! module says goes into one output buffer (`poll_output`); everything it needs done outside
//! goes into the effect queue (`poll_effect`); its next deadline is `poll_timeout`.

use std::collections::VecDeque;
use std::time::Duration;

use bg95_at::{parse_body, strip_prefix, FinalResult, Invocation, LineAssembler, LineEvent};

use crate::ftp::{FtpEvent, FtpRequest};
use crate::limits::Limits;
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
    /// Look `host` up with the runtime's resolver (AT+QIDNSGIP); the answer is a
    /// [`Completion::Resolved`] with the same `id`.
    Resolve { id: u32, host: String },
    /// AT+QPING: resolve `host`, then probe it `count` times, each within `timeout`; one
    /// [`Completion::Ping`] per probe (or one `ResolveFailed`), all with the same `id`.
    Ping {
        id: u32,
        host: String,
        timeout: Duration,
        count: u8,
    },
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
    /// Something happened in the network (registration, PDP loss, SIM, network time).
    Network(crate::general::NetworkEvent),
    /// The answer to [`Effect::Resolve`].
    Resolved {
        id: u32,
        result: Result<Vec<core::net::IpAddr>, crate::general::ResolveFailure>,
    },
    /// A step of [`Effect::Ping`].
    Ping {
        id: u32,
        event: crate::general::PingEvent,
    },
    /// Bytes the module sent and received on the network since the last report (AT+QGDCNT);
    /// the runtime reports them before it hands the module host input.
    Traffic {
        sent: u64,
        received: u64,
    },
    /// Something happened to the module's power (a fault from a scenario, a test).
    Power(PowerEvent),
}

/// A power event from outside the AT interface. Either one abandons every session through
/// the same path as AT+CFUN=1,1 (the runtime is told to drop its connections); UFS and the
/// AT&W profile stay, as in flash. A UFS write in progress (QFUPL, QFWRITE, a download to
/// UFS) reaches the store only when it ends, so it leaves the old file or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerEvent {
    /// The module resets (watchdog, RESET_N): like AT+CFUN=1,1 without its `OK`. The line
    /// being typed is lost; the boot URCs follow at once. Ignored while the power is off.
    Reset,
    /// The supply is lost for `off_for`: no `POWERED DOWN`, silence and ignored input, then
    /// the boot URCs. A loss while already off keeps the module off until the later end.
    Loss { off_for: Duration },
}

pub(crate) use crate::area::{AfterOk, DataMode, Outcome, Port};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Power {
    On,
    Off { until: Instant },
}

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
    /// While a command line runs: URCs it raised as a side effect (a request failed by
    /// AT+QIDEACT), sent after the line's final result so they never split a response.
    held_urcs: Option<Vec<String>>,
    pub(crate) basic: crate::basic::Basic,
    pub(crate) pdp: crate::pdp::Pdp,
    pub(crate) baud: u32,
    pub(crate) ftp: crate::ftp::Ftp,
    pub(crate) ufs: crate::ufs::Ufs,
    pub(crate) general: crate::general::General,
    pub(crate) limits: Limits,
    pub(crate) quirks: quirk::Quirks,
    /// The masked copy of the session for a transcript (off unless asked for).
    tap: crate::redact::Tap,
}

/// The narrow context of one area call, built from the module's own fields (a macro, so
/// the borrow of those fields stays disjoint from the borrow of the area itself).
macro_rules! ctx {
    ($m:ident, $now:expr) => {
        crate::area::Ctx {
            now: $now,
            fmt: $m.cfg.fmt,
            out: &mut $m.out,
            effects: &mut $m.effects,
            port: &mut $m.port,
            after_ok: &mut $m.after_ok,
            held_urcs: &mut $m.held_urcs,
            guard: std::time::Duration::from_millis(u64::from($m.cfg.sreg(12)) * 20),
        }
    };
}

/// What the FTP area reads and writes in the others (a macro for the same reason).
macro_rules! ftp_env {
    ($m:ident, $now:expr) => {
        crate::ftp::FtpEnv {
            utc_unix: $m.utc_unix($now),
            ufs: &mut $m.ufs,
            pdp: &$m.pdp,
            upload_chunk: $m.limits.upload_chunk,
        }
    };
}

mod dispatch;
mod events;
mod quirk;
mod status;

pub use quirk::AnswerOverride;
pub use status::{FtpStatus, PdpStatus, Status};
mod registration;

impl Module {
    /// A module that powers on at `now`: the boot URCs are the first output.
    pub fn new(p: Personality, store: Box<dyn UfsStore>, now: Instant) -> Self {
        let cfg = Settings::factory_for(&p);
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
            held_urcs: None,
            basic: Default::default(),
            pdp: Default::default(),
            baud: 0,
            ftp: Default::default(),
            general: crate::general::General::new(now),
            limits: Limits::default(),
            quirks: Default::default(),
            tap: Default::default(),
            p,
        };
        m.general.attach.sim_present = m.p.sim_inserted;
        m.ufs.timeout_reports_size = m.p.qfupl_timeout_reports_size;
        m.boot(now);
        m.run_start_commands(now);
        m
    }

    /// [`Personality::start_commands`]: each line runs as the host had run it before the
    /// module was first observed; what it answered is not part of what the host reads.
    fn run_start_commands(&mut self, now: Instant) {
        let boot_output = self.out.len();
        for line in self.p.start_commands.clone() {
            if let Some(body) = strip_prefix(line.as_bytes()) {
                self.execute(now, body);
            }
            if !self.out[boot_output..].ends_with(b"OK\r\n") {
                tracing::warn!(target: "bg95::core", "start command {line:?} did not answer OK");
            }
            self.out.truncate(boot_output);
        }
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

    /// The backpressure limits; the runtime reads them when it starts.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Change the backpressure limits (before the runtime starts).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Keep a copy of the session for a transcript, secrets masked from what the module
    /// parsed ([`crate::redact`]); read it with [`Module::poll_transcript`]. Switch it on
    /// before the first output is polled (the boot URCs are part of the copy).
    pub fn record_transcript(&mut self, on: bool) {
        self.tap.on = on;
        self.tap.out_copied = 0;
    }

    /// `--transcript-keys`: copy the data of an upload that holds a PEM private key in
    /// clear (local debugging); by default it is only its size and digest
    /// ([`crate::redact::TapPiece::RedactedUpload`]).
    pub fn record_transcript_keys(&mut self, in_clear: bool) {
        self.tap.keys_in_clear = in_clear;
    }

    /// The next piece of the masked session copy, in the order things happened. The bytes
    /// of a command line being typed (and their echo) come once the line ends. Poll after
    /// every `handle_*` and after every `poll_output`.
    pub fn poll_transcript(&mut self) -> Option<crate::redact::TapPiece> {
        self.tap_output();
        self.tap.poll()
    }

    /// Copy the output the tap has not seen yet.
    fn tap_output(&mut self) {
        if self.tap.uploading() && !matches!(self.port, Port::Data(DataMode::Ufs)) {
            self.tap.upload_end();
        }
        if self.tap.on {
            let new = self.out.get(self.tap.out_copied..).unwrap_or_default();
            self.tap.module(new);
            self.tap.out_copied = self.out.len();
        }
    }

    /// Whether the QFUPL in data mode writes a file that an SSL context names as its
    /// `clientkey` (AT+QSSLCFG): its data is a key whatever its form.
    fn upload_is_client_key(&self) -> bool {
        let Some(crate::ufs::Target::Upload { name }) =
            self.ufs.transfer.as_ref().map(|t| &t.target)
        else {
            return false;
        };
        let Some(name) = crate::ufs::normalize_name(name) else {
            return false;
        };
        self.ftp.ssl.iter().any(|c| {
            crate::ufs::normalize_name(&c.clientkey).is_some_and(|k| !k.is_empty() && k == name)
        })
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
                self.tap.host(rest);
                return;
            }
            let command = matches!(self.port, Port::Command);
            let ufs_upload = matches!(self.port, Port::Data(DataMode::Ufs));
            if !command {
                self.tap_output();
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
            let used = used.max(1).min(rest.len());
            if ufs_upload {
                // The redaction of a private key follows the module's own data mode.
                if !self.tap.uploading() {
                    let named = self.upload_is_client_key();
                    self.tap.upload_start(named);
                }
                self.tap.upload_data(&rest[..used]);
                if !matches!(self.port, Port::Data(DataMode::Ufs)) {
                    self.tap.upload_end();
                }
            } else if !command {
                self.tap.host(&rest[..used]);
            }
            rest = &rest[used..];
        }
    }

    /// The runtime finished something the module asked for.
    pub fn handle_completion(&mut self, now: Instant, c: Completion) {
        self.handle_timeout(now);
        match c {
            Completion::Power(ev) => self.power_event(now, ev),
            Completion::Ftp(ev) if self.power == Power::On || ev == FtpEvent::DriverLost => {
                let mut env = ftp_env!(self, now);
                self.ftp.ftp_event(&mut ctx!(self, now), &mut env, ev)
            }
            // Off: every session was abandoned when the power went, so whatever comes is
            // stale; the `Aborted` markers are still counted off.
            Completion::Ftp(ev) => {
                self.ftp.stale(&ev);
            }
            // Off, the module hears nothing of the network, and answers to lookups it asked
            // for before the power went are stale.
            _ if self.power != Power::On => {}
            Completion::Network(ev) => self.network_event(now, ev),
            Completion::Resolved { id, result } => {
                let (dns, pdp) = (&mut self.general.dns, &self.pdp);
                dns.resolved(&mut ctx!(self, now), pdp, id, result)
            }
            Completion::Ping { id, event } => {
                self.general.dns.ping_event(&mut ctx!(self, now), id, event)
            }
            Completion::Traffic { sent, received } => self.general.dns.traffic(sent, received),
        }
    }

    /// Time passed; run whatever deadline is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Power::Off { until } = self.power {
            if now >= until {
                self.line.clear();
                self.tap.release(&[]);
                self.boot(now);
            }
            return;
        }
        self.ufs.timeout(&mut ctx!(self, now));
        self.ftp.ftp_timeout(&mut ctx!(self, now));
        self.general_timeout(now);
        self.quirk_timeout(now);
    }

    /// The next bytes for the host, if any: each call returns everything queued so far,
    /// so a response is never split across writes.
    pub fn poll_output(&mut self) -> Option<Vec<u8>> {
        self.tap_output();
        self.tap.out_copied = 0;
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
        [
            self.ufs.deadline(),
            self.ftp.deadline(),
            self.general.deadline(),
            self.quirks.deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// True when the runtime may hand over the next downloaded chunk: the download is not
    /// paused by `+++`, and the output not yet written to the host — what `poll_output` has
    /// not handed out plus `unwritten`, what the runtime has not written yet — is below
    /// [`Limits::output_high_water`].
    pub fn wants_data(&self, unwritten: usize) -> bool {
        self.output_has_room(unwritten) && self.ftp.wants_data()
    }

    /// True while the output not yet written to the host (what `poll_output` has not handed
    /// out plus `unwritten`) is below [`Limits::output_high_water`]. A runtime reads host
    /// input only while it is: a real UART cannot queue without bound, so a host that does
    /// not read is held by flow control (its writes block) instead of growing memory.
    pub fn output_has_room(&self, unwritten: usize) -> bool {
        self.out.len().saturating_add(unwritten) < self.limits.output_high_water
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

    pub(crate) fn effect(&mut self, e: Effect) {
        self.effects.push_back(e);
    }

    // ---- power -----------------------------------------------------------------------

    fn boot(&mut self, _now: Instant) {
        self.power = Power::On;
        self.cfg = self.saved.clone();
        // The line assembler is not cleared here: a reset (AT+CFUN=1,1) runs right after the
        // S3 that ended its line, and the LF of that CR LF still belongs to the terminator.
        self.port = Port::Command;
        self.basic = Default::default();
        self.pdp = Default::default();
        self.pdp.network_addresses = self.p.pdp_addresses.clone();
        self.ftp.reset();
        self.ufs.reset();
        self.general.boot();
        // The attach brings up the default bearer only when the module registers (not
        // without a SIM, nor out of coverage).
        self.pdp.default_bearer = self.registered();
        self.quirks.boot();
        self.after_ok.clear();
        // A reset loses what a command line had queued.
        if let Some(held) = &mut self.held_urcs {
            held.clear();
        }
        for urc in self.p.boot_urcs.clone() {
            match urc.as_str() {
                // Without a SIM the module reports it not ready and has no USIM or SMS
                // storage to announce (docs/scenarios.md: SIM not inserted at boot).
                "+CPIN: READY" if !self.general.attach.sim_present => self.urc("+CPIN: NOT READY"),
                "+QUSIM: 1" | "+QIND: SMS DONE" if !self.general.attach.sim_present => {}
                _ => self.urc(&urc),
            }
        }
    }

    /// AT+CFUN=1,1: reset at once. Session state goes; UFS and the AT&W profile stay.
    pub(crate) fn reset(&mut self, now: Instant) {
        self.drop_sessions(now);
        self.boot(now);
    }

    /// AT+QPOWD: `POWERED DOWN`, then silence for the off-time, then boot again.
    pub(crate) fn power_down(&mut self, now: Instant) {
        self.urc("POWERED DOWN");
        self.power_off(now, self.p.power_off_time);
    }

    /// Off for `off_for` from `now`; the sessions go at once.
    fn power_off(&mut self, now: Instant, off_for: Duration) {
        self.drop_sessions(now);
        self.power = Power::Off {
            until: now + off_for,
        };
    }

    /// A [`PowerEvent`] from outside the AT interface.
    fn power_event(&mut self, now: Instant, ev: PowerEvent) {
        tracing::info!(target: "bg95::core", "power event {ev:?}");
        match (ev, self.power) {
            (PowerEvent::Reset, Power::On) => {
                self.line.clear();
                self.tap.release(&[]);
                self.reset(now);
            }
            (PowerEvent::Reset, Power::Off { .. }) => {}
            (PowerEvent::Loss { off_for }, Power::On) => self.power_off(now, off_for),
            (PowerEvent::Loss { off_for }, Power::Off { until }) => {
                self.power = Power::Off {
                    until: until.max(now + off_for),
                };
            }
        }
    }

    /// Everything a reset loses that lives outside the core (sockets) goes through the
    /// FTP area's one abort path, so late events of an abandoned request stay ignored.
    fn drop_sessions(&mut self, now: Instant) {
        self.ftp
            .ftp_abandon(&mut ctx!(self, now), crate::ftp::Abandon::Power);
    }

    // ---- command mode ------------------------------------------------------------------

    /// Feed command-mode bytes; returns how many were used (the rest may be data).
    fn command_input(&mut self, now: Instant, bytes: &[u8]) -> usize {
        let settings = self.cfg.line_settings();
        for (i, &b) in bytes.iter().enumerate() {
            let Some(ev) = self.push_typed(b, &settings) else {
                continue;
            };
            match ev {
                LineEvent::Line(line) => {
                    if let Some(body) = strip_prefix(&line) {
                        let offset = line.len() - body.len();
                        let body = body.to_vec();
                        if self.tap.on {
                            let secrets = crate::redact::secret_spans(&body);
                            let secrets: Vec<_> = secrets
                                .into_iter()
                                .map(|s| s.start + offset..s.end + offset)
                                .collect();
                            self.tap.release(&secrets);
                        }
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

    /// One command-mode byte into the line assembler, copied to the tap with the line index
    /// it landed at (what masking needs, see [`crate::redact`]).
    fn push_typed(&mut self, b: u8, settings: &bg95_at::LineSettings) -> Option<LineEvent> {
        if !self.tap.on {
            return self.line.push(b, settings, &mut self.out);
        }
        self.tap_output();
        let (at, out_before) = (self.line.len(), self.out.len());
        let ev = self.line.push(b, settings, &mut self.out);
        let echoed = self.out.len() > out_before;
        if echoed {
            self.tap.out_copied = self.out.len();
        }
        // Edits and terminators are never secret; neither is what typing noise discarded.
        let index = (b != settings.s5 && b != settings.s3 && ev.is_none()).then_some(at);
        self.tap.typed(b, index, echoed);
        match ev {
            // Noise past the line limit was discarded: what is held can hold no secret.
            None if b != settings.s5 && self.line.len() <= at => self.tap.release(&[]),
            // Lines without a prefix, `A/` and overflows hold no parsed secret.
            Some(LineEvent::Line(ref l)) if strip_prefix(l).is_none() => self.tap.release(&[]),
            Some(LineEvent::Repeat | LineEvent::Overflow) => self.tap.release(&[]),
            _ => {}
        }
        ev
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
        self.held_urcs = Some(Vec::new());
        self.execute_chain(now, body);
        for urc in self.held_urcs.take().unwrap_or_default() {
            self.urc(&urc);
        }
    }

    fn execute_chain(&mut self, now: Instant, body: &[u8]) {
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

    /// Route one command of a chain to the area whose table knows its name.
    fn dispatch(&mut self, now: Instant, inv: &Invocation) -> Outcome {
        if let Some(o) = self.dispatch_override(now, inv) {
            return o;
        }
        if let Some(o) = self.dispatch_basic(now, inv) {
            return o;
        }
        if let Some(o) = self.dispatch_pdp(now, inv) {
            return o;
        }
        let mut env = ftp_env!(self, now);
        if let Some(o) = self.ftp.dispatch(&mut ctx!(self, now), &mut env, inv) {
            return o;
        }
        if let Some(o) = self.ufs.dispatch(&mut ctx!(self, now), inv) {
            return o;
        }
        if let Some(o) = self.dispatch_general(now, inv) {
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
            Port::Data(DataMode::Ftp) => {
                let (used, typed) = self.ftp.ftp_data_input(&mut ctx!(self, now), bytes);
                if !typed.is_empty() {
                    // Already in the transcript copy as part of the data read.
                    self.tap.muted += 1;
                    self.handle_input(now, &typed);
                    self.tap.muted -= 1;
                }
                used
            }
            Port::Data(DataMode::Ufs) => self.ufs.data_input(&mut ctx!(self, now), bytes),
            _ => 0,
        };
        skipped + used
    }
}
