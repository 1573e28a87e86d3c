//! UFS on disk: [`DirStore`] keeps each UFS file as one file in a directory.
//!
//! Writes are atomic: the bytes go to a temporary file in the same directory, which is
//! fsynced, renamed over the target and followed by an fsync of the directory, so a
//! `kill -9` (or a power cut) at any moment leaves the old file or the new one, never a torn
//! one. Temporary files start with `.` (a UFS name never does): [`UfsStore::list`] skips
//! them and [`DirStore::open`] removes the ones a crash left behind.
//!
//! Names are checked again here, whatever the core already did: a name with `/`, `\`,
//! `..`, NUL, a leading `.`, or over 80 bytes is refused, so nothing can reach outside the
//! directory. Only regular files count: symlinks and subdirectories are neither listed nor
//! followed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bg95_core::{StoreError, UfsStore};

/// The prefix of temporary files (never a valid UFS name: it starts with `.`).
const TMP_PREFIX: &str = ".bg95-tmp-";
/// The longest UFS name in bytes.
const MAX_NAME: usize = 80;

/// A UFS store backed by a directory.
#[derive(Debug)]
pub struct DirStore {
    dir: PathBuf,
    /// Makes temporary names unique within this process.
    counter: u64,
}

/// True if `name` may be a file in the store's directory.
pub fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && !name.contains("..")
        && !name.contains(['/', '\\', '\0'])
}

fn io_err(e: io::Error) -> StoreError {
    match e.kind() {
        io::ErrorKind::NotFound => StoreError::NotFound,
        _ => StoreError::Io(e.to_string()),
    }
}

impl DirStore {
    /// Use `path` (created if missing) as the store, removing temporary files a crash left.
    pub fn open(path: impl AsRef<Path>) -> io::Result<DirStore> {
        let dir = path.as_ref().to_path_buf();
        fs::create_dir_all(&dir)?;
        let mut cleaned = false;
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let is_tmp = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(TMP_PREFIX));
            if is_tmp && entry.file_type()?.is_file() {
                tracing::debug!(target: "bg95::ufs", "removing leftover {}", entry.path().display());
                fs::remove_file(entry.path())?;
                cleaned = true;
            }
        }
        let store = DirStore { dir, counter: 0 };
        if cleaned {
            store.sync_dir()?;
        }
        Ok(store)
    }

    /// The directory behind the store.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }

    /// The path of a UFS file, if the name is safe.
    fn file(&self, name: &str) -> Result<PathBuf, StoreError> {
        if safe_name(name) {
            Ok(self.dir.join(name))
        } else {
            Err(StoreError::InvalidName)
        }
    }

    /// The path of an existing regular file (symlinks and directories do not count).
    fn existing(&self, name: &str) -> Result<PathBuf, StoreError> {
        let path = self.file(name)?;
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_file() => Ok(path),
            Ok(_) => Err(StoreError::NotFound),
            Err(e) => Err(io_err(e)),
        }
    }

    fn write_tmp(&self, tmp: &Path, data: &[u8]) -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(tmp)?;
        f.write_all(data)?;
        f.sync_all()
    }
}

impl UfsStore for DirStore {
    fn list(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !safe_name(&name) {
                continue;
            }
            let meta = match entry.metadata() {
                Ok(m) => m,
                // Deleted between read_dir and metadata.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(e)),
            };
            // DirEntry::metadata does not follow symlinks.
            if meta.file_type().is_file() {
                out.push((name, meta.len()));
            }
        }
        out.sort();
        Ok(out)
    }

    fn read(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.existing(name)?;
        fs::read(path).map_err(io_err)
    }

    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        let path = self.file(name)?;
        if fs::symlink_metadata(&path).is_ok_and(|m| !m.file_type().is_file()) {
            return Err(StoreError::Io(format!("{name}: not a regular file")));
        }
        self.counter += 1;
        let tmp = self.dir.join(format!(
            "{TMP_PREFIX}{}-{}",
            std::process::id(),
            self.counter
        ));
        let result = self
            .write_tmp(&tmp, data)
            .and_then(|()| fs::rename(&tmp, &path))
            .and_then(|()| self.sync_dir());
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| StoreError::Io(e.to_string()))
    }

    fn delete(&mut self, name: &str) -> Result<(), StoreError> {
        let path = self.existing(name)?;
        fs::remove_file(path).map_err(io_err)?;
        self.sync_dir().map_err(io_err)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), StoreError> {
        let src = self.existing(from)?;
        let dst = self.file(to)?;
        if fs::symlink_metadata(&dst).is_ok_and(|m| !m.file_type().is_file()) {
            return Err(StoreError::Io(format!("{to}: not a regular file")));
        }
        fs::rename(src, dst).map_err(io_err)?;
        self.sync_dir().map_err(io_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, DirStore) {
        let t = tempfile::tempdir().unwrap();
        let s = DirStore::open(t.path().join("ufs")).unwrap();
        (t, s)
    }

    #[test]
    fn round_trip_and_persistence_across_reopen() {
        let (t, mut s) = store();
        assert_eq!(s.list().unwrap(), vec![]);
        s.write("b.bin", &[0, 1, 2, 255]).unwrap();
        s.write("a.txt", b"hello").unwrap();
        s.write("a.txt", b"hello again").unwrap();
        assert_eq!(
            s.list().unwrap(),
            vec![("a.txt".into(), 11), ("b.bin".into(), 4)]
        );
        drop(s);
        let mut s = DirStore::open(t.path().join("ufs")).unwrap();
        assert_eq!(s.read("a.txt").unwrap(), b"hello again");
        assert_eq!(s.read("b.bin").unwrap(), [0, 1, 2, 255]);
        s.rename("a.txt", "c.txt").unwrap();
        assert_eq!(s.read("a.txt"), Err(StoreError::NotFound));
        assert_eq!(s.read("c.txt").unwrap(), b"hello again");
        s.rename("c.txt", "b.bin").unwrap();
        assert_eq!(s.list().unwrap(), vec![("b.bin".into(), 11)]);
        s.delete("b.bin").unwrap();
        assert_eq!(s.delete("b.bin"), Err(StoreError::NotFound));
        assert_eq!(s.rename("nope", "x"), Err(StoreError::NotFound));
        assert_eq!(s.list().unwrap(), vec![]);
        // No temporary file is left after successful writes.
        assert_eq!(fs::read_dir(s.path()).unwrap().count(), 0);
    }

    #[test]
    fn leftover_temp_files_are_ignored_and_cleaned_on_open() {
        let (t, mut s) = store();
        s.write("keep", b"old").unwrap();
        // A crash between creating the temporary file and the rename.
        let tmp = s.path().join(format!("{TMP_PREFIX}4242-7"));
        fs::write(&tmp, b"torn ne").unwrap();
        assert_eq!(s.list().unwrap(), vec![("keep".into(), 3)]);
        assert_eq!(
            s.read(&format!("{TMP_PREFIX}4242-7")),
            Err(StoreError::InvalidName)
        );
        drop(s);
        let s = DirStore::open(t.path().join("ufs")).unwrap();
        assert!(!tmp.exists());
        assert_eq!(s.list().unwrap(), vec![("keep".into(), 3)]);
        assert_eq!(s.read("keep").unwrap(), b"old");
    }

    #[test]
    fn foreign_entries_are_not_files() {
        let (_t, s) = store();
        fs::write(s.path().join(".DS_Store"), b"x").unwrap();
        fs::create_dir(s.path().join("sub")).unwrap();
        fs::write(s.path().join("real"), b"1").unwrap();
        assert_eq!(s.list().unwrap(), vec![("real".into(), 1)]);
        assert_eq!(s.read("sub"), Err(StoreError::NotFound));
        // Other dotfiles are not temporary files of ours: they survive a reopen.
        let s = DirStore::open(s.path()).unwrap();
        assert!(s.path().join(".DS_Store").exists());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_not_followed() {
        let (t, mut s) = store();
        let outside = t.path().join("outside.txt");
        fs::write(&outside, b"secret").unwrap();
        std::os::unix::fs::symlink(&outside, s.path().join("link")).unwrap();
        assert_eq!(s.list().unwrap(), vec![]);
        assert_eq!(s.read("link"), Err(StoreError::NotFound));
        assert!(s.write("link", b"overwrite").is_err());
        assert_eq!(s.delete("link"), Err(StoreError::NotFound));
        assert_eq!(fs::read(&outside).unwrap(), b"secret");
    }

    #[test]
    fn path_escapes_are_rejected() {
        let (t, mut s) = store();
        let long = "x".repeat(81);
        let bad = [
            "",
            ".",
            "..",
            "../escape",
            "..\\escape",
            "a/b",
            "/etc/passwd",
            "a\\b",
            "a\0b",
            ".hidden",
            "a..b",
            long.as_str(),
        ];
        for name in bad {
            assert_eq!(
                s.write(name, b"x"),
                Err(StoreError::InvalidName),
                "{name:?}"
            );
            assert_eq!(s.read(name), Err(StoreError::InvalidName), "{name:?}");
            assert_eq!(s.delete(name), Err(StoreError::InvalidName), "{name:?}");
        }
        s.write("ok", b"1").unwrap();
        assert_eq!(s.rename("ok", "../ok"), Err(StoreError::InvalidName));
        assert_eq!(s.rename("../ok", "ok2"), Err(StoreError::InvalidName));
        // Nothing was created next to (or above) the store's directory.
        let mut beside: Vec<_> = fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        beside.sort();
        assert_eq!(beside, vec![std::ffi::OsString::from("ufs")]);
        assert_eq!(s.list().unwrap(), vec![("ok".into(), 1)]);
        assert!(s.write(&"y".repeat(80), b"").is_ok());
    }

    #[test]
    fn works_under_the_core() {
        use bg95_core::{Instant, Module, Personality};
        let (t, s) = store();
        let mut m = Module::new(Personality::default(), Box::new(s), Instant::ZERO);
        while m.poll_output().is_some() {}
        m.handle_input(Instant::ZERO, b"ATE0\rAT+QFUPL=\"x.txt\",4\r\nabcd");
        let out = m.poll_output().unwrap();
        assert!(
            out.ends_with(b"\r\n+QFUPL: 4,206\r\n\r\nOK\r\n"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        assert_eq!(fs::read(t.path().join("ufs/x.txt")).unwrap(), b"abcd");
    }
}
