//! Starting an emulator: the configuration, the async entry point the CLI uses, and the
//! blocking [`Emulator`] builder for Rust tests of host software.
//!
//! ```no_run
//! let emu = bg95_emu::Emulator::builder().spawn().unwrap();
//! let tty = emu.tty_path(); // open it with serialport/tokio-serial and talk AT
//! # drop(tty);
//! // dropping `emu` stops the emulator and removes its temporary UFS directory
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bg95_core::{Module, Personality, UfsStore};
use tokio::sync::{oneshot, watch};

use crate::net::{FaultSeam, NoFaults};
use crate::pty::VirtualPort;
use crate::runtime::{run_module, Clock, LoopParts};
use crate::scenario::{FaultEngine, FullStore, Scenario, ScenarioLoop};
use crate::server::{EmbeddedServer, ServerOptions, ServerTls};
use crate::time_scale::TimeScale;
use crate::transcript::Recorder;
use crate::ufs_dir::DirStore;

/// Everything `bg95-emu serve` and [`EmulatorBuilder`] can set.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub personality: Personality,
    /// Back UFS with this directory (files persist); `None` = a temporary directory.
    pub ufs_dir: Option<PathBuf>,
    /// Start the embedded FTP server on this address; `None` = no server.
    pub ftp_server: Option<SocketAddr>,
    /// What the embedded server serves; `None` = a temporary copy of `fixtures/ftp-root`.
    pub ftp_root: Option<PathBuf>,
    /// The embedded server speaks explicit FTPS (TLS required on control and data) with a
    /// CA made at start; the CA goes into UFS as [`FTPS_CA_UFS_NAME`].
    pub ftp_tls: bool,
    /// Pace module→host bytes at this many baud (0 = unpaced).
    pub baud: u32,
    pub transcript: Option<PathBuf>,
    pub tty_link: Option<PathBuf>,
    /// The module's one resolver (QFTPOPEN, QIDNSGIP, QPING). A scenario's `[network.dns]`
    /// and DNS faults replace it.
    pub resolver: crate::net::Resolver,
    /// The byte counters behind AT+QGDCNT (the FTP driver adds to them).
    pub traffic: crate::net::Traffic,
    /// A scenario (docs/scenarios.md): its `[module]`, `[network]`, `[serial]` and
    /// `[ftp_server]` replace the settings above, and its faults run.
    pub scenario: Option<Scenario>,
    /// Overrides the scenario's `seed`.
    pub seed: Option<u64>,
    /// Module and scenario time run this many times faster than real time
    /// (`--time-scale`); overrides the scenario's `time_scale`. `None` = the scenario's, or 1.
    pub time_scale: Option<TimeScale>,
    /// Where faults enter below the FTP driver (a scenario brings its own); `None` = none.
    pub faults: Option<Arc<dyn FaultSeam>>,
    /// `--pasv-same-host`: data connections go to the control connection's peer whatever
    /// address a PASV reply names (as `data_address` 1 does), for CI networks that must not
    /// let a server point the module elsewhere. Off: the real module's behaviour
    /// (docs/ftp.md, "PASV addresses"). A scenario's `[network] pasv_same_host` turns it on.
    pub pasv_same_host: bool,
    /// `--transcript-keys`: the transcript's `#! ufs` header and the data of an upload
    /// (AT+QFUPL, AT+QFWRITE) include PEM private keys (for local debugging); by default
    /// they are recorded as size and digest.
    pub transcript_keys: bool,
    /// Serve the control API (docs/control-api.md). Without a scenario, an empty one runs
    /// so faults can be added.
    pub control: Option<crate::control::ControlConfig>,
    /// Serve the serial port over TCP on these addresses (docs/serial-tcp.md).
    pub serial_tcp: Vec<(crate::serial_tcp::SerialProtocol, SocketAddr)>,
}

impl Config {
    /// The time scale this configuration runs at: `time_scale`, else the scenario's, else 1.
    pub fn effective_time_scale(&self) -> TimeScale {
        self.time_scale
            .or(self.scenario.as_ref().map(|s| s.time_scale))
            .unwrap_or_default()
    }
}

/// What a started emulator tells its caller.
#[derive(Debug, Clone)]
pub struct Started {
    pub tty: PathBuf,
    /// The embedded FTP server's address, if one runs.
    pub ftp_addr: Option<SocketAddr>,
    /// The folder the embedded FTP server serves, if one runs.
    pub ftp_root: Option<PathBuf>,
    /// The scenario's fault engine (add or remove faults while the emulator runs).
    pub faults: Option<FaultEngine>,
    /// With `ftp_tls`: the PEM of the CA that signed the embedded server's certificate (also
    /// in UFS as [`FTPS_CA_UFS_NAME`]).
    pub ftp_ca_pem: Option<String>,
    /// Where the control API listens (the port chosen for port 0), if it runs.
    pub control: Option<crate::control::ControlAddr>,
    /// Where the serial port is served over TCP (the ports chosen for port 0).
    pub serial_tcp: Vec<(crate::serial_tcp::SerialProtocol, SocketAddr)>,
}

/// The UFS name under which `--ftp-tls` places the embedded server's CA.
pub const FTPS_CA_UFS_NAME: &str = "ftps-ca.pem";

/// The AT commands that make a module use explicit FTPS and verify the embedded server
/// with its CA: the control connection uses SSL context 0 and the data connections context 1
/// (the note's defaults for "sslctxid" and "data_sslctxid"), so both get the CA and seclevel 1.
pub fn ftps_setup_commands() -> Vec<String> {
    let mut cmds = vec!["AT+QFTPCFG=\"ssltype\",2".to_string()];
    for ctx in [0, 1] {
        cmds.push(format!(
            "AT+QSSLCFG=\"cacert\",{ctx},\"{FTPS_CA_UFS_NAME}\""
        ));
        cmds.push(format!("AT+QSSLCFG=\"seclevel\",{ctx},1"));
    }
    cmds
}

/// The fixtures the repository ships (the default FTP root is copied from here).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Copy the tree `from` into `to`. Only folders and regular files are copied (a FIFO
/// would hang the copy, a device fill the disk); an error names the entry it is about.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let named = |p: &Path, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("cannot copy {}: {e}", p.display()))
    };
    std::fs::create_dir_all(to).map_err(|e| named(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| named(from, e))? {
        let path = entry.map_err(|e| named(from, e))?.path();
        let dest = to.join(path.file_name().unwrap_or_default());
        let meta = std::fs::metadata(&path).map_err(|e| named(&path, e))?;
        let link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        if meta.is_dir() && link {
            // Never followed: a link back up the tree would be copied forever.
            return Err(named(&path, std::io::Error::other("a symlink to a folder")));
        } else if meta.is_dir() {
            copy_tree(&path, &dest)?;
        } else if meta.is_file() {
            std::fs::copy(&path, dest).map_err(|e| named(&path, e))?;
        } else {
            return Err(named(
                &path,
                std::io::Error::other("not a regular file or a folder"),
            ));
        }
    }
    Ok(())
}

/// Run an emulator until `shutdown` turns true. `ready` receives the tty path (and FTP
/// address) once the module takes AT input.
pub async fn run(
    config: Config,
    ready: oneshot::Sender<Started>,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    // Temporary directories live as long as the emulator and are removed after it.
    let mut temps = Vec::new();
    let ufs_dir = match &config.ufs_dir {
        Some(d) => d.clone(),
        None => {
            let t = tempfile::Builder::new().prefix("bg95-ufs-").tempdir()?;
            let p = t.path().to_path_buf();
            temps.push(t);
            p
        }
    };
    let mut store: Box<dyn UfsStore> = Box::new(DirStore::open(&ufs_dir)?);
    let config = with_control_scenario(config);
    let scenario = config.scenario.as_ref();
    // The module's clock starts here, so a scenario's times (time triggers, `! fault` lines)
    // count from the same origin as the transcript's.
    let clock = Clock::scaled(config.effective_time_scale());
    let scenario_loop =
        scenario.map(|s| ScenarioLoop::new(s, config.seed.unwrap_or(s.seed), clock));
    if let (Some(s), Some(sl)) = (scenario, scenario_loop.as_ref()) {
        for (name, data) in &s.module.ufs_files {
            store
                .write(name, data)
                .map_err(|e| std::io::Error::other(format!("preloading UFS file {name}: {e}")))?;
        }
        store = Box::new(FullStore::new(store, sl.engine.ufs_full_flag()));
    }
    // Faults below the driver and the one resolver: a scenario's (its DNS table, its fault
    // engine), or the configured ones.
    let (faults, resolver): (Arc<dyn FaultSeam>, _) = match (&scenario_loop, &config.faults) {
        (Some(sl), _) => (sl.seam(), sl.resolver.clone()),
        (None, Some(f)) => (f.clone(), config.resolver.clone().with_faults(f.clone())),
        (None, None) => (Arc::new(NoFaults), config.resolver.clone()),
    };
    let (server, tls) = start_server(&config, store.as_mut(), &mut temps).await?;

    let port = VirtualPort::open()?;
    let tap = config
        .control
        .as_ref()
        .map(|_| crate::control::tap::Tap::new());
    let mut transcript = recorder(config.transcript.as_deref(), tap.as_ref())?;
    let personality = match scenario {
        Some(s) => s.personality(),
        None => config.personality.clone(),
    };
    if let Some(t) = transcript.as_mut() {
        // What a replay needs to build the same module: its personality and UFS at boot.
        t.setup(&personality, store.as_ref(), config.transcript_keys);
        if let Some(server) = &server {
            t.server(server.local_addr(), tls.is_some());
        }
    }
    let born = clock.now();
    let mut module = Module::new(personality, store, born);
    // Upload data holding a private key: clear only when asked (docs/transcripts.md).
    module.record_transcript_keys(config.transcript_keys);
    let transcript = transcript.map(|mut t| {
        t.start(born);
        t
    });
    let engine = scenario_loop.as_ref().map(|s| s.engine.clone());
    let timers = engine.clone().map(|e| tokio::spawn(e.run_timers()));
    let started = Started {
        tty: port.path.clone(),
        ftp_addr: server.as_ref().map(EmbeddedServer::local_addr),
        ftp_root: server.as_ref().map(|s| s.root().to_path_buf()),
        ftp_ca_pem: tls.as_ref().map(|t| t.ca_pem.clone()),
        faults: engine,
        control: None,
        serial_tcp: Vec::new(),
    };
    let mut serial = Vec::new();
    for (protocol, addr) in &config.serial_tcp {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| std::io::Error::other(format!("serial over TCP on {addr}: {e}")))?;
        serial.push((l, *protocol));
    }
    let serial_addrs = serial
        .iter()
        .map(|(l, p)| l.local_addr().map(|a| (*p, a)))
        .collect::<std::io::Result<Vec<_>>>()?;
    let (control_tx, control_rx) = match (&config.control, serial.is_empty()) {
        (None, true) => (None, None),
        _ => {
            let (tx, rx) = tokio::sync::mpsc::channel(crate::control::REQUESTS_WAITING);
            (Some(tx), Some(rx))
        }
    };
    let tty_path = started.tty.clone();
    let parts = LoopParts {
        port,
        clock,
        baud: scenario.and_then(|s| s.serial.baud).unwrap_or(config.baud),
        transcript,
        tty_link: config.tty_link.clone(),
        pasv_same_host: config.pasv_same_host || scenario.is_some_and(|s| s.network.pasv_same_host),
        resolver,
        traffic: config.traffic.clone(),
        faults,
        scenario: scenario_loop,
        control: control_rx,
    };
    let serial_task = (!serial.is_empty()).then(|| {
        tokio::spawn(crate::serial_tcp::serve(
            serial,
            tty_path,
            control_tx.clone(),
            shutdown.clone(),
        ))
    });
    let control = match (&config.control, control_tx, &started.faults, tap) {
        (Some(cc), Some(module), Some(engine), Some(tap)) => {
            Some(start_control(cc, module, engine.clone(), tap, shutdown.clone()).await?)
        }
        _ => None,
    };
    let (fire_tx, fire_rx) = oneshot::channel::<()>();
    let loop_task = tokio::spawn(run_module(module, parts, Some(fire_tx), shutdown));
    if fire_rx.await.is_ok() {
        let _ = ready.send(Started {
            control: control.as_ref().map(|(addr, _)| addr.clone()),
            serial_tcp: serial_addrs,
            ..started
        });
    }
    let result = loop_task.await.map_err(std::io::Error::other)?;
    if let Some(t) = timers {
        t.abort();
    }
    if let Some((_, api)) = control {
        let _ = api.await;
    }
    if let Some(t) = serial_task {
        let _ = t.await;
    }
    drop(server);
    drop(temps);
    result
}

/// With a control API and no scenario: an empty scenario (the builder's personality), so
/// there is a fault engine to add faults to.
fn with_control_scenario(mut config: Config) -> Config {
    if config.control.is_some() && config.scenario.is_none() {
        if let Ok(mut s) = Scenario::parse(Path::new("control-api"), "") {
            s.module.personality = config.personality.clone();
            s.network.pdp = config.personality.pdp_addresses.clone();
            s.serial.baud = Some(config.baud);
            config.scenario = Some(s);
        }
    }
    config
}

/// The session's recorder: to `file`, to the control API's `tap`, to both, or none.
fn recorder(
    file: Option<&Path>,
    tap: Option<&crate::control::tap::Tap>,
) -> std::io::Result<Option<Recorder>> {
    use crate::control::tap::Tee;
    let file = file
        .map(|p| std::fs::File::create(p).map(std::io::BufWriter::new))
        .transpose()?;
    let out: Box<dyn std::io::Write + Send> = match (file, tap) {
        (None, None) => return Ok(None),
        (Some(f), None) => Box::new(f),
        (None, Some(t)) => Box::new(t.writer()),
        (Some(f), Some(t)) => Box::new(Tee(f, t.writer())),
    };
    Recorder::with_writer(out).map(Some)
}

/// Bind and serve the control API; its address and task.
async fn start_control(
    cc: &crate::control::ControlConfig,
    module: tokio::sync::mpsc::Sender<crate::control::ModuleRequest>,
    engine: FaultEngine,
    tap: crate::control::tap::Tap,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<(
    crate::control::ControlAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    cc.check().map_err(std::io::Error::other)?;
    let bound = crate::control::Bound::bind(&cc.addr)
        .await
        .map_err(|e| std::io::Error::other(format!("control API on {}: {e}", cc.addr)))?;
    let addr = bound.local()?;
    let control = crate::control::Control {
        module,
        engine,
        tap,
        token: cc.token.clone(),
        added: Default::default(),
        counter: Default::default(),
        shutdown: shutdown.clone(),
    };
    let app = crate::control::api::router(control);
    Ok((addr, tokio::spawn(bound.serve(app, shutdown))))
}

/// The embedded FTP server the configuration asks for (a scenario's `[ftp_server]` wins),
/// and its TLS; with TLS, the CA goes into UFS as [`FTPS_CA_UFS_NAME`].
async fn start_server(
    config: &Config,
    store: &mut dyn UfsStore,
    temps: &mut Vec<tempfile::TempDir>,
) -> std::io::Result<(Option<EmbeddedServer>, Option<Arc<ServerTls>>)> {
    let setup = config.scenario.as_ref().and_then(|s| s.ftp_server.as_ref());
    let (addr, tls) = match (setup, config.ftp_server) {
        (Some(setup), _) => (SocketAddr::from(([127, 0, 0, 1], setup.port)), setup.tls),
        (None, Some(addr)) => (addr, config.ftp_tls),
        (None, None) => return Ok((None, None)),
    };
    let tls = if tls {
        let tls = ServerTls::generate().map_err(std::io::Error::other)?;
        store
            .write(FTPS_CA_UFS_NAME, tls.ca_pem.as_bytes())
            .map_err(|e| std::io::Error::other(format!("UFS {FTPS_CA_UFS_NAME}: {e}")))?;
        Some(Arc::new(tls))
    } else {
        None
    };
    let mut options = ServerOptions {
        tls: tls.clone(),
        ..ServerOptions::default()
    };
    let root = match (setup, &config.ftp_root) {
        (Some(setup), _) => {
            options.users = setup.users.clone();
            // A copy, so uploads never change the scenario's folder.
            let t = tempfile::Builder::new()
                .prefix("bg95-scenario-root-")
                .tempdir()?;
            copy_tree(&setup.root, t.path())?;
            for (name, data) in &setup.files {
                let dest = t.path().join(name);
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(dest, data)?;
            }
            let p = t.path().to_path_buf();
            temps.push(t);
            p
        }
        (None, Some(r)) => r.clone(),
        (None, None) => {
            let t = tempfile::Builder::new()
                .prefix("bg95-ftp-root-")
                .tempdir()?;
            copy_tree(&fixtures_dir().join("ftp-root"), t.path())?;
            let p = t.path().to_path_buf();
            temps.push(t);
            p
        }
    };
    let server = crate::server::start_embedded_with(addr, root, options)
        .await
        .map_err(|e| std::io::Error::other(format!("embedded FTP server on {addr}: {e}")))?;
    Ok((Some(server), tls))
}

/// A blocking handle on an emulator running on its own thread; dropping it stops the
/// emulator (and removes its temporary directories).
pub struct Emulator {
    started: Started,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

/// A runtime on a thread of its own that reports `S` once ready (an emulator, a fleet):
/// what its caller keeps to reach it and stop it.
pub(crate) struct Background<S> {
    pub started: S,
    pub shutdown: watch::Sender<bool>,
    pub thread: std::thread::JoinHandle<std::io::Result<()>>,
}

/// Stop a [`Background`] runtime: signal it, then wait for its thread (once; later calls,
/// as from `Drop` after `stop`, find no thread).
pub(crate) fn stop_background(
    shutdown: &watch::Sender<bool>,
    thread: &mut Option<std::thread::JoinHandle<std::io::Result<()>>>,
    what: &str,
) -> std::io::Result<()> {
    let _ = shutdown.send(true);
    match thread.take() {
        Some(t) => t
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other(format!("{what} thread panicked")))),
        None => Ok(()),
    }
}

impl<S: Send + 'static> Background<S> {
    /// Run `main` on a new thread named `name` with a 2-worker runtime; returns once `main`
    /// says it is ready, or the error it stopped with (`what` names it in messages).
    pub(crate) fn spawn<F, Fut>(name: &str, what: &str, main: F) -> std::io::Result<Background<S>>
    where
        F: FnOnce(oneshot::Sender<S>, watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = std::io::Result<()>>,
    {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?;
                rt.block_on(main(ready_tx, shutdown_rx))
            })?;
        match ready_rx.blocking_recv() {
            Ok(started) => Ok(Background {
                started,
                shutdown,
                thread,
            }),
            Err(_) => Err(thread
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other(format!("{what} thread panicked"))))
                .err()
                .unwrap_or_else(|| {
                    std::io::Error::other(format!("{what} stopped before it was ready"))
                })),
        }
    }
}

/// Builds an [`Emulator`]. Defaults: temporary UFS, no FTP server, unpaced.
#[derive(Debug, Clone, Default)]
pub struct EmulatorBuilder {
    config: Config,
}

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// The tty a host opens.
    pub fn tty_path(&self) -> &Path {
        &self.started.tty
    }

    /// The embedded FTP server's address, if one runs.
    pub fn ftp_addr(&self) -> Option<SocketAddr> {
        self.started.ftp_addr
    }

    /// The folder the embedded FTP server serves (a scenario's copy of its root).
    pub fn ftp_root(&self) -> Option<&Path> {
        self.started.ftp_root.as_deref()
    }

    /// With `ftp_tls`: the PEM of the CA the embedded server's certificate chains to.
    pub fn ftp_ca_pem(&self) -> Option<&str> {
        self.started.ftp_ca_pem.as_deref()
    }

    /// The scenario's fault engine, if a scenario runs: add or remove faults while a test
    /// runs ([`FaultEngine::add_fault`], [`FaultEngine::remove_fault`]), see which fired.
    pub fn faults(&self) -> Option<&FaultEngine> {
        self.started.faults.as_ref()
    }

    /// Where the serial port is served over TCP (`serial_tcp` in the builder).
    pub fn serial_tcp(&self) -> &[(crate::serial_tcp::SerialProtocol, SocketAddr)] {
        &self.started.serial_tcp
    }

    /// Where the control API listens, if it runs.
    pub fn control_addr(&self) -> Option<&crate::control::ControlAddr> {
        self.started.control.as_ref()
    }

    /// Stop and wait for the emulator to finish.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> std::io::Result<()> {
        stop_background(&self.shutdown, &mut self.thread, "emulator")
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

impl EmulatorBuilder {
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    pub fn personality(mut self, p: Personality) -> Self {
        self.config.personality = p;
        self
    }

    pub fn ufs_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.ufs_dir = Some(dir.into());
        self
    }

    /// Start the embedded FTP server on `addr` (port 0 picks a free port).
    pub fn ftp_server(mut self, addr: SocketAddr) -> Self {
        self.config.ftp_server = Some(addr);
        self
    }

    /// The embedded server speaks explicit FTPS; its CA goes into UFS as
    /// [`FTPS_CA_UFS_NAME`] (see [`ftps_setup_commands`]).
    pub fn ftp_tls(mut self, on: bool) -> Self {
        self.config.ftp_tls = on;
        self
    }

    pub fn ftp_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.ftp_root = Some(dir.into());
        self
    }

    pub fn baud(mut self, baud: u32) -> Self {
        self.config.baud = baud;
        self
    }

    pub fn transcript(mut self, file: impl Into<PathBuf>) -> Self {
        self.config.transcript = Some(file.into());
        self
    }

    /// Run `scenario` (its settings replace the builder's personality, FTP server and baud).
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.config.scenario = Some(scenario);
        self
    }

    /// Draw fault probabilities from `seed` instead of the scenario's.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// See [`Config::transcript_keys`].
    pub fn transcript_keys(mut self, on: bool) -> Self {
        self.config.transcript_keys = on;
        self
    }

    /// See [`Config::pasv_same_host`].
    pub fn pasv_same_host(mut self, on: bool) -> Self {
        self.config.pasv_same_host = on;
        self
    }

    /// Run module and scenario time `scale` times faster than real time (overrides the
    /// scenario's `time_scale`).
    pub fn time_scale(mut self, scale: TimeScale) -> Self {
        self.config.time_scale = Some(scale);
        self
    }

    pub fn tty_link(mut self, link: impl Into<PathBuf>) -> Self {
        self.config.tty_link = Some(link.into());
        self
    }

    /// Look names up with this resolver (e.g. a fixed table) instead of the system's.
    pub fn resolver(mut self, resolver: crate::net::Resolver) -> Self {
        self.config.resolver = resolver;
        self
    }

    /// Count network bytes in these counters (a test can add to them and read AT+QGDCNT).
    pub fn traffic(mut self, traffic: crate::net::Traffic) -> Self {
        self.config.traffic = traffic;
        self
    }

    /// Faults below the FTP driver (resolver, connects, replies, data streams): see
    /// [`crate::net::FaultSeam`].
    pub fn faults(mut self, faults: Arc<dyn FaultSeam>) -> Self {
        self.config.faults = Some(faults);
        self
    }

    /// Serve the control API (docs/control-api.md) on `addr` (`127.0.0.1:0` picks a port;
    /// [`Emulator::control_addr`] tells which).
    pub fn control(mut self, addr: crate::control::ControlAddr, token: Option<String>) -> Self {
        self.config.control = Some(crate::control::ControlConfig { addr, token });
        self
    }

    /// Also serve the serial port over TCP on `addr` (port 0: a free one, see
    /// [`Emulator::serial_tcp`]), raw or RFC 2217.
    pub fn serial_tcp(
        mut self,
        protocol: crate::serial_tcp::SerialProtocol,
        addr: SocketAddr,
    ) -> Self {
        self.config.serial_tcp.push((protocol, addr));
        self
    }

    /// Start the emulator on its own thread and runtime; returns once it takes AT input.
    pub fn spawn(self) -> std::io::Result<Emulator> {
        let config = self.config;
        let background = Background::spawn("bg95-emu", "emulator", move |ready, shutdown| {
            run(config, ready, shutdown)
        })?;
        Ok(Emulator {
            started: background.started,
            shutdown: background.shutdown,
            thread: Some(background.thread),
        })
    }
}
