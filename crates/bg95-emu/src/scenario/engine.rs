//! The fault engine: counts the events the runtime and the network seam report, decides
//! which declared faults fire (nth, times, seeded probability, time), and hands each fired
//! action to its point of entry. It implements [`FaultSeam`] for the driver-level actions;
//! module-level actions and the record of every fired fault go out on a channel
//! ([`EngineOutput`]) the runtime drains.
//!
//! The engine reads no clock of its own in its logic: every entry point takes the time
//! since boot, so the trigger logic is tested without waiting. The [`FaultSeam`] impl (called
//! from the driver's task) reads tokio time, which tests can pause.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;

#[cfg(test)]
use super::fault::Trigger;
use super::fault::{Action, FaultSpec, FiredFault, ModuleFault, Times, TriggerEvent};
use crate::net::{Conn, ConnectFault, DataFault, Direction, FaultSeam, ReplyFault, ResolveError};
use crate::runtime::Clock;

/// What the engine tells the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineOutput {
    /// A fault fired (log it, write `! fault …` to the transcript).
    Fired(FiredFault),
    /// The module must meet this (the core's entry point for it).
    Module(ModuleFault),
}

/// An event the engine counts.
#[derive(Debug, Clone, Copy)]
enum Event<'a> {
    At { name: &'a str, params: &'a str },
    Ftp { verb: &'a str },
    Resolve { host: &'a str },
    Connect { conn: Conn },
}

/// A small seeded generator (SplitMix64): the same seed gives the same draws on every
/// machine and with every dependency version, which is what makes a flaky-network scenario
/// reproducible.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug)]
struct FaultState {
    spec: FaultSpec,
    /// Matching events seen.
    seen: u64,
    fired: u64,
    rng: SeededRng,
    /// The next time a `Time`/`AfterFault` trigger is due.
    due: VecDeque<Duration>,
    /// Transfers (global number) whose bytes this `Transfer` trigger watches.
    watching: Vec<u64>,
}

impl FaultState {
    fn may_fire(&self) -> bool {
        match self.spec.times {
            Times::Always => true,
            Times::Count(n) => self.fired < n,
        }
    }
}

/// An armed seam action waiting for the next query at its point.
#[derive(Debug, Clone)]
struct Armed {
    fault: usize,
    after_bytes: u64,
    /// A reply armed by a `transfer` trigger belongs to that transfer's final reply, and
    /// to nothing else (never to a later command).
    transfer: Option<u64>,
}

#[derive(Debug)]
struct EngineState {
    seed: u64,
    faults: Vec<Option<FaultState>>,
    armed: Vec<Armed>,
    fired: Vec<FiredFault>,
    out: Vec<EngineOutput>,
    /// The transfer whose data connection is opening (its triggers fire now).
    opening: Option<u64>,
    /// The transfer whose data is moving (opened, final reply not yet read): a reply
    /// fired by a time or chained trigger meanwhile belongs to its final reply.
    running: Option<u64>,
}

/// The fault engine of one emulator. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct FaultEngine {
    state: Arc<Mutex<EngineState>>,
    ufs_full: Arc<AtomicBool>,
    tx: mpsc::UnboundedSender<EngineOutput>,
    /// The module's clock (boot time and time scale), for the [`FaultSeam`] entry points:
    /// triggers count module time, delays handed to the driver are real time.
    clock: Clock,
    timers_changed: Arc<tokio::sync::Notify>,
    /// Wakes the FTP driver when a `control_close` is armed, so an idle session closes
    /// at once rather than at the next command.
    idle: Arc<tokio::sync::Notify>,
}

impl FaultEngine {
    /// An engine for `faults`, drawing probabilities from `seed`. Returns the receiver of
    /// what it tells the runtime.
    pub fn new(
        faults: Vec<FaultSpec>,
        seed: u64,
    ) -> (FaultEngine, mpsc::UnboundedReceiver<EngineOutput>) {
        FaultEngine::booted_at(faults, seed, Clock::new())
    }

    /// As [`FaultEngine::new`], for a module whose clock is `clock` (the runtime's), so
    /// fault times match the transcript's and run at its time scale.
    pub fn booted_at(
        faults: Vec<FaultSpec>,
        seed: u64,
        clock: Clock,
    ) -> (FaultEngine, mpsc::UnboundedReceiver<EngineOutput>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let engine = FaultEngine {
            state: Arc::new(Mutex::new(EngineState {
                seed,
                faults: Vec::new(),
                armed: Vec::new(),
                fired: Vec::new(),
                out: Vec::new(),
                opening: None,
                running: None,
            })),
            idle: Arc::new(tokio::sync::Notify::new()),
            ufs_full: Arc::new(AtomicBool::new(false)),
            tx,
            clock,
            timers_changed: Arc::new(tokio::sync::Notify::new()),
        };
        for f in faults {
            engine.add_fault_at(f, Duration::ZERO);
        }
        (engine, rx)
    }

    fn lock(&self) -> MutexGuard<'_, EngineState> {
        // A panic while holding the lock cannot leave counters half-updated in a way that
        // matters more than losing the faults; keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Module time since boot.
    pub fn now(&self) -> Duration {
        Duration::from_micros(self.clock.now().as_micros())
    }

    /// The real time `module` lasts at the module's time scale.
    fn real(&self, module: Duration) -> Duration {
        self.clock.scale().to_real(module)
    }

    /// The flag a [`super::FullStore`] reads.
    pub fn ufs_full_flag(&self) -> Arc<AtomicBool> {
        self.ufs_full.clone()
    }

    /// Add a fault while the emulator runs (its time triggers count from now).
    pub fn add_fault(&self, spec: FaultSpec) {
        self.add_fault_at(spec, self.now());
    }

    /// Add a fault whose time triggers count from `now`.
    fn add_fault_at(&self, spec: FaultSpec, now: Duration) {
        let mut s = self.lock();
        let index = s.faults.len() as u64;
        let mut due = VecDeque::new();
        if let TriggerEvent::Time { after } = spec.trigger.event {
            due.push_back(now + after);
        }
        let rng = SeededRng::new(s.seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407));
        s.faults.push(Some(FaultState {
            spec,
            seen: 0,
            fired: 0,
            rng,
            due,
            watching: Vec::new(),
        }));
        drop(s);
        self.timers_changed.notify_one();
    }

    /// Remove a fault by name (armed actions of it are dropped). True if it existed.
    pub fn remove_fault(&self, name: &str) -> bool {
        let mut s = self.lock();
        let Some(i) = s
            .faults
            .iter()
            .position(|f| f.as_ref().is_some_and(|f| f.spec.name == name))
        else {
            return false;
        };
        s.faults[i] = None;
        s.armed.retain(|a| a.fault != i);
        true
    }

    /// Every fault fired so far, in order.
    pub fn fired(&self) -> Vec<FiredFault> {
        self.lock().fired.clone()
    }

    /// Every fault the engine holds (declared or added, not removed), with how many times
    /// it fired.
    pub fn list(&self) -> Vec<(FaultSpec, u64)> {
        self.lock()
            .faults
            .iter()
            .flatten()
            .map(|f| (f.spec.clone(), f.fired))
            .collect()
    }

    /// Names of the non-optional faults that have not fired.
    pub fn not_fired(&self) -> Vec<String> {
        self.lock()
            .faults
            .iter()
            .flatten()
            .filter(|f| !f.spec.optional && f.fired == 0)
            .map(|f| f.spec.name.clone())
            .collect()
    }

    // ---- entry points with explicit time (the logic) --------------------------------

    /// An AT command the host sent (`name` as the AT parser names it, upper case).
    pub fn at_command(&self, now: Duration, name: &str, params: &str) {
        let mut s = self.lock();
        s.event(now, Event::At { name, params });
        self.flush(s);
    }

    /// The next deadline of a time trigger, if any.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.lock()
            .faults
            .iter()
            .flatten()
            .filter(|f| f.may_fire())
            .filter_map(|f| f.due.front().copied())
            .min()
    }

    /// Fire every time trigger due at `now`.
    pub fn handle_timeout(&self, now: Duration) {
        let mut s = self.lock();
        s.timers(now);
        self.flush(s);
    }

    /// Wait until time triggers are due and fire them, forever (spawn it).
    pub async fn run_timers(self) {
        loop {
            let changed = self.timers_changed.notified();
            match self.next_deadline() {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(self.clock.to_tokio(module_instant(at))) => self.handle_timeout(self.now()),
                        _ = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }

    pub(crate) fn resolve_at(&self, now: Duration, host: &str) -> Option<(ResolveError, Duration)> {
        let mut s = self.lock();
        s.event(now, Event::Resolve { host });
        let found = s.take_armed(|a| match a {
            Action::Dns {
                host: h,
                error,
                delay,
            } => (h.as_deref().is_none_or(|h| h.eq_ignore_ascii_case(host)))
                .then_some((*error, *delay)),
            _ => None,
        });
        self.flush(s);
        found
    }

    pub(crate) fn connect_at(&self, now: Duration, conn: Conn) -> Option<ConnectFault> {
        let mut s = self.lock();
        s.event(now, Event::Connect { conn });
        let found = s.take_armed(|a| match a {
            Action::Connect { conn: c, fault } if *c == conn => Some(fault.clone()),
            _ => None,
        });
        self.flush(s);
        found
    }

    pub(crate) fn command_at(&self, now: Duration, verb: &str) -> Option<ReplyFault> {
        let mut s = self.lock();
        s.event(now, Event::Ftp { verb });
        let found = s.take_armed(|a| match a {
            Action::Reply(r) => Some(r.clone()),
            _ => None,
        });
        self.flush(s);
        found
    }

    pub(crate) fn data_at(&self, now: Duration, transfer: u64, dir: Direction) -> Vec<DataFault> {
        let mut s = self.lock();
        // A reply bound to an earlier transfer whose final reply was never read (aborted)
        // is dropped: it belongs to nothing else.
        s.armed.retain(|a| a.transfer.is_none());
        s.running = Some(transfer);
        s.opening = Some(transfer);
        s.transfer_open(now, transfer, dir);
        s.opening = None;
        let mut faults = Vec::new();
        let mut i = 0;
        while i < s.armed.len() {
            let a = s.armed[i].clone();
            let action = s.faults[a.fault].as_ref().map(|f| f.spec.action.clone());
            match action {
                Some(Action::Data(d)) if a.transfer.is_none() => faults.push(d.at(a.after_bytes)),
                Some(Action::Reply(reply)) if a.transfer == Some(transfer) => {
                    faults.push(DataFault::FinalReply {
                        after: a.after_bytes,
                        reply,
                    })
                }
                _ => {
                    i += 1;
                    continue;
                }
            }
            s.armed.remove(i);
        }
        self.flush(s);
        faults
    }

    pub(crate) fn progress_at(&self, now: Duration, transfer: u64, total: u64) {
        let mut s = self.lock();
        s.transfer_progress(now, transfer, total);
        self.flush(s);
    }

    /// Transfer `transfer` reads its final reply: a reply bound to it replaces it.
    pub(crate) fn final_reply_at(&self, transfer: u64) -> Option<ReplyFault> {
        let mut s = self.lock();
        s.running = None;
        let pos = s.armed.iter().position(|a| a.transfer == Some(transfer))?;
        let a = s.armed.remove(pos);
        match s.faults[a.fault].as_ref().map(|f| &f.spec.action) {
            Some(Action::Reply(r)) => Some(r.clone()),
            _ => None,
        }
    }

    /// While a session is idle: take an armed `control_close`.
    pub(crate) fn idle_close(&self) -> bool {
        let mut s = self.lock();
        let found = s.take_armed(|a| matches!(a, Action::Reply(ReplyFault::Close)).then_some(()));
        found.is_some()
    }

    /// Send what the state queued; set the UFS flag.
    fn flush(&self, mut s: MutexGuard<'_, EngineState>) {
        let out = std::mem::take(&mut s.out);
        let timers = !out.is_empty();
        let close_armed = s.armed.iter().any(|a| {
            a.transfer.is_none()
                && s.faults[a.fault]
                    .as_ref()
                    .is_some_and(|f| f.spec.action == Action::Reply(ReplyFault::Close))
        });
        drop(s);
        if close_armed {
            self.idle.notify_one();
        }
        for o in out {
            if let EngineOutput::Fired(f) = &o {
                tracing::info!(target: "bg95::fault", at_ms = f.at.as_millis() as u64,
                    "fault {:?} fired on {} -> {}", f.name, f.trigger, f.action);
                if f.action == Action::UfsFull.describe() {
                    self.ufs_full.store(true, Ordering::Release);
                }
            }
            let _ = self.tx.send(o);
        }
        if timers {
            self.timers_changed.notify_one();
        }
    }
}

impl EngineState {
    /// Count `ev` for every trigger it matches, and fire those that are due.
    fn event(&mut self, now: Duration, ev: Event<'_>) {
        for i in 0..self.faults.len() {
            let Some(f) = self.faults[i].as_ref() else {
                continue;
            };
            if matches(&f.spec.trigger.event, &ev) {
                self.occurrence(now, i, 0);
            }
        }
    }

    /// One matching event for fault `i`: fire it if it is the nth or later, allowed by
    /// `times`, and the draw says so.
    fn occurrence(&mut self, now: Duration, i: usize, after_bytes: u64) {
        let Some(f) = self.faults[i].as_mut() else {
            return;
        };
        f.seen += 1;
        if f.seen < f.spec.trigger.nth || !f.may_fire() {
            return;
        }
        if let Some(p) = f.spec.probability {
            if f.rng.next_f64() >= p {
                return;
            }
        }
        self.fire(now, i, after_bytes);
    }

    fn fire(&mut self, now: Duration, i: usize, after_bytes: u64) {
        let Some(f) = self.faults[i].as_mut() else {
            return;
        };
        f.fired += 1;
        let fired = FiredFault {
            at: now,
            name: f.spec.name.clone(),
            trigger: f.spec.trigger.event.describe(f.spec.trigger.nth),
            action: f.spec.action.describe(),
        };
        let name = f.spec.name.clone();
        let action = f.spec.action.clone();
        let trigger_event = f.spec.trigger.event.clone();
        self.fired.push(fired.clone());
        self.out.push(EngineOutput::Fired(fired));
        match action {
            Action::Module(m) => self.out.push(EngineOutput::Module(m)),
            Action::UfsFull => {}
            _ => self.armed.push(Armed {
                fault: i,
                after_bytes,
                transfer: self.bind_reply(&action, &trigger_event),
            }),
        }
        // Triggers that count from this fault.
        for f in self.faults.iter_mut().flatten() {
            if let TriggerEvent::AfterFault { fault, after } = &f.spec.trigger.event {
                if *fault == name {
                    f.due.push_back(now + *after);
                }
            }
        }
    }

    /// The transfer a reply action belongs to: the one opening (a `transfer` trigger), or
    /// the one running when a time or chained trigger fires; never for a trigger at a
    /// command (that command takes it).
    fn bind_reply(&self, action: &Action, trigger: &TriggerEvent) -> Option<u64> {
        if !matches!(action, Action::Reply(_)) {
            return None;
        }
        match trigger {
            TriggerEvent::Transfer { .. } => self.opening,
            TriggerEvent::Time { .. } | TriggerEvent::AfterFault { .. } => self.running,
            _ => None,
        }
    }

    /// Fire every time trigger due at `now` (in due order).
    fn timers(&mut self, now: Duration) {
        loop {
            let next = self
                .faults
                .iter()
                .enumerate()
                .filter_map(|(i, f)| Some((i, f.as_ref()?)))
                .filter(|(_, f)| f.may_fire())
                .filter_map(|(i, f)| f.due.front().map(|d| (*d, i)))
                .filter(|(d, _)| *d <= now)
                .min();
            let Some((due, i)) = next else { break };
            let Some(f) = self.faults[i].as_mut() else {
                break;
            };
            f.due.pop_front();
            if let TriggerEvent::Time { after } = f.spec.trigger.event {
                if after > Duration::ZERO {
                    f.due.push_back(due + after);
                }
            }
            self.occurrence(due, i, 0);
        }
    }

    /// Transfer `transfer` opens its data connection in `dir`: each `Transfer` trigger of
    /// that direction counts it (its own nth).
    fn transfer_open(&mut self, now: Duration, transfer: u64, dir: Direction) {
        for i in 0..self.faults.len() {
            let Some(f) = self.faults[i].as_mut() else {
                continue;
            };
            let TriggerEvent::Transfer {
                direction,
                after_bytes,
            } = f.spec.trigger.event
            else {
                continue;
            };
            if direction.is_some_and(|d| d != dir) {
                continue;
            }
            match f.spec.action {
                // A data action is armed as the connection opens, with its byte offset; so
                // is a reply, for this transfer's final reply.
                Action::Data(_) | Action::Reply(_) => self.occurrence(now, i, after_bytes),
                // Any other action waits for the bytes.
                _ if after_bytes > 0 => {
                    f.seen += 1;
                    if f.seen >= f.spec.trigger.nth && f.may_fire() {
                        f.watching.push(transfer);
                    }
                }
                _ => self.occurrence(now, i, 0),
            }
        }
    }

    fn transfer_progress(&mut self, now: Duration, transfer: u64, total: u64) {
        for i in 0..self.faults.len() {
            let Some(f) = self.faults[i].as_mut() else {
                continue;
            };
            let TriggerEvent::Transfer { after_bytes, .. } = f.spec.trigger.event else {
                continue;
            };
            if total < after_bytes || !f.watching.contains(&transfer) {
                continue;
            }
            f.watching.retain(|t| *t != transfer);
            if !f.may_fire() {
                continue;
            }
            if let Some(p) = f.spec.probability {
                if f.rng.next_f64() >= p {
                    continue;
                }
            }
            self.fire(now, i, after_bytes);
        }
    }

    /// Take the first armed action `pick` accepts.
    /// Replies bound to a transfer are not taken here (see `data_at`).
    fn take_armed<T>(&mut self, pick: impl Fn(&Action) -> Option<T>) -> Option<T> {
        let pos = self.armed.iter().position(|a| {
            a.transfer.is_none()
                && self.faults[a.fault]
                    .as_ref()
                    .is_some_and(|f| pick(&f.spec.action).is_some())
        })?;
        let a = self.armed.remove(pos);
        pick(&self.faults[a.fault].as_ref()?.spec.action)
    }
}

/// Does trigger `t` count event `ev`?
fn matches(t: &TriggerEvent, ev: &Event<'_>) -> bool {
    match (t, ev) {
        (TriggerEvent::AtCommand { name, params }, Event::At { name: n, params: p }) => {
            same_command(name, n) && params.as_ref().is_none_or(|r| r.is_match(p))
        }
        (TriggerEvent::FtpCommand { verb }, Event::Ftp { verb: v }) => {
            verb.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(v))
        }
        (TriggerEvent::Resolve { host }, Event::Resolve { host: h }) => {
            host.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(h))
        }
        (TriggerEvent::Connect { conn }, Event::Connect { conn: c }) => {
            conn.is_none_or(|w| w == *c)
        }
        // Transfers are counted by transfer_open (per fault, with their byte offsets).
        _ => false,
    }
}

/// `QFTPOPEN`, `+QFTPOPEN` and `AT+QFTPOPEN` all name the parser's `+QFTPOPEN`.
pub fn same_command(declared: &str, parsed: &str) -> bool {
    let d = declared.trim();
    let d = d
        .strip_prefix("AT")
        .or_else(|| d.strip_prefix("at"))
        .unwrap_or(d);
    d.eq_ignore_ascii_case(parsed)
        || (parsed.starts_with('+') && d.eq_ignore_ascii_case(&parsed[1..]))
}

/// `at` since boot as the core's instant.
fn module_instant(at: Duration) -> bg95_core::Instant {
    bg95_core::Instant::from_micros(u64::try_from(at.as_micros()).unwrap_or(u64::MAX))
}

/// The seam is where module time meets the driver's real time: the delays of the faults
/// it hands out are scaled here, once (a scenario's `delay = "95s"` at time scale 100 is
/// a 950 ms sleep in the driver).
impl FaultSeam for FaultEngine {
    fn on_resolve(&self, host: &str) -> Option<ResolveError> {
        self.on_resolve_fault(host).map(|(e, _)| e)
    }
    fn on_resolve_fault(&self, host: &str) -> Option<(ResolveError, Duration)> {
        self.resolve_at(self.now(), host)
            .map(|(e, delay)| (e, self.real(delay)))
    }
    fn on_connect(&self, conn: Conn, _addr: SocketAddr) -> Option<ConnectFault> {
        let fault = self.connect_at(self.now(), conn)?;
        Some(match fault {
            ConnectFault::TimedOut { after } => ConnectFault::TimedOut {
                after: self.real(after),
            },
            ConnectFault::Delay(d) => ConnectFault::Delay(self.real(d)),
            other => other,
        })
    }
    fn on_command(&self, verb: &str) -> Option<ReplyFault> {
        match self.command_at(self.now(), verb)? {
            ReplyFault::Delay(d) => Some(ReplyFault::Delay(self.real(d))),
            other => Some(other),
        }
    }
    fn on_data(&self, transfer: u64, dir: Direction) -> Vec<DataFault> {
        let scale = self.clock.scale();
        let faults = self.data_at(self.now(), transfer, dir);
        faults
            .into_iter()
            .map(|f| match f {
                DataFault::Bandwidth { bytes_per_sec } => DataFault::Bandwidth {
                    bytes_per_sec: (bytes_per_sec as f64 * scale.factor()).max(1.0) as u64,
                },
                DataFault::Latency { delay, jitter } => DataFault::Latency {
                    delay: self.real(delay),
                    jitter: self.real(jitter),
                },
                DataFault::SlowClose(d) => DataFault::SlowClose(self.real(d)),
                other => other,
            })
            .collect()
    }
    fn on_data_progress(&self, transfer: u64, _dir: Direction, total: u64) {
        self.progress_at(self.now(), transfer, total)
    }
    fn on_final_reply(&self, transfer: u64) -> Option<ReplyFault> {
        match self.final_reply_at(transfer)? {
            ReplyFault::Delay(d) => Some(ReplyFault::Delay(self.real(d))),
            other => Some(other),
        }
    }
    fn idle_signal(&self) -> Option<Arc<tokio::sync::Notify>> {
        Some(self.idle.clone())
    }
    fn on_idle(&self) -> bool {
        self.idle_close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Scenario, TriggerEvent};
    use std::path::Path;

    fn engine(toml: &str) -> (FaultEngine, mpsc::UnboundedReceiver<EngineOutput>) {
        let s = Scenario::parse(Path::new("t.toml"), toml).unwrap_or_else(|e| panic!("{e}"));
        FaultEngine::new(s.faults, s.seed)
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<EngineOutput>) -> Vec<EngineOutput> {
        let mut v = Vec::new();
        while let Ok(o) = rx.try_recv() {
            v.push(o);
        }
        v
    }

    const T: Duration = Duration::from_millis(5);

    #[tokio::test]
    async fn dns_failure_on_the_third_open() {
        let (e, mut rx) = engine(
            r#"
[[fault]]
name = "third-open"
on = "at_command"
command = "+QFTPOPEN"
nth = 3
action = "dns_failure"
"#,
        );
        for _ in 0..2 {
            e.at_command(T, "+QFTPOPEN", "=\"h\",21");
            assert_eq!(e.resolve_at(T, "h"), None);
        }
        e.at_command(T, "+QFTPCFG", "=\"contextid\",1");
        assert_eq!(e.resolve_at(T, "h"), None, "other commands do not count");
        e.at_command(T, "+QFTPOPEN", "=\"h\",21");
        assert_eq!(
            e.resolve_at(T, "h"),
            Some((ResolveError::NotFound, Duration::ZERO))
        );
        e.at_command(T, "+QFTPOPEN", "=\"h\",21");
        assert_eq!(e.resolve_at(T, "h"), None, "times = 1");
        let out = drain(&mut rx);
        assert_eq!(out.len(), 1);
        let EngineOutput::Fired(f) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(f.name, "third-open");
        assert_eq!(
            f.transcript_line(),
            "! fault \"third-open\" at 5ms on at_command AT+QFTPOPEN #3 -> dns failure for *"
        );
        assert!(e.not_fired().is_empty());
    }

    #[tokio::test]
    async fn params_regex_and_reply_on_the_command_itself() {
        let (e, _rx) = engine(
            r#"
[[fault]]
on = "at_command"
command = "QFTPOPEN"
params = "evil"
action = "reply"
code = 530
text = "Login incorrect."
[[fault]]
on = "ftp_command"
verb = "RETR"
nth = 2
times = "always"
action = "reply"
code = 550
"#,
        );
        e.at_command(T, "+QFTPOPEN", "=\"good\",21");
        assert_eq!(e.command_at(T, "USER"), None);
        e.at_command(T, "+QFTPOPEN", "=\"evil\",21");
        assert_eq!(
            e.command_at(T, "USER"),
            Some(ReplyFault::Replace {
                code: 530,
                text: "Login incorrect.".into()
            })
        );
        assert_eq!(e.command_at(T, "RETR"), None);
        let r550 = Some(ReplyFault::Replace {
            code: 550,
            text: String::new(),
        });
        assert_eq!(e.command_at(T, "retr"), r550);
        assert_eq!(e.command_at(T, "RETR"), r550, "always");
        assert_eq!(e.command_at(T, "STOR"), None);
    }

    #[tokio::test]
    async fn data_faults_per_direction_and_module_faults_after_bytes() {
        let (e, mut rx) = engine(
            r#"
[[fault]]
name = "get-reset"
on = "transfer"
direction = "download"
after_bytes = 307200
action = "data_reset"
[[fault]]
name = "put-reboot"
on = "transfer"
direction = "upload"
nth = 2
after_bytes = 1000
action = "module_reset"
"#,
        );
        assert_eq!(e.data_at(T, 1, Direction::Upload), vec![]);
        e.progress_at(T, 1, 5000);
        assert_eq!(
            e.data_at(T, 2, Direction::Download),
            vec![DataFault::ResetAfter { after: 307200 }]
        );
        assert_eq!(e.data_at(T, 3, Direction::Download), vec![]);
        assert_eq!(e.data_at(T, 4, Direction::Upload), vec![]);
        e.progress_at(T, 4, 999);
        assert!(!drain(&mut rx)
            .iter()
            .any(|o| matches!(o, EngineOutput::Module(_))));
        e.progress_at(T, 4, 1000);
        e.progress_at(T, 4, 2000);
        let modules: Vec<_> = drain(&mut rx)
            .into_iter()
            .filter(|o| matches!(o, EngineOutput::Module(_)))
            .collect();
        assert_eq!(modules, vec![EngineOutput::Module(ModuleFault::Reset)]);
    }

    #[tokio::test]
    async fn time_and_after_fault_triggers() {
        let (e, mut rx) = engine(
            r#"
[[fault]]
name = "apn"
on = "time"
after = "2s"
action = "pdp_lost"
cid = 1
[[fault]]
name = "lost"
on = "after_fault"
fault = "apn"
after = "500ms"
action = "registration_lost"
regain_after = "1s"
"#,
        );
        assert_eq!(e.next_deadline(), Some(Duration::from_secs(2)));
        e.handle_timeout(Duration::from_secs(1));
        assert!(drain(&mut rx).is_empty());
        e.handle_timeout(Duration::from_secs(2));
        assert_eq!(e.next_deadline(), Some(Duration::from_millis(2500)));
        e.handle_timeout(Duration::from_secs(4));
        let modules: Vec<_> = drain(&mut rx)
            .into_iter()
            .filter_map(|o| match o {
                EngineOutput::Module(m) => Some(m),
                _ => None,
            })
            .collect();
        assert_eq!(
            modules,
            vec![
                ModuleFault::PdpLost { cid: 1 },
                ModuleFault::RegistrationLost,
                ModuleFault::RegistrationRegained
            ]
        );
        let times: Vec<_> = e.fired().iter().map(|f| f.at.as_millis()).collect();
        assert_eq!(times, vec![2000, 2500, 3500]);
    }

    fn flaky_draws(seed: u64) -> Vec<bool> {
        let (e, _rx) = engine(&format!(
            r#"
seed = {seed}
[[fault]]
on = "connect"
times = "always"
probability = 0.3
action = "connect_refused"
"#
        ));
        let addr: SocketAddr = "127.0.0.1:21".parse().unwrap();
        (0..200)
            .map(|_| e.on_connect(Conn::Control, addr).is_some())
            .collect()
    }

    #[test]
    fn the_generator_is_fixed() {
        // scenarios/flaky-network.toml relies on these draws (seed 10, p = 0.5): fail, ok,
        // fail, ok. Changing the generator changes every seeded scenario.
        let mut r = SeededRng::new(10);
        let draws: Vec<bool> = (0..4).map(|_| r.next_f64() < 0.5).collect();
        assert_eq!(draws, vec![true, false, true, false]);
    }

    #[tokio::test]
    async fn seeded_probability_is_reproducible() {
        let a = flaky_draws(7);
        assert_eq!(a, flaky_draws(7));
        assert_ne!(a, flaky_draws(8));
        let hits = a.iter().filter(|x| **x).count();
        assert!((30..90).contains(&hits), "about 30% of 200: {hits}");
    }

    #[tokio::test]
    async fn armed_seam_actions_wait_for_their_point() {
        let (e, _rx) = engine(
            r#"
[[fault]]
on = "at_command"
command = "+QFTPGET"
action = "data_stall"
[[fault]]
on = "connect"
conn = "data"
action = "connect_refused"
[[fault]]
on = "resolve"
host = "bad.example"
action = "dns_timeout"
"#,
        );
        e.at_command(T, "+QFTPGET", "=\"a\"");
        assert_eq!(e.resolve_at(T, "good.example"), None);
        assert_eq!(e.connect_at(T, Conn::Control), None);
        assert_eq!(e.connect_at(T, Conn::Data), Some(ConnectFault::Refused));
        assert_eq!(
            e.data_at(T, 1, Direction::Upload),
            vec![DataFault::StallAfter { after: 0 }]
        );
        assert_eq!(
            e.resolve_at(T, "BAD.example"),
            Some((ResolveError::Timeout, crate::net::RESOLVE_TIMEOUT))
        );
    }

    #[tokio::test]
    async fn nth_then_times_and_removal_drops_what_is_armed() {
        let (e, _rx) = engine(
            r#"
[[fault]]
name = "twice"
on = "ftp_command"
verb = "PASV"
nth = 2
times = 2
action = "control_close"
[[fault]]
name = "armed"
on = "at_command"
command = "+QFTPOPEN"
action = "tls_failure"
"#,
        );
        let hits: Vec<bool> = (0..5).map(|_| e.command_at(T, "PASV").is_some()).collect();
        assert_eq!(hits, vec![false, true, true, false, false]);
        e.at_command(T, "+QFTPOPEN", "");
        assert!(e.remove_fault("armed"));
        assert_eq!(
            e.connect_at(T, Conn::Control),
            None,
            "removed with its armed action"
        );
        let names: Vec<_> = e.fired().into_iter().map(|f| f.name).collect();
        assert_eq!(names, vec!["twice", "twice", "armed"]);
    }

    #[tokio::test]
    async fn after_fault_counts_each_firing() {
        let (e, mut rx) = engine(
            r#"
[[fault]]
name = "drop"
on = "ftp_command"
times = "always"
action = "control_close"
[[fault]]
name = "sim"
on = "after_fault"
fault = "drop"
after = "1s"
times = "always"
action = "sim_removed"
"#,
        );
        e.command_at(Duration::from_secs(1), "PWD");
        e.command_at(Duration::from_secs(2), "PWD");
        e.handle_timeout(Duration::from_millis(2500));
        e.handle_timeout(Duration::from_secs(10));
        let sims: Vec<_> = e
            .fired()
            .into_iter()
            .filter(|f| f.name == "sim")
            .map(|f| f.at)
            .collect();
        assert_eq!(sims, vec![Duration::from_secs(2), Duration::from_secs(3)]);
        assert_eq!(
            drain(&mut rx)
                .iter()
                .filter(|o| matches!(o, EngineOutput::Module(ModuleFault::SimRemoved)))
                .count(),
            2
        );
    }

    #[tokio::test]
    async fn faults_added_and_removed_while_running() {
        let (e, _rx) = engine("");
        let spec = FaultSpec {
            name: "x".into(),
            trigger: Trigger {
                nth: 1,
                event: TriggerEvent::FtpCommand { verb: None },
            },
            action: Action::Reply(ReplyFault::Close),
            times: Times::Always,
            probability: None,
            optional: false,
            line: 0,
        };
        e.add_fault(spec);
        assert_eq!(e.not_fired(), vec!["x".to_string()]);
        assert_eq!(e.command_at(T, "PWD"), Some(ReplyFault::Close));
        assert!(e.remove_fault("x"));
        assert!(!e.remove_fault("x"));
        assert_eq!(e.command_at(T, "PWD"), None);
    }

    #[tokio::test]
    async fn ufs_full_sets_the_store_flag() {
        let (e, _rx) = engine(
            r#"
[[fault]]
on = "at_command"
command = "+QFUPL"
nth = 2
action = "ufs_full"
"#,
        );
        let flag = e.ufs_full_flag();
        e.at_command(T, "+QFUPL", "=\"a\",1");
        assert!(!flag.load(Ordering::Acquire));
        e.at_command(T, "+QFUPL", "=\"a\",1");
        assert!(flag.load(Ordering::Acquire));
    }
}
