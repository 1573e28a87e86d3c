//! UFS full as a fault: a [`UfsStore`] wrapper (smoltcp's `FaultInjector` idea) that, once
//! its flag is set, refuses every write with [`StoreError::NoSpace`]; the core answers
//! exactly as when its own capacity check fails (`+CME ERROR: 420`). Reads, lists and
//! deletes still work, as on a full flash.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bg95_core::ufs::StoreError;
use bg95_core::UfsStore;

pub struct FullStore {
    inner: Box<dyn UfsStore>,
    full: Arc<AtomicBool>,
}

impl FullStore {
    /// Wrap `inner`; writes fail while `full` is true.
    pub fn new(inner: Box<dyn UfsStore>, full: Arc<AtomicBool>) -> Self {
        FullStore { inner, full }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.full.load(Ordering::Acquire) {
            Err(StoreError::NoSpace)
        } else {
            Ok(())
        }
    }
}

impl UfsStore for FullStore {
    fn list(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.inner.list()
    }
    fn read(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        self.inner.read(name)
    }
    fn read_chunks(&self, name: &str, each: &mut dyn FnMut(&[u8])) -> Result<(), StoreError> {
        self.inner.read_chunks(name, each)
    }
    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.write(name, data)
    }
    fn delete(&mut self, name: &str) -> Result<(), StoreError> {
        self.inner.delete(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), StoreError> {
        self.inner.rename(from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bg95_core::ufs::MemStore;

    #[test]
    fn writes_fail_once_full() {
        let flag = Arc::new(AtomicBool::new(false));
        let mut s = FullStore::new(Box::new(MemStore::new()), flag.clone());
        s.write("a", b"1").unwrap();
        flag.store(true, Ordering::Release);
        assert_eq!(s.write("b", b"2"), Err(StoreError::NoSpace));
        assert_eq!(s.read("a"), Ok(b"1".to_vec()));
        s.delete("a").unwrap();
    }
}
