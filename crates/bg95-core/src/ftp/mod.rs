//! FTP(S): QFTPCFG/QSSLCFG settings, the session state machine and COM: data mode.

mod seam;

pub use seam::{
    DownloadSource, Failure, FailureKind, FtpEvent, FtpRequest, OpenParams, Reply, Security,
    TlsSettings,
};

use bg95_at::Invocation;

use crate::module::{Module, Outcome};
use crate::time::Instant;

#[derive(Debug, Default)]
pub struct Ftp {}

impl Ftp {
    pub fn reset(&mut self) {}
    pub fn has_connection(&self) -> bool {
        false
    }
    pub fn deadline(&self) -> Option<Instant> {
        None
    }
    pub fn wants_data(&self) -> bool {
        false
    }
}

impl Module {
    pub(crate) fn dispatch_ftp(&mut self, _now: Instant, _inv: &Invocation) -> Option<Outcome> {
        None
    }
    pub(crate) fn ftp_event(&mut self, _now: Instant, _ev: FtpEvent) {}
    pub(crate) fn ftp_timeout(&mut self, _now: Instant) {}
    pub(crate) fn ato(&mut self, _now: Instant) -> Outcome {
        Outcome::Fail(bg95_at::FinalResult::NoCarrier)
    }
    pub(crate) fn ftp_download_input(&mut self, _now: Instant, bytes: &[u8]) -> usize {
        bytes.len()
    }
    pub(crate) fn ftp_upload_input(&mut self, _now: Instant, bytes: &[u8]) -> usize {
        bytes.len()
    }
    pub(crate) fn ftp_download_escaped(&mut self, _now: Instant) {}
    pub(crate) fn ftp_upload_escaped(&mut self, _now: Instant) {}
    pub(crate) fn ftp_context_lost(&mut self, _now: Instant, _cid: u8) {}
}
