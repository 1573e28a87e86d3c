//! The driver task: one FTP session, one request at a time.
//!
//! The FTP client is written directly on tokio + tokio-rustls rather than through suppaftp's
//! high-level calls, because the core needs to know exactly which step failed: a negative
//! reply to PASV/PORT (data connection could not be set up) versus to the transfer command,
//! a data-socket connect failure versus a control-socket failure, and the raw MDTM text
//! (suppaftp parses it into a `NaiveDateTime` and drops fractions). It also keeps
//! the control reply reader cancellation safe, which the idle EOF watch relies on.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bg95_core::ftp::{
    DownloadSource, Failure, FailureKind, FtpEvent, FtpRequest, OpenParams, Reply, Security,
    TlsSettings,
};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;

use super::control::{closed, Control, Stream};
use super::tls;

/// How long an upload's TLS data connection may take to close after our close_notify (its
/// unread session tickets would otherwise make the kernel reset the socket, and the server
/// report the upload as failed).
const TLS_DRAIN: Duration = Duration::from_secs(2);

/// Why the driver stopped working on the current request.
enum Stop {
    /// `Abort` arrived: drop every connection, then report `FtpEvent::Aborted`.
    Abort,
    /// The request channel closed or the event receiver is gone: end the task.
    Shutdown,
}

type Outcome = Result<Reply, Failure>;

fn fail(kind: FailureKind, reply: u16) -> Failure {
    Failure::new(kind, reply)
}

/// TLS for data connections (PROT P).
struct DataTls {
    connector: TlsConnector,
    name: ServerName<'static>,
    timeout: Option<Duration>,
}

/// An upload's data connection, possibly kept open across `UploadEnd { close: false }`.
struct Upload {
    data: Stream,
    /// A write failed; reported at the next `UploadEnd`.
    failed: Option<Failure>,
    /// The server's final reply (or the control connection's end), when it came while the
    /// upload was still open between requests.
    early_reply: Option<Result<super::control::Reply, Failure>>,
}

struct Session {
    ctrl: Control,
    passive: bool,
    data_to_control: bool,
    data_tls: Option<DataTls>,
    upload: Option<Upload>,
    /// A REST offset was sent and its transfer did not end with a 2xx. libunftp keeps the
    /// offset for the next RETR/STOR in that case (it resets it only after a successful
    /// transfer), so the next transfer from offset 0 sends `REST 0` first.
    rest_armed: bool,
}

pub(crate) struct Driver {
    rx: mpsc::Receiver<FtpRequest>,
    tx: mpsc::Sender<FtpEvent>,
    chunk: usize,
    /// Requests that arrived while another one was running (other than `Abort`).
    pending: VecDeque<FtpRequest>,
    session: Option<Session>,
}

/// How many requests may wait inside the driver while one runs (typically `UploadData`
/// arriving while the previous chunk is still being written).
const PENDING_LIMIT: usize = 8;

/// Run `fut` while watching the request channel: `Abort` cancels it (dropping whatever
/// it holds), other requests wait in `pending` for their turn.
///
/// `pending` is bounded: once it holds [`PENDING_LIMIT`] requests the channel is no longer
/// read, so a sender that keeps sending (upload data faster than the server takes it) is
/// held back by the bounded request channel instead of growing memory here. The price: an
/// `Abort` queued behind those requests is seen only when the running write makes progress
/// (or fails). A runtime that must abort a stalled upload at once can drop the driver
/// instead (dropping it drops every connection).
async fn guarded<F: Future>(
    rx: &mut mpsc::Receiver<FtpRequest>,
    pending: &mut VecDeque<FtpRequest>,
    fut: F,
) -> Result<F::Output, Stop> {
    tokio::pin!(fut);
    loop {
        tokio::select! {
            out = &mut fut => return Ok(out),
            req = rx.recv(), if pending.len() < PENDING_LIMIT => match req {
                None => return Err(Stop::Shutdown),
                Some(FtpRequest::Abort) => return Err(Stop::Abort),
                Some(other) => {
                    if !matches!(other, FtpRequest::UploadData(_) | FtpRequest::UploadEnd { .. }) {
                        tracing::warn!(target: "bg95::ftp", "request {} arrived while busy; queued", other.kind());
                    }
                    pending.push_back(other);
                }
            }
        }
    }
}

impl Driver {
    pub(crate) fn new(
        rx: mpsc::Receiver<FtpRequest>,
        tx: mpsc::Sender<FtpEvent>,
        chunk: usize,
    ) -> Driver {
        Driver {
            rx,
            tx,
            chunk: chunk.max(1),
            pending: VecDeque::new(),
            session: None,
        }
    }

    pub(crate) async fn run(mut self) {
        while let Some(req) = self.next_request().await {
            if self.handle(req).await.is_err() {
                break;
            }
        }
        tracing::debug!(target: "bg95::ftp", "driver task ends");
    }

    /// The next request; while idle with an open session, watch the control connection.
    ///
    /// The watch reads replies (not `peek`): a read goes through TLS correctly (a peek on
    /// the TCP socket would see TLS records such as session tickets or close_notify as
    /// "data" and could never tell EOF from an unread record), and `Control::reply` is
    /// cancellation safe, so dropping it when a request arrives loses nothing. A complete
    /// reply while idle (e.g. `421 Timeout`) is unsolicited: logged and skipped; EOF or a
    /// reset ends the session and is reported once as `FtpEvent::ControlClosed`.
    async fn next_request(&mut self) -> Option<FtpRequest> {
        if let Some(req) = self.pending.pop_front() {
            return Some(req);
        }
        loop {
            let Some(session) = self.session.as_mut() else {
                return self.rx.recv().await;
            };
            if let Some(upload) = session.upload.as_mut() {
                // Between the requests of an upload: a reply now is the upload's final
                // reply (e.g. 426 after the server dropped the data connection); keep it.
                tokio::select! {
                    biased;
                    req = self.rx.recv() => return req,
                    reply = session.ctrl.reply(), if upload.early_reply.is_none() => {
                        tracing::debug!(target: "bg95::ftp", "final reply while the upload is open: {reply:?}");
                        upload.early_reply = Some(reply);
                        continue;
                    }
                }
            }
            tokio::select! {
                biased;
                req = self.rx.recv() => return req,
                reply = session.ctrl.reply() => match reply {
                    Ok(reply) => {
                        tracing::info!(target: "bg95::ftp", "unsolicited reply while idle: {}", reply.lines.join(" / "));
                    }
                    Err(failure) => {
                        tracing::info!(target: "bg95::ftp", "server closed the control connection while idle ({:?})", failure.kind);
                        self.session = None;
                        if self.tx.send(FtpEvent::ControlClosed).await.is_err() {
                            return None;
                        }
                    }
                },
            }
        }
    }

    async fn done(&mut self, outcome: Outcome) -> Result<(), Stop> {
        if let Err(f) = &outcome {
            tracing::debug!(target: "bg95::ftp", "request failed: {:?} {}", f.kind, f.reply);
            if f.kind == FailureKind::ControlClosed {
                self.session = None;
            }
        }
        self.tx
            .send(FtpEvent::Done(outcome))
            .await
            .map_err(|_| Stop::Shutdown)
    }

    /// Handle one request. `Err` only for `Stop::Shutdown`.
    async fn handle(&mut self, req: FtpRequest) -> Result<(), ()> {
        tracing::debug!(target: "bg95::ftp", "request {}", req.kind());
        match self.handle_inner(req).await {
            Ok(()) => Ok(()),
            Err(Stop::Abort) => {
                tracing::debug!(target: "bg95::ftp", "abort: dropping every connection");
                self.session = None;
                // Requests that arrived before the Abort belong to the abandoned work (the
                // core sends one request at a time): void, never answered after the marker.
                self.pending.clear();
                // The marker: whatever the aborted request sent is already ahead of it.
                self.tx.send(FtpEvent::Aborted).await.map_err(|_| ())
            }
            Err(Stop::Shutdown) => Err(()),
        }
    }

    async fn handle_inner(&mut self, req: FtpRequest) -> Result<(), Stop> {
        match req {
            FtpRequest::Abort => Err(Stop::Abort),
            FtpRequest::UploadData(bytes) => self.upload_data(bytes).await,
            FtpRequest::UploadEnd { close } => self.upload_end(close).await,
            other => {
                self.finish_kept_upload().await?;
                self.request(other).await
            }
        }
    }

    /// A kept-open upload ends silently before any request that is not part of it.
    async fn finish_kept_upload(&mut self) -> Result<(), Stop> {
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        let Some(upload) = session.upload.take() else {
            return Ok(());
        };
        tracing::debug!(target: "bg95::ftp", "finishing the kept-open upload");
        let outcome = guarded(
            &mut self.rx,
            &mut self.pending,
            finish_upload(session, upload),
        )
        .await?;
        if let Err(f) = outcome {
            tracing::info!(target: "bg95::ftp", "kept-open upload ended with {:?} {}", f.kind, f.reply);
            if f.kind == FailureKind::ControlClosed {
                self.session = None;
            }
        }
        Ok(())
    }

    async fn request(&mut self, req: FtpRequest) -> Result<(), Stop> {
        if let FtpRequest::Open(params) = req {
            // A new Open replaces whatever session there was.
            self.session = None;
            let opened = guarded(&mut self.rx, &mut self.pending, open(params)).await?;
            return match opened {
                Ok(session) => {
                    self.session = Some(session);
                    self.done(Ok(Reply::Ok)).await
                }
                Err(f) => self.done(Err(f)).await,
            };
        }
        if let FtpRequest::Close = req {
            let Some(mut session) = self.session.take() else {
                return self.done(Err(closed())).await;
            };
            let quit = guarded(
                &mut self.rx,
                &mut self.pending,
                session.ctrl.command("QUIT"),
            )
            .await?;
            drop(session);
            return self.done(quit.map(|_| Reply::Ok)).await;
        }
        let Some(session) = self.session.as_mut() else {
            return self.done(Err(closed())).await;
        };
        let tx = &self.tx;
        let chunk = self.chunk;
        let outcome = match req {
            FtpRequest::Download {
                source,
                offset,
                limit,
            } => {
                guarded(
                    &mut self.rx,
                    &mut self.pending,
                    download(session, tx, chunk, source, offset, limit),
                )
                .await??
            }
            FtpRequest::Upload {
                name,
                offset,
                append,
            } => {
                let opened = guarded(
                    &mut self.rx,
                    &mut self.pending,
                    start_upload(session, tx, &name, offset, append),
                )
                .await??;
                match opened {
                    // DataReady went out; `Done` follows `UploadEnd`.
                    Ok(upload) => {
                        session.upload = Some(upload);
                        return Ok(());
                    }
                    Err(f) => Err(f),
                }
            }
            simple => {
                guarded(
                    &mut self.rx,
                    &mut self.pending,
                    simple_command(&mut session.ctrl, simple),
                )
                .await?
            }
        };
        self.done(outcome).await
    }

    async fn upload_data(&mut self, bytes: Vec<u8>) -> Result<(), Stop> {
        // Coalesce upload chunks that are already waiting into one write.
        let mut bytes = bytes;
        while bytes.len() < 64 * 1024 {
            match self.pending.front() {
                Some(FtpRequest::UploadData(_)) => {
                    if let Some(FtpRequest::UploadData(b)) = self.pending.pop_front() {
                        bytes.extend_from_slice(&b);
                    }
                }
                Some(_) => break,
                None => match self.rx.try_recv() {
                    Ok(FtpRequest::UploadData(b)) => bytes.extend_from_slice(&b),
                    Ok(FtpRequest::Abort) => return Err(Stop::Abort),
                    Ok(other) => {
                        self.pending.push_back(other);
                        break;
                    }
                    Err(_) => break,
                },
            }
        }
        let Some(upload) = self.session.as_mut().and_then(|s| s.upload.as_mut()) else {
            tracing::warn!(target: "bg95::ftp", "UploadData without an open upload: dropped");
            return Ok(());
        };
        if upload.failed.is_some() {
            return Ok(());
        }
        let written = guarded(
            &mut self.rx,
            &mut self.pending,
            upload.data.write_all(&bytes),
        )
        .await?;
        if let Err(e) = written {
            tracing::info!(target: "bg95::ftp", "upload write failed: {e}");
            upload.failed = Some(fail(FailureKind::PeerReset, 0));
        }
        Ok(())
    }

    async fn upload_end(&mut self, close: bool) -> Result<(), Stop> {
        let Some(session) = self.session.as_mut() else {
            return self.done(Err(closed())).await;
        };
        let Some(mut upload) = session.upload.take() else {
            tracing::warn!(target: "bg95::ftp", "UploadEnd without an open upload");
            return self.done(Err(fail(FailureKind::Other, 0))).await;
        };
        if !close && upload.failed.is_none() {
            let flushed = guarded(&mut self.rx, &mut self.pending, upload.data.flush()).await?;
            match flushed {
                Ok(()) => {
                    session.upload = Some(upload);
                    return self.done(Ok(Reply::Ok)).await;
                }
                Err(e) => {
                    tracing::info!(target: "bg95::ftp", "upload flush failed: {e}");
                    upload.failed = Some(fail(FailureKind::PeerReset, 0));
                }
            }
        }
        let outcome = guarded(
            &mut self.rx,
            &mut self.pending,
            finish_upload(session, upload),
        )
        .await?;
        self.done(outcome).await
    }
}

fn connect_failure(e: &io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => fail(FailureKind::Refused, 0),
        _ => fail(FailureKind::Unreachable, 0),
    }
}

/// The TLS handshake of a control connection; any failure in it is a `Tls` failure.
async fn secure_control(
    connector: &TlsConnector,
    name: &ServerName<'static>,
    tcp: TcpStream,
    timeout: Option<Duration>,
) -> Result<Control, Failure> {
    let stream = handshake(connector, name, tcp, timeout)
        .await
        .map_err(|e| {
            tracing::info!(target: "bg95::ftp", "TLS handshake: {e}");
            fail(FailureKind::Tls, 0)
        })?;
    Control::new(stream).map_err(|_| closed())
}

async fn handshake(
    connector: &TlsConnector,
    name: &ServerName<'static>,
    tcp: TcpStream,
    timeout: Option<Duration>,
) -> io::Result<Stream> {
    let connect = connector.connect(name.clone(), tcp);
    let tls = match timeout {
        Some(t) => tokio::time::timeout(t, connect)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??,
        None => connect.await?,
    };
    Ok(Stream::Tls(Box::new(tls)))
}

fn negotiate_timeout(s: &TlsSettings) -> Option<Duration> {
    (s.negotiate_secs > 0).then(|| Duration::from_secs(u64::from(s.negotiate_secs)))
}

/// Resolve, connect, (TLS,) log in, TYPE.
async fn open(p: OpenParams) -> Result<Session, Failure> {
    tracing::info!(target: "bg95::ftp", "open {}:{} as {:?} ({:?})", p.host, p.port, p.user,
        match p.security { Security::Plain => "plain", Security::Implicit { .. } => "implicit TLS", Security::Explicit { .. } => "explicit TLS" });
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((p.host.as_str(), p.port)).await {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            tracing::info!(target: "bg95::ftp", "resolve {:?}: {e}", p.host);
            return Err(fail(FailureKind::Resolve, 0));
        }
    };
    if addrs.is_empty() {
        return Err(fail(FailureKind::Resolve, 0));
    }
    let mut tcp = None;
    let mut last = fail(FailureKind::Unreachable, 0);
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => {
                tracing::info!(target: "bg95::ftp", "connect {addr}: {e}");
                last = connect_failure(&e);
            }
        }
    }
    let tcp = tcp.ok_or(last)?;
    let _ = tcp.set_nodelay(true);

    let (tls, implicit) = match &p.security {
        Security::Plain => (None, false),
        Security::Implicit { control, data } => (Some((control, data)), true),
        Security::Explicit { control, data } => (Some((control, data)), false),
    };
    let mut data_tls = None;
    let mut ctrl = match tls {
        None => Control::new(Stream::Plain(tcp)).map_err(|_| closed())?,
        Some((control, data)) => {
            let store = tls::session_store();
            let ctrl_config = tls::client_config(control, store.clone())?;
            let data_config = if data == control {
                ctrl_config.clone()
            } else {
                tls::client_config(data, store)?
            };
            let name = tls::server_name(&p.host)?;
            let connector = TlsConnector::from(ctrl_config);
            let timeout = negotiate_timeout(control);
            data_tls = Some(DataTls {
                connector: TlsConnector::from(data_config),
                name: name.clone(),
                timeout: negotiate_timeout(data),
            });
            if implicit {
                secure_control(&connector, &name, tcp, timeout).await?
            } else {
                let mut plain = Control::new(Stream::Plain(tcp)).map_err(|_| closed())?;
                greeting(&mut plain).await?;
                let auth = plain.command("AUTH TLS").await?;
                if auth.code != 234 {
                    tracing::info!(target: "bg95::ftp", "AUTH TLS refused: {}", auth.code);
                    return Err(auth.failure(FailureKind::Tls));
                }
                let Some(Stream::Plain(tcp)) = plain.into_stream() else {
                    return Err(fail(FailureKind::Tls, 0));
                };
                secure_control(&connector, &name, tcp, timeout).await?
            }
        }
    };
    let secure = data_tls.is_some();
    if let Err(f) = login(&mut ctrl, &p, secure, !secure || implicit).await {
        // A TLS alert on the first exchanges is a handshake failure seen late (TLS 1.3
        // client authentication is checked by the server after our side completed).
        if f.kind == FailureKind::ControlClosed && ctrl.tls_failed {
            return Err(fail(FailureKind::Tls, 0));
        }
        return Err(f);
    }
    tracing::info!(target: "bg95::ftp", "logged in");
    Ok(Session {
        ctrl,
        passive: p.passive,
        data_to_control: p.data_to_control_address,
        data_tls,
        upload: None,
        rest_armed: false,
    })
}

/// (Greeting,) (PBSZ/PROT,) USER/PASS, TYPE.
async fn login(
    ctrl: &mut Control,
    p: &OpenParams,
    secure: bool,
    greet: bool,
) -> Result<(), Failure> {
    if greet {
        greeting(ctrl).await?;
    }
    if secure {
        expect_complete(ctrl, "PBSZ 0").await?;
        expect_complete(ctrl, "PROT P").await?;
    }
    let user = ctrl.command(&format!("USER {}", p.user)).await?;
    match user.code {
        230 => {}
        331 => {
            let pass = ctrl.command(&format!("PASS {}", p.password)).await?;
            if !pass.is_complete() {
                return Err(pass.failure(FailureKind::Reply));
            }
        }
        _ => return Err(user.failure(FailureKind::Reply)),
    }
    expect_complete(ctrl, if p.binary { "TYPE I" } else { "TYPE A" }).await?;
    Ok(())
}

async fn greeting(ctrl: &mut Control) -> Result<(), Failure> {
    loop {
        let reply = ctrl.reply().await?;
        if reply.is_preliminary() {
            continue; // 120 Service ready in nnn minutes
        }
        if reply.is_complete() {
            return Ok(());
        }
        return Err(reply.failure(FailureKind::Reply));
    }
}

async fn expect_complete(
    ctrl: &mut Control,
    command: &str,
) -> Result<super::control::Reply, Failure> {
    let reply = ctrl.command(command).await?;
    if reply.is_complete() {
        Ok(reply)
    } else {
        Err(reply.failure(FailureKind::Reply))
    }
}

/// The quoted path of a 257 reply (`""` inside it stands for one `"`).
fn parse_pwd(reply: &super::control::Reply) -> String {
    let msg = reply.message();
    let Some(start) = msg.find('"') else {
        return msg.trim().to_string();
    };
    let mut out = String::new();
    let mut chars = msg[start + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
                out.push('"');
                continue;
            }
            break;
        }
        out.push(c);
    }
    out
}

async fn simple_command(ctrl: &mut Control, req: FtpRequest) -> Outcome {
    match req {
        FtpRequest::Cwd(path) => expect_complete(ctrl, &format!("CWD {path}"))
            .await
            .map(|_| Reply::Ok),
        FtpRequest::Pwd => {
            let reply = expect_complete(ctrl, "PWD").await?;
            Ok(Reply::Path(parse_pwd(&reply)))
        }
        FtpRequest::Size(path) => {
            let reply = expect_complete(ctrl, &format!("SIZE {path}")).await?;
            let size = reply
                .message()
                .trim()
                .parse::<u64>()
                .map_err(|_| reply.failure(FailureKind::Other))?;
            Ok(Reply::Size(size))
        }
        FtpRequest::Delete(path) => expect_complete(ctrl, &format!("DELE {path}"))
            .await
            .map(|_| Reply::Ok),
        FtpRequest::Mkdir(path) => expect_complete(ctrl, &format!("MKD {path}"))
            .await
            .map(|_| Reply::Ok),
        FtpRequest::Rmdir(path) => expect_complete(ctrl, &format!("RMD {path}"))
            .await
            .map(|_| Reply::Ok),
        FtpRequest::Rename { from, to } => {
            let rnfr = ctrl.command(&format!("RNFR {from}")).await?;
            if rnfr.code != 350 {
                return Err(rnfr.failure(FailureKind::Reply));
            }
            expect_complete(ctrl, &format!("RNTO {to}"))
                .await
                .map(|_| Reply::Ok)
        }
        FtpRequest::Mdtm(path) => {
            let reply = expect_complete(ctrl, &format!("MDTM {path}")).await?;
            let time = reply
                .message()
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            if time.is_empty() {
                return Err(reply.failure(FailureKind::Other));
            }
            Ok(Reply::Time(time))
        }
        other => {
            tracing::warn!(target: "bg95::ftp", "unexpected request {}", other.kind());
            Err(fail(FailureKind::Other, 0))
        }
    }
}

/// Parse `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`.
fn parse_pasv(msg: &str) -> Option<SocketAddr> {
    let start = msg.find(|c: char| c.is_ascii_digit())?;
    let nums: Vec<u8> = msg[start..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(6)
        .map(|s| s.parse::<u8>().ok())
        .collect::<Option<Vec<u8>>>()?;
    if nums.len() != 6 {
        return None;
    }
    let ip = IpAddr::from([nums[0], nums[1], nums[2], nums[3]]);
    Some(SocketAddr::new(
        ip,
        u16::from(nums[4]) << 8 | u16::from(nums[5]),
    ))
}

/// Parse `229 Entering Extended Passive Mode (|||port|)`.
fn parse_epsv(msg: &str) -> Option<u16> {
    let open = msg.find('(')?;
    let inner = &msg[open + 1..msg[open..].find(')')? + open];
    let delim = inner.chars().next()?;
    inner.split(delim).nth(3)?.parse().ok()
}

/// Where the data connection comes from.
enum DataSetup {
    Passive(TcpStream),
    Active(TcpListener),
}

/// Set up a data connection, send REST (when `rest` > 0) and `command`, and open the data
/// stream. `Ok(None)`: the server completed the command without a data connection.
async fn open_data(
    session: &mut Session,
    command: &str,
    rest: u64,
) -> Result<Option<Stream>, Failure> {
    let ctrl = &mut session.ctrl;
    let peer = ctrl.peer;
    let setup = if session.passive {
        let addr = if peer.is_ipv6() {
            let reply = ctrl.command("EPSV").await?;
            if reply.code != 229 {
                return Err(reply.failure(FailureKind::DataOpen));
            }
            let port = parse_epsv(reply.message()).ok_or(reply.failure(FailureKind::DataOpen))?;
            SocketAddr::new(peer.ip(), port)
        } else {
            let reply = ctrl.command("PASV").await?;
            if reply.code != 227 {
                return Err(reply.failure(FailureKind::DataOpen));
            }
            let addr = parse_pasv(reply.message()).ok_or(reply.failure(FailureKind::DataOpen))?;
            if session.data_to_control {
                SocketAddr::new(peer.ip(), addr.port())
            } else {
                addr
            }
        };
        tracing::debug!(target: "bg95::ftp", "data connection to {addr}");
        let tcp = TcpStream::connect(addr).await.map_err(|e| {
            tracing::info!(target: "bg95::ftp", "data connect {addr}: {e}");
            fail(FailureKind::DataOpen, 0)
        })?;
        DataSetup::Passive(tcp)
    } else {
        let listener = TcpListener::bind(SocketAddr::new(ctrl.local.ip(), 0))
            .await
            .map_err(|e| {
                tracing::info!(target: "bg95::ftp", "data listen: {e}");
                fail(FailureKind::DataOpen, 0)
            })?;
        let addr = listener
            .local_addr()
            .map_err(|_| fail(FailureKind::DataOpen, 0))?;
        let port_command = match addr.ip() {
            IpAddr::V4(ip) => {
                let o = ip.octets();
                format!(
                    "PORT {},{},{},{},{},{}",
                    o[0],
                    o[1],
                    o[2],
                    o[3],
                    addr.port() >> 8,
                    addr.port() & 0xff
                )
            }
            IpAddr::V6(ip) => format!("EPRT |2|{ip}|{}|", addr.port()),
        };
        let reply = ctrl.command(&port_command).await?;
        if !reply.is_complete() {
            return Err(reply.failure(FailureKind::DataOpen));
        }
        DataSetup::Active(listener)
    };
    if rest > 0 {
        let reply = ctrl.command(&format!("REST {rest}")).await?;
        if reply.code != 350 {
            return Err(reply.failure(FailureKind::Reply));
        }
        session.rest_armed = true;
    } else if session.rest_armed && (command.starts_with("RETR ") || command.starts_with("STOR ")) {
        // Best effort: a server that refuses `REST 0` has no offset to clear.
        let _ = ctrl.command("REST 0").await?;
        session.rest_armed = false;
    }
    let reply = ctrl.command(command).await?;
    if reply.is_complete() {
        return Ok(None);
    }
    if !reply.is_preliminary() {
        let kind = if reply.code == 425 {
            FailureKind::DataOpen
        } else {
            FailureKind::Reply
        };
        return Err(reply.failure(kind));
    }
    let tcp = match setup {
        DataSetup::Passive(tcp) => tcp,
        DataSetup::Active(listener) => loop {
            // Only the server (the control connection's peer) may connect.
            let (tcp, from) = listener.accept().await.map_err(|e| {
                tracing::info!(target: "bg95::ftp", "data accept: {e}");
                fail(FailureKind::DataOpen, 0)
            })?;
            if from.ip() == peer.ip() {
                break tcp;
            }
            tracing::warn!(target: "bg95::ftp", "data connection from unexpected {from} refused");
        },
    };
    let _ = tcp.set_nodelay(true);
    match &session.data_tls {
        None => Ok(Some(Stream::Plain(tcp))),
        Some(t) => match handshake(&t.connector, &t.name, tcp, t.timeout).await {
            Ok(stream) => Ok(Some(stream)),
            Err(e) => {
                tracing::info!(target: "bg95::ftp", "data TLS handshake: {e}");
                // The server answers the failed data connection on the control connection;
                // read that reply so the next command's reply is its own.
                let reply = session.ctrl.reply().await?;
                Err(fail(
                    FailureKind::Tls,
                    if reply.is_complete() { 0 } else { reply.code },
                ))
            }
        },
    }
}

fn list_command(verb: &str, path: &str) -> String {
    if path.is_empty() {
        verb.to_string()
    } else {
        format!("{verb} {path}")
    }
}

async fn download(
    session: &mut Session,
    tx: &mpsc::Sender<FtpEvent>,
    chunk: usize,
    source: DownloadSource,
    offset: u64,
    limit: Option<u64>,
) -> Result<Outcome, Stop> {
    let (command, rest) = match &source {
        DownloadSource::File(name) => (format!("RETR {name}"), offset),
        DownloadSource::List(path) => (list_command("LIST", path), 0),
        DownloadSource::Nlst(path) => (list_command("NLST", path), 0),
        DownloadSource::Mlsd(path) => (list_command("MLSD", path), 0),
    };
    let data = match open_data(session, &command, rest).await {
        Ok(data) => data,
        Err(f) => return Ok(Err(f)),
    };
    tx.send(FtpEvent::DataReady)
        .await
        .map_err(|_| Stop::Shutdown)?;
    let Some(mut data) = data else {
        return Ok(Ok(Reply::Ok));
    };
    let tls = data.is_tls();
    let mut buf = vec![0u8; chunk];
    let mut total = 0u64;
    let mut early = false;
    let mut broken = false;
    loop {
        let want = match limit {
            Some(limit) if total >= limit => {
                early = true;
                break;
            }
            Some(limit) => chunk.min(usize::try_from(limit - total).unwrap_or(usize::MAX)),
            None => chunk,
        };
        match data.read(&mut buf[..want]).await {
            Ok(0) => break,
            Ok(n) => {
                total += n as u64;
                // Awaiting the bounded channel is the backpressure: no read while it is full.
                tx.send(FtpEvent::Data(buf[..n].to_vec()))
                    .await
                    .map_err(|_| Stop::Shutdown)?;
            }
            // A TLS peer that closes without close_notify (libunftp does): the server's
            // final reply tells whether the transfer was complete.
            Err(e) if tls && e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                tracing::info!(target: "bg95::ftp", "data connection broke after {total} bytes: {e}");
                broken = true;
                break;
            }
        }
    }
    // Dropping the data socket ends the transfer; an early close makes the server answer
    // 426/451 (never ABOR: it desynchronises the control connection on real servers).
    drop(data);
    tracing::debug!(target: "bg95::ftp", "download: {total} bytes{}", if early { " (limit reached)" } else { "" });
    let reply = match session.ctrl.reply().await {
        Ok(reply) => reply,
        Err(f) => return Ok(Err(f)),
    };
    if reply.is_complete() {
        session.rest_armed = false;
    }
    Ok(if broken {
        Err(fail(
            FailureKind::DataClosed,
            if reply.is_complete() { 0 } else { reply.code },
        ))
    } else if reply.is_complete() || (early && matches!(reply.code, 426 | 451)) {
        Ok(Reply::Ok)
    } else {
        Err(reply.failure(FailureKind::Reply))
    })
}

async fn start_upload(
    session: &mut Session,
    tx: &mpsc::Sender<FtpEvent>,
    name: &str,
    offset: u64,
    append: bool,
) -> Result<Result<Upload, Failure>, Stop> {
    let (command, rest) = if append {
        (format!("APPE {name}"), 0)
    } else {
        (format!("STOR {name}"), offset)
    };
    let data = match open_data(session, &command, rest).await {
        Ok(Some(data)) => data,
        Ok(None) => return Ok(Err(fail(FailureKind::DataOpen, 0))),
        Err(f) => return Ok(Err(f)),
    };
    tx.send(FtpEvent::DataReady)
        .await
        .map_err(|_| Stop::Shutdown)?;
    Ok(Ok(Upload {
        data,
        failed: None,
        early_reply: None,
    }))
}

/// Close an upload's data connection and read the server's final reply.
async fn finish_upload(session: &mut Session, upload: Upload) -> Outcome {
    let Upload {
        mut data,
        mut failed,
        early_reply,
    } = upload;
    if failed.is_none() {
        if let Err(e) = data.shutdown().await {
            tracing::info!(target: "bg95::ftp", "upload shutdown failed: {e}");
            failed = Some(fail(FailureKind::PeerReset, 0));
        } else if data.is_tls() {
            let mut sink = [0u8; 512];
            let _ = tokio::time::timeout(TLS_DRAIN, async {
                while matches!(data.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
        }
    }
    drop(data);
    let reply = match early_reply {
        Some(reply) => reply?,
        None => session.ctrl.reply().await?,
    };
    if reply.is_complete() {
        session.rest_armed = false;
    }
    match failed {
        Some(f) => Err(Failure {
            reply: if reply.is_complete() {
                f.reply
            } else {
                reply.code
            },
            ..f
        }),
        None if reply.is_complete() => Ok(Reply::Ok),
        None => Err(reply.failure(FailureKind::Reply)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, line: &str) -> super::super::control::Reply {
        super::super::control::Reply {
            code,
            lines: vec![line.to_string()],
        }
    }

    #[test]
    fn pasv_and_epsv_parse() {
        assert_eq!(
            parse_pasv("Entering Passive Mode (127,0,0,1,195,80)."),
            Some("127.0.0.1:50000".parse().unwrap())
        );
        assert_eq!(
            parse_pasv("Entering Passive Mode 10,1,2,3,0,21"),
            Some("10.1.2.3:21".parse().unwrap())
        );
        assert_eq!(parse_pasv("nothing"), None);
        assert_eq!(
            parse_epsv("Entering Extended Passive Mode (|||6446|)"),
            Some(6446)
        );
    }

    #[test]
    fn pwd_unquotes() {
        assert_eq!(
            parse_pwd(&reply(257, "257 \"/a b\" is the current directory")),
            "/a b"
        );
        assert_eq!(
            parse_pwd(&reply(257, "257 \"/say \"\"hi\"\"\" ok")),
            "/say \"hi\""
        );
        assert_eq!(parse_pwd(&reply(257, "257 /raw")), "/raw");
    }

    #[test]
    fn negotiate_timeout_zero_means_none() {
        assert_eq!(negotiate_timeout(&TlsSettings::default()), None);
        let s = TlsSettings {
            negotiate_secs: 3,
            ..TlsSettings::default()
        };
        assert_eq!(negotiate_timeout(&s), Some(Duration::from_secs(3)));
    }
}
