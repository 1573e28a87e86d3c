//! UFS on disk: [`DirStore`] keeps each UFS file as one file in a directory, and a UFS name
//! with folders (`security/cacert.pem`) as a file in subdirectories of it.
//!
//! Writes are atomic: the bytes go to a temporary file in the store's directory, which is
//! fsynced, renamed over the target and followed by an fsync of the directories whose
//! entries changed, so a `kill -9` (or a power cut) at any moment leaves the old file or the
//! new one, never a torn one. Temporary files start with `.` (a UFS name never does):
//! [`UfsStore::list`] skips them and [`DirStore::open`] removes the ones a crash left behind.
//!
//! Names are checked again here, whatever the core already did: a name with an empty
//! segment (`a//b`, a leading or trailing `/`), `\`, `..`, NUL, a segment starting with `.`,
//! or over 80 bytes is refused, so nothing can reach outside the directory. Only regular
//! files and real directories count: a symlink (to a file or to a folder, inside the
//! directory or out of it) is never listed, read, written through, deleted or renamed; a
//! name whose folder is a symlink is "not found" for reads and deletes and a failure for
//! writes. Folders are created when a file is written into them and removed when their last
//! file goes (delete or rename), so no empty folder is left behind.
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

/// True if `name` may be a file in the store's directory: `/`-separated segments, each
/// non-empty, not starting with `.`, without `..`, `\\` or NUL; 80 bytes in all.
pub fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && !seg.contains("..")
                && !seg.contains(['\\', '\0'])
        })
}

/// The folders of a name, outermost first: `a/b/c` → `a`, `a/b`.
fn folders(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('/').map(move |(i, _)| &name[..i])
}

/// How the folders of a name stand on disk.
enum Folders {
    /// Every folder is a real directory.
    Present,
    /// A folder does not exist (so neither does the file).
    Missing,
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

    /// Check the folders of a (safe) name without following anything: each must be a real
    /// directory or missing; a symlink or a file in the way is an error.
    fn check_folders(&self, name: &str) -> Result<Folders, StoreError> {
        for folder in folders(name) {
            match fs::symlink_metadata(self.dir.join(folder)) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(_) => return Err(StoreError::Io(format!("{folder}: not a folder"))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Folders::Missing),
                Err(e) => return Err(io_err(e)),
            }
        }
        Ok(Folders::Present)
    }

    /// The path of an existing regular file (symlinks and directories do not count, nor a
    /// file whose folder is a symlink).
    fn existing(&self, name: &str) -> Result<PathBuf, StoreError> {
        let path = self.file(name)?;
        match self.check_folders(name) {
            Ok(Folders::Present) => {}
            Ok(Folders::Missing) | Err(StoreError::Io(_)) => return Err(StoreError::NotFound),
            Err(e) => return Err(e),
        }
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_file() => Ok(path),
            Ok(_) => Err(StoreError::NotFound),
            Err(e) => Err(io_err(e)),
        }
    }

    /// The path a file may be written to: its folders exist as real directories (created
    /// as needed, never through a symlink) and the name is not taken by anything but a
    /// regular file.
    fn writable(&self, name: &str) -> Result<PathBuf, StoreError> {
        let path = self.file(name)?;
        for folder in folders(name) {
            let dir = self.dir.join(folder);
            match fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::Io(e.to_string())),
            }
            // Whatever was there or raced in: it must be a real directory.
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(_) => return Err(StoreError::Io(format!("{folder}: not a folder"))),
                Err(e) => return Err(StoreError::Io(e.to_string())),
            }
        }
        if fs::symlink_metadata(&path).is_ok_and(|m| !m.file_type().is_file()) {
            return Err(StoreError::Io(format!("{name}: not a regular file")));
        }
        Ok(path)
    }

    /// Remove the folders of `name` that are now empty, innermost first (a folder that
    /// still holds something stops it).
    fn prune(&self, name: &str) {
        // Only for safe names (`/etc/x` must never name the host's `/etc`), and only folders
        // that are real directories all the way down: never rmdir through a symlink (`a/b`
        // with `a` a symlink would name a directory outside the store).
        if !safe_name(name) {
            return;
        }
        let mut chain: Vec<&str> = folders(name)
            .take_while(|f| {
                fs::symlink_metadata(self.dir.join(f)).is_ok_and(|m| m.file_type().is_dir())
            })
            .collect();
        chain.reverse();
        for folder in chain {
            if fs::remove_dir(self.dir.join(folder)).is_err() {
                break;
            }
        }
    }

    /// Fsync the innermost existing folder of `name` (its own, unless a prune removed it),
    /// and the store's directory.
    fn sync_parent(&self, name: &str) -> io::Result<()> {
        let chain: Vec<&str> = folders(name).collect();
        if let Some(folder) = chain
            .iter()
            .rev()
            .find(|f| fs::symlink_metadata(self.dir.join(f)).is_ok_and(|m| m.file_type().is_dir()))
        {
            File::open(self.dir.join(folder))?.sync_all()?;
        }
        self.sync_dir()
    }

    fn write_tmp(&self, tmp: &Path, data: &[u8]) -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(tmp)?;
        f.write_all(data)?;
        f.sync_all()
    }

    /// Every regular file under `dir` (whose UFS name is `prefix`), depth first.
    fn walk(&self, dir: &Path, prefix: &str, out: &mut Vec<(String, u64)>) -> io::Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            // A folder removed while listing.
            Err(e) if e.kind() == io::ErrorKind::NotFound && !prefix.is_empty() => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            // Also bounds the depth: a valid name is at most 80 bytes.
            if !safe_name(&rel) {
                continue;
            }
            // DirEntry::metadata does not follow symlinks.
            let meta = match entry.metadata() {
                Ok(m) => m,
                // Deleted between read_dir and metadata.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if meta.file_type().is_file() {
                out.push((rel, meta.len()));
            } else if meta.file_type().is_dir() {
                self.walk(&entry.path(), &rel, out)?;
            }
        }
        Ok(())
    }
}

impl UfsStore for DirStore {
    fn list(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = Vec::new();
        self.walk(&self.dir, "", &mut out).map_err(io_err)?;
        out.sort();
        Ok(out)
    }

    fn read(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.existing(name)?;
        fs::read(path).map_err(io_err)
    }

    fn read_chunks(&self, name: &str, each: &mut dyn FnMut(&[u8])) -> Result<(), StoreError> {
        use std::io::Read;
        let mut file = fs::File::open(self.existing(name)?).map_err(io_err)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match file.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => each(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(e)),
            }
        }
    }

    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        let path = match self.writable(name) {
            Ok(p) => p,
            Err(e) => {
                self.prune(name);
                return Err(e);
            }
        };
        self.counter += 1;
        let tmp = self.dir.join(format!(
            "{TMP_PREFIX}{}-{}",
            std::process::id(),
            self.counter
        ));
        let result = self
            .write_tmp(&tmp, data)
            .and_then(|()| fs::rename(&tmp, &path))
            .and_then(|()| self.sync_parent(name));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
            if !path.exists() {
                self.prune(name);
            }
        }
        result.map_err(|e| StoreError::Io(e.to_string()))
    }

    fn delete(&mut self, name: &str) -> Result<(), StoreError> {
        let path = self.existing(name)?;
        fs::remove_file(path).map_err(io_err)?;
        self.prune(name);
        self.sync_parent(name).map_err(io_err)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), StoreError> {
        let src = self.existing(from)?;
        let dst = match self.writable(to) {
            Ok(p) => p,
            Err(e) => {
                self.prune(to);
                return Err(e);
            }
        };
        if let Err(e) = fs::rename(src, dst) {
            self.prune(to);
            return Err(io_err(e));
        }
        self.prune(from);
        self.sync_parent(to).map_err(io_err)?;
        self.sync_parent(from).map_err(io_err)
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
            "a//b",
            "a/",
            "/a",
            "a/../../b",
            "a/./b",
            "a/.hidden",
            "sub/..",
            "/etc/passwd",
            "//etc/passwd",
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
        assert!(s
            .write(&format!("{}/{}", "d".repeat(39), "f".repeat(40)), b"")
            .is_ok());
        assert_eq!(
            s.write(&format!("{}/{}", "d".repeat(40), "f".repeat(40)), b""),
            Err(StoreError::InvalidName)
        );
    }

    #[test]
    fn folders_hold_files_and_go_when_empty() {
        let (t, mut s) = store();
        s.write("security/cacert.pem", b"CA").unwrap();
        s.write("security/client.pem", b"CERT").unwrap();
        s.write("a/b/c/deep.txt", b"1").unwrap();
        s.write("top.txt", b"22").unwrap();
        assert_eq!(
            fs::read(s.path().join("security/cacert.pem")).unwrap(),
            b"CA"
        );
        assert_eq!(
            s.list().unwrap(),
            vec![
                ("a/b/c/deep.txt".into(), 1),
                ("security/cacert.pem".into(), 2),
                ("security/client.pem".into(), 4),
                ("top.txt".into(), 2),
            ]
        );
        // Persisted across a reopen.
        drop(s);
        let mut s = DirStore::open(t.path().join("ufs")).unwrap();
        assert_eq!(s.read("security/client.pem").unwrap(), b"CERT");
        // A move between folders removes the emptied source folders.
        s.rename("a/b/c/deep.txt", "x/moved.txt").unwrap();
        assert!(!s.path().join("a").exists());
        assert_eq!(s.read("x/moved.txt").unwrap(), b"1");
        // The last delete in a folder removes it; others keep theirs.
        s.delete("security/cacert.pem").unwrap();
        assert!(s.path().join("security").is_dir());
        s.delete("security/client.pem").unwrap();
        assert!(!s.path().join("security").exists());
        s.delete("x/moved.txt").unwrap();
        assert_eq!(s.list().unwrap(), vec![("top.txt".into(), 2)]);
        // A file cannot be a folder and the reverse.
        assert!(matches!(s.write("top.txt/x", b""), Err(StoreError::Io(_))));
        assert_eq!(s.read("top.txt/x"), Err(StoreError::NotFound));
        s.write("dir/f", b"").unwrap();
        assert!(matches!(s.write("dir", b""), Err(StoreError::Io(_))));
        assert_eq!(s.read("dir"), Err(StoreError::NotFound));
        assert_eq!(s.delete("dir"), Err(StoreError::NotFound));
        let mut left: Vec<_> = fs::read_dir(s.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(left, vec!["dir", "top.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_folders_are_not_followed() {
        let (t, mut s) = store();
        let outside = t.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("secret.pem"), b"secret").unwrap();
        fs::create_dir(outside.join("empty")).unwrap();
        // A folder symlink planted inside the UFS directory, pointing out of it.
        std::os::unix::fs::symlink(&outside, s.path().join("security")).unwrap();
        // Also one inside a real folder.
        fs::create_dir(s.path().join("real")).unwrap();
        std::os::unix::fs::symlink(&outside, s.path().join("real/link")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.pem"), s.path().join("real/f.pem"))
            .unwrap();
        for name in ["security/secret.pem", "real/link/secret.pem", "real/f.pem"] {
            assert_eq!(s.read(name), Err(StoreError::NotFound), "{name}");
            assert_eq!(s.delete(name), Err(StoreError::NotFound), "{name}");
            assert!(s.write(name, b"overwrite").is_err(), "{name}");
            assert_eq!(
                s.rename(name, "stolen.pem"),
                Err(StoreError::NotFound),
                "{name}"
            );
        }
        assert!(s.write("security/new.pem", b"x").is_err());
        assert!(s.write("security/empty/new.pem", b"x").is_err());
        s.write("mine.pem", b"mine").unwrap();
        assert!(s.rename("mine.pem", "security/mine.pem").is_err());
        assert!(s.rename("mine.pem", "real/link/mine.pem").is_err());
        // Listing neither follows nor shows the symlinks.
        assert_eq!(s.list().unwrap(), vec![("mine.pem".into(), 4)]);
        // Outside is untouched: same file, no new file, the empty folder still there.
        assert_eq!(fs::read(outside.join("secret.pem")).unwrap(), b"secret");
        let mut names: Vec<_> = fs::read_dir(&outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, vec!["empty", "secret.pem"]);
        // The symlinks themselves are still there (not deleted as "empty folders").
        assert!(fs::symlink_metadata(s.path().join("security"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::symlink_metadata(s.path().join("real/link"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn host_paths_from_the_core_stay_inside_the_directory() {
        use bg95_core::{transcript::Harness, Personality};
        let (t, s) = store();
        let mut m = Harness::powered_on(Personality::default(), Box::new(s)).booted();
        let mut cmd = |line: &[u8]| String::from_utf8_lossy(&m.exchange(line)).into_owned();
        cmd(b"ATE0\r");
        // A leading `/` is the UFS root, not the host's.
        let up = cmd(b"AT+QFUPL=\"/tmp/bg95-escape-test\",2\r\nhi");
        assert!(up.ends_with("\r\n+QFUPL: 2,6869\r\n\r\nOK\r\n"), "{up}");
        assert_eq!(
            fs::read(t.path().join("ufs/tmp/bg95-escape-test")).unwrap(),
            b"hi"
        );
        assert!(!Path::new("/tmp/bg95-escape-test").exists());
        for bad in [
            "AT+QFUPL=\"../x\",1\r",
            "AT+QFUPL=\"a/../../x\",1\r",
            "AT+QFUPL=\"//x\",1\r",
            "AT+QFDEL=\"/tmp/../../x\"\r",
        ] {
            assert_eq!(cmd(bad.as_bytes()), "\r\n+CME ERROR: 400\r\n", "{bad}");
        }
        assert_eq!(
            cmd(b"AT+QFDEL=\"UFS:/tmp/bg95-escape-test\"\r"),
            "\r\nOK\r\n"
        );
        // The emptied folder went with its last file; the store's directory stays.
        assert!(!t.path().join("ufs/tmp").exists());
        assert!(t.path().join("ufs").is_dir());
    }

    proptest::proptest! {
        /// Whatever the name, a name the core accepts is one the store accepts (so the store
        /// never refuses a valid UFS name), and a name the store accepts stays inside its
        /// directory: relative, with no `..` or root component.
        #[test]
        fn names_stay_inside(name in "[a/.\\\\:*]{0,12}", prefix in "(|UFS:|ufs:|/|UFS:/)") {
            let host = format!("{prefix}{name}");
            if let Some(bare) = bg95_core::ufs::normalize_name(&host) {
                proptest::prop_assert!(safe_name(bare), "{bare:?}");
            }
            if safe_name(&name) {
                let p = Path::new(&name);
                proptest::prop_assert!(p.is_relative());
                proptest::prop_assert!(p
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))));
            }
        }
    }

    #[test]
    fn works_under_the_core() {
        use bg95_core::{transcript::Harness, Personality};
        let (t, s) = store();
        let mut m = Harness::powered_on(Personality::default(), Box::new(s)).booted();
        let out = m.exchange(b"ATE0\rAT+QFUPL=\"x.txt\",4\r\nabcd");
        assert!(
            out.ends_with(b"\r\n+QFUPL: 4,206\r\n\r\nOK\r\n"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        assert_eq!(fs::read(t.path().join("ufs/x.txt")).unwrap(), b"abcd");
    }
}
