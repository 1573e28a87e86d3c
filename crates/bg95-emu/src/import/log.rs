//! Reading a log of AT traffic in the shapes users paste (docs/scenarios.md "Importing a
//! field log"): a terminal capture, a driver debug log with direction markers and optional
//! timestamps, Python `repr` of byte strings, and our own transcripts. Each becomes a list of
//! [`Entry`]s: who spoke, when (if the log says), and the bytes.

use std::sync::LazyLock;
use std::time::Duration;

use bg95_core::transcript::{parse, unescape, Step};
use regex::Regex;

/// Who wrote the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Host,
    Module,
}

/// One placed piece of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The log's line number (from 1).
    pub line: usize,
    /// Time since the log's first timestamp, when the log has them.
    pub at: Option<Duration>,
    pub dir: Dir,
    pub bytes: Vec<u8>,
}

/// A line the importer could not place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaced {
    pub line: usize,
    pub text: String,
}

/// Which shape the log has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Transcript,
    Driver,
    PythonRepr,
    Terminal,
}

/// `[12:00:01.234]`, `12:00:01,234`, `2024-05-01 12:00:01.234`, `[  12.345]` (seconds).
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*\[?\s*(?:\d{4}-\d{2}-\d{2}[ T])?(?:(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?|(\d+)\.(\d{1,6}))\s*\]?\s*",
    )
    .expect("timestamp regex")
});

/// `>>`, `<<`, `-->`, `<--`, `TX`, `RX` (with an optional `:`), or the words pyserial users
/// print (`write`, `read`, …) before a byte string.
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i)(-->|<--|>>|<<|tx\b:?|rx\b:?|write\b:?|send\b:?|sent\b:?|read\b:?|recv\b:?|received\b:?)\s?")
        .expect("marker regex")
});

/// A Python bytes literal.
static PY_BYTES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"b'((?:[^'\\]|\\.)*)'|b"((?:[^"\\]|\\.)*)""#).expect("repr regex")
});

fn marker_dir(m: &str) -> Dir {
    let m = m.trim_end_matches(':').to_ascii_lowercase();
    match m.as_str() {
        "-->" | ">>" | "tx" | "write" | "send" | "sent" => Dir::Host,
        _ => Dir::Module,
    }
}

/// Decide the shape from the whole text.
pub fn shape_of(text: &str) -> Shape {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.iter().any(|l| l.starts_with("#! ")) || lines.iter().all(|l| is_transcript_line(l)) {
        return Shape::Transcript;
    }
    if lines.iter().any(|l| PY_BYTES.is_match(l)) {
        return Shape::PythonRepr;
    }
    let marked = lines
        .iter()
        .filter(|l| MARKER.is_match(strip_timestamp(l).1))
        .count();
    if marked * 2 >= lines.len() {
        Shape::Driver
    } else {
        Shape::Terminal
    }
}

fn is_transcript_line(l: &str) -> bool {
    ["> ", "< ", "@+", "# ", "! ", "= "]
        .iter()
        .any(|p| l.starts_with(p))
        || l == "#"
}

/// The timestamp at the start of a line (as a time of day or seconds) and the rest.
fn strip_timestamp(line: &str) -> (Option<Duration>, &str) {
    let Some(c) = TIMESTAMP.captures(line) else {
        return (None, line);
    };
    let frac = |m: Option<regex::Match<'_>>| -> u64 {
        m.map_or(0, |m| {
            let s = format!("{:0<6}", m.as_str());
            s.parse().unwrap_or(0)
        })
    };
    let micros = if let (Some(h), Some(m), Some(s)) = (c.get(1), c.get(2), c.get(3)) {
        let secs: u64 = h.as_str().parse::<u64>().unwrap_or(0) * 3600
            + m.as_str().parse::<u64>().unwrap_or(0) * 60
            + s.as_str().parse::<u64>().unwrap_or(0);
        secs * 1_000_000 + frac(c.get(4))
    } else {
        let secs: u64 = c.get(5).map_or(0, |s| s.as_str().parse().unwrap_or(0));
        secs * 1_000_000 + frac(c.get(6))
    };
    let end = c.get(0).map_or(0, |m| m.end());
    (Some(Duration::from_micros(micros)), &line[end..])
}

/// Python escapes: `\r \n \t \\ \' \" \xHH` (and `\0`).
fn python_bytes(s: &str) -> Vec<u8> {
    unescape(&s.replace("\\'", "'")).unwrap_or_else(|_| s.as_bytes().to_vec())
}

/// Read a log: the placed entries, and the lines that could not be placed.
pub fn read(text: &str) -> (Shape, Vec<Entry>, Vec<Unplaced>) {
    let shape = shape_of(text);
    let (entries, unplaced) = match shape {
        Shape::Transcript => read_transcript(text),
        _ => read_lines(text, shape),
    };
    (shape, entries, unplaced)
}

fn read_transcript(text: &str) -> (Vec<Entry>, Vec<Unplaced>) {
    let mut out = Vec::new();
    let mut unplaced = Vec::new();
    let mut now = Duration::ZERO;
    // Line by line, so one bad line is listed instead of failing the whole log.
    for (i, raw) in text.lines().enumerate() {
        match parse(raw) {
            Ok(lines) => {
                for l in lines {
                    match l.step {
                        Step::Send(b) => out.push(entry(i + 1, Some(now), Dir::Host, b)),
                        Step::Expect(b) => out.push(entry(i + 1, Some(now), Dir::Module, b)),
                        Step::Wait(d) => now += d,
                        Step::Event(_) | Step::Effect(_) | Step::Fault(_) => {}
                    }
                }
            }
            Err(_) => unplaced.push(Unplaced {
                line: i + 1,
                text: raw.to_string(),
            }),
        }
    }
    (out, unplaced)
}

fn entry(line: usize, at: Option<Duration>, dir: Dir, bytes: Vec<u8>) -> Entry {
    Entry {
        line,
        at,
        dir,
        bytes,
    }
}

fn read_lines(text: &str, shape: Shape) -> (Vec<Entry>, Vec<Unplaced>) {
    let mut out = Vec::new();
    let mut unplaced = Vec::new();
    let mut first: Option<Duration> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let (ts, rest) = strip_timestamp(line);
        let at = ts.map(|t| {
            let f = *first.get_or_insert(t);
            t.saturating_sub(f)
        });
        let marker = MARKER.find(rest.trim_start());
        let body = marker.map_or(rest, |m| &rest.trim_start()[m.end()..]);
        let dir = marker.map(|m| marker_dir(m.as_str().trim()));
        let placed = match shape {
            Shape::PythonRepr => python_line(body, dir),
            Shape::Driver => dir.map(|d| (d, driver_bytes(body, d))),
            _ => Some(terminal_line(line)),
        };
        match placed {
            Some((dir, bytes)) => out.push(entry(i + 1, at, dir, bytes)),
            None => unplaced.push(Unplaced {
                line: i + 1,
                text: raw.to_string(),
            }),
        }
    }
    (out, unplaced)
}

/// A byte string, its direction from the marker or else from its content.
fn python_line(body: &str, dir: Option<Dir>) -> Option<(Dir, Vec<u8>)> {
    let c = PY_BYTES.captures(body)?;
    let s = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
    let bytes = python_bytes(s);
    let dir = dir.unwrap_or(if starts_with_at(&bytes) {
        Dir::Host
    } else {
        Dir::Module
    });
    Some((dir, bytes))
}

/// A driver log's payload: escapes decoded if it has any; a host line without its own line
/// end gets `\r`, a module line `\r\n` (drivers log lines, not bytes).
fn driver_bytes(body: &str, dir: Dir) -> Vec<u8> {
    let body = body.trim_end();
    let mut bytes = if body.contains('\\') {
        unescape(body).unwrap_or_else(|_| body.as_bytes().to_vec())
    } else {
        body.as_bytes().to_vec()
    };
    if !bytes.ends_with(b"\r") && !bytes.ends_with(b"\n") {
        bytes.extend_from_slice(if dir == Dir::Host { b"\r" } else { b"\r\n" });
    }
    bytes
}

/// A terminal line: a command (as typed, or as echoed) or one line of the module's answer.
fn terminal_line(line: &str) -> (Dir, Vec<u8>) {
    let t = line.trim();
    if starts_with_at(t.as_bytes()) {
        (Dir::Host, format!("{t}\r").into_bytes())
    } else {
        (Dir::Module, format!("{t}\r\n").into_bytes())
    }
}

pub fn starts_with_at(b: &[u8]) -> bool {
    b.len() >= 2 && b[..2].eq_ignore_ascii_case(b"AT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_markers() {
        let (t, rest) = strip_timestamp("[12:00:01.250] >> AT");
        assert_eq!(t, Some(Duration::from_micros(43_201_250_000)));
        assert_eq!(rest, ">> AT");
        let (t, rest) = strip_timestamp("[   3.5] RX: OK");
        assert_eq!(t, Some(Duration::from_millis(3500)));
        assert_eq!(rest, "RX: OK");
        assert_eq!(strip_timestamp("AT+CSQ").0, None);
    }

    #[test]
    fn shapes_are_told_apart() {
        assert_eq!(shape_of("AT\nOK\n"), Shape::Terminal);
        assert_eq!(shape_of("> AT\\r\n< \\r\\nOK\\r\\n\n"), Shape::Transcript);
        assert_eq!(
            shape_of("12:00:00.000 --> AT\n12:00:00.010 <-- OK\n"),
            Shape::Driver
        );
        assert_eq!(
            shape_of("write b'AT\\r'\nread b'\\r\\nOK\\r\\n'\n"),
            Shape::PythonRepr
        );
    }

    #[test]
    fn driver_lines_without_a_marker_are_listed() {
        let (_, entries, unplaced) = read(">> AT\n<< OK\nsome noise\nTX: ATI\n");
        assert_eq!(entries.len(), 3);
        assert_eq!(
            unplaced,
            vec![Unplaced {
                line: 3,
                text: "some noise".into()
            }]
        );
    }
}
