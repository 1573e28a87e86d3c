//! `=` lines: the effects the module asks for, written as words and `key=value` pairs
//! (`= ftp cwd "/"`, `= ftp open host=127.0.0.1 port=21 user=test pass=**** … tls=none`,
//! `= resolve 1 "localhost"`), not as Rust `Debug` strings, so that a field added to a
//! request does not break every fixture that names it.
//!
//! Matching ([`effect_matches`]): the words (and quoted strings) must be equal, and every
//! `key=value` the expected line names must have that value in the actual line; keys the
//! expected line leaves out are not checked. A recorder writes every key.
//!
//! Secrets never appear: a password is one `*` per character, a client key only as its
//! length and digest.

use std::fmt::Write as _;

use crate::ftp::{DownloadSource, FtpRequest, OpenParams, Security, TlsSettings};
use crate::module::Effect;

use super::escape;

/// Byte values up to this length are written inline (`"abc"`); longer ones as their length
/// and digest (`4096B/fnv=0123456789abcdef`).
pub const INLINE_LIMIT: usize = 64;

/// 64-bit FNV-1a: tells data apart in a transcript (equal bytes, equal digest). Not a
/// security measure: nothing secret is ever digested where a guess could be checked.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `"inline"` under [`INLINE_LIMIT`], else `<len>B/fnv=<hex>`.
pub fn bytes_value(bytes: &[u8]) -> String {
    if bytes.len() <= INLINE_LIMIT {
        quoted(bytes)
    } else {
        digest_value(bytes)
    }
}

/// `<len>B/fnv=<hex>`, whatever the length.
pub fn digest_value(bytes: &[u8]) -> String {
    format!("{}B/fnv={:016x}", bytes.len(), fnv1a64(bytes))
}

fn quoted(bytes: &[u8]) -> String {
    format!("\"{}\"", escape(bytes).replace('"', "\\\""))
}

fn q(s: &str) -> String {
    quoted(s.as_bytes())
}

fn mask(secret: &str) -> String {
    "*".repeat(secret.chars().count())
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

/// The `=` line (without its `= `) of an effect.
pub fn effect_line(effect: &Effect) -> String {
    match effect {
        Effect::Ftp(req) => format!("ftp {}", request_line(req)),
        Effect::SetBaud(b) => format!("baud {b}"),
        Effect::Resolve { id, host } => format!("resolve {id} {}", q(host)),
        Effect::Ping {
            id,
            host,
            timeout,
            count,
        } => format!(
            "ping {id} {} timeout={}ms count={count}",
            q(host),
            timeout.as_millis()
        ),
    }
}

fn request_line(req: &FtpRequest) -> String {
    match req {
        FtpRequest::Open(p) => open_line(p),
        FtpRequest::Cwd(d) => format!("cwd {}", q(d)),
        FtpRequest::Pwd => "pwd".into(),
        FtpRequest::Size(f) => format!("size {}", q(f)),
        FtpRequest::Delete(f) => format!("delete {}", q(f)),
        FtpRequest::Mkdir(d) => format!("mkdir {}", q(d)),
        FtpRequest::Rmdir(d) => format!("rmdir {}", q(d)),
        FtpRequest::Rename { from, to } => format!("rename {} {}", q(from), q(to)),
        FtpRequest::Mdtm(f) => format!("mdtm {}", q(f)),
        FtpRequest::Download {
            source,
            offset,
            limit,
        } => {
            let (kind, path) = match source {
                DownloadSource::File(p) => ("file", p),
                DownloadSource::List(p) => ("list", p),
                DownloadSource::Nlst(p) => ("nlst", p),
                DownloadSource::Mlsd(p) => ("mlsd", p),
            };
            let limit = limit.map_or("none".to_string(), |l| l.to_string());
            format!("download {kind} {} offset={offset} limit={limit}", q(path))
        }
        FtpRequest::Upload {
            name,
            offset,
            append,
        } => format!(
            "upload {} offset={offset} append={}",
            q(name),
            flag(*append)
        ),
        FtpRequest::UploadData(d) => format!("upload-data {}", bytes_value(d)),
        FtpRequest::UploadEnd { close } => format!("upload-end close={}", flag(*close)),
        FtpRequest::Close => "close".into(),
        FtpRequest::Abort => "abort".into(),
    }
}

fn open_line(p: &OpenParams) -> String {
    let mut s = format!(
        "open host={} port={} user={} pass={} type={} mode={} data-address={}",
        value(&p.host),
        p.port,
        value(&p.user),
        value(&mask(&p.password)),
        if p.binary { "binary" } else { "ascii" },
        if p.passive { "passive" } else { "active" },
        if p.data_to_control_address {
            "control"
        } else {
            "reply"
        },
    );
    let (kind, sides) = match &p.security {
        Security::Plain => ("none", None),
        Security::Implicit { control, data } => ("implicit", Some((control, data))),
        Security::Explicit { control, data } => ("explicit", Some((control, data))),
    };
    let _ = write!(s, " tls={kind}");
    if let Some((control, data)) = sides {
        tls_keys(&mut s, "ctl", control);
        tls_keys(&mut s, "data", data);
    }
    s
}

fn tls_keys(s: &mut String, side: &str, t: &TlsSettings) {
    let pem = |v: &Option<Vec<u8>>| v.as_deref().map_or("none".to_string(), bytes_value);
    let _ = write!(
        s,
        " {side}.seclevel={} {side}.sslversion={} {side}.ca={} {side}.cert={} {side}.key={} \
         {side}.ciphersuite=0x{:04X} {side}.sni={} {side}.checkhost={} {side}.checktime={} \
         {side}.negotiate={}s {side}.clock={}",
        t.seclevel,
        t.sslversion,
        pem(&t.ca_pem),
        pem(&t.client_cert_pem),
        // A private key is a secret: its length and digest only, never its text.
        t.client_key_pem
            .as_deref()
            .map_or("none".to_string(), digest_value),
        t.ciphersuite,
        flag(t.sni),
        flag(t.check_host),
        flag(t.check_time),
        t.negotiate_secs,
        t.module_time_unix,
    );
}

/// A `key=value` value: bare when it is a plain word, quoted otherwise.
fn value(v: &str) -> String {
    let plain = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\' && b != b'=');
    if plain {
        v.to_string()
    } else {
        q(v)
    }
}

/// One token of an `=` line: a word or quoted string, or a `key=value` pair.
#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    Pair(&'a str, &'a str),
}

/// Split on spaces outside double quotes (a `\"` inside quotes does not end them).
fn tokens(line: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b' ' {
            i += 1;
            continue;
        }
        let start = i;
        let mut in_quotes = false;
        while i < bytes.len() && (in_quotes || bytes[i] != b' ') {
            match bytes[i] {
                b'\\' if in_quotes => i += 1,
                b'"' => in_quotes = !in_quotes,
                _ => {}
            }
            i += 1;
        }
        let tok = &line[start..i.min(line.len())];
        out.push(match tok.split_once('=') {
            Some((k, v)) if !k.is_empty() && !k.contains('"') => Token::Pair(k, v),
            _ => Token::Word(tok),
        });
    }
    out
}

/// Does the actual effect line satisfy the expected one? The same words in the same order,
/// and every key the expected line names with the same value (other keys are not checked).
pub fn effect_matches(expected: &str, actual: &str) -> bool {
    let (want, got) = (tokens(expected.trim()), tokens(actual.trim()));
    let words = |t: &[Token<'_>]| -> Vec<String> {
        t.iter()
            .filter_map(|t| match t {
                Token::Word(w) => Some(w.to_string()),
                Token::Pair(..) => None,
            })
            .collect()
    };
    if words(&want) != words(&got) {
        return false;
    }
    want.iter().all(|t| match t {
        Token::Word(_) => true,
        Token::Pair(k, v) => got
            .iter()
            .any(|g| matches!(g, Token::Pair(gk, gv) if gk == k && gv == v)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn open(password: &str) -> Effect {
        Effect::ftp(FtpRequest::Open(OpenParams {
            host: "127.0.0.1".into(),
            port: 21,
            user: "test".into(),
            password: password.into(),
            binary: true,
            passive: true,
            data_to_control_address: false,
            security: Security::Plain,
        }))
    }

    #[test]
    fn lines_name_the_request_and_mask_the_password() {
        assert_eq!(
            effect_line(&open("s3cret")),
            "ftp open host=127.0.0.1 port=21 user=test pass=****** type=binary mode=passive \
             data-address=reply tls=none"
        );
        assert_eq!(
            effect_line(&Effect::ftp(FtpRequest::Cwd("/a b".into()))),
            "ftp cwd \"/a b\""
        );
        assert_eq!(
            effect_line(&Effect::Resolve {
                id: 1,
                host: "localhost".into()
            }),
            "resolve 1 \"localhost\""
        );
        assert_eq!(
            effect_line(&Effect::Ping {
                id: 2,
                host: "h".into(),
                timeout: Duration::from_secs(4),
                count: 4
            }),
            "ping 2 \"h\" timeout=4000ms count=4"
        );
        let big = Effect::ftp(FtpRequest::UploadData(vec![7; 100]));
        assert!(effect_line(&big).starts_with("ftp upload-data 100B/fnv="));
    }

    #[test]
    fn expected_keys_are_a_subset() {
        let actual = effect_line(&open("pw"));
        assert!(effect_matches(
            "ftp open host=127.0.0.1 port=21 tls=none",
            &actual
        ));
        assert!(effect_matches(&actual, &actual));
        assert!(!effect_matches(
            "ftp open host=127.0.0.1 port=2121",
            &actual
        ));
        assert!(!effect_matches("ftp close", &actual));
        assert!(!effect_matches("ftp cwd \"/\"", "ftp cwd \"/x\""));
        assert!(effect_matches("ftp cwd \"a=b c\"", "ftp cwd \"a=b c\""));
        assert!(!effect_matches("ftp cwd \"a=b c\"", "ftp cwd \"a=b d\""));
    }
}
