//! One FTP session on suppaftp: open (resolve, connect, TLS, login), the simple commands,
//! close. The data transfers are in `data.rs`, the task loop in `task.rs`.
//!
//! suppaftp does the protocol: the greeting, `AUTH TLS` + `PBSZ` + `PROT` (`into_secure`),
//! implicit TLS (`connect_secure_implicit`), reply parsing (`custom_command` returns the raw
//! reply, so MDTM keeps its fraction and PWD its quoting), passive data connections.
//! Own code remains where suppaftp has no API for what the module must report:
//! - resolving and connecting (DNS failure, refused and unreachable are three different
//!   `<err>` codes; suppaftp's `connect` folds them into one `ConnectionError`);
//! - the step classification (which command a negative reply answered);
//! - the fault seam's hooks ([`Control::command`], the connects);
//! - traffic counting (see [`Control::command`]).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use bg95_core::ftp::{Failure, FailureKind, FtpRequest, OpenParams, Reply as CoreReply, Security};
use suppaftp::tokio::{AsyncRustlsStream, ImplAsyncFtpStream};
use suppaftp::types::Response;
use suppaftp::{FtpError, Mode};
use tokio::net::TcpStream;

use super::tls::FtpTls;
use super::DriverNet;
use crate::net::{Conn, ConnectFault, ReplyFault};

/// The suppaftp client of a session (plain sessions never use its TLS stream type).
pub(crate) type Ftp = ImplAsyncFtpStream<AsyncRustlsStream>;

/// How long a TCP connect may take. Past it the connect counts as unreachable (605), as a
/// SYN nobody answers does on a real module.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn fail(kind: FailureKind, reply: u16) -> Failure {
    Failure::new(kind, reply)
}

pub(crate) fn closed() -> Failure {
    fail(FailureKind::ControlClosed, 0)
}

/// One complete server reply, whatever its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub code: u16,
    /// The reply as the server sent it (every line, CRLF included).
    pub text: String,
}

impl Reply {
    /// The code of a suppaftp `Response`: codes its `Status` does not know (522, 534, …)
    /// come back as 0, so those are read from the first three bytes of the body.
    pub(crate) fn from_response(r: &Response) -> Reply {
        let code = match r.status.code() {
            0 => std::str::from_utf8(r.body.get(..3).unwrap_or(b""))
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0),
            c => u16::try_from(c).unwrap_or(0),
        };
        Reply {
            code,
            text: String::from_utf8_lossy(&r.body).into_owned(),
        }
    }

    /// 2xx.
    pub(crate) fn is_complete(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 1xx.
    pub(crate) fn is_preliminary(&self) -> bool {
        (100..200).contains(&self.code)
    }

    /// The first line's text after the code and its separator.
    pub(crate) fn message(&self) -> &str {
        let first = self.text.lines().next().unwrap_or("");
        first.get(4..).unwrap_or("").trim_end()
    }

    pub(crate) fn failure(&self, kind: FailureKind) -> Failure {
        fail(kind, self.code)
    }
}

/// Whether an I/O error came from the TLS layer (an alert, a bad record).
fn is_tls_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
}

/// The control connection: suppaftp's client plus what the driver adds around each command.
pub(crate) struct Control {
    pub ftp: Ftp,
    pub net: DriverNet,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// The last control failure came from the TLS layer (a TLS 1.3 server refusing our
    /// certificate after our side of the handshake had completed).
    pub tls_failed: bool,
    /// A fault answered `421` (closing control connection), so the server hangs up after
    /// it, or the server never answered a failed data connection: the driver ends the
    /// session once the request is answered.
    pub closing: bool,
}

impl Control {
    fn new(ftp: Ftp, net: DriverNet, peer: SocketAddr, local: SocketAddr) -> Control {
        Control {
            ftp,
            net,
            peer,
            local,
            tls_failed: false,
            closing: false,
        }
    }

    /// A suppaftp error on the control connection.
    pub(crate) fn failure(&mut self, e: FtpError, kind: FailureKind) -> Failure {
        match e {
            FtpError::UnexpectedResponse(r) => {
                self.count_reply(&r);
                Reply::from_response(&r).failure(kind)
            }
            FtpError::ConnectionError(e) => {
                tracing::debug!(target: "bg95::ftp", "control connection: {e}");
                self.tls_failed = is_tls_error(&e);
                closed()
            }
            FtpError::SecureError(e) => {
                tracing::info!(target: "bg95::ftp", "TLS: {e}");
                fail(FailureKind::Tls, 0)
            }
            other => {
                tracing::info!(target: "bg95::ftp", "control: {other}");
                fail(FailureKind::Other, 0)
            }
        }
    }

    fn count_reply(&self, r: &Response) {
        self.net.traffic.add_received(r.body.len());
    }

    /// Count a command line suppaftp sends on our behalf (`PASV`, `REST n`, `AUTH TLS`).
    pub(crate) fn count_sent(&self, line: &str) {
        self.net.traffic.add_sent(line.len() + 2);
    }

    /// The fault seam before `verb` goes out (see [`command_fault`]): the reply the fault
    /// gives in the server's place.
    pub(crate) async fn fault(&mut self, verb: &str) -> Result<Option<Reply>, Failure> {
        let reply = command_fault(&self.net, verb).await?.map(|a| a.reply);
        self.closing |= reply.as_ref().is_some_and(|r| r.code == 421);
        Ok(reply)
    }

    /// Send one command line and read its reply, whatever the code. Never logs a password.
    ///
    /// Traffic: suppaftp exposes neither its socket nor byte counts, so the control
    /// connection is counted at the FTP level: every command line the driver sends (plus
    /// CRLF) and every reply body suppaftp hands back. Replies suppaftp reads internally and
    /// never returns (PASV/EPSV 227/229, REST 350, AUTH 234, the completion of a passive
    /// transfer) are not counted; TLS record overhead is not either.
    pub(crate) async fn command(&mut self, line: &str) -> Result<Reply, Failure> {
        if line.contains(['\r', '\n']) {
            // A CR/LF in a name would smuggle a second command to the server.
            return Err(fail(FailureKind::Other, 0));
        }
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        if verb == "PASS" {
            tracing::debug!(target: "bg95::ftp", "-> PASS ****");
        } else {
            tracing::debug!(target: "bg95::ftp", "-> {line}");
        }
        if let Some(answer) = command_fault(&self.net, &verb).await? {
            self.closing |= answer.reply.code == 421;
            if answer.server_sees {
                // An inserted reply: the server still gets the command; its own answer
                // comes after the inserted one and is read here and dropped, so the control
                // connection stays in step.
                self.count_sent(line);
                if let Ok(r) | Err(FtpError::UnexpectedResponse(r)) =
                    self.ftp.custom_command(line, &[]).await
                {
                    self.got(&r);
                }
            }
            return Ok(answer.reply);
        }
        self.count_sent(line);
        // No expected code: every reply comes back (as `UnexpectedResponse`) and the caller
        // classifies it.
        match self.ftp.custom_command(line, &[]).await {
            Ok(r) | Err(FtpError::UnexpectedResponse(r)) => Ok(self.got(&r)),
            Err(e) => Err(self.failure(e, FailureKind::Reply)),
        }
    }

    /// Read one reply (the final reply of a transfer, or an unsolicited one while idle).
    /// Cancellation safe: suppaftp keeps a partial reply in its control channel.
    pub(crate) async fn reply(&mut self) -> Result<Reply, Failure> {
        match self.ftp.read_response_in(&[]).await {
            Ok(r) | Err(FtpError::UnexpectedResponse(r)) => Ok(self.got(&r)),
            Err(e) => Err(self.failure(e, FailureKind::Reply)),
        }
    }

    pub(crate) fn got(&self, r: &Response) -> Reply {
        self.count_reply(r);
        let reply = Reply::from_response(r);
        tracing::debug!(target: "bg95::ftp", "<- {}", reply.text.lines().next().unwrap_or(""));
        reply
    }

    /// `command`, and a `Reply` failure unless the answer is 2xx.
    pub(crate) async fn expect_complete(&mut self, line: &str) -> Result<Reply, Failure> {
        let reply = self.command(line).await?;
        if reply.is_complete() {
            Ok(reply)
        } else {
            Err(reply.failure(FailureKind::Reply))
        }
    }
}

/// A reply a fault gives for a command.
pub(crate) struct FaultAnswer {
    pub reply: Reply,
    /// `Insert`: the server still gets the command (its own reply follows the inserted one).
    /// `Replace`: it never sees the command.
    pub server_sees: bool,
}

/// The fault seam before `verb` goes out: `Ok(Some)` is the reply the fault gives in the
/// server's place; a delay is waited out here; a close ends the control connection.
/// Commands suppaftp sends inside its own calls (AUTH/PBSZ/PROT, PASV, REST, RETR, …) take an
/// inserted reply as a replacing one: suppaftp reads their replies itself.
pub(crate) async fn command_fault(
    net: &DriverNet,
    verb: &str,
) -> Result<Option<FaultAnswer>, Failure> {
    let answer = |code: u16, text: &str, server_sees| {
        Some(FaultAnswer {
            reply: Reply {
                code,
                text: format!("{code} {text}\r\n"),
            },
            server_sees,
        })
    };
    match net.faults.on_command(verb) {
        None => Ok(None),
        Some(ReplyFault::Delay(d)) => {
            tracing::info!(target: "bg95::ftp", "{verb}: delayed {d:?} (fault)");
            tokio::time::sleep(d).await;
            Ok(None)
        }
        Some(ReplyFault::Replace { code, text }) => {
            tracing::info!(target: "bg95::ftp", "{verb}: answered {code} (fault)");
            Ok(answer(code, &text, false))
        }
        Some(ReplyFault::Insert { code, text }) => {
            tracing::info!(target: "bg95::ftp", "{verb}: {code} inserted before the server's reply (fault)");
            Ok(answer(code, &text, true))
        }
        Some(ReplyFault::Close) => {
            tracing::info!(target: "bg95::ftp", "{verb}: control connection closed (fault)");
            Err(closed())
        }
    }
}

/// A fault met in place of a reply the driver reads itself (a transfer's final reply):
/// a replacing or inserted reply is the answer, a delay waits and then the answer is the
/// inserted reply's…; a close ends the control connection.
pub(crate) async fn meet_reply_fault(
    ctrl: &mut Control,
    fault: ReplyFault,
    what: &str,
) -> Result<Reply, Failure> {
    tracing::info!(target: "bg95::ftp", "{what}: {fault:?} (fault)");
    match fault {
        ReplyFault::Replace { code, text } | ReplyFault::Insert { code, text } => {
            let reply = Reply {
                code,
                text: format!("{code} {text}\r\n"),
            };
            if code == 421 {
                // 421 is "closing control connection": the server hangs up after it.
                ctrl.closing = true;
            }
            Ok(reply)
        }
        ReplyFault::Delay(d) => {
            tokio::time::sleep(d).await;
            Ok(Reply {
                code: 226,
                text: String::new(),
            })
        }
        ReplyFault::Close => Err(closed()),
    }
}

/// A logged-in session.
pub(crate) struct Session {
    pub ctrl: Control,
    pub passive: bool,
    /// TLS for data connections (PROT P), when the session is secure.
    pub tls: Option<FtpTls>,
    /// The passive data connect's outcome, shared with suppaftp's stream builder.
    pub probe: Arc<super::data::DataProbe>,
    pub upload: Option<super::data::Upload>,
    /// A REST offset was sent and its transfer did not end with a 2xx. libunftp keeps the
    /// offset for the next RETR/STOR in that case (it resets it only after a successful
    /// transfer), so the next transfer from offset 0 sends `REST 0` first.
    pub rest_armed: bool,
    /// Transfers opened since the driver started, over every session (the fault seam's
    /// `on_data` numbering: from 1 since boot).
    pub transfers: Arc<AtomicU64>,
}

/// A connect fault that fails the connect, met as the real failure would be (a time-out
/// waits first); `None` for faults that let the connect go ahead.
pub(crate) async fn failed_connect(fault: &ConnectFault) -> Option<FailureKind> {
    match fault {
        ConnectFault::Refused => Some(FailureKind::Refused),
        ConnectFault::Unreachable => Some(FailureKind::Unreachable),
        ConnectFault::TimedOut { after } => {
            tokio::time::sleep(*after).await;
            Some(FailureKind::Unreachable)
        }
        ConnectFault::Delay(d) => {
            tokio::time::sleep(*d).await;
            None
        }
        ConnectFault::TlsFailure => None,
    }
}

/// Connect to `addr` under [`CONNECT_TIMEOUT`], the fault seam first.
pub(crate) async fn connect(
    net: &DriverNet,
    conn: Conn,
    addr: SocketAddr,
    tls: Option<&FtpTls>,
) -> Result<TcpStream, FailureKind> {
    if let Some(fault) = net.faults.on_connect(conn, addr) {
        tracing::info!(target: "bg95::ftp", "connect {addr} ({conn:?}): fault {fault:?}");
        if let Some(kind) = failed_connect(&fault).await {
            return Err(kind);
        }
        if let (ConnectFault::TlsFailure, Some(tls)) = (&fault, tls) {
            tls.fail_next();
        }
    }
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .unwrap_or_else(|_| Err(io::Error::from(io::ErrorKind::TimedOut)));
    connected.map_err(|e| {
        tracing::info!(target: "bg95::ftp", "connect {addr} ({conn:?}): {e}");
        match e.kind() {
            io::ErrorKind::ConnectionRefused => FailureKind::Refused,
            _ => FailureKind::Unreachable,
        }
    })
}

/// The first address of `addrs` that accepts a connection; the last failure otherwise.
async fn connect_any(
    net: &DriverNet,
    addrs: &[SocketAddr],
    tls: Option<&FtpTls>,
) -> Result<TcpStream, Failure> {
    let mut last = FailureKind::Unreachable;
    for addr in addrs {
        match connect(net, Conn::Control, *addr, tls).await {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Err(kind) => last = kind,
        }
    }
    Err(fail(last, 0))
}

fn security_name(s: &Security) -> &'static str {
    match s {
        Security::Plain => "plain",
        Security::Implicit { .. } => "implicit TLS",
        Security::Explicit { .. } => "explicit TLS",
    }
}

/// Resolve, connect, (TLS,) log in, TYPE.
pub(crate) async fn open(
    p: OpenParams,
    net: DriverNet,
    transfers: Arc<AtomicU64>,
) -> Result<Session, Failure> {
    tracing::info!(target: "bg95::ftp", "open {}:{} as {:?} ({})", p.host, p.port, p.user, security_name(&p.security));
    let addrs = net
        .resolver
        .lookup_socket(&p.host, p.port)
        .await
        .map_err(|e| {
            tracing::info!(target: "bg95::ftp", "resolve {:?}: {e}", p.host);
            fail(FailureKind::Resolve, 0)
        })?;
    let probe = Arc::new(super::data::DataProbe::default());
    let (ftp, tls) = match &p.security {
        Security::Plain => {
            let tcp = connect_any(&net, &addrs, None).await?;
            (greet(tcp, &net).await?, None)
        }
        Security::Explicit { control, data } => {
            // Unusable TLS settings are reported after the connect, as a handshake
            // failure would be; the connector is needed first for a TLS fault.
            let tls = FtpTls::new(control, data, &p.host);
            let tcp = connect_any(&net, &addrs, tls.as_ref().ok()).await?;
            let tls = tls?;
            let ftp = greet(tcp, &net).await?;
            (explicit_tls(ftp, &tls, &p.host, &net).await?, Some(tls))
        }
        Security::Implicit { control, data } => {
            let tls = FtpTls::new(control, data, &p.host)?;
            (implicit_tls(&addrs, &tls, &p.host, &net).await?, Some(tls))
        }
    };
    let (peer, local) = {
        let socket = ftp.get_ref().await;
        (socket.peer_addr(), socket.local_addr())
    };
    let (Ok(peer), Ok(local)) = (peer, local) else {
        return Err(closed());
    };
    let ftp = super::data::configure(ftp, &p, &net, &probe, tls.as_ref(), peer);
    let mut ctrl = Control::new(ftp, net, peer, local);
    let implicit = matches!(p.security, Security::Implicit { .. });
    if let Err(f) = login(&mut ctrl, &p, implicit).await {
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
        tls,
        probe,
        upload: None,
        rest_armed: false,
        transfers,
    })
}

/// suppaftp on a connected socket: it reads the greeting.
async fn greet(tcp: TcpStream, net: &DriverNet) -> Result<Ftp, Failure> {
    match Ftp::connect_with_stream(tcp).await {
        Ok(ftp) => Ok(ftp),
        Err(FtpError::UnexpectedResponse(r)) => {
            net.traffic.add_received(r.body.len());
            Err(Reply::from_response(&r).failure(FailureKind::Reply))
        }
        Err(e) => {
            tracing::info!(target: "bg95::ftp", "greeting: {e}");
            Err(closed())
        }
    }
}

/// `AUTH TLS`, the handshake, `PBSZ 0`, `PROT P` (suppaftp's `into_secure`). Which step
/// failed: the connector is called only after `AUTH TLS` got its 234.
async fn explicit_tls(ftp: Ftp, tls: &FtpTls, host: &str, net: &DriverNet) -> Result<Ftp, Failure> {
    // suppaftp sends the three commands inside `into_secure`: the seam is asked first.
    for (verb, ok, kind) in [
        ("AUTH", 234, FailureKind::Tls),
        ("PBSZ", 200, FailureKind::Reply),
        ("PROT", 200, FailureKind::Reply),
    ] {
        match command_fault(net, verb).await?.map(|a| a.reply) {
            Some(r) if r.code != ok && !r.is_complete() => return Err(r.failure(kind)),
            _ => {}
        }
    }
    net.traffic
        .add_sent("AUTH TLS\r\nPBSZ 0\r\nPROT P\r\n".len());
    match ftp.into_secure(tls.clone(), host).await {
        Ok(ftp) => Ok(ftp),
        Err(FtpError::UnexpectedResponse(r)) => {
            let reply = Reply::from_response(&r);
            let kind = if tls.control_started() {
                FailureKind::Reply // PBSZ/PROT refused
            } else {
                tracing::info!(target: "bg95::ftp", "AUTH TLS refused: {}", reply.code);
                FailureKind::Tls
            };
            Err(reply.failure(kind))
        }
        Err(FtpError::ConnectionError(e)) if !(tls.control_started() && is_tls_error(&e)) => {
            tracing::info!(target: "bg95::ftp", "explicit TLS: {e}");
            Err(closed())
        }
        Err(e) => {
            tracing::info!(target: "bg95::ftp", "explicit TLS: {e}");
            Err(fail(FailureKind::Tls, 0))
        }
    }
}

/// Implicit FTPS. suppaftp connects the socket itself here (its `connect_secure_implicit`
/// takes an address, not a stream), so the driver resolves, consults the fault seam, and
/// classifies: a socket error before the connector ran is the TCP connect's.
async fn implicit_tls(
    addrs: &[SocketAddr],
    tls: &FtpTls,
    host: &str,
    net: &DriverNet,
) -> Result<Ftp, Failure> {
    let mut last = FailureKind::Unreachable;
    for addr in addrs {
        if let Some(fault) = net.faults.on_connect(Conn::Control, *addr) {
            tracing::info!(target: "bg95::ftp", "connect {addr}: fault {fault:?}");
            if let Some(kind) = failed_connect(&fault).await {
                last = kind;
                continue;
            }
            if fault == ConnectFault::TlsFailure {
                tls.fail_next();
            }
        }
        #[allow(deprecated)]
        let attempt = Ftp::connect_secure_implicit(*addr, tls.clone(), host);
        match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
            Err(_) => last = FailureKind::Unreachable,
            Ok(Ok(ftp)) => return Ok(ftp),
            Ok(Err(FtpError::ConnectionError(e))) if !tls.control_started() => {
                tracing::info!(target: "bg95::ftp", "connect {addr}: {e}");
                last = match e.kind() {
                    io::ErrorKind::ConnectionRefused => FailureKind::Refused,
                    _ => FailureKind::Unreachable,
                };
            }
            Ok(Err(FtpError::SecureError(e))) => {
                tracing::info!(target: "bg95::ftp", "implicit TLS: {e}");
                return Err(fail(FailureKind::Tls, 0));
            }
            Ok(Err(FtpError::UnexpectedResponse(r))) => {
                return Err(Reply::from_response(&r).failure(FailureKind::Reply))
            }
            Ok(Err(FtpError::ConnectionError(e))) if is_tls_error(&e) => {
                return Err(fail(FailureKind::Tls, 0))
            }
            Ok(Err(e)) => {
                tracing::info!(target: "bg95::ftp", "implicit TLS: {e}");
                return Err(closed());
            }
        }
    }
    Err(fail(last, 0))
}

/// (PBSZ/PROT after implicit TLS,) USER/PASS, TYPE.
async fn login(ctrl: &mut Control, p: &OpenParams, implicit: bool) -> Result<(), Failure> {
    if implicit {
        // suppaftp's implicit connect does not send them; servers then refuse data
        // connections (`522 Data connections must be encrypted`).
        ctrl.expect_complete("PBSZ 0").await?;
        ctrl.expect_complete("PROT P").await?;
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
    ctrl.expect_complete(if p.binary { "TYPE I" } else { "TYPE A" })
        .await?;
    Ok(())
}

/// The quoted path of a 257 reply (`""` inside it stands for one `"`).
fn parse_pwd(reply: &Reply) -> String {
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

/// The requests answered by one command (RNFR/RNTO: two).
pub(crate) async fn simple_command(
    ctrl: &mut Control,
    req: FtpRequest,
) -> Result<CoreReply, Failure> {
    let done = |_| CoreReply::Ok;
    match req {
        FtpRequest::Cwd(path) => ctrl.expect_complete(&format!("CWD {path}")).await.map(done),
        FtpRequest::Delete(path) => ctrl
            .expect_complete(&format!("DELE {path}"))
            .await
            .map(done),
        FtpRequest::Mkdir(path) => ctrl.expect_complete(&format!("MKD {path}")).await.map(done),
        FtpRequest::Rmdir(path) => ctrl.expect_complete(&format!("RMD {path}")).await.map(done),
        FtpRequest::Pwd => {
            let reply = ctrl.expect_complete("PWD").await?;
            Ok(CoreReply::Path(parse_pwd(&reply)))
        }
        FtpRequest::Size(path) => {
            let reply = ctrl.expect_complete(&format!("SIZE {path}")).await?;
            let size = reply.message().trim().parse::<u64>();
            size.map(CoreReply::Size)
                .map_err(|_| reply.failure(FailureKind::Other))
        }
        FtpRequest::Rename { from, to } => {
            let rnfr = ctrl.command(&format!("RNFR {from}")).await?;
            if rnfr.code != 350 {
                return Err(rnfr.failure(FailureKind::Reply));
            }
            ctrl.expect_complete(&format!("RNTO {to}")).await.map(done)
        }
        FtpRequest::Mdtm(path) => {
            // The server's text as it is (suppaftp's `mdtm` parses it and drops a fraction).
            let reply = ctrl.expect_complete(&format!("MDTM {path}")).await?;
            let time = reply.message().split_whitespace().next().unwrap_or("");
            if time.is_empty() {
                return Err(reply.failure(FailureKind::Other));
            }
            Ok(CoreReply::Time(time.to_string()))
        }
        other => {
            tracing::warn!(target: "bg95::ftp", "unexpected request {}", other.kind());
            Err(fail(FailureKind::Other, 0))
        }
    }
}

/// QUIT; any answer ends the session well.
pub(crate) async fn quit(ctrl: &mut Control) -> Result<CoreReply, Failure> {
    ctrl.command("QUIT").await.map(|_| CoreReply::Ok)
}

/// The passive mode suppaftp uses: EPSV on IPv6 (PASV cannot name an IPv6 address).
pub(crate) fn passive_mode(peer_is_v6: bool) -> Mode {
    if peer_is_v6 {
        Mode::ExtendedPassive
    } else {
        Mode::Passive
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suppaftp::Status;

    fn reply(line: &str) -> Reply {
        Reply::from_response(&Response::new(
            Status::from(line[..3].parse::<u32>().unwrap()),
            format!("{line}\r\n").into_bytes(),
        ))
    }

    #[test]
    fn codes_status_does_not_know_come_from_the_body() {
        assert_eq!(reply("522 Data connections must be encrypted.").code, 522);
        assert_eq!(reply("550 No such file").code, 550);
        assert_eq!(reply("257 \"/\" ok").message(), "\"/\" ok");
    }

    #[test]
    fn pwd_unquotes() {
        assert_eq!(
            parse_pwd(&reply("257 \"/a b\" is the current directory")),
            "/a b"
        );
        assert_eq!(
            parse_pwd(&reply("257 \"/say \"\"hi\"\"\" ok")),
            "/say \"hi\""
        );
        assert_eq!(parse_pwd(&reply("257 /raw")), "/raw");
    }
}
