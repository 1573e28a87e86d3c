//! Transfers: opening the data connection (passive through suppaftp, active on the driver's
//! own listener), streaming a download with backpressure, an upload's data connection, and
//! reading each transfer's final reply so the control connection stays in step.
//!
//! Passive mode is suppaftp's `custom_data_command` with `resume_transfer` for REST. Which
//! step failed is told by a probe set in the passive stream builder, which suppaftp calls
//! only after PASV/EPSV succeeded: builder never called → PASV/EPSV refused; its connect
//! failed → data open failure; called, then a negative reply → REST or the transfer
//! command refused (425 there is a data-open failure).
//!
//! `custom_data_command` rather than `retr_as_stream` / `put_with_stream`: it returns the
//! preliminary reply (counted for AT+QGDCNT), and its stream's `finish()` reports the
//! server's final reply even when the data socket is already broken (`put_with_stream`'s
//! `finish()` replaces a 426 by the socket's shutdown error, and the module must report
//! `<err>,426`). Uploads do their own shutdown and TLS drain before `finish()`.
//!
//! Active mode is own code: suppaftp sends PORT/EPRT and the transfer command inside one
//! call with no hook between them, and the module must tell a refused PORT (615) from a
//! refused RETR (e.g. 622). So PORT/EPRT, REST and the transfer command go out with
//! `custom_command`, the server's connection is accepted on our listener, and TLS runs
//! through the session's connector.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bg95_core::ftp::{
    DownloadSource, Failure, FailureKind, FtpEvent, OpenParams, Reply as CoreReply,
};
use suppaftp::tokio::{AsyncDataStream, AsyncRustlsStream, TransferStream};
use suppaftp::{FtpError, Status};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::faulty::{Faulty, Progress};
use super::session::{connect, fail, failed_connect, passive_mode, Control, Ftp, Reply, Session};
use super::tls::FtpTls;
use super::DriverNet;
use crate::net::{Conn, ConnectFault, Direction};

/// How long an upload's TLS data connection may take to close after our close_notify (its
/// unread session tickets would otherwise make the kernel reset the socket, and the server
/// report the upload as failed).
const TLS_DRAIN: Duration = Duration::from_secs(2);

/// How long the server's reply to a data connection whose TLS handshake failed may take.
const DATA_TLS_REPLY_WAIT: Duration = Duration::from_secs(2);

pub(crate) type Outcome = Result<CoreReply, Failure>;

/// The event receiver is gone: the task ends.
pub(crate) struct Gone;

/// What suppaftp's passive stream builder saw during the current transfer.
#[derive(Debug, Default)]
pub(crate) struct DataProbe {
    called: AtomicBool,
    failed: AtomicBool,
}

impl DataProbe {
    fn reset(&self) {
        self.called.store(false, Ordering::Release);
        self.failed.store(false, Ordering::Release);
    }
}

/// Passive mode settings and the stream builder (the seam's data connect, the probe).
pub(crate) fn configure(
    mut ftp: Ftp,
    p: &OpenParams,
    net: &DriverNet,
    probe: &Arc<DataProbe>,
    tls: Option<&FtpTls>,
    peer: SocketAddr,
) -> Ftp {
    ftp.set_mode(passive_mode(peer.is_ipv6()));
    ftp.set_passive_nat_workaround(p.data_to_control_address || net.pasv_same_host);
    let (net, probe, tls) = (net.clone(), probe.clone(), tls.cloned());
    ftp.passive_stream_builder(move |addr| {
        let (net, probe, tls) = (net.clone(), probe.clone(), tls.clone());
        Box::pin(async move {
            probe.called.store(true, Ordering::Release);
            tracing::debug!(target: "bg95::ftp", "data connection to {addr}");
            match connect(&net, Conn::Data, addr, tls.as_ref()).await {
                Ok(tcp) => {
                    let _ = tcp.set_nodelay(true);
                    Ok(tcp)
                }
                Err(kind) => {
                    probe.failed.store(true, Ordering::Release);
                    Err(FtpError::ConnectionError(io::Error::other(format!(
                        "data connect: {kind:?}"
                    ))))
                }
            }
        })
    })
}

/// A data connection.
pub(crate) enum DataConn {
    /// Passive: suppaftp's transfer stream (`finish()` closes it and reads the reply).
    Passive(TransferStream<AsyncRustlsStream>),
    /// Active: the socket accepted on our listener (the reply is read separately).
    Active(AsyncDataStream<AsyncRustlsStream>),
}

impl DataConn {
    fn is_tls(&mut self) -> bool {
        let stream = match self {
            DataConn::Passive(t) => t.get_mut(),
            DataConn::Active(s) => s,
        };
        matches!(stream, AsyncDataStream::Ssl(_))
    }
}

impl AsyncRead for DataConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            DataConn::Passive(t) => Pin::new(t).poll_read(cx, buf),
            DataConn::Active(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for DataConn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            DataConn::Passive(t) => Pin::new(t).poll_write(cx, b),
            DataConn::Active(s) => Pin::new(s).poll_write(cx, b),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            DataConn::Passive(t) => Pin::new(t).poll_flush(cx),
            DataConn::Active(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            DataConn::Passive(t) => Pin::new(t).poll_shutdown(cx),
            DataConn::Active(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// A data connection as the driver uses it: counted, with the seam's faults.
pub(crate) type Data = Faulty<DataConn>;

/// An upload's data connection, possibly kept open across `UploadEnd { close: false }`.
pub(crate) struct Upload {
    pub data: Data,
    /// A write failed; reported at the next `UploadEnd`.
    pub failed: Option<Failure>,
}

fn is_file_transfer(command: &str) -> bool {
    command.starts_with("RETR ") || command.starts_with("STOR ")
}

/// A negative reply to the transfer command: 425 is the data connection's failure.
fn transfer_refused(reply: &Reply) -> Failure {
    let kind = if reply.code == 425 {
        FailureKind::DataOpen
    } else {
        FailureKind::Reply
    };
    reply.failure(kind)
}

/// The fault seam's replies for the commands of a passive transfer, before any goes out
/// (a replaced negative reply ends the transfer as the real one would).
async fn passive_faults(
    ctrl: &mut Control,
    pasv: &str,
    rest: u64,
    command: &str,
) -> Result<(), Failure> {
    if let Some(r) = ctrl.fault(pasv).await? {
        if !r.is_complete() {
            return Err(r.failure(FailureKind::DataOpen));
        }
    }
    if rest > 0 {
        if let Some(r) = ctrl.fault("REST").await? {
            if r.code != 350 {
                return Err(r.failure(FailureKind::Reply));
            }
        }
    }
    let verb = command.split(' ').next().unwrap_or("");
    if let Some(r) = ctrl.fault(verb).await? {
        if !r.is_preliminary() && !r.is_complete() {
            return Err(transfer_refused(&r));
        }
    }
    Ok(())
}

/// PASV/EPSV, (REST,) the transfer command and the data connection, through suppaftp.
async fn open_passive(
    s: &mut Session,
    command: &str,
    rest: u64,
) -> Result<Option<DataConn>, Failure> {
    let pasv = if s.ctrl.peer.is_ipv6() {
        "EPSV"
    } else {
        "PASV"
    };
    passive_faults(&mut s.ctrl, pasv, rest, command).await?;
    if rest > 0 {
        let _ = s.ctrl.ftp.resume_transfer(rest as usize).await;
        s.rest_armed = true;
    } else if s.rest_armed && is_file_transfer(command) {
        // Own code: suppaftp sends no `REST 0` (libunftp keeps a failed transfer's offset).
        // Best effort: a server that refuses it has no offset to clear.
        let _ = s.ctrl.command("REST 0").await?;
        s.rest_armed = false;
    }
    s.ctrl.count_sent(pasv);
    if rest > 0 {
        s.ctrl.count_sent(&format!("REST {rest}"));
    }
    s.ctrl.count_sent(command);
    tracing::debug!(target: "bg95::ftp", "-> {pasv} / {command}");
    s.probe.reset();
    let opened = s
        .ctrl
        .ftp
        .custom_data_command(command, &[Status::AboutToSend, Status::AlreadyOpen])
        .await;
    match opened {
        Ok((response, stream)) => {
            s.ctrl.got(&response);
            Ok(Some(DataConn::Passive(stream)))
        }
        Err(e) => passive_failure(s, e).await,
    }
}

/// Which step of a passive transfer failed (see the module docs).
async fn passive_failure(s: &mut Session, e: FtpError) -> Result<Option<DataConn>, Failure> {
    if !s.probe.called.load(Ordering::Acquire) {
        return Err(s.ctrl.failure(e, FailureKind::DataOpen));
    }
    if s.probe.failed.load(Ordering::Acquire) {
        return Err(fail(FailureKind::DataOpen, 0));
    }
    match e {
        FtpError::UnexpectedResponse(r) => {
            let reply = s.ctrl.got(&r);
            if reply.is_complete() {
                Ok(None) // completed without a data connection
            } else {
                Err(transfer_refused(&reply))
            }
        }
        FtpError::SecureError(e) => data_tls_failed(&mut s.ctrl, &e).await,
        other => Err(s.ctrl.failure(other, FailureKind::Reply)),
    }
}

/// The data connection's TLS handshake failed. The server answers the failed data
/// connection on the control connection; read that reply so the next command's reply is
/// its own.
///
/// The wait is bounded: a server answers a failed data connection at once (vsftpd closes
/// the session), but libunftp 0.24's data task panics on a failed handshake and never
/// answers (docs/ftp.md). After [`DATA_TLS_REPLY_WAIT`] without a reply the session is
/// given up (its control connection is out of step) and the transfer fails with the TLS
/// error, rather than waiting out rsptimeout.
async fn data_tls_failed<T>(ctrl: &mut Control, e: &str) -> Result<T, Failure> {
    tracing::info!(target: "bg95::ftp", "data TLS handshake: {e}");
    match tokio::time::timeout(DATA_TLS_REPLY_WAIT, ctrl.reply()).await {
        // The reply as it is: the core makes a positive one `<protocol_error>` 0.
        Ok(reply) => Err(fail(FailureKind::Tls, reply?.code)),
        Err(_) => {
            tracing::info!(target: "bg95::ftp", "no reply to the failed data connection: session given up");
            ctrl.closing = true;
            Err(fail(FailureKind::Tls, 0))
        }
    }
}

fn port_command(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => {
            let o = ip.octets();
            let (hi, lo) = (addr.port() >> 8, addr.port() & 0xff);
            format!("PORT {},{},{},{},{hi},{lo}", o[0], o[1], o[2], o[3])
        }
        IpAddr::V6(ip) => format!("EPRT |2|{ip}|{}|", addr.port()),
    }
}

/// Active mode (own code, see the module docs): listen, PORT/EPRT, (REST,) the transfer
/// command, accept the server's connection, TLS.
async fn open_active(
    s: &mut Session,
    command: &str,
    rest: u64,
) -> Result<Option<DataConn>, Failure> {
    let ctrl = &mut s.ctrl;
    let peer = ctrl.peer;
    if let Some(fault) = ctrl.net.faults.on_connect(Conn::Data, peer) {
        // The server's connect to our listener: a failing one never reaches the server.
        if failed_connect(&fault).await.is_some() {
            return Err(fail(FailureKind::DataOpen, 0));
        }
        if let (ConnectFault::TlsFailure, Some(tls)) = (&fault, &s.tls) {
            tls.fail_next();
        }
    }
    let listen = async {
        let listener = TcpListener::bind(SocketAddr::new(ctrl.local.ip(), 0)).await?;
        let addr = listener.local_addr()?;
        io::Result::Ok((listener, addr))
    };
    let (listener, addr) = listen.await.map_err(|e| {
        tracing::info!(target: "bg95::ftp", "data listen: {e}");
        fail(FailureKind::DataOpen, 0)
    })?;
    let reply = ctrl.command(&port_command(addr)).await?;
    if !reply.is_complete() {
        return Err(reply.failure(FailureKind::DataOpen));
    }
    if rest > 0 {
        let reply = ctrl.command(&format!("REST {rest}")).await?;
        if reply.code != 350 {
            return Err(reply.failure(FailureKind::Reply));
        }
        s.rest_armed = true;
    } else if s.rest_armed && is_file_transfer(command) {
        let _ = ctrl.command("REST 0").await?;
        s.rest_armed = false;
    }
    let reply = ctrl.command(command).await?;
    if reply.is_complete() {
        return Ok(None);
    }
    if !reply.is_preliminary() {
        return Err(transfer_refused(&reply));
    }
    let tcp = accept_from(&listener, peer).await?;
    match &s.tls {
        None => Ok(Some(DataConn::Active(AsyncDataStream::Tcp(tcp)))),
        Some(tls) => match tls.connect_data(tcp).await {
            Ok(stream) => Ok(Some(DataConn::Active(AsyncDataStream::Ssl(Box::new(
                stream,
            ))))),
            Err(e) => data_tls_failed(&mut s.ctrl, &e.to_string()).await,
        },
    }
}

/// The server's data connection; only the control connection's peer may connect.
async fn accept_from(listener: &TcpListener, peer: SocketAddr) -> Result<TcpStream, Failure> {
    loop {
        let (tcp, from) = listener.accept().await.map_err(|e| {
            tracing::info!(target: "bg95::ftp", "data accept: {e}");
            fail(FailureKind::DataOpen, 0)
        })?;
        if from.ip() == peer.ip() {
            let _ = tcp.set_nodelay(true);
            return Ok(tcp);
        }
        tracing::warn!(target: "bg95::ftp", "data connection from unexpected {from} refused");
    }
}

/// Set up a data connection, send REST (when `rest` > 0) and `command`, and open the data
/// stream with the seam's faults. `Ok(None)`: the server completed the command without a
/// data connection.
async fn open_data(
    s: &mut Session,
    command: &str,
    rest: u64,
    dir: Direction,
) -> Result<Option<Data>, Failure> {
    let conn = if s.passive {
        open_passive(s, command, rest).await?
    } else {
        open_active(s, command, rest).await?
    };
    Ok(conn.map(|conn| {
        let n = s.transfers.fetch_add(1, Ordering::AcqRel) + 1;
        let faults = s.ctrl.net.faults.on_data(n, dir);
        if !faults.is_empty() {
            tracing::info!(target: "bg95::ftp", "transfer {n}: faults {faults:?}");
        }
        Faulty::new(conn, faults, s.ctrl.net.traffic.clone()).with_progress(Progress {
            seam: s.ctrl.net.faults.clone(),
            transfer: n,
            dir,
        })
    }))
}

/// Close a data connection and read the transfer's final reply; a fault in the server's
/// place replaces it (the server's own reply is read first, so the control connection
/// stays in step).
async fn final_reply(ctrl: &mut Control, data: Data) -> Result<Reply, Failure> {
    let fault = data.final_reply_fault();
    let real = server_final_reply(ctrl, data).await;
    match fault {
        None => real,
        Some(f) => super::session::meet_reply_fault(ctrl, f, "final reply").await,
    }
}

async fn server_final_reply(ctrl: &mut Control, data: Data) -> Result<Reply, Failure> {
    match data.into_inner() {
        DataConn::Passive(stream) => match stream.finish().await {
            // suppaftp accepted a 226/250 and keeps its text.
            Ok(()) => Ok(Reply {
                code: 226,
                text: String::new(),
            }),
            Err(FtpError::UnexpectedResponse(r)) => Ok(ctrl.got(&r)),
            Err(e) => Err(ctrl.failure(e, FailureKind::Reply)),
        },
        DataConn::Active(stream) => {
            drop(stream);
            ctrl.reply().await
        }
    }
}

fn list_command(verb: &str, path: &str) -> String {
    if path.is_empty() {
        verb.to_string()
    } else {
        format!("{verb} {path}")
    }
}

/// How a download's read loop ended.
struct Received {
    total: u64,
    /// The limit was reached before the server's end of data.
    early: bool,
    /// The data connection broke.
    broken: bool,
}

/// Stream the data connection into `tx`, at most `limit` bytes.
async fn receive(
    data: &mut Data,
    tx: &mpsc::Sender<FtpEvent>,
    chunk: usize,
    limit: Option<u64>,
) -> Result<Received, Gone> {
    let tls = data.get_mut().is_tls();
    let mut buf = vec![0u8; chunk];
    let mut r = Received {
        total: 0,
        early: false,
        broken: false,
    };
    loop {
        let want = match limit {
            Some(limit) if r.total >= limit => {
                r.early = true;
                return Ok(r);
            }
            Some(limit) => chunk.min(usize::try_from(limit - r.total).unwrap_or(usize::MAX)),
            None => chunk,
        };
        match data.read(&mut buf[..want]).await {
            Ok(0) => return Ok(r),
            Ok(n) => {
                r.total += n as u64;
                // Awaiting the bounded channel is the backpressure: no read while it is full.
                tx.send(FtpEvent::Data(buf[..n].to_vec()))
                    .await
                    .map_err(|_| Gone)?;
            }
            // A TLS peer that closes without close_notify (libunftp does): the server's
            // final reply tells whether the transfer was complete.
            Err(e) if tls && e.kind() == io::ErrorKind::UnexpectedEof => return Ok(r),
            Err(e) => {
                tracing::info!(target: "bg95::ftp", "data connection broke after {} bytes: {e}", r.total);
                r.broken = true;
                return Ok(r);
            }
        }
    }
}

pub(crate) async fn download(
    session: &mut Session,
    tx: &mpsc::Sender<FtpEvent>,
    chunk: usize,
    source: DownloadSource,
    offset: u64,
    limit: Option<u64>,
) -> Result<Outcome, Gone> {
    let (command, rest) = match &source {
        DownloadSource::File(name) => (format!("RETR {name}"), offset),
        DownloadSource::List(path) => (list_command("LIST", path), 0),
        DownloadSource::Nlst(path) => (list_command("NLST", path), 0),
        DownloadSource::Mlsd(path) => (list_command("MLSD", path), 0),
    };
    let data = match open_data(session, &command, rest, Direction::Download).await {
        Ok(data) => data,
        Err(f) => return Ok(Err(f)),
    };
    tx.send(FtpEvent::DataReady).await.map_err(|_| Gone)?;
    let Some(mut data) = data else {
        return Ok(Ok(CoreReply::Ok));
    };
    let got = receive(&mut data, tx, chunk, limit).await?;
    tracing::debug!(target: "bg95::ftp", "download: {} bytes{}", got.total, if got.early { " (limit reached)" } else { "" });
    // Closing the data connection ends the transfer; after an early close the server
    // answers 426/451, read here so the control connection stays in step (never ABOR: it
    // desynchronises the control connection on real servers).
    let reply = match final_reply(&mut session.ctrl, data).await {
        Ok(reply) => reply,
        Err(f) => return Ok(Err(f)),
    };
    if reply.is_complete() {
        session.rest_armed = false;
    }
    // What happened, as it is: the core decides that a 426/451 after the limit is a
    // success and what `<protocol_error>` a broken connection shows.
    Ok(if got.broken {
        Err(fail(FailureKind::DataClosed, reply.code))
    } else if reply.is_complete() {
        Ok(CoreReply::Ok)
    } else {
        Err(reply.failure(FailureKind::Reply))
    })
}

pub(crate) async fn start_upload(
    session: &mut Session,
    tx: &mpsc::Sender<FtpEvent>,
    name: &str,
    offset: u64,
    append: bool,
) -> Result<Result<Upload, Failure>, Gone> {
    let (command, rest) = if append {
        (format!("APPE {name}"), 0)
    } else {
        (format!("STOR {name}"), offset)
    };
    let data = match open_data(session, &command, rest, Direction::Upload).await {
        Ok(Some(data)) => data,
        Ok(None) => return Ok(Err(fail(FailureKind::DataOpen, 0))),
        Err(f) => return Ok(Err(f)),
    };
    tx.send(FtpEvent::DataReady).await.map_err(|_| Gone)?;
    Ok(Ok(Upload { data, failed: None }))
}

/// Close an upload's data connection and read the server's final reply.
pub(crate) async fn finish_upload(session: &mut Session, upload: Upload) -> Outcome {
    let Upload {
        mut data,
        mut failed,
    } = upload;
    if failed.is_none() {
        if let Err(e) = data.shutdown().await {
            tracing::info!(target: "bg95::ftp", "upload shutdown failed: {e}");
            failed = Some(fail(FailureKind::PeerReset, 0));
        } else if data.get_mut().is_tls() {
            let mut sink = [0u8; 512];
            let _ = tokio::time::timeout(TLS_DRAIN, async {
                while matches!(data.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
        }
    }
    let reply = final_reply(&mut session.ctrl, data).await?;
    if reply.is_complete() {
        session.rest_armed = false;
    }
    match failed {
        // The server's final reply as it is (the core shows a positive one as 0).
        Some(f) => Err(Failure {
            reply: reply.code,
            ..f
        }),
        None if reply.is_complete() => Ok(CoreReply::Ok),
        None => Err(reply.failure(FailureKind::Reply)),
    }
}

/// Write upload bytes; a failure is kept for the next `UploadEnd`.
pub(crate) async fn write_upload(upload: &mut Upload, bytes: &[u8]) {
    if upload.failed.is_some() {
        return;
    }
    if let Err(e) = upload.data.write_all(bytes).await {
        tracing::info!(target: "bg95::ftp", "upload write failed: {e}");
        upload.failed = Some(fail(FailureKind::PeerReset, 0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_and_eprt() {
        assert_eq!(
            port_command("127.0.0.1:50000".parse().unwrap()),
            "PORT 127,0,0,1,195,80"
        );
        assert_eq!(port_command("[::1]:21".parse().unwrap()), "EPRT |2|::1|21|");
    }
}
