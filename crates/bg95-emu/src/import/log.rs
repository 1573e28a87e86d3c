//! The second layer of the log reader: who spoke. Each line is first cleaned
//! ([`super::clean`]); then a format places it: a transcript line, a Python bytes literal, a
//! hex dump row, a line with a direction marker, or a line of an interleaved terminal
//! capture. Every format scores how many lines of a sample it places; the best one reads the
//! whole log, streamed (docs/import.md).

use std::sync::LazyLock;
use std::time::Duration;

use bg95_core::transcript::{parse, redacted_filler, Step};
use regex::Regex;

use super::clean::{self, c_string, clean, hex_row, python_bytes, Cleaned};

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
    /// The bytes are exactly what crossed the line (escapes, a repr, a hex dump, a
    /// transcript); otherwise a line of text whose line end the log did not show.
    pub exact: bool,
}

/// A line the importer could not place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaced {
    pub line: usize,
    pub text: String,
}

/// Which format the log has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Transcript,
    PythonRepr,
    Hexdump,
    Marked,
    Terminal,
}

impl Shape {
    /// In the order ties are broken: the more specific format first.
    pub const ALL: [Shape; 5] = [
        Shape::Transcript,
        Shape::PythonRepr,
        Shape::Hexdump,
        Shape::Marked,
        Shape::Terminal,
    ];

    /// The name `--format` takes and the report shows.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Transcript => "transcript",
            Shape::PythonRepr => "python-repr",
            Shape::Hexdump => "hexdump",
            Shape::Marked => "marked",
            Shape::Terminal => "terminal",
        }
    }

    pub fn from_name(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What a format made of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    Entries(Vec<Entry>),
    /// Part of the format but no traffic (a hex dump's direction header, a blank line).
    Consumed,
    Unplaced,
}

/// A direction marker: an arrow or a word, optionally bracketed, with `:` after it.
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\[?(-->|<--|->|<-|>>|<<|>|<|(?i:tx|rx|send|sent|sending|recv|received|receive|write|read|sendline|recvline|cmd|command|resp|response|request)|W|R)\]?(?::|\s|$)\s*",
    )
    .expect("marker regex")
});

fn marker_dir(m: &str) -> Dir {
    match m.to_ascii_lowercase().as_str() {
        "-->" | "->" | ">>" | ">" | "tx" | "send" | "sent" | "sending" | "write" | "sendline"
        | "cmd" | "command" | "request" | "w" => Dir::Host,
        _ => Dir::Module,
    }
}

/// A marker among the first words of `text`: its direction and what follows it.
fn find_marker(text: &str) -> Option<(Dir, &str)> {
    let mut rest = text;
    for _ in 0..4 {
        if let Some(c) = MARKER.captures(rest) {
            let end = c.get(0).map_or(0, |m| m.end());
            return Some((marker_dir(&c[1]), &rest[end..]));
        }
        let next = rest.find(char::is_whitespace)?;
        rest = rest[next..].trim_start();
    }
    None
}

/// What a module says, as a line of text.
static MODULE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:OK|ERROR|CONNECT(?: \d+)?|NO CARRIER|RDY|APP RDY|POWERED DOWN|\+[A-Z][A-Z0-9]*: ?.*|>)$")
        .expect("module line regex")
});

/// The line is AT traffic as text: a command or a module answer.
pub fn looks_like_at(text: &str) -> bool {
    starts_with_at(text.as_bytes()) || MODULE_LINE.is_match(text)
}

/// A final result: the end of a command's response (CONNECT is not: data follows).
static FINAL_RESULT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:OK|ERROR|NO CARRIER|\+CME ERROR: .*)$").expect("final regex")
});

/// Terminal programs' own lines (minicom, picocom, screen, miniterm): never the module's.
static BANNER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:Welcome to minicom|OPTIONS:|Compiled on|Port /dev|Press CTRL-A|picocom v|port is|flowcontrol|baudrate is|parity is|databits are|stopbits are|escape is|local echo|noinit|noreset|hangup is|nolock is|send_cmd is|receive_cmd is|imap is|omap is|emap is|logfile is|initstring|exit_after is|exit is|Type \[C-a\]|Terminal ready|Terminating\.\.\.|Thanks for using picocom|--- .*---$|\[screen is terminating\]|Skipping tty reset)",
    )
    .expect("banner regex")
});

/// Reads one log line by line in one format.
pub struct Reader {
    shape: Shape,
    first_at: Option<Duration>,
    /// The direction the last marker set (a hex dump's header, an esp_modem `Response:`
    /// whose text follows on lines of its own).
    current: Option<Dir>,
    /// Terminal: inside a command's response (after the command, before its final result),
    /// where a line of any text is the module's; outside, only URC-like lines are.
    in_response: bool,
    /// A transcript's clock (its `@+` lines).
    transcript_now: Duration,
}

impl Reader {
    pub fn new(shape: Shape) -> Reader {
        Reader {
            shape,
            first_at: None,
            current: None,
            in_response: false,
            transcript_now: Duration::ZERO,
        }
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Place line `line` (its text without the line end).
    pub fn place(&mut self, line: usize, raw: &str) -> Placed {
        if raw.trim().is_empty() {
            return Placed::Consumed;
        }
        if self.shape == Shape::Transcript {
            return self.transcript(line, raw);
        }
        let c = clean(raw);
        let at =
            c.at.map(|t| t.saturating_sub(*self.first_at.get_or_insert(t)));
        let one = |dir, bytes, exact| {
            Placed::Entries(vec![Entry {
                line,
                at,
                dir,
                bytes,
                exact,
            }])
        };
        match self.shape {
            Shape::PythonRepr => match python_bytes(&c.text) {
                Some((before, bytes)) => {
                    let dir = find_marker(before.trim()).map(|(d, _)| d);
                    let dir = dir.unwrap_or_else(|| repr_dir(&bytes));
                    one(dir, bytes, true)
                }
                None => Placed::Unplaced,
            },
            Shape::Hexdump => self.hexdump(&c, one),
            Shape::Marked => self.marked(&c, raw, one),
            _ => self.terminal(&c, one),
        }
    }

    fn transcript(&mut self, line: usize, raw: &str) -> Placed {
        if !is_transcript_line(raw) {
            return Placed::Unplaced;
        }
        // Line by line, so one bad line is listed instead of failing the whole log.
        let Ok(lines) = parse(raw) else {
            return Placed::Unplaced;
        };
        let mut out = Vec::new();
        for l in lines {
            let (dir, bytes) = match l.step {
                Step::Send(b) => (Dir::Host, b),
                // A redacted upload: the key's size in filler (docs/transcripts.md).
                Step::SendRedacted { len, .. } => (Dir::Host, redacted_filler(len as usize)),
                Step::Expect(b) => (Dir::Module, b),
                Step::Wait(d) => {
                    self.transcript_now += d;
                    continue;
                }
                Step::Event(_) | Step::Effect(_) | Step::Fault(_) => continue,
            };
            out.push(Entry {
                line,
                at: Some(self.transcript_now),
                dir,
                bytes,
                exact: true,
            });
        }
        Placed::Entries(out)
    }

    fn hexdump(&mut self, c: &Cleaned, one: impl Fn(Dir, Vec<u8>, bool) -> Placed) -> Placed {
        let (dir, rest) = match find_marker(&c.text) {
            Some((d, rest)) => (Some(d), rest),
            None => (None, c.text.as_str()),
        };
        if let Some(bytes) = hex_row(rest) {
            return match dir.or(self.current) {
                Some(d) => {
                    self.current = Some(d);
                    one(d, bytes, true)
                }
                None => Placed::Unplaced,
            };
        }
        // A header: `<dbg> modem_cmd_handler: TX`, the rows follow on their own lines.
        let last = c.text.split_whitespace().last().unwrap_or("");
        match find_marker(last) {
            Some((d, "")) => {
                self.current = Some(d);
                Placed::Consumed
            }
            _ => Placed::Unplaced,
        }
    }

    fn marked(
        &mut self,
        c: &Cleaned,
        raw: &str,
        one: impl Fn(Dir, Vec<u8>, bool) -> Placed,
    ) -> Placed {
        let Some((dir, payload)) = find_marker(&c.text) else {
            // esp_modem's `Response: ` prints the module's text raw, on lines of their own.
            let continuation = c.at.is_none() && !c.logged && !raw.starts_with(char::is_whitespace);
            return match self.current {
                Some(Dir::Module) if continuation && looks_like_at(&c.text) => {
                    one(Dir::Module, c.text.clone().into_bytes(), false)
                }
                _ => Placed::Unplaced,
            };
        };
        self.current = Some(dir);
        let payload = payload.trim();
        if payload.is_empty() {
            return Placed::Consumed;
        }
        if let Some(bytes) = c_string(payload) {
            return one(dir, bytes, true);
        }
        if let Some((_, bytes)) = python_bytes(payload) {
            return one(dir, bytes, true);
        }
        if payload.contains("\\r") || payload.contains("\\n") {
            return one(dir, clean::unescape_lenient(payload), true);
        }
        one(dir, payload.as_bytes().to_vec(), false)
    }

    fn terminal(&mut self, c: &Cleaned, one: impl Fn(Dir, Vec<u8>, bool) -> Placed) -> Placed {
        let t = c.text.trim();
        if BANNER.is_match(t) || (!self.in_response && !looks_like_at(t)) {
            return Placed::Unplaced;
        }
        let dir = if starts_with_at(t.as_bytes()) {
            self.in_response = true;
            Dir::Host
        } else {
            if FINAL_RESULT.is_match(t) {
                self.in_response = false;
            }
            Dir::Module
        };
        one(dir, t.as_bytes().to_vec(), false)
    }
}

/// A repr without a marker: a command the host wrote ends at its `\r`; the module's echo of
/// it goes on with `\r\n` and its answer.
fn repr_dir(bytes: &[u8]) -> Dir {
    if starts_with_at(bytes) && !bytes.contains(&b'\n') {
        Dir::Host
    } else {
        Dir::Module
    }
}

/// How many lines of `sample` each format places (traffic it recognises), best first.
pub fn scores(sample: &[(usize, String)]) -> Vec<(Shape, usize)> {
    let transcript_header = sample.iter().any(|(_, l)| l.starts_with("#! "));
    let mut out: Vec<(Shape, usize)> = Shape::ALL
        .into_iter()
        .map(|shape| {
            let mut r = Reader::new(shape);
            let placed = sample
                .iter()
                .filter(|(_, l)| !l.trim().is_empty())
                .filter(|(n, l)| match r.place(*n, l) {
                    Placed::Entries(e) if shape == Shape::Terminal => e
                        .iter()
                        .any(|e| looks_like_at(&String::from_utf8_lossy(&e.bytes))),
                    Placed::Entries(_) => true,
                    _ => false,
                })
                .count();
            let bonus = usize::from(shape == Shape::Transcript && transcript_header);
            (shape, placed + bonus * sample.len())
        })
        .collect();
    // Stable: ties keep the more specific format first.
    out.sort_by_key(|s| std::cmp::Reverse(s.1));
    out
}

fn is_transcript_line(l: &str) -> bool {
    ["> ", ">key ", "< ", "@+", "#", "! ", "= "]
        .iter()
        .any(|p| l.starts_with(p))
}

pub fn starts_with_at(b: &[u8]) -> bool {
    b.len() >= 2 && b[..2].eq_ignore_ascii_case(b"AT")
}

/// Read a whole log held in memory (tests, small logs): the format, placed entries and
/// the lines that could not be placed.
pub fn read(text: &str) -> (Shape, Vec<Entry>, Vec<Unplaced>) {
    let lines: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r').to_string()))
        .collect();
    let shape = scores(&lines)[0].0;
    let mut r = Reader::new(shape);
    let (mut entries, mut unplaced) = (Vec::new(), Vec::new());
    for (n, l) in &lines {
        match r.place(*n, l) {
            Placed::Entries(e) => entries.extend(e),
            Placed::Consumed => {}
            Placed::Unplaced => unplaced.push(Unplaced {
                line: *n,
                text: l.clone(),
            }),
        }
    }
    (shape, entries, unplaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Shape {
        read(text).0
    }

    #[test]
    fn shapes_are_told_apart() {
        assert_eq!(shape("AT\nOK\n"), Shape::Terminal);
        assert_eq!(shape("> AT\\r\n< \\r\\nOK\\r\\n\n"), Shape::Transcript);
        assert_eq!(
            shape("12:00:00.000 --> AT\n12:00:00.010 <-- OK\n"),
            Shape::Marked
        );
        assert_eq!(
            shape("write b'AT\\r'\nread b'\\r\\nOK\\r\\n'\n"),
            Shape::PythonRepr
        );
        assert_eq!(
            shape("[AT] sendline: 0000-0002: 41 54 0D  AT.\n[AT] recvline: 0000-0001: 4F 4B  OK\n"),
            Shape::Hexdump
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

    #[test]
    fn every_marker_gives_its_direction() {
        let cases = [
            ("W: AT", Dir::Host),
            ("R: OK", Dir::Module),
            ("[TX] AT", Dir::Host),
            ("recv: OK", Dir::Module),
            ("-> AT", Dir::Host),
            ("<- OK", Dir::Module),
            ("> AT", Dir::Host),
            ("< OK", Dir::Module),
            ("sendline: AT", Dir::Host),
            ("generic_command command AT", Dir::Host),
        ];
        for (text, dir) in cases {
            let (d, rest) = find_marker(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(
                (d, rest),
                (dir, if dir == Dir::Host { "AT" } else { "OK" }),
                "{text}"
            );
        }
        assert_eq!(find_marker("RDY"), None);
        assert_eq!(find_marker("+QFTPOPEN: 0,0"), None);
    }

    #[test]
    fn an_echo_in_a_repr_is_the_module_s() {
        let (_, entries, _) = read("b'ATE0\\r'\nb'ATE0\\r\\r\\nOK\\r\\n'\n");
        assert_eq!(entries[0].dir, Dir::Host);
        assert_eq!(entries[1].dir, Dir::Module);
    }

    #[test]
    fn hex_rows_take_the_direction_of_their_header() {
        let log = "[00:00:01.000,000] <dbg> modem_cmd_handler: TX\n                  41 54 0d    |AT.|\n[00:00:01.010,000] <dbg> modem_cmd_handler: RX\n                  0d 0a 4f 4b 0d 0a |..OK..|\n";
        let (s, entries, unplaced) = read(log);
        assert_eq!(s, Shape::Hexdump);
        assert!(unplaced.is_empty(), "{unplaced:?}");
        assert_eq!(entries[0].bytes, b"AT\r");
        assert_eq!(
            (entries[1].dir, entries[1].bytes.as_slice()),
            (Dir::Module, &b"\r\nOK\r\n"[..])
        );
    }
}
