//! PDP contexts: AT+QICSGP, AT+QIACT, AT+QIDEACT, AT+CGDCONT, AT+QIGETERROR.
//! Activation always succeeds while the radio is on (up to the personality's limit of
//! simultaneously active contexts); each context gets a deterministic private IPv4 address.

use bg95_at::{FinalResult, Form, Invocation};

use crate::error::CmeError;
use crate::module::{Module, Outcome};
use crate::params::{num, opt_num, opt_str, BadParam};
use crate::time::Instant;

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
}

impl Default for Pdp {
    fn default() -> Self {
        let mut contexts: [Context; CONTEXTS] = Default::default();
        // Context 1 exists out of the box (the network's default bearer), APN empty.
        contexts[0].kind = 1;
        Pdp {
            contexts,
            default_bearer: true,
        }
    }
}

impl Pdp {
    pub fn get(&self, cid: u8) -> Option<&Context> {
        self.contexts.get(usize::from(cid).checked_sub(1)?)
    }

    fn get_mut(&mut self, cid: u8) -> Option<&mut Context> {
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

    /// The address of a context that is up.
    pub fn address_of(&self, cid: u8) -> Option<String> {
        let c = self.get(cid)?;
        self.is_up(cid).then(|| Self::address_for(cid, c.kind))
    }

    /// The address a context gets when active: `10.7.157.<cid>`.
    pub fn address(cid: u8) -> String {
        format!("10.7.157.{cid}")
    }

    pub(crate) fn address_for(cid: u8, kind: u8) -> String {
        match kind {
            2 => format!("FD00:0:0:0:0:0:A07:9D{cid:02X}"),
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

impl Module {
    /// The address context `cid` of `kind` has while up: the network's (a scenario's
    /// `[network.pdp]`, [`crate::Personality::pdp_addresses`]) for IPv4, else the default.
    pub(crate) fn pdp_address(&self, cid: u8, kind: u8) -> String {
        match self.p.pdp_addresses.get(&cid) {
            Some(ip) if kind != 2 => ip.to_string(),
            _ => Pdp::address_for(cid, kind),
        }
    }

    /// The address of a context that is up (AT+CGPADDR).
    pub(crate) fn pdp_address_of(&self, cid: u8) -> Option<String> {
        let c = self.pdp.get(cid)?;
        self.pdp.is_up(cid).then(|| self.pdp_address(cid, c.kind))
    }

    pub(crate) fn dispatch_pdp(&mut self, now: Instant, inv: &Invocation) -> Option<Outcome> {
        Some(match inv.name.as_str() {
            "+QICSGP" => self.qicsgp(inv),
            "+QIACT" => self.qiact(inv),
            "+QIDEACT" => self.qideact(now, inv),
            "+CGDCONT" => self.cgdcont(inv),
            "+QIGETERROR" => match inv.form {
                Form::Exec => {
                    self.info(&["+QIGETERROR: 0,operate successfully"]);
                    Outcome::Ok
                }
                Form::Test => Outcome::Ok,
                _ => Outcome::Fail(FinalResult::Error),
            },
            _ => return None,
        })
    }

    fn qicsgp(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => {
                self.info(&["+QICSGP: (1-16),(1-3),<APN>,<username>,<password>,(0-3)"]);
                Outcome::Ok
            }
            Form::Write(args) if args.len() == 1 => match num(args, 0, 1..=16) {
                Ok(cid) => {
                    let c = self.pdp.get(cid as u8).cloned().unwrap_or_default();
                    let line = format!(
                        "+QICSGP: {},\"{}\",\"{}\",\"{}\",{}",
                        c.kind, c.apn, c.user, c.password, c.auth
                    );
                    self.info(&[line]);
                    Outcome::Ok
                }
                Err(e) => e.into(),
            },
            Form::Write(args) => {
                let parsed = (|| {
                    let cid = num(args, 0, 1..=16)? as u8;
                    let kind = num(args, 1, 1..=3)? as u8;
                    let apn = opt_str(args, 2).unwrap_or("").to_string();
                    let user = opt_str(args, 3).unwrap_or("").to_string();
                    let password = opt_str(args, 4).unwrap_or("").to_string();
                    let auth = opt_num(args, 5, 0..=3)?.unwrap_or(0) as u8;
                    if args.len() > 6 || apn.len() > 99 || user.len() > 127 || password.len() > 127
                    {
                        return Err(BadParam);
                    }
                    Ok((cid, kind, apn, user, password, auth))
                })();
                let Ok((cid, kind, apn, user, password, auth)) = parsed else {
                    return CmeError::IncorrectParameters.into();
                };
                let Some(c) = self.pdp.get_mut(cid) else {
                    return CmeError::IncorrectParameters.into();
                };
                if c.active {
                    // Reconfiguring an active context is refused by the network stack.
                    return CmeError::OperationNotAllowed.into();
                }
                *c = Context {
                    kind,
                    apn,
                    user,
                    password,
                    auth,
                    active: false,
                };
                Outcome::Ok
            }
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    fn qiact(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => {
                self.info(&["+QIACT: (1-16)"]);
                Outcome::Ok
            }
            Form::Read => {
                let lines: Vec<String> = (1..=CONTEXTS as u8)
                    .filter_map(|cid| {
                        let c = self.pdp.get(cid)?;
                        c.active.then(|| {
                            format!(
                                "+QIACT: {cid},1,{},\"{}\"",
                                c.kind,
                                self.pdp_address(cid, c.kind)
                            )
                        })
                    })
                    .collect();
                self.info(&lines);
                Outcome::Ok
            }
            Form::Write(args) => {
                let Ok(cid) = num(args, 0, 1..=16) else {
                    return CmeError::IncorrectParameters.into();
                };
                let cid = cid as u8;
                if self.pdp.is_active(cid) {
                    return Outcome::Ok;
                }
                let active = self.pdp.contexts.iter().filter(|c| c.active).count();
                let undefined = self.pdp.get(cid).is_none_or(|c| c.kind == 0);
                if !self.registered() || undefined || active >= self.p.max_active_pdp {
                    // The TCP/IP note's activation failures answer a plain ERROR.
                    return Outcome::Fail(FinalResult::Error);
                }
                self.pdp.activate(cid);
                Outcome::Ok
            }
            Form::Exec => Outcome::Fail(FinalResult::Error),
        }
    }

    fn qideact(&mut self, now: Instant, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => {
                self.info(&["+QIDEACT: (1-16)"]);
                Outcome::Ok
            }
            Form::Write(args) => {
                let Ok(cid) = num(args, 0, 1..=16) else {
                    return CmeError::IncorrectParameters.into();
                };
                if self.deactivate_pdp(now, cid as u8) {
                    self.pdn_event(true, &format!("ME PDN DEACT {cid}"));
                }
                Outcome::Ok
            }
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    /// Deactivate a context and close every socket on it (the FTP session among them).
    /// Returns whether the context was up.
    pub(crate) fn deactivate_pdp(&mut self, now: Instant, cid: u8) -> bool {
        let was_up = self.pdp.is_up(cid);
        if cid == 1 {
            self.pdp.default_bearer = false;
        }
        if let Some(c) = self.pdp.get_mut(cid) {
            c.active = false;
        }
        if was_up {
            self.ftp_context_lost(now, cid);
            self.general_context_lost(now, cid);
        }
        was_up
    }

    pub(crate) fn deactivate_all_pdp(&mut self, now: Instant) {
        for cid in 1..=CONTEXTS as u8 {
            self.deactivate_pdp(now, cid);
        }
    }

    fn cgdcont(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Test => {
                self.info(&[
                    "+CGDCONT: (1-16),\"IP\",,,(0),(0),(0),(0)",
                    "+CGDCONT: (1-16),\"IPV6\",,,(0),(0),(0),(0)",
                    "+CGDCONT: (1-16),\"IPV4V6\",,,(0),(0),(0),(0)",
                ]);
                Outcome::Ok
            }
            Form::Read => {
                let lines: Vec<String> = (1..=CONTEXTS as u8)
                    .filter_map(|cid| {
                        let c = self.pdp.get(cid)?;
                        (c.kind != 0).then(|| {
                            let addr = if c.active {
                                self.pdp_address(cid, c.kind)
                            } else {
                                "0.0.0.0".to_string()
                            };
                            format!(
                                "+CGDCONT: {cid},\"{}\",\"{}\",\"{addr}\",0,0,0,0",
                                kind_name(c.kind),
                                c.apn
                            )
                        })
                    })
                    .collect();
                self.info(&lines);
                Outcome::Ok
            }
            Form::Write(args) => {
                let Ok(cid) = num(args, 0, 1..=16) else {
                    return CmeError::IncorrectParameters.into();
                };
                let kind = match opt_str(args, 1).map(|s| s.to_ascii_uppercase()) {
                    None => None,
                    Some(t) if t == "IP" => Some(1),
                    Some(t) if t == "IPV6" => Some(2),
                    Some(t) if t == "IPV4V6" => Some(3),
                    Some(_) => return CmeError::IncorrectParameters.into(),
                };
                let apn = opt_str(args, 2).unwrap_or("").to_string();
                let Some(c) = self.pdp.get_mut(cid as u8) else {
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
            Form::Exec => Outcome::Fail(FinalResult::Error),
        }
    }
}
