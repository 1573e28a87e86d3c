//! What `bg95-emu run`'s expectations accept and reject, apart from the tty: which line is a
//! final result that rules an expectation out at once, and the file checks
//! (`expect_server_file`, `expect_ufs_file`).

use std::path::Path;
use std::time::{Duration, Instant};

use super::{Expect, FileCheck};

/// The FTP commands whose final result is their URC (`+QFTPOPEN: <err>,…`): a different
/// `+QFTPOPEN:` line than the one expected is that command's answer, and it will not change.
const RESULT_URCS: &[&str] = &[
    "+QFTPOPEN:",
    "+QFTPCLOSE:",
    "+QFTPCWD:",
    "+QFTPPWD:",
    "+QFTPGET:",
    "+QFTPPUT:",
    "+QFTPSIZE:",
    "+QFTPDEL:",
    "+QFTPMKDIR:",
    "+QFTPRMDIR:",
    "+QFTPRENAME:",
    "+QFTPMDTM:",
    "+QFTPLIST:",
    "+QFTPNLST:",
    "+QFTPMLSD:",
];

/// A final result code: the end of a command's answer.
fn is_final_code(line: &str) -> bool {
    matches!(line, "OK" | "ERROR" | "NO CARRIER") || line.starts_with("+CME ERROR:")
}

/// The kind of final answer `line` is, if it is one: a result code, or a command's result
/// URC (by its prefix).
fn final_kind(line: &str) -> Option<&'static str> {
    if is_final_code(line) {
        return Some("result code");
    }
    RESULT_URCS.iter().copied().find(|p| line.starts_with(p))
}

/// The result URC a regex is about (`^\+QFTPOPEN: 0,\d+$` → `+QFTPOPEN:`), if it starts
/// with one literally.
fn regex_kind(re: &str) -> Option<&'static str> {
    let literal: String = re
        .trim_start_matches('^')
        .replace("\\+", "+")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | ':'))
        .collect();
    RESULT_URCS.iter().copied().find(|p| literal.starts_with(p))
}

/// Whether `line` is a final answer of the kind `expect` waits for, but not an accepted
/// one: the expectation has failed and waiting longer cannot help. `remaining` are the
/// lines of an unordered group not seen yet.
pub(super) fn conflicts(expect: &Expect, wanted: &[String], line: &str) -> bool {
    let Some(kind) = final_kind(line) else {
        return false;
    };
    match expect {
        Expect::Regex(re) => regex_kind(re.0.as_str()) == Some(kind) && !re.0.is_match(line),
        Expect::Bytes(_) => false,
        Expect::Line(_) | Expect::Any(_) | Expect::Unordered(_) => {
            wanted.iter().any(|w| final_kind(w) == Some(kind)) && !wanted.iter().any(|w| w == line)
        }
    }
}

/// Check `check` against the file at `path` (`None`: no such file) until it holds or its
/// timeout passes; the error says what the file was.
pub(super) fn wait_file(path: Option<&Path>, check: &FileCheck) -> Result<(), String> {
    let until = Instant::now() + check.timeout;
    loop {
        let problem = match file_problem(path, check) {
            None => return Ok(()),
            Some(p) => p,
        };
        if Instant::now() >= until {
            return Err(format!(
                "{:?}: {problem} (waited {:?})",
                check.name, check.timeout
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What is wrong with the file, or `None` when it is as `check` says.
fn file_problem(path: Option<&Path>, check: &FileCheck) -> Option<String> {
    let meta = path.and_then(|p| std::fs::symlink_metadata(p).ok());
    let Some(meta) = meta.filter(|m| m.is_file()) else {
        return (!check.absent).then(|| "no such file".to_string());
    };
    if check.absent {
        return Some(format!("exists ({} bytes), expected absent", meta.len()));
    }
    if let Some(size) = check.size {
        if meta.len() != size {
            return Some(format!("{} bytes, expected {size}", meta.len()));
        }
    }
    if check.sha256.is_none() && check.text.is_none() {
        return None;
    }
    // Bounded: a file bigger than any content a check can name is a mismatch anyway.
    if meta.len() > super::MAX_DATA_BYTES {
        return Some(format!("{} bytes, too big to compare", meta.len()));
    }
    let data = match std::fs::read(path?) {
        Ok(d) => d,
        Err(e) => return Some(format!("cannot read: {e}")),
    };
    if let Some(want) = &check.sha256 {
        let got = hex(ring::digest::digest(&ring::digest::SHA256, &data).as_ref());
        if &got != want {
            return Some(format!("sha256 {got}, expected {want}"));
        }
    }
    if let Some(text) = &check.text {
        if data != text.as_bytes() {
            return Some(format!(
                "holds \"{}\", expected \"{}\"",
                bg95_core::transcript::escape(&data[..data.len().min(200)]),
                bg95_core::transcript::escape(text.as_bytes())
            ));
        }
    }
    None
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::RegexText;

    fn line(l: &str) -> (Expect, Vec<String>) {
        (Expect::Line(l.into()), vec![l.into()])
    }

    #[test]
    fn a_different_final_answer_of_the_same_kind_conflicts() {
        let (e, w) = line("+QFTPOPEN: 0,0");
        assert!(conflicts(&e, &w, "+QFTPOPEN: 604,0"));
        assert!(!conflicts(&e, &w, "OK"), "the OK before the URC");
        assert!(!conflicts(&e, &w, "+QIURC: \"pdpdeact\",1"));
        let (e, w) = line("OK");
        assert!(conflicts(&e, &w, "+CME ERROR: 420"));
        assert!(conflicts(&e, &w, "ERROR"));
        assert!(!conflicts(&e, &w, "+QFTPOPEN: 604,0"));
        let (e, w) = line("+QFTPSTAT: 0,1");
        assert!(!conflicts(&e, &w, "+QFTPSTAT: 1,0"), "an information line");
        let re = Expect::Regex(RegexText(
            regex::Regex::new(r"^\+QFTPGET: 607,\d+$").unwrap(),
        ));
        assert!(conflicts(&re, &[], "+QFTPGET: 0,1024"));
        assert!(!conflicts(&re, &[], "+QFTPGET: 607,12"));
        assert!(!conflicts(&re, &[], "OK"));
        let any = vec!["+QFTPPUT: 605,0".to_string(), "+QFTPPUT: 608,0".to_string()];
        assert!(!conflicts(
            &Expect::Any(any.clone()),
            &any,
            "+QFTPPUT: 608,0"
        ));
        assert!(conflicts(&Expect::Any(any.clone()), &any, "+QFTPPUT: 0,10"));
    }

    #[test]
    fn file_checks() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        std::fs::write(&f, b"hello").unwrap();
        let check = |size, sha256: Option<&str>, text: Option<&str>, absent| FileCheck {
            name: "a.txt".into(),
            size,
            sha256: sha256.map(str::to_string),
            text: text.map(str::to_string),
            absent,
            timeout: Duration::ZERO,
        };
        assert_eq!(
            file_problem(Some(&f), &check(Some(5), None, None, false)),
            None
        );
        let sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert_eq!(
            file_problem(Some(&f), &check(None, Some(sha), Some("hello"), false)),
            None
        );
        assert_eq!(
            file_problem(Some(&f), &check(Some(4), None, None, false)).unwrap(),
            "5 bytes, expected 4"
        );
        assert!(
            file_problem(Some(&f), &check(None, None, Some("hullo"), false))
                .unwrap()
                .contains("holds \"hello\"")
        );
        assert!(file_problem(Some(&f), &check(None, None, None, true)).is_some());
        let gone = dir.path().join("gone");
        assert_eq!(
            file_problem(Some(&gone), &check(None, None, None, true)),
            None
        );
        assert_eq!(
            wait_file(Some(&gone), &check(Some(1), None, None, false)).unwrap_err(),
            "\"a.txt\": no such file (waited 0ns)"
        );
    }
}
