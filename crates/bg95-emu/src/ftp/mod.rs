//! The FTP driver: the runtime side of the core's FTP seam. It owns the control and data
//! connections (suppaftp over tokio, TLS through rustls/ring), performs one
//! [`FtpRequest`] at a time and reports [`FtpEvent`]s. It decides nothing a module decides:
//! it reports what happened, and the core maps it to `<err>,<protocol_error>`.
//!
//! Contract (see `bg95_core::ftp::FtpRequest` for each request's events):
//! - requests are handled in order, one at a time; `Abort` is honoured even in the middle of
//!   a transfer and drops every connection without an event;
//! - download chunks go out through a bounded channel, so a consumer that stops receiving
//!   stops the download (backpressure reaches the server through TCP);
//! - a kept-open upload (`UploadEnd { close: false }`) stays open until the next
//!   `UploadData`/`UploadEnd`; any other request first finishes it silently;
//! - while idle, a control connection the server closes is reported as `ControlClosed`.

use bg95_core::ftp::{FtpEvent, FtpRequest};
use tokio::sync::mpsc;

/// How many download chunks may wait in the event channel.
pub const EVENT_QUEUE: usize = 2;
/// The largest download chunk.
pub const CHUNK: usize = 16 * 1024;

/// The handle of a running driver task.
pub struct FtpDriver {
    pub requests: mpsc::Sender<FtpRequest>,
    pub events: mpsc::Receiver<FtpEvent>,
}

impl FtpDriver {
    /// Start the driver task on the current tokio runtime.
    pub fn spawn() -> FtpDriver {
        let (req_tx, mut req_rx) = mpsc::channel::<FtpRequest>(8);
        let (ev_tx, ev_rx) = mpsc::channel::<FtpEvent>(EVENT_QUEUE);
        tokio::spawn(async move {
            // Placeholder until the suppaftp driver lands: every request fails cleanly.
            while let Some(req) = req_rx.recv().await {
                if matches!(req, FtpRequest::Abort | FtpRequest::UploadData(_)) {
                    continue;
                }
                let failure = bg95_core::ftp::Failure::new(bg95_core::ftp::FailureKind::Other, 0);
                if ev_tx.send(FtpEvent::Done(Err(failure))).await.is_err() {
                    break;
                }
            }
        });
        FtpDriver {
            requests: req_tx,
            events: ev_rx,
        }
    }
}
