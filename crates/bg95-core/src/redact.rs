//! Secrets out of transcripts, from what the module parsed.
//!
//! A recording (`--transcript`) must never hold the FTP password, whatever way the host
//! typed it: quoted or not, in a chain (`AT+CMEE=1;+QFTPCFG="account",…`), after noise or a
//! NUL, after `ATE1`, with spaces (`AT+QFTPCFG= "account"`), edited with backspace, split
//! across reads, or right after a QFUPL's data in the same read. A pattern over the byte
//! stream cannot know all of these; the module can: when a command line ends, the parser
//! says where each parameter lies ([`secret_spans`]), and the line assembler says at which
//! line index every typed byte landed. Every typed byte that landed on a secret's index is
//! masked, in the host's bytes and in their echo.
//!
//! The [`Tap`] keeps a copy of the host's bytes and the module's output in the order they
//! happened. While a command line is being typed the copy is held (its secrets are not
//! known yet); when the line ends it is released with the secrets masked. A runtime that
//! records a transcript switches the tap on ([`Module::record_transcript`]) and writes the
//! [`TapPiece`]s it polls ([`Module::poll_transcript`]) instead of the raw bytes.
//!
//! Masking keeps one `*` per character (UTF-8 continuation bytes add none), as the module's
//! own `AT+QFTPCFG="account"` answer does, so a replay of the masked recording runs the same
//! commands (with a password of stars) and matches the recorded effects.
//!
//! [`Module::record_transcript`]: crate::Module::record_transcript
//! [`Module::poll_transcript`]: crate::Module::poll_transcript

use std::collections::VecDeque;
use std::ops::Range;

use bg95_at::{parse_body_spanned, Arg};

use crate::transcript::{is_private_key, Fnv1a64};

/// A piece of the session for a transcript, secrets masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TapPiece {
    /// Bytes the host sent.
    Host(Vec<u8>),
    /// Bytes the module sent.
    Module(Vec<u8>),
    /// The data of a UFS upload (AT+QFUPL, AT+QFWRITE) that holds a PEM private key, kept
    /// out of the copy: only its size and FNV-1a 64 digest (`>key <len>B/fnv=<hex>`).
    RedactedUpload { len: u64, fnv: u64 },
}

/// Where the secrets of a command line's body (what follows `AT`) lie: the password of
/// every `+QFTPCFG="account",<user>,<password>` in the chain. A line the grammar rejects is
/// not run, but may still hold a password being typed: if it names `account`, every byte
/// after the second comma that follows is treated as secret except quotes, commas,
/// semicolons and spaces (so the masked line is rejected the same way).
pub fn secret_spans(body: &[u8]) -> Vec<Range<usize>> {
    let Ok(chain) = parse_body_spanned(body) else {
        return unparsed_secret_spans(body);
    };
    let mut out = Vec::new();
    for (inv, spans) in chain {
        let args = inv.args();
        let is_account = inv.name == "+QFTPCFG"
            && args
                .first()
                .and_then(Arg::as_text)
                .is_some_and(|t| t.eq_ignore_ascii_case("account"));
        if !is_account {
            continue;
        }
        for (arg, span) in args.iter().zip(spans).skip(2) {
            out.push(match arg {
                // A bare token's span includes the spaces around it; the value does not.
                Arg::Bare(_) => trim_spaces(body, span),
                _ => span,
            });
        }
    }
    out
}

/// `bytes` with the secret of every command line in it masked (one `*` per character):
/// for text that holds command lines without the typing behind them, such as the module's
/// echo in a runner's failure message. Lines end at CR or LF; each is masked by what the
/// parser finds after its `AT` ([`secret_spans`]).
pub fn mask_lines(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for piece in bytes.split_inclusive(|&b| b == b'\r' || b == b'\n') {
        let Some(body) = bg95_at::strip_prefix(piece) else {
            out.extend_from_slice(piece);
            continue;
        };
        let offset = piece.len() - body.len();
        let end = body
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(body.len());
        let spans = secret_spans(&body[..end]);
        for (i, &b) in piece.iter().enumerate() {
            let secret = i >= offset && spans.iter().any(|s| s.contains(&(i - offset)));
            match (secret, b) {
                (false, b) => out.push(b),
                (true, 0x80..=0xBF) => {}
                (true, _) => out.push(b'*'),
            }
        }
    }
    out
}

fn trim_spaces(body: &[u8], mut span: Range<usize>) -> Range<usize> {
    while span.start < span.end && body[span.start] == b' ' {
        span.start += 1;
    }
    while span.end > span.start && body[span.end - 1] == b' ' {
        span.end -= 1;
    }
    span
}

/// The conservative mask of a line that did not parse (see [`secret_spans`]).
fn unparsed_secret_spans(body: &[u8]) -> Vec<Range<usize>> {
    let upper = body.to_ascii_uppercase();
    let Some(at) = upper.windows(7).position(|w| w == b"ACCOUNT") else {
        return Vec::new();
    };
    let mut commas = 0;
    let mut out = Vec::new();
    for (i, &b) in body.iter().enumerate().skip(at + 7) {
        if b == b',' {
            commas += 1;
        } else if commas >= 2 && !matches!(b, b'"' | b';' | b' ') {
            out.push(i..i + 1);
        }
    }
    out
}

/// What the tap holds while a line is typed, in order.
#[derive(Debug)]
enum Held {
    /// A byte the host typed in command mode, with the line index it landed at (`None`:
    /// one that is never a secret — a terminator, an edit, or noise already discarded).
    Typed(u8, Option<usize>),
    /// The module's echo of such a byte.
    Echo(u8, Option<usize>),
    /// Other module output (a URC that came while the line was typed).
    Out(Vec<u8>),
}

/// The most entries held for one line: a line is at most `max_line` bytes, so only heavy
/// editing comes near. Past it, what is held is released unmasked (documented in
/// docs/transcripts.md): no real host edits a line that much.
const HOLD_LIMIT: usize = 16 * 1024;

/// The most upload data held to decide whether it is a private key: a PEM key is a few
/// KiB. Past it, data that holds a key is only digested, any other is released in clear.
const UPLOAD_HOLD_LIMIT: usize = 64 * 1024;

/// The copy of a UFS upload's data while the module is in its data mode.
#[derive(Debug, Default)]
struct UploadCopy {
    held: Vec<u8>,
    fnv: Fnv1a64,
    /// Past [`UPLOAD_HOLD_LIMIT`] with a key in it: nothing more is held.
    digest_only: bool,
    /// Past [`UPLOAD_HOLD_LIMIT`] without a key: the data already went out in clear.
    clear: bool,
    /// Module output while the data was held, released after it.
    output: Vec<u8>,
    /// The file is named by an SSL context's `clientkey`: a key whatever its bytes.
    named_key: bool,
}

/// The session copy for a transcript (see the module docs). Off by default: nothing is kept.
#[derive(Debug, Default)]
pub(crate) struct Tap {
    pub on: bool,
    /// `--transcript-keys`: upload data holding a private key is copied in clear.
    pub keys_in_clear: bool,
    upload: Option<UploadCopy>,
    held: Vec<Held>,
    ready: VecDeque<TapPiece>,
    /// How much of the module's output buffer has been copied.
    pub out_copied: usize,
    /// Host bytes fed again by the module itself (bytes typed after an upload's last one)
    /// are already in the copy as data.
    pub muted: u32,
}

impl Tap {
    /// The host's bytes that are not command-line input (data mode, a busy port, power off).
    pub fn host(&mut self, bytes: &[u8]) {
        if self.on && self.muted == 0 && !bytes.is_empty() {
            self.upload_end();
            self.release(&[]);
            push_piece(&mut self.ready, TapPiece::Host(bytes.to_vec()));
        }
    }

    /// Module output not yet copied.
    pub fn module(&mut self, bytes: &[u8]) {
        if !self.on || bytes.is_empty() {
            return;
        }
        if let Some(upload) = self.upload.as_mut().filter(|u| !u.clear) {
            upload.output.extend_from_slice(bytes);
        } else if self.held.is_empty() {
            push_piece(&mut self.ready, TapPiece::Module(bytes.to_vec()));
        } else {
            self.held.push(Held::Out(bytes.to_vec()));
        }
    }

    /// A byte typed in command mode at line index `at`, echoed or not.
    pub fn typed(&mut self, byte: u8, at: Option<usize>, echoed: bool) {
        if !self.on || self.muted > 0 {
            return;
        }
        self.upload_end();
        self.held.push(Held::Typed(byte, at));
        if echoed {
            self.held.push(Held::Echo(byte, at));
        }
        if self.held.len() > HOLD_LIMIT {
            self.release(&[]);
        }
    }

    /// The line ended (or was abandoned): release what was held, masking every byte that
    /// landed on a secret's line index. The host's bytes of a run go out before their echo
    /// (as the recorder wrote them before): a run ends where other output came between.
    pub fn release(&mut self, secrets: &[Range<usize>]) {
        let secret = |at: Option<usize>| at.is_some_and(|i| secrets.iter().any(|s| s.contains(&i)));
        let mask = |b: u8, at: Option<usize>| match (secret(at), b) {
            (false, b) => Some(b),
            // One `*` per character: UTF-8 continuation bytes add none.
            (true, 0x80..=0xBF) => None,
            (true, _) => Some(b'*'),
        };
        let (mut typed, mut echo) = (Vec::new(), Vec::new());
        for h in std::mem::take(&mut self.held) {
            match h {
                Held::Typed(b, at) => typed.extend(mask(b, at)),
                Held::Echo(b, at) => echo.extend(mask(b, at)),
                Held::Out(bytes) => {
                    self.flush_run(&mut typed, &mut echo);
                    push_piece(&mut self.ready, TapPiece::Module(bytes));
                }
            }
        }
        self.flush_run(&mut typed, &mut echo);
    }

    fn flush_run(&mut self, typed: &mut Vec<u8>, echo: &mut Vec<u8>) {
        if !typed.is_empty() {
            push_piece(&mut self.ready, TapPiece::Host(std::mem::take(typed)));
        }
        if !echo.is_empty() {
            push_piece(&mut self.ready, TapPiece::Module(std::mem::take(echo)));
        }
    }

    /// A UFS upload's data mode took its first bytes; `named_key`: its file is an SSL
    /// context's `clientkey` (AT+QSSLCFG), so its data is a key whatever its bytes.
    pub fn upload_start(&mut self, named_key: bool) {
        if !self.on || self.muted > 0 || self.keys_in_clear {
            return;
        }
        self.upload_end();
        self.release(&[]);
        self.upload = Some(UploadCopy {
            named_key,
            ..UploadCopy::default()
        });
    }

    /// Host bytes the module took as the data of a UFS upload (its data mode, as the module
    /// parsed it: AT+QFUPL or AT+QFWRITE after CONNECT). Held until the upload ends
    /// ([`Tap::upload_end`]), when the data is known to be a private key or not.
    pub fn upload_data(&mut self, bytes: &[u8]) {
        if !self.on || self.muted > 0 || bytes.is_empty() {
            return;
        }
        if self.keys_in_clear {
            return self.host(bytes);
        }
        if self.upload.is_none() {
            self.release(&[]);
        }
        let upload = self.upload.get_or_insert_with(UploadCopy::default);
        upload.fnv.update(bytes);
        if upload.clear {
            return push_piece(&mut self.ready, TapPiece::Host(bytes.to_vec()));
        }
        if upload.digest_only {
            return;
        }
        upload.held.extend_from_slice(bytes);
        // Data that cannot begin a PEM file is no key: it goes out at once, with its real
        // timing (a replay sends it when the host did), not at the upload's end.
        if !upload.named_key && !could_begin_pem(&upload.held) {
            upload.clear = true;
            push_piece(
                &mut self.ready,
                TapPiece::Host(std::mem::take(&mut upload.held)),
            );
            let output = std::mem::take(&mut upload.output);
            if !output.is_empty() {
                push_piece(&mut self.ready, TapPiece::Module(output));
            }
            return;
        }
        if upload.held.len() > UPLOAD_HOLD_LIMIT {
            if upload.named_key || is_private_key(&upload.held) {
                upload.digest_only = true;
                upload.held = Vec::new();
            } else {
                upload.clear = true;
                push_piece(
                    &mut self.ready,
                    TapPiece::Host(std::mem::take(&mut upload.held)),
                );
                let output = std::mem::take(&mut upload.output);
                if !output.is_empty() {
                    push_piece(&mut self.ready, TapPiece::Module(output));
                }
            }
        }
    }

    /// Whether upload data is held (the module calls [`Tap::upload_end`] once its data mode
    /// is over).
    pub fn uploading(&self) -> bool {
        self.upload.is_some()
    }

    /// The upload's data mode ended: its data goes out, as a [`TapPiece::RedactedUpload`]
    /// when it holds a PEM private key, else in clear; then the output held meanwhile.
    pub fn upload_end(&mut self) {
        let Some(upload) = self.upload.take() else {
            return;
        };
        let key = upload.named_key || is_private_key(&upload.held);
        if upload.digest_only || (!upload.clear && key) {
            let (len, fnv) = (upload.fnv.len, upload.fnv.hash);
            push_piece(&mut self.ready, TapPiece::RedactedUpload { len, fnv });
        } else if !upload.held.is_empty() {
            push_piece(&mut self.ready, TapPiece::Host(upload.held));
        }
        if !upload.output.is_empty() {
            push_piece(&mut self.ready, TapPiece::Module(upload.output));
        }
    }

    pub fn poll(&mut self) -> Option<TapPiece> {
        self.ready.pop_front()
    }
}

/// Whether `data` (an upload's first bytes) may be the start of a PEM file holding a key:
/// after leading white space, a prefix of (or text starting with) a PEM boundary or one of
/// the attribute headers `openssl pkcs12 -nodes` writes before it.
fn could_begin_pem(data: &[u8]) -> bool {
    const STARTS: [&[u8]; 3] = [b"-----BEGIN", b"Bag Attributes", b"Key Attributes"];
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    let text = &data[start..];
    STARTS.iter().any(|m| {
        if text.len() <= m.len() {
            m.starts_with(text)
        } else {
            text.starts_with(m)
        }
    })
}

/// Append, merging with the last piece when it comes from the same side.
fn push_piece(ready: &mut VecDeque<TapPiece>, piece: TapPiece) {
    match (ready.back_mut(), piece) {
        (Some(TapPiece::Host(last)), TapPiece::Host(b)) => last.extend_from_slice(&b),
        (Some(TapPiece::Module(last)), TapPiece::Module(b)) => last.extend_from_slice(&b),
        (_, piece) => ready.push_back(piece),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(body: &[u8]) -> Vec<u8> {
        let spans = secret_spans(body);
        let mut out = body.to_vec();
        for s in spans {
            out[s].fill(b'*');
        }
        out
    }

    #[test]
    fn spans_find_the_password_in_every_form() {
        let cases: &[(&[u8], &[u8])] = &[
            (
                b"+QFTPCFG=\"account\",\"u\",\"pw\"",
                b"+QFTPCFG=\"account\",\"u\",\"**\"",
            ),
            (
                b"+qftpcfg=\"Account\",u, pw ",
                b"+qftpcfg=\"Account\",u, ** ",
            ),
            (
                b"+CMEE=1;+QFTPCFG=\"account\",\"u\",\"pw\"",
                b"+CMEE=1;+QFTPCFG=\"account\",\"u\",\"**\"",
            ),
            (
                b"+QFTPCFG= \"account\",\"u\",\"pw\"",
                b"+QFTPCFG= \"account\",\"u\",\"**\"",
            ),
            (
                b"E1+QFTPCFG=\"account\",\"u\",\"pw\"",
                b"E1+QFTPCFG=\"account\",\"u\",\"**\"",
            ),
            // Not the account: nothing.
            (
                b"+QFTPCFG=\"contextid\",\"u\",\"pw\"",
                b"+QFTPCFG=\"contextid\",\"u\",\"pw\"",
            ),
            // Rejected by the grammar: the conservative mask.
            (
                b"+QFTPCFG=\"account\",\"u\",\"pw",
                b"+QFTPCFG=\"account\",\"u\",\"**",
            ),
            (
                b"+QFTPCFG=\"account\",\"u\",\"pw\"x",
                b"+QFTPCFG=\"account\",\"u\",\"**\"*",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                masked(body),
                want.to_vec(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn mask_lines_masks_every_command_line_in_text() {
        assert_eq!(
            mask_lines(b"AT+QFTPCFG=\"account\",\"u\",\"p\xc3\xa4ss\"\r\r\nOK\r\nAT+QFTPCFG=\"account\",u,pw"),
            b"AT+QFTPCFG=\"account\",\"u\",\"****\"\r\r\nOK\r\nAT+QFTPCFG=\"account\",u,**".to_vec()
        );
        assert_eq!(mask_lines(b"+QFTPOPEN: 0,0"), b"+QFTPOPEN: 0,0".to_vec());
    }

    #[test]
    fn tap_holds_the_line_and_masks_typed_and_echoed_bytes() {
        let mut tap = Tap {
            on: true,
            ..Default::default()
        };
        for (i, &b) in b"AT\"p\xc3\xa4".iter().enumerate() {
            tap.typed(b, Some(i), true);
        }
        tap.module(b"URC");
        assert_eq!(tap.poll(), None, "held while the line is typed");
        tap.typed(b'"', Some(6), true);
        let secret = 3..6;
        tap.release(std::slice::from_ref(&secret));
        let pieces: Vec<_> = std::iter::from_fn(|| tap.poll()).collect();
        assert_eq!(
            pieces,
            vec![
                TapPiece::Host(b"AT\"**".to_vec()),
                TapPiece::Module(b"AT\"**URC".to_vec()),
                TapPiece::Host(b"\"".to_vec()),
                TapPiece::Module(b"\"".to_vec()),
            ]
        );
    }
}
