//! The transcript as the control API sees it: every line the [`crate::transcript::Recorder`]
//! writes (`>` host bytes, `<` module bytes, `=` what the module asked of the network, `!`
//! what happened — FTP replies, network events, faults), kept for `GET /v1/transcript` and
//! broadcast for `GET /v1/events`.
//!
//! Bounded everywhere, and never waits: the first [`HEAD_BYTES`] of the session are kept
//! (headers, boot), then the last [`TAIL_BYTES`]; the broadcast channel holds
//! [`EVENTS_WAITING`] lines per subscriber, and a subscriber that falls behind loses the
//! oldest (it is told how many), so a slow or dead API client never holds the module up.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;

/// The start of the session kept whatever follows.
pub const HEAD_BYTES: usize = 256 * 1024;
/// The latest part of the session kept.
pub const TAIL_BYTES: usize = 4 * 1024 * 1024;
/// Lines a subscriber may fall behind before it loses the oldest.
pub const EVENTS_WAITING: usize = 1024;
/// A line longer than this is cut (the recorder writes one line per output message, a few
/// KiB at most; this only bounds a hostile stream).
const MAX_LINE: usize = 256 * 1024;

/// One transcript line with the module time it was written at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapLine {
    /// Milliseconds since the module's power-on (from the transcript's `@+` lines).
    pub at_ms: u64,
    pub line: Arc<str>,
}

impl TapLine {
    /// The SSE event name of the line, by its tag.
    pub fn kind(&self) -> &'static str {
        match self.line.as_bytes().first() {
            Some(b'>') => "host",
            Some(b'<') => "module",
            Some(b'=') => "request",
            Some(b'!') if self.line.starts_with("! fault ") => "fault",
            Some(b'!') => "event",
            Some(b'@') => "time",
            _ => "header",
        }
    }
}

#[derive(Debug, Default)]
struct Kept {
    head: Vec<Arc<str>>,
    head_bytes: usize,
    tail: VecDeque<Arc<str>>,
    tail_bytes: usize,
    /// Lines dropped between head and tail.
    dropped: u64,
    /// The line being written.
    partial: Vec<u8>,
    at_ms: u64,
}

/// The shared tap. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Tap {
    kept: Arc<Mutex<Kept>>,
    events: broadcast::Sender<TapLine>,
}

impl Default for Tap {
    fn default() -> Self {
        Tap::new()
    }
}

impl Tap {
    pub fn new() -> Tap {
        Tap {
            kept: Arc::default(),
            events: broadcast::channel(EVENTS_WAITING).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lines from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<TapLine> {
        self.events.subscribe()
    }

    /// The session so far (complete lines), with a `#` comment where lines were dropped.
    pub fn text(&self) -> String {
        let k = self.lock();
        let mut out = String::with_capacity(k.head_bytes + k.tail_bytes + 80);
        for l in &k.head {
            out.push_str(l);
            out.push('\n');
        }
        if k.dropped > 0 {
            out.push_str(&format!(
                "# {} lines left out here (the control API keeps the first {} KiB and the last {} KiB)\n",
                k.dropped,
                HEAD_BYTES / 1024,
                TAIL_BYTES / 1024
            ));
        }
        for l in &k.tail {
            out.push_str(l);
            out.push('\n');
        }
        out
    }

    /// Bytes as the recorder writes them; complete lines are kept and broadcast.
    fn push(&self, bytes: &[u8]) {
        let mut k = self.lock();
        for &b in bytes {
            if b != b'\n' {
                if k.partial.len() < MAX_LINE {
                    k.partial.push(b);
                }
                continue;
            }
            let raw = std::mem::take(&mut k.partial);
            let line: Arc<str> = String::from_utf8_lossy(&raw).into();
            if let Some(ms) = line.strip_prefix("@+").and_then(|r| r.strip_suffix("ms")) {
                k.at_ms += ms.parse::<u64>().unwrap_or(0);
            }
            k.keep(line.clone());
            // No subscriber is not an error; a full channel drops its oldest line.
            let _ = self.events.send(TapLine {
                at_ms: k.at_ms,
                line,
            });
        }
    }

    /// A writer that feeds this tap.
    pub fn writer(&self) -> TapWriter {
        TapWriter(self.clone())
    }
}

impl Kept {
    fn keep(&mut self, line: Arc<str>) {
        let size = line.len() + 1;
        if self.dropped == 0 && self.tail.is_empty() && self.head_bytes + size <= HEAD_BYTES {
            self.head_bytes += size;
            self.head.push(line);
            return;
        }
        self.tail_bytes += size;
        self.tail.push_back(line);
        while self.tail_bytes > TAIL_BYTES {
            match self.tail.pop_front() {
                Some(old) => {
                    self.tail_bytes -= old.len() + 1;
                    self.dropped += 1;
                }
                None => break,
            }
        }
    }
}

/// [`Write`] into a [`Tap`].
#[derive(Debug, Clone)]
pub struct TapWriter(Tap);

impl Write for TapWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes to a file (buffered) and a tap.
pub struct Tee<A, B>(pub A, pub B);

impl<A: Write, B: Write> Write for Tee<A, B> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(buf)?;
        self.1.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_in_pieces_are_kept_and_broadcast_with_their_time() {
        let tap = Tap::new();
        let mut rx = tap.subscribe();
        let mut w = tap.writer();
        w.write_all(b"#! boot\n@+12").unwrap();
        w.write_all(b"ms\n< \\r\\nRDY\\r\\n\n> AT\\r\n! fault \"x\" at 12ms on t -> a\n")
            .unwrap();
        assert_eq!(
            tap.text(),
            "#! boot\n@+12ms\n< \\r\\nRDY\\r\\n\n> AT\\r\n! fault \"x\" at 12ms on t -> a\n"
        );
        let kinds: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|l| (l.kind(), l.at_ms))
            .collect();
        assert_eq!(
            kinds,
            [
                ("header", 0),
                ("time", 12),
                ("module", 12),
                ("host", 12),
                ("fault", 12)
            ]
        );
    }

    #[test]
    fn memory_stays_bounded_and_a_slow_subscriber_lags() {
        let tap = Tap::new();
        let mut rx = tap.subscribe();
        let line = format!("< {}\n", "x".repeat(1000));
        let mut w = tap.writer();
        for _ in 0..((HEAD_BYTES + TAIL_BYTES) / 1000 + 500) {
            w.write_all(line.as_bytes()).unwrap();
        }
        let k = tap.lock();
        assert!(k.head_bytes <= HEAD_BYTES && k.tail_bytes <= TAIL_BYTES);
        assert!(k.dropped > 0);
        drop(k);
        assert!(tap.text().contains(" lines left out here "));
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
        // A line without end is cut, not grown without bound.
        w.write_all(&vec![b'y'; MAX_LINE * 2]).unwrap();
        assert_eq!(tap.lock().partial.len(), MAX_LINE);
    }
}
