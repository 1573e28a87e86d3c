//! The `[[step]]`s of an import, kept as the text they become: a log of millions of
//! command/answer cycles keeps a buffer here and the rest in a temporary file, not millions
//! of strings (docs/import.md "Large logs").

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

/// Text buffered before it goes to the temporary file.
const BUFFER: usize = 1024 * 1024;

/// Identical exchanges in a row fold into one `repeat` group from this many on (two are
/// clearer written out).
pub(super) const FOLD_MIN: u64 = 3;
/// An exchange longer than this many steps is closed early (a download's many lines): what
/// is held while folding stays small, and folding stays correct (it only merges identical
/// neighbours).
const MAX_GROUP_STEPS: usize = 64;
/// A group runs at most this many times (the loader's bound on `repeat`).
const MAX_TIMES: u64 = 1_000_000_000;

#[derive(Default)]
pub(super) struct StepLog {
    buf: String,
    spill: Option<File>,
    count: usize,
    /// The exchange being read: one host line, with the wait before it and the answers
    /// after it (each step's text, a `timeout = …` joined to its step).
    group: Vec<String>,
    /// The exchange before it and how many times in a row it came.
    prev: Vec<String>,
    prev_times: u64,
}

impl StepLog {
    /// One step's keys (`line = "AT"`), or a `timeout = …` for the step before it.
    pub fn push(&mut self, step: String) {
        if step.starts_with("timeout = ") {
            match self.group.last_mut() {
                Some(last) => {
                    last.push('\n');
                    last.push_str(&step);
                }
                None => self.write(&format!("{step}\n")),
            }
            return;
        }
        let after_wait = self.group.last().is_some_and(|l| l.starts_with("wait = "));
        let starts_exchange =
            step.starts_with("wait = ") || (step.starts_with("line = ") && !after_wait);
        if starts_exchange || self.group.len() >= MAX_GROUP_STEPS {
            self.close_group();
        }
        self.group.push(step);
    }

    /// The exchange read so far is complete: one more of the one before, or a new one.
    fn close_group(&mut self) {
        if self.group.is_empty() {
            return;
        }
        if self.group == self.prev && self.prev_times < MAX_TIMES {
            self.prev_times += 1;
            self.group.clear();
        } else {
            self.write_prev();
            self.prev = std::mem::take(&mut self.group);
            self.prev_times = 1;
        }
    }

    /// The previous exchange as steps: written out, or as one `repeat` group.
    fn write_prev(&mut self) {
        let prev = std::mem::take(&mut self.prev);
        let times = std::mem::take(&mut self.prev_times);
        if times >= FOLD_MIN {
            self.count += 1;
            self.write(&format!("[[step]]\nrepeat = {times}\n"));
            for step in &prev {
                self.write(&format!("[[step.steps]]\n{step}\n"));
            }
        } else {
            for _ in 0..times {
                for step in &prev {
                    self.count += 1;
                    self.write(&format!("[[step]]\n{step}\n"));
                }
            }
        }
    }

    fn write(&mut self, text: &str) {
        self.buf.push_str(text);
        if self.buf.len() >= BUFFER {
            self.spill_buffer();
        }
    }

    /// Steps written (a `repeat` group counts once; timeouts not counted), including those
    /// still held for folding.
    pub fn count(&self) -> usize {
        let prev = match self.prev_times {
            t if t >= FOLD_MIN => 1,
            t => self.prev.len() * t as usize,
        };
        self.count + prev + self.group.len()
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
        self.close_group();
        self.write_prev();
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

    fn written(log: &mut StepLog) -> String {
        let mut out = String::new();
        log.write_into(&mut out).unwrap();
        out
    }

    /// Exchanges fold only when identical (wait, line, answers and their timeouts) and
    /// from [`FOLD_MIN`] in a row; fewer are written out.
    #[test]
    fn identical_exchanges_fold_and_others_do_not() {
        let mut log = StepLog::default();
        for _ in 0..2 {
            log.push("line = \"AT\"".into());
            log.push("expect = \"OK\"".into());
        }
        for _ in 0..4 {
            log.push("wait = \"100ms\"".into());
            log.push("line = \"AT+CSQ\"".into());
            log.push("expect = \"OK\"".into());
            log.push("timeout = \"2s\"".into());
        }
        log.push("wait = \"101ms\"".into());
        log.push("line = \"AT+CSQ\"".into());
        assert_eq!(log.count(), 4 + 1 + 2);
        assert_eq!(
            written(&mut log),
            "[[step]]\nline = \"AT\"\n[[step]]\nexpect = \"OK\"\n\
             [[step]]\nline = \"AT\"\n[[step]]\nexpect = \"OK\"\n\
             [[step]]\nrepeat = 4\n[[step.steps]]\nwait = \"100ms\"\n\
             [[step.steps]]\nline = \"AT+CSQ\"\n[[step.steps]]\nexpect = \"OK\"\ntimeout = \"2s\"\n\
             [[step]]\nwait = \"101ms\"\n[[step]]\nline = \"AT+CSQ\"\n"
        );
    }

    /// A long exchange (a download's lines) is closed every [`MAX_GROUP_STEPS`] steps: what
    /// waits for folding stays bounded, and nothing is lost or reordered.
    #[test]
    fn a_long_exchange_is_held_in_bounded_pieces() {
        let mut log = StepLog::default();
        let mut want = String::from("[[step]]\nline = \"AT+QFTPGET\"\n");
        log.push("line = \"AT+QFTPGET\"".into());
        for i in 0..1000 {
            log.push(format!("expect = \"{i}\""));
            want.push_str(&format!("[[step]]\nexpect = \"{i}\"\n"));
            assert!(log.group.len() <= MAX_GROUP_STEPS && log.prev.len() <= MAX_GROUP_STEPS);
        }
        assert_eq!(written(&mut log), want);
    }
}
