//! Response framing: information lines, URCs and final result codes under ATV0/ATV1,
//! ATQ and AT+CMEE, byte-exact as in observed-behaviour.md.

/// A final result code of a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalResult {
    Ok,
    Connect,
    NoCarrier,
    Error,
    /// `+CME ERROR: <code>` (or its text, or bare `ERROR`, as AT+CMEE says).
    Cme {
        code: u16,
        text: &'static str,
    },
}

impl FinalResult {
    fn numeric(self) -> u8 {
        match self {
            FinalResult::Ok => 0,
            FinalResult::Connect => 1,
            FinalResult::NoCarrier => 3,
            FinalResult::Error | FinalResult::Cme { .. } => 4,
        }
    }

    fn verbose(self) -> &'static str {
        match self {
            FinalResult::Ok => "OK",
            FinalResult::Connect => "CONNECT",
            FinalResult::NoCarrier => "NO CARRIER",
            FinalResult::Error | FinalResult::Cme { .. } => "ERROR",
        }
    }
}

/// The formatting state a module keeps (ATV, ATQ, AT+CMEE, S3, S4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseFormat {
    /// ATV1: verbose result codes and `\r\n` headers.
    pub verbose: bool,
    /// ATQ1: result codes suppressed.
    pub quiet: bool,
    /// AT+CMEE: 0 bare ERROR, 1 numeric, 2 text.
    pub cmee: u8,
    pub s3: u8,
    pub s4: u8,
    /// Each information line framed on its own (`\r\n<l1>\r\n\r\n<l2>\r\n`), as some
    /// firmwares do, instead of one block (observed-behaviour.md: both seen; a personality
    /// setting).
    pub frame_each_line: bool,
}

impl Default for ResponseFormat {
    fn default() -> Self {
        ResponseFormat {
            verbose: true,
            quiet: false,
            cmee: 1,
            s3: b'\r',
            s4: b'\n',
            frame_each_line: false,
        }
    }
}

impl ResponseFormat {
    fn eol(&self, out: &mut Vec<u8>) {
        out.push(self.s3);
        out.push(self.s4);
    }

    /// Information text (one or more lines) as one block: `\r\n<l1>\r\n<l2>\r\n`, or with
    /// `frame_each_line` each line in its own frame: `\r\n<l1>\r\n\r\n<l2>\r\n`.
    /// Under ATV0 the leading header is dropped: `<l1>\r\n<l2>\r\n`.
    pub fn info<S: AsRef<str>>(&self, lines: &[S], out: &mut Vec<u8>) {
        for (i, l) in lines.iter().enumerate() {
            if self.verbose && (i == 0 || self.frame_each_line) {
                self.eol(out);
            }
            out.extend_from_slice(l.as_ref().as_bytes());
            self.eol(out);
        }
    }

    /// An unsolicited result code: framed like a one-line information response.
    pub fn urc(&self, text: &str, out: &mut Vec<u8>) {
        self.info(&[text], out);
    }

    /// A final result code. `+CME ERROR` is shown whatever ATQ says, as errors are not
    /// result codes in the V.250 sense; the plain ones obey ATQ.
    pub fn final_result(&self, r: FinalResult, out: &mut Vec<u8>) {
        if let FinalResult::Cme { code, text } = r {
            let body = match self.cmee {
                0 => None,
                1 => Some(format!("+CME ERROR: {code}")),
                _ => Some(format!("+CME ERROR: {text}")),
            };
            if let Some(body) = body {
                if self.verbose {
                    self.eol(out);
                }
                out.extend_from_slice(body.as_bytes());
                self.eol(out);
                return;
            }
        }
        if self.quiet {
            return;
        }
        if self.verbose {
            self.eol(out);
            out.extend_from_slice(r.verbose().as_bytes());
            self.eol(out);
        } else {
            out.push(b'0' + r.numeric());
            out.push(self.s3);
        }
    }

    /// `CONNECT` with a value (`CONNECT 10` of AT+QFREAD).
    pub fn connect_with(&self, n: u64, out: &mut Vec<u8>) {
        if self.verbose {
            self.eol(out);
            out.extend_from_slice(format!("CONNECT {n}").as_bytes());
            self.eol(out);
        } else {
            out.extend_from_slice(format!("1 {n}").as_bytes());
            out.push(self.s3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(f: ResponseFormat, r: FinalResult) -> Vec<u8> {
        let mut out = Vec::new();
        f.final_result(r, &mut out);
        out
    }

    const BUSY: FinalResult = FinalResult::Cme {
        code: 603,
        text: "FTP(S) server busy",
    };

    #[test]
    fn verbose_and_numeric_results() {
        let v1 = ResponseFormat::default();
        assert_eq!(fmt(v1, FinalResult::Ok), b"\r\nOK\r\n");
        assert_eq!(fmt(v1, FinalResult::Error), b"\r\nERROR\r\n");
        let per_line = ResponseFormat {
            frame_each_line: true,
            ..ResponseFormat::default()
        };
        let mut out = Vec::new();
        per_line.info(&["+QFLST: \"a\",1", "+QFLST: \"b\",2"], &mut out);
        assert_eq!(out, b"\r\n+QFLST: \"a\",1\r\n\r\n+QFLST: \"b\",2\r\n");
        let v0 = ResponseFormat {
            verbose: false,
            ..v1
        };
        assert_eq!(fmt(v0, FinalResult::Ok), b"0\r");
        assert_eq!(fmt(v0, FinalResult::Error), b"4\r");
        assert_eq!(fmt(v0, FinalResult::Connect), b"1\r");
    }

    #[test]
    fn cmee_modes() {
        let f = ResponseFormat::default();
        assert_eq!(fmt(f, BUSY), b"\r\n+CME ERROR: 603\r\n");
        assert_eq!(fmt(ResponseFormat { cmee: 0, ..f }, BUSY), b"\r\nERROR\r\n");
        assert_eq!(
            fmt(ResponseFormat { cmee: 2, ..f }, BUSY),
            b"\r\n+CME ERROR: FTP(S) server busy\r\n"
        );
    }

    #[test]
    fn info_block() {
        let mut out = Vec::new();
        ResponseFormat::default().info(&["+QFLST: \"a\",1", "+QFLST: \"b\",2"], &mut out);
        ResponseFormat::default().final_result(FinalResult::Ok, &mut out);
        assert_eq!(out, b"\r\n+QFLST: \"a\",1\r\n+QFLST: \"b\",2\r\n\r\nOK\r\n");
    }
}
