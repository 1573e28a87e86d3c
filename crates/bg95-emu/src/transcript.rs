//! `--transcript FILE`: records a session in the golden-transcript format
//! (`> host bytes`, `< module bytes`, `@+Nms` for pauses), so a field session can be
//! replayed as a test.
//!
//! Passwords never reach the file: the password of `AT+QFTPCFG="account",...` is written
//! as one `*` per character, both in the host's command and in the module's echo of it
//! (the length is kept, as the module's own `AT+QFTPCFG="account"` query answer does).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use bg95_core::transcript::escape;
use bg95_core::Instant;

/// Pauses shorter than this are not written (they are scheduling noise, not behaviour).
const MIN_PAUSE_MS: u64 = 100;

pub struct Recorder {
    out: BufWriter<File>,
    last: Option<Instant>,
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
        let mut out = BufWriter::new(File::create(path)?);
        writeln!(out, "# recorded by bg95-emu serve --transcript")?;
        Ok(Recorder {
            out,
            last: None,
            host: Redactor::default(),
            module: Redactor::default(),
        })
    }

    fn line(&mut self, now: Instant, tag: char, bytes: &[u8]) {
        if let Some(last) = self.last {
            let ms = now.since(last).as_millis() as u64;
            if ms >= MIN_PAUSE_MS {
                let _ = writeln!(self.out, "@+{ms}ms");
            }
        }
        self.last = Some(now);
        let _ = writeln!(self.out, "{tag} {}", escape(bytes));
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
        self.last = Some(now);
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
