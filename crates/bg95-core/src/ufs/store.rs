//! The storage behind UFS. The core decides everything a module decides (names, capacity,
//! error codes, handles); a store only keeps bytes under validated names. `bg95-emu` backs
//! it with a directory (atomic writes); [`MemStore`] backs the core's own tests.

use std::collections::BTreeMap;

/// A storage failure (the disk, not the module's rules).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("no such file")]
    NotFound,
    #[error("storage I/O failed: {0}")]
    Io(String),
}

/// Files by name. Names reaching a store are already validated by the core (no `/`, no
/// `..`, no NUL, at most 80 bytes).
pub trait UfsStore: Send {
    /// Every file with its size, sorted by name.
    fn list(&self) -> Result<Vec<(String, u64)>, StoreError>;
    fn read(&self, name: &str) -> Result<Vec<u8>, StoreError>;
    /// Replace (or create) a file with `data`, atomically: afterwards the file holds either
    /// its old contents or all of `data`, whatever happens to the process.
    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), StoreError>;
    fn delete(&mut self, name: &str) -> Result<(), StoreError>;
}

/// An in-memory store.
#[derive(Debug, Default, Clone)]
pub struct MemStore {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl UfsStore for MemStore {
    fn list(&self) -> Result<Vec<(String, u64)>, StoreError> {
        Ok(self.files.iter().map(|(k, v)| (k.clone(), v.len() as u64)).collect())
    }

    fn read(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        self.files.get(name).cloned().ok_or(StoreError::NotFound)
    }

    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        self.files.insert(name.to_string(), data.to_vec());
        Ok(())
    }

    fn delete(&mut self, name: &str) -> Result<(), StoreError> {
        self.files.remove(name).map(|_| ()).ok_or(StoreError::NotFound)
    }
}
