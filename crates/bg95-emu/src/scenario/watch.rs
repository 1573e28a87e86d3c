//! Where AT-command triggers are observed: the host's bytes, split into command lines the
//! way the module splits them (S3 = `\r`), parsed by `bg95-at` into invocation names. The
//! runtime feeds it only bytes that arrive while the module is in command mode (data-mode
//! bytes are not commands), and before the module handles them, so a fault triggered by a
//! command takes effect for that very command.

use bg95_at::{parse_body, strip_prefix, Arg, Form};

use super::FaultEngine;

/// Longest line kept (the module's own limit is lower; longer lines are not commands).
const MAX_LINE: usize = 4096;

#[derive(Debug, Default)]
pub struct AtWatcher {
    line: Vec<u8>,
}

impl AtWatcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// The commands completed by `bytes`: (name, parameters as typed).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for &b in bytes {
            match b {
                b'\r' => {
                    let line = std::mem::take(&mut self.line);
                    out.extend(commands(&line));
                }
                b'\n' if self.line.is_empty() => {}
                // Backspace edits the line, as the module's line editor does.
                0x08 => {
                    self.line.pop();
                }
                _ if self.line.len() < MAX_LINE => self.line.push(b),
                _ => {}
            }
        }
        out
    }

    /// Feed `bytes` and report every completed command to `engine`.
    pub fn observe(&mut self, engine: &FaultEngine, now: std::time::Duration, bytes: &[u8]) {
        for (name, params) in self.push(bytes) {
            engine.at_command(now, &name, &params);
        }
    }

    /// Forget a partial line (the module left command mode).
    pub fn clear(&mut self) {
        self.line.clear();
    }
}

fn commands(line: &[u8]) -> Vec<(String, String)> {
    let Some(body) = strip_prefix(line) else {
        return Vec::new();
    };
    let Ok(invs) = parse_body(body) else {
        return Vec::new();
    };
    invs.into_iter()
        .map(|inv| {
            let params = match &inv.form {
                Form::Test => "=?".to_string(),
                Form::Read => "?".to_string(),
                Form::Exec => String::new(),
                Form::Write(args) => {
                    let parts: Vec<String> = args
                        .iter()
                        .map(|a| match a {
                            Arg::Omitted | Arg::Unreadable => String::new(),
                            Arg::Quoted(s) => format!("\"{s}\""),
                            Arg::Bare(s) => s.clone(),
                        })
                        .collect();
                    format!("={}", parts.join(","))
                }
            };
            (inv.name, params)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_to_commands() {
        let mut w = AtWatcher::new();
        assert!(w.push(b"AT+QFTPOPEN=\"ftp.example.com\"").is_empty());
        assert_eq!(
            w.push(b",21\r\nAT+CPIN?;+CSQ\rATE0\r"),
            vec![
                ("+QFTPOPEN".into(), "=\"ftp.example.com\",21".into()),
                ("+CPIN".into(), "?".into()),
                ("+CSQ".into(), String::new()),
                ("E".into(), "=0".into()),
            ]
        );
        assert!(w.push(b"hello\r").is_empty());
    }
}
