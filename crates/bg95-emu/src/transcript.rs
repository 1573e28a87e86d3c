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
//! Passwords never reach the file: the password of `AT+QFTPCFG="account",...` is written
//! as one `*` per character, both in the host's command and in the module's echo of it
//! (the length is kept, as the module's own `AT+QFTPCFG="account"` query answer does).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use bg95_core::transcript::{effect_line, escape, event_line};
use bg95_core::{Completion, Effect, Instant};

pub struct Recorder {
    /// The file (buffered), and with a control API its tap too.
    out: Box<dyn Write + Send>,
    /// The module's power-on; `None` until [`Recorder::start`].
    start: Option<Instant>,
    /// Milliseconds since `start` already written as `@+` lines.
    written_ms: u64,
    host: Redactor,
    module: Redactor,
}

/// Masks the password argument of `AT+QFTPCFG="account","<user>","<password>"` in a byte
/// stream that arrives in arbitrary pieces (a line may be split across reads).
#[derive(Debug, Default)]
struct Redactor {
    /// The start of the current line, upper-cased (enough to recognise the command).
    line: Vec<u8>,
    /// Double quotes seen on the current line.
    quotes: usize,
}

/// The line prefix whose fifth and sixth quotes enclose a password.
const ACCOUNT: &[u8] = b"AT+QFTPCFG=\"ACCOUNT\"";

impl Redactor {
    fn redact(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        for &b in bytes {
            if b == b'\r' || b == b'\n' {
                self.line.clear();
                self.quotes = 0;
                out.push(b);
                continue;
            }
            if self.line.len() < ACCOUNT.len() {
                self.line.push(b.to_ascii_uppercase());
            }
            let in_password = self.quotes == 5 && self.line == ACCOUNT && b != b'"';
            if b == b'"' {
                self.quotes += 1;
            }
            match b {
                // One `*` per character: UTF-8 continuation bytes add none.
                0x80..=0xBF if in_password => {}
                _ if in_password => out.push(b'*'),
                _ => out.push(b),
            }
        }
        out
    }
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
            host: Redactor::default(),
            module: Redactor::default(),
        })
    }

    /// The module's personality and the UFS files present at power-on, as `#! module` and
    /// `#! ufs` headers ([`bg95_core::transcript::setup_lines`]): a replay builds the same
    /// module from them.
    pub fn setup(&mut self, personality: &bg95_core::Personality, files: &[(String, Vec<u8>)]) {
        for line in bg95_core::transcript::setup_lines(personality, files) {
            let _ = writeln!(self.out, "{line}");
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

    pub fn input(&mut self, now: Instant, bytes: &[u8]) {
        let bytes = self.host.redact(bytes);
        self.line(now, '>', &bytes);
    }

    pub fn output(&mut self, now: Instant, bytes: &[u8]) {
        let bytes = self.module.redact(bytes);
        self.line(now, '<', &bytes);
        // Keep the file useful when the process is killed.
        let _ = self.out.flush();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_account_password_only() {
        let mut r = Redactor::default();
        assert_eq!(
            r.redact(b"AT+QFTPCFG=\"account\",\"user\",\"s3cr\"t\"\r"),
            b"AT+QFTPCFG=\"account\",\"user\",\"****\"t\"\r".to_vec()
        );
        assert_eq!(
            r.redact(b"at+qftpcfg=\"Account\",\"u\",\"p\xc3\xa4ss\"\r\n"),
            b"at+qftpcfg=\"Account\",\"u\",\"****\"\r\n".to_vec()
        );
        assert_eq!(
            r.redact(b"AT+QFTPCFG=\"contextid\",\"a\",\"b\"\r"),
            b"AT+QFTPCFG=\"contextid\",\"a\",\"b\"\r".to_vec()
        );
    }

    #[test]
    fn masks_across_pieces() {
        let mut r = Redactor::default();
        let line = b"AT+QFTPCFG=\"account\",\"user\",\"hunter2\"\r";
        let mut out = Vec::new();
        for piece in line.chunks(3) {
            out.extend(r.redact(piece));
        }
        assert_eq!(
            out,
            b"AT+QFTPCFG=\"account\",\"user\",\"*******\"\r".to_vec()
        );
    }
}
