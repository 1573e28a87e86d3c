//! The FILE AT commands: QFUPL, QFDWL, QFLST, QFLDS, QFDEL, QFMOV and the handle commands
//! QFOPEN, QFREAD, QFWRITE, QFSEEK, QFPOSITION, QFTUCAT, QFCLOSE.
//!
//! A form a command does not have answers a bare `ERROR` (like a syntax error); a bad
//! parameter answers `+CME ERROR: 400`; the other FILE codes are in `docs/ufs.md`.

use std::time::Duration;

use bg95_at::{Arg, FinalResult, Form, Invocation};

use super::{
    checksum_hex, folder_conflict, glob_match, normalize_name, strip_ufs_root, valid_bare_name,
    Handle, Target, UfsTransfer,
};
use crate::error::CmeError;
use crate::module::{DataMode, Module, Outcome, Port};
use crate::params::{at_most, num, opt_num, opt_str, BadParam};
use crate::time::Instant;

/// QFUPL's default `<file_size>`.
const DEFAULT_UPLOAD_SIZE: u64 = 10240;
/// QFUPL's and QFWRITE's default `<timeout>`, seconds.
const DEFAULT_TIMEOUT: u64 = 5;

type Res<T> = Result<T, CmeError>;

fn bad(_: BadParam) -> CmeError {
    CmeError::InvalidInput
}

/// A required file name argument, normalised (no `UFS:` prefix, no leading `/`); invalid → 400.
fn name_arg(args: &[Arg], i: usize) -> Res<String> {
    let raw = opt_str(args, i).ok_or(CmeError::InvalidInput)?;
    normalize_name(raw)
        .map(str::to_string)
        .ok_or(CmeError::InvalidInput)
}

/// A `*`/`?` name pattern argument, normalised like a name (`ufs:/security/*` →
/// `security/*`).
fn pattern_arg(args: &[Arg], i: usize) -> Res<String> {
    let raw = opt_str(args, i).ok_or(CmeError::InvalidInput)?;
    let bare = strip_ufs_root(raw);
    // A pattern obeys the name rules, with `*` and `?` allowed.
    let probe: String = bare
        .chars()
        .map(|c| if c == '*' || c == '?' { 'x' } else { c })
        .collect();
    if valid_bare_name(&probe) {
        Ok(bare.to_string())
    } else {
        Err(CmeError::InvalidInput)
    }
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

impl Module {
    /// Print one test-form line and succeed.
    fn test_line(&mut self, line: &str) -> Outcome {
        self.info(&[line]);
        Outcome::Ok
    }

    /// A handle argument: not a number → 400, not open → 416.
    fn handle_arg(&self, args: &[Arg], i: usize) -> Res<u32> {
        let h = num(args, i, 0..=u64::from(u32::MAX)).map_err(bad)? as u32;
        if self.ufs.handles.contains_key(&h) {
            Ok(h)
        } else {
            Err(CmeError::InvalidHandle)
        }
    }

    // ---- AT+QFUPL ------------------------------------------------------------------

    pub(super) fn qfupl(&mut self, now: Instant, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => match self.ufs.free() {
                Ok(free) => self.test_line(&format!(
                    "+QFUPL: <filename>[,(1-{free})[,(1-65535)[,(0,1)]]]"
                )),
                Err(e) => e.into(),
            },
            Form::Write(args) => match self.qfupl_start(now, args) {
                Ok(()) => Outcome::Pending,
                Err(e) => e.into(),
            },
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    fn qfupl_start(&mut self, now: Instant, args: &[Arg]) -> Res<()> {
        at_most(args, 4).map_err(bad)?;
        let name = name_arg(args, 0)?;
        let size = opt_num(args, 1, 1..=u64::MAX)
            .map_err(bad)?
            .unwrap_or(DEFAULT_UPLOAD_SIZE);
        let timeout = opt_num(args, 2, 1..=65535)
            .map_err(bad)?
            .unwrap_or(DEFAULT_TIMEOUT);
        let ackmode = opt_num(args, 3, 0..=1).map_err(bad)?.unwrap_or(0) == 1;
        if self.ufs.exists(&name)? {
            return Err(CmeError::FileExists);
        }
        // A file where a folder is (or in a "folder" that is a file): refused before CONNECT.
        if self.ufs.conflicts(&name)? {
            return Err(CmeError::WriteFailed);
        }
        if size > self.ufs.free()? {
            return Err(CmeError::NoSpace);
        }
        self.final_result(FinalResult::Connect);
        let mut t = UfsTransfer::new(
            now,
            self.escape_detector(now),
            Target::Upload { name },
            size,
            Duration::from_secs(timeout),
        );
        t.ackmode = ackmode;
        self.port = Port::Data(DataMode::Ufs(t));
        Ok(())
    }

    // ---- AT+QFDWL ------------------------------------------------------------------

    pub(super) fn qfdwl(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => self.test_line("+QFDWL: <filename>"),
            Form::Write(args) => {
                let data = (|| {
                    at_most(args, 1).map_err(bad)?;
                    let name = name_arg(args, 0)?;
                    self.ufs.read(&name)
                })();
                match data {
                    Ok(data) => {
                        self.final_result(FinalResult::Connect);
                        self.raw(&data);
                        self.info(&[format!("+QFDWL: {},{}", data.len(), checksum_hex(&data))]);
                        Outcome::Ok
                    }
                    Err(e) => e.into(),
                }
            }
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    // ---- AT+QFLST, AT+QFLDS ----------------------------------------------------------

    pub(super) fn qflst(&mut self, inv: &Invocation) -> Outcome {
        let pattern = match &inv.form {
            Form::Test => return Outcome::Ok,
            Form::Exec => "*".to_string(),
            Form::Write(args) => match at_most(args, 1)
                .map_err(bad)
                .and_then(|()| pattern_arg(args, 0))
            {
                Ok(p) => p,
                Err(e) => return e.into(),
            },
            Form::Read => return Outcome::Fail(FinalResult::Error),
        };
        match self.ufs.list() {
            Ok(files) => {
                let lines: Vec<String> = files
                    .into_iter()
                    .filter(|(n, _)| glob_match(&pattern, n))
                    .map(|(n, s)| format!("+QFLST: \"{n}\",{s}"))
                    .collect();
                self.info(&lines);
                Outcome::Ok
            }
            Err(e) => e.into(),
        }
    }

    pub(super) fn qflds(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => Outcome::Ok,
            Form::Exec => match self.ufs.usage() {
                Ok((used, count)) => self.test_line(&format!("+QFLDS: {used},{count}")),
                Err(e) => e.into(),
            },
            Form::Write(args) => {
                let storage = opt_str(args, 0).unwrap_or("");
                if args.len() != 1 || !storage.eq_ignore_ascii_case("UFS") {
                    return CmeError::InvalidInput.into();
                }
                match self.ufs.free() {
                    Ok(free) => {
                        let total = self.ufs.capacity;
                        self.test_line(&format!("+QFLDS: {free},{total}"))
                    }
                    Err(e) => e.into(),
                }
            }
            Form::Read => Outcome::Fail(FinalResult::Error),
        }
    }

    // ---- AT+QFDEL, AT+QFMOV ----------------------------------------------------------

    pub(super) fn qfdel(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => self.test_line("+QFDEL: <filename>"),
            Form::Write(args) => done(self.qfdel_run(args)),
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    fn qfdel_run(&mut self, args: &[Arg]) -> Res<()> {
        at_most(args, 1).map_err(bad)?;
        let pattern = pattern_arg(args, 0)?;
        if !has_wildcard(&pattern) {
            if self.ufs.is_open(&pattern) {
                return Err(CmeError::AlreadyOpen);
            }
            return self.ufs.delete(&pattern);
        }
        let victims: Vec<String> = self
            .ufs
            .list()?
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| glob_match(&pattern, n))
            .collect();
        if victims.is_empty() && pattern != "*" {
            return Err(CmeError::FileNotFound);
        }
        if victims.iter().any(|n| self.ufs.is_open(n)) {
            return Err(CmeError::AlreadyOpen);
        }
        for n in &victims {
            self.ufs.delete(n)?;
        }
        Ok(())
    }

    pub(super) fn qfmov(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => self.test_line("+QFMOV: <srcname>,<destname>[,(0,1)[,(0,1)]]"),
            Form::Write(args) => done(self.qfmov_run(args)),
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    /// `AT+QFMOV=<src>,<dst>[,<copy>[,<overwrite>]]`: copy 0 moves, 1 copies; overwrite 0
    /// refuses an existing destination (407), 1 replaces it.
    fn qfmov_run(&mut self, args: &[Arg]) -> Res<()> {
        at_most(args, 4).map_err(bad)?;
        let src = name_arg(args, 0)?;
        let dst = name_arg(args, 1)?;
        let copy = opt_num(args, 2, 0..=1).map_err(bad)?.unwrap_or(0) == 1;
        let overwrite = opt_num(args, 3, 0..=1).map_err(bad)?.unwrap_or(0) == 1;
        let src_size = self.ufs.size_of(&src)?.ok_or(CmeError::FileNotFound)?;
        let dst_exists = self.ufs.exists(&dst)?;
        if dst_exists && !overwrite {
            return Err(CmeError::FileExists);
        }
        if self.ufs.is_open(&src) || self.ufs.is_open(&dst) {
            return Err(CmeError::AlreadyOpen);
        }
        if src == dst {
            return Ok(());
        }
        if copy {
            let data = self.ufs.read(&src)?;
            debug_assert_eq!(data.len() as u64, src_size);
            self.ufs.write(&dst, &data)
        } else {
            let others = self.ufs.list()?;
            let others = others.iter().map(|(n, _)| n.as_str()).filter(|n| *n != src);
            if folder_conflict(&dst, others) {
                return Err(CmeError::WriteFailed);
            }
            // A move never needs space; the store renames (atomically where it can).
            self.ufs
                .store
                .rename(&src, &dst)
                .map_err(|_| CmeError::WriteFailed)
        }
    }

    // ---- handles -----------------------------------------------------------------------

    pub(super) fn qfopen(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => self.test_line("+QFOPEN: <filename>[,(0-2)]"),
            Form::Read => {
                let lines: Vec<String> = self
                    .ufs
                    .handles
                    .iter()
                    .map(|(fh, h)| format!("+QFOPEN: \"{}\",{fh},{}", h.name, h.mode))
                    .collect();
                self.info(&lines);
                Outcome::Ok
            }
            Form::Write(args) => match self.qfopen_run(args) {
                Ok(fh) => self.test_line(&format!("+QFOPEN: {fh}")),
                Err(e) => e.into(),
            },
            Form::Exec => Outcome::Fail(FinalResult::Error),
        }
    }

    fn qfopen_run(&mut self, args: &[Arg]) -> Res<u32> {
        at_most(args, 2).map_err(bad)?;
        let name = name_arg(args, 0)?;
        let mode = opt_num(args, 1, 0..=2).map_err(bad)?.unwrap_or(0) as u8;
        if self.ufs.is_open(&name) {
            return Err(CmeError::AlreadyOpen);
        }
        let fh = self.ufs.free_handle().ok_or(CmeError::TooManyOpen)?;
        let exists = self.ufs.exists(&name)?;
        match mode {
            2 if !exists => return Err(CmeError::FileNotFound),
            0 if !exists => self.ufs.write(&name, &[])?,
            1 => self.ufs.write(&name, &[])?,
            _ => {}
        }
        self.ufs.handles.insert(fh, Handle { name, mode, pos: 0 });
        Ok(fh)
    }

    pub(super) fn qfread(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => self.test_line("+QFREAD: <filehandle>[,<length>]"),
            Form::Write(args) => match self.qfread_run(args) {
                Ok(bytes) => {
                    let mut connect = Vec::new();
                    self.cfg.fmt.connect_with(bytes.len() as u64, &mut connect);
                    self.raw(&connect);
                    self.raw(&bytes);
                    Outcome::Ok
                }
                Err(e) => e.into(),
            },
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    /// Read from the pointer, up to `<length>` bytes or the end of the file.
    fn qfread_run(&mut self, args: &[Arg]) -> Res<Vec<u8>> {
        at_most(args, 2).map_err(bad)?;
        let fh = self.handle_arg(args, 0)?;
        let len = opt_num(args, 1, 1..=u64::MAX).map_err(bad)?;
        let h = &self.ufs.handles[&fh];
        let content = self.ufs.read(&h.name)?;
        let start = (h.pos as usize).min(content.len());
        let end = match len {
            Some(n) => start
                .saturating_add(usize::try_from(n).unwrap_or(usize::MAX))
                .min(content.len()),
            None => content.len(),
        };
        if let Some(h) = self.ufs.handles.get_mut(&fh) {
            h.pos = end as u64;
        }
        Ok(content[start..end].to_vec())
    }

    pub(super) fn qfwrite(&mut self, now: Instant, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => self.test_line("+QFWRITE: <filehandle>[,<length>[,<timeout>]]"),
            Form::Write(args) => match self.qfwrite_start(now, args) {
                Ok(()) => Outcome::Pending,
                Err(e) => e.into(),
            },
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    fn qfwrite_start(&mut self, now: Instant, args: &[Arg]) -> Res<()> {
        at_most(args, 3).map_err(bad)?;
        let fh = self.handle_arg(args, 0)?;
        let len = opt_num(args, 1, 1..=u64::MAX).map_err(bad)?;
        let timeout = opt_num(args, 2, 1..=65535)
            .map_err(bad)?
            .unwrap_or(DEFAULT_TIMEOUT);
        let h = self.ufs.handles[&fh].clone();
        if h.mode == 2 {
            return Err(CmeError::ReadOnly);
        }
        let size = self.ufs.size_of(&h.name)?.unwrap_or(0);
        let pos = h.pos.min(size);
        // The most this write may bring: up to the end of the file, plus the free space.
        let room = (size - pos).saturating_add(self.ufs.free()?);
        let expected = match len {
            Some(n) if n > room => return Err(CmeError::NoSpace),
            Some(n) => n,
            None if room == 0 => return Err(CmeError::NoSpace),
            None => room,
        };
        self.final_result(FinalResult::Connect);
        let t = UfsTransfer::new(
            now,
            self.escape_detector(now),
            Target::Write { handle: fh },
            expected,
            Duration::from_secs(timeout),
        );
        self.port = Port::Data(DataMode::Ufs(t));
        Ok(())
    }

    pub(super) fn qfseek(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => self.test_line("+QFSEEK: <filehandle>,<offset>[,(0-2)]"),
            Form::Write(args) => done(self.qfseek_run(args)),
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    /// `<position>` 0 from the start, 1 from the pointer, 2 back from the end; a pointer
    /// past the end (or before the start) → 401.
    fn qfseek_run(&mut self, args: &[Arg]) -> Res<()> {
        at_most(args, 3).map_err(bad)?;
        let fh = self.handle_arg(args, 0)?;
        let offset = num(args, 1, 0..=u64::MAX).map_err(bad)?;
        let whence = opt_num(args, 2, 0..=2).map_err(bad)?.unwrap_or(0);
        let h = &self.ufs.handles[&fh];
        let size = self.ufs.size_of(&h.name)?.unwrap_or(0);
        let target = match whence {
            0 => Some(offset),
            1 => h.pos.checked_add(offset),
            _ => size.checked_sub(offset),
        };
        match target {
            Some(p) if p <= size => {
                if let Some(h) = self.ufs.handles.get_mut(&fh) {
                    h.pos = p;
                }
                Ok(())
            }
            _ => Err(CmeError::LargerThanFile),
        }
    }

    pub(super) fn qfposition(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => self.test_line("+QFPOSITION: <filehandle>"),
            Form::Write(args) => {
                match at_most(args, 1)
                    .map_err(bad)
                    .and_then(|()| self.handle_arg(args, 0))
                {
                    Ok(fh) => {
                        let pos = self.ufs.handles[&fh].pos;
                        self.test_line(&format!("+QFPOSITION: {pos}"))
                    }
                    Err(e) => e.into(),
                }
            }
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    pub(super) fn qftucat(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => self.test_line("+QFTUCAT: <filehandle>"),
            Form::Write(args) => done(self.qftucat_run(args)),
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    /// Cut the file at the pointer.
    fn qftucat_run(&mut self, args: &[Arg]) -> Res<()> {
        at_most(args, 1).map_err(bad)?;
        let fh = self.handle_arg(args, 0)?;
        let h = self.ufs.handles[&fh].clone();
        if h.mode == 2 {
            return Err(CmeError::ReadOnly);
        }
        let mut content = self.ufs.read(&h.name)?;
        if (h.pos as usize) < content.len() {
            content.truncate(h.pos as usize);
            self.ufs.write(&h.name, &content)?;
        }
        Ok(())
    }

    pub(super) fn qfclose(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => self.test_line("+QFCLOSE: <filehandle>"),
            Form::Write(args) => done((|| {
                at_most(args, 1).map_err(bad)?;
                let fh = self.handle_arg(args, 0)?;
                self.ufs.handles.remove(&fh);
                Ok(())
            })()),
            _ => Outcome::Fail(FinalResult::Error),
        }
    }
}
