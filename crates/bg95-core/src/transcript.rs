//! Golden transcripts: a line-based script of what the host sends and what the module must
//! answer, byte-exact, replayed against a module with a fake clock by the core test
//! [`Harness`] (and, by `bg95-emu`'s tests, through a real PTY). The format is documented
//! in `docs/transcripts.md`:
//!
//! ```text
//! # comment                      (blank lines too)
//! > AT\r                          host sends these bytes
//! < AT\r\r\nOK\r\n                the module's next bytes are exactly these
//! @+1200ms                        the clock moves on (a guard time, a timeout)
//! ! ftp done ok                   the runtime reports an FTP event (core only)
//! ! net reg 0                     a network event (also `dns`, `ping`, `traffic`; core only)
//! ! power loss 3s                 a power event: `power reset`, `power loss <time>` (core only)
//! = ftp cwd "/"                   the next effect the module asks for (core only)
//! ```
//! Escapes in `>`/`<` text: `\r \n \t \\ \" \xHH`; a `<` line may be split over several lines.

use std::fmt;
use std::time::Duration;

mod compare;
mod effect;
mod event;
mod harness;
mod setup;

pub use compare::{mask_upload_checksum, Comparison, MASKED_CHECKSUM};
pub use effect::{bytes_value, digest_value, effect_line, effect_matches, fnv1a64, INLINE_LIMIT};
pub use event::{event_line, failure_kind};
pub use harness::{FaultHook, Harness, OPEN_FTP_SESSION};
pub use setup::{
    is_private_key, module_lines, parse_setup, setup_lines, ufs_line, Fnv1a64, RecordedFile, Setup,
    UFS_INLINE_LIMIT,
};

use crate::ftp::{Failure, FailureKind, FtpEvent, Reply};
use crate::general::{NetworkEvent, PingEvent, ResolveFailure};
use crate::module::{Completion, PowerEvent};

/// One step of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Send(Vec<u8>),
    /// `>key <len>B/fnv=<hex>`: the host sent `len` bytes of upload data that held a PEM
    /// private key, recorded only as size and digest; a replay sends [`redacted_filler`]
    /// bytes of that size, and treats the `+QFUPL:` checksum after it as masked.
    SendRedacted {
        len: u64,
        fnv: u64,
    },
    Expect(Vec<u8>),
    Wait(Duration),
    Event(Completion),
    Effect(String),
    /// `! fault …`: a scenario fault fired while recording (the text after `! fault `). A
    /// record: runners skip it; a replay may hand it to [`Replay::on_fault`].
    Fault(String),
}

/// A step with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub step: Step,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Decode the escapes of a `>`/`<` text.
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = *b.get(i + 1).ok_or("dangling backslash")?;
        i += 2;
        out.push(match c {
            b'r' => b'\r',
            b'n' => b'\n',
            b't' => b'\t',
            b'0' => 0,
            b'\\' => b'\\',
            b'"' => b'"',
            b'x' => {
                let hex = s.get(i..i + 2).ok_or("\\x needs two hex digits")?;
                i += 2;
                u8::from_str_radix(hex, 16).map_err(|_| format!("bad hex escape \\x{hex}"))?
            }
            other => return Err(format!("unknown escape \\{}", other as char)),
        });
    }
    Ok(out)
}

/// Show bytes the way a transcript writes them (for failure messages).
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.trim().parse().ok().map(Duration::from_millis);
    }
    s.strip_suffix('s')?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// `! ftp ...` events: `done ok`, `done path "/x"`, `done size 12`, `done time "2014…"`,
/// `fail <kind> [reply]`, `ready`, `data "bytes"`, `control-closed`, `aborted`, `driver-lost`.
fn parse_event(s: &str) -> Result<Completion, String> {
    if let Some(power) = s.strip_prefix("power ") {
        return parse_power(power.trim());
    }
    if let Some(rest) = s.strip_prefix("net ") {
        return parse_network_event(rest.trim());
    }
    if let Some(rest) = s.strip_prefix("dns ") {
        return parse_dns_event(rest.trim());
    }
    if let Some(rest) = s.strip_prefix("ping ") {
        return parse_ping_event(rest.trim());
    }
    if let Some(rest) = s.strip_prefix("traffic ") {
        let mut it = rest.split_whitespace().map(str::parse::<u64>);
        return match (it.next(), it.next(), it.next()) {
            (Some(Ok(sent)), Some(Ok(received)), None) => {
                Ok(Completion::Traffic { sent, received })
            }
            _ => Err("`traffic <sent> <received>`".into()),
        };
    }
    let rest = s
        .strip_prefix("ftp ")
        .ok_or("events start with `ftp`, `power`, `net`, `dns`, `ping` or `traffic`")?
        .trim();
    let (word, arg) = rest.split_once(' ').unwrap_or((rest, ""));
    let arg = arg.trim();
    let quoted = |a: &str| -> Result<Vec<u8>, String> {
        let inner = a
            .strip_prefix('"')
            .and_then(|a| a.strip_suffix('"'))
            .ok_or("expected a quoted value")?;
        unescape(inner)
    };
    let ev = match word {
        "ready" => FtpEvent::DataReady,
        "control-closed" => FtpEvent::ControlClosed,
        "aborted" => FtpEvent::Aborted,
        "driver-lost" => FtpEvent::DriverLost,
        "data" => FtpEvent::Data(quoted(arg)?),
        "done" => {
            let (kind, v) = arg.split_once(' ').unwrap_or((arg, ""));
            let reply = match kind {
                "ok" => Reply::Ok,
                "path" => Reply::Path(String::from_utf8_lossy(&quoted(v.trim())?).into_owned()),
                "time" => Reply::Time(String::from_utf8_lossy(&quoted(v.trim())?).into_owned()),
                "size" => Reply::Size(v.trim().parse().map_err(|_| "size needs a number")?),
                _ => return Err(format!("unknown done kind `{kind}`")),
            };
            FtpEvent::Done(Ok(reply))
        }
        "fail" => {
            let (kind, code) = arg.split_once(' ').unwrap_or((arg, "0"));
            let kind = match kind {
                "resolve" => FailureKind::Resolve,
                "refused" => FailureKind::Refused,
                "unreachable" => FailureKind::Unreachable,
                "tls" => FailureKind::Tls,
                "reply" => FailureKind::Reply,
                "control-closed" => FailureKind::ControlClosed,
                "data-open" => FailureKind::DataOpen,
                "data-closed" => FailureKind::DataClosed,
                "peer-reset" => FailureKind::PeerReset,
                "local" => FailureKind::Local,
                "other" => FailureKind::Other,
                _ => return Err(format!("unknown failure kind `{kind}`")),
            };
            let code = code
                .trim()
                .parse()
                .map_err(|_| "reply code must be a number")?;
            FtpEvent::Done(Err(Failure::new(kind, code)))
        }
        _ => return Err(format!("unknown event `{word}`")),
    };
    Ok(Completion::Ftp(ev))
}

fn number<T: std::str::FromStr>(word: Option<&str>, what: &str) -> Result<T, String> {
    word.and_then(|w| w.parse().ok())
        .ok_or_else(|| format!("expected {what}"))
}

fn ip_word(word: Option<&str>) -> Result<core::net::IpAddr, String> {
    word.map(|w| w.trim_matches('"'))
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| "expected an IP address".to_string())
}

/// `! net …`: `reg <stat> [<act>]`, `pdp-lost <cid>`, `sim-removed`, `sim-inserted`,
/// `time <unix seconds> [<zone in quarter hours, signed>]`.
fn parse_network_event(s: &str) -> Result<Completion, String> {
    let mut w = s.split_whitespace();
    let ev = match w.next() {
        Some("reg") => NetworkEvent::Registration {
            stat: number(w.next(), "a <stat>")?,
            act: w
                .next()
                .map(|a| a.parse().map_err(|_| "bad <act>"))
                .transpose()?,
        },
        Some("pdp-lost") => NetworkEvent::PdpLost {
            cid: number(w.next(), "a <cid>")?,
        },
        Some("sim-removed") => NetworkEvent::SimRemoved,
        Some("sim-inserted") => NetworkEvent::SimInserted,
        Some("time") => NetworkEvent::Time {
            unix_secs: number(w.next(), "Unix seconds")?,
            zone_quarters: w.next().map_or(Ok(0), |z| {
                z.trim_start_matches('+').parse().map_err(|_| "bad zone")
            })?,
        },
        other => return Err(format!("unknown network event {other:?}")),
    };
    Ok(Completion::Network(ev))
}

/// `! dns <id> ok "1.2.3.4" …`, `! dns <id> fail [timeout]`.
fn parse_dns_event(s: &str) -> Result<Completion, String> {
    let mut w = s.split_whitespace();
    let id = number(w.next(), "a request id")?;
    let result = match w.next() {
        Some("ok") => Ok(w.map(|a| ip_word(Some(a))).collect::<Result<Vec<_>, _>>()?),
        Some("fail") => Err(match w.next() {
            Some("timeout") => ResolveFailure::Timeout,
            _ => ResolveFailure::NotFound,
        }),
        other => return Err(format!("unknown dns answer {other:?}")),
    };
    Ok(Completion::Resolved { id, result })
}

/// `! ping <id> echo "1.2.3.4" <ms>`, `! ping <id> lost "1.2.3.4"`, `! ping <id> resolve-failed`.
fn parse_ping_event(s: &str) -> Result<Completion, String> {
    let mut w = s.split_whitespace();
    let id = number(w.next(), "a request id")?;
    let event = match w.next() {
        Some("echo") => PingEvent::Echo {
            ip: ip_word(w.next())?,
            rtt: Some(Duration::from_millis(number(
                w.next(),
                "a round trip in ms",
            )?)),
        },
        Some("lost") => PingEvent::Echo {
            ip: ip_word(w.next())?,
            rtt: None,
        },
        Some("resolve-failed") => PingEvent::ResolveFailed(match w.next() {
            Some("timeout") => ResolveFailure::Timeout,
            _ => ResolveFailure::NotFound,
        }),
        other => return Err(format!("unknown ping event {other:?}")),
    };
    Ok(Completion::Ping { id, event })
}

/// `! power reset`, `! power loss 3s`.
fn parse_power(s: &str) -> Result<Completion, String> {
    let ev = match s.split_once(' ') {
        None if s == "reset" => PowerEvent::Reset,
        Some(("loss", d)) => PowerEvent::Loss {
            off_for: parse_duration(d).ok_or("`power loss` needs a time, e.g. 3s")?,
        },
        _ => return Err(format!("unknown power event `{s}`")),
    };
    Ok(Completion::Power(ev))
}

/// The most bytes a `>key` line may stand for: more than any BG95 UFS holds, and little
/// enough that a reader may hold the filler.
pub const REDACTED_MAX: u64 = 16 << 20;

/// The byte a replay sends for each byte of a redacted upload (`>key`).
pub const REDACTED_FILLER: u8 = b'*';

/// `len` filler bytes for a redacted upload.
pub fn redacted_filler(len: usize) -> Vec<u8> {
    vec![REDACTED_FILLER; len]
}

/// The `>key` line of a redacted upload.
pub fn redacted_line(len: u64, fnv: u64) -> String {
    format!(">key {len}B/fnv={fnv:016x}")
}

/// `<len>B/fnv=<hex>` of a `>key` line.
fn parse_redacted(s: &str) -> Result<(u64, u64), String> {
    const FORM: &str = "`>key <len>B/fnv=<16 hex digits>`";
    let (len, fnv) = s.trim().split_once("B/fnv=").ok_or(FORM)?;
    let len: u64 = len.parse().map_err(|_| FORM)?;
    if len == 0 || len > REDACTED_MAX {
        return Err(format!("{FORM}: the length must be 1..={REDACTED_MAX}"));
    }
    if fnv.len() != 16 {
        return Err(FORM.into());
    }
    let fnv = u64::from_str_radix(fnv, 16).map_err(|_| FORM)?;
    Ok((len, fnv))
}

/// Parse a transcript file's text.
pub fn parse(text: &str) -> Result<Vec<Line>, ParseError> {
    let mut out: Vec<Line> = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let number = idx + 1;
        let err = |message: String| ParseError {
            line: number,
            message,
        };
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        // The first character, whatever its width (a non-ASCII one used to panic here).
        let first = line.chars().next().map_or(0, char::len_utf8);
        let (tag, rest) = line.split_at(first);
        let body = rest.strip_prefix(' ').unwrap_or(rest);
        let step = match tag {
            ">" if rest.starts_with("key ") => {
                let (len, fnv) = parse_redacted(&rest["key ".len()..]).map_err(err)?;
                Step::SendRedacted { len, fnv }
            }
            ">" => Step::Send(unescape(body).map_err(err)?),
            "<" => {
                let bytes = unescape(body).map_err(err)?;
                // Consecutive `<` lines are one expectation.
                if let Some(Line {
                    step: Step::Expect(prev),
                    ..
                }) = out.last_mut()
                {
                    prev.extend_from_slice(&bytes);
                    continue;
                }
                Step::Expect(bytes)
            }
            "@" => {
                let d = body.trim().strip_prefix('+').unwrap_or(body.trim());
                Step::Wait(parse_duration(d).ok_or_else(|| err(format!("bad time step `{body}`")))?)
            }
            // A fault that fired while recording (docs/transcripts.md): a record of what
            // happened, not an event to feed; replaying it is the caller's business.
            "!" if body.trim_start().starts_with("fault ") => {
                Step::Fault(body.trim_start()["fault ".len()..].to_string())
            }
            "!" => Step::Event(parse_event(body.trim()).map_err(err)?),
            "=" => Step::Effect(body.trim().to_string()),
            _ => return Err(err(format!("unknown line tag `{tag}`"))),
        };
        out.push(Line { number, step });
    }
    Ok(out)
}

/// A mismatch while replaying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the fuzzing harness (tests/fuzz.rs): a line starting with a non-ASCII
    /// character panicked (split inside the character); now it is an unknown line.
    #[test]
    fn a_line_starting_with_a_wide_character_is_an_error_not_a_panic() {
        for text in ["\u{80}", "\u{feff}> AT\\r", "\u{e4}x\n> AT"] {
            assert!(parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_redacted_upload_line_parses_and_bad_ones_are_errors() {
        let lines = parse(">key 106B/fnv=a6c1126273c8e91a\n> key\n").unwrap();
        assert_eq!(
            lines[0].step,
            Step::SendRedacted {
                len: 106,
                fnv: 0xa6c1_1262_73c8_e91a
            }
        );
        // `> key` (with the space) is the bytes "key", as before.
        assert_eq!(lines[1].step, Step::Send(b"key".to_vec()));
        assert_eq!(
            redacted_line(106, 0xa6c1_1262_73c8_e91a),
            ">key 106B/fnv=a6c1126273c8e91a"
        );
        for bad in [
            ">key 106B/fnv=a6c1",
            ">key 0B/fnv=a6c1126273c8e91a",
            ">key 99999999999B/fnv=a6c1126273c8e91a",
            ">key xB/fnv=a6c1126273c8e91a",
            ">key 106B/fnv=zzzzzzzzzzzzzzzz",
            ">key ",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_upload_checksum_is_masked() {
        let mut out = b"\r\n+QFUPL: 106,f5c\r\n\r\nOK\r\n+QFUPL: 5,6b09".to_vec();
        mask_upload_checksum(&mut out);
        assert_eq!(
            out,
            b"\r\n+QFUPL: 106,<masked>\r\n\r\nOK\r\n+QFUPL: 5,6b09".to_vec()
        );
        let mut other = b"+QFUPL: ,1\r\nOK".to_vec();
        mask_upload_checksum(&mut other);
        assert_eq!(other, b"+QFUPL: ,1\r\nOK".to_vec());
    }

    #[test]
    fn parses_every_step_kind() {
        let text = "# c\n> AT\\r\n< AT\\r\n< \\r\\nOK\\r\\n\n@+1200ms\n! ftp done path \"/a\"\n= SetBaud(0)\n";
        let lines = parse(text).unwrap();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[1].step, Step::Expect(b"AT\r\r\nOK\r\n".to_vec()));
        assert_eq!(lines[2].step, Step::Wait(Duration::from_millis(1200)));
        assert_eq!(
            lines[3].step,
            Step::Event(Completion::Ftp(FtpEvent::Done(Ok(Reply::Path(
                "/a".into()
            )))))
        );
    }

    #[test]
    fn parses_power_events() {
        let lines = parse("! power reset\n! power loss 2500ms\n").unwrap();
        assert_eq!(
            lines[0].step,
            Step::Event(Completion::Power(PowerEvent::Reset))
        );
        assert_eq!(
            lines[1].step,
            Step::Event(Completion::Power(PowerEvent::Loss {
                off_for: Duration::from_millis(2500)
            }))
        );
        assert!(parse("! power loss\n").is_err());
        assert!(parse("! power surge\n").is_err());
    }

    #[test]
    fn bad_lines_name_their_number() {
        let e = parse("> AT\\r\n? what\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse("> \\xZZ").is_err());
        assert!(parse("@+soon").is_err());
    }

    /// What a recorder writes (`event_line`) is what the parser reads back.
    #[test]
    fn event_lines_round_trip() {
        use crate::general::{NetworkEvent, PingEvent, ResolveFailure};
        let events = vec![
            Completion::Ftp(FtpEvent::DataReady),
            Completion::Ftp(FtpEvent::Data(b"a\"b\r\n\xff".to_vec())),
            Completion::Ftp(FtpEvent::Done(Ok(Reply::Path("/a b".into())))),
            Completion::Ftp(FtpEvent::Done(Ok(Reply::Size(12)))),
            Completion::Ftp(FtpEvent::Done(Ok(Reply::Time("20140101000000".into())))),
            Completion::Ftp(FtpEvent::Done(Err(Failure::new(FailureKind::Reply, 530)))),
            Completion::Ftp(FtpEvent::Aborted),
            Completion::Network(NetworkEvent::Registration {
                stat: 5,
                act: Some(8),
            }),
            Completion::Network(NetworkEvent::Time {
                unix_secs: 1_700_000_000,
                zone_quarters: -20,
            }),
            Completion::Resolved {
                id: 3,
                result: Ok(vec!["127.0.0.1".parse().unwrap()]),
            },
            Completion::Resolved {
                id: 4,
                result: Err(ResolveFailure::Timeout),
            },
            Completion::Ping {
                id: 1,
                event: PingEvent::ResolveFailed(ResolveFailure::Timeout),
            },
            Completion::Ping {
                id: 1,
                event: PingEvent::Echo {
                    ip: "::1".parse().unwrap(),
                    rtt: Some(Duration::from_millis(7)),
                },
            },
            Completion::Traffic {
                sent: 1,
                received: 2,
            },
            Completion::Power(PowerEvent::Loss {
                off_for: Duration::from_millis(1500),
            }),
        ];
        for ev in events {
            let line = format!("! {}\n", event_line(&ev));
            let parsed = parse(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(parsed[0].step, Step::Event(ev), "{line}");
        }
    }

    #[test]
    fn escapes_round_trip() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unescape(&escape(&all)).unwrap(), all);
    }
}
