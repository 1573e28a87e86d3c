//! `bg95-emu import LOG -o FILE.toml`: a log of AT traffic from the field → a scenario whose
//! steps send the host's commands and expect the module's answers, whose faults make a
//! healthy emulator give the answers the field module gave, and whose embedded server holds
//! the files and folders the log touches (docs/scenarios.md "Importing a field log").

pub mod log;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use log::{starts_with_at, Dir, Entry, Shape, Unplaced};

/// What an import produced.
#[derive(Debug)]
pub struct Imported {
    pub shape: Shape,
    /// The scenario file's text.
    pub toml: String,
    /// Lines of the log that could not be placed (also listed in the file as comments).
    pub unplaced: Vec<Unplaced>,
    /// Faults that replace an AT answer (`at_answer`, the core's answer override).
    pub overrides: usize,
}

/// Default AT+QFTPCFG "rsptimeout" (seconds).
const DEFAULT_RSPTIMEOUT: u64 = 90;
/// Host pauses shorter than this are not written as waits.
const MIN_WAIT: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Builder {
    steps: Vec<String>,
    faults: Vec<String>,
    /// Server path → (content, size).
    files: BTreeMap<String, (Option<Vec<u8>>, Option<u64>)>,
    folders: BTreeSet<String>,
    hosts: BTreeSet<String>,
    users: Vec<(String, String)>,
    counts: BTreeMap<String, usize>,
    transfers: usize,
    passes: usize,
    rsptimeout: u64,
    cwd: String,
    /// The last command line the host sent, and its name (`+QFTPGET`).
    last: Option<(String, String)>,
    /// Bytes of a COM download being shown, while in its data.
    get_data: Option<Vec<u8>>,
    last_data: Vec<u8>,
    /// The step index of a `data_reset` fault waiting for its byte count (from QFTPLEN).
    reset_waiting: Option<usize>,
    prev_at: Option<Duration>,
    overrides: usize,
    /// A transcript's `<` bytes are exact: read as a byte stream (`pending`), so a COM
    /// download's data is counted byte for byte, line ends included.
    byte_exact: bool,
    pending: Vec<u8>,
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn bytes_q(b: &[u8]) -> String {
    q(&String::from_utf8_lossy(b))
}

/// `+QFTPGET` of `AT+QFTPGET="a","COM:"`; `E` of `ATE0`.
fn command_name(line: &str) -> String {
    let body = &line[2..];
    let end = body.find(['=', '?']).unwrap_or(body.len());
    body[..end].to_ascii_uppercase()
}

/// The quoted arguments of a command line.
fn quoted_args(line: &str) -> Vec<String> {
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The FTP verb an FTP AT command sends (for reply faults).
fn verb_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "+QFTPOPEN" => "PASS",
        "+QFTPCWD" => "CWD",
        "+QFTPPWD" => "PWD",
        "+QFTPSIZE" => "SIZE",
        "+QFTPDEL" => "DELE",
        "+QFTPMKDIR" => "MKD",
        "+QFTPRMDIR" => "RMD",
        "+QFTPRENAME" => "RNFR",
        "+QFTPMDTM" => "MDTM",
        "+QFTPGET" => "RETR",
        "+QFTPPUT" => "STOR",
        "+QFTPLIST" => "LIST",
        "+QFTPNLST" => "NLST",
        "+QFTPMLSD" => "MLSD",
        "+QFTPCLOSE" => "QUIT",
        _ => return None,
    })
}

impl Builder {
    fn path(&self, name: &str) -> String {
        let p = if name.starts_with('/') {
            name.to_string()
        } else {
            format!("{}/{name}", self.cwd.trim_end_matches('/'))
        };
        p.trim_start_matches('/').to_string()
    }

    fn wait_before(&mut self, e: &Entry) {
        if let (Some(at), Some(prev)) = (e.at, self.prev_at) {
            let gap = at.saturating_sub(prev);
            if e.dir == Dir::Host && gap >= MIN_WAIT {
                self.steps.push(format!("wait = \"{}ms\"", gap.as_millis()));
            }
        }
        if e.at.is_some() {
            self.prev_at = e.at;
        }
    }

    fn host(&mut self, e: &Entry) {
        self.wait_before(e);
        if !starts_with_at(&e.bytes) {
            self.steps.push(format!("send = {}", bytes_q(&e.bytes)));
            return;
        }
        let line = String::from_utf8_lossy(&e.bytes)
            .trim_end_matches(['\r', '\n'])
            .to_string();
        let name = command_name(&line);
        *self.counts.entry(name.clone()).or_default() += 1;
        let sent = self.command(&line, &name);
        self.steps.push(format!("line = {}", q(&sent)));
        self.last = Some((line, name));
    }

    /// Learn from a command; the line to send (a QFTPOPEN goes to the scenario's server).
    fn command(&mut self, line: &str, name: &str) -> String {
        let args = quoted_args(line);
        match name {
            "+QFTPOPEN" => {
                // The log never set an account: the scenario's server has test/test, and
                // a module without one would send an empty USER.
                if self.users.is_empty() {
                    self.users = vec![("test".into(), "test".into())];
                    self.steps.push(
                        "line = 'AT+QFTPCFG=\"account\",\"test\",\"test\"' # not in the log".into(),
                    );
                    self.steps.push("expect = \"OK\"".into());
                }
                let host = args.first().cloned().unwrap_or_default();
                let target = if host.parse::<std::net::IpAddr>().is_ok() {
                    "${ftp_host}".to_string()
                } else {
                    self.hosts.insert(host.clone());
                    host
                };
                return format!("AT+QFTPOPEN=\"{target}\",${{ftp_port}}");
            }
            "+QFTPCFG"
                if args
                    .first()
                    .is_some_and(|a| a.eq_ignore_ascii_case("account")) =>
            {
                if let (Some(u), Some(p)) = (args.get(1), args.get(2)) {
                    self.users = vec![(u.clone(), p.clone())];
                }
            }
            "+QFTPCFG" if args.first().is_some_and(|a| a == "rsptimeout") => {
                if let Some(n) = line.rsplit(',').next().and_then(|n| n.trim().parse().ok()) {
                    self.rsptimeout = n;
                }
            }
            "+QFTPGET" | "+QFTPPUT" | "+QFTPLIST" | "+QFTPNLST" | "+QFTPMLSD" => {
                self.transfers += 1;
                if name == "+QFTPGET" {
                    if let Some(f) = args.first() {
                        let p = self.path(f);
                        self.files.entry(p).or_default();
                    }
                }
            }
            _ => {}
        }
        line.to_string()
    }

    fn module(&mut self, e: &Entry) {
        self.wait_before(e);
        if self.byte_exact {
            return self.module_bytes(&e.bytes);
        }
        let text = String::from_utf8_lossy(&e.bytes).into_owned();
        for l in text.lines() {
            let l = l.trim_end_matches('\r');
            if let Some(data) = self.get_data.as_mut() {
                if l != "OK" && !l.starts_with("+QFTPGET:") {
                    data.extend_from_slice(l.as_bytes());
                    data.extend_from_slice(b"\r\n");
                    continue;
                }
                self.last_data = self.get_data.take().unwrap_or_default();
            }
            if l.is_empty() || self.last.as_ref().is_some_and(|(c, _)| c == l) {
                continue;
            }
            self.answer(l);
        }
    }

    /// Module bytes of a transcript: whole lines as answers; in a COM download, everything
    /// up to the `\r\nOK\r\n` that ends it is data.
    fn module_bytes(&mut self, bytes: &[u8]) {
        const END: &[u8] = b"\r\nOK\r\n";
        self.pending.extend_from_slice(bytes);
        loop {
            if let Some(data) = self.get_data.as_mut() {
                let Some(pos) = self.pending.windows(END.len()).position(|w| w == END) else {
                    // Keep what could be the start of the end marker.
                    let keep = self.pending.len().saturating_sub(END.len() - 1);
                    data.extend(self.pending.drain(..keep));
                    return;
                };
                data.extend(self.pending.drain(..pos));
                self.last_data = self.get_data.take().unwrap_or_default();
                continue;
            }
            let Some(i) = self.pending.iter().position(|&b| b == b'\n') else {
                return;
            };
            let line: Vec<u8> = self.pending.drain(..=i).collect();
            let text = String::from_utf8_lossy(&line).into_owned();
            let l = text.trim_end_matches(['\r', '\n']).trim_start_matches('\r');
            if l.is_empty() || self.last.as_ref().is_some_and(|(c, _)| c == l) {
                continue;
            }
            self.answer(l);
        }
    }

    fn expect(&mut self, l: &str, long: bool) {
        self.steps.push(format!("expect = {}", q(l)));
        if long {
            self.steps
                .push(format!("timeout = \"{}s\"", self.rsptimeout + 10));
        }
    }

    fn answer(&mut self, l: &str) {
        let name = self
            .last
            .as_ref()
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        if l == "CONNECT" {
            if name == "+QFTPGET"
                && self
                    .last
                    .as_ref()
                    .is_some_and(|(c, _)| c.contains("\"COM:"))
            {
                self.get_data = Some(Vec::new());
                self.last_data.clear();
            }
            return self.expect(l, true);
        }
        if let Some(rest) = l.strip_prefix("+QFTPLEN: 0,") {
            if let (Some(i), Ok(n)) = (self.reset_waiting.take(), rest.trim().parse::<u64>()) {
                self.faults[i] =
                    self.faults[i].replace("after_bytes = 0", &format!("after_bytes = {n}"));
                self.grow_last_file(n);
            }
        }
        if l.starts_with("+QFTP") && l.contains(": ") {
            return self.ftp_urc(l, &name);
        }
        let failed = l == "ERROR" || l.starts_with("+CME ERROR:");
        if failed && name == "+CPIN" && l == "+CME ERROR: 10" {
            self.fault(&name, "action = \"sim_removed\"".into());
        } else if failed && !name.is_empty() {
            self.overrides += 1;
            self.fault(
                &name,
                format!("action = \"at_answer\"\nlines = []\nresult = {}", q(l)),
            );
        }
        self.expect(l, false);
    }

    /// A fault on the nth time the last command was sent.
    fn fault(&mut self, name: &str, action: String) {
        let nth = self.counts.get(name).copied().unwrap_or(1);
        self.faults.push(format!(
            "on = \"at_command\"\ncommand = {}\nnth = {nth}\n{action}",
            q(name)
        ));
    }

    fn grow_last_file(&mut self, at_least: u64) {
        if let Some((_, size)) = self.files.values_mut().last() {
            let s = size.get_or_insert(0);
            *s = (*s).max(at_least + 65536);
        }
    }

    fn ftp_urc(&mut self, l: &str, name: &str) {
        let (urc, args) = l.split_once(": ").unwrap_or((l, ""));
        let mut nums = args.split(',').map(|n| n.trim().parse::<u64>().ok());
        let (err, proto) = (nums.next().flatten(), nums.next().flatten());
        let mut exact = true;
        match (urc, err, proto) {
            ("+QFTPOPEN", Some(0), _) => self.passes += 1,
            ("+QFTPOPEN", Some(604), _) => self.fault(name, "action = \"dns_failure\"".into()),
            ("+QFTPOPEN", Some(_), Some(530)) => {
                self.passes += 1;
                self.faults.push(format!(
                    "on = \"ftp_command\"\nverb = \"PASS\"\nnth = {}\naction = \"reply\"\ncode = 530\ntext = \"Login incorrect.\"",
                    self.passes
                ));
            }
            ("+QFTPCWD", Some(0), _) => {
                if let Some((c, _)) = &self.last {
                    if let Some(d) = quoted_args(c).first() {
                        let p = self.path(d);
                        self.cwd = format!("/{p}");
                        self.folders.insert(p);
                    }
                }
            }
            ("+QFTPSIZE", Some(0), Some(n)) | ("+QFTPGET", Some(0), Some(n)) => self.file_size(n),
            ("+QFTPGET" | "+QFTPPUT", Some(e @ (607 | 608)), _) => {
                exact = false;
                let n = self.last_data.len();
                let direction = if e == 607 { "download" } else { "upload" };
                self.faults.push(format!(
                    "on = \"transfer\"\nnth = {}\ndirection = \"{direction}\"\nafter_bytes = {n}\naction = \"data_reset\"",
                    self.transfers
                ));
                if n == 0 {
                    self.reset_waiting = Some(self.faults.len() - 1);
                }
                self.grow_last_file(n as u64);
            }
            (_, Some(609), _) => {
                exact = false;
                if let Some(verb) = verb_of(name) {
                    self.faults.push(format!(
                        "on = \"ftp_command\"\nverb = \"{verb}\"\naction = \"reply_delay\"\ndelay = \"{}s\"",
                        self.rsptimeout + 5
                    ));
                }
            }
            (_, Some(e), Some(p)) if e != 0 && p >= 400 => {
                if let Some(verb) = verb_of(name) {
                    self.faults.push(format!(
                        "on = \"ftp_command\"\nverb = \"{verb}\"\naction = \"reply\"\ncode = {p}\ntext = \"Imported reply.\""
                    ));
                }
            }
            _ => {}
        }
        if exact {
            self.expect(l, true);
        } else {
            let re = format!("^\\{urc}: {},\\d+$", err.unwrap_or(0));
            self.steps.push(format!("expect_regex = '{re}'"));
            self.steps
                .push(format!("timeout = \"{}s\"", self.rsptimeout + 10));
        }
    }

    /// A size the log reports for the file of the last command; its content when the log
    /// showed exactly that many bytes.
    fn file_size(&mut self, n: u64) {
        let Some((c, _)) = &self.last else { return };
        let Some(f) = quoted_args(c).first().cloned() else {
            return;
        };
        let p = self.path(&f);
        let data = std::mem::take(&mut self.last_data);
        let slot = self.files.entry(p).or_default();
        slot.1 = Some(slot.1.unwrap_or(0).max(n));
        // The log shows lines, not bytes: the CR LF after the last line may be the module's.
        for cand in [
            data.clone(),
            data.strip_suffix(b"\r\n").unwrap_or(&data).to_vec(),
        ] {
            if cand.len() as u64 == n && n > 0 {
                slot.0 = Some(cand);
            }
        }
    }
}

/// Import a log's text (`source` names it in the file's header).
pub fn import(text: &str, source: &str) -> Imported {
    let (shape, entries, unplaced) = log::read(text);
    let mut b = Builder {
        rsptimeout: DEFAULT_RSPTIMEOUT,
        cwd: "/".into(),
        byte_exact: shape == Shape::Transcript,
        ..Builder::default()
    };
    for e in &entries {
        match e.dir {
            Dir::Host => b.host(e),
            Dir::Module => b.module(e),
        }
    }
    let toml = render(&b, shape, source, &unplaced);
    Imported {
        shape,
        toml,
        unplaced,
        overrides: b.overrides,
    }
}

fn render(b: &Builder, shape: Shape, source: &str, unplaced: &[Unplaced]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Imported by `bg95-emu import` from {source} ({shape:?} log)."
    );
    for u in unplaced {
        let _ = writeln!(s, "# not placed: line {}: {}", u.line, u.text);
    }
    let _ = writeln!(s, "name = {}", q(&format!("imported from {source}")));
    let _ = writeln!(s, "\n[network]\ndns_exclusive = true\n[network.dns]");
    for h in &b.hosts {
        let _ = writeln!(s, "{} = \"127.0.0.1\"", q(h));
    }
    let _ = writeln!(s, "\n[ftp_server]\nroot = \"ftp-root\"");
    let users = if b.users.is_empty() {
        vec![("test".to_string(), "test".to_string())]
    } else {
        b.users.clone()
    };
    let users: Vec<String> = users
        .iter()
        .map(|(u, p)| format!("{{ user = {}, password = {} }}", q(u), q(p)))
        .collect();
    let _ = writeln!(s, "users = [{}]", users.join(", "));
    let _ = writeln!(s, "[ftp_server.files]");
    for d in &b.folders {
        if !d.is_empty() && !b.files.keys().any(|f| f.starts_with(&format!("{d}/"))) {
            let _ = writeln!(s, "{} = {{ text = \"\" }}", q(&format!("{d}/.keep")));
        }
    }
    for (path, (content, size)) in &b.files {
        let v = match (content, size) {
            (Some(c), _) => format!("{{ text = {} }}", bytes_q(c)),
            (None, Some(n)) => format!("{{ size = {n} }}"),
            (None, None) => "{ size = 1024 }".to_string(),
        };
        let _ = writeln!(s, "{} = {v}", q(path));
    }
    for (i, f) in b.faults.iter().enumerate() {
        let _ = writeln!(s, "\n[[fault]]\nname = \"imported-{}\"\n{f}", i + 1);
    }
    for step in &b.steps {
        if step.starts_with("timeout = ") {
            let _ = writeln!(s, "{step}");
        } else {
            let _ = writeln!(s, "[[step]]\n{step}");
        }
    }
    s
}
