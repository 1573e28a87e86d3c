//! DNS, ping and data counters: AT+QIDNSCFG, AT+QIDNSGIP, AT+QPING, AT+QGDCNT.
//!
//! The core decides what the host reads; the runtime's one resolver does the lookups
//! (`Effect::Resolve` → `Completion::Resolved`) and AT+QPING's probes (`Effect::Ping` →
//! `Completion::Ping`). Every request carries an id so a late answer to a request the core
//! already gave up on (its own deadline, a lost context) is ignored.

use core::net::IpAddr;
use std::time::Duration;

use bg95_at::Form;

use crate::area::{AfterOk, Ctx, Outcome};
use crate::error::TcpError;
use crate::module::Effect;
use crate::params::{at_most, num, opt_num, opt_str, string};
use crate::pdp::Pdp;
use crate::time::Instant;

use super::seam::{PingEvent, ResolveFailure};
use super::{Bad, Refusal, Row};

/// The DNS servers a context reports before AT+QIDNSCFG sets others (network-assigned in
/// the emulated network; lookups always go through the runtime's resolver).
const DEFAULT_DNS: (&str, &str) = ("10.7.0.1", "10.7.0.2");
/// The TTL AT+QIDNSGIP reports (the resolver does not give one).
const DNS_TTL: u32 = 600;
/// The core gives up on a lookup after this, whatever the runtime does.
pub const DNS_DEADLINE: Duration = Duration::from_secs(20);
/// The size AT+QPING reports for each echo, and the TTL.
const PING_BYTES: u32 = 32;
const PING_TTL: u32 = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Lookup {
    id: u32,
    cid: u8,
    deadline: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PingRun {
    id: u32,
    cid: u8,
    count: u8,
    /// Round trips in ms, `None` for a lost echo.
    echoes: Vec<Option<u32>>,
    deadline: Instant,
}

/// DNS settings and running requests are volatile; the counters saved with AT+QGDCNT=1
/// survive resets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Dns {
    servers: Vec<(u8, String, String)>,
    lookup: Option<Lookup>,
    ping: Option<PingRun>,
    next_id: u32,
    sent: u64,
    received: u64,
    saved: (u64, u64),
}

impl Dns {
    pub fn boot(&mut self) {
        self.servers.clear();
        self.lookup = None;
        self.ping = None;
        (self.sent, self.received) = self.saved;
    }

    pub fn deadline(&self) -> Option<Instant> {
        [
            self.lookup.as_ref().map(|l| l.deadline),
            self.ping.as_ref().map(|p| p.deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn id(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Qidnscfg,
    Qidnsgip,
    Qping,
    Qgdcnt,
}

pub(crate) static ROWS: &[Row<Kind>] = &[
    Row {
        name: "+QIDNSCFG",
        kind: Kind::Qidnscfg,
        test: Some("+QIDNSCFG: (1-16),<pridnsaddr>,<secdnsaddr>"),
        bad: Bad::Error,
    },
    Row {
        name: "+QIDNSGIP",
        kind: Kind::Qidnsgip,
        test: Some("+QIDNSGIP: (1-16),<hostname>"),
        bad: Bad::Error,
    },
    Row {
        name: "+QPING",
        kind: Kind::Qping,
        test: Some("+QPING: (1-16),<host>,(1-255),(1-10)"),
        bad: Bad::Error,
    },
    Row {
        name: "+QGDCNT",
        kind: Kind::Qgdcnt,
        test: Some("+QGDCNT: (0,1)"),
        bad: Bad::Cme,
    },
];

/// The name of `kind`'s row (which its answer lines carry).
fn name(kind: Kind) -> &'static str {
    crate::area::name_of(ROWS, kind)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    DnsQuery(u8),
    DnsSet {
        cid: u8,
        primary: String,
        secondary: Option<String>,
    },
    Lookup {
        cid: u8,
        host: String,
    },
    Ping {
        cid: u8,
        host: String,
        timeout: u8,
        count: u8,
    },
    CountersRead,
    /// AT+QGDCNT=0 resets, =1 saves.
    Counters(bool),
}

fn ip(s: &str) -> Result<String, Refusal> {
    s.parse::<IpAddr>()
        .map(|_| s.to_string())
        .map_err(|_| Refusal::Bad)
}

fn host(a: &[bg95_at::Arg], i: usize) -> Result<String, Refusal> {
    let h = string(a, i, 255)?;
    if h.is_empty() {
        return Err(Refusal::Bad);
    }
    Ok(h.to_string())
}

pub(crate) fn parse(kind: Kind, form: &Form) -> Result<Command, Refusal> {
    Ok(match (kind, form) {
        (Kind::Qidnscfg, Form::Write(a)) => {
            at_most(a, 3)?;
            let cid = num(a, 0, 1..=16)? as u8;
            match opt_str(a, 1) {
                None => Command::DnsQuery(cid),
                Some(p) => Command::DnsSet {
                    cid,
                    primary: ip(p)?,
                    secondary: opt_str(a, 2).map(ip).transpose()?,
                },
            }
        }
        (Kind::Qidnsgip, Form::Write(a)) => {
            at_most(a, 2)?;
            Command::Lookup {
                cid: num(a, 0, 1..=16)? as u8,
                host: host(a, 1)?,
            }
        }
        (Kind::Qping, Form::Write(a)) => {
            at_most(a, 4)?;
            Command::Ping {
                cid: num(a, 0, 1..=16)? as u8,
                host: host(a, 1)?,
                timeout: opt_num(a, 2, 1..=255)?.unwrap_or(4) as u8,
                count: opt_num(a, 3, 1..=10)?.unwrap_or(4) as u8,
            }
        }
        (Kind::Qgdcnt, Form::Read) => Command::CountersRead,
        (Kind::Qgdcnt, Form::Write(a)) => {
            at_most(a, 1)?;
            Command::Counters(num(a, 0, 0..=1)? == 1)
        }
        _ => return Err(Refusal::Form),
    })
}

impl Dns {
    /// Run a parsed command; `pdp` says which contexts are up (and their type).
    pub(crate) fn run(&mut self, cx: &mut Ctx, pdp: &Pdp, cmd: Command) -> Outcome {
        match cmd {
            Command::DnsQuery(cid) => {
                if !pdp.is_up(cid) {
                    // BG96 and BG770A: ERROR for a context that is not active.
                    return Outcome::Fail(bg95_at::FinalResult::Error);
                }
                let (p, s) = self
                    .servers
                    .iter()
                    .find(|(c, ..)| *c == cid)
                    .map(|(_, p, s)| (p.clone(), s.clone()))
                    .unwrap_or((DEFAULT_DNS.0.into(), DEFAULT_DNS.1.into()));
                cx.info(&[format!("{}: {cid},\"{p}\",\"{s}\"", name(Kind::Qidnscfg))]);
                Outcome::Ok
            }
            Command::DnsSet {
                cid,
                primary,
                secondary,
            } => {
                let servers = &mut self.servers;
                servers.retain(|(c, ..)| *c != cid);
                let secondary = secondary.unwrap_or_else(|| "0.0.0.0".into());
                servers.push((cid, primary, secondary));
                Outcome::Ok
            }
            Command::Lookup { cid, host } => self.start_lookup(cx, pdp, cid, host),
            Command::Ping {
                cid,
                host,
                timeout,
                count,
            } => self.start_ping(cx, pdp, cid, host, timeout, count),
            Command::CountersRead => {
                let d = &*self;
                let line = format!("{}: {},{}", name(Kind::Qgdcnt), d.sent, d.received);
                cx.info(&[line]);
                Outcome::Ok
            }
            Command::Counters(save) => {
                let d = &mut *self;
                if save {
                    d.saved = (d.sent, d.received);
                } else {
                    (d.sent, d.received) = (0, 0);
                }
                Outcome::Ok
            }
        }
    }

    fn start_lookup(&mut self, cx: &mut Ctx, pdp: &Pdp, cid: u8, host: String) -> Outcome {
        if self.lookup.is_some() {
            return TcpError::DnsBusy.into();
        }
        if !pdp.is_up(cid) {
            let code = TcpError::OpenPdpFailed.code();
            return cx.after(AfterOk::Urc(format!("+QIURC: \"dnsgip\",{code}")));
        }
        let id = self.id();
        self.lookup = Some(Lookup {
            id,
            cid,
            deadline: cx.now + DNS_DEADLINE,
        });
        cx.effect(Effect::Resolve { id, host });
        Outcome::Ok
    }

    fn start_ping(
        &mut self,
        cx: &mut Ctx,
        pdp: &Pdp,
        cid: u8,
        host: String,
        timeout: u8,
        count: u8,
    ) -> Outcome {
        if self.ping.is_some() {
            return TcpError::OperationBusy.into();
        }
        if !pdp.is_up(cid) {
            let code = TcpError::OpenPdpFailed.code();
            return cx.after(AfterOk::Urc(format!("{}: {code}", name(Kind::Qping))));
        }
        let id = self.id();
        let timeout = Duration::from_secs(u64::from(timeout));
        self.ping = Some(PingRun {
            id,
            cid,
            count,
            echoes: Vec::new(),
            deadline: cx.now + DNS_DEADLINE + timeout * u32::from(count),
        });
        cx.effect(Effect::Ping {
            id,
            host,
            timeout,
            count,
        });
        Outcome::Ok
    }

    /// The runtime's answer to `Effect::Resolve`.
    pub(crate) fn resolved(
        &mut self,
        cx: &mut Ctx,
        pdp: &Pdp,
        id: u32,
        result: Result<Vec<IpAddr>, ResolveFailure>,
    ) {
        let Some(lookup) = self.lookup.take_if(|l| l.id == id) else {
            return;
        };
        let want_v6 = pdp.get(lookup.cid).map_or(1, |c| c.kind);
        // Addresses of the context's family only (IPV4V6: both).
        let addrs: Vec<IpAddr> = result
            .unwrap_or_default()
            .into_iter()
            .filter(|a| match want_v6 {
                2 => a.is_ipv6(),
                3 => true,
                _ => a.is_ipv4(),
            })
            .collect();
        if addrs.is_empty() {
            cx.urc(&format!(
                "+QIURC: \"dnsgip\",{}",
                TcpError::DnsParseFailed.code()
            ));
            return;
        }
        cx.urc(&format!("+QIURC: \"dnsgip\",0,{},{DNS_TTL}", addrs.len()));
        for a in addrs {
            cx.urc(&format!("+QIURC: \"dnsgip\",\"{a}\""));
        }
    }

    /// One step of a running AT+QPING.
    pub(crate) fn ping_event(&mut self, cx: &mut Ctx, id: u32, ev: PingEvent) {
        let dns = &mut *self;
        let Some(run) = dns.ping.as_mut().filter(|p| p.id == id) else {
            return;
        };
        match ev {
            PingEvent::ResolveFailed(_) => {
                dns.ping = None;
                cx.urc(&format!(
                    "{}: {}",
                    name(Kind::Qping),
                    TcpError::DnsParseFailed.code()
                ));
            }
            PingEvent::Echo { ip, rtt } => {
                let ms = rtt.map(|d| d.as_millis().min(u128::from(u32::MAX)) as u32);
                run.echoes.push(ms);
                let done = run.echoes.len() >= usize::from(run.count);
                let line = match ms {
                    Some(ms) => format!(
                        "{}: 0,\"{ip}\",{PING_BYTES},{ms},{PING_TTL}",
                        name(Kind::Qping)
                    ),
                    None => format!("{}: {}", name(Kind::Qping), TcpError::Timeout.code()),
                };
                cx.urc(&line);
                if done {
                    if let Some(run) = self.ping.take() {
                        cx.urc(&ping_summary(&run.echoes));
                    }
                }
            }
        }
    }

    /// Traffic the runtime counted since it last reported.
    pub(crate) fn traffic(&mut self, sent: u64, received: u64) {
        let d = self;
        d.sent = d.sent.saturating_add(sent);
        d.received = d.received.saturating_add(received);
    }

    /// A lookup or a ping ran past the core's own deadline.
    pub(crate) fn timeout(&mut self, cx: &mut Ctx) {
        let now = cx.now;
        let dns = &mut *self;
        if dns.lookup.take_if(|l| now >= l.deadline).is_some() {
            cx.urc(&format!(
                "+QIURC: \"dnsgip\",{}",
                TcpError::DnsParseFailed.code()
            ));
        }
        if self.ping.take_if(|p| now >= p.deadline).is_some() {
            cx.urc(&format!(
                "{}: {}",
                name(Kind::Qping),
                TcpError::Timeout.code()
            ));
        }
    }

    /// Context `cid` went down: a lookup or ping on it fails.
    pub(crate) fn context_lost(&mut self, cx: &mut Ctx, cid: u8) {
        let code = TcpError::PdpBrokenDown.code();
        if self.lookup.take_if(|l| l.cid == cid).is_some() {
            cx.urc(&format!("+QIURC: \"dnsgip\",{code}"));
        }
        if self.ping.take_if(|p| p.cid == cid).is_some() {
            cx.urc(&format!("{}: {code}", name(Kind::Qping)));
        }
    }
}

/// `+QPING: 0,<sent>,<rcvd>,<lost>,<min>,<max>,<avg>`.
fn ping_summary(echoes: &[Option<u32>]) -> String {
    let rtts: Vec<u32> = echoes.iter().flatten().copied().collect();
    let sent = echoes.len();
    let (min, max, avg) = if rtts.is_empty() {
        (0, 0, 0)
    } else {
        let sum: u64 = rtts.iter().map(|&r| u64::from(r)).sum();
        (
            *rtts.iter().min().unwrap_or(&0),
            *rtts.iter().max().unwrap_or(&0),
            (sum / rtts.len() as u64) as u32,
        )
    };
    format!(
        "{}: 0,{sent},{},{},{min},{max},{avg}",
        name(Kind::Qping),
        rtts.len(),
        sent - rtts.len()
    )
}
