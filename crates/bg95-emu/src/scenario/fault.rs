//! Faults: a trigger (when) and an action (what), as a scenario declares them.
//!
//! An action enters either at a point of the network seam ([`crate::net::FaultSeam`]: the
//! resolver, the connector, the reply reader, the data stream), or at the module
//! ([`ModuleFault`], handed to the core's entry points), or at the UFS store (full). A
//! trigger that fires *arms* a seam action: the next query at that seam point takes it
//! (at once when the trigger is that very query, e.g. `on = "ftp_command"` with a reply
//! action). No fault writes bytes to the host itself: the core's error table decides.

use std::time::Duration;

use regex::Regex;

use crate::net::{Conn, ConnectFault, DataFault, Direction, ReplyFault, ResolveError};

/// One declared fault.
#[derive(Debug, Clone)]
pub struct FaultSpec {
    /// Unique within a scenario (default `fault-N`, N counted from 1).
    pub name: String,
    pub trigger: Trigger,
    pub action: Action,
    pub times: Times,
    /// Each match fires only with this probability (drawn from the scenario's seed).
    pub probability: Option<f64>,
    /// A fault that never fires does not fail `bg95-emu run`.
    pub optional: bool,
    /// Where it was declared (0 when added through the API).
    pub line: usize,
}

/// How many times a fault may fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    Count(u64),
    Always,
}

/// When a fault fires: the `nth` matching event (counted from 1) and, unless `times = 1`,
/// every matching event after it.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub nth: u64,
    pub event: TriggerEvent,
}

/// The events a trigger can match.
#[derive(Debug, Clone)]
pub enum TriggerEvent {
    /// An AT command received from the host, by name (`+QFTPOPEN`, `+CPIN`, `E`), with an
    /// optional regex on its parameters as typed (`="host",21`, `?`, `=?`, or empty).
    AtCommand { name: String, params: Option<Regex> },
    /// An FTP command the module sends (`None` = any command).
    FtpCommand { verb: Option<String> },
    /// A name lookup (`None` = any name).
    Resolve { host: Option<String> },
    /// A TCP connect (`None` = control or data).
    Connect { conn: Option<Conn> },
    /// A transfer's data connection (the nth in this direction, or of either), once
    /// `after_bytes` bytes have passed on it.
    Transfer {
        direction: Option<Direction>,
        after_bytes: u64,
    },
    /// This long after boot (again every `after` while `times` allows).
    Time { after: Duration },
    /// This long after the named fault fired (each time it fires).
    AfterFault { fault: String, after: Duration },
}

impl TriggerEvent {
    /// A short description for logs and transcripts.
    pub fn describe(&self, nth: u64) -> String {
        let n = if nth > 1 {
            format!(" #{nth}")
        } else {
            String::new()
        };
        match self {
            TriggerEvent::AtCommand { name, params } => match params {
                Some(r) => format!("at_command AT{name}{n} params~/{}/", r.as_str()),
                None => format!("at_command AT{name}{n}"),
            },
            TriggerEvent::FtpCommand { verb } => {
                format!("ftp_command {}{n}", verb.as_deref().unwrap_or("*"))
            }
            TriggerEvent::Resolve { host } => {
                format!("resolve {}{n}", host.as_deref().unwrap_or("*"))
            }
            TriggerEvent::Connect { conn } => format!(
                "connect {}{n}",
                match conn {
                    Some(Conn::Control) => "control",
                    Some(Conn::Data) => "data",
                    None => "*",
                }
            ),
            TriggerEvent::Transfer {
                direction,
                after_bytes,
            } => format!(
                "transfer {}{n} after {after_bytes} bytes",
                match direction {
                    Some(Direction::Download) => "download",
                    Some(Direction::Upload) => "upload",
                    None => "*",
                }
            ),
            TriggerEvent::Time { after } => format!("time {}ms after boot", after.as_millis()),
            TriggerEvent::AfterFault { fault, after } => {
                format!("{}ms after fault {fault:?}", after.as_millis())
            }
        }
    }
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The next name lookup (of `host`, or any) fails.
    Dns {
        host: Option<String>,
        error: ResolveError,
        /// How long the lookup takes before it fails.
        delay: Duration,
    },
    /// The next TCP connect on `conn` meets this.
    Connect { conn: Conn, fault: ConnectFault },
    /// The next FTP command's reply.
    Reply(ReplyFault),
    /// The next transfer's data connection.
    Data(DataAction),
    /// The module itself (the core's entry points).
    Module(ModuleFault),
    /// UFS reports no space from now on.
    UfsFull,
}

/// A data-connection action; the byte offset comes from the trigger (`after_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataAction {
    Reset,
    Close,
    Stall,
    Bandwidth { bytes_per_sec: u64 },
    Latency { delay: Duration, jitter: Duration },
    SlowClose(Duration),
}

impl DataAction {
    pub fn at(self, after: u64) -> DataFault {
        match self {
            DataAction::Reset => DataFault::ResetAfter { after },
            DataAction::Close => DataFault::CloseAfter { after },
            DataAction::Stall => DataFault::StallAfter { after },
            DataAction::Bandwidth { bytes_per_sec } => DataFault::Bandwidth { bytes_per_sec },
            DataAction::Latency { delay, jitter } => DataFault::Latency { delay, jitter },
            DataAction::SlowClose(d) => DataFault::SlowClose(d),
        }
    }
}

/// A fault of the module itself, for the core to act on exactly as for the real event
/// (the URCs the host enabled, the error codes of whatever was running). The runtime hands
/// them to the core's entry points; a fault never writes a URC of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleFault {
    /// The network deactivated PDP context `cid`.
    PdpLost { cid: u8 },
    /// The module lost its registration (searching).
    RegistrationLost,
    /// The module registered again (the personality's home/roaming state).
    RegistrationRegained,
    /// `[network] registration`: the registration state changes to `stat` (CREG/CEREG
    /// `<stat>`: 0 not registered, 1 home, 2 searching, 3 denied, 4 unknown, 5 roaming)
    /// with access technology `act` (0 GSM, 8 eMTC, 9 NB-IoT).
    Registration { stat: u8, act: u8 },
    /// The SIM card is gone (`+CPIN: NOT READY`, `+CME ERROR: 10` from then on).
    SimRemoved,
    /// The module resets (boot URCs again; a UFS write in flight ends as after a real
    /// reset: old file or new file).
    Reset,
    /// The power is cut and comes back (as `Reset`, without any shutdown URC).
    PowerLoss,
    /// A command's answer is replaced (a firmware quirk).
    AtAnswer(AnswerOverride),
}

/// The answer a command gives instead of its real one: information lines, a final result
/// (`OK`, `ERROR`, `+CME ERROR: 10`, …), after a delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerOverride {
    /// Upper-case command name as the AT parser names it (`+CPIN`, `+QFTPOPEN`).
    pub command: String,
    pub lines: Vec<String>,
    pub result: String,
    pub delay: Duration,
}

/// A fault that fired, as logged and written to transcripts (`! fault …`).
#[derive(Debug, Clone, PartialEq)]
pub struct FiredFault {
    /// Time since boot.
    pub at: Duration,
    pub name: String,
    /// What matched (see [`TriggerEvent::describe`]).
    pub trigger: String,
    pub action: String,
}

impl FiredFault {
    /// The transcript line (docs/transcripts.md), without its newline:
    /// `! fault "name" at 1234ms on <trigger> -> <action>`.
    pub fn transcript_line(&self) -> String {
        format!(
            "! fault {:?} at {}ms on {} -> {}",
            self.name,
            self.at.as_millis(),
            self.trigger,
            self.action
        )
    }
}

impl Action {
    /// A short description for logs and transcripts.
    pub fn describe(&self) -> String {
        match self {
            Action::Dns { host, error, .. } => format!(
                "dns {} for {}",
                match error {
                    ResolveError::NotFound => "failure",
                    ResolveError::Timeout => "timeout",
                },
                host.as_deref().unwrap_or("*")
            ),
            Action::Connect { conn, fault } => format!("connect {conn:?}: {fault:?}"),
            Action::Reply(r) => format!("reply {r:?}"),
            Action::Data(d) => format!("data {d:?}"),
            Action::Module(m) => format!("module {m:?}"),
            Action::UfsFull => "ufs full".into(),
        }
    }
}
