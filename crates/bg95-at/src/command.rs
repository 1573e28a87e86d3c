//! The AT command grammar: one line after its `AT` prefix → a chain of invocations.
//!
//! Basic commands (`E0`, `V1`, `&F`, `S3=13`, `S12?`, `I`, `Z`, `O`) may follow each other
//! directly; extended commands (`+QFTPCFG="account","u","p"`) end at an unquoted `;`. Every
//! command comes in the V.250 forms Test (`=?`), Read (`?`), Write (`=<args>`) and Exec.
//! Names are case-insensitive (stored upper-case); string parameters keep their case.

use std::fmt;

/// One parameter of a Write form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Nothing between two commas (or after the last one).
    Omitted,
    /// A `"quoted string"`, without its quotes.
    Quoted(String),
    /// An unquoted token such as `1` or `0XFFFF`, trimmed.
    Bare(String),
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
            Arg::Omitted => None,
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
    Parser { s: body, i: 0 }.chain()
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
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

    fn chain(&mut self) -> Result<Vec<Invocation>, SyntaxError> {
        let mut out = Vec::new();
        loop {
            self.skip_spaces();
            let Some(c) = self.peek() else { break };
            match c {
                b';' => self.i += 1,
                b'+' | b'$' | b'^' => out.push(self.extended()?),
                b'&' => {
                    self.i += 1;
                    let letter = self.letter()?;
                    out.push(self.basic(format!("&{letter}")));
                }
                b'S' | b's' => out.push(self.s_register()?),
                b'D' | b'd' => {
                    // Dial takes the rest of the line as its argument.
                    self.i += 1;
                    let rest = String::from_utf8_lossy(&self.s[self.i..]).into_owned();
                    self.i = self.s.len();
                    out.push(Invocation {
                        name: "D".into(),
                        form: Form::Write(vec![Arg::Bare(rest)]),
                    });
                }
                c if c.is_ascii_alphabetic() => {
                    let letter = self.letter()?;
                    out.push(self.basic(letter.to_string()));
                }
                _ => return Err(self.err("unexpected character")),
            }
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
                let text = String::from_utf8_lossy(&self.s[start..self.i - 1]).into_owned();
                self.skip_spaces();
                Arg::Quoted(text)
            } else {
                let start = self.i;
                while self.peek().is_some_and(|c| c != b',' && c != b';') {
                    if self.peek() == Some(b'"') {
                        return Err(self.err("quote inside a bare value"));
                    }
                    self.i += 1;
                }
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
