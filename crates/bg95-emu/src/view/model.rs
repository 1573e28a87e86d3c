//! The model behind the timeline page: a transcript's lines → rows on three lanes (host,
//! module, FTP server), in time order. Rows carry what the page shows (text, error meaning,
//! band extent and byte counts); the template only lays them out.
//!
//! How transcript lines become rows:
//! * `>` host bytes, cut at each `\r` (the command line's end), are commands host → module;
//!   while an upload's data mode is on (after `CONNECT` to AT+QFTPPUT/QFUPL/QFWRITE, until the
//!   module speaks again) they are the data-mode band's bytes instead.
//! * `<` module bytes, cut at each `\n`, are the echo (the command line repeated), answers up
//!   to the final result (`OK`, `ERROR`, `+CME ERROR`, `CONNECT`, `NO CARRIER`), and URCs
//!   (any line while no command waits for its final result). While a COM: download's data
//!   mode is on (after `CONNECT` with a download request open, until the transfer ends or
//!   the host types) they are the band's bytes.
//! * `= ftp …` effects are requests module → server; `! ftp …` events the replies
//!   server → module; a download or upload request opens a data-connection band closed by
//!   the event that ends the request. `! net`, `! dns`, `! ping` come from the network side,
//!   `! power` is a mark on the module; `! traffic` (counter bookkeeping) is not shown.
//! * `! fault "name" at …ms on <trigger> -> <action>` is a fault marker across the lanes.
//! * Errors (`ERROR`, `+CME ERROR: <n>`, `+QFTP…: <err>,…` with `<err>` ≠ 0, a failed FTP
//!   event) are red, with the application note's meaning from the core's error table.

use std::time::Duration;

use bg95_core::ftp::FtpEvent;
use bg95_core::transcript::{escape, event_line, parse, unescape, Line, Step};
use bg95_core::Completion;
use serde::Serialize;

/// How many bytes of a band are kept to show (hex and text).
pub const FIRST_BYTES: usize = 256;
/// Rows beyond this many are dropped (a note says how many): a page stays readable and
/// bounded whatever the transcript's size.
pub const MAX_ROWS: usize = 20_000;
/// A row's text is cut to this many characters (the cut is marked).
const MAX_TEXT: usize = 400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lane {
    Host,
    Module,
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An AT command line, host → module.
    Command,
    /// The module repeating the command line (ATE1).
    Echo,
    /// An answer to a command, up to and with its final result.
    Answer,
    /// An unsolicited result code.
    Urc,
    /// `+++` or other bytes the host typed into a download's data mode.
    Escape,
    /// An FTP request (or another effect), module → server / network.
    Request,
    /// An FTP event, server → module.
    Reply,
    /// A network event (registration, DNS, ping), network → module.
    Net,
    /// A power event on the module.
    Power,
    /// A scenario fault that fired.
    Fault,
    /// The start of a data-mode band (host ↔ module).
    DataMode,
    /// The start of a data-connection band (module ↔ server).
    DataConnection,
    /// A failed `run` step: expected and got.
    Failure,
    /// Where a replay's answers differ from the recording.
    Diff,
    /// A note from the page builder (rows left out).
    Note,
}

/// Which way data moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Host → module → server.
    Up,
    /// Server → module → host.
    Down,
}

/// A band's extent and contents (data mode, data connection, a failed step's window).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    pub end_us: u64,
    pub direction: Direction,
    pub bytes: u64,
    /// The first [`FIRST_BYTES`] bytes (uploads recorded as a digest have none).
    #[serde(skip)]
    pub first: Vec<u8>,
    /// `first` as a hex dump and as transcript-escaped text, for the page.
    pub first_hex: String,
    pub first_text: String,
    /// How many bytes `first` has.
    pub shown: usize,
    /// Still open when the transcript ended.
    pub open: bool,
    /// Ended by a failure (a broken data connection).
    pub failed: bool,
}

impl Band {
    fn new(direction: Direction) -> Band {
        Band {
            end_us: 0,
            direction,
            bytes: 0,
            first: Vec::new(),
            first_hex: String::new(),
            first_text: String::new(),
            shown: 0,
            open: true,
            failed: false,
        }
    }

    fn add(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        let room = FIRST_BYTES.saturating_sub(self.first.len());
        self.first
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn close(&mut self, t_us: u64, failed: bool) {
        self.end_us = t_us;
        self.open = false;
        self.failed = failed;
        self.first_hex = hex_dump(&self.first);
        self.first_text = escape(&self.first);
        self.shown = self.first.len();
    }
}

/// A fault marker: what the `! fault` line says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultMark {
    pub name: String,
    pub trigger: String,
    pub action: String,
}

/// A failed `run` step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureMark {
    /// `line N: <the step's text in the scenario file>`.
    pub step: String,
    pub expected: String,
    pub got: String,
}

/// A replay block that differs: the recording's lines and the replay's (common lines left
/// out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffMark {
    pub recorded: Vec<String>,
    pub replayed: Vec<String>,
}

/// One row of the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub t_us: u64,
    /// The time shown, e.g. `1.234 s`.
    pub time: String,
    /// The transcript line it came from (0: none).
    pub line: usize,
    pub kind: Kind,
    pub from: Lane,
    pub to: Lane,
    pub text: String,
    pub error: bool,
    /// The application note's meaning of the error code, when known.
    pub meaning: Option<String>,
    pub band: Option<Band>,
    pub fault: Option<FaultMark>,
    pub failure: Option<FailureMark>,
    pub diff: Option<DiffMark>,
}

impl Item {
    pub fn new(t_us: u64, line: usize, kind: Kind, from: Lane, to: Lane, text: String) -> Item {
        Item {
            t_us,
            time: format_time(t_us),
            line,
            kind,
            from,
            to,
            text: cut(text),
            error: false,
            meaning: None,
            band: None,
            fault: None,
            failure: None,
            diff: None,
        }
    }
}

/// Totals for the summary header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub host_bytes: u64,
    pub module_bytes: u64,
    pub ftp_down: u64,
    pub ftp_up: u64,
    pub faults_fired: usize,
    pub errors: usize,
}

/// The rows of one transcript, in time order.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub items: Vec<Item>,
    pub end_us: u64,
    pub totals: Totals,
    /// After each host input: the host bytes sent so far, the time, and how many rows
    /// there were — where a run's failed step started.
    pub host_progress: Vec<(u64, u64, usize)>,
    /// The time of each input (`>` line, `!` event) in order: where a replay's blocks are.
    pub input_times: Vec<u64>,
    /// Rows left out beyond [`MAX_ROWS`].
    pub dropped: usize,
}

impl Rows {
    /// Add a row and keep time order (rows of one time keep the order they were added).
    pub fn insert(&mut self, item: Item) {
        let at = self.items.partition_point(|i| i.t_us <= item.t_us);
        self.insert_at(at, item);
    }

    /// Add a row at `at` (clamped to the rows there are); the caller keeps time order.
    pub fn insert_at(&mut self, at: usize, item: Item) {
        self.end_us = self.end_us.max(item.band.as_ref().map_or(0, |b| b.end_us));
        self.end_us = self.end_us.max(item.t_us);
        self.items.insert(at.min(self.items.len()), item);
    }
}

/// The rows of a transcript's text (errors name the line).
pub fn rows(text: &str) -> Result<Rows, String> {
    let lines = parse(text).map_err(|e| e.to_string())?;
    let mut b = Builder::default();
    for l in &lines {
        b.line(l);
    }
    Ok(b.finish())
}

#[derive(Default)]
struct Builder {
    t_us: u64,
    rows: Rows,
    host_line: Vec<u8>,
    host_line_no: usize,
    module_line: Vec<u8>,
    awaiting_final: bool,
    last_command: String,
    /// The data-mode band (index of its row) and its direction.
    data_mode: Option<(usize, Direction)>,
    /// The open data-connection band (index of its row).
    connection: Option<usize>,
}

impl Builder {
    fn line(&mut self, l: &Line) {
        match &l.step {
            Step::Wait(d) => self.t_us += d.as_micros() as u64,
            Step::Send(bytes) => {
                self.rows.input_times.push(self.t_us);
                self.host(l.number, bytes);
            }
            // A redacted upload (a private key): its size in filler, as a replay sends it.
            Step::SendRedacted { len, .. } => {
                self.rows.input_times.push(self.t_us);
                self.host(
                    l.number,
                    &bg95_core::transcript::redacted_filler(*len as usize),
                );
            }
            Step::Expect(bytes) => self.module(l.number, bytes),
            Step::Effect(e) => self.effect(l.number, e),
            Step::Event(ev) => {
                self.rows.input_times.push(self.t_us);
                self.event(l.number, ev);
            }
            Step::Fault(text) => self.fault(l.number, text),
        }
    }

    fn push(&mut self, item: Item) -> Option<usize> {
        if self.rows.items.len() >= MAX_ROWS {
            self.rows.dropped += 1;
            return None;
        }
        if item.error {
            self.rows.totals.errors += 1;
        }
        self.rows.end_us = self.rows.end_us.max(item.t_us);
        self.rows.items.push(item);
        Some(self.rows.items.len() - 1)
    }

    fn band_mut(&mut self, row: usize) -> Option<&mut Band> {
        self.rows.items.get_mut(row).and_then(|i| i.band.as_mut())
    }

    fn host(&mut self, line: usize, bytes: &[u8]) {
        self.rows.totals.host_bytes += bytes.len() as u64;
        self.host_input(line, bytes);
        let progress = (
            self.rows.totals.host_bytes,
            self.t_us,
            self.rows.items.len(),
        );
        self.rows.host_progress.push(progress);
    }

    fn host_input(&mut self, line: usize, bytes: &[u8]) {
        match self.data_mode {
            Some((row, Direction::Up)) => {
                if let Some(b) = self.band_mut(row) {
                    b.add(bytes);
                }
                return;
            }
            Some((_, Direction::Down)) => {
                // Typing into a download's data mode (`+++`) pauses it: the module's next
                // bytes are answers again.
                self.end_data_mode(false);
                let text = escape(bytes);
                self.push(Item::new(
                    self.t_us,
                    line,
                    Kind::Escape,
                    Lane::Host,
                    Lane::Module,
                    text,
                ));
                return;
            }
            None => {}
        }
        for &b in bytes {
            match b {
                b'\r' => self.command(),
                b'\n' => {}
                _ if self.host_line.len() < MAX_TEXT * 4 => {
                    if self.host_line.is_empty() {
                        self.host_line_no = line;
                    }
                    self.host_line.push(b);
                }
                _ => {}
            }
        }
    }

    fn command(&mut self) {
        if self.host_line.is_empty() {
            return;
        }
        let text = escape(&std::mem::take(&mut self.host_line));
        self.last_command = text.clone();
        self.awaiting_final = true;
        self.push(Item::new(
            self.t_us,
            self.host_line_no,
            Kind::Command,
            Lane::Host,
            Lane::Module,
            text,
        ));
    }

    fn module(&mut self, line: usize, bytes: &[u8]) {
        self.rows.totals.module_bytes += bytes.len() as u64;
        match self.data_mode {
            Some((row, Direction::Down)) => {
                if let Some(b) = self.band_mut(row) {
                    b.add(bytes);
                }
                return;
            }
            // The module speaking again ends an upload's data mode.
            Some((_, Direction::Up)) => self.end_data_mode(false),
            None => {}
        }
        let mut rest = bytes;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.module_piece(&rest[..i]);
            self.module_line_done(line);
            rest = &rest[i + 1..];
            // A download's data may follow its CONNECT in the same piece.
            if let Some((row, Direction::Down)) = self.data_mode {
                if let Some(b) = self.band_mut(row) {
                    b.add(rest);
                }
                return;
            }
        }
        self.module_piece(rest);
    }

    fn module_piece(&mut self, piece: &[u8]) {
        let room = (MAX_TEXT * 4).saturating_sub(self.module_line.len());
        self.module_line
            .extend_from_slice(&piece[..piece.len().min(room)]);
    }

    fn module_line_done(&mut self, line: usize) {
        let raw = std::mem::take(&mut self.module_line);
        let trimmed: &[u8] = trim_cr(&raw);
        if trimmed.is_empty() {
            return;
        }
        let text = escape(trimmed);
        let t = self.t_us;
        if self.awaiting_final && text == self.last_command {
            self.push(Item::new(
                t,
                line,
                Kind::Echo,
                Lane::Module,
                Lane::Host,
                text,
            ));
            return;
        }
        let final_result = is_final(&text);
        let kind = if self.awaiting_final {
            Kind::Answer
        } else {
            Kind::Urc
        };
        if final_result {
            self.awaiting_final = false;
        }
        let mut item = Item::new(t, line, kind, Lane::Module, Lane::Host, text.clone());
        if let Some((error, meaning)) = error_of(&text) {
            item.error = error;
            item.meaning = meaning;
        }
        self.push(item);
        if text == "CONNECT" || text.starts_with("CONNECT ") {
            self.connect(line);
        }
    }

    /// `CONNECT`: data mode, if the command or the FTP session says which way.
    fn connect(&mut self, line: usize) {
        let command = self.last_command.to_ascii_uppercase();
        let up = ["+QFTPPUT", "+QFUPL", "+QFWRITE"]
            .iter()
            .any(|c| command.contains(c));
        let downloading = self
            .connection
            .and_then(|r| self.rows.items.get(r))
            .and_then(|i| i.band.as_ref())
            .is_some_and(|b| b.direction == Direction::Down);
        let direction = match (up, downloading) {
            (true, _) => Direction::Up,
            (false, true) => Direction::Down,
            _ => return,
        };
        let text = match direction {
            Direction::Up => "data mode: host → module",
            Direction::Down => "data mode: module → host",
        };
        let mut item = Item::new(
            self.t_us,
            line,
            Kind::DataMode,
            Lane::Host,
            Lane::Module,
            text.into(),
        );
        item.band = Some(Band::new(direction));
        self.data_mode = self.push(item).map(|row| (row, direction));
    }

    fn end_data_mode(&mut self, failed: bool) {
        if let Some((row, _)) = self.data_mode.take() {
            // The module ends data mode with a final result (`OK` after a download's
            // data, after an upload's `+++`): an answer, not a URC.
            self.awaiting_final = true;
            let t = self.t_us;
            if let Some(b) = self.band_mut(row) {
                b.close(t, failed);
            }
        }
    }

    fn end_connection(&mut self, failed: bool) {
        if let Some(row) = self.connection.take() {
            let t = self.t_us;
            if let Some(b) = self.band_mut(row) {
                b.close(t, failed);
            }
        }
        // A download's data mode ends with its transfer.
        if matches!(self.data_mode, Some((_, Direction::Down))) {
            self.end_data_mode(failed);
        }
    }

    fn effect(&mut self, line: usize, effect: &str) {
        let t = self.t_us;
        let Some(ftp) = effect.strip_prefix("ftp ") else {
            // baud, resolve, ping: the module asks the runtime / network.
            self.push(Item::new(
                t,
                line,
                Kind::Request,
                Lane::Module,
                Lane::Server,
                effect.into(),
            ));
            return;
        };
        if let Some(value) = ftp.strip_prefix("upload-data ") {
            let (bytes, len) = data_value(value);
            self.rows.totals.ftp_up += len;
            if let Some(b) = self.connection.and_then(|r| self.band_mut(r)) {
                b.add(&bytes);
                b.bytes += len - bytes.len() as u64;
            }
            return;
        }
        let direction = if ftp.starts_with("download ") {
            Some(Direction::Down)
        } else if ftp.starts_with("upload ") {
            Some(Direction::Up)
        } else {
            None
        };
        self.push(Item::new(
            t,
            line,
            Kind::Request,
            Lane::Module,
            Lane::Server,
            ftp.into(),
        ));
        if let Some(direction) = direction {
            self.end_connection(false);
            let text = match direction {
                Direction::Down => "data connection: server → module",
                Direction::Up => "data connection: module → server",
            };
            let mut item = Item::new(
                t,
                line,
                Kind::DataConnection,
                Lane::Module,
                Lane::Server,
                text.into(),
            );
            item.band = Some(Band::new(direction));
            self.connection = self.push(item);
        }
    }

    fn event(&mut self, line: usize, ev: &Completion) {
        let t = self.t_us;
        let text = event_line(ev);
        let mut item = match ev {
            Completion::Traffic { .. } => return,
            Completion::Ftp(FtpEvent::Data(bytes)) => {
                self.rows.totals.ftp_down += bytes.len() as u64;
                if let Some(b) = self.connection.and_then(|r| self.band_mut(r)) {
                    b.add(bytes);
                }
                return;
            }
            Completion::Ftp(e) => {
                let text = text.strip_prefix("ftp ").unwrap_or(&text).to_string();
                let mut item = Item::new(t, line, Kind::Reply, Lane::Server, Lane::Module, text);
                match e {
                    FtpEvent::Done(Err(failure)) => {
                        let err = failure.error();
                        item.error = true;
                        item.meaning = Some(format!("→ <err> {}: {}", err.code(), err.text()));
                        self.end_connection(true);
                    }
                    FtpEvent::ControlClosed | FtpEvent::DriverLost => {
                        item.error = true;
                        self.end_connection(true);
                    }
                    FtpEvent::Done(Ok(_)) | FtpEvent::Aborted => self.end_connection(false),
                    FtpEvent::DataReady | FtpEvent::Data(_) => {}
                }
                item
            }
            Completion::Power(_) => {
                self.end_connection(true);
                self.end_data_mode(true);
                self.awaiting_final = false;
                Item::new(t, line, Kind::Power, Lane::Module, Lane::Module, text)
            }
            _ => Item::new(t, line, Kind::Net, Lane::Server, Lane::Module, text),
        };
        if matches!(ev, Completion::Network(_)) {
            item.text = format!("network: {}", item.text.trim_start_matches("net "));
        }
        self.push(item);
    }

    fn fault(&mut self, line: usize, text: &str) {
        self.rows.totals.faults_fired += 1;
        let mark = parse_fault(text);
        let mut item = Item::new(
            self.t_us,
            line,
            Kind::Fault,
            Lane::Host,
            Lane::Server,
            format!("fault \"{}\"", mark.name),
        );
        item.fault = Some(mark);
        self.push(item);
    }

    fn finish(mut self) -> Rows {
        self.command();
        self.module_line_done(0);
        let t = self.t_us;
        for item in &mut self.rows.items {
            if let Some(b) = item.band.as_mut().filter(|b| b.open) {
                b.close(t, false);
                b.open = true;
            }
        }
        self.rows.end_us = self.rows.end_us.max(t);
        if self.rows.dropped > 0 {
            let text = format!(
                "{} more rows not shown (a page shows at most {MAX_ROWS})",
                self.rows.dropped
            );
            self.rows
                .items
                .push(Item::new(t, 0, Kind::Note, Lane::Host, Lane::Server, text));
        }
        self.rows
    }
}

fn trim_cr(mut b: &[u8]) -> &[u8] {
    while let [b'\r', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b'\r'] = b {
        b = rest;
    }
    b
}

/// The final results that end a command's answer (V.250 and the BG95's own).
fn is_final(line: &str) -> bool {
    matches!(line, "OK" | "ERROR" | "NO CARRIER" | "CONNECT")
        || line.starts_with("+CME ERROR:")
        || line.starts_with("+CMS ERROR:")
        || line.starts_with("CONNECT ")
}

/// Whether a module line reports an error, and the application note's meaning of its code.
fn error_of(line: &str) -> Option<(bool, Option<String>)> {
    if line == "ERROR" {
        return Some((true, None));
    }
    let meaning = |code: u16| bg95_core::error::meaning(code).map(|m| format!("{code}: {m}"));
    if let Some(code) = line.strip_prefix("+CME ERROR:") {
        let code = code.trim();
        return Some((true, code.parse().ok().and_then(meaning)));
    }
    let (name, args) = line.split_once(':')?;
    let mut fields = args.split(',').map(str::trim);
    // `+QIURC: "dnsgip",<err>,…`: the code follows the URC's name.
    let first = match name {
        "+QIURC" => fields.nth(1)?,
        n if n.starts_with("+QFTP") || n == "+QPING" || n == "+QNTP" => fields.next()?,
        _ => return None,
    };
    let code: u16 = first.parse().ok()?;
    if code == 0 {
        return None;
    }
    let mut text = meaning(code)?;
    // `+QFTP…: <err>,<protocol_error>`: the server's reply code, when it refused.
    if name.starts_with("+QFTP") {
        if let Some(reply) = fields.next().and_then(|r| r.parse::<u16>().ok()) {
            if reply >= 400 {
                text.push_str(&format!(" (server replied {reply})"));
            }
        }
    }
    Some((true, Some(text)))
}

/// An `upload-data` value: inline bytes (`"abc"`) or a length and digest (`4096B/fnv=…`).
fn data_value(value: &str) -> (Vec<u8>, u64) {
    let value = value.trim();
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        let bytes = unescape(inner).unwrap_or_default();
        let len = bytes.len() as u64;
        return (bytes, len);
    }
    let len = value
        .split_once("B/")
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or(0);
    (Vec::new(), len)
}

/// `"name" at 1234ms on <trigger> -> <action>` (the text after `! fault `).
pub fn parse_fault(text: &str) -> FaultMark {
    let text = text.trim();
    let (name, rest) = match text.strip_prefix('"').and_then(|t| t.split_once("\" at ")) {
        Some((name, rest)) => (name.replace("\\\"", "\""), rest),
        None => (String::new(), text),
    };
    let rest = rest.split_once(" on ").map_or(rest, |(_, r)| r);
    let (trigger, action) = rest.split_once(" -> ").unwrap_or((rest, ""));
    FaultMark {
        name,
        trigger: cut(trigger.to_string()),
        action: cut(action.to_string()),
    }
}

/// `0000  30 31 …  01…` lines of 16 bytes.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let text: String = chunk
            .iter()
            .map(|&b| match b {
                0x20..=0x7e => b as char,
                _ => '.',
            })
            .collect();
        out.push_str(&format!("{:04x}  {:<47}  {text}\n", i * 16, hex.join(" ")));
    }
    out
}

/// `1.234 s` (milliseconds; transcripts record whole milliseconds).
pub fn format_time(t_us: u64) -> String {
    format!("{}.{:03} s", t_us / 1_000_000, (t_us / 1000) % 1000)
}

/// A duration for people: `850 ms`, `12.4 s`, `3 min 05 s`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} min {:02} s", ms / 60_000, (ms / 1000) % 60)
    }
}

fn cut(mut text: String) -> String {
    if text.chars().count() > MAX_TEXT {
        text = text.chars().take(MAX_TEXT).collect();
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests;
