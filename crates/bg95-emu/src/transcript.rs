//! `--transcript FILE`: records a session in the golden-transcript format
//! (`> host bytes`, `< module bytes`, `@+Nms` for the time between them), and the seams:
//! every effect the core asked for (`= ftp cwd "/"`, written by
//! [`bg95_core::transcript::effect_line`]), every event the runtime answered with (`! ftp
//! done ok`, `! net …`, `! dns …`, … by [`bg95_core::transcript::event_line`]) and every
//! fault that fired (`! fault …`). The file starts at the module's power-on (`#! boot`), so
//! `bg95-emu replay` can feed it to a fresh module with a fake clock and no server.
//!
//! Times: each line is preceded by `@+Nms` when the module clock, rounded up to the
//! millisecond, moved since the last line; the rounding is cumulative (never drifts), and a
//! replayed clock is at or at most 1 ms past the recorded one at every line.
//!
//! Passwords never reach the file: the module masks them from what it parsed
//! ([`bg95_core::redact`]): the password of `AT+QFTPCFG="account",...`, however it was typed
//! (chains, noise, backspace, split reads, unquoted, after upload data), is written as one
//! `*` per character in the host's bytes and in the module's echo of them (the length is
//! kept, as the module's own `AT+QFTPCFG="account"` query answer does).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use bg95_core::redact::TapPiece;
use bg95_core::transcript::{
    effect_line, escape, event_line, is_private_key, module_lines, redacted_line, ufs_line,
    Fnv1a64, RecordedFile, UFS_INLINE_LIMIT,
};
use bg95_core::{Completion, Effect, Instant};

pub struct Recorder {
    /// The file (buffered), and with a control API its tap too.
    out: Box<dyn Write + Send>,
    /// The module's power-on; `None` until [`Recorder::start`].
    start: Option<Instant>,
    /// Milliseconds since `start` already written as `@+` lines.
    written_ms: u64,
}

/// How the header records one UFS file (see [`Recorder::setup`]).
fn recorded_file(
    store: &dyn bg95_core::UfsStore,
    name: &str,
    size: u64,
    include_keys: bool,
) -> Result<RecordedFile, bg95_core::StoreError> {
    if size <= UFS_INLINE_LIMIT as u64 {
        let data = store.read(name)?;
        if include_keys || !is_private_key(&data) {
            return Ok(RecordedFile::Bytes(data));
        }
        tracing::info!(target: "bg95::emu", "transcript: {name} is a private key: size and digest only");
    }
    let mut fnv = Fnv1a64::default();
    store.read_chunks(name, &mut |piece| fnv.update(piece))?;
    Ok(RecordedFile::Digest {
        len: fnv.len,
        fnv: fnv.hash,
    })
}

impl Recorder {
    pub fn create(path: &Path) -> std::io::Result<Recorder> {
        Recorder::with_writer(Box::new(BufWriter::new(File::create(path)?)))
    }

    /// A recorder writing to `out` (a file, the control API's tap, or both).
    pub fn with_writer(mut out: Box<dyn Write + Send>) -> std::io::Result<Recorder> {
        writeln!(
            out,
            "# recorded by bg95-emu --transcript; replay: bg95-emu replay FILE"
        )?;
        writeln!(out, "#! boot")?;
        Ok(Recorder {
            out,
            start: None,
            written_ms: 0,
        })
    }

    /// The module's personality and the UFS files present at power-on, as `#! module` and
    /// `#! ufs` headers: a replay builds the same module from them. Files are read one at a
    /// time; one over [`UFS_INLINE_LIMIT`] is streamed into its digest (never held whole),
    /// and a PEM private key is recorded as size and digest unless `include_keys`
    /// (`--transcript-keys`, for local debugging).
    pub fn setup(
        &mut self,
        personality: &bg95_core::Personality,
        store: &dyn bg95_core::UfsStore,
        include_keys: bool,
    ) {
        for line in module_lines(personality) {
            let _ = writeln!(self.out, "{line}");
        }
        for (name, size) in store.list().unwrap_or_default() {
            match recorded_file(store, &name, size, include_keys) {
                Ok(file) => {
                    let _ = writeln!(self.out, "{}", ufs_line(&name, &file));
                }
                Err(e) => tracing::warn!(target: "bg95::emu", "transcript: UFS {name}: {e:?}"),
            }
        }
    }

    /// The embedded FTP server `serve`/`run` started for this session: `#! server embedded
    /// <addr>` (`… tls` for FTPS), so `bg95-emu replay --live --ftp-root DIR` can start one
    /// at the same address.
    pub fn server(&mut self, addr: std::net::SocketAddr, tls: bool) {
        let tls = if tls { " tls" } else { "" };
        let _ = writeln!(self.out, "#! server embedded {addr}{tls}");
    }

    /// The module was created at `now`: times count from here (a replay's module starts at
    /// its clock's zero).
    pub fn start(&mut self, now: Instant) {
        self.start = Some(now);
        self.written_ms = 0;
    }

    /// `@+Nms` up to `now` (rounded up to the millisecond), if the clock moved.
    fn time(&mut self, now: Instant) {
        let start = *self.start.get_or_insert(now);
        let ms = now.since(start).as_micros().div_ceil(1000) as u64;
        if ms > self.written_ms {
            let _ = writeln!(self.out, "@+{}ms", ms - self.written_ms);
            self.written_ms = ms;
        }
    }

    fn line(&mut self, now: Instant, tag: char, bytes: &[u8]) {
        self.time(now);
        let _ = writeln!(self.out, "{tag} {}", escape(bytes));
    }

    /// An effect the core asked for (`= …`).
    pub fn effect(&mut self, now: Instant, effect: &Effect) {
        self.time(now);
        let _ = writeln!(self.out, "= {}", effect_line(effect));
    }

    /// An event the runtime handed to the core (`! …`).
    pub fn event(&mut self, now: Instant, event: &Completion) {
        self.time(now);
        let _ = writeln!(self.out, "! {}", event_line(event));
    }

    /// A piece of the module's masked session copy ([`bg95_core::Module::poll_transcript`]):
    /// `> host bytes` or `< module bytes`.
    pub fn piece(&mut self, now: Instant, piece: TapPiece) {
        match piece {
            TapPiece::Host(bytes) => self.line(now, '>', &bytes),
            TapPiece::RedactedUpload { len, fnv } => {
                self.time(now);
                let _ = writeln!(self.out, "{}", redacted_line(len, fnv));
            }
            TapPiece::Module(bytes) => {
                self.line(now, '<', &bytes);
                // Keep the file useful when the process is killed.
                let _ = self.out.flush();
            }
        }
    }

    /// Everything the module's session copy holds now.
    pub fn pieces(&mut self, now: Instant, module: &mut bg95_core::Module) {
        while let Some(piece) = module.poll_transcript() {
            self.piece(now, piece);
        }
    }

    /// A scenario fault that fired: `! fault "name" at 1234ms on <trigger> -> <action>`
    /// (docs/transcripts.md).
    pub fn fault(&mut self, now: Instant, fault: &crate::scenario::FiredFault) {
        self.time(now);
        let _ = writeln!(self.out, "{}", fault.transcript_line());
        let _ = self.out.flush();
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }
}
