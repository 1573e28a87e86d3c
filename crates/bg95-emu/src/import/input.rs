//! Reading the log file as a stream of text lines, after checking it is text at all, and
//! writing the scenario without harming what is there (docs/import.md "Input and output").

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::rc::Rc;

use super::clean::unterminated_python_bytes;

/// How much of the file decides whether it is text.
const SNIFF: usize = 64 * 1024;
/// A longer line is read in pieces of this size (memory stays bounded on a binary file
/// with no line end).
pub const MAX_LINE: u64 = 1024 * 1024;

/// A log that cannot be imported (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the log is empty: nothing to import")]
    Empty,
    #[error("not a text log ({0}); import reads logs of AT traffic as text")]
    Binary(String),
    #[error("looks like UTF-16 without a byte-order mark (every other byte is NUL); convert it first, e.g. `iconv -f UTF-16LE -t UTF-8 LOG > log.txt`")]
    Utf16WithoutBom,
}

/// What reading noticed, for the report.
#[derive(Debug, Default)]
pub struct InputNotes {
    /// The encoding when not UTF-8.
    pub decoded_from: Option<&'static str>,
    /// The last line, cut short (its number and why).
    pub truncated: Option<(usize, String)>,
}

/// The log's lines (without line ends), read as they are used.
pub type Lines = Box<dyn Iterator<Item = String>>;

/// Open `path` as a text log.
pub fn open(path: &Path) -> Result<(Lines, Rc<RefCell<InputNotes>>), InputError> {
    let mut f = File::open(path)?;
    let mut head = Vec::new();
    (&mut f).take(SNIFF as u64).read_to_end(&mut head)?;
    let notes = Rc::new(RefCell::new(InputNotes::default()));
    if head.iter().all(u8::is_ascii_whitespace) && head.len() < SNIFF {
        return Err(InputError::Empty);
    }
    if let Some(be) = utf16_bom(&head) {
        let mut all = head;
        f.read_to_end(&mut all)?;
        let text = decode_utf16(&all[2..], be);
        notes.borrow_mut().decoded_from = Some(if be { "UTF-16BE" } else { "UTF-16LE" });
        let lines: Vec<String> = text
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        return Ok((Box::new(lines.into_iter()), notes));
    }
    check_text(&head)?;
    let skip = if head.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    f.seek(SeekFrom::Start(skip))?;
    let lines = StreamLines {
        reader: BufReader::new(f),
        number: 0,
        notes: notes.clone(),
        done: false,
    };
    Ok((Box::new(lines), notes))
}

fn utf16_bom(head: &[u8]) -> Option<bool> {
    match head {
        [0xFF, 0xFE, ..] => Some(false),
        [0xFE, 0xFF, ..] => Some(true),
        _ => None,
    }
}

fn decode_utf16(bytes: &[u8], big_endian: bool) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| {
            if big_endian {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        })
        .collect();
    String::from_utf16_lossy(&units)
}

/// Text, or why not: NUL bytes (UTF-16 without a BOM, or binary), many control bytes, or
/// mostly bytes that are not UTF-8.
fn check_text(head: &[u8]) -> Result<(), InputError> {
    let nul_at = |parity: usize| {
        head.iter()
            .skip(parity)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let half = head.len() / 2;
    if half > 0 && (nul_at(1) * 10 >= half * 9 || nul_at(0) * 10 >= half * 9) {
        return Err(InputError::Utf16WithoutBom);
    }
    let nuls = head.iter().filter(|&&b| b == 0).count();
    if nuls > 0 {
        return Err(InputError::Binary(format!(
            "{nuls} NUL byte(s) in its first {} bytes",
            head.len()
        )));
    }
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n' | 0x1b | 0x07 | 0x08 | 0x0c))
        .count();
    if controls * 10 > head.len() {
        return Err(InputError::Binary(format!(
            "{controls} control bytes in its first {} bytes",
            head.len()
        )));
    }
    let text = String::from_utf8_lossy(head);
    let bad = text
        .chars()
        .filter(|&c| c == char::REPLACEMENT_CHARACTER)
        .count();
    if bad * 4 > head.len() {
        return Err(InputError::Binary(format!(
            "{bad} bytes that are not UTF-8 in its first {} bytes",
            head.len()
        )));
    }
    Ok(())
}

struct StreamLines {
    reader: BufReader<File>,
    number: usize,
    notes: Rc<RefCell<InputNotes>>,
    done: bool,
}

impl Iterator for StreamLines {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.done {
            return None;
        }
        let mut buf = Vec::new();
        let n = (&mut self.reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .ok()?;
        if n == 0 {
            self.done = true;
            return None;
        }
        self.number += 1;
        let complete = buf.ends_with(b"\n");
        while buf.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            buf.pop();
        }
        if !complete && buf.len() < MAX_LINE as usize {
            // The last line, without a line end: a log cut in the middle of a line?
            if let Some(why) = truncation(&buf) {
                self.notes.borrow_mut().truncated = Some((self.number, why));
                self.done = true;
                return None;
            }
        }
        Some(String::from_utf8_lossy(&buf).into_owned())
    }
}

/// Why a last line without a line end looks cut short.
fn truncation(line: &[u8]) -> Option<String> {
    if let Err(e) = std::str::from_utf8(line) {
        if e.error_len().is_none() {
            return Some("it ends inside a UTF-8 character".into());
        }
    }
    let text = String::from_utf8_lossy(line);
    if unterminated_python_bytes(&text) {
        return Some("it ends inside a Python bytes literal".into());
    }
    if text.matches('"').count() % 2 == 1 {
        return Some("it ends inside a quoted string".into());
    }
    None
}

/// Why the scenario may not be written to `out` (the input log, an existing file without
/// `--force`).
pub fn refuse_output(log: &Path, out: &Path, force: bool) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let link = std::fs::symlink_metadata(out).ok()?;
    let same =
        |a: &std::fs::Metadata, b: &std::fs::Metadata| a.dev() == b.dev() && a.ino() == b.ino();
    if let Ok(input) = std::fs::metadata(log) {
        // The file itself, a hard link to it, or a symlink that leads to it.
        let target = std::fs::metadata(out).ok();
        if same(&link, &input) || target.is_some_and(|t| same(&t, &input)) {
            return Some("is the input log: the import never overwrites it".into());
        }
    }
    (!force).then(|| "exists; use --force to replace it".to_string())
}

/// Write `bytes` to `path` by renaming a new file over it: a symlink at `path` is replaced,
/// never written through.
pub fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_checks() {
        assert!(check_text(b"AT\r\nOK\r\n").is_ok());
        assert!(matches!(
            check_text(b"A\0T\0\r\0\n\0"),
            Err(InputError::Utf16WithoutBom)
        ));
        assert!(matches!(
            check_text(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0"),
            Err(InputError::Binary(_))
        ));
        assert_eq!(
            truncation(b"b'AT+QFTP"),
            Some("it ends inside a Python bytes literal".into())
        );
        assert_eq!(truncation(b"OK"), None);
        assert_eq!(
            truncation(b"caf\xc3"),
            Some("it ends inside a UTF-8 character".into())
        );
    }
}
