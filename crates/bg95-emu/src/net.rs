//! The module's view of the network, shared by every part of the runtime that touches it:
//! one [`Resolver`] (AT+QFTPOPEN, AT+QIDNSGIP and AT+QPING all look names up through it, so a
//! scenario's DNS table or a DNS fault applies to all three alike) and the [`Traffic`]
//! counters behind AT+QGDCNT (the FTP driver adds every byte it sends and receives on the
//! control and data connections; the runtime hands the totals to the core).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a system lookup may take before it counts as failed. A real module gives up
/// on DNS too; a host must never wait forever for `+QIURC: "dnsgip"` or `+QFTPOPEN:`.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a name did not resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No address for the name (NXDOMAIN, no records, or not in an exclusive table).
    #[error("name not found")]
    NotFound,
    /// The lookup did not finish within its deadline.
    #[error("lookup timed out")]
    Timeout,
}

/// Names to addresses: IP literals as they are, then a fixed table (a scenario's
/// `[network.dns]`), then the system resolver unless the table is exclusive.
#[derive(Debug, Clone)]
pub struct Resolver {
    inner: Arc<ResolverInner>,
}

#[derive(Debug)]
struct ResolverInner {
    /// Lower-case host name → addresses.
    table: HashMap<String, Vec<IpAddr>>,
    /// Names missing from the table do not resolve at all.
    exclusive: bool,
    timeout: Duration,
    /// Faults consulted before every lookup.
    faults: Arc<dyn FaultSeam>,
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver::system()
    }
}

impl Resolver {
    /// The system resolver alone.
    pub fn system() -> Resolver {
        Resolver::with_table(HashMap::new(), false)
    }

    /// A fixed table in front of the system resolver (or instead of it, when `exclusive`).
    pub fn with_table(table: HashMap<String, Vec<IpAddr>>, exclusive: bool) -> Resolver {
        let table = table
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        Resolver {
            inner: Arc::new(ResolverInner {
                table,
                exclusive,
                timeout: RESOLVE_TIMEOUT,
                faults: Arc::new(NoFaults),
            }),
        }
    }

    /// The same resolver, with `faults` consulted before every lookup.
    pub fn with_faults(self, faults: Arc<dyn FaultSeam>) -> Resolver {
        let inner = &self.inner;
        Resolver {
            inner: Arc::new(ResolverInner {
                table: inner.table.clone(),
                exclusive: inner.exclusive,
                timeout: inner.timeout,
                faults,
            }),
        }
    }

    /// Every address of `host`, in the order the source gave them.
    pub async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Some((e, delay)) = self.inner.faults.on_resolve_fault(host) {
            tracing::info!(target: "bg95::net", "resolve {host:?}: fault {e} after {delay:?}");
            tokio::time::sleep(delay).await;
            return Err(e);
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        if let Some(addrs) = self.inner.table.get(&host.to_ascii_lowercase()) {
            return Ok(addrs.clone());
        }
        if self.inner.exclusive || host.is_empty() {
            return Err(ResolveError::NotFound);
        }
        match tokio::time::timeout(self.inner.timeout, tokio::net::lookup_host((host, 0))).await {
            Err(_) => Err(ResolveError::Timeout),
            Ok(Err(e)) => {
                tracing::debug!(target: "bg95::net", "resolve {host:?}: {e}");
                Err(ResolveError::NotFound)
            }
            Ok(Ok(addrs)) => {
                let mut out: Vec<IpAddr> = Vec::new();
                for a in addrs.map(|a| a.ip()) {
                    if !out.contains(&a) {
                        out.push(a);
                    }
                }
                if out.is_empty() {
                    Err(ResolveError::NotFound)
                } else {
                    Ok(out)
                }
            }
        }
    }

    /// Every socket address of `host:port`.
    pub async fn lookup_socket(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Vec<SocketAddr>, ResolveError> {
        let ips = self.lookup(host).await?;
        Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }
}

/// Bytes the module sent and received on the network since the runtime last took them.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    sent: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
}

impl Traffic {
    pub fn add_sent(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn add_received(&self, n: usize) {
        self.received.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The bytes counted since the last call, as `(sent, received)`; the counters restart
    /// from zero.
    pub fn take(&self) -> (u64, u64) {
        (
            self.sent.swap(0, Ordering::Relaxed),
            self.received.swap(0, Ordering::Relaxed),
        )
    }
}

/// Which connection a fault applies to (`conn = "control"` / `"data"` in scenarios).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Conn {
    Control,
    Data,
}

/// Which way data moves on a data connection (`direction = "download"` / `"upload"`, or
/// `"get"` / `"put"`, in scenarios).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Server → module (RETR, LIST, NLST, MLSD).
    #[serde(alias = "get")]
    Download,
    /// Module → server (STOR, APPE).
    #[serde(alias = "put")]
    Upload,
}

/// What happens to a TCP connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFault {
    /// As if the peer answered RST (ECONNREFUSED).
    Refused,
    /// As if no route existed (EHOSTUNREACH / ENETUNREACH).
    Unreachable,
    /// The SYN is never answered: the connect hangs until `after`, then times out.
    TimedOut { after: Duration },
    /// Connect normally, but only after this delay.
    Delay(Duration),
    /// The TLS handshake on this connection fails (as a bad certificate would).
    TlsFailure,
}

/// What happens to one FTP command the module sends (and its reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyFault {
    /// The server's reply is replaced by this one (e.g. `530 Login incorrect.`). The real
    /// server does not see the command.
    Replace { code: u16, text: String },
    /// The reply arrives only after this delay (past rsptimeout → 609).
    Delay(Duration),
    /// The server closes the control connection instead of answering.
    Close,
    /// This reply arrives first, before the server's real one (which the driver then reads
    /// as the reply to nothing, as a real client would).
    Insert { code: u16, text: String },
}

/// What happens on a data connection, decided as bytes flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataFault {
    /// The connection is reset (RST) once `after` bytes have passed.
    ResetAfter { after: u64 },
    /// The connection is closed cleanly (FIN) once `after` bytes have passed.
    CloseAfter { after: u64 },
    /// No more bytes move once `after` bytes have passed; the connection stays open.
    StallAfter { after: u64 },
    /// Bytes move at most this fast.
    Bandwidth { bytes_per_sec: u64 },
    /// Each chunk waits this long (plus up to `jitter`, seeded by the scenario).
    Latency { delay: Duration, jitter: Duration },
    /// Closing the connection takes this long.
    SlowClose(Duration),
    /// The transfer's final reply (226 or the server's error) is met as `reply` once
    /// `after` bytes have passed (a server that gives up: 426, 451, 421 closing the session).
    FinalReply { after: u64, reply: ReplyFault },
}

/// Where faults enter below the FTP driver's step classification (smoltcp's
/// `FaultInjector` idea): the driver asks the seam at each point and then meets the fault as
/// it would meet a real failure, so the core's error table decides what the host reads.
/// Every method has a no-fault default; [`NoFaults`] is the production seam.
pub trait FaultSeam: Send + Sync + std::fmt::Debug {
    /// Before `host` is looked up (QFTPOPEN, QIDNSGIP, QPING): `Some` fails the lookup.
    fn on_resolve(&self, _host: &str) -> Option<ResolveError> {
        None
    }
    /// As `on_resolve`, with how long the lookup takes before it fails (a DNS timeout
    /// waits; a missing name fails at once).
    fn on_resolve_fault(&self, host: &str) -> Option<(ResolveError, Duration)> {
        self.on_resolve(host).map(|e| (e, Duration::ZERO))
    }
    /// Before a TCP connect.
    fn on_connect(&self, _conn: Conn, _addr: SocketAddr) -> Option<ConnectFault> {
        None
    }
    /// Before the module sends an FTP command (`verb` upper case: USER, PASS, CWD, PASV,
    /// EPSV, PORT, RETR, STOR, …).
    fn on_command(&self, _verb: &str) -> Option<ReplyFault> {
        None
    }
    /// When transfer number `transfer` (counted from 1 since boot) opens its data
    /// connection in `dir`: the faults for its bytes.
    fn on_data(&self, _transfer: u64, _dir: Direction) -> Vec<DataFault> {
        Vec::new()
    }
    /// As bytes pass on transfer number `transfer`: `total` bytes so far in `dir` (lets
    /// a scenario act "after 300 KB of the upload" at the module, e.g. a reset or PDP loss).
    fn on_data_progress(&self, _transfer: u64, _dir: Direction, _total: u64) {}
    /// Transfer number `transfer` reads its final reply: `Some` replaces it (a reply
    /// fault that fired while the transfer ran).
    fn on_final_reply(&self, _transfer: u64) -> Option<ReplyFault> {
        None
    }
    /// Woken when a fault may close an idle session (`None`: never).
    fn idle_signal(&self) -> Option<Arc<tokio::sync::Notify>> {
        None
    }
    /// While a session is idle: true if the server closes its control connection now.
    fn on_idle(&self) -> bool {
        false
    }
}

/// The seam of a module without faults.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFaults;

impl FaultSeam for NoFaults {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_table_and_exclusive() {
        let mut table = HashMap::new();
        table.insert(
            "FTP.example.com".to_string(),
            vec!["127.0.0.1".parse().unwrap()],
        );
        let r = Resolver::with_table(table, true);
        assert_eq!(
            r.lookup("ftp.EXAMPLE.com").await,
            Ok(vec!["127.0.0.1".parse().unwrap()])
        );
        assert_eq!(
            r.lookup("10.0.0.7").await,
            Ok(vec!["10.0.0.7".parse().unwrap()])
        );
        assert_eq!(r.lookup("[::1]").await, Ok(vec!["::1".parse().unwrap()]));
        assert_eq!(r.lookup("localhost").await, Err(ResolveError::NotFound));
        assert_eq!(r.lookup("").await, Err(ResolveError::NotFound));
    }

    #[tokio::test]
    async fn a_fault_fails_the_lookup() {
        #[derive(Debug)]
        struct NoDns;
        impl FaultSeam for NoDns {
            fn on_resolve(&self, host: &str) -> Option<ResolveError> {
                (host == "ftp.example.com").then_some(ResolveError::NotFound)
            }
        }
        let r = Resolver::system().with_faults(Arc::new(NoDns));
        assert_eq!(
            r.lookup("ftp.example.com").await,
            Err(ResolveError::NotFound)
        );
        assert!(r.lookup("127.0.0.1").await.is_ok());
    }

    #[tokio::test]
    async fn system_resolves_localhost() {
        let r = Resolver::system();
        let addrs = r.lookup_socket("localhost", 21).await.unwrap();
        assert!(addrs.iter().all(|a| a.port() == 21 && a.ip().is_loopback()));
    }

    #[test]
    fn traffic_take_restarts() {
        let t = Traffic::default();
        t.add_sent(3);
        t.clone().add_received(5);
        assert_eq!(t.take(), (3, 5));
        assert_eq!(t.take(), (0, 0));
    }
}
