//! Many modules in one process (`bg95-emu fleet --count N`): each module is a full
//! emulator ([`crate::emulator::run`]) with its own PTY, UFS folder, IMEI/ICCID derived
//! from its index and optional scenario, all on one tokio runtime; one embedded FTP server
//! shared by all of them, or one each. See docs/fleet.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use crate::emulator::{fixtures_dir, run, stop_background, Background, Config, Started};
use crate::scenario::Scenario;
use crate::server::{start_embedded, EmbeddedServer};

/// Which embedded FTP server the modules of a fleet use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetServer {
    /// One server on this address for every module (port 0 picks a free one).
    Shared(SocketAddr),
    /// Each module starts its own on a free port of 127.0.0.1.
    PerModule,
    /// No embedded server.
    Off,
}

/// What `bg95-emu fleet` sets.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// How many modules.
    pub count: usize,
    /// The index of the first module (a container's share of a larger fleet starts at
    /// its job index × count); IMEI, ICCID, `{i}` and UFS folders use the global index.
    pub first_index: usize,
    /// Settings every module shares (baud, time scale, FTP root, …). Its `tty_link`,
    /// `ufs_dir`, `ftp_server` and `scenario` are replaced per module.
    pub base: Config,
    /// A symlink per module: `{i}` in the pattern is the module's index.
    pub tty_link: Option<String>,
    /// Module `i` keeps its UFS in `DIR/i` (created); `None` = temporary folders.
    pub ufs_root: Option<PathBuf>,
    /// Module `i` runs `scenarios[i % len]` (none when empty).
    pub scenarios: Vec<Scenario>,
    pub server: FleetServer,
}

/// What a started fleet tells its caller.
#[derive(Debug, Clone)]
pub struct FleetStarted {
    /// Each module's start, in index order.
    pub modules: Vec<Started>,
    /// The shared server's address, with [`FleetServer::Shared`].
    pub shared_ftp: Option<SocketAddr>,
}

/// The Type Allocation Code of fleet IMEIs (the default personality's).
const IMEI_TAC: &str = "86642503";
/// The first digits of fleet ICCIDs (the default personality's issuer).
const ICCID_PREFIX: &str = "8986001234";

/// The IMEI of module `index`: the TAC, the index as the 6-digit serial (modulo 10^6),
/// and the Luhn check digit, as a real IMEI.
pub fn fleet_imei(index: usize) -> String {
    with_luhn(format!("{IMEI_TAC}{:06}", index % 1_000_000))
}

/// The ICCID of module `index`: the issuer prefix, the index in 9 digits, the Luhn check
/// digit (20 digits, as the default personality's).
pub fn fleet_iccid(index: usize) -> String {
    with_luhn(format!("{ICCID_PREFIX}{:09}", index % 1_000_000_000))
}

/// `digits` followed by their Luhn check digit.
fn with_luhn(digits: String) -> String {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            match (i % 2 == 0, d * 2) {
                (true, x) if x > 9 => x - 9,
                (true, x) => x,
                (false, _) => d,
            }
        })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

/// The path of `pattern` for module `index` (`{i}` replaced).
pub fn for_index(pattern: &str, index: usize) -> PathBuf {
    PathBuf::from(pattern.replace("{i}", &index.to_string()))
}

impl FleetConfig {
    /// The configuration of module number `n` of this fleet (0-based within it).
    fn module(&self, n: usize, shared: Option<SocketAddr>) -> std::io::Result<Config> {
        let index = self.first_index + n;
        let mut config = self.base.clone();
        config.personality.imei = fleet_imei(index);
        config.personality.iccid = fleet_iccid(index);
        config.tty_link = self.tty_link.as_deref().map(|p| for_index(p, index));
        if let Some(root) = &self.ufs_root {
            let dir = root.join(index.to_string());
            std::fs::create_dir_all(&dir)?;
            config.ufs_dir = Some(dir);
        }
        config.ftp_server = match (&self.server, shared) {
            (FleetServer::PerModule, _) => Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            _ => None,
        };
        config.scenario = match self.scenarios.len() {
            0 => None,
            k => {
                let mut s = self.scenarios[n % k].clone();
                s.module.personality.imei = fleet_imei(index);
                s.module.personality.iccid = fleet_iccid(index);
                Some(s)
            }
        };
        Ok(config)
    }
}

/// The shared server's root: the configured one, or a temporary copy of the fixtures.
fn shared_root(base: &Config) -> std::io::Result<(PathBuf, Option<tempfile::TempDir>)> {
    if let Some(r) = &base.ftp_root {
        return Ok((r.clone(), None));
    }
    let t = tempfile::Builder::new()
        .prefix("bg95-fleet-root-")
        .tempdir()?;
    crate::emulator::copy_tree(&fixtures_dir().join("ftp-root"), t.path())?;
    Ok((t.path().to_path_buf(), Some(t)))
}

/// Start the shared server, if the fleet has one.
async fn start_shared(
    cfg: &FleetConfig,
) -> std::io::Result<(Option<EmbeddedServer>, Option<tempfile::TempDir>)> {
    let FleetServer::Shared(addr) = cfg.server else {
        return Ok((None, None));
    };
    let (root, temp) = shared_root(&cfg.base)?;
    let server = start_embedded(addr, root)
        .await
        .map_err(|e| std::io::Error::other(format!("embedded FTP server on {addr}: {e}")))?;
    Ok((Some(server), temp))
}

/// Run a fleet until `shutdown` turns true. `ready` receives every module's start once
/// all take AT input. A module that fails to start stops the fleet with its error.
pub async fn run_fleet(
    cfg: FleetConfig,
    ready: oneshot::Sender<FleetStarted>,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let (server, _root) = start_shared(&cfg).await?;
    let shared = server.as_ref().map(EmbeddedServer::local_addr);
    let mut modules = JoinSet::new();
    let mut waiting = Vec::with_capacity(cfg.count);
    for n in 0..cfg.count {
        let config = cfg.module(n, shared)?;
        let (tx, rx) = oneshot::channel();
        modules.spawn(run(config, tx, shutdown.clone()));
        waiting.push(rx);
    }
    let mut started = Vec::with_capacity(cfg.count);
    for rx in waiting {
        match rx.await {
            Ok(s) => started.push(s),
            // That module ended before it was ready: its error is in the join set.
            Err(_) => return first_error(&mut modules).await,
        }
    }
    let _ = ready.send(FleetStarted {
        modules: started,
        shared_ftp: shared,
    });
    let result = first_error(&mut modules).await;
    drop(server);
    result
}

/// Wait for every module; the first error (or panic) ends the wait with it.
async fn first_error(modules: &mut JoinSet<std::io::Result<()>>) -> std::io::Result<()> {
    while let Some(r) = modules.join_next().await {
        r.map_err(std::io::Error::other)??;
    }
    Ok(())
}

/// A fleet running on its own thread and runtime (2 workers, as `bg95-emu fleet`), for
/// Rust tests and benches; dropping it stops every module.
pub struct Fleet {
    started: FleetStarted,
    shutdown: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Fleet {
    /// Start `cfg`; returns once every module takes AT input.
    pub fn spawn(cfg: FleetConfig) -> std::io::Result<Fleet> {
        let background = Background::spawn("bg95-fleet", "fleet", move |ready, shutdown| {
            run_fleet(cfg, ready, shutdown)
        })?;
        Ok(Fleet {
            started: background.started,
            shutdown: background.shutdown,
            thread: Some(background.thread),
        })
    }

    /// Module `n`'s tty (0-based within this fleet).
    pub fn tty_path(&self, n: usize) -> &Path {
        &self.started.modules[n].tty
    }

    /// What each module started with.
    pub fn modules(&self) -> &[Started] {
        &self.started.modules
    }

    /// The shared embedded server's address.
    pub fn shared_ftp(&self) -> Option<SocketAddr> {
        self.started.shared_ftp
    }

    /// Stop every module and wait for them.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> std::io::Result<()> {
        stop_background(&self.shutdown, &mut self.thread, "fleet")
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

/// `bg95-emu fleet`: run `cfg` until Ctrl-C or SIGTERM, printing each module's tty (and
/// the shared server) once all take AT input.
pub fn serve_fleet(cfg: FleetConfig) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let first = cfg.first_index;
    rt.block_on(async move {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let mut fleet = tokio::spawn(run_fleet(cfg, ready_tx, shutdown_rx));
        tokio::spawn(async move {
            if let Ok(started) = ready_rx.await {
                print_started(first, &started);
            }
        });
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        tokio::select! {
            r = &mut fleet => return r.map_err(|e| e.to_string())?.map_err(|e| e.to_string()),
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        let _ = shutdown_tx.send(true);
        fleet
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    })
}

/// One line per module (`module <i>: tty <path>[ ftp <addr>]`), then `ready: <n> modules`.
fn print_started(first: usize, started: &FleetStarted) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Some(addr) = started.shared_ftp {
        let _ = writeln!(out, "ftp: ftp://test:test@{addr}/ (shared)");
    }
    for (n, m) in started.modules.iter().enumerate() {
        let ftp = m.ftp_addr.map(|a| format!(" ftp {a}")).unwrap_or_default();
        let _ = writeln!(out, "module {}: tty {}{ftp}", first + n, m.tty.display());
    }
    let _ = writeln!(out, "ready: {} modules", started.modules.len());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_follow_the_index_with_a_valid_check_digit() {
        assert_eq!(fleet_imei(0), "866425030000006");
        assert_eq!(fleet_imei(42), "866425030000428");
        assert_eq!(fleet_iccid(7), "89860012340000000072");
        assert_ne!(fleet_imei(1), fleet_imei(2));
        // The Luhn check of a known IMEI (from the GSMA's example, 49015420323751-8).
        assert_eq!(with_luhn("49015420323751".into()), "490154203237518");
        assert_eq!(for_index("tty/bg95-{i}", 12), PathBuf::from("tty/bg95-12"));
    }
}
