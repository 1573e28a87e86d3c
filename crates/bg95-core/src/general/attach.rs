//! PDP attach state: AT+CGATT, AT+CGACT, AT+CGPADDR, and the registration state they share
//! with AT+CEREG/AT+COPS/AT+QNWINFO. One activation state per context lives in
//! [`crate::pdp::Pdp`]; AT+CGACT and AT+QIACT/AT+QIDEACT both change it.

use bg95_at::{Arg, Form};

use crate::module::{AfterOk, Module, Outcome};
use crate::params::{at_most, num, opt_num};
use crate::pdp::CONTEXTS;
use crate::time::Instant;

use super::{Bad, Refusal, Row};

/// Registration inputs besides AT+CFUN: the host's AT+CGATT, the SIM and the network.
/// Only the host's detach is volatile: the SIM and the coverage outlive a reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attach {
    /// AT+CGATT=0 was sent (until AT+CGATT=1 or a boot).
    pub host_detached: bool,
    pub sim_present: bool,
    /// The registration state a network event set (`None`: the personality's).
    pub network_stat: Option<u8>,
    pub network_act: Option<u8>,
    /// AT+CGEREP `<mode>`: 0 no `+CGEV` URCs, 1/2 report them (volatile).
    pub cgerep: u8,
    pub cgerep_bfr: u8,
}

impl Default for Attach {
    fn default() -> Self {
        Attach {
            host_detached: false,
            sim_present: true,
            network_stat: None,
            network_act: None,
            cgerep: 0,
            cgerep_bfr: 0,
        }
    }
}

impl Attach {
    pub fn boot(&mut self) {
        self.host_detached = false;
        self.cgerep = 0;
        self.cgerep_bfr = 0;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Cgatt,
    Cgact,
    Cgpaddr,
    Cgerep,
}

pub(crate) static ROWS: &[Row<Kind>] = &[
    Row {
        name: "+CGATT",
        kind: Kind::Cgatt,
        test: Some("+CGATT: (0-1)"),
        bad: Bad::Cme,
    },
    Row {
        name: "+CGACT",
        kind: Kind::Cgact,
        test: Some("+CGACT: (0-1)"),
        bad: Bad::Cme,
    },
    Row {
        name: "+CGPADDR",
        kind: Kind::Cgpaddr,
        test: None,
        bad: Bad::Cme,
    },
    Row {
        name: "+CGEREP",
        kind: Kind::Cgerep,
        test: Some("+CGEREP: (0-2),(0-1)"),
        bad: Bad::Cme,
    },
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    AttachRead,
    Attach(bool),
    ActivationRead,
    /// `AT+CGACT=<state>[,<cid>[,<cid>…]]`; no cid = every defined context.
    Activate {
        on: bool,
        cids: Vec<u8>,
    },
    /// AT+CGPADDR=? (the defined contexts).
    AddressTest,
    /// AT+CGPADDR[=<cid>[,<cid>…]]; empty = every defined context.
    Addresses(Vec<u8>),
    EventReportingRead,
    EventReporting {
        mode: u8,
        bfr: Option<u8>,
    },
}

fn cids(args: &[Arg]) -> Result<Vec<u8>, Refusal> {
    (0..args.len())
        .map(|i| Ok(num(args, i, 1..=CONTEXTS as u64)? as u8))
        .collect()
}

pub(crate) fn parse(kind: Kind, form: &Form) -> Result<Command, Refusal> {
    Ok(match (kind, form) {
        (Kind::Cgatt, Form::Read) => Command::AttachRead,
        (Kind::Cgatt, Form::Write(a)) => {
            at_most(a, 1)?;
            Command::Attach(num(a, 0, 0..=1)? == 1)
        }
        (Kind::Cgact, Form::Read) => Command::ActivationRead,
        (Kind::Cgact, Form::Write(a)) => {
            let on = num(a, 0, 0..=1)? == 1;
            let cids = cids(&a[1..])?;
            // BG96: `AT+CGACT=0` without a cid → ERROR.
            if !on && cids.is_empty() {
                return Err(Refusal::Form);
            }
            Command::Activate { on, cids }
        }
        (Kind::Cgpaddr, Form::Test) => Command::AddressTest,
        (Kind::Cgpaddr, Form::Exec) => Command::Addresses(Vec::new()),
        (Kind::Cgpaddr, Form::Write(a)) => Command::Addresses(cids(a)?),
        (Kind::Cgerep, Form::Read) => Command::EventReportingRead,
        (Kind::Cgerep, Form::Write(a)) => {
            at_most(a, 2)?;
            Command::EventReporting {
                mode: num(a, 0, 0..=2)? as u8,
                bfr: opt_num(a, 1, 0..=1)?.map(|v| v as u8),
            }
        }
        _ => return Err(Refusal::Form),
    })
}

impl Module {
    pub(crate) fn run_attach(&mut self, now: Instant, cmd: Command) -> Outcome {
        match cmd {
            Command::AttachRead => {
                let attached = u8::from(self.registered());
                self.info(&[format!("+CGATT: {attached}")]);
                Outcome::Ok
            }
            Command::Attach(on) => {
                if on && self.basic.net.cfun != 1 {
                    // No radio, no attach.
                    return crate::error::CmeError::NoNetworkService.into();
                }
                self.registration_change(now, true, |m| m.general.attach.host_detached = !on);
                Outcome::Ok
            }
            Command::ActivationRead => {
                let lines: Vec<String> = self
                    .defined_cids()
                    .into_iter()
                    .map(|cid| format!("+CGACT: {cid},{}", u8::from(self.pdp.is_up(cid))))
                    .collect();
                self.info(&lines);
                Outcome::Ok
            }
            Command::Activate { on, cids } => self.cgact(now, on, cids),
            Command::EventReportingRead => {
                let a = &self.general.attach;
                let line = format!("+CGEREP: {},{}", a.cgerep, a.cgerep_bfr);
                self.info(&[line]);
                Outcome::Ok
            }
            Command::EventReporting { mode, bfr } => {
                let a = &mut self.general.attach;
                a.cgerep = mode;
                a.cgerep_bfr = bfr.unwrap_or(a.cgerep_bfr);
                Outcome::Ok
            }
            Command::AddressTest => {
                let list: Vec<String> = self
                    .defined_cids()
                    .into_iter()
                    .map(|c| c.to_string())
                    .collect();
                self.info(&[format!("+CGPADDR: ({})", list.join(","))]);
                Outcome::Ok
            }
            Command::Addresses(cids) => {
                let cids = if cids.is_empty() {
                    self.defined_cids()
                } else {
                    cids
                };
                let lines: Vec<String> = cids
                    .into_iter()
                    .map(|cid| match self.pdp.address_of(cid) {
                        Some(addr) => format!("+CGPADDR: {cid},\"{addr}\""),
                        None => format!("+CGPADDR: {cid}"),
                    })
                    .collect();
                self.info(&lines);
                Outcome::Ok
            }
        }
    }

    fn defined_cids(&self) -> Vec<u8> {
        (1..=CONTEXTS as u8)
            .filter(|&cid| self.pdp.get(cid).is_some_and(|c| c.kind != 0))
            .collect()
    }

    /// AT+CGACT=<state>,<cids>: the same activation as AT+QIACT / AT+QIDEACT.
    fn cgact(&mut self, now: Instant, on: bool, cids: Vec<u8>) -> Outcome {
        if !on {
            for cid in cids {
                if self.deactivate_pdp(now, cid) {
                    self.pdn_event(true, &format!("ME PDN DEACT {cid}"));
                }
            }
            return Outcome::Ok;
        }
        let cids = if cids.is_empty() {
            self.defined_cids()
        } else {
            cids
        };
        for cid in cids {
            if self.pdp.is_active(cid) {
                continue;
            }
            let active = self.pdp.contexts.iter().filter(|c| c.active).count();
            let undefined = self.pdp.get(cid).is_none_or(|c| c.kind == 0);
            if !self.registered() || undefined || active >= self.p.max_active_pdp {
                // Like AT+QIACT: an activation failure is a plain ERROR.
                return Outcome::Fail(bg95_at::FinalResult::Error);
            }
            self.pdp.activate(cid);
        }
        Outcome::Ok
    }

    /// A `+CGEV: <text>` URC if AT+CGEREP asked for them; after the `OK` when a command
    /// caused it.
    pub(crate) fn pdn_event(&mut self, deferred: bool, text: &str) {
        if self.general.attach.cgerep == 0 {
            return;
        }
        let urc = format!("+CGEV: {text}");
        if deferred {
            self.after_ok.push(AfterOk::Urc(urc));
        } else {
            self.urc(&urc);
        }
    }

    /// `<stat>` as AT+CEREG reports it, from the radio, the SIM, the host's detach and the
    /// network.
    pub(crate) fn registration_stat(&self) -> u8 {
        let a = &self.general.attach;
        if self.basic.net.cfun != 1 || !a.sim_present || a.host_detached {
            0
        } else {
            a.network_stat.unwrap_or(self.p.reg_stat)
        }
    }

    /// The access technology of the serving cell (27.007 `<AcT>`).
    pub(crate) fn current_act(&self) -> u8 {
        self.general.attach.network_act.unwrap_or(self.p.act)
    }

    /// Apply a change of the registration inputs and do what a real module does when
    /// `<stat>` changes: losing registration drops every context that was up (with
    /// `+QIURC: "pdpdeact",<cid>`), regaining it re-creates context 1's default bearer; the
    /// registration URCs follow as the host enabled them. `deferred`: the change comes from
    /// a command, so its URCs follow its `OK`.
    pub(crate) fn registration_change(
        &mut self,
        now: Instant,
        deferred: bool,
        change: impl FnOnce(&mut Module),
    ) {
        let (stat, act) = (self.registration_stat(), self.current_act());
        let was_registered = self.registered();
        change(self);
        let mut urcs = Vec::new();
        if was_registered && !self.registered() {
            // Who detached: the host (AT+CGATT=0) or the network.
            let who = if deferred { "ME" } else { "NW" };
            let events = self.general.attach.cgerep != 0;
            for cid in 1..=CONTEXTS as u8 {
                if self.deactivate_pdp(now, cid) {
                    if events {
                        urcs.push(format!("+CGEV: {who} PDN DEACT {cid}"));
                    }
                    urcs.push(format!("+QIURC: \"pdpdeact\",{cid}"));
                }
            }
            if events {
                urcs.push(format!("+CGEV: {who} DETACH"));
            }
        }
        if !was_registered && self.registered() {
            self.pdp.default_bearer = true;
        }
        let stat_changed = stat != self.registration_stat();
        let act_changed = act != self.current_act();
        for (name, reg) in crate::basic::registration_rows() {
            let mode = self.basic.net.mode(reg);
            if mode > 0 && (stat_changed || (mode == 2 && act_changed)) {
                let fields = self.reg_fields(mode);
                urcs.push(format!("{name}: {fields}"));
            }
        }
        for text in urcs {
            if deferred {
                self.after_ok.push(AfterOk::Urc(text));
            } else {
                self.urc(&text);
            }
        }
    }
}
