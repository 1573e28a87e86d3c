//! Name patterns of `[ftp_server.files]`: `"logs/day-{1..240}.csv"` is 240 files, as a
//! shell's brace expansion would name them. `{A..B}` counts from A to B (either way; a
//! leading zero pads every number to the width written, `{01..10}`), `{a,b,c}` lists
//! alternatives; several groups multiply. A name without braces is itself.

/// The most names one pattern may give.
pub const MAX_PATTERN_NAMES: usize = 10_000;

/// Every name `pattern` stands for, in order.
pub fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let mut names = vec![String::new()];
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .ok_or_else(|| format!("{pattern:?}: a `{{` without its `}}`"))?;
        let choices = group(&rest[open + 1..close])
            .map_err(|e| format!("{pattern:?}: {{{}}}: {e}", &rest[open + 1..close]))?;
        let prefix = &rest[..open];
        if names.len().saturating_mul(choices.len()) > MAX_PATTERN_NAMES {
            return Err(format!(
                "{pattern:?} names more than {MAX_PATTERN_NAMES} files"
            ));
        }
        names = names
            .iter()
            .flat_map(|n| choices.iter().map(move |c| format!("{n}{prefix}{c}")))
            .collect();
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("{pattern:?}: a `}}` without its `{{`"));
    }
    Ok(names.into_iter().map(|n| n + rest).collect())
}

/// The choices of one `{…}` group.
fn group(inner: &str) -> Result<Vec<String>, String> {
    if let Some((a, b)) = inner.split_once("..") {
        let from: u64 = a
            .parse()
            .map_err(|_| "write {A..B} with numbers".to_string())?;
        let to: u64 = b
            .parse()
            .map_err(|_| "write {A..B} with numbers".to_string())?;
        let count = from.abs_diff(to) + 1;
        if count > MAX_PATTERN_NAMES as u64 {
            return Err(format!("more than {MAX_PATTERN_NAMES} names"));
        }
        let width = if (a.len() > 1 && a.starts_with('0')) || (b.len() > 1 && b.starts_with('0')) {
            a.len().max(b.len())
        } else {
            0
        };
        let numbers: Vec<u64> = if from <= to {
            (from..=to).collect()
        } else {
            (to..=from).rev().collect()
        };
        return Ok(numbers.iter().map(|n| format!("{n:0width$}")).collect());
    }
    if inner.contains(',') {
        return Ok(inner.split(',').map(str::to_string).collect());
    }
    Err("write {A..B} or {a,b,…}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_lists_and_padding() {
        let n = expand("logs/day-{1..240}.csv").unwrap();
        assert_eq!(n.len(), 240);
        assert_eq!(n[0], "logs/day-1.csv");
        assert_eq!(n[239], "logs/day-240.csv");
        assert_eq!(expand("f{08..10}").unwrap(), ["f08", "f09", "f10"]);
        assert_eq!(expand("{3..1}").unwrap(), ["3", "2", "1"]);
        assert_eq!(
            expand("{a,b}/{1..2}.bin").unwrap(),
            ["a/1.bin", "a/2.bin", "b/1.bin", "b/2.bin"]
        );
        assert_eq!(expand("plain.txt").unwrap(), ["plain.txt"]);
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(expand("x{1..}").unwrap_err().contains("numbers"));
        assert!(expand("x{1..5").unwrap_err().contains("without its"));
        assert!(expand("x}").unwrap_err().contains("without its"));
        assert!(expand("{1..100000}")
            .unwrap_err()
            .contains("more than 10000"));
        assert!(expand("{1..100}{1..101}")
            .unwrap_err()
            .contains("more than 10000 files"));
        assert!(expand("{x}").unwrap_err().contains("{A..B}"));
    }
}
