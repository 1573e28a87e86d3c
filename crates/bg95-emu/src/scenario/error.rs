//! Errors of a scenario file: always `FILE:LINE: key: message`, never a panic.

use std::path::{Path, PathBuf};

/// A scenario file that cannot be used. `Display` is `FILE:LINE: key: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {key}: {message}", file.display())]
pub struct ScenarioError {
    pub file: PathBuf,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    /// The key the problem is about (`fault.trigger`, `step.expect`, …), or `file`.
    pub key: String,
    pub message: String,
}

impl ScenarioError {
    pub fn new(file: &Path, line: usize, key: &str, message: impl Into<String>) -> Self {
        ScenarioError {
            file: file.to_path_buf(),
            line,
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Byte offset → 1-based line number.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A toml error as a [`ScenarioError`]: the line from its span, the key from its key path
/// (toml prints the path as "in `a.b`" when it has no input to show).
pub(crate) fn from_toml(file: &Path, text: &str, e: &toml::de::Error) -> ScenarioError {
    let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
    let mut bare = e.clone();
    bare.set_input(None);
    let shown = bare.to_string();
    let mut key = shown
        .lines()
        .find_map(|l| l.strip_prefix("in `").and_then(|k| k.strip_suffix('`')))
        .unwrap_or("")
        .to_string();
    let message = e.message().trim().to_string();
    if key.is_empty() {
        key = key_on_line(text, line).unwrap_or_else(|| "file".into());
    }
    // An unknown key is named by the message itself; say which table it is in.
    if let Some(unknown) = message
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next())
    {
        key = if key.is_empty() || key == "file" || key == unknown {
            unknown.to_string()
        } else {
            format!("{key}.{unknown}")
        };
    }
    ScenarioError::new(file, line, &key, message)
}

/// The key written on `line` (`name = value` → `name`), for errors without a key path.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (k, _) = l.split_once('=')?;
    let k = k.trim().trim_matches('"');
    (!k.is_empty() && !k.starts_with('[')).then(|| k.to_string())
}
