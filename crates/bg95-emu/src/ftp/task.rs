//! The driver task: one FTP session, one request at a time; `Abort` honoured at any await
//! point; while idle, the control connection is watched for the server's close.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use bg95_core::ftp::{FailureKind, FtpEvent, FtpRequest, Reply};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::data::{self, Gone, Outcome};
use super::session::{self, closed, fail, Session};
use super::DriverNet;

/// Why the driver stopped working on the current request.
enum Stop {
    /// `Abort` arrived: drop every connection, then report `FtpEvent::Aborted`.
    Abort,
    /// The request channel closed or the event receiver is gone: end the task.
    Shutdown,
}

pub(crate) struct Driver {
    rx: mpsc::Receiver<FtpRequest>,
    tx: mpsc::Sender<FtpEvent>,
    chunk: usize,
    /// Requests that arrived while another one was running (other than `Abort`).
    pending: VecDeque<FtpRequest>,
    session: Option<Session>,
    net: DriverNet,
    /// Data transfers since the task started (the fault seam numbers them).
    transfers: Arc<AtomicU64>,
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

/// Wait for `signal`, or forever without one.
async fn wait_signal(signal: Option<&tokio::sync::Notify>) {
    match signal {
        Some(n) => n.notified().await,
        None => std::future::pending().await,
    }
}

impl Driver {
    pub(crate) fn new(
        rx: mpsc::Receiver<FtpRequest>,
        tx: mpsc::Sender<FtpEvent>,
        chunk: usize,
        net: DriverNet,
    ) -> Driver {
        Driver {
            rx,
            tx,
            chunk: chunk.max(1),
            pending: VecDeque::new(),
            session: None,
            net,
            transfers: Arc::default(),
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
    /// cancellation safe (suppaftp's control channel keeps a partial line), so dropping it
    /// when a request arrives loses nothing. A complete reply while idle (e.g.
    /// `421 Timeout`) is unsolicited: logged and skipped; EOF or a reset ends the session
    /// and is reported once as `FtpEvent::ControlClosed`.
    ///
    /// Not while an upload is kept open between requests: its stream shares suppaftp's
    /// control channel, and its final reply must be read by its `finish()`.
    async fn next_request(&mut self) -> Option<FtpRequest> {
        if let Some(req) = self.pending.pop_front() {
            return Some(req);
        }
        loop {
            let Some(session) = self.session.as_mut() else {
                return self.without_session().await;
            };
            if session.upload.is_some() {
                return self.rx.recv().await;
            }
            let idle_close = self.net.faults.idle_signal();
            tokio::select! {
                biased;
                req = self.rx.recv() => return req,
                () = wait_signal(idle_close.as_deref()) => {
                    if self.net.faults.on_idle() {
                        tracing::info!(target: "bg95::ftp", "server closed the idle control connection (fault)");
                        self.session = None;
                        if self.tx.send(FtpEvent::ControlClosed).await.is_err() {
                            return None;
                        }
                    }
                }
                reply = session.ctrl.reply() => match reply {
                    Ok(reply) => {
                        tracing::info!(target: "bg95::ftp", "unsolicited reply while idle: {}", reply.text.trim_end().replace("\r\n", " / "));
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

    /// The next request while no session is open. A `control_close` armed meanwhile has
    /// no connection to close: it is dropped, never taken by a later open's commands.
    async fn without_session(&mut self) -> Option<FtpRequest> {
        let idle_close = self.net.faults.idle_signal();
        loop {
            tokio::select! {
                biased;
                req = self.rx.recv() => return req,
                () = wait_signal(idle_close.as_deref()) => {
                    if self.net.faults.on_idle() {
                        tracing::info!(target: "bg95::ftp", "control_close with no session open: nothing to close");
                    }
                }
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
            .map_err(|_| Stop::Shutdown)?;
        // A (fault's) 421 is the server closing the control connection after its reply:
        // the module meets the close as it would a real server's.
        if self.session.as_ref().is_some_and(|s| s.ctrl.closing) {
            tracing::info!(target: "bg95::ftp", "server closed the control connection after 421");
            self.session = None;
            self.tx
                .send(FtpEvent::ControlClosed)
                .await
                .map_err(|_| Stop::Shutdown)?;
        }
        Ok(())
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
            data::finish_upload(session, upload),
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
        match req {
            FtpRequest::Open(params) => self.open(params).await,
            FtpRequest::Close => self.close().await,
            other => self.in_session(other).await,
        }
    }

    /// A new Open replaces whatever session there was.
    async fn open(&mut self, params: bg95_core::ftp::OpenParams) -> Result<(), Stop> {
        self.session = None;
        let open = session::open(params, self.net.clone(), self.transfers.clone());
        let opened = guarded(&mut self.rx, &mut self.pending, open).await?;
        match opened {
            Ok(session) => {
                self.session = Some(session);
                self.done(Ok(Reply::Ok)).await
            }
            Err(f) => self.done(Err(f)).await,
        }
    }

    async fn close(&mut self) -> Result<(), Stop> {
        let Some(mut session) = self.session.take() else {
            return self.done(Err(closed())).await;
        };
        let quit = session::quit(&mut session.ctrl);
        let quit = guarded(&mut self.rx, &mut self.pending, quit).await?;
        drop(session);
        self.done(quit).await
    }

    /// Transfers and simple commands.
    async fn in_session(&mut self, req: FtpRequest) -> Result<(), Stop> {
        let Some(session) = self.session.as_mut() else {
            return self.done(Err(closed())).await;
        };
        let (tx, chunk) = (&self.tx, self.chunk);
        let gone = |_: Gone| Stop::Shutdown;
        let outcome = match req {
            FtpRequest::Download {
                source,
                offset,
                limit,
            } => {
                let download = data::download(session, tx, chunk, source, offset, limit);
                guarded(&mut self.rx, &mut self.pending, download)
                    .await?
                    .map_err(gone)?
            }
            FtpRequest::Upload {
                name,
                offset,
                append,
            } => {
                let start = data::start_upload(session, tx, &name, offset, append);
                let opened = guarded(&mut self.rx, &mut self.pending, start)
                    .await?
                    .map_err(gone)?;
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
                let command = session::simple_command(&mut session.ctrl, simple);
                guarded(&mut self.rx, &mut self.pending, command).await?
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
        let write = data::write_upload(upload, &bytes);
        guarded(&mut self.rx, &mut self.pending, write).await
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
            data::finish_upload(session, upload),
        )
        .await?;
        self.done(outcome).await
    }
}
