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

    pub(crate) fn ufs_data_input(&mut self, _now: Instant, bytes: &[u8]) -> usize {
        bytes.len()
    }

    pub(crate) fn ufs_escaped(&mut self, _now: Instant, _t: UfsTransfer) {}
}
