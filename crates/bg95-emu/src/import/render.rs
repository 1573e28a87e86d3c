//! The scenario file an import writes, and its report (the same lines on stderr and as
//! comments at the top of the file).

use std::fmt::Write as _;

use super::build::{q, Builder, ServerFile};
use super::clean::printable;
use super::log::{Shape, Unplaced};

/// Server files up to this size (and valid UTF-8) are written inline.
const INLINE_LIMIT: usize = 64 * 1024;
/// A file the log names but never sizes.
const UNKNOWN_SIZE: u64 = 1024;
/// The filler past a reset's offset when the log gives no larger size.
const RESET_MARGIN: u64 = 65536;

pub(super) struct Header<'a> {
    pub source: &'a str,
    pub shape: Shape,
    pub scores: &'a [(Shape, usize)],
    pub unplaced: &'a [Unplaced],
    pub unplaced_total: usize,
    pub data_dir: &'a str,
    pub recorded: &'a super::recorded::Recorded,
}

pub(super) struct Rendered {
    pub toml: String,
    pub report: Vec<String>,
    pub data_files: Vec<(String, Vec<u8>)>,
    /// The scenario is incomplete (it must not be written).
    pub failed: Option<String>,
}

pub(super) fn render(b: &mut Builder, h: &Header) -> Rendered {
    let mut report = Vec::new();
    let scores: Vec<String> = h
        .scores
        .iter()
        .map(|(s, n)| format!("{} {n}", s.name()))
        .collect();
    report.push(format!(
        "format: {} (lines placed in the sample: {})",
        h.shape.name(),
        scores.join(", ")
    ));
    report.extend(start_report(b));
    let mut data_files = Vec::new();
    let files = files_section(b, h.data_dir, &mut report, &mut data_files);
    for f in &b.faults {
        let summary: Vec<&str> = f.lines().filter(|l| !l.starts_with("text =")).collect();
        report.push(format!("fault: {}", summary.join(", ")));
    }
    report.extend(password_report(b));
    report.extend(b.notes.iter().cloned());
    if h.unplaced_total > 0 {
        report.push(format!(
            "{} line(s) not placed (listed below)",
            h.unplaced_total
        ));
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Imported by `bg95-emu import` from {}.",
        printable(h.source)
    );
    for r in &report {
        let _ = writeln!(s, "# {}", printable(r));
    }
    for u in h.unplaced {
        let _ = writeln!(s, "# not placed: line {}: {}", u.line, printable(&u.text));
    }
    if h.unplaced_total > h.unplaced.len() {
        let _ = writeln!(s, "# … and {} more", h.unplaced_total - h.unplaced.len());
    }
    let _ = writeln!(s, "name = {}", q(&format!("imported from {}", h.source)));
    module_section(b, h.recorded, &mut s);
    network_section(b, &mut s);
    let (user, pass) = b.user.clone().unwrap_or(("test".into(), "test".into()));
    let _ = writeln!(s, "\n[ftp_server]\nroot = \"ftp-root\"");
    let _ = writeln!(
        s,
        "users = [{{ user = {}, password = {} }}]",
        q(&user),
        q(&pass)
    );
    let _ = writeln!(s, "[ftp_server.files]");
    s.push_str(&files);
    for (i, f) in b.faults.iter().enumerate() {
        let _ = writeln!(s, "\n[[fault]]\nname = \"imported-{}\"\n{f}", i + 1);
    }
    steps(&mut s, "setup", &b.setup);
    let failed = b
        .steps
        .write_into(&mut s)
        .err()
        .map(|e| format!("the steps' temporary file could not be read back: {e}"));
    Rendered {
        toml: s,
        report,
        data_files,
        failed,
    }
}

fn steps(s: &mut String, table: &str, steps: &[String]) {
    for step in steps {
        if step.starts_with("timeout = ") {
            let _ = writeln!(s, "{step}");
        } else {
            let _ = writeln!(s, "[[{table}]]\n{step}");
        }
    }
}

fn start_report(b: &Builder) -> Vec<String> {
    let mut out = Vec::new();
    for (cid, ip) in &b.start.contexts {
        out.push(format!(
            "start state: context {cid} already active with {ip}"
        ));
    }
    for (item, v) in &b.start.qftpcfg {
        let v = match item.as_str() {
            "account"
                if b.user
                    .as_ref()
                    .is_some_and(|(u, p)| u == "test" && p == "test") =>
            {
                "test/test: the log sets none; the scenario's server has that user"
            }
            "account" => "[user, password]",
            _ => v,
        };
        out.push(format!("start state: QFTPCFG {item} already set ({v})"));
    }
    if let Some(state) = b.start.registration {
        let key = if state == "roaming" {
            "[module] registration"
        } else {
            "[network] registration at 0s"
        };
        out.push(format!("start state: registration {state} ({key})"));
    }
    if b.start.session {
        out.push("start state: the log starts inside an FTP session; [[setup]] opens one".into());
    }
    if out.is_empty() {
        out.push("start state: none needed (the log sets up what it uses)".into());
    }
    out
}

fn password_report(b: &Builder) -> Vec<String> {
    if !b.account_from_log {
        return Vec::new();
    }
    vec![if b.transcript {
        "password: [ftp_server] users copies the transcript's AT+QFTPCFG=\"account\" as recorded (a recording masks the password; the imported steps send the same masked one)".to_string()
    } else {
        "password: the log's AT+QFTPCFG=\"account\" password is in this file in plain text ([ftp_server] users and the account step): replaying needs it; do not share the file as is".to_string()
    }]
}

fn module_section(b: &Builder, rec: &super::recorded::Recorded, s: &mut String) {
    let roaming = b.start.registration == Some("roaming");
    if !b.start.contexts.is_empty() || roaming || !rec.module_keys.is_empty() {
        let _ = writeln!(s, "\n[module]");
    }
    for key in &rec.module_keys {
        let _ = writeln!(s, "{key}");
    }
    if roaming {
        let _ = writeln!(s, "registration = \"roaming\"");
    }
    if !b.start.contexts.is_empty() {
        let ctx: Vec<String> = b
            .start
            .contexts
            .iter()
            .map(|(c, ip)| format!("{c} = {}", q(ip)))
            .collect();
        let _ = writeln!(s, "active_contexts = {{ {} }}", ctx.join(", "));
    }
    if !rec.ufs.is_empty() {
        let _ = writeln!(s, "\n[module.ufs]");
        for f in &rec.ufs {
            let _ = writeln!(s, "{f}");
        }
    }
    if !b.start.qftpcfg.is_empty() {
        let _ = writeln!(s, "\n[module.qftpcfg]");
        for (item, v) in &b.start.qftpcfg {
            let _ = writeln!(s, "{item} = {v}");
        }
    }
}

fn network_section(b: &Builder, s: &mut String) {
    let _ = writeln!(s, "\n[network]\ndns_exclusive = true");
    if let Some(state) = b.start.registration.filter(|s| *s != "roaming") {
        let _ = writeln!(s, "registration = [{{ at = \"0s\", state = \"{state}\" }}]");
    }
    let _ = writeln!(s, "[network.dns]");
    for h in &b.hosts {
        let _ = writeln!(s, "{} = \"127.0.0.1\"", q(h));
    }
    let pdp: Vec<_> = b
        .pdp_addresses
        .iter()
        .filter(|(c, ip)| b.start.contexts.get(c).is_none_or(|a| a != *ip))
        .filter(|(c, _)| !b.start.contexts.contains_key(c))
        .collect();
    if !pdp.is_empty() {
        let _ = writeln!(s, "[network.pdp]");
        for (cid, ip) in pdp {
            let _ = writeln!(s, "{cid} = {}", q(ip));
        }
    }
}

/// `[ftp_server.files]`: one entry per file; large or binary content goes to a data file.
fn files_section(
    b: &mut Builder,
    data_dir: &str,
    report: &mut Vec<String>,
    data_files: &mut Vec<(String, Vec<u8>)>,
) -> String {
    let mut s = String::new();
    for d in &b.folders {
        if !d.is_empty() && !b.files.keys().any(|f| f.starts_with(&format!("{d}/"))) {
            let _ = writeln!(s, "{} = {{ text = \"\" }}", q(&format!("{d}/.keep")));
        }
    }
    for (path, f) in b.files.iter_mut() {
        let (value, what) = file_value(path, f, data_dir, data_files);
        report.push(format!("server file {path:?}: {what}"));
        let _ = writeln!(s, "{} = {value}", q(path));
    }
    s
}

fn file_value(
    path: &str,
    f: &mut ServerFile,
    data_dir: &str,
    data_files: &mut Vec<(String, Vec<u8>)>,
) -> (String, String) {
    if let Some(c) = f.content.take() {
        let what = format!("{} bytes, the content the log shows", c.len());
        return match String::from_utf8(c) {
            Ok(t) if t.len() <= INLINE_LIMIT => (format!("{{ text = {} }}", q(&t)), what),
            Ok(t) => data_file(path, t.into_bytes(), data_dir, data_files, what),
            Err(e) => data_file(path, e.into_bytes(), data_dir, data_files, what),
        };
    }
    let (size, what) = match f.size {
        Some(n) if n >= f.at_least => (
            n,
            format!("{n} bytes of filler (size from {})", f.size_from),
        ),
        _ if f.at_least > 0 => {
            let n = f.at_least - 1 + RESET_MARGIN;
            (
                n,
                format!("{n} bytes of filler (a reset's offset + 64 KiB)"),
            )
        }
        _ => (
            UNKNOWN_SIZE,
            format!("{UNKNOWN_SIZE} bytes of filler (the log gives no size)"),
        ),
    };
    (format!("{{ size = {size} }}"), what)
}

fn data_file(
    path: &str,
    bytes: Vec<u8>,
    data_dir: &str,
    data_files: &mut Vec<(String, Vec<u8>)>,
    what: String,
) -> (String, String) {
    let rel = format!("{data_dir}/{path}");
    let what = format!("{what}, in {rel}");
    data_files.push((rel.clone(), bytes));
    (format!("{{ path = {} }}", q(&rel)), what)
}
