//! The control API (`serve --control ADDR|unix:PATH`, docs/control-api.md): HTTP + JSON
//! while the emulator runs — the module's state, its UFS files, faults (the scenario
//! `[[fault]]` schema as JSON), module actions now, the transcript and its events (SSE).
//!
//! The module is never held up by the API: handlers ask the runtime's loop through a
//! bounded channel and the loop answers at once (a snapshot, a UFS operation); faults go to
//! the [`FaultEngine`] (shared, never awaited by the module); the transcript comes from a
//! [`tap::Tap`] that keeps bounded memory and drops lines for a subscriber that lags.

pub mod api;
pub mod fault_json;
pub mod tap;

use std::net::SocketAddr;
use std::path::PathBuf;

use bg95_core::{CmeError, Module, Status};
use tokio::sync::{mpsc, oneshot};

/// Requests the runtime's loop answers (it owns the module).
#[derive(Debug)]
pub enum ModuleRequest {
    Status(oneshot::Sender<Status>),
    UfsList(oneshot::Sender<Result<Vec<(String, u64)>, CmeError>>),
    UfsRead(String, oneshot::Sender<Result<Vec<u8>, CmeError>>),
    UfsWrite(String, Vec<u8>, oneshot::Sender<Result<(), CmeError>>),
    UfsDelete(String, oneshot::Sender<Result<(), CmeError>>),
    /// The serial line's DTR (RFC 2217 SET-CONTROL): `Module::handle_dtr`.
    Dtr(bool),
    /// The serial line's rate (RFC 2217 SET-BAUDRATE): module→host bytes are paced at it
    /// from now on, as with `--baud` (the writer's business, not the module's).
    Pace(u32),
}

/// How many requests may wait for the loop (handlers wait for room; the loop never does).
pub const REQUESTS_WAITING: usize = 16;

impl ModuleRequest {
    /// Answer from the module (the loop calls this; a caller that went away is ignored).
    /// Returns a new pace for the writer, if the request sets one.
    pub fn answer(self, module: &mut Module, now: bg95_core::Instant) -> Option<u32> {
        match self {
            ModuleRequest::Dtr(on) => module.handle_dtr(now, on),
            ModuleRequest::Pace(baud) => return Some(baud),
            ModuleRequest::Status(tx) => {
                let _ = tx.send(module.status());
            }
            ModuleRequest::UfsList(tx) => {
                let _ = tx.send(module.ufs_list());
            }
            ModuleRequest::UfsRead(name, tx) => {
                let _ = tx.send(module.ufs_read(&name));
            }
            ModuleRequest::UfsWrite(name, data, tx) => {
                let _ = tx.send(module.ufs_write(&name, &data));
            }
            ModuleRequest::UfsDelete(name, tx) => {
                let _ = tx.send(module.ufs_delete(&name));
            }
        }
        None
    }
}

/// Where the control API listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl std::str::FromStr for ControlAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs a path (unix:/tmp/bg95.sock)".into());
            }
            return Ok(ControlAddr::Unix(PathBuf::from(path)));
        }
        s.parse::<SocketAddr>()
            .map(ControlAddr::Tcp)
            .map_err(|e| format!("{s}: {e} (expected HOST:PORT or unix:PATH)"))
    }
}

impl std::fmt::Display for ControlAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlAddr::Tcp(a) => write!(f, "http://{a}"),
            ControlAddr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// The control API's settings.
#[derive(Debug, Clone)]
pub struct ControlConfig {
    pub addr: ControlAddr,
    /// Required as `Authorization: Bearer <token>` on every request when set; without one
    /// the API listens on loopback (or a unix socket) only.
    pub token: Option<String>,
}

impl ControlConfig {
    /// Refuse a TCP address off loopback without a token: the API can read the module's
    /// files and cut its power.
    pub fn check(&self) -> Result<(), String> {
        match (&self.addr, &self.token) {
            (ControlAddr::Tcp(a), None) if !a.ip().is_loopback() => Err(format!(
                "--control {a}: not a loopback address; pass --control-token to serve it there"
            )),
            (_, Some(t)) if t.is_empty() => Err("--control-token: empty".into()),
            _ => Ok(()),
        }
    }
}

/// A bound listener, ready to serve.
pub enum Bound {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener, PathBuf),
}

impl Bound {
    /// Bind `addr` (a unix socket path left over by an earlier run is replaced).
    pub async fn bind(addr: &ControlAddr) -> std::io::Result<Bound> {
        match addr {
            ControlAddr::Tcp(a) => Ok(Bound::Tcp(tokio::net::TcpListener::bind(a).await?)),
            ControlAddr::Unix(p) => {
                if std::fs::symlink_metadata(p)
                    .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
                {
                    std::fs::remove_file(p)?;
                }
                Ok(Bound::Unix(tokio::net::UnixListener::bind(p)?, p.clone()))
            }
        }
    }

    /// The address bound (the port chosen for port 0).
    pub fn local(&self) -> std::io::Result<ControlAddr> {
        match self {
            Bound::Tcp(l) => l.local_addr().map(ControlAddr::Tcp),
            Bound::Unix(_, p) => Ok(ControlAddr::Unix(p.clone())),
        }
    }

    /// Serve `app` until `shutdown` turns true; a unix socket file is removed after. Not
    /// a graceful shutdown: an event stream never ends by itself, and the emulator's end
    /// must not wait for API clients.
    pub async fn serve(
        self,
        app: axum::Router,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        let stop = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        match self {
            Bound::Tcp(l) => tokio::select! {
                r = std::future::IntoFuture::into_future(axum::serve(l, app)) => r,
                () = stop => Ok(()),
            },
            Bound::Unix(l, p) => {
                let r = tokio::select! {
                    r = std::future::IntoFuture::into_future(axum::serve(l, app)) => r,
                    () = stop => Ok(()),
                };
                let _ = std::fs::remove_file(p);
                r
            }
        }
    }
}

/// The handles the API works through.
#[derive(Clone)]
pub struct Control {
    pub module: mpsc::Sender<ModuleRequest>,
    pub engine: crate::scenario::FaultEngine,
    pub tap: tap::Tap,
    pub token: Option<String>,
    /// The raw JSON of each fault added through the API, by name (shown back by
    /// `GET /v1/faults`).
    pub added:
        std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, serde_json::Value>>>,
    /// Counts API actions and unnamed faults, for their names (`action-1`, `api-1`, …).
    pub counter: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Turns true when the emulator stops (event streams end).
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}
