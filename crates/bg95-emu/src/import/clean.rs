//! The first layer of the log reader: a line cleaner. It strips whatever a logging tool puts
//! before the traffic — ANSI colour codes, timestamps (kept as a time), log levels, tags —
//! and decodes payloads: C escapes, Python bytes literals anywhere in a line, hex dumps with
//! or without an ASCII column (docs/import.md lists every form with an example).

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

/// A line without its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned {
    /// The timestamp the prefix held (a time of day or seconds since boot).
    pub at: Option<Duration>,
    /// The rest of the line.
    pub text: String,
    /// A log level or framework tag was stripped: the line came from a logging library,
    /// so a `name: ` tag after it is the logger's, not the module's.
    pub logged: bool,
}

/// ANSI escape sequences (CSI colour/cursor codes, OSC titles) and other C0 controls a
/// terminal capture keeps (BEL, BS, a stray CR inside a line).
static ANSI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b[=>78]",
    )
    .expect("ansi regex")
});

/// `[2026-11-03 10:22:01.123]`, `2026-11-03 10:22:01,123`, `10:22:01.123`, `[   12.345678]`,
/// Zephyr's `[00:00:01.234,567]`, an ISO `T` and zone; a trailing ` - `, `|` or `:`. Seconds
/// since boot only in brackets (a data line may start with `3.14`).
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:\[?\s*(?:\d{4}[-/]\d{2}[-/]\d{2}[ T])?(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?(?:,(\d{3}))?(?:Z|[+-]\d{2}:?\d{2})?\s*\]?|\[\s*(\d+)\.(\d{1,9})\s*\])(?:\s*(?:->|-|\||:)(?:\s|$))?\s*",
    )
    .expect("timestamp regex")
});

/// ESP-IDF: `D (1234) tag: ` — a level letter and milliseconds since boot.
static ESP_IDF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([VDIWE]) \((\d+)\) ").expect("esp-idf regex"));

/// A log level as a word (`DEBUG`, `<dbg>`, `[D/AT]`-style), possibly after Python
/// `logging` fields (`modem - DEBUG - `), with its separator.
static LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[\w.\-]+\s+-\s+)*(?:(?i:TRACE|DEBUG|DBG|INFO|INF|NOTICE|WARNING|WARN|WRN|ERROR|ERR|CRITICAL|FATAL|VERBOSE)\b\s*(?:[-:|]\s*)?|<(?:dbg|inf|wrn|err)>\s*|\[[A-Z]/[\w.\-]+\]\s*)",
    )
    .expect("level regex")
});

/// A logger's tag after a level: `esp_modem: `, `modem_cmd_handler: `, `[modem] `,
/// `modem.at - `.
static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\[[\w.\-/ ]+\]\s*|[A-Za-z_][\w.\-/]*(?::\s*|\s+-\s+))").expect("tag regex")
});

/// Words that name a direction: a tag must not swallow them.
pub const DIRECTION_WORDS: &[&str] = &[
    "tx", "rx", "send", "sent", "sending", "recv", "received", "receive", "write", "read", "w",
    "r", "sendline", "recvline", "out", "in", "cmd", "resp", "response", "request",
];

/// Strip the prefix of one raw line (its line end already removed).
pub fn clean(raw: &str) -> Cleaned {
    let mut text: &str = raw;
    let without_ansi;
    if text.contains('\x1b') {
        without_ansi = ANSI.replace_all(text, "").into_owned();
        text = &without_ansi;
    }
    let text = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let mut at = None;
    let mut logged = false;
    let mut rest = text;
    // Prefixes come in any order (`[ts] DEBUG tag: `, `DEBUG [ts] `); a few rounds suffice.
    for _ in 0..4 {
        let before = rest.len();
        if let Some((t, r)) = strip_timestamp(rest) {
            at = at.or(Some(t));
            rest = r;
        }
        if let Some(c) = ESP_IDF.captures(rest) {
            let ms: u64 = c[2].parse().unwrap_or(0);
            at = at.or(Some(Duration::from_millis(ms)));
            logged = true;
            rest = &rest[c.get(0).map_or(0, |m| m.end())..];
        }
        if let Some(m) = LEVEL.find(rest).filter(|m| m.end() < rest.len()) {
            logged = true;
            rest = &rest[m.end()..];
        }
        if logged {
            if let Some(m) = TAG
                .find(rest)
                .filter(|m| is_logger_tag(m.as_str()) && m.end() < rest.len())
            {
                rest = &rest[m.end()..];
            }
        }
        if rest.len() == before {
            break;
        }
    }
    Cleaned {
        at,
        text: rest.trim_end().to_string(),
        logged,
    }
}

/// A tag is the logger's unless it is a direction word or the start of AT traffic.
fn is_logger_tag(tag: &str) -> bool {
    let word = tag
        .trim()
        .trim_matches(|c| c == '[' || c == ']' || c == ':' || c == '-')
        .trim();
    !DIRECTION_WORDS.contains(&word.to_ascii_lowercase().as_str())
        && !word.to_ascii_uppercase().starts_with("AT")
        && !word.starts_with('+')
}

/// The timestamp at the start of `line` and the rest.
pub fn strip_timestamp(line: &str) -> Option<(Duration, &str)> {
    let c = TIMESTAMP.captures(line)?;
    let frac = |m: Option<regex::Match<'_>>| -> u64 {
        m.map_or(0, |m| {
            let digits = &m.as_str()[..m.as_str().len().min(6)];
            format!("{digits:0<6}").parse().unwrap_or(0)
        })
    };
    let micros = if let (Some(h), Some(m), Some(s)) = (c.get(1), c.get(2), c.get(3)) {
        let secs: u64 = h.as_str().parse::<u64>().unwrap_or(0) * 3600
            + m.as_str().parse::<u64>().unwrap_or(0) * 60
            + s.as_str().parse::<u64>().unwrap_or(0);
        // Zephyr's `01.234,567`: milliseconds, then microseconds.
        let sub = match (c.get(4), c.get(5)) {
            (Some(ms), Some(us)) => frac(Some(ms)) + us.as_str().parse::<u64>().unwrap_or(0),
            (f, _) => frac(f),
        };
        secs.saturating_mul(1_000_000).saturating_add(sub)
    } else {
        let secs: u64 = c.get(6).map_or(0, |s| s.as_str().parse().unwrap_or(0));
        secs.saturating_mul(1_000_000)
            .saturating_add(frac(c.get(7)))
    };
    let end = c.get(0).map_or(0, |m| m.end());
    Some((Duration::from_micros(micros), &line[end..]))
}

/// C and Python escapes: `\r \n \t \0 \\ \' \" \xHH`, and octal `\NNN`; anything else is
/// kept as written.
pub fn unescape_lenient(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let (byte, used) = match b[i + 1] {
            b'r' => (Some(b'\r'), 2),
            b'n' => (Some(b'\n'), 2),
            b't' => (Some(b'\t'), 2),
            b'\\' => (Some(b'\\'), 2),
            b'\'' => (Some(b'\''), 2),
            b'"' => (Some(b'"'), 2),
            b'x' => match s
                .get(i + 2..i + 4)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) => (Some(v), 4),
                None => (None, 1),
            },
            b'0'..=b'7' => {
                let digits = b[i + 1..]
                    .iter()
                    .take(3)
                    .take_while(|c| (b'0'..=b'7').contains(c))
                    .count();
                let v = u32::from_str_radix(&s[i + 1..i + 1 + digits], 8).unwrap_or(0);
                (u8::try_from(v).ok(), 1 + digits)
            }
            _ => (None, 1),
        };
        match byte {
            Some(v) => out.push(v),
            None => out.extend_from_slice(&b[i..i + used]),
        }
        i += used;
    }
    out
}

/// A Python bytes literal anywhere in a line: `b'…'` / `b"…"`.
static PY_BYTES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bb'((?:[^'\\]|\\.)*)'|\bb"((?:[^"\\]|\\.)*)""#).expect("repr regex")
});

/// The first Python bytes literal of `text`: what came before it, and its bytes.
pub fn python_bytes(text: &str) -> Option<(&str, Vec<u8>)> {
    let c = PY_BYTES.captures(text)?;
    let whole = c.get(0)?;
    let body = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
    Some((&text[..whole.start()], unescape_lenient(body)))
}

/// A literal that opens and never closes (a log cut in the middle of one).
pub fn unterminated_python_bytes(text: &str) -> bool {
    !PY_BYTES.is_match(text) && (text.contains("b'") || text.contains("b\""))
}

/// One row of a hex dump: an optional offset (`0000-000F:`, `0x3ffb5b10`, `00000010:`),
/// bytes as two hex digits each, and an optional ASCII column (`|AT+Q|`, or after two
/// spaces).
static HEX_ROW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?:0x)?[0-9A-Fa-f]{4,16}(?:-[0-9A-Fa-f]{4,16})?:?\s+)?((?:[0-9A-Fa-f]{2} {1,2})*[0-9A-Fa-f]{2})(?:\s*\|.*|\s{2,}.*)?$",
    )
    .expect("hex regex")
});

/// The bytes of a hex dump row.
pub fn hex_row(text: &str) -> Option<Vec<u8>> {
    let c = HEX_ROW.captures(text.trim())?;
    let hex = c.get(1)?.as_str();
    let bytes: Option<Vec<u8>> = hex
        .split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    let bytes = bytes?;
    // A lone pair ("OK" is not hex, but "00" or "20" could be data): two or more.
    (bytes.len() >= 2 || text.contains('|')).then_some(bytes)
}

/// A C string literal (`"AT+CSQ\r\n"`): its decoded bytes.
pub fn c_string(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    let inner = t.strip_prefix('"')?.strip_suffix('"')?;
    Some(unescape_lenient(inner))
}

/// Control bytes shown as escapes, for a comment or a message (a raw control byte would
/// make the scenario file invalid TOML).
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &str) -> String {
        clean(raw).text
    }

    #[test]
    fn prefixes_of_common_tools_are_stripped() {
        let cases = [
            ("[2026-11-03 10:22:01.123] AT+CSQ", "AT+CSQ"),
            ("2026-11-03 10:22:01,123 OK", "OK"),
            ("10:22:01.123 +CSQ: 20,99", "+CSQ: 20,99"),
            ("[   12.345678] RDY", "RDY"),
            ("DEBUG modem: >> AT", ">> AT"),
            ("D (1234) esp_modem: TX: AT", "TX: AT"),
            ("[00:00:05.123,456] <dbg> modem_cmd_handler: sent", "sent"),
            (
                "2026-11-03 10:22:01,123 - modem - DEBUG - TX: b'AT\\r'",
                "TX: b'AT\\r'",
            ),
            ("DEBUG:modem:write b'AT\\r'", "write b'AT\\r'"),
            ("\x1b[32m[10:00:00.000]\x1b[0m OK", "OK"),
            ("[D/AT] sendline: 41 54", "sendline: 41 54"),
            ("Revision: BG95M3LAR02A03", "Revision: BG95M3LAR02A03"),
            (
                "10:22:01.002 -> +QIACT: 1,1,1,\"10.20.0.9\"",
                "+QIACT: 1,1,1,\"10.20.0.9\"",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(text(raw), want, "{raw:?}");
        }
        assert_eq!(clean("D (1234) x: y").at, Some(Duration::from_millis(1234)));
        assert_eq!(
            clean("[00:00:05.123,456] x").at,
            Some(Duration::from_micros(5_123_456))
        );
    }

    #[test]
    fn payloads_decode() {
        assert_eq!(unescape_lenient(r#"AT\r\n\x41\q"#), b"AT\r\nA\\q");
        let (before, b) = python_bytes("12:00 TX b'AT\\r'").unwrap();
        assert_eq!((before, b.as_slice()), ("12:00 TX ", &b"AT\r"[..]));
        assert_eq!(hex_row("41 54 2b 51 0d   |AT+Q.|").unwrap(), b"AT+Q\r");
        assert_eq!(
            hex_row("0000-000F: 41 54 0D 0A    AT..").unwrap(),
            b"AT\r\n"
        );
        assert_eq!(hex_row("0x3ffb5b10   4f 4b  |OK|").unwrap(), b"OK");
        assert_eq!(hex_row("OK"), None);
        assert_eq!(c_string("\"AT\\r\\n\"").unwrap(), b"AT\r\n");
        assert_eq!(printable("a\x07b\r"), "a\\x07b\\r");
    }
}
