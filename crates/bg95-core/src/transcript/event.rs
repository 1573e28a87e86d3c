//! `!` lines written from events: the inverse of the transcript parser's `! ftp/net/dns/
//! ping/traffic/power` lines, so a recorder writes exactly what a replay feeds back.

use crate::ftp::{FailureKind, FtpEvent, Reply};
use crate::general::{NetworkEvent, PingEvent, ResolveFailure};
use crate::module::{Completion, PowerEvent};

use super::escape;

fn quoted(bytes: &[u8]) -> String {
    format!("\"{}\"", escape(bytes).replace('"', "\\\""))
}

/// The `!` line (without its `! `) of an event the runtime reported. Download data is
/// written inline, whatever its size: a replay feeds these bytes back to the module.
pub fn event_line(c: &Completion) -> String {
    match c {
        Completion::Ftp(ev) => format!("ftp {}", ftp_event(ev)),
        Completion::Network(ev) => format!("net {}", network_event(ev)),
        Completion::Resolved { id, result } => match result {
            Ok(ips) => {
                let ips: Vec<String> = ips.iter().map(|ip| format!(" \"{ip}\"")).collect();
                format!("dns {id} ok{}", ips.concat())
            }
            Err(ResolveFailure::NotFound) => format!("dns {id} fail"),
            Err(ResolveFailure::Timeout) => format!("dns {id} fail timeout"),
        },
        Completion::Ping { id, event } => match event {
            PingEvent::Echo { ip, rtt: Some(rtt) } => {
                format!("ping {id} echo \"{ip}\" {}", rtt.as_millis())
            }
            PingEvent::Echo { ip, rtt: None } => format!("ping {id} lost \"{ip}\""),
            PingEvent::ResolveFailed(ResolveFailure::NotFound) => {
                format!("ping {id} resolve-failed")
            }
            PingEvent::ResolveFailed(ResolveFailure::Timeout) => {
                format!("ping {id} resolve-failed timeout")
            }
        },
        Completion::Traffic { sent, received } => format!("traffic {sent} {received}"),
        Completion::Power(PowerEvent::Reset) => "power reset".into(),
        Completion::Power(PowerEvent::Loss { off_for }) => {
            format!("power loss {}ms", off_for.as_millis())
        }
    }
}

fn ftp_event(ev: &FtpEvent) -> String {
    match ev {
        FtpEvent::DataReady => "ready".into(),
        FtpEvent::ControlClosed => "control-closed".into(),
        FtpEvent::Aborted => "aborted".into(),
        FtpEvent::DriverLost => "driver-lost".into(),
        FtpEvent::Data(d) => format!("data {}", quoted(d)),
        FtpEvent::Done(Ok(Reply::Ok)) => "done ok".into(),
        FtpEvent::Done(Ok(Reply::Path(p))) => format!("done path {}", quoted(p.as_bytes())),
        FtpEvent::Done(Ok(Reply::Time(t))) => format!("done time {}", quoted(t.as_bytes())),
        FtpEvent::Done(Ok(Reply::Size(n))) => format!("done size {n}"),
        FtpEvent::Done(Err(f)) => format!("fail {} {}", failure_kind(f.kind), f.reply),
    }
}

/// The word of a failure kind (the parser's table, reversed).
pub fn failure_kind(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Resolve => "resolve",
        FailureKind::Refused => "refused",
        FailureKind::Unreachable => "unreachable",
        FailureKind::Tls => "tls",
        FailureKind::Reply => "reply",
        FailureKind::ControlClosed => "control-closed",
        FailureKind::DataOpen => "data-open",
        FailureKind::DataClosed => "data-closed",
        FailureKind::PeerReset => "peer-reset",
        FailureKind::Local => "local",
        FailureKind::Other => "other",
    }
}

fn network_event(ev: &NetworkEvent) -> String {
    match ev {
        NetworkEvent::Registration { stat, act: Some(a) } => format!("reg {stat} {a}"),
        NetworkEvent::Registration { stat, act: None } => format!("reg {stat}"),
        NetworkEvent::PdpLost { cid } => format!("pdp-lost {cid}"),
        NetworkEvent::SimRemoved => "sim-removed".into(),
        NetworkEvent::SimInserted => "sim-inserted".into(),
        NetworkEvent::Time {
            unix_secs,
            zone_quarters,
        } => format!("time {unix_secs} {zone_quarters:+}"),
    }
}
