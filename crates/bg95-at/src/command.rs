//! The AT command grammar: one line after its `AT` prefix → a chain of invocations.
//!
//! Basic commands (`E0`, `V1`, `&F`, `S3=13`, `S12?`, `I`, `Z`, `O`) may follow each other
//! directly; extended commands (`+QFTPCFG="account","u","p"`) end at an unquoted `;`. Every
//! command comes in the V.250 forms Test (`=?`), Read (`?`), Write (`=<args>`) and Exec.
//! Names are case-insensitive (stored upper-case); string parameters keep their case.

use std::fmt;
use std::ops::Range;

/// One parameter of a Write form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Nothing between two commas (or after the last one).
    Omitted,
    /// A `"quoted string"`, without its quotes.
    Quoted(String),
    /// An unquoted token such as `1` or `0XFFFF`, trimmed.
    Bare(String),
    /// A quoted string holding a NUL or bytes that are not UTF-8. No command takes one:
    /// it is neither text nor omitted, so every area answers its parameter error (a NUL
    /// would otherwise reach an FTP server, and two names differing only in invalid bytes
    /// would collide once made text; docs/at-engine.md).
    Unreadable,
}

impl Arg {
    /// The value as an unsigned integer, if it is a bare decimal number.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Arg::Bare(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().ok()
            }
            _ => None,
        }
    }

    /// The value as text: a quoted string's contents or a bare token.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Arg::Quoted(s) | Arg::Bare(s) => Some(s),
            Arg::Omitted | Arg::Unreadable => None,
        }
    }

    /// The contents of a quoted string only.
    pub fn as_quoted(&self) -> Option<&str> {
        match self {
            Arg::Quoted(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_omitted(&self) -> bool {
        matches!(self, Arg::Omitted)
    }
}

/// The four V.250 forms of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// `AT+X=?`
    Test,
    /// `AT+X?`
    Read,
    /// `AT+X=<args>` (basic commands with a number, like `E0`, are Write with one arg).
    Write(Vec<Arg>),
    /// `AT+X`
    Exec,
}

/// One command of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Upper-case name: `+QFTPCFG`, `E`, `&F`, `S12`, `I`.
    pub name: String,
    pub form: Form,
}

impl Invocation {
    /// The arguments of a Write form (empty for the other forms).
    pub fn args(&self) -> &[Arg] {
        match &self.form {
            Form::Write(a) => a,
            _ => &[],
        }
    }
}

/// A line the grammar rejects; it answers a bare `ERROR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub at: usize,
    pub reason: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "syntax error at byte {}: {}", self.at, self.reason)
    }
}

impl std::error::Error for SyntaxError {}

/// Parse what follows `AT` on a line. An empty body (`AT` alone) is an empty chain.
pub fn parse_body(body: &[u8]) -> Result<Vec<Invocation>, SyntaxError> {
    Ok(parse_body_spanned(body)?
        .into_iter()
        .map(|(inv, _)| inv)
        .collect())
}

/// An invocation with the spans of its parameters (see [`parse_body_spanned`]).
pub type SpannedInvocation = (Invocation, Vec<Range<usize>>);

/// [`parse_body`], with where each parameter of a Write form lies in `body`: the bytes
/// between the quotes of a quoted one, the untrimmed token of a bare one (empty where it
/// was omitted). The core masks secrets by these positions (`bg95_core::redact`).
pub fn parse_body_spanned(body: &[u8]) -> Result<Vec<SpannedInvocation>, SyntaxError> {
    Parser {
        s: body,
        i: 0,
        spans: Vec::new(),
    }
    .chain()
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    /// The spans of the parameters parsed so far (see [`parse_body_spanned`]).
    spans: Vec<Range<usize>>,
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> SyntaxError {
        SyntaxError { at: self.i, reason }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn chain(&mut self) -> Result<Vec<SpannedInvocation>, SyntaxError> {
        let mut out = Vec::new();
        loop {
            self.skip_spaces();
            let Some(c) = self.peek() else { break };
            let first_span = self.spans.len();
            let inv = match c {
                b';' => {
                    self.i += 1;
                    continue;
                }
                b'+' | b'$' | b'^' => self.extended()?,
                b'&' => {
                    self.i += 1;
                    let letter = self.letter()?;
                    self.basic(format!("&{letter}"))
                }
                b'S' | b's' => self.s_register()?,
                b'D' | b'd' => {
                    // Dial takes the rest of the line as its argument.
                    self.i += 1;
                    let rest = String::from_utf8_lossy(&self.s[self.i..]).into_owned();
                    self.i = self.s.len();
                    Invocation {
                        name: "D".into(),
                        form: Form::Write(vec![Arg::Bare(rest)]),
                    }
                }
                c if c.is_ascii_alphabetic() => {
                    let letter = self.letter()?;
                    self.basic(letter.to_string())
                }
                _ => return Err(self.err("unexpected character")),
            };
            out.push((inv, self.spans.split_off(first_span)));
        }
        Ok(out)
    }

    fn letter(&mut self) -> Result<char, SyntaxError> {
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() => {
                self.i += 1;
                Ok(c.to_ascii_uppercase() as char)
            }
            _ => Err(self.err("expected a command letter")),
        }
    }

    /// A basic command: optional decimal value (`E0`), or `?`/`=?`/`=<n>` for the few that
    /// have them (`&D?` is not V.250 but harmless).
    fn basic(&mut self, name: String) -> Invocation {
        let form = if self.s[self.i..].starts_with(b"=?") {
            self.i += 2;
            Form::Test
        } else if self.eat(b'?') {
            Form::Read
        } else {
            self.eat(b'=');
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i > start {
                let digits = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                Form::Write(vec![Arg::Bare(digits)])
            } else {
                Form::Exec
            }
        };
        Invocation { name, form }
    }

    fn s_register(&mut self) -> Result<Invocation, SyntaxError> {
        self.i += 1;
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i == start {
            return Err(self.err("S needs a register number"));
        }
        let name = format!("S{}", String::from_utf8_lossy(&self.s[start..self.i]));
        let form = if self.s[self.i..].starts_with(b"=?") {
            self.i += 2;
            Form::Test
        } else if self.eat(b'?') {
            Form::Read
        } else if self.eat(b'=') {
            let v = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == v {
                return Err(self.err("S-register write needs a value"));
            }
            Form::Write(vec![Arg::Bare(
                String::from_utf8_lossy(&self.s[v..self.i]).into_owned(),
            )])
        } else {
            return Err(self.err("S-register needs ? or ="));
        };
        Ok(Invocation { name, form })
    }

    fn extended(&mut self) -> Result<Invocation, SyntaxError> {
        let start = self.i;
        self.i += 1;
        while self.peek().is_some_and(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'!' | b'%' | b'-' | b'.')
        }) {
            self.i += 1;
        }
        if self.i == start + 1 {
            return Err(self.err("empty extended command name"));
        }
        let name = String::from_utf8_lossy(&self.s[start..self.i]).to_ascii_uppercase();
        let form = if self.s[self.i..].starts_with(b"=?") {
            self.i += 2;
            Form::Test
        } else if self.eat(b'?') {
            Form::Read
        } else if self.eat(b'=') {
            Form::Write(self.args()?)
        } else {
            Form::Exec
        };
        self.skip_spaces();
        match self.peek() {
            None | Some(b';') => Ok(Invocation { name, form }),
            Some(_) => Err(self.err("junk after command")),
        }
    }

    /// Comma-separated parameters up to an unquoted `;` or the end of the line.
    fn args(&mut self) -> Result<Vec<Arg>, SyntaxError> {
        let mut args = Vec::new();
        loop {
            self.skip_spaces();
            let arg = if self.eat(b'"') {
                let start = self.i;
                while self.peek().is_some_and(|c| c != b'"') {
                    self.i += 1;
                }
                if !self.eat(b'"') {
                    return Err(self.err("unterminated string"));
                }
                let raw = &self.s[start..self.i - 1];
                self.spans.push(start..self.i - 1);
                self.skip_spaces();
                match std::str::from_utf8(raw) {
                    Ok(text) if !text.contains('\0') => Arg::Quoted(text.to_string()),
                    _ => Arg::Unreadable,
                }
            } else {
                let start = self.i;
                while self.peek().is_some_and(|c| c != b',' && c != b';') {
                    if self.peek() == Some(b'"') {
                        return Err(self.err("quote inside a bare value"));
                    }
                    self.i += 1;
                }
                self.spans.push(start..self.i);
                let text = String::from_utf8_lossy(&self.s[start..self.i]);
                let text = text.trim();
                if text.is_empty() {
                    Arg::Omitted
                } else {
                    Arg::Bare(text.to_string())
                }
            };
            args.push(arg);
            match self.peek() {
                Some(b',') => self.i += 1,
                None | Some(b';') => return Ok(args),
                Some(_) => return Err(self.err("expected , or ; after a parameter")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(body: &str) -> Invocation {
        let mut v = parse_body(body.as_bytes()).unwrap();
        assert_eq!(v.len(), 1, "{v:?}");
        v.remove(0)
    }

    #[test]
    fn forms() {
        assert_eq!(one("+CMEE=?").form, Form::Test);
        assert_eq!(one("+cmee?").form, Form::Read);
        assert_eq!(one("+CMEE").form, Form::Exec);
        assert_eq!(
            one("+CMEE=2").form,
            Form::Write(vec![Arg::Bare("2".into())])
        );
        assert_eq!(one("+qftpcfg=?").name, "+QFTPCFG");
    }

    #[test]
    fn quoted_strings_keep_case_and_commas() {
        let inv = one(r#"+QFTPCFG="account","Us,er" , "p;w""#);
        assert_eq!(
            inv.args(),
            &[
                Arg::Quoted("account".into()),
                Arg::Quoted("Us,er".into()),
                Arg::Quoted("p;w".into())
            ]
        );
    }

    #[test]
    fn omitted_parameters() {
        let inv = one("+QFTPGET=\"a\",\"COM:\",,5");
        assert_eq!(inv.args()[2], Arg::Omitted);
        assert_eq!(inv.args()[3].as_u64(), Some(5));
        let inv = one("+X=1,");
        assert_eq!(inv.args(), &[Arg::Bare("1".into()), Arg::Omitted]);
    }

    #[test]
    fn chains_and_basic_commands() {
        let v = parse_body(b"E0V1&F0S12=50;+CMEE=2;+QIACT?;S3?").unwrap();
        let names: Vec<_> = v.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["E", "V", "&F", "S12", "+CMEE", "+QIACT", "S3"]);
        assert_eq!(v[0].form, Form::Write(vec![Arg::Bare("0".into())]));
        assert_eq!(v[6].form, Form::Read);
        assert!(parse_body(b"").unwrap().is_empty());
        assert_eq!(one("I").form, Form::Exec);
    }

    #[test]
    fn nul_and_non_utf8_in_quotes_are_unreadable() {
        assert_eq!(one("+QFTPCWD=\"d\0ir\"").args(), &[Arg::Unreadable]);
        let v = parse_body(b"+QFTPCWD=\"d\xffir\"").unwrap();
        assert_eq!(v[0].args(), &[Arg::Unreadable]);
        assert_eq!(Arg::Unreadable.as_text(), None);
        assert!(!Arg::Unreadable.is_omitted());
        // Valid UTF-8 stays text.
        assert_eq!(one("+X=\"\u{e4}\"").args(), &[Arg::Quoted("\u{e4}".into())]);
    }

    #[test]
    fn spans_locate_each_parameter() {
        let body = b"E1;+CMEE=1;+QFTPCFG= \"account\",\"u\", pw ;+X";
        let v = parse_body_spanned(body).unwrap();
        assert_eq!(v.len(), 4);
        assert!(v[0].1.is_empty());
        let spans = &v[2].1;
        assert_eq!(spans.len(), 3);
        assert_eq!(&body[spans[0].clone()], b"account");
        assert_eq!(&body[spans[1].clone()], b"u");
        assert_eq!(&body[spans[2].clone()], b"pw ");
        assert!(v[3].1.is_empty());
    }

    #[test]
    fn malformed_lines() {
        for bad in [
            "+",
            "+CMEE=\"x",
            "+CMEE=1\"x\"",
            "+CMEE?x",
            "S=3",
            "S3",
            "#",
            "+X=\"a\"b",
        ] {
            assert!(
                parse_body(bad.as_bytes()).is_err(),
                "{bad} should not parse"
            );
        }
    }
}
