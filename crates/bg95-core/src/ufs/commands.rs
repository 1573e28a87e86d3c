//! The FILE AT commands, parsed once: QFUPL, QFDWL, QFLST, QFLDS, QFDEL, QFMOV and the
//! handle commands QFOPEN, QFREAD, QFWRITE, QFSEEK, QFPOSITION, QFTUCAT, QFCLOSE.
//!
//! One row per command ([`ROWS`]: name, Test line, the area's bad-parameter error) and one
//! typed [`UfsCommand`] per line ([`parse`]). A form a command does not have answers a bare
//! `ERROR` (like a syntax error); a bad parameter answers `+CME ERROR: 400`; the other FILE
//! codes are in `docs/ufs.md`. Adding a command is one [`UfsKind`] variant, one row, one arm
//! of `parse` and one of `Ufs::run`.

use std::time::Duration;

use bg95_at::{Arg, FinalResult, Form};

use super::{
    checksum_hex, folder_conflict, glob_match, normalize_name, strip_ufs_root, valid_bare_name,
    Handle, Target, Ufs, UfsTransfer,
};
use crate::area::{Bad, Ctx, Outcome, Refusal, Row, TEST_OK};
use crate::error::CmeError;
use crate::params::{at_most, num, opt_num, opt_str};

/// QFUPL's default `<file_size>`.
const DEFAULT_UPLOAD_SIZE: u64 = 10240;
/// QFUPL's and QFWRITE's default `<timeout>`, seconds.
const DEFAULT_TIMEOUT: u64 = 5;

type Res<T> = Result<T, CmeError>;

/// Which FILE command a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UfsKind {
    Upload,
    Download,
    List,
    Disk,
    Delete,
    Move,
    Open,
    Read,
    Write,
    Seek,
    Position,
    Truncate,
    Close,
}

const fn row(name: &'static str, kind: UfsKind, test: Option<&'static str>) -> Row<UfsKind> {
    Row {
        name,
        kind,
        test,
        bad: Bad::Ufs,
    }
}

/// Every FILE command (companion-commands.md).
pub(crate) const ROWS: &[Row<UfsKind>] = &[
    // QFUPL's Test line shows the free space: printed by `run`.
    row("+QFUPL", UfsKind::Upload, None),
    row("+QFDWL", UfsKind::Download, Some("+QFDWL: <filename>")),
    row("+QFLST", UfsKind::List, TEST_OK),
    row("+QFLDS", UfsKind::Disk, TEST_OK),
    row("+QFDEL", UfsKind::Delete, Some("+QFDEL: <filename>")),
    row(
        "+QFMOV",
        UfsKind::Move,
        Some("+QFMOV: <srcname>,<destname>[,(0,1)[,(0,1)]]"),
    ),
    row(
        "+QFOPEN",
        UfsKind::Open,
        Some("+QFOPEN: <filename>[,(0-2)]"),
    ),
    row(
        "+QFREAD",
        UfsKind::Read,
        Some("+QFREAD: <filehandle>[,<length>]"),
    ),
    row(
        "+QFWRITE",
        UfsKind::Write,
        Some("+QFWRITE: <filehandle>[,<length>[,<timeout>]]"),
    ),
    row(
        "+QFSEEK",
        UfsKind::Seek,
        Some("+QFSEEK: <filehandle>,<offset>[,(0-2)]"),
    ),
    row(
        "+QFPOSITION",
        UfsKind::Position,
        Some("+QFPOSITION: <filehandle>"),
    ),
    row(
        "+QFTUCAT",
        UfsKind::Truncate,
        Some("+QFTUCAT: <filehandle>"),
    ),
    row("+QFCLOSE", UfsKind::Close, Some("+QFCLOSE: <filehandle>")),
];

/// One FILE command line, its parameters read and checked. Names are normalised (no
/// `UFS:` prefix, no leading `/`); whether a handle is open is checked when it runs (416).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UfsCommand {
    /// `AT+QFUPL=?`: its line shows the free space.
    UploadTest,
    Upload {
        name: String,
        size: u64,
        timeout: u64,
        ackmode: bool,
    },
    Download {
        name: String,
    },
    /// AT+QFLST (pattern `*`) or AT+QFLST=<pattern>.
    List {
        pattern: String,
    },
    /// AT+QFLDS: bytes used and files.
    DiskUsage,
    /// AT+QFLDS="UFS": free and total bytes.
    DiskFree,
    Delete {
        pattern: String,
    },
    Move {
        src: String,
        dst: String,
        copy: bool,
        overwrite: bool,
    },
    /// AT+QFOPEN?: the open handles.
    OpenHandles,
    Open {
        name: String,
        mode: u8,
    },
    Read {
        handle: u32,
        len: Option<u64>,
    },
    Write {
        handle: u32,
        len: Option<u64>,
        timeout: u64,
    },
    Seek {
        handle: u32,
        offset: u64,
        whence: u64,
    },
    Position {
        handle: u32,
    },
    Truncate {
        handle: u32,
    },
    Close {
        handle: u32,
    },
}

/// A required file name argument, normalised; invalid → 400.
fn name_arg(args: &[Arg], i: usize) -> Result<String, Refusal> {
    let raw = opt_str(args, i).ok_or(Refusal::Bad)?;
    normalize_name(raw).map(str::to_string).ok_or(Refusal::Bad)
}

/// A `*`/`?` name pattern argument, normalised like a name (`ufs:/security/*` →
/// `security/*`).
fn pattern_arg(args: &[Arg], i: usize) -> Result<String, Refusal> {
    let raw = opt_str(args, i).ok_or(Refusal::Bad)?;
    let bare = strip_ufs_root(raw);
    // A pattern obeys the name rules, with `*` and `?` allowed.
    let probe: String = bare
        .chars()
        .map(|c| if c == '*' || c == '?' { 'x' } else { c })
        .collect();
    if valid_bare_name(&probe) {
        Ok(bare.to_string())
    } else {
        Err(Refusal::Bad)
    }
}

/// A handle number (not a number → 400).
fn handle_num(args: &[Arg], i: usize) -> Result<u32, Refusal> {
    Ok(num(args, i, 0..=u64::from(u32::MAX))? as u32)
}

/// Only the Write form, with at most `max` parameters.
fn write_args(form: &Form, max: usize) -> Result<&[Arg], Refusal> {
    match form {
        Form::Write(args) => {
            at_most(args, max)?;
            Ok(args)
        }
        _ => Err(Refusal::Form),
    }
}

/// Parse a line of the command `kind` (its Test form, when fixed, is answered by the row).
pub(crate) fn parse(kind: UfsKind, form: &Form) -> Result<UfsCommand, Refusal> {
    use UfsCommand as C;
    Ok(match kind {
        UfsKind::Upload if matches!(form, Form::Test) => C::UploadTest,
        UfsKind::Upload => {
            let args = write_args(form, 4)?;
            C::Upload {
                name: name_arg(args, 0)?,
                size: opt_num(args, 1, 1..=u64::MAX)?.unwrap_or(DEFAULT_UPLOAD_SIZE),
                timeout: opt_num(args, 2, 1..=65535)?.unwrap_or(DEFAULT_TIMEOUT),
                ackmode: opt_num(args, 3, 0..=1)?.unwrap_or(0) == 1,
            }
        }
        UfsKind::Download => C::Download {
            name: name_arg(write_args(form, 1)?, 0)?,
        },
        UfsKind::List => match form {
            Form::Exec => C::List {
                pattern: "*".to_string(),
            },
            _ => C::List {
                pattern: pattern_arg(write_args(form, 1)?, 0)?,
            },
        },
        UfsKind::Disk => match form {
            Form::Exec => C::DiskUsage,
            Form::Write(args) => {
                let storage = opt_str(args, 0).unwrap_or("");
                if args.len() != 1 || !storage.eq_ignore_ascii_case("UFS") {
                    return Err(Refusal::Bad);
                }
                C::DiskFree
            }
            _ => return Err(Refusal::Form),
        },
        UfsKind::Delete => C::Delete {
            pattern: pattern_arg(write_args(form, 1)?, 0)?,
        },
        UfsKind::Move => {
            let args = write_args(form, 4)?;
            C::Move {
                src: name_arg(args, 0)?,
                dst: name_arg(args, 1)?,
                copy: opt_num(args, 2, 0..=1)?.unwrap_or(0) == 1,
                overwrite: opt_num(args, 3, 0..=1)?.unwrap_or(0) == 1,
            }
        }
        UfsKind::Open if matches!(form, Form::Read) => C::OpenHandles,
        UfsKind::Open => {
            let args = write_args(form, 2)?;
            C::Open {
                name: name_arg(args, 0)?,
                mode: opt_num(args, 1, 0..=2)?.unwrap_or(0) as u8,
            }
        }
        UfsKind::Read => {
            let args = write_args(form, 2)?;
            C::Read {
                handle: handle_num(args, 0)?,
                len: opt_num(args, 1, 1..=u64::MAX)?,
            }
        }
        UfsKind::Write => {
            let args = write_args(form, 3)?;
            C::Write {
                handle: handle_num(args, 0)?,
                len: opt_num(args, 1, 1..=u64::MAX)?,
                timeout: opt_num(args, 2, 1..=65535)?.unwrap_or(DEFAULT_TIMEOUT),
            }
        }
        UfsKind::Seek => {
            let args = write_args(form, 3)?;
            C::Seek {
                handle: handle_num(args, 0)?,
                offset: num(args, 1, 0..=u64::MAX)?,
                whence: opt_num(args, 2, 0..=2)?.unwrap_or(0),
            }
        }
        UfsKind::Position => C::Position {
            handle: handle_num(write_args(form, 1)?, 0)?,
        },
        UfsKind::Truncate => C::Truncate {
            handle: handle_num(write_args(form, 1)?, 0)?,
        },
        UfsKind::Close => C::Close {
            handle: handle_num(write_args(form, 1)?, 0)?,
        },
    })
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// The answer of a command whose work is `r`.
fn done(r: Res<()>) -> Outcome {
    match r {
        Ok(()) => Outcome::Ok,
        Err(e) => e.into(),
    }
}

/// Print one line and succeed.
fn line(ctx: &mut Ctx, line: String) -> Outcome {
    ctx.info(&[line]);
    Outcome::Ok
}

impl Ufs {
    /// Run a parsed command; `name` is its row's, which its answer lines carry.
    pub(super) fn run(&mut self, ctx: &mut Ctx, name: &'static str, cmd: UfsCommand) -> Outcome {
        use UfsCommand as C;
        let r = match cmd {
            C::UploadTest => self.free().map(|free| {
                line(
                    ctx,
                    format!("{name}: <filename>[,(1-{free})[,(1-65535)[,(0,1)]]]"),
                )
            }),
            C::Upload {
                name: file,
                size,
                timeout,
                ackmode,
            } => self
                .upload(ctx, name, file, size, timeout, ackmode)
                .map(|()| Outcome::Pending),
            C::Download { name: file } => self.read(&file).map(|data| {
                ctx.final_result(FinalResult::Connect);
                ctx.raw(&data);
                line(
                    ctx,
                    format!("{name}: {},{}", data.len(), checksum_hex(&data)),
                )
            }),
            C::List { pattern } => self.list().map(|files| {
                let lines: Vec<String> = files
                    .into_iter()
                    .filter(|(n, _)| glob_match(&pattern, n))
                    .map(|(n, s)| format!("{name}: \"{n}\",{s}"))
                    .collect();
                ctx.info(&lines);
                Outcome::Ok
            }),
            C::DiskUsage => self
                .usage()
                .map(|(used, count)| line(ctx, format!("{name}: {used},{count}"))),
            C::DiskFree => self
                .free()
                .map(|free| line(ctx, format!("{name}: {free},{}", self.capacity))),
            C::Delete { pattern } => Ok(done(self.delete_matching(&pattern))),
            C::Move {
                src,
                dst,
                copy,
                overwrite,
            } => Ok(done(self.move_file(&src, &dst, copy, overwrite))),
            C::OpenHandles => {
                let lines: Vec<String> = self
                    .handles
                    .iter()
                    .map(|(fh, h)| format!("{name}: \"{}\",{fh},{}", h.name, h.mode))
                    .collect();
                ctx.info(&lines);
                Ok(Outcome::Ok)
            }
            C::Open { name: file, mode } => self
                .open(file, mode)
                .map(|fh| line(ctx, format!("{name}: {fh}"))),
            C::Read { handle, len } => self.read_handle(handle, len).map(|bytes| {
                ctx.connect_with(bytes.len() as u64);
                ctx.raw(&bytes);
                Outcome::Ok
            }),
            C::Write {
                handle,
                len,
                timeout,
            } => self
                .write_start(ctx, name, handle, len, timeout)
                .map(|()| Outcome::Pending),
            C::Seek {
                handle,
                offset,
                whence,
            } => Ok(done(self.seek(handle, offset, whence))),
            C::Position { handle } => self
                .open_handle(handle)
                .map(|h| line(ctx, format!("{name}: {}", h.pos))),
            C::Truncate { handle } => Ok(done(self.truncate(handle))),
            C::Close { handle } => Ok(done(self.open_handle(handle).map(|_| {
                self.handles.remove(&handle);
            }))),
        };
        r.unwrap_or_else(Outcome::from)
    }

    /// An open handle (416 if not open).
    fn open_handle(&self, handle: u32) -> Res<Handle> {
        self.handles
            .get(&handle)
            .cloned()
            .ok_or(CmeError::InvalidHandle)
    }

    // ---- AT+QFUPL, AT+QFWRITE: data mode ---------------------------------------------

    fn upload(
        &mut self,
        ctx: &mut Ctx,
        answer: &'static str,
        name: String,
        size: u64,
        timeout: u64,
        ackmode: bool,
    ) -> Res<()> {
        if self.exists(&name)? {
            return Err(CmeError::FileExists);
        }
        // A file where a folder is (or in a "folder" that is a file): refused before CONNECT.
        if self.conflicts(&name)? {
            return Err(CmeError::WriteFailed);
        }
        if size > self.free()? {
            return Err(CmeError::NoSpace);
        }
        let mut t = UfsTransfer::new(
            answer,
            ctx.now,
            ctx.escape_detector(),
            Target::Upload { name },
            size,
            Duration::from_secs(timeout),
        );
        t.ackmode = ackmode;
        self.start_transfer(ctx, t);
        Ok(())
    }

    fn write_start(
        &mut self,
        ctx: &mut Ctx,
        answer: &'static str,
        handle: u32,
        len: Option<u64>,
        timeout: u64,
    ) -> Res<()> {
        let h = self.open_handle(handle)?;
        if h.mode == 2 {
            return Err(CmeError::ReadOnly);
        }
        let size = self.size_of(&h.name)?.unwrap_or(0);
        let pos = h.pos.min(size);
        // The most this write may bring: up to the end of the file, plus the free space.
        let room = (size - pos).saturating_add(self.free()?);
        let expected = match len {
            Some(n) if n > room => return Err(CmeError::NoSpace),
            Some(n) => n,
            None if room == 0 => return Err(CmeError::NoSpace),
            None => room,
        };
        let t = UfsTransfer::new(
            answer,
            ctx.now,
            ctx.escape_detector(),
            Target::Write { handle },
            expected,
            Duration::from_secs(timeout),
        );
        self.start_transfer(ctx, t);
        Ok(())
    }

    // ---- AT+QFDEL, AT+QFMOV ----------------------------------------------------------

    fn delete_matching(&mut self, pattern: &str) -> Res<()> {
        if !has_wildcard(pattern) {
            if self.is_open(pattern) {
                return Err(CmeError::AlreadyOpen);
            }
            return self.delete(pattern);
        }
        let victims: Vec<String> = self
            .list()?
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| glob_match(pattern, n))
            .collect();
        if victims.is_empty() && pattern != "*" {
            return Err(CmeError::FileNotFound);
        }
        if victims.iter().any(|n| self.is_open(n)) {
            return Err(CmeError::AlreadyOpen);
        }
        for n in &victims {
            self.delete(n)?;
        }
        Ok(())
    }

    /// `AT+QFMOV=<src>,<dst>[,<copy>[,<overwrite>]]`: copy 0 moves, 1 copies; overwrite 0
    /// refuses an existing destination (407), 1 replaces it.
    fn move_file(&mut self, src: &str, dst: &str, copy: bool, overwrite: bool) -> Res<()> {
        let src_size = self.size_of(src)?.ok_or(CmeError::FileNotFound)?;
        let dst_exists = self.exists(dst)?;
        if dst_exists && !overwrite {
            return Err(CmeError::FileExists);
        }
        if self.is_open(src) || self.is_open(dst) {
            return Err(CmeError::AlreadyOpen);
        }
        if src == dst {
            return Ok(());
        }
        if copy {
            let data = self.read(src)?;
            debug_assert_eq!(data.len() as u64, src_size);
            self.write(dst, &data)
        } else {
            let others = self.list()?;
            let others = others.iter().map(|(n, _)| n.as_str()).filter(|n| *n != src);
            if folder_conflict(dst, others) {
                return Err(CmeError::WriteFailed);
            }
            // A move never needs space; the store renames (atomically where it can).
            self.store
                .rename(src, dst)
                .map_err(|_| CmeError::WriteFailed)
        }
    }

    // ---- handles -----------------------------------------------------------------------

    fn open(&mut self, name: String, mode: u8) -> Res<u32> {
        if self.is_open(&name) {
            return Err(CmeError::AlreadyOpen);
        }
        let fh = self.free_handle().ok_or(CmeError::TooManyOpen)?;
        let exists = self.exists(&name)?;
        match mode {
            2 if !exists => return Err(CmeError::FileNotFound),
            0 if !exists => self.write(&name, &[])?,
            1 => self.write(&name, &[])?,
            _ => {}
        }
        self.handles.insert(fh, Handle { name, mode, pos: 0 });
        Ok(fh)
    }

    /// Read from the pointer, up to `<length>` bytes or the end of the file.
    fn read_handle(&mut self, handle: u32, len: Option<u64>) -> Res<Vec<u8>> {
        let h = self.open_handle(handle)?;
        let content = self.read(&h.name)?;
        let start = (h.pos as usize).min(content.len());
        let end = match len {
            Some(n) => start
                .saturating_add(usize::try_from(n).unwrap_or(usize::MAX))
                .min(content.len()),
            None => content.len(),
        };
        if let Some(h) = self.handles.get_mut(&handle) {
            h.pos = end as u64;
        }
        Ok(content[start..end].to_vec())
    }

    /// `<position>` 0 from the start, 1 from the pointer, 2 back from the end; a pointer
    /// past the end (or before the start) → 401.
    fn seek(&mut self, handle: u32, offset: u64, whence: u64) -> Res<()> {
        let h = self.open_handle(handle)?;
        let size = self.size_of(&h.name)?.unwrap_or(0);
        let target = match whence {
            0 => Some(offset),
            1 => h.pos.checked_add(offset),
            _ => size.checked_sub(offset),
        };
        match target {
            Some(p) if p <= size => {
                if let Some(h) = self.handles.get_mut(&handle) {
                    h.pos = p;
                }
                Ok(())
            }
            _ => Err(CmeError::LargerThanFile),
        }
    }

    /// Cut the file at the pointer.
    fn truncate(&mut self, handle: u32) -> Res<()> {
        let h = self.open_handle(handle)?;
        if h.mode == 2 {
            return Err(CmeError::ReadOnly);
        }
        let mut content = self.read(&h.name)?;
        if (h.pos as usize) < content.len() {
            content.truncate(h.pos as usize);
            self.write(&h.name, &content)?;
        }
        Ok(())
    }
}
