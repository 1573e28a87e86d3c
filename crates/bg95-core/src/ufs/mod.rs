//! UFS, the module's user file system: the store, and the commands that use it.

mod store;

pub use store::{MemStore, StoreError, UfsStore};

use bg95_at::Invocation;

use crate::escape::EscapeDetector;
use crate::module::{Module, Outcome};
use crate::time::Instant;

/// The UFS state a module keeps: the store and its capacity.
pub struct Ufs {
    pub(crate) store: Box<dyn UfsStore>,
    pub(crate) capacity: u64,
}

impl std::fmt::Debug for Ufs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ufs").field("capacity", &self.capacity).finish()
    }
}

impl Ufs {
    pub fn new(store: Box<dyn UfsStore>, capacity: u64) -> Self {
        Ufs { store, capacity }
    }

    /// A reset closes every open handle; the files stay.
    pub fn reset(&mut self) {}
}

/// A data-mode transfer into a UFS file (QFUPL, QFWRITE).
#[derive(Debug)]
pub(crate) struct UfsTransfer {
    pub(crate) escape: EscapeDetector,
}

impl UfsTransfer {
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.escape.deadline()
    }
}

impl Module {
    pub(crate) fn dispatch_ufs(&mut self, _now: Instant, _inv: &Invocation) -> Option<Outcome> {
        None
    }

    pub(crate) fn ufs_timeout(&mut self, _now: Instant) {}

    /// The whole contents of a UFS file, for AT+QFTPPUT from UFS and for SSL certificates.
    /// `name` is as the host typed it (a `UFS:` prefix is accepted).
    pub(crate) fn ufs_read_for_ftp(&self, name: &str) -> Result<Vec<u8>, crate::error::CmeError> {
        self.ufs.store.read(name).map_err(|_| crate::error::CmeError::FileNotFound)
    }

    /// Create or replace a UFS file with downloaded bytes (AT+QFTPGET/LIST/NLST/MLSD to UFS):
    /// name-checked, capacity-checked and atomic.
    pub(crate) fn ufs_write_for_ftp(&mut self, name: &str, data: &[u8]) -> Result<(), crate::error::CmeError> {
        self.ufs.store.write(name, data).map_err(|_| crate::error::CmeError::WriteFailed)
    }

    /// True if `name` (as the host typed it) can name a UFS file.
    pub(crate) fn ufs_valid_name(name: &str) -> bool {
        !name.is_empty() && name.len() <= 80
    }

    pub(crate) fn ufs_data_input(&mut self, _now: Instant, bytes: &[u8]) -> usize {
        bytes.len()
    }

    pub(crate) fn ufs_escaped(&mut self, _now: Instant, _t: UfsTransfer) {}
}
