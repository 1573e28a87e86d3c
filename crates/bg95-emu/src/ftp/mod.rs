//! The FTP driver: the runtime side of the core's FTP seam. It owns the control and data
//! connections (suppaftp on tokio, TLS through rustls/ring), performs one [`FtpRequest`] at
//! a time and reports [`FtpEvent`]s. It decides nothing a module decides: it reports what
//! happened, and the core maps it to `<err>,<protocol_error>`.
//!
//! Contract (see `bg95_core::ftp::FtpRequest` for each request's events):
//! - requests are handled in order, one at a time; `Abort` is honoured even in the middle of
//!   a transfer (also while blocked on a full event channel), drops every connection and is
//!   answered with `FtpEvent::Aborted` (events of the aborted request come before it);
//! - download chunks go out through a bounded channel, so a consumer that stops receiving
//!   stops the download (backpressure reaches the server through TCP);
//! - a kept-open upload (`UploadEnd { close: false }`) stays open until the next
//!   `UploadData`/`UploadEnd`; any other request first finishes it silently;
//! - while idle, a control connection the server closes is reported as `ControlClosed`.
//!
//! Failure mapping (what the core receives in `Failure`):
//! - name does not resolve → `Resolve`; TCP refused → `Refused`; other connect errors →
//!   `Unreachable`;
//! - TLS handshake/verification failure, unusable TLS settings (seclevel ≥ 1 without CA,
//!   seclevel 2 without client cert) or `AUTH TLS` refused (with its code) → `Tls`;
//! - a negative reply to a command → `Reply` with the code (e.g. 530, 550, 500);
//! - negative reply to PASV/EPSV/PORT/EPRT, data connect/accept failure, 425 → `DataOpen`;
//! - data socket error in the middle of a download → `DataClosed`;
//! - upload write/shutdown failure → `PeerReset`;
//! - control EOF/reset while a reply is awaited → `ControlClosed` (the session is gone);
//!   `Close` answers `Done(Err(ControlClosed))` when the session was already gone.
//!
//! A request that arrives while another is running (other than `Abort`, `UploadData`,
//! `UploadEnd` in an upload) waits for its turn. `Abort` drops the session at once; requests
//! queued before it are void (nothing is reported for them after the `Aborted` marker).

//!
//! Files: `session.rs` (open, commands, close), `data.rs` (transfers), `task.rs` (the task
//! loop), `tls.rs` (rustls configurations and the connector given to suppaftp),
//! `faulty.rs` (the data-stream end of the fault seam).
//!
//! The network seam ([`DriverNet`]): every name lookup goes through its [`Resolver`], every
//! byte sent and received is added to its [`Traffic`], and its [`FaultSeam`] is consulted at
//! the resolver, each connect (control and data), each command and each data stream.

mod data;
mod faulty;
mod session;
mod task;
mod tls;

use std::sync::Arc;

use bg95_core::ftp::{FtpEvent, FtpRequest};
use tokio::sync::mpsc;

use crate::net::{FaultSeam, NoFaults, Resolver, Traffic};

/// The log target prefix of the FTP client library.
pub const CLIENT_LOG_TARGET: &str = "suppaftp";

/// Whether a log event may be shown: never one of suppaftp's. suppaftp logs every command
/// line it sends (`CC OUT: PASS <password>` at trace level, `Sending custom command: ...`
/// at debug), through the `log` crate, which tracing-subscriber bridges. Whatever filter a
/// user sets (`BG95_LOG=trace`, `BG95_LOG=suppaftp=trace`), this per-layer filter drops
/// them; the driver logs each command and reply itself under `bg95::ftp`, with `PASS ****`.
pub fn log_allowed(meta: &tracing::Metadata<'_>) -> bool {
    !meta.target().starts_with(CLIENT_LOG_TARGET)
}

/// How many download chunks may wait in the event channel.
pub const EVENT_QUEUE: usize = 2;
/// The largest download chunk.
pub const CHUNK: usize = 16 * 1024;

/// Tunables of a driver task (tests use small values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverConfig {
    /// Capacity of the event channel (download backpressure).
    pub event_queue: usize,
    /// The largest download chunk.
    pub chunk: usize,
    /// Capacity of the request channel.
    pub request_queue: usize,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            event_queue: EVENT_QUEUE,
            chunk: CHUNK,
            request_queue: 8,
        }
    }
}

/// The network a driver works on (see the module docs). `Default`: the system resolver,
/// fresh counters, no faults.
#[derive(Debug, Clone)]
pub struct DriverNet {
    pub resolver: Resolver,
    pub traffic: Traffic,
    pub faults: Arc<dyn FaultSeam>,
    /// Passive data connections go to the control peer whatever PASV names
    /// (`--pasv-same-host`), as with `data_address` 1.
    pub pasv_same_host: bool,
}

impl Default for DriverNet {
    fn default() -> Self {
        DriverNet::with_faults(Arc::new(NoFaults))
    }
}

impl DriverNet {
    /// The system resolver and fresh counters, with `faults` (also consulted by the
    /// resolver).
    pub fn with_faults(faults: Arc<dyn FaultSeam>) -> DriverNet {
        DriverNet {
            resolver: Resolver::system().with_faults(faults.clone()),
            traffic: Traffic::default(),
            faults,
            pasv_same_host: false,
        }
    }
}

/// The handle of a running driver task.
pub struct FtpDriver {
    pub requests: mpsc::Sender<FtpRequest>,
    pub events: mpsc::Receiver<FtpEvent>,
}

impl FtpDriver {
    /// Start the driver task on the current tokio runtime.
    pub fn spawn() -> FtpDriver {
        FtpDriver::spawn_with(DriverConfig::default())
    }

    /// Start a driver task with explicit tunables. The task ends when `requests` is
    /// dropped (or `events` is), dropping every connection.
    pub fn spawn_with(config: DriverConfig) -> FtpDriver {
        FtpDriver::spawn_net(config, DriverNet::default())
    }

    /// Start a driver task on `net` (its resolver, traffic counters and fault seam).
    pub fn spawn_net(config: DriverConfig, net: DriverNet) -> FtpDriver {
        let (req_tx, req_rx) = mpsc::channel::<FtpRequest>(config.request_queue.max(1));
        let (ev_tx, ev_rx) = mpsc::channel::<FtpEvent>(config.event_queue.max(1));
        tokio::spawn(task::Driver::new(req_rx, ev_tx, config.chunk, net).run());
        FtpDriver {
            requests: req_tx,
            events: ev_rx,
        }
    }
}
