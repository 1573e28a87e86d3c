//! `[[step]]`s: each gives exactly one action (send, expect…, a file check, wait, reopen);
//! `${…}` names are checked here, at load, with the step's line.

use std::time::Duration;

use toml::Spanned;

use super::error::ScenarioError;
use super::load::{filler, inside_root, Ctx};
use super::paths::MAX_DATA_BYTES;
use super::raw::{RawFileCheck, RawStep};
use super::{Expect, Expectation, FileCheck, RegexText, Step, StepKind, DEFAULT_EXPECT_TIMEOUT};

/// The `${…}` names steps may use: the scenario server's address.
pub(super) fn step_vars(server: bool) -> Vec<&'static str> {
    if server {
        vec!["ftp_port", "ftp_host"]
    } else {
        Vec::new()
    }
}

/// A `${name}` whose name is not one of `vars` (a typo, or no `[ftp_server]` to give it).
fn check_vars(text: &str, vars: &[&str]) -> Result<(), String> {
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let tail = &rest[i + 2..];
        let Some(end) = tail.find('}') else {
            return Err(format!("`${{` without its `}}` in {text:?}"));
        };
        let name = &tail[..end];
        if !vars.contains(&name) {
            return Err(if vars.is_empty() {
                format!("${{{name}}}: no variables without an [ftp_server]")
            } else {
                format!("${{{name}}} is not a variable (${{ftp_port}}, ${{ftp_host}})")
            });
        }
        rest = &tail[end + 1..];
    }
    Ok(())
}

/// Every action a step gives, with its key name (a step must give exactly one).
fn step_kinds(
    cx: &Ctx,
    line: usize,
    s: RawStep,
) -> Result<Vec<(&'static str, StepKind)>, ScenarioError> {
    let timeout = s.timeout.map(|d| d.0).unwrap_or(DEFAULT_EXPECT_TIMEOUT);
    let expect = |e| {
        StepKind::Expect(Expectation {
            expect: e,
            timeout,
            not_before: s.not_before.map(|d| d.0),
        })
    };
    let err = |key: &str, msg: String| ScenarioError::new(cx.path, line, key, msg);
    let mut kinds = Vec::new();
    if let Some(t) = s.send {
        kinds.push(("send", StepKind::Send(t.into_bytes())));
    }
    if let Some(t) = s.line {
        kinds.push(("line", StepKind::Send(format!("{t}\r").into_bytes())));
    }
    if let Some(b) = s.bytes {
        kinds.push(("bytes", StepKind::Send(b)));
    }
    if let Some(n) = s.send_size {
        if n > MAX_DATA_BYTES {
            let msg = format!("{n} bytes is more than the limit of {MAX_DATA_BYTES}");
            return Err(err("step.send_size", msg));
        }
        kinds.push(("send_size", StepKind::Send(filler(n))));
    }
    if let Some(l) = s.expect {
        kinds.push(("expect", expect(Expect::Line(l))));
    }
    if let Some(r) = s.expect_regex {
        let re = regex::Regex::new(r.get_ref())
            .map_err(|e| cx.err(r.span(), "step.expect_regex", format!("bad regex: {e}")))?;
        kinds.push(("expect_regex", expect(Expect::Regex(RegexText(re)))));
    }
    if let Some(b) = s.expect_bytes {
        kinds.push(("expect_bytes", expect(Expect::Bytes(b.into_bytes()))));
    }
    for (key, list, make) in [
        (
            "expect_any",
            s.expect_any,
            Expect::Any as fn(Vec<String>) -> Expect,
        ),
        ("expect_unordered", s.expect_unordered, Expect::Unordered),
    ] {
        if let Some(l) = list {
            if l.get_ref().is_empty() {
                return Err(cx.err(l.span(), &format!("step.{key}"), "give at least one line"));
            }
            kinds.push((key, expect(make(l.into_inner()))));
        }
    }
    if let Some(d) = s.expect_silence {
        kinds.push(("expect_silence", StepKind::ExpectSilence(d.0)));
    }
    for (key, check, make) in [
        (
            "expect_server_file",
            s.expect_server_file,
            StepKind::ExpectServerFile as fn(FileCheck) -> StepKind,
        ),
        (
            "expect_ufs_file",
            s.expect_ufs_file,
            StepKind::ExpectUfsFile,
        ),
    ] {
        if let Some(c) = check {
            kinds.push((key, make(file_check(cx, key, c, timeout)?)));
        }
    }
    if let Some(w) = s.wait {
        kinds.push(("wait", StepKind::Wait(w.0)));
    }
    if s.reopen == Some(true) {
        kinds.push(("reopen", StepKind::Reopen));
    }
    Ok(kinds)
}

/// An `expect_server_file` / `expect_ufs_file` table.
fn file_check(
    cx: &Ctx,
    key: &str,
    c: Spanned<RawFileCheck>,
    timeout: Duration,
) -> Result<FileCheck, ScenarioError> {
    let span = c.span();
    let c = c.into_inner();
    let err = |k: &str, m: &str| cx.err(span.clone(), &format!("step.{key}{k}"), m.to_string());
    if !inside_root(&c.name) {
        return Err(err(".name", "a relative path of plain names (no `..`)"));
    }
    let checks = [c.size.is_some(), c.sha256.is_some(), c.text.is_some()];
    if c.absent == checks.contains(&true) {
        return Err(err(
            "",
            "give size, sha256 or text (or absent = true alone)",
        ));
    }
    let sha256 = c.sha256.map(|h| h.to_ascii_lowercase());
    if sha256
        .as_ref()
        .is_some_and(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(err(".sha256", "64 hex digits"));
    }
    Ok(FileCheck {
        name: c.name,
        size: c.size,
        sha256,
        text: c.text,
        absent: c.absent,
        timeout,
    })
}

/// The most times a `repeat` group runs (1.4 M CSQ cycles are a 100 MB log).
pub const MAX_REPEAT: u64 = 1_000_000_000;
/// The most steps in one `repeat` group.
pub const MAX_REPEAT_STEPS: usize = 10_000;

pub(super) fn step(cx: &Ctx, s: Spanned<RawStep>, vars: &[&str]) -> Result<Step, ScenarioError> {
    step_in(cx, s, vars, false)
}

/// A `repeat = N` step: its `steps` (no repeat among them), run N times.
fn repeat_step(
    cx: &Ctx,
    line: usize,
    s: RawStep,
    vars: &[&str],
    inside_repeat: bool,
) -> Result<Step, ScenarioError> {
    let err = |key: &str, msg: &str| -> Result<Step, ScenarioError> {
        Err(ScenarioError::new(cx.path, line, key, msg.to_string()))
    };
    if inside_repeat {
        return err(
            "step.steps.repeat",
            "a repeat's steps cannot repeat again (one level only)",
        );
    }
    let mut rest = s;
    let (times, inner) = match (rest.repeat.take(), rest.steps.take()) {
        (Some(times), Some(inner)) => (times, inner),
        (Some(_), None) => {
            return err(
                "step.steps",
                "`repeat` needs its `steps` (the group to run N times)",
            )
        }
        (None, _) => {
            return err(
                "step.repeat",
                "`steps` needs `repeat = N` (how many times they run)",
            )
        }
    };
    if !(1..=MAX_REPEAT).contains(times.get_ref()) {
        let msg = format!("{}: give 1 to {MAX_REPEAT}", times.get_ref());
        return Err(cx.err(times.span(), "step.repeat", msg));
    }
    if inner.get_ref().is_empty() || inner.get_ref().len() > MAX_REPEAT_STEPS {
        let msg = format!("give 1 to {MAX_REPEAT_STEPS} steps to repeat");
        return Err(cx.err(inner.span(), "step.steps", msg));
    }
    if rest.timeout.is_some() || rest.not_before.is_some() {
        return err(
            "step.repeat",
            "`timeout` and `not_before` go on the repeated steps, not on `repeat`",
        );
    }
    if let Some((name, _)) = step_kinds(cx, line, rest)?.first() {
        return err(
            &format!("step.{name}"),
            &format!("one action per step: `repeat` and `{name}` are both given"),
        );
    }
    let steps = inner
        .into_inner()
        .into_iter()
        .map(|s| step_in(cx, s, vars, true))
        .collect::<Result<_, _>>()?;
    Ok(Step {
        line,
        kind: StepKind::Repeat {
            times: *times.get_ref(),
            steps,
        },
    })
}

fn step_in(
    cx: &Ctx,
    s: Spanned<RawStep>,
    vars: &[&str],
    inside_repeat: bool,
) -> Result<Step, ScenarioError> {
    let line = cx.line(s.span());
    let s = s.into_inner();
    if s.repeat.is_some() || s.steps.is_some() {
        return repeat_step(cx, line, s, vars, inside_repeat);
    }
    let has_timeout = s.timeout.is_some();
    let has_not_before = s.not_before.is_some();
    let texts: Vec<(&str, &str)> = [
        ("send", s.send.as_deref()),
        ("line", s.line.as_deref()),
        ("expect", s.expect.as_deref()),
        (
            "expect_regex",
            s.expect_regex.as_ref().map(|r| r.get_ref().as_str()),
        ),
        ("expect_bytes", s.expect_bytes.as_deref()),
    ]
    .into_iter()
    .filter_map(|(k, t)| t.map(|t| (k, t)))
    .chain(
        ["expect_any", "expect_unordered"]
            .into_iter()
            .zip([&s.expect_any, &s.expect_unordered])
            .flat_map(move |(k, l)| {
                l.iter()
                    .flat_map(move |l| l.get_ref().iter().map(move |t| (k, t.as_str())))
            }),
    )
    .collect();
    for (key, text) in texts {
        check_vars(text, vars)
            .map_err(|m| ScenarioError::new(cx.path, line, &format!("step.{key}"), m))?;
    }
    let mut kinds = step_kinds(cx, line, s)?;
    let err = |key: &str, msg: String| Err(ScenarioError::new(cx.path, line, key, msg));
    match kinds.len() {
        0 => err("step", "a step needs one of send, line, bytes, send_size, expect, expect_regex, expect_bytes, expect_any, expect_unordered, expect_silence, expect_server_file, expect_ufs_file, wait, reopen, repeat".into()),
        1 => {
            let (name, kind) = kinds.pop().expect("one");
            let waits = matches!(kind, StepKind::Expect(_) | StepKind::ExpectServerFile(_) | StepKind::ExpectUfsFile(_));
            if has_timeout && !waits {
                return err("step.timeout", format!("`timeout` applies to expectations, not to `{name}`"));
            }
            if has_not_before && !matches!(kind, StepKind::Expect(_)) {
                return err("step.not_before", format!("`not_before` applies to expectations of lines or bytes, not to `{name}`"));
            }
            Ok(Step { line, kind })
        }
        _ => err(&format!("step.{}", kinds[1].0), format!(
            "one action per step: `{}` and `{}` are both given", kinds[0].0, kinds[1].0
        )),
    }
}
