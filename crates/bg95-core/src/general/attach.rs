//! PDP attach state: AT+CGATT, AT+CGACT, AT+CGPADDR, and the registration state they share
//! with AT+CEREG/AT+COPS/AT+QNWINFO. One activation state per context lives in
//! [`crate::pdp::Pdp`]; AT+CGACT and AT+QIACT/AT+QIDEACT both change it.

use bg95_at::{Arg, Form};

use crate::area::{Ctx, Outcome};
use crate::params::{at_most, num, opt_num};
use crate::pdp::{Pdp, CONTEXTS};

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

/// The name of `kind`'s row (which its answer lines carry).
fn name(kind: Kind) -> &'static str {
    crate::area::name_of(ROWS, kind)
}

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

/// What AT+CGATT, AT+CGACT, AT+CGPADDR and AT+CGEREP read from the others (read-only,
/// passed by the module).
pub(crate) struct AttachView<'a> {
    /// Registered on the network (AT+CGATT?).
    pub registered: bool,
    pub pdp: &'a Pdp,
}

/// What an attach command line comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AttachAnswer {
    Done(Outcome),
    /// AT+CGATT=<state>: the module changes the registration (contexts, URCs follow).
    Attach(bool),
    /// AT+CGACT=<state>,<cids>: the module (de)activates the contexts, as AT+QIACT and
    /// AT+QIDEACT do.
    Activate {
        on: bool,
        cids: Vec<u8>,
    },
}

impl Attach {
    /// Dispatch an attach command; `None` if the name is not one of them.
    pub(crate) fn dispatch(
        &mut self,
        cx: &mut Ctx,
        view: &AttachView,
        inv: &bg95_at::Invocation,
    ) -> Option<AttachAnswer> {
        let row = super::find(ROWS, &inv.name)?;
        if let Some(o) = crate::area::fixed_test(row, &inv.form, cx) {
            return Some(AttachAnswer::Done(o));
        }
        Some(match parse(row.kind, &inv.form) {
            Ok(Command::Attach(on)) => AttachAnswer::Attach(on),
            Ok(Command::Activate { on, cids }) => AttachAnswer::Activate { on, cids },
            Ok(cmd) => AttachAnswer::Done(self.run(cx, view, cmd)),
            Err(refusal) => AttachAnswer::Done(Outcome::Fail(refusal.result(row))),
        })
    }

    fn run(&mut self, cx: &mut Ctx, view: &AttachView, cmd: Command) -> Outcome {
        let pdp = view.pdp;
        match cmd {
            Command::AttachRead => {
                let attached = u8::from(view.registered);
                cx.info(&[format!("{}: {attached}", name(Kind::Cgatt))]);
            }
            Command::ActivationRead => {
                let lines: Vec<String> = pdp
                    .defined_cids()
                    .into_iter()
                    .map(|cid| format!("{}: {cid},{}", name(Kind::Cgact), u8::from(pdp.is_up(cid))))
                    .collect();
                cx.info(&lines);
            }
            Command::EventReportingRead => {
                let line = format!(
                    "{}: {},{}",
                    name(Kind::Cgerep),
                    self.cgerep,
                    self.cgerep_bfr
                );
                cx.info(&[line]);
            }
            Command::EventReporting { mode, bfr } => {
                self.cgerep = mode;
                self.cgerep_bfr = bfr.unwrap_or(self.cgerep_bfr);
            }
            Command::AddressTest => {
                let list: Vec<String> = pdp
                    .defined_cids()
                    .into_iter()
                    .map(|c| c.to_string())
                    .collect();
                cx.info(&[format!("{}: ({})", name(Kind::Cgpaddr), list.join(","))]);
            }
            Command::Addresses(cids) => {
                let cids = if cids.is_empty() {
                    pdp.defined_cids()
                } else {
                    cids
                };
                let lines: Vec<String> = cids
                    .into_iter()
                    .map(|cid| match pdp.address_of(cid) {
                        Some(addr) => format!("{}: {cid},\"{addr}\"", name(Kind::Cgpaddr)),
                        None => format!("{}: {cid}", name(Kind::Cgpaddr)),
                    })
                    .collect();
                cx.info(&lines);
            }
            // The module's work (`AttachAnswer`): never run here.
            Command::Attach(_) | Command::Activate { .. } => {
                return Outcome::Fail(bg95_at::FinalResult::Error)
            }
        }
        Outcome::Ok
    }
}
