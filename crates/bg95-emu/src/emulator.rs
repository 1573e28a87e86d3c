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
use crate::server::EmbeddedServer;
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
    /// Pace module→host bytes at this many baud (0 = unpaced).
    pub baud: u32,
    pub transcript: Option<PathBuf>,
    pub tty_link: Option<PathBuf>,
    /// Where faults enter below the FTP driver; `None` = no faults.
    pub faults: Option<Arc<dyn FaultSeam>>,
}

/// What a started emulator tells its caller.
#[derive(Debug, Clone)]
pub struct Started {
    pub tty: PathBuf,
    /// The embedded FTP server's address, if one runs.
    pub ftp_addr: Option<SocketAddr>,
}

/// The fixtures the repository ships (the default FTP root is copied from here).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
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
    let store: Box<dyn UfsStore> = Box::new(DirStore::open(&ufs_dir)?);

    let mut server: Option<EmbeddedServer> = None;
    if let Some(addr) = config.ftp_server {
        let root = match &config.ftp_root {
            Some(r) => r.clone(),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("bg95-ftp-root-")
                    .tempdir()?;
                copy_tree(&fixtures_dir().join("ftp-root"), t.path())?;
                let p = t.path().to_path_buf();
                temps.push(t);
                p
            }
        };
        server = Some(
            crate::server::start_embedded(addr, root)
                .await
                .map_err(|e| {
                    std::io::Error::other(format!("embedded FTP server on {addr}: {e}"))
                })?,
        );
    }

    let port = VirtualPort::open()?;
    let clock = Clock::new();
    let transcript = config
        .transcript
        .as_deref()
        .map(Recorder::create)
        .transpose()?;
    let module = Module::new(config.personality.clone(), store, clock.now());
    let started = Started {
        tty: port.path.clone(),
        ftp_addr: server.as_ref().map(EmbeddedServer::local_addr),
    };
    let parts = LoopParts {
        port,
        clock,
        baud: config.baud,
        transcript,
        tty_link: config.tty_link.clone(),
        faults: config.faults.clone().unwrap_or_else(|| Arc::new(NoFaults)),
    };
    let (fire_tx, fire_rx) = oneshot::channel::<()>();
    let loop_task = tokio::spawn(run_module(module, parts, Some(fire_tx), shutdown));
    if fire_rx.await.is_ok() {
        let _ = ready.send(started);
    }
    let result = loop_task.await.map_err(std::io::Error::other)?;
    drop(server);
    drop(temps);
    result
}

/// A blocking handle on an emulator running on its own thread; dropping it stops the
/// emulator (and removes its temporary directories).
pub struct Emulator {
    started: Started,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
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

    /// Stop and wait for the emulator to finish.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("emulator thread panicked"))),
            None => Ok(()),
        }
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

    pub fn tty_link(mut self, link: impl Into<PathBuf>) -> Self {
        self.config.tty_link = Some(link.into());
        self
    }

    /// Faults below the FTP driver (resolver, connects, replies, data streams): see
    /// [`crate::net::FaultSeam`].
    pub fn faults(mut self, faults: Arc<dyn FaultSeam>) -> Self {
        self.config.faults = Some(faults);
        self
    }

    /// Start the emulator on its own thread and runtime; returns once it takes AT input.
    pub fn spawn(self) -> std::io::Result<Emulator> {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let config = self.config;
        let thread = std::thread::Builder::new()
            .name("bg95-emu".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?;
                rt.block_on(run(config, ready_tx, shutdown_rx))
            })?;
        match ready_rx.blocking_recv() {
            Ok(started) => Ok(Emulator {
                started,
                shutdown: shutdown_tx,
                thread: Some(thread),
            }),
            Err(_) => Err(thread
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("emulator thread panicked")))
                .err()
                .unwrap_or_else(|| std::io::Error::other("emulator stopped before it was ready"))),
        }
    }
}
