//! Reading Write-form parameters. A parameter that is there but malformed is a bad
//! parameter (the command's CME error); one that is absent or omitted is `None`.

use bg95_at::Arg;

/// The parameter could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadParam;

/// An optional integer in `range`.
pub(crate) fn opt_num(
    args: &[Arg],
    i: usize,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>, BadParam> {
    match args.get(i) {
        None | Some(Arg::Omitted) => Ok(None),
        Some(a) => match a.as_u64() {
            Some(v) if range.contains(&v) => Ok(Some(v)),
            _ => Err(BadParam),
        },
    }
}

/// A required integer in `range`.
pub(crate) fn num(
    args: &[Arg],
    i: usize,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, BadParam> {
    opt_num(args, i, range)?.ok_or(BadParam)
}

/// An optional string (quoted, or bare as lenient hosts send it).
pub(crate) fn opt_str(args: &[Arg], i: usize) -> Option<&str> {
    args.get(i).and_then(Arg::as_text)
}

/// A required string of at most `max` bytes.
pub(crate) fn string(args: &[Arg], i: usize, max: usize) -> Result<&str, BadParam> {
    match opt_str(args, i) {
        Some(s) if s.len() <= max => Ok(s),
        _ => Err(BadParam),
    }
}

/// No more than `n` parameters.
pub(crate) fn at_most(args: &[Arg], n: usize) -> Result<(), BadParam> {
    if args.len() <= n {
        Ok(())
    } else {
        Err(BadParam)
    }
}
