//! From placed entries to the parts of a scenario: steps, the start state, server files and
//! faults (docs/import.md says what each answer of the field module becomes).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

use super::log::{starts_with_at, Dir, Entry};

/// Default AT+QFTPCFG "rsptimeout" (seconds).
const DEFAULT_RSPTIMEOUT: u64 = 90;
/// A little more than the default escape guard time (S12 = 50 → 1 s).
const GUARD: Duration = Duration::from_millis(1100);
/// More steps than this get a note (the runner's memory grows with them).
const MANY_STEPS: usize = 100_000;
/// Exact bytes without a line end are held at most this long.
const MAX_LINE_BYTES: usize = 64 * 1024;
/// Host pauses shorter than this are not written as waits.
const MIN_WAIT: Duration = Duration::from_millis(50);
/// Longer pauses are shortened to this (a log spanning hours need not run for hours).
pub const MAX_WAIT: Duration = Duration::from_secs(10);

pub(super) fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `+QFTPGET` of `AT+QFTPGET="a","COM:"`; `E` of `ATE0`.
fn command_name(line: &str) -> String {
    let body = line.get(2..).unwrap_or("");
    let end = body.find(['=', '?']).unwrap_or(body.len());
    body[..end].trim().to_ascii_uppercase()
}

/// The quoted arguments of a command line (or of an answer).
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

/// Commands that need an open session: one before any AT+QFTPOPEN means the log started
/// inside a session.
const SESSION_COMMANDS: &[&str] = &[
    "+QFTPCWD",
    "+QFTPPWD",
    "+QFTPSIZE",
    "+QFTPDEL",
    "+QFTPMKDIR",
    "+QFTPRMDIR",
    "+QFTPRENAME",
    "+QFTPMDTM",
    "+QFTPGET",
    "+QFTPPUT",
    "+QFTPLIST",
    "+QFTPNLST",
    "+QFTPMLSD",
    "+QFTPCLOSE",
];

/// A Unix `ls -l` line of a LIST answer: type, size, name.
static LIST_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([-dl])[rwxsStT-]{9}\S*\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\w{3}\s+\d+\s+[\d:]+\s+(.+)$")
        .expect("list regex")
});

/// A server file as the log shows it.
#[derive(Debug, Default, Clone)]
pub(super) struct ServerFile {
    /// Its bytes, when a COM download showed all of them.
    pub content: Option<Vec<u8>>,
    /// Its size, when an answer said it (SIZE, GET, LIST).
    pub size: Option<u64>,
    /// At least this many bytes (a reset after that many).
    pub at_least: u64,
    /// What said the size.
    pub size_from: &'static str,
}

/// The data of a COM transfer being shown.
enum DataRun {
    /// A download: its exact bytes, or the lines a text log showed.
    /// `text` holds a text log's lines joined by LF (`lines` of them): the line end the
    /// module sent is chosen once the size is known, without a second copy per line.
    Get {
        exact: Vec<u8>,
        text: Vec<u8>,
        lines: usize,
    },
    /// A listing (LIST/NLST/MLSD) of this folder.
    List {
        dir: String,
        verb: String,
        lines: Vec<String>,
    },
}

/// What the module was already doing when the log began.
#[derive(Debug, Default)]
pub(super) struct Start {
    pub contexts: BTreeMap<u8, String>,
    /// QFTPCFG item → value as TOML.
    pub qftpcfg: BTreeMap<String, String>,
    /// An FTP session was open: `[[setup]]` opens one.
    pub session: bool,
    /// The registration state the first AT+CREG?/CGREG?/CEREG? answer showed, when not the
    /// default home (`[network] registration` at 0 s).
    pub registration: Option<&'static str>,
}

#[derive(Default)]
pub(super) struct Builder {
    pub steps: super::steps::StepLog,
    pub setup: Vec<String>,
    pub faults: Vec<String>,
    pub files: BTreeMap<String, ServerFile>,
    pub folders: BTreeSet<String>,
    pub hosts: BTreeSet<String>,
    /// The server's user, and whether the log set it (its password is then in the file).
    pub user: Option<(String, String)>,
    pub account_from_log: bool,
    pub start: Start,
    pub pdp_addresses: BTreeMap<u8, String>,
    pub notes: Vec<String>,
    pub overrides: usize,
    pub host_commands: usize,
    pub transcript: bool,
    counts: BTreeMap<String, usize>,
    transfers: usize,
    passes: usize,
    rsptimeout: u64,
    cwd: String,
    /// The last command line the host sent, and its name (`+QFTPGET`).
    last: Option<(String, String)>,
    data: Option<DataRun>,
    last_data: Option<DataRun>,
    /// The file of the last GET.
    last_get: Option<String>,
    /// The step index of a `data_reset` fault waiting for its byte count (from QFTPLEN).
    reset_waiting: Option<usize>,
    prev_at: Option<Duration>,
    /// Exact module bytes not yet a whole line.
    pending: Vec<u8>,
    activated: BTreeSet<u8>,
    set_cfg: BTreeSet<String>,
    seen_registration: bool,
    opened: bool,
    /// Host data (an upload's) not yet a step.
    host_data: Vec<u8>,
    /// Exact host bytes not yet a whole line.
    host_pending: Vec<u8>,
    shortened_waits: usize,
}

impl Builder {
    pub fn new(transcript: bool) -> Builder {
        Builder {
            rsptimeout: DEFAULT_RSPTIMEOUT,
            cwd: "/".into(),
            transcript,
            ..Builder::default()
        }
    }

    pub fn step_count(&self) -> usize {
        self.steps.count()
    }

    pub fn entry(&mut self, e: &Entry) {
        match e.dir {
            Dir::Host => self.host(e),
            Dir::Module => self.module(e),
        }
    }

    /// The end of the log: what is still pending is placed.
    pub fn finish(&mut self) {
        let rest = std::mem::take(&mut self.host_pending);
        self.host_data.extend_from_slice(&rest);
        self.flush_host_data();
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.module_bytes(&rest);
            let tail = std::mem::take(&mut self.pending);
            let text = String::from_utf8_lossy(&tail).trim().to_string();
            if !text.is_empty() && self.data.is_none() {
                self.answer(&text);
            }
        }
        if self.data.is_some() {
            self.notes
                .push("the log ends inside a COM transfer's data".into());
        }
        let steps = self.step_count();
        if steps > MANY_STEPS {
            self.notes.push(format!(
                "{steps} steps that are not identical exchanges in a row (those fold into `repeat` groups): `bg95-emu run` loads scenario files of up to 1 MiB and holds every step (docs/import.md); cut the log to the part around the failure"
            ));
        }
        if self.shortened_waits > 0 {
            self.notes.push(format!(
                "{} pause(s) longer than {}s shortened to {}s",
                self.shortened_waits,
                MAX_WAIT.as_secs(),
                MAX_WAIT.as_secs()
            ));
        }
    }

    /// A server path from a name in the log, relative to the log's current folder; `.`,
    /// `..` and empty parts are dropped, so no path leaves the server's root.
    fn path(&self, name: &str) -> String {
        let full = if name.starts_with('/') {
            name.to_string()
        } else {
            format!("{}/{name}", self.cwd)
        };
        clean_path(&full)
    }

    fn wait_before(&mut self, e: &Entry) {
        if let (Some(at), Some(prev)) = (e.at, self.prev_at) {
            let gap = at.saturating_sub(prev);
            if e.dir == Dir::Host && gap >= MIN_WAIT {
                if gap > MAX_WAIT {
                    self.shortened_waits += 1;
                }
                let gap = gap.min(MAX_WAIT);
                self.steps.push(format!("wait = \"{}ms\"", gap.as_millis()));
            }
        }
        if e.at.is_some() {
            self.prev_at = e.at;
        }
    }

    fn host(&mut self, e: &Entry) {
        if e.bytes.trim_ascii() == b"+++" {
            return self.escape();
        }
        if e.exact {
            // Exact bytes may split a command line (a hex dump's rows): lines end at CR.
            self.host_pending.extend_from_slice(&e.bytes);
            while let Some(i) = self
                .host_pending
                .iter()
                .position(|&b| b == b'\r' || b == b'\n')
            {
                let piece: Vec<u8> = self.host_pending.drain(..=i).collect();
                self.host_piece(e, &piece);
            }
            let long = self.host_pending.len() > MAX_LINE_BYTES;
            if long || (!starts_with_at(&self.host_pending) && self.host_pending.len() >= 2) {
                let data = std::mem::take(&mut self.host_pending);
                self.host_data.extend_from_slice(&data);
            }
            return;
        }
        let mut line = e.bytes.clone();
        line.extend_from_slice(b"\r");
        self.host_piece(e, &line);
    }

    /// One command line the host sent (with its CR), or data.
    fn host_piece(&mut self, e: &Entry, piece: &[u8]) {
        let text = String::from_utf8_lossy(piece);
        let line = text.trim();
        if !starts_with_at(line.as_bytes()) || self.data.is_some() {
            // An upload's data: one step per run, not per log line.
            if !line.is_empty() || !e.exact {
                self.host_data.extend_from_slice(piece);
                if !e.exact {
                    self.host_data.pop();
                    self.host_data.extend_from_slice(b"\r\n");
                }
            }
            return;
        }
        self.flush_host_data();
        self.wait_before(e);
        self.host_line(line);
    }

    /// `+++` ends a COM: upload (or pauses a download) only with the guard time of silence
    /// before and after it (S12, 1 s by default).
    fn escape(&mut self) {
        self.flush_host_data();
        self.steps
            .push(format!("wait = \"{}ms\"", GUARD.as_millis()));
        self.steps.push("send = \"+++\"".into());
        self.steps
            .push(format!("wait = \"{}ms\"", GUARD.as_millis()));
    }

    fn flush_host_data(&mut self) {
        let data = std::mem::take(&mut self.host_data);
        if data.is_empty() {
            return;
        }
        match std::str::from_utf8(&data) {
            Ok(t) if data.len() <= 65536 => self.steps.push(format!("send = {}", q(t))),
            _ => {
                self.notes.push(format!(
                    "an upload of {} bytes is sent as filler of that size (send_size)",
                    data.len()
                ));
                self.steps.push(format!("send_size = {}", data.len()));
            }
        }
    }

    fn host_line(&mut self, line: &str) {
        let name = command_name(line);
        *self.counts.entry(name.clone()).or_default() += 1;
        self.host_commands += 1;
        let sent = self.command(line, &name);
        self.steps.push(format!("line = {}", q(&sent)));
        self.last = Some((line.to_string(), name));
    }

    /// Learn from a command; the line to send (a QFTPOPEN goes to the scenario's server).
    fn command(&mut self, line: &str, name: &str) -> String {
        let args = quoted_args(line);
        if SESSION_COMMANDS.contains(&name) && !self.opened && !self.start.session {
            self.start.session = true;
            self.open_in_setup();
        }
        match name {
            "+QFTPOPEN" => return self.open(&args),
            "+QFTPCFG" => self.qftpcfg(line, &args),
            "+QIACT" => {
                if let Some(cid) = line
                    .split_once('=')
                    .and_then(|(_, c)| c.trim().parse().ok())
                {
                    self.activated.insert(cid);
                }
            }
            "+QFTPGET" | "+QFTPPUT" | "+QFTPLIST" | "+QFTPNLST" | "+QFTPMLSD" => {
                self.transfers += 1;
                if name == "+QFTPGET" {
                    if let Some(f) = args.first() {
                        let p = self.path(f);
                        self.files.entry(p.clone()).or_default();
                        self.last_get = Some(p);
                    }
                }
            }
            _ => {}
        }
        line.to_string()
    }

    /// The scenario's server must know the account the module will send.
    fn ensure_account(&mut self) {
        if self.user.is_none() && !self.start.qftpcfg.contains_key("account") {
            self.user = Some(("test".into(), "test".into()));
            self.start
                .qftpcfg
                .insert("account".into(), "[\"test\", \"test\"]".into());
        }
    }

    fn open(&mut self, args: &[String]) -> String {
        self.opened = true;
        self.ensure_account();
        let host = args.first().cloned().unwrap_or_default();
        let target = if host.parse::<std::net::IpAddr>().is_ok() || host.is_empty() {
            "${ftp_host}".to_string()
        } else {
            self.hosts.insert(host.clone());
            host
        };
        format!("AT+QFTPOPEN=\"{target}\",${{ftp_port}}")
    }

    /// The log starts inside a session: `[[setup]]` opens one (its open and login count
    /// for the faults' `nth`).
    fn open_in_setup(&mut self) {
        self.ensure_account();
        *self.counts.entry("+QFTPOPEN".into()).or_default() += 1;
        self.passes += 1;
        self.setup
            .push("line = 'AT+QFTPOPEN=\"${ftp_host}\",${ftp_port}'".into());
        self.setup.push("expect = \"+QFTPOPEN: 0,0\"".into());
        self.setup
            .push(format!("timeout = \"{}s\"", self.rsptimeout + 10));
    }

    fn qftpcfg(&mut self, line: &str, args: &[String]) {
        let Some(item) = args.first().map(|a| a.to_ascii_lowercase()) else {
            return;
        };
        if !line.contains(',') {
            return; // a query
        }
        self.set_cfg.insert(item.clone());
        if item == "account" {
            if let (Some(u), Some(p)) = (args.get(1), args.get(2)) {
                self.user = Some((u.clone(), p.clone()));
                self.account_from_log = true;
                self.start.qftpcfg.remove("account");
            }
        } else if item == "rsptimeout" {
            if let Some(n) = line.rsplit(',').next().and_then(|n| n.trim().parse().ok()) {
                self.rsptimeout = n;
            }
        }
    }

    fn module(&mut self, e: &Entry) {
        self.wait_before(e);
        if e.exact {
            return self.module_bytes(&e.bytes);
        }
        let text = String::from_utf8_lossy(&e.bytes).into_owned();
        for l in text.split('\n') {
            self.module_line(l.trim_end_matches('\r'));
        }
    }

    /// One line of module text (a text log: line ends not shown).
    fn module_line(&mut self, l: &str) {
        let data_line = l != "OK" && !l.starts_with("+QFTP");
        match self.data.as_mut() {
            Some(DataRun::Get { text, lines, .. }) if data_line => {
                if *lines > 0 {
                    text.push(b'\n');
                }
                text.extend_from_slice(l.as_bytes());
                *lines += 1;
                return;
            }
            Some(DataRun::List { lines, .. }) if data_line => {
                lines.push(l.to_string());
                return;
            }
            Some(_) => self.end_data(),
            None => {}
        }
        if !l.is_empty() {
            self.answer(l);
        }
    }

    /// Module bytes shown exactly: whole lines as answers; in a COM transfer, everything
    /// up to the `\r\nOK\r\n` that ends it is data.
    fn module_bytes(&mut self, bytes: &[u8]) {
        const END: &[u8] = b"\r\nOK\r\n";
        self.pending.extend_from_slice(bytes);
        loop {
            if self.data.is_some() {
                let Some(pos) = self.pending.windows(END.len()).position(|w| w == END) else {
                    // Keep what could be the start of the end marker.
                    let keep = self.pending.len().saturating_sub(END.len() - 1);
                    let taken: Vec<u8> = self.pending.drain(..keep).collect();
                    self.data_bytes(&taken);
                    return;
                };
                let taken: Vec<u8> = self.pending.drain(..pos).collect();
                self.data_bytes(&taken);
                self.end_data();
                continue;
            }
            let Some(i) = self.pending.iter().position(|&b| b == b'\n') else {
                if self.pending.len() > MAX_LINE_BYTES {
                    // No line end for this long: not a line a module writes; placed as one
                    // so the buffer (and the search for its end) stays bounded.
                    let text =
                        String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
                    self.answer(text.trim());
                }
                return;
            };
            let line: Vec<u8> = self.pending.drain(..=i).collect();
            let text = String::from_utf8_lossy(&line).into_owned();
            let l = text.trim_end_matches(['\r', '\n']).trim_start_matches('\r');
            if !l.is_empty() {
                self.answer(l);
            }
        }
    }

    fn data_bytes(&mut self, b: &[u8]) {
        match self.data.as_mut() {
            Some(DataRun::Get { exact, .. }) => exact.extend_from_slice(b),
            Some(DataRun::List { lines, .. }) => {
                let text = String::from_utf8_lossy(b);
                let mut parts = text.split('\n');
                if let (Some(last), Some(first)) = (lines.last_mut(), parts.next()) {
                    last.push_str(first);
                }
                lines.extend(parts.map(str::to_string));
            }
            None => {}
        }
    }

    fn end_data(&mut self) {
        let run = self.data.take();
        if let Some(DataRun::List { dir, verb, lines }) = &run {
            self.listing(dir.clone(), verb, lines);
        }
        self.last_data = run;
    }

    /// The files and folders a LIST/NLST answer names.
    fn listing(&mut self, dir: String, verb: &str, lines: &[String]) {
        for l in lines.iter().map(|l| l.trim_end_matches('\r').trim()) {
            if l.is_empty() {
                continue;
            }
            let path = |name: &str| {
                format!("{}/{name}", dir.trim_end_matches('/'))
                    .trim_start_matches('/')
                    .to_string()
            };
            if let Some(c) = LIST_LINE.captures(l) {
                let p = path(&c[3]);
                if &c[1] == "d" {
                    self.folders.insert(p);
                } else if let Ok(n) = c[2].parse::<u64>() {
                    let f = self.files.entry(p).or_default();
                    f.size = f.size.or(Some(n));
                    f.size_from = "LIST";
                }
            } else if verb == "+QFTPNLST" && !l.contains(' ') {
                self.files.entry(path(l)).or_default();
            }
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
        if starts_with_at(l.as_bytes()) {
            // The module's echo: of the last command, or of one the log did not show sent.
            if self.last.as_ref().is_none_or(|(c, _)| c != l) {
                self.host_line(l);
            }
            return;
        }
        if l == "CONNECT" {
            self.connect(&name);
            return self.expect(l, true);
        }
        self.learn_state(l);
        if let Some(rest) = l.strip_prefix("+QFTPLEN: 0,") {
            if let (Some(i), Ok(n)) = (self.reset_waiting.take(), rest.trim().parse::<u64>()) {
                self.faults[i] =
                    self.faults[i].replace("after_bytes = 0", &format!("after_bytes = {n}"));
                self.reset_at(n);
            }
        }
        if l.starts_with("+QFTP") && l.contains(": ") && !l.starts_with("+QFTPCFG:") {
            return self.ftp_urc(l, &name);
        }
        // Only a result the core's answer override can give (a code of its error table).
        let failed = (l == "ERROR" || l.starts_with("+CME ERROR:"))
            && bg95_core::AnswerOverride::parse_result(l).is_some();
        if failed && name == "+CPIN" && l == "+CME ERROR: 10" {
            self.fault(&name, "action = \"sim_removed\"".into());
        } else if failed && !name.is_empty() {
            self.overrides += 1;
            self.fault(
                &name,
                format!("action = \"at_answer\"\nlines = []\nresult = {}", q(l)),
            );
        }
        self.expect(l, l.starts_with("+QIURC:"));
    }

    fn connect(&mut self, name: &str) {
        let Some((c, _)) = &self.last else { return };
        if !c.to_ascii_uppercase().contains("\"COM:") {
            return;
        }
        let args = quoted_args(c);
        self.data = match name {
            "+QFTPGET" => Some(DataRun::Get {
                exact: Vec::new(),
                text: Vec::new(),
                lines: 0,
            }),
            "+QFTPLIST" | "+QFTPNLST" | "+QFTPMLSD" => {
                let dir = match args.first().map(String::as_str) {
                    None | Some(".") | Some("") => self.cwd.clone(),
                    Some(d) => format!("/{}", self.path(d)),
                };
                Some(DataRun::List {
                    dir,
                    verb: name.to_string(),
                    lines: vec![String::new()],
                })
            }
            _ => None,
        };
        self.last_data = None;
    }

    /// Answers that show the state the module had: a context's address, a QFTPCFG value
    /// the log never set.
    fn learn_state(&mut self, l: &str) {
        if let Some((cid, ip)) = l.strip_prefix("+QIACT: ").and_then(context_address) {
            self.pdp_addresses.insert(cid, ip.clone());
            if !self.activated.contains(&cid) {
                self.start.contexts.insert(cid, ip);
            }
        } else if let Some((cid, ip)) = l.strip_prefix("+CGPADDR: ").and_then(context_address) {
            self.pdp_addresses.insert(cid, ip);
        } else if let Some(rest) = l.strip_prefix("+QFTPCFG: ") {
            self.queried_cfg(rest);
        } else if let Some(state) = self.registration_answer(l) {
            self.seen_registration = true;
            self.start.registration = (state != "home").then_some(state);
        }
    }

    /// The state of the first answer to a registration query (`+CEREG: <n>,<stat>`).
    fn registration_answer(&self, l: &str) -> Option<&'static str> {
        if self.seen_registration {
            return None;
        }
        let (name, rest) = l.split_once(": ")?;
        let asked = self
            .last
            .as_ref()
            .is_some_and(|(c, n)| n == name && c.ends_with('?'));
        if !asked || !["+CREG", "+CGREG", "+CEREG"].contains(&name) {
            return None;
        }
        let stat = rest.split(',').nth(1)?.trim().parse::<u8>().ok()?;
        Some(match stat {
            0 => "not_registered",
            1 => "home",
            2 => "searching",
            3 => "denied",
            5 => "roaming",
            _ => "unknown",
        })
    }

    /// A QFTPCFG value the module already had (a query's answer, or a recorded start
    /// command): `"item",value` or `"account","user","****"`.
    pub(super) fn queried_cfg(&mut self, rest: &str) {
        let args = quoted_args(rest);
        let Some(item) = args.first().map(|a| a.to_ascii_lowercase()) else {
            return;
        };
        if self.set_cfg.contains(&item) {
            return;
        }
        if item == "account" {
            // The module shows the password as one `*` per character: any password of that
            // length answers the same query; the server gets the same one.
            if let (Some(u), Some(p)) = (args.get(1), args.get(2)) {
                let pw = "x".repeat(p.chars().count());
                self.start
                    .qftpcfg
                    .insert(item, format!("[{}, {}]", q(u), q(&pw)));
                self.user = Some((u.clone(), pw));
            }
        } else if let Some(v) = rest
            .rsplit(',')
            .next()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|v| cfg_in_range(&item, *v))
        {
            if item == "rsptimeout" {
                self.rsptimeout = v;
            }
            self.start.qftpcfg.insert(item, v.to_string());
        }
    }

    /// A fault on the nth time the last command was sent (none for an answer that follows
    /// no command the scenario can name).
    fn fault(&mut self, name: &str, action: String) {
        let nameable = name.len() > 1
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+&#$%^*_".contains(&b));
        if !nameable {
            self.notes.push(format!(
                "no fault for an answer after {name:?}: not a command a fault can name"
            ));
            return;
        }
        let nth = self.counts.get(name).copied().unwrap_or(1);
        self.faults.push(format!(
            "on = \"at_command\"\ncommand = {}\nnth = {nth}\n{action}",
            q(name)
        ));
    }

    /// The file of the last GET must be larger than a reset's offset.
    fn reset_at(&mut self, after: u64) {
        if let Some(p) = self.last_get.clone() {
            let f = self.files.entry(p).or_default();
            f.at_least = f.at_least.max(after + 1);
        }
    }

    fn ftp_urc(&mut self, l: &str, name: &str) {
        let (urc, args) = l.split_once(": ").unwrap_or((l, ""));
        let mut nums = args.split(',').map(|n| n.trim().parse::<u64>().ok());
        let (err, proto) = (nums.next().flatten(), nums.next().flatten());
        let nth = self.counts.get(name).copied().unwrap_or(1);
        let mut exact = true;
        // Only the command's own URC says how it went (an open's URC after AT+CSQ is a log
        // the scenario cannot make a fault of).
        let err = err.filter(|_| urc == name);
        match (urc, err, proto) {
            ("+QFTPOPEN", Some(0), _) => self.passes += 1,
            ("+QFTPOPEN", Some(604), _) => self.fault(name, "action = \"dns_failure\"".into()),
            ("+QFTPOPEN", Some(605), _) => {
                self.fault(name, "action = \"connect_unreachable\"".into())
            }
            ("+QFTPOPEN", Some(606), _) => self.fault(name, "action = \"connect_refused\"".into()),
            ("+QFTPOPEN", Some(631), _) => self.fault(name, "action = \"tls_failure\"".into()),
            ("+QFTPOPEN", Some(_), Some(530)) => {
                self.passes += 1;
                self.faults.push(format!(
                    "on = \"ftp_command\"\nverb = \"PASS\"\nnth = {}\naction = \"reply\"\ncode = 530\ntext = \"Login incorrect.\"",
                    self.passes
                ));
            }
            ("+QFTPCWD", Some(0), _) => self.cwd_done(),
            ("+QFTPSIZE", Some(0), Some(n)) => self.file_size(n, "+QFTPSIZE"),
            ("+QFTPGET", Some(0), Some(n)) => self.file_size(n, "+QFTPGET"),
            ("+QFTPGET" | "+QFTPPUT", Some(e @ (607 | 608)), _) => {
                exact = false;
                self.data_reset(e);
            }
            (_, Some(605), _) => {
                exact = false;
                self.pdp_lost(name, nth);
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
                        "on = \"ftp_command\"\nverb = \"{verb}\"\nnth = {nth}\naction = \"reply\"\ncode = {p}\ntext = \"Imported reply.\""
                    ));
                }
            }
            _ => {}
        }
        if exact {
            self.expect(l, true);
        } else {
            let re = format!("^{}: {},\\d+$", regex::escape(urc), err.unwrap_or(0));
            self.steps.push(format!("expect_regex = {}", q(&re)));
            self.steps
                .push(format!("timeout = \"{}s\"", self.rsptimeout + 10));
        }
    }

    fn cwd_done(&mut self) {
        if let Some((c, _)) = &self.last {
            if let Some(d) = quoted_args(c).first() {
                let p = self.path(d);
                self.cwd = format!("/{p}");
                self.folders.insert(p);
            }
        }
    }

    /// The data connection of the last transfer was reset after the bytes the log showed
    /// (or, when it showed none, the next `+QFTPLEN`).
    fn data_reset(&mut self, e: u64) {
        let n = match &self.last_data {
            Some(DataRun::Get { exact, .. }) if self.transcript || !exact.is_empty() => exact.len(),
            // A text log: lines joined by the CR LF the log did not show.
            Some(DataRun::Get { text, lines, .. }) => text.len() + lines.saturating_sub(1),
            _ => 0,
        };
        let direction = if e == 607 { "download" } else { "upload" };
        self.faults.push(format!(
            "on = \"transfer\"\nnth = {}\ndirection = \"{direction}\"\nafter_bytes = {n}\naction = \"data_reset\"",
            self.transfers
        ));
        if n == 0 {
            self.reset_waiting = Some(self.faults.len() - 1);
        }
        self.reset_at(n as u64);
    }

    /// The context went down during an FTP command (`…: 605,…`).
    fn pdp_lost(&mut self, name: &str, nth: usize) {
        let cid = self
            .start
            .qftpcfg
            .get("contextid")
            .and_then(|c| c.parse::<u8>().ok())
            .unwrap_or(1);
        let trigger = match (name, verb_of(name)) {
            ("+QFTPGET" | "+QFTPPUT" | "+QFTPLIST" | "+QFTPNLST" | "+QFTPMLSD", _) => {
                format!(
                    "on = \"transfer\"\nnth = {}\nafter_bytes = 0",
                    self.transfers
                )
            }
            (_, Some(verb)) => format!("on = \"ftp_command\"\nverb = \"{verb}\"\nnth = {nth}"),
            _ => return,
        };
        self.faults
            .push(format!("{trigger}\naction = \"pdp_lost\"\ncid = {cid}"));
    }

    /// A size the log reports for the file of the last command; its content when the log
    /// showed exactly that many bytes.
    fn file_size(&mut self, n: u64, from: &'static str) {
        let Some((c, _)) = &self.last else { return };
        let Some(f) = quoted_args(c).first().cloned() else {
            return;
        };
        let p = self.path(&f);
        let content = match self.last_data.take() {
            Some(DataRun::Get { exact, text, lines }) if from == "+QFTPGET" => {
                data_of(exact, text, lines, n)
            }
            _ => None,
        };
        let slot = self.files.entry(p).or_default();
        slot.size = Some(n);
        slot.size_from = from;
        if content.is_some() {
            slot.content = content;
        }
    }
}

/// `<cid>,…,"<IPv4>"` of AT+QIACT? and AT+CGPADDR: a context id and its IPv4 address.
fn context_address(rest: &str) -> Option<(u8, String)> {
    let cid = rest.split(',').next()?.trim().parse::<u8>().ok()?;
    let ip = quoted_args(rest).into_iter().next()?;
    ((1..=16).contains(&cid) && ip.parse::<std::net::Ipv4Addr>().is_ok()).then_some((cid, ip))
}

/// A QFTPCFG value the module accepts (application note 2.1): an answer the emulator could
/// not give is not made a start state.
fn cfg_in_range(item: &str, v: u64) -> bool {
    let (lo, hi) = match item {
        "filetype" | "transmode" | "data_address" => (0, 1),
        "contextid" => (1, 16),
        "rsptimeout" => (20, 180),
        "ssltype" => (0, 2),
        "sslctxid" | "data_sslctxid" => (0, 5),
        _ => return false,
    };
    (lo..=hi).contains(&v)
}

/// `a/./b/../c` → `a/b/c`: no empty, `.` or `..` part.
fn clean_path(full: &str) -> String {
    let parts: Vec<&str> = full
        .split('/')
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .collect();
    parts.join("/")
}

/// A download's bytes: exact when the log showed bytes; from text lines (`text`, joined by
/// LF), the line end (CR LF or LF) that makes the size the module reported. A driver that
/// logs lines drops the empty line a trailing line end leaves, so that one may be added.
fn data_of(exact: Vec<u8>, text: Vec<u8>, lines: usize, n: u64) -> Option<Vec<u8>> {
    if !exact.is_empty() || lines == 0 {
        return (exact.len() as u64 == n && n > 0).then_some(exact);
    }
    let lf = text.len() as u64;
    let crlf = lf + lines as u64 - 1;
    let (cr, trailing) = match n {
        _ if n == crlf => (true, false),
        _ if n == crlf + 2 => (true, true),
        _ if n == lf => (false, false),
        _ if n == lf + 1 => (false, true),
        _ => return None,
    };
    let mut out = Vec::with_capacity(n as usize);
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(if cr { b"\r\n" } else { b"\n" });
        }
        out.extend_from_slice(line);
    }
    if trailing {
        out.extend_from_slice(if cr { b"\r\n" } else { b"\n" });
    }
    (n > 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::super::import;

    /// What answers teach: a LIST's files and folders with their sizes, a path that tries to
    /// leave the root, open errors as their faults, an echo of an unlogged command.
    #[test]
    fn answers_become_files_faults_and_commands() {
        let log = "\
>> AT+QFTPOPEN=\"h.example\",21
<< +QFTPOPEN: 606,0
>> AT+QFTPOPEN=\"h.example\",21
<< +QFTPOPEN: 0,0
>> AT+QFTPLIST=\".\",\"COM:\"
<< CONNECT
<< -rw-r--r-- 1 ftp ftp 65536 Nov 03 10:00 fw.bin
<< drwxr-xr-x 2 ftp ftp 4096 Nov 03 10:00 logs
<< OK
<< +QFTPLIST: 0,120
>> AT+QFTPSIZE=\"../../etc/passwd\"
<< +QFTPSIZE: 0,10
<< AT+QFTPCLOSE
";
        let out = import(log, "t.log");
        let t = &out.toml;
        assert!(t.contains("\"fw.bin\" = { size = 65536 }"), "{t}");
        assert!(t.contains("\"logs/.keep\""), "{t}");
        assert!(t.contains("\"etc/passwd\" = { size = 10 }"), "{t}");
        assert!(t.contains("nth = 1\naction = \"connect_refused\""), "{t}");
        assert!(t.contains("line = \"AT+QFTPCLOSE\""), "{t}");
    }

    /// Module bytes that never end a line are placed once they pass the line limit: the
    /// buffer stays bounded, the import finishes.
    #[test]
    fn bytes_without_a_line_end_stay_bounded() {
        let mut log = String::from("b'AT\\r'\n");
        for _ in 0..300 {
            log.push_str(&format!("b'{}'\n", "x".repeat(1000)));
        }
        let out = import(&log, "t.log");
        assert_eq!(out.host_commands, 1);
        assert!(out.steps <= 6, "{}", out.steps);
    }
}
