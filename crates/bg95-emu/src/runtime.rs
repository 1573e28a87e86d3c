//! The event loop: one task owns the [`Module`] and moves bytes and events between it and
//! the world. It decides nothing a module decides.
//!
//! - PTY master → `handle_input(now, bytes)`; read only while the FTP driver keeps up with
//!   upload bytes (so a fast host is slowed like a UART with flow control).
//! - `poll_output()` → the writer task, which paces bytes at the baud rate (if any).
//! - `poll_effect()` → FTP driver requests, in order, or a baud change (in-band with output,
//!   so the `OK` of AT+IPR still goes out at the old rate).
//! - FTP driver events → `handle_completion`, taken only while the module wants them and the
//!   writer is not backed up: a host that reads slowly slows the download.
//! - `poll_timeout()` → a tokio sleep → `handle_timeout(now)`. Time is tokio time, so tests
//!   can pause the clock.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bg95_core::ftp::{FtpEvent, FtpRequest};
use bg95_core::{Completion, Effect, Instant, Module, NetworkEvent, PingEvent, ResolveFailure};
use tokio::io::{AsyncReadExt, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch, Notify};

use crate::ftp::{DriverConfig, FtpDriver};
use crate::net::{ResolveError, Resolver, Traffic};
use crate::pacer::Pacer;
use crate::pty::VirtualPort;
use crate::scenario::{module_fault_event, override_answer, EngineOutput, Piece, ScenarioLoop};
use crate::time_scale::TimeScale;
use crate::transcript::Recorder;

/// The core's clock, read from tokio time (which tests can pause), running
/// [`TimeScale`] times faster than it: the one place where module time and real time meet
/// for the core's deadlines (`poll_timeout` → a tokio sleep).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: tokio::time::Instant,
    scale: TimeScale,
}

impl Clock {
    pub fn new() -> Self {
        Clock::scaled(TimeScale::REAL)
    }

    /// A clock starting now whose module time runs `scale` times faster than real time.
    pub fn scaled(scale: TimeScale) -> Self {
        Clock {
            start: tokio::time::Instant::now(),
            scale,
        }
    }

    /// The time scale.
    pub fn scale(&self) -> TimeScale {
        self.scale
    }

    /// Module time now.
    pub fn now(&self) -> Instant {
        let module = self.scale.to_module(self.start.elapsed());
        Instant::from_micros(u64::try_from(module.as_micros()).unwrap_or(u64::MAX))
    }

    /// The real (tokio) instant at which module time reaches `t`: never earlier, so a
    /// deadline woken at it is due (a rounding short of it would wake the loop again and
    /// again, and for ever under tokio's paused clock).
    pub fn to_tokio(&self, t: Instant) -> tokio::time::Instant {
        let module = Duration::from_micros(t.as_micros());
        if self.scale == TimeScale::REAL {
            return self.start + module;
        }
        self.start + self.scale.to_real_at_least(module)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

enum WriterMsg {
    Data(Vec<u8>),
    Baud(u32),
    /// A scenario's `[serial] chunk_delay`: nothing is written for this long.
    Pause(Duration),
}

/// The task that writes module output to the PTY master at the module's pace (a
/// [`Pacer`]: UART line rate in slices of one timer tick).
struct Writer {
    tx: mpsc::UnboundedSender<WriterMsg>,
    in_flight: Arc<AtomicUsize>,
    drained: Arc<Notify>,
}

impl Writer {
    /// The writer for `wr`; `scale` makes the UART and serial pauses run in module time.
    fn spawn<W: AsyncWrite + Unpin + Send + 'static>(
        mut wr: W,
        baud: u32,
        scale: TimeScale,
    ) -> Writer {
        let (tx, mut rx) = mpsc::unbounded_channel::<WriterMsg>();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let drained = Arc::new(Notify::new());
        let (count, notify) = (in_flight.clone(), drained.clone());
        tokio::spawn(async move {
            let mut pacer = Pacer::new(scale.baud(baud));
            while let Some(msg) = rx.recv().await {
                match msg {
                    WriterMsg::Baud(b) => pacer.set_baud(scale.baud(b)),
                    WriterMsg::Pause(d) => tokio::time::sleep(scale.to_real(d)).await,
                    WriterMsg::Data(bytes) => {
                        if let Err(e) = pacer.write(&mut wr, &bytes).await {
                            tracing::warn!(target: "bg95::emu", "tty write failed: {e}");
                        }
                        count.fetch_sub(bytes.len(), Ordering::AcqRel);
                        notify.notify_one();
                    }
                }
            }
        });
        Writer {
            tx,
            in_flight,
            drained,
        }
    }

    fn send(&self, bytes: Vec<u8>) {
        self.in_flight.fetch_add(bytes.len(), Ordering::AcqRel);
        let _ = self.tx.send(WriterMsg::Data(bytes));
    }

    /// Bytes handed to the writer and not yet written to the PTY.
    fn unwritten(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

/// What the loop needs besides the module.
pub struct LoopParts {
    pub port: VirtualPort,
    pub clock: Clock,
    pub baud: u32,
    pub transcript: Option<Recorder>,
    /// Created as a symlink to the tty once the module takes AT input; removed at the end.
    pub tty_link: Option<PathBuf>,
    /// Data connections go to the control peer whatever PASV names (`--pasv-same-host`).
    pub pasv_same_host: bool,
    /// The module's one resolver: QFTPOPEN, QIDNSGIP and QPING look names up here.
    pub resolver: Resolver,
    /// Bytes the network side counted; handed to the module before each host input.
    pub traffic: Traffic,
    /// A scenario's faults and serial impairment.
    pub scenario: Option<ScenarioLoop>,
    /// Where faults enter below the FTP driver (`NoFaults` in production).
    pub faults: std::sync::Arc<dyn crate::net::FaultSeam>,
    /// The control API's questions to the module (`serve --control`) and the serial-over-TCP
    /// line's signals (DTR, rate), answered at once.
    pub control: Option<mpsc::Receiver<crate::control::ModuleRequest>>,
}

/// Run the module until `shutdown` turns true.
///
/// `ready` fires once the module takes AT input (after its boot URCs are queued for the
/// host and the tty link exists).
pub async fn run_module(
    module: Module,
    parts: LoopParts,
    mut ready: Option<oneshot::Sender<()>>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let cfg = parts.clone_config();
    let LoopParts {
        port,
        mut transcript,
        mut scenario,
        tty_link,
        mut control,
        ..
    } = parts;
    let VirtualPort {
        master,
        slave: _slave,
        path: tty_path,
    } = port;
    let (mut rd, wr) = master.into_split();
    let writer = Writer::spawn(wr, cfg.baud, cfg.clock.scale());
    let (mut lp, mut driver, mut net_rx) = LoopState::new(module, cfg, writer);
    // The transcript gets the module's own masked copy of the session.
    lp.module.record_transcript(transcript.is_some());
    let mut buf = vec![0u8; 4096];
    let mut link_made = false;
    let result = loop {
        lp.flush(&mut transcript, &mut scenario);
        if lp.deliver_held_input(&mut transcript) {
            continue;
        }
        if !link_made && lp.module.accepts_at() {
            link_made = true;
            if let Some(link) = &tty_link {
                make_link(link, &tty_path)?;
            }
            if let Some(r) = ready.take() {
                let _ = r.send(());
            }
        }
        if std::mem::take(&mut lp.driver_died) {
            driver = lp.restart_driver(&mut transcript);
            continue;
        }
        let deadline = lp.module.poll_timeout().map(|t| lp.clock.to_tokio(t));
        let feed_events = lp.module.wants_data(lp.writer.unwritten());
        // Past the output high water the host's command input is not read (a UART's flow
        // control: the PTY then blocks the host's writes), so the echo and answers of input
        // it does not read stay bounded. In data mode input makes no output (a download's
        // data is bounded by `wants_data`), and a `+++` must still be heard while the host
        // lets the download back up.
        let output_room =
            lp.module.output_has_room(lp.writer.unwritten()) || !lp.module.in_command_mode();
        // Only the writer's backlog holds the download or the input: wake when it drains.
        let writer_blocked = (!feed_events && lp.module.wants_data(0)) || !output_room;
        let read_host = lp.to_driver.len() < lp.limits.upload_chunks_waiting && output_room;
        tokio::select! {
            biased;
            _ = shutdown.changed() => break Ok(()),
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                lp.module.handle_timeout(lp.clock.now());
            }
            // Before the driver's events: a module fault the driver's own progress fired (a
            // reset after N bytes) is the module's before the transfer's end, which may
            // already wait behind it on a fast link.
            out = engine_output(&mut scenario), if scenario.is_some() => {
                if let (Some(out), Some(sc)) = (out, scenario.as_mut()) {
                    engine_event(&mut lp.module, &lp.clock, &mut transcript, out);
                    drain_engine(&mut lp.module, sc, &lp.clock, &mut transcript);
                }
            }
            permit = driver.requests.reserve(), if !lp.to_driver.is_empty() => match permit {
                Ok(p) => {
                    if let Some(req) = lp.to_driver.pop_front() {
                        p.send(req);
                    }
                }
                Err(_) => lp.driver_died = true,
            },
            ev = driver.events.recv(), if feed_events => match ev {
                Some(ev) => lp.complete(&mut transcript, Completion::Ftp(ev)),
                None => lp.driver_died = true,
            },
            Some(c) = net_rx.recv() => lp.complete(&mut transcript, c),
            _ = lp.writer.drained.notified(), if writer_blocked => {}
            Some(req) = control_request(&mut control), if control.is_some() => {
                if let Some(baud) = req.answer(&mut lp.module, lp.clock.now()) {
                    let _ = lp.writer.tx.send(WriterMsg::Baud(baud));
                }
            }
            r = rd.read(&mut buf), if read_host => match r {
                Ok(0) => tokio::time::sleep(Duration::from_millis(10)).await,
                Ok(n) => lp.host_input(&mut transcript, &mut scenario, &buf[..n]),
                Err(e) => {
                    // With our own slave fd held open the master should not fail; if it
                    // does, do not spin.
                    tracing::warn!(target: "bg95::emu", "tty read failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    };
    if let (Some(link), true) = (&tty_link, link_made) {
        remove_own_link(link, &tty_path);
    }
    if let Some(t) = transcript.as_mut() {
        t.flush();
    }
    result
}

/// What the event loop needs besides the PTY, the transcript and the scenario.
struct LoopConfig {
    clock: Clock,
    baud: u32,
    resolver: Resolver,
    traffic: Traffic,
    faults: std::sync::Arc<dyn crate::net::FaultSeam>,
    pasv_same_host: bool,
}

impl LoopParts {
    fn clone_config(&self) -> LoopConfig {
        LoopConfig {
            clock: self.clock,
            baud: self.baud,
            resolver: self.resolver.clone(),
            traffic: self.traffic.clone(),
            faults: self.faults.clone(),
            pasv_same_host: self.pasv_same_host,
        }
    }
}

/// The module and everything the loop moves its bytes and requests through.
struct LoopState {
    module: Module,
    clock: Clock,
    writer: Writer,
    resolver: Resolver,
    traffic: Traffic,
    net_tx: mpsc::UnboundedSender<Completion>,
    limits: bg95_core::Limits,
    driver_config: DriverConfig,
    net: crate::ftp::DriverNet,
    /// The driver task ended; the loop starts a new one.
    driver_died: bool,
    /// FTP requests the driver has not taken yet.
    to_driver: VecDeque<FtpRequest>,
    /// The network's time for the module clock: the host's UTC (NITZ at registration),
    /// handed over once the boot URCs are out, so a transcript shows them in the order the
    /// module made them (a replay feeds events where the recording has them).
    network_time: Option<Completion>,
    /// Host bytes read but not yet handed to the module (see [`LoopState::host_input`]).
    held_input: Option<(bg95_core::Instant, Vec<u8>)>,
}

impl LoopState {
    fn new(
        mut module: Module,
        cfg: LoopConfig,
        writer: Writer,
    ) -> (LoopState, FtpDriver, mpsc::UnboundedReceiver<Completion>) {
        module.set_baud(cfg.baud);
        let (net_tx, net_rx) = mpsc::unbounded_channel::<Completion>();
        // The backpressure limits are the core's (bg95_core::Limits says what each bounds).
        let limits = *module.limits();
        let driver_config = DriverConfig {
            event_queue: limits.download_chunks_waiting,
            chunk: limits.download_chunk,
            request_queue: limits.driver_requests_waiting,
        };
        // The driver shares the module's one resolver and traffic counters, and the seam.
        let net = crate::ftp::DriverNet {
            resolver: cfg.resolver.clone(),
            traffic: cfg.traffic.clone(),
            faults: cfg.faults,
            pasv_same_host: cfg.pasv_same_host,
        };
        let driver = FtpDriver::spawn_net(driver_config, net.clone());
        let state = LoopState {
            module,
            clock: cfg.clock,
            writer,
            resolver: cfg.resolver,
            traffic: cfg.traffic,
            net_tx,
            limits,
            driver_config,
            net,
            driver_died: false,
            to_driver: VecDeque::new(),
            network_time: Some(Completion::Network(NetworkEvent::Time {
                unix_secs: host_utc(),
                zone_quarters: 0,
            })),
            held_input: None,
        };
        (state, driver, net_rx)
    }

    /// Everything the module has to say or have done: output to the writer (through a
    /// scenario's serial impairment), effects to the driver and the network tasks.
    fn flush(&mut self, transcript: &mut Option<Recorder>, scenario: &mut Option<ScenarioLoop>) {
        loop {
            while let Some(out) = self.module.poll_output() {
                if let Some(t) = transcript.as_mut() {
                    t.pieces(self.clock.now(), &mut self.module);
                }
                match scenario.as_mut() {
                    Some(sc) => send_impaired(&self.writer, sc, out),
                    None => self.writer.send(out),
                }
            }
            match self.network_time.take() {
                Some(time) => self.complete(transcript, time),
                None => break,
            }
        }
        while let Some(effect) = self.module.poll_effect() {
            if let Some(t) = transcript.as_mut() {
                t.effect(self.clock.now(), &effect);
            }
            self.run_effect(effect);
        }
    }

    fn run_effect(&mut self, effect: Effect) {
        match effect {
            Effect::Ftp(req) => self.to_driver.push_back(*req),
            Effect::SetBaud(b) => {
                let _ = self.writer.tx.send(WriterMsg::Baud(b));
            }
            Effect::Resolve { id, host } => {
                spawn_resolve(self.resolver.clone(), self.net_tx.clone(), id, host);
            }
            Effect::Ping {
                id,
                host,
                timeout,
                count,
            } => {
                let (r, tx) = (self.resolver.clone(), self.net_tx.clone());
                spawn_ping(r, tx, id, host, timeout, count);
            }
        }
    }

    fn complete(&mut self, transcript: &mut Option<Recorder>, c: Completion) {
        complete(&mut self.module, transcript, self.clock.now(), c);
    }

    /// Bytes from the host: the traffic counted so far first (AT+QGDCNT? must see it), the
    /// scenario's AT-command triggers next (a fault a command triggers applies to it). The
    /// bytes themselves wait in `held_input` until what the triggered faults made the module
    /// say and ask for is out ([`LoopState::deliver_held_input`]), so a transcript has it
    /// before the input, where a replay that feeds the fault's event then the input finds it.
    fn host_input(
        &mut self,
        transcript: &mut Option<Recorder>,
        scenario: &mut Option<ScenarioLoop>,
        bytes: &[u8],
    ) {
        let (sent, received) = self.traffic.take();
        if sent != 0 || received != 0 {
            self.complete(transcript, Completion::Traffic { sent, received });
        }
        let now = self.clock.now();
        if let Some(sc) = scenario.as_mut() {
            sc.observe_input(self.module.in_command_mode(), bytes);
            drain_engine(&mut self.module, sc, &self.clock, transcript);
        }
        self.held_input = Some((now, bytes.to_vec()));
    }

    /// Hand held host bytes to the module; true if there were any.
    fn deliver_held_input(&mut self, transcript: &mut Option<Recorder>) -> bool {
        let Some((now, bytes)) = self.held_input.take() else {
            return false;
        };
        self.module.handle_input(now, &bytes);
        if let Some(t) = transcript.as_mut() {
            t.pieces(now, &mut self.module);
        }
        true
    }

    /// The driver task ended (it should not): what it held is gone, the core decides what
    /// the host hears; a new driver takes over.
    fn restart_driver(&mut self, transcript: &mut Option<Recorder>) -> FtpDriver {
        self.to_driver.clear();
        self.complete(transcript, Completion::Ftp(FtpEvent::DriverLost));
        restart_driver(self.driver_config, &self.net)
    }
}

/// The host's wall-clock time as Unix seconds (the network time the module is given).
fn host_utc() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// AT+QIDNSGIP: look the name up off the event loop; the answer comes back as a completion.
fn spawn_resolve(resolver: Resolver, tx: mpsc::UnboundedSender<Completion>, id: u32, host: String) {
    tokio::spawn(async move {
        let result = resolver.lookup(&host).await.map_err(resolve_failure);
        tracing::debug!(target: "bg95::net", "resolve {host:?}: {result:?}");
        let _ = tx.send(Completion::Resolved { id, result });
    });
}

fn resolve_failure(e: ResolveError) -> ResolveFailure {
    match e {
        ResolveError::NotFound => ResolveFailure::NotFound,
        ResolveError::Timeout => ResolveFailure::Timeout,
    }
}

/// The TCP port AT+QPING probes: a SYN answered by SYN-ACK or RST proves the host
/// reachable (no raw sockets, no privileges).
pub const PING_PORT: u16 = 21;
/// Time between two probes of one AT+QPING, like ping's one-second interval.
const PING_INTERVAL: Duration = Duration::from_secs(1);

/// AT+QPING: resolve once (IPv4 first), then `count` TCP connects to [`PING_PORT`], each
/// within `timeout`; one completion per probe.
fn spawn_ping(
    resolver: Resolver,
    tx: mpsc::UnboundedSender<Completion>,
    id: u32,
    host: String,
    timeout: Duration,
    count: u8,
) {
    tokio::spawn(async move {
        let lookup = resolver.lookup(&host).await.and_then(|mut ips| {
            ips.sort_by_key(|ip| !ip.is_ipv4());
            ips.first().copied().ok_or(ResolveError::NotFound)
        });
        let ip = match lookup {
            Ok(ip) => ip,
            Err(e) => {
                let event = PingEvent::ResolveFailed(resolve_failure(e));
                let _ = tx.send(Completion::Ping { id, event });
                return;
            }
        };
        for n in 0..count {
            if n > 0 {
                tokio::time::sleep(PING_INTERVAL).await;
            }
            let start = tokio::time::Instant::now();
            let probe = tokio::net::TcpStream::connect((ip, PING_PORT));
            let rtt = match tokio::time::timeout(timeout, probe).await {
                Ok(Ok(_)) => Some(start.elapsed()),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    Some(start.elapsed())
                }
                _ => None,
            };
            tracing::debug!(target: "bg95::net", "ping {ip}: {rtt:?}");
            let event = PingEvent::Echo { ip, rtt };
            if tx.send(Completion::Ping { id, event }).is_err() {
                return;
            }
        }
    });
}

/// Module output through a scenario's serial impairment.
fn send_impaired(writer: &Writer, sc: &mut ScenarioLoop, out: Vec<u8>) {
    for piece in sc.impair(out) {
        match piece {
            Piece::Bytes(b) => writer.send(b),
            Piece::Pause(d) => {
                let _ = writer.tx.send(WriterMsg::Pause(d));
            }
        }
    }
}

/// The next thing the fault engine says (pending forever once its channel is gone).
async fn engine_output(scenario: &mut Option<ScenarioLoop>) -> Option<EngineOutput> {
    match scenario.as_mut() {
        Some(sc) => sc.outputs.recv().await,
        None => std::future::pending().await,
    }
}

/// Everything the engine has said so far.
fn drain_engine(
    module: &mut Module,
    sc: &mut ScenarioLoop,
    clock: &Clock,
    transcript: &mut Option<Recorder>,
) {
    while let Ok(out) = sc.outputs.try_recv() {
        engine_event(module, clock, transcript, out);
    }
}

/// A fired fault goes to the transcript; a module fault to the core.
fn engine_event(
    module: &mut Module,
    clock: &Clock,
    transcript: &mut Option<Recorder>,
    out: EngineOutput,
) {
    match out {
        EngineOutput::Fired(f) => {
            if let Some(t) = transcript.as_mut() {
                t.pieces(clock.now(), module);
                t.fault(clock.now(), &f);
            }
        }
        // Recorded like any event, so a replay feeds it at the same point.
        EngineOutput::Module(m) => match module_fault_event(module, &m) {
            Some(event) => complete(module, transcript, clock.now(), event),
            None => override_answer(module, &m),
        },
    }
}

/// The driver task ended (it should not): start a new one (the caller has told the module
/// everything the old one held is gone; the core decides what the host hears).
fn restart_driver(config: DriverConfig, net: &crate::ftp::DriverNet) -> FtpDriver {
    tracing::error!(target: "bg95::emu", "FTP driver stopped; restarting it");
    FtpDriver::spawn_net(config, net.clone())
}

/// Hand an event to the module, recording it first (`! …`): a replay feeds the same events
/// at the same points.
fn complete(
    module: &mut Module,
    transcript: &mut Option<Recorder>,
    now: bg95_core::Instant,
    event: Completion,
) {
    if let Some(t) = transcript.as_mut() {
        // What the module said before the event goes first.
        t.pieces(now, module);
        t.event(now, &event);
    }
    module.handle_completion(now, event);
}

/// The control API's next question; `None` (and the API off) once it has gone.
async fn control_request(
    control: &mut Option<mpsc::Receiver<crate::control::ModuleRequest>>,
) -> Option<crate::control::ModuleRequest> {
    let rx = control.as_mut()?;
    let req = rx.recv().await;
    if req.is_none() {
        *control = None;
    }
    req
}

/// `--tty-link`: create `link` → `target`. A link that exists and leads to a tty that is
/// still there belongs to a live emulator (or something else): refused with a clear error,
/// never taken over. A dangling one (its emulator was killed) is replaced; anything that
/// is not a symlink is refused.
fn make_link(link: &std::path::Path, target: &std::path::Path) -> std::io::Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(link) {
        let refuse = |why: String| std::io::Error::new(std::io::ErrorKind::AlreadyExists, why);
        if !meta.file_type().is_symlink() {
            return Err(refuse(format!(
                "--tty-link {}: exists and is not a symlink",
                link.display()
            )));
        }
        if std::fs::metadata(link).is_ok() {
            let to = std::fs::read_link(link).unwrap_or_default();
            return Err(refuse(format!(
                "--tty-link {}: already links to {}, which exists (another emulator?); \
                 remove it or choose another path",
                link.display(),
                to.display()
            )));
        }
        tracing::info!(target: "bg95::emu", "replacing the dangling link {}", link.display());
        std::fs::remove_file(link)?;
    }
    // Fails if another process created the link in between: never overwritten.
    std::os::unix::fs::symlink(target, link)
}

/// Remove `link` on exit only if it still leads to our own tty (someone may have replaced
/// it since).
fn remove_own_link(link: &std::path::Path, ours: &std::path::Path) {
    match std::fs::read_link(link) {
        Ok(to) if to == ours => {
            let _ = std::fs::remove_file(link);
        }
        Ok(to) => tracing::warn!(
            target: "bg95::emu",
            "{} now links to {}, not to our tty: left in place",
            link.display(),
            to.display()
        ),
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pacer::{line_time, TICK};

    /// The writer task paces at the baud rate, applies a baud change after the bytes sent
    /// before it, and releases backpressure (in-flight count, `drained`) as bytes leave.
    #[tokio::test(start_paused = true)]
    async fn writer_paces_switches_baud_in_band_and_drains() {
        let (wr, mut rd) = tokio::io::duplex(1 << 20);
        let t0 = tokio::time::Instant::now();
        let writer = Writer::spawn(wr, 9600, TimeScale::REAL);
        writer.send(b"\r\nOK\r\n".to_vec());
        let _ = writer.tx.send(WriterMsg::Baud(115_200));
        writer.send(vec![b'd'; 4096]);
        assert_eq!(writer.in_flight.load(Ordering::Acquire), 6 + 4096);
        let mut got = Vec::new();
        let mut buf = vec![0u8; 8192];
        let mut first_after_ok = None;
        while got.len() < 6 + 4096 {
            let n = rd.read(&mut buf).await.unwrap();
            if got.len() <= 6 && got.len() + n > 6 && first_after_ok.is_none() {
                first_after_ok = Some(t0.elapsed());
            }
            got.extend_from_slice(&buf[..n]);
        }
        let done = t0.elapsed();
        assert_eq!(&got[..6], b"\r\nOK\r\n");
        // The OK took its 9600-baud line time; the data then went at 115200. Each slice
        // leaves at most one timer tick before its first byte's time on the line.
        let ok_end = line_time(6, 9600);
        let first = first_after_ok.unwrap();
        assert!(first <= ok_end && first + TICK >= ok_end, "{first:?}");
        let last_byte = ok_end + line_time(4095, 115_200);
        assert!(done <= last_byte && done + TICK >= last_byte, "{done:?}");
        // Backpressure is released once the bytes have left.
        tokio::time::timeout(Duration::from_secs(1), async {
            while writer.in_flight.load(Ordering::Acquire) != 0 {
                writer.drained.notified().await;
            }
        })
        .await
        .expect("the writer drains");
        assert_eq!(writer.unwritten(), 0);
    }
}
