//! UFS, the module's user file system: the store, and the commands that use it.
//!
//! The rules a real BG95 applies live here (names, capacity, handles, error codes); the
//! bytes live in a [`UfsStore`]. Every change reaches the store as one whole-file atomic
//! write, so a crash leaves each file old or new, never torn. The choices where the specs
//! are silent, and the error table, are in `docs/ufs.md`.

mod commands;
mod store;
#[cfg(test)]
mod tests;

pub use store::{MemStore, StoreError, UfsStore};

use std::collections::BTreeMap;
use std::time::Duration;

use bg95_at::{FinalResult, Invocation};

use crate::area::{Ctx, DataMode, Outcome, Port};
use crate::error::CmeError;
use crate::escape::EscapeDetector;
use crate::time::Instant;

/// The FILE commands' table, for the checks across areas.
#[cfg(test)]
pub(crate) fn command_rows() -> &'static [crate::area::Row<commands::UfsKind>] {
    commands::ROWS
}

/// The longest file name (without a `UFS:` prefix), in bytes.
pub const MAX_NAME: usize = 80;
/// How many files may be open at once (handles 1..=MAX_OPEN).
pub const MAX_OPEN: usize = 10;
/// ACK mode of AT+QFUPL: the module sends `A` after every block of this many bytes.
pub const ACK_BLOCK: u64 = 1024;

/// The QFUPL/QFDWL checksum: XOR of the data taken as big-endian 16-bit words; an odd
/// trailing byte is the high byte of a last word whose low byte is 0.
pub fn checksum(data: &[u8]) -> u16 {
    data.chunks(2).fold(0u16, |acc, w| {
        let word = u16::from(w[0]) << 8 | u16::from(w.get(1).copied().unwrap_or(0));
        acc ^ word
    })
}

/// The checksum as the module prints it: lowercase hex, no leading zeros.
pub fn checksum_hex(data: &[u8]) -> String {
    format!("{:x}", checksum(data))
}

/// A name as the host typed it, without the optional `UFS:` prefix (any case).
pub fn strip_ufs_prefix(name: &str) -> &str {
    match name.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("UFS:") => &name[4..],
        _ => name,
    }
}

/// A name as the host typed it, relative to the UFS root: without the optional `UFS:`
/// prefix and one leading `/` (`"UFS:/security/ca.pem"` → `"security/ca.pem"`). The result
/// is not validated; see [`normalize_name`].
pub fn strip_ufs_root(name: &str) -> &str {
    let bare = strip_ufs_prefix(name);
    bare.strip_prefix('/').unwrap_or(bare)
}

/// The UFS file a host name stands for, as the store keys it (`security/ca.pem`), or
/// `None` if the name cannot name a UFS file (see [`valid_bare_name`]).
pub fn normalize_name(name: &str) -> Option<&str> {
    let bare = strip_ufs_root(name);
    valid_bare_name(bare).then_some(bare)
}

/// True if `bare` (no prefix, no leading `/`) may name a UFS file: 1–80 bytes in all, made
/// of `/`-separated folder and file names, each non-empty (no `a//b`, no trailing `/`),
/// without a leading `.` (so no `.` or `..`), `..`, wildcards, quotes, `\`, `:` or control
/// characters (NUL included).
pub fn valid_bare_name(bare: &str) -> bool {
    !bare.is_empty() && bare.len() <= MAX_NAME && bare.split('/').all(valid_segment)
}

/// One folder or file name of a UFS path.
fn valid_segment(seg: &str) -> bool {
    !seg.is_empty()
        && !seg.starts_with('.')
        && !seg.contains("..")
        && !seg
            .chars()
            .any(|c| c.is_control() || matches!(c, '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'))
}

/// True if a file `name` cannot coexist with the files `existing`: one of its folders is a
/// file (`a` exists, `a/b` wanted), or it is a folder holding files (`a/b` exists, `a` wanted).
pub(crate) fn folder_conflict<'a>(name: &str, mut existing: impl Iterator<Item = &'a str>) -> bool {
    existing.any(|other| {
        let (short, long) = if other.len() < name.len() {
            (other, name)
        } else {
            (name, other)
        };
        long.len() > short.len() && long.starts_with(short) && long.as_bytes()[short.len()] == b'/'
    })
}

/// A `*`/`?` wildcard match (`*` any run, `?` one character), case-sensitive.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// An open file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Handle {
    pub(crate) name: String,
    /// 0 create/open read-write, 1 create/truncate read-write, 2 read-only.
    pub(crate) mode: u8,
    pub(crate) pos: u64,
}

/// The UFS state a module keeps: the store, its capacity and the open handles.
pub struct Ufs {
    pub(crate) store: Box<dyn UfsStore>,
    pub(crate) capacity: u64,
    pub(crate) handles: BTreeMap<u32, Handle>,
    /// The QFUPL/QFWRITE in data mode, if any (the port says `DataMode::Ufs` meanwhile).
    pub(crate) transfer: Option<UfsTransfer>,
    /// A QFUPL that times out answers `+QFUPL: <size>,<checksum>` (true) or 409
    /// (the personality's `qfupl_timeout_reports_size`).
    pub(crate) timeout_reports_size: bool,
}

impl std::fmt::Debug for Ufs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ufs")
            .field("capacity", &self.capacity)
            .field("handles", &self.handles)
            .finish()
    }
}

impl Ufs {
    pub fn new(store: Box<dyn UfsStore>, capacity: u64) -> Self {
        Ufs {
            store,
            capacity,
            handles: BTreeMap::new(),
            transfer: None,
            timeout_reports_size: false,
        }
    }

    /// A reset closes every open handle; the files stay.
    pub fn reset(&mut self) {
        self.handles.clear();
        self.transfer = None;
    }

    /// Every file with its size.
    pub(crate) fn list(&self) -> Result<Vec<(String, u64)>, CmeError> {
        self.store.list().map_err(|_| CmeError::ListFailed)
    }

    /// Bytes used by files, and how many files there are.
    pub(crate) fn usage(&self) -> Result<(u64, usize), CmeError> {
        let files = self.store.list().map_err(|_| CmeError::DiskInfoFailed)?;
        Ok((files.iter().map(|(_, s)| s).sum(), files.len()))
    }

    pub(crate) fn free(&self) -> Result<u64, CmeError> {
        Ok(self.capacity.saturating_sub(self.usage()?.0))
    }

    /// The size of `name`, if it exists.
    pub(crate) fn size_of(&self, name: &str) -> Result<Option<u64>, CmeError> {
        Ok(self
            .list()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s))
    }

    pub(crate) fn exists(&self, name: &str) -> Result<bool, CmeError> {
        Ok(self.size_of(name)?.is_some())
    }

    /// True if `name` cannot be created beside the existing files (see [`folder_conflict`]).
    pub(crate) fn conflicts(&self, name: &str) -> Result<bool, CmeError> {
        let files = self.list()?;
        Ok(folder_conflict(name, files.iter().map(|(n, _)| n.as_str())))
    }

    pub(crate) fn is_open(&self, name: &str) -> bool {
        self.handles.values().any(|h| h.name == name)
    }

    pub(crate) fn read(&self, name: &str) -> Result<Vec<u8>, CmeError> {
        self.store.read(name).map_err(|e| match e {
            StoreError::NotFound => CmeError::FileNotFound,
            _ => CmeError::ReadFailed,
        })
    }

    /// Replace (or create) `name` with `data` if it fits: the space its old contents use
    /// counts as free. Too big → 420 (no space), and the store is not touched. A name whose
    /// folder is a file, or that is a folder holding files, → 409 (fail to write).
    pub(crate) fn write(&mut self, name: &str, data: &[u8]) -> Result<(), CmeError> {
        let files = self.list()?;
        if folder_conflict(name, files.iter().map(|(n, _)| n.as_str())) {
            return Err(CmeError::WriteFailed);
        }
        let old = files.iter().find(|(n, _)| n == name).map_or(0, |(_, s)| *s);
        let used: u64 = files.iter().map(|(_, s)| s).sum();
        let available = self.capacity.saturating_sub(used.saturating_sub(old));
        if data.len() as u64 > available {
            return Err(CmeError::NoSpace);
        }
        self.store.write(name, data).map_err(|e| match e {
            StoreError::NoSpace => CmeError::NoSpace,
            _ => CmeError::WriteFailed,
        })
    }

    pub(crate) fn delete(&mut self, name: &str) -> Result<(), CmeError> {
        self.store.delete(name).map_err(|e| match e {
            StoreError::NotFound => CmeError::FileNotFound,
            _ => CmeError::DeleteFailed,
        })
    }

    /// The lowest free handle number, if fewer than [`MAX_OPEN`] files are open.
    pub(crate) fn free_handle(&self) -> Option<u32> {
        (1..=MAX_OPEN as u32).find(|h| !self.handles.contains_key(h))
    }
}

/// Where the bytes of a transfer go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// AT+QFUPL: a new file.
    Upload { name: String },
    /// AT+QFWRITE: at the handle's pointer.
    Write { handle: u32 },
}

/// Why a transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// All the announced bytes arrived.
    Complete,
    /// No byte for the timeout.
    Timeout,
    /// A guarded `+++`.
    Escape,
}

/// A data-mode transfer into a UFS file (QFUPL, QFWRITE). The bytes are collected here
/// and reach the store in one atomic write when the transfer ends.
#[derive(Debug)]
pub(crate) struct UfsTransfer {
    /// The name its answer line carries (`+QFUPL`, `+QFWRITE`).
    pub(crate) answer: &'static str,
    pub(crate) escape: EscapeDetector,
    pub(crate) target: Target,
    /// How many bytes the host announced.
    pub(crate) expected: u64,
    /// How many bytes arrived (pluses the escape detector holds included).
    pub(crate) received: u64,
    pub(crate) data: Vec<u8>,
    /// The inactivity timeout.
    pub(crate) timeout: Duration,
    pub(crate) last_rx: Instant,
    /// AT+QFUPL ackmode 1: `A` after every [`ACK_BLOCK`] bytes.
    pub(crate) ackmode: bool,
}

impl UfsTransfer {
    pub(crate) fn new(
        answer: &'static str,
        now: Instant,
        escape: EscapeDetector,
        target: Target,
        expected: u64,
        timeout: Duration,
    ) -> Self {
        UfsTransfer {
            answer,
            escape,
            target,
            expected,
            received: 0,
            data: Vec::new(),
            timeout,
            last_rx: now,
            ackmode: false,
        }
    }

    fn timeout_at(&self) -> Instant {
        self.last_rx + self.timeout
    }

    /// The earlier of the `+++` guard deadline and the inactivity timeout.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        Some(match self.escape.deadline() {
            Some(e) => e.min(self.timeout_at()),
            None => self.timeout_at(),
        })
    }

    /// Pluses held as a possible escape are data after all (the transfer ended otherwise).
    fn release_held(&mut self) {
        let held = self.escape.take_held();
        self.data.extend(std::iter::repeat_n(b'+', held));
    }
}

impl Ufs {
    /// Dispatch a FILE command; `None` if the name is not one of them.
    pub(crate) fn dispatch(&mut self, ctx: &mut Ctx, inv: &Invocation) -> Option<Outcome> {
        let row = crate::area::find(commands::ROWS, &inv.name)?;
        if let Some(o) = crate::area::fixed_test(row, &inv.form, ctx) {
            return Some(o);
        }
        Some(match commands::parse(row.kind, &inv.form) {
            Ok(cmd) => self.run(ctx, row.name, cmd),
            Err(refusal) => Outcome::Fail(refusal.result(row)),
        })
    }

    /// The next deadline of a QFUPL/QFWRITE (the `+++` guard or the inactivity timeout).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.transfer.as_ref().and_then(UfsTransfer::deadline)
    }

    /// The deadlines of a QFUPL/QFWRITE: a guarded `+++` keeps what arrived before it; the
    /// inactivity timeout ends the transfer.
    pub(crate) fn timeout(&mut self, ctx: &mut Ctx) {
        let Some(t) = &self.transfer else {
            return;
        };
        let end = if t.escape.escaped(ctx.now) {
            End::Escape
        } else if ctx.now >= t.timeout_at() {
            End::Timeout
        } else {
            return;
        };
        if let Some(mut t) = self.transfer.take() {
            *ctx.port = Port::Command;
            if end == End::Timeout {
                t.release_held();
            }
            self.finish(ctx, t, end);
        }
    }

    /// Start a data-mode transfer: `CONNECT`, and the port is this area's.
    fn start_transfer(&mut self, ctx: &mut Ctx, t: UfsTransfer) {
        ctx.final_result(FinalResult::Connect);
        *ctx.port = Port::Data(DataMode::Ufs);
        self.transfer = Some(t);
    }

    /// The whole contents of a UFS file, for AT+QFTPPUT from UFS and for SSL certificates.
    /// `name` is as the host typed it (a `UFS:` prefix and a leading `/` are accepted, as in
    /// `"/security/cacert.pem"`). An invalid name is 400, a missing file 405.
    pub(crate) fn read_for_ftp(&self, name: &str) -> Result<Vec<u8>, CmeError> {
        let bare = normalize_name(name).ok_or(CmeError::InvalidInput)?;
        self.read(bare)
    }

    /// Create or replace a UFS file with downloaded bytes (AT+QFTPGET/LIST/NLST/MLSD to UFS):
    /// name-checked (400), refused while the file is open (426), capacity-checked (420, the
    /// store untouched) and atomic.
    pub(crate) fn write_for_ftp(&mut self, name: &str, data: &[u8]) -> Result<(), CmeError> {
        let bare = normalize_name(name).ok_or(CmeError::InvalidInput)?;
        if self.is_open(bare) {
            return Err(CmeError::AlreadyOpen);
        }
        self.write(bare, data)
    }

    /// Data-mode bytes of a QFUPL/QFWRITE. Returns how many were used: bytes after the
    /// last announced one go back to command mode.
    pub(crate) fn data_input(&mut self, ctx: &mut Ctx, bytes: &[u8]) -> usize {
        let Some(t) = &mut self.transfer else {
            return 0;
        };
        let now = ctx.now;
        let mut acks = 0;
        let mut used = bytes.len();
        let mut complete = false;
        for (i, &b) in bytes.iter().enumerate() {
            t.received += 1;
            t.last_rx = now;
            t.escape.feed(now, b, &mut t.data);
            if t.ackmode && t.received % ACK_BLOCK == 0 {
                acks += 1;
            }
            if t.received >= t.expected {
                t.release_held();
                used = i + 1;
                complete = true;
                break;
            }
        }
        for _ in 0..acks {
            ctx.raw(b"A");
        }
        if complete {
            if let Some(t) = self.transfer.take() {
                *ctx.port = Port::Command;
                self.finish(ctx, t, End::Complete);
            }
        }
        used
    }

    /// Store what a transfer received and send its result.
    fn finish(&mut self, ctx: &mut Ctx, t: UfsTransfer, end: End) {
        match t.target {
            Target::Upload { name } => {
                if let Err(e) = self.write(&name, &t.data) {
                    ctx.final_result(e.into());
                    return;
                }
                if end == End::Timeout && !self.timeout_reports_size {
                    ctx.final_result(CmeError::TimedOut.into());
                    return;
                }
                let line = format!("{}: {},{}", t.answer, t.data.len(), checksum_hex(&t.data));
                ctx.info(&[line]);
                ctx.final_result(FinalResult::Ok);
            }
            Target::Write { handle } => match self.write_at_handle(handle, &t.data) {
                Ok(total) => {
                    ctx.info(&[format!("{}: {},{total}", t.answer, t.data.len())]);
                    ctx.final_result(FinalResult::Ok);
                }
                Err(e) => ctx.final_result(e.into()),
            },
        }
    }

    /// Write `data` at a handle's pointer (one atomic whole-file write); the pointer moves
    /// past it. Returns the file's new size.
    fn write_at_handle(&mut self, handle: u32, data: &[u8]) -> Result<u64, CmeError> {
        let h = self
            .handles
            .get(&handle)
            .cloned()
            .ok_or(CmeError::InvalidHandle)?;
        let mut content = self.read(&h.name)?;
        let pos = (h.pos as usize).min(content.len());
        let end = pos + data.len();
        if end > content.len() {
            content.resize(end, 0);
        }
        content[pos..end].copy_from_slice(data);
        self.write(&h.name, &content)?;
        if let Some(h) = self.handles.get_mut(&handle) {
            h.pos = end as u64;
        }
        Ok(content.len() as u64)
    }
}

/// True if `name` (as the host typed it) can name a UFS file.
pub(crate) fn valid_name(name: &str) -> bool {
    normalize_name(name).is_some()
}
