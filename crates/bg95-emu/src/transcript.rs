//! `--transcript FILE`: records a session in the golden-transcript format
//! (`> host bytes`, `< module bytes`, `@+Nms` for pauses), so a field session can be
//! replayed as a test.

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
}

impl Recorder {
    pub fn create(path: &Path) -> std::io::Result<Recorder> {
        let mut out = BufWriter::new(File::create(path)?);
        writeln!(out, "# recorded by bg95-emu serve --transcript")?;
        Ok(Recorder { out, last: None })
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
        self.line(now, '>', bytes);
    }

    pub fn output(&mut self, now: Instant, bytes: &[u8]) {
        self.line(now, '<', bytes);
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
