//! The `[[step]]`s of an import, kept as the text they become: a log of millions of
//! command/answer cycles keeps a buffer here and the rest in a temporary file, not millions
//! of strings (docs/import.md "Large logs").

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

/// Text buffered before it goes to the temporary file.
const BUFFER: usize = 1024 * 1024;

#[derive(Default)]
pub(super) struct StepLog {
    buf: String,
    spill: Option<File>,
    count: usize,
}

impl StepLog {
    /// One step's keys (`line = "AT"`), or a `timeout = …` for the step before it.
    pub fn push(&mut self, step: String) {
        if step.starts_with("timeout = ") {
            self.buf.push_str(&step);
        } else {
            self.count += 1;
            self.buf.push_str("[[step]]\n");
            self.buf.push_str(&step);
        }
        self.buf.push('\n');
        if self.buf.len() >= BUFFER {
            self.spill_buffer();
        }
    }

    /// Steps pushed (timeouts not counted).
    pub fn count(&self) -> usize {
        self.count
    }

    fn spill_buffer(&mut self) {
        if self.spill.is_none() {
            // Without a temporary file the steps stay in memory.
            self.spill = tempfile::tempfile().ok();
        }
        if let Some(f) = self.spill.as_mut() {
            if f.write_all(self.buf.as_bytes()).is_ok() {
                self.buf.clear();
            }
        }
    }

    /// Append every step's text to `out`.
    pub fn write_into(&mut self, out: &mut String) -> std::io::Result<()> {
        if let Some(f) = self.spill.as_mut() {
            f.seek(SeekFrom::Start(0))?;
            f.read_to_string(out)?;
        }
        out.push_str(&self.buf);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past the buffer the steps go to the temporary file and come back whole, in order.
    #[test]
    fn steps_spill_and_come_back_in_order() {
        let mut log = StepLog::default();
        let mut want = String::new();
        for i in 0..60_000 {
            log.push(format!("line = \"AT+CSQ;{i}\""));
            log.push("timeout = \"1s\"".into());
            want.push_str(&format!(
                "[[step]]\nline = \"AT+CSQ;{i}\"\ntimeout = \"1s\"\n"
            ));
        }
        assert!(log.spill.is_some(), "more than {BUFFER} bytes are spilled");
        assert!(log.buf.len() < BUFFER);
        assert_eq!(log.count(), 60_000);
        let mut out = String::new();
        log.write_into(&mut out).unwrap();
        assert_eq!(out, want);
    }
}
