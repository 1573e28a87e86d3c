//! PDP contexts: AT+QICSGP, AT+QIACT, AT+QIDEACT, AT+CGDCONT, AT+QIGETERROR.
//! Activation always succeeds while the radio is on (up to the personality's limit of
//! simultaneously active contexts); each context gets a deterministic private IPv4 address.
//!
//! The area owns the contexts and parses each line once ([`ROWS`], [`PdpCommand`]); a bad
//! parameter is `+CME ERROR: 50` as before (companion-commands.md gives no PDP code, and
//! the transcripts pin it). What a context going down does to the other areas (the FTP
//! session, DNS, NTP) is the module's work: it sees [`PdpCommand::Deactivate`] and acts.

use bg95_at::{Arg, Form};

use crate::area::{Bad, Ctx, Outcome, Refusal, Row, TEST_OK};
use crate::error::CmeError;
use crate::params::{num, opt_num, opt_str, BadParam};

pub const CONTEXTS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Context {
    /// 0 undefined, 1 IPv4, 2 IPv6, 3 IPv4v6.
    pub kind: u8,
    pub apn: String,
    pub user: String,
    pub password: String,
    pub auth: u8,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdp {
    pub contexts: [Context; CONTEXTS],
    /// The default EPS bearer the LTE attach brings up on context 1: AT+CGACT? and
    /// AT+CGPADDR show it and FTP/DNS/ping/NTP may use it, while AT+QIACT? lists context 1
    /// only once the host activated it (general-commands.md §2, shared-state model).
    pub default_bearer: bool,
    /// IPv4 addresses the network gives contexts (a scenario's `[network.pdp]`,
    /// [`crate::Personality::pdp_addresses`]); others get the default address.
    pub network_addresses: std::collections::BTreeMap<u8, core::net::Ipv4Addr>,
}

impl Default for Pdp {
    fn default() -> Self {
        let mut contexts: [Context; CONTEXTS] = Default::default();
        // Context 1 exists out of the box (the network's default bearer), APN empty.
        contexts[0].kind = 1;
        Pdp {
            contexts,
            default_bearer: true,
            network_addresses: Default::default(),
        }
    }
}

impl Pdp {
    pub fn get(&self, cid: u8) -> Option<&Context> {
        self.contexts.get(usize::from(cid).checked_sub(1)?)
    }

    pub(crate) fn get_mut(&mut self, cid: u8) -> Option<&mut Context> {
        self.contexts.get_mut(usize::from(cid).checked_sub(1)?)
    }

    pub fn is_active(&self, cid: u8) -> bool {
        self.get(cid).is_some_and(|c| c.active)
    }

    /// The context carries traffic: activated by the host (QIACT/CGACT) or, for context 1,
    /// the attach's default bearer. This is the state AT+CGACT? reports.
    pub fn is_up(&self, cid: u8) -> bool {
        self.is_active(cid)
            || (cid == 1 && self.default_bearer && self.get(1).is_some_and(|c| c.kind != 0))
    }

    /// Mark a context activated by the host (AT+QIACT, AT+CGACT=1).
    pub(crate) fn activate(&mut self, cid: u8) {
        if let Some(c) = self.get_mut(cid) {
            c.active = true;
        }
    }

    /// The contexts that are defined (AT+CGACT?, AT+CGPADDR).
    pub(crate) fn defined_cids(&self) -> Vec<u8> {
        (1..=CONTEXTS as u8)
            .filter(|&cid| self.get(cid).is_some_and(|c| c.kind != 0))
            .collect()
    }

    /// Mark a context down (AT+QIDEACT, AT+CGACT=0, the radio off, the network's drop).
    /// Returns whether it was up; ending what ran on it is the module's work.
    pub(crate) fn deactivate(&mut self, cid: u8) -> bool {
        let was_up = self.is_up(cid);
        if cid == 1 {
            self.default_bearer = false;
        }
        if let Some(c) = self.get_mut(cid) {
            c.active = false;
        }
        was_up
    }

    /// The address of a context that is up.
    pub fn address_of(&self, cid: u8) -> Option<String> {
        let c = self.get(cid)?;
        self.is_up(cid).then(|| self.address_for(cid, c.kind))
    }

    /// The address a context gets when active: `10.7.157.<cid>`.
    pub fn address(cid: u8) -> String {
        format!("10.7.157.{cid}")
    }

    /// The address context `cid` of `kind` has while up: the network's for IPv4 when it
    /// names one, else the default.
    pub(crate) fn address_for(&self, cid: u8, kind: u8) -> String {
        match (kind, self.network_addresses.get(&cid)) {
            (2, _) => format!("FD00:0:0:0:0:0:A07:9D{cid:02X}"),
            (_, Some(ip)) => ip.to_string(),
            _ => Self::address(cid),
        }
    }
}

fn kind_name(kind: u8) -> &'static str {
    match kind {
        2 => "IPV6",
        3 => "IPV4V6",
        _ => "IP",
    }
}

/// Which PDP command a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PdpKind {
    Configure,
    Activate,
    Deactivate,
    Define,
    LastError,
}

const fn row(name: &'static str, kind: PdpKind, test: Option<&'static str>) -> Row<PdpKind> {
    Row {
        name,
        kind,
        test,
        bad: Bad::Cme,
    }
}

/// Every PDP command (companion-commands.md, general-commands.md §2).
pub(crate) const ROWS: &[Row<PdpKind>] = &[
    row(
        "+QICSGP",
        PdpKind::Configure,
        Some("+QICSGP: (1-16),(1-3),<APN>,<username>,<password>,(0-3)"),
    ),
    row("+QIACT", PdpKind::Activate, Some("+QIACT: (1-16)")),
    row("+QIDEACT", PdpKind::Deactivate, Some("+QIDEACT: (1-16)")),
    // Three Test lines, one per PDP type: `CGDCONT_TEST`.
    row("+CGDCONT", PdpKind::Define, None),
    row("+QIGETERROR", PdpKind::LastError, TEST_OK),
];

/// AT+CGDCONT=? (one line per PDP type; the name is the row's).
const CGDCONT_TEST: [&str; 3] = [
    "(1-16),\"IP\",,,(0),(0),(0),(0)",
    "(1-16),\"IPV6\",,,(0),(0),(0),(0)",
    "(1-16),\"IPV4V6\",,,(0),(0),(0),(0)",
];

/// One PDP command line, its parameters read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PdpCommand {
    /// AT+QICSGP=<cid>: read a context's configuration.
    ConfigRead {
        cid: u8,
    },
    /// AT+QICSGP=<cid>,<type>,<APN>[,…]: (re)configure an inactive context.
    Configure {
        cid: u8,
        context: Context,
    },
    /// AT+QIACT?: the contexts the host activated.
    ActiveList,
    Activate {
        cid: u8,
    },
    /// AT+QIDEACT=<cid>: the module ends what runs on the context.
    Deactivate {
        cid: u8,
    },
    /// AT+CGDCONT=?
    DefineTest,
    /// AT+CGDCONT?
    Definitions,
    /// AT+CGDCONT=<cid>[,<type>[,<APN>]]: `kind` `None` undefines the context.
    Define {
        cid: u8,
        kind: Option<u8>,
        apn: String,
    },
    LastError,
}

/// What the PDP area reads from the others (read-only, passed by the module).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PdpView {
    /// Registered on the network (AT+QIACT fails otherwise).
    pub registered: bool,
    /// The personality's limit of simultaneously active contexts.
    pub max_active: usize,
}

fn cid_arg(args: &[Arg]) -> Result<u8, BadParam> {
    Ok(num(args, 0, 1..=16)? as u8)
}

/// Parse a line of the command `kind` (its Test form, when fixed, is answered by the row).
pub(crate) fn parse(kind: PdpKind, form: &Form) -> Result<PdpCommand, Refusal> {
    use PdpCommand as C;
    Ok(match (kind, form) {
        (PdpKind::Configure, Form::Write(args)) if args.len() == 1 => C::ConfigRead {
            cid: cid_arg(args)?,
        },
        (PdpKind::Configure, Form::Write(args)) => {
            let cid = cid_arg(args)?;
            let kind = num(args, 1, 1..=3)? as u8;
            let apn = opt_str(args, 2).unwrap_or("").to_string();
            let user = opt_str(args, 3).unwrap_or("").to_string();
            let password = opt_str(args, 4).unwrap_or("").to_string();
            let auth = opt_num(args, 5, 0..=3)?.unwrap_or(0) as u8;
            if args.len() > 6 || apn.len() > 99 || user.len() > 127 || password.len() > 127 {
                return Err(Refusal::Bad);
            }
            let context = Context {
                kind,
                apn,
                user,
                password,
                auth,
                active: false,
            };
            C::Configure { cid, context }
        }
        (PdpKind::Activate, Form::Read) => C::ActiveList,
        (PdpKind::Activate, Form::Write(args)) => C::Activate {
            cid: cid_arg(args)?,
        },
        (PdpKind::Deactivate, Form::Write(args)) => C::Deactivate {
            cid: cid_arg(args)?,
        },
        (PdpKind::Define, Form::Test) => C::DefineTest,
        (PdpKind::Define, Form::Read) => C::Definitions,
        (PdpKind::Define, Form::Write(args)) => {
            let cid = cid_arg(args)?;
            let kind = match opt_str(args, 1).map(|s| s.to_ascii_uppercase()) {
                None => None,
                Some(t) if t == "IP" => Some(1),
                Some(t) if t == "IPV6" => Some(2),
                Some(t) if t == "IPV4V6" => Some(3),
                Some(_) => return Err(Refusal::Bad),
            };
            let apn = opt_str(args, 2).unwrap_or("").to_string();
            C::Define { cid, kind, apn }
        }
        (PdpKind::LastError, Form::Exec) => C::LastError,
        _ => return Err(Refusal::Form),
    })
}

/// What a PDP command line comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PdpAnswer {
    Done(Outcome),
    /// AT+QIDEACT=<cid>: the module deactivates the context and ends what ran on it.
    Deactivate(u8),
}

impl Pdp {
    /// Dispatch a PDP command; `None` if the name is not one of them. AT+QIDEACT comes
    /// back as [`PdpAnswer::Deactivate`] for the module to run: ending what ran on the
    /// context crosses areas.
    pub(crate) fn dispatch(
        &mut self,
        ctx: &mut Ctx,
        view: PdpView,
        inv: &bg95_at::Invocation,
    ) -> Option<PdpAnswer> {
        let row = crate::area::find(ROWS, &inv.name)?;
        if let Some(o) = crate::area::fixed_test(row, &inv.form, ctx) {
            return Some(PdpAnswer::Done(o));
        }
        Some(match parse(row.kind, &inv.form) {
            Ok(PdpCommand::Deactivate { cid }) => PdpAnswer::Deactivate(cid),
            Ok(cmd) => PdpAnswer::Done(self.run(ctx, view, row.name, cmd)),
            Err(refusal) => PdpAnswer::Done(Outcome::Fail(refusal.result(row))),
        })
    }

    /// Run a parsed command; `name` is its row's, which its answer lines carry.
    fn run(&mut self, ctx: &mut Ctx, view: PdpView, name: &str, cmd: PdpCommand) -> Outcome {
        use PdpCommand as C;
        match cmd {
            C::ConfigRead { cid } => {
                let c = self.get(cid).cloned().unwrap_or_default();
                let line = format!(
                    "{name}: {},\"{}\",\"{}\",\"{}\",{}",
                    c.kind, c.apn, c.user, c.password, c.auth
                );
                ctx.info(&[line]);
                Outcome::Ok
            }
            C::Configure { cid, context } => {
                let Some(c) = self.get_mut(cid) else {
                    return CmeError::IncorrectParameters.into();
                };
                if c.active {
                    // Reconfiguring an active context is refused by the network stack.
                    return CmeError::OperationNotAllowed.into();
                }
                *c = context;
                Outcome::Ok
            }
            C::ActiveList => {
                let lines: Vec<String> = (1..=CONTEXTS as u8)
                    .filter_map(|cid| {
                        let c = self.get(cid)?;
                        c.active.then(|| {
                            let addr = self.address_for(cid, c.kind);
                            format!("{name}: {cid},1,{},\"{addr}\"", c.kind)
                        })
                    })
                    .collect();
                ctx.info(&lines);
                Outcome::Ok
            }
            C::Activate { cid } => self.activate_checked(cid, view),
            // Answered by the module (`PdpAnswer::Deactivate`); alone, the context goes down.
            C::Deactivate { cid } => {
                self.deactivate(cid);
                Outcome::Ok
            }
            C::DefineTest => {
                let lines = CGDCONT_TEST.map(|l| format!("{name}: {l}"));
                ctx.info(&lines);
                Outcome::Ok
            }
            C::Definitions => {
                let lines: Vec<String> = (1..=CONTEXTS as u8)
                    .filter_map(|cid| self.definition_line(name, cid))
                    .collect();
                ctx.info(&lines);
                Outcome::Ok
            }
            C::Define { cid, kind, apn } => self.define(cid, kind, apn),
            C::LastError => {
                ctx.info(&[format!("{name}: 0,operate successfully")]);
                Outcome::Ok
            }
        }
    }

    /// AT+QIACT=<cid>: an active context is fine; an undefined one, no registration or
    /// too many active contexts answer a plain `ERROR` (the TCP/IP note's activation
    /// failures).
    fn activate_checked(&mut self, cid: u8, view: PdpView) -> Outcome {
        if self.is_active(cid) {
            return Outcome::Ok;
        }
        let active = self.contexts.iter().filter(|c| c.active).count();
        let undefined = self.get(cid).is_none_or(|c| c.kind == 0);
        if !view.registered || undefined || active >= view.max_active {
            return Outcome::Fail(bg95_at::FinalResult::Error);
        }
        self.activate(cid);
        Outcome::Ok
    }

    /// One line of AT+CGDCONT? for a defined context.
    fn definition_line(&self, name: &str, cid: u8) -> Option<String> {
        let c = self.get(cid)?;
        (c.kind != 0).then(|| {
            let addr = if c.active {
                self.address_for(cid, c.kind)
            } else {
                "0.0.0.0".to_string()
            };
            let kind = kind_name(c.kind);
            format!("{name}: {cid},\"{kind}\",\"{}\",\"{addr}\",0,0,0,0", c.apn)
        })
    }

    fn define(&mut self, cid: u8, kind: Option<u8>, apn: String) -> Outcome {
        let Some(c) = self.get_mut(cid) else {
            return CmeError::IncorrectParameters.into();
        };
        if c.active {
            return CmeError::OperationNotAllowed.into();
        }
        match kind {
            // AT+CGDCONT=<cid> undefines the context.
            None => *c = Context::default(),
            Some(k) => {
                c.kind = k;
                c.apn = apn;
            }
        }
        Outcome::Ok
    }
}
