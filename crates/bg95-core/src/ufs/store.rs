//! The storage behind UFS. The core decides everything a module decides (names, capacity,
//! error codes, handles); a store only keeps bytes under validated names. `bg95-emu` backs
//! it with a directory (atomic writes); [`MemStore`] backs the core's own tests.

use std::collections::BTreeMap;

/// A storage failure (the disk, not the module's rules).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("no such file")]
    NotFound,
    /// A name the store refuses (a defensive second check; the core validates first).
    #[error("invalid file name")]
    InvalidName,
    #[error("storage I/O failed: {0}")]
    Io(String),
    /// The flash is full (a scenario's `ufs_full` fault): the module answers as for its
    /// own capacity check.
    #[error("no space left")]
    NoSpace,
}

/// Files by name. Names reaching a store are already validated by the core (no `/`, no
/// `..`, no NUL, at most 80 bytes, no leading `.`); a store may check again.
pub trait UfsStore: Send {
    /// Every file with its size, sorted by name.
    fn list(&self) -> Result<Vec<(String, u64)>, StoreError>;
    fn read(&self, name: &str) -> Result<Vec<u8>, StoreError>;
    /// Hand a file's bytes to `each` piece by piece, so a caller that only digests it never
    /// holds it whole (the transcript header of a large file). The default reads it whole.
    fn read_chunks(&self, name: &str, each: &mut dyn FnMut(&[u8])) -> Result<(), StoreError> {
        each(&self.read(name)?);
        Ok(())
    }
    /// Replace (or create) a file with `data`, atomically: afterwards the file holds either
    /// its old contents or all of `data`, whatever happens to the process.
    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), StoreError>;
    fn delete(&mut self, name: &str) -> Result<(), StoreError>;
    /// Rename `from` to `to`, replacing `to` if it exists. The default copies then deletes
    /// (a crash in between leaves both names, never a torn file); stores that can rename
    /// atomically override it.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), StoreError> {
        let data = self.read(from)?;
        self.write(to, &data)?;
        self.delete(from)
    }
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
        Ok(self
            .files
            .iter()
            .map(|(k, v)| (k.clone(), v.len() as u64))
            .collect())
    }

    fn read(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        self.files.get(name).cloned().ok_or(StoreError::NotFound)
    }

    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        self.files.insert(name.to_string(), data.to_vec());
        Ok(())
    }

    fn delete(&mut self, name: &str) -> Result<(), StoreError> {
        self.files
            .remove(name)
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), StoreError> {
        let data = self.files.remove(from).ok_or(StoreError::NotFound)?;
        self.files.insert(to.to_string(), data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_store_round_trip() {
        let mut s = MemStore::new();
        s.write("b", b"22").unwrap();
        s.write("a", b"1").unwrap();
        assert_eq!(s.list().unwrap(), vec![("a".into(), 1), ("b".into(), 2)]);
        s.rename("a", "c").unwrap();
        assert_eq!(s.read("c").unwrap(), b"1");
        assert_eq!(s.read("a"), Err(StoreError::NotFound));
        s.delete("b").unwrap();
        assert_eq!(s.delete("b"), Err(StoreError::NotFound));
    }

    /// The default rename (copy, then delete) used by stores without a native one.
    struct Plain(MemStore);
    impl UfsStore for Plain {
        fn list(&self) -> Result<Vec<(String, u64)>, StoreError> {
            self.0.list()
        }
        fn read(&self, name: &str) -> Result<Vec<u8>, StoreError> {
            self.0.read(name)
        }
        fn write(&mut self, name: &str, data: &[u8]) -> Result<(), StoreError> {
            self.0.write(name, data)
        }
        fn delete(&mut self, name: &str) -> Result<(), StoreError> {
            self.0.delete(name)
        }
    }

    #[test]
    fn default_rename_copies_then_deletes() {
        let mut s = Plain(MemStore::new());
        s.write("x", b"data").unwrap();
        s.write("y", b"old").unwrap();
        s.rename("x", "y").unwrap();
        assert_eq!(s.list().unwrap(), vec![("y".into(), 4)]);
        assert_eq!(s.rename("x", "z"), Err(StoreError::NotFound));
    }
}
