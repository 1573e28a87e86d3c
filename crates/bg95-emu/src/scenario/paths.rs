//! Files a scenario names (`path`, `[ftp_server] root`): scenario files arrive attached to
//! bug reports, so they are untrusted. A path must stay inside the scenario's folder (after
//! following symlinks) unless the user passes `--allow-paths-outside`; only regular files
//! are read (a FIFO would hang the loader, `/dev/zero` would fill memory), and every size
//! is checked before anything is allocated (docs/scenarios.md, "Untrusted files").

use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest scenario file `load` reads. A step costs far more in memory than its text,
/// so the file size is what bounds the loader's memory (a 1 MiB file of 50 000 steps peaks
/// near 100 MB while loading, in a tenth of a second).
pub const MAX_SCENARIO_FILE: u64 = 1024 * 1024;
/// The largest content one `path`, `size` or `send_size` may give.
pub const MAX_DATA_BYTES: u64 = 256 * 1024 * 1024;
/// The most bytes of server files (`[ftp_server] root` and `[ftp_server.files]` together).
pub const MAX_SERVER_BYTES: u64 = 512 * 1024 * 1024;
/// The most entries (files and folders) an `[ftp_server] root` may hold.
pub const MAX_ROOT_ENTRIES: usize = 100_000;

/// How paths a scenario names are checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `--allow-paths-outside`: paths may leave the scenario's folder (the user trusts
    /// the file).
    pub allow_paths_outside: bool,
}

/// Resolves and checks the paths of one scenario file.
pub(crate) struct Paths {
    /// The scenario's folder, as written (for messages).
    base: PathBuf,
    /// The same, with symlinks resolved (`None` if it cannot be resolved).
    canonical_base: Option<PathBuf>,
    allow_outside: bool,
}

impl Paths {
    pub(crate) fn new(base: &Path, options: LoadOptions) -> Paths {
        Paths {
            base: base.to_path_buf(),
            canonical_base: base.canonicalize().ok(),
            allow_outside: options.allow_paths_outside,
        }
    }

    /// `rel` resolved against the scenario's folder, symlinks followed, checked to be
    /// inside it. Errors are messages for the key's line.
    fn resolve(&self, rel: &str) -> Result<PathBuf, String> {
        let full = self.base.join(rel);
        let real = full
            .canonicalize()
            .map_err(|e| format!("{}: {e}", full.display()))?;
        if !self.allow_outside && !self.inside(&real) {
            return Err(format!(
                "{} is outside the scenario's folder (pass --allow-paths-outside to allow it)",
                full.display()
            ));
        }
        Ok(real)
    }

    fn inside(&self, real: &Path) -> bool {
        self.canonical_base
            .as_deref()
            .is_some_and(|b| real.starts_with(b))
    }

    /// A regular file's content, at most `limit` bytes.
    pub(crate) fn read_file(&self, rel: &str, limit: u64) -> Result<Vec<u8>, String> {
        let real = self.resolve(rel)?;
        let shown = self.base.join(rel);
        read_regular(&real, &shown, limit)
    }

    /// A folder to serve: inside the scenario's folder, and every entry under it a
    /// regular file or a folder, readable, no symlink leading out of it, sizes bounded.
    /// Returns the folder and the bytes its files hold.
    pub(crate) fn root_dir(&self, rel: &str) -> Result<(PathBuf, u64), String> {
        let full = self.base.join(rel);
        if !full.is_dir() {
            return Err(format!("{} is not a directory", full.display()));
        }
        let real = self.resolve(rel)?;
        let bytes = {
            let mut walk = Walk {
                root: &real,
                allow_outside: self.allow_outside,
                entries: 0,
                bytes: 0,
            };
            walk.dir(&real, 0)?;
            walk.bytes
        };
        Ok((real, bytes))
    }
}

/// Reads `real` (shown as `shown`) if it is a regular file of at most `limit` bytes; the
/// read itself is bounded too, for a file that grows meanwhile.
fn read_regular(real: &Path, shown: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(real).map_err(|e| format!("{}: {e}", shown.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "{} is not a regular file (a FIFO, a device or a folder is never read)",
            shown.display()
        ));
    }
    if meta.len() > limit {
        return Err(format!(
            "{} has {} bytes, more than the limit of {limit}",
            shown.display(),
            meta.len()
        ));
    }
    let file = std::fs::File::open(real).map_err(|e| format!("{}: {e}", shown.display()))?;
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("{}: {e}", shown.display()))?;
    if data.len() as u64 > limit {
        return Err(format!(
            "{} grew past the limit of {limit} bytes",
            shown.display()
        ));
    }
    Ok(data)
}

/// The check of a server root's tree.
struct Walk<'a> {
    root: &'a Path,
    allow_outside: bool,
    entries: usize,
    bytes: u64,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, depth: usize) -> Result<(), String> {
        if depth > 32 {
            return Err(format!("{} is nested too deep (32 levels)", dir.display()));
        }
        let list = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in list {
            let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
            self.entries += 1;
            if self.entries > MAX_ROOT_ENTRIES {
                return Err(format!(
                    "{} holds more than {MAX_ROOT_ENTRIES} entries",
                    self.root.display()
                ));
            }
            self.entry(&entry.path(), depth)?;
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, depth: usize) -> Result<(), String> {
        let link = std::fs::symlink_metadata(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .file_type()
            .is_symlink();
        if link && !self.allow_outside {
            let target = path
                .canonicalize()
                .map_err(|e| format!("{}: a symlink that leads nowhere: {e}", path.display()))?;
            if !target.starts_with(self.root) {
                return Err(format!(
                    "{} is a symlink to {}, outside the server's root \
                     (pass --allow-paths-outside to allow it)",
                    path.display(),
                    target.display()
                ));
            }
        }
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.is_dir() {
            if link {
                // A folder symlink could make a loop (`root/loop -> root`) that a copy
                // would follow until the disk is full.
                return Err(format!(
                    "{} is a symlink to a folder (not served: a link could loop; copy the folder)",
                    path.display()
                ));
            }
            return self.dir(path, depth + 1);
        }
        if !meta.is_file() {
            return Err(format!(
                "{} is not a regular file or a folder (a FIFO or a device is never served)",
                path.display()
            ));
        }
        std::fs::File::open(path).map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
        self.bytes += meta.len();
        if self.bytes > MAX_SERVER_BYTES {
            return Err(format!(
                "{} holds more than {MAX_SERVER_BYTES} bytes",
                self.root.display()
            ));
        }
        Ok(())
    }
}
