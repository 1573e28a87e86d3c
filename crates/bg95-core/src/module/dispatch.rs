//! The module's routing and cross-area work: each command line goes to the area whose
//! table knows its name, with the narrow context and the views it needs; what an area
//! hands back (a context to deactivate, a radio change, ATO) is done here.

use bg95_at::Invocation;

use super::{AfterOk, Module, Outcome};
use crate::basic::{BasicAnswer, BasicView, Profile};
use crate::general::{answer, attach, clock, dns, find, gnss, network, qcfg, GeneralView};
use crate::pdp::PdpAnswer;
use crate::time::Instant;

impl Module {
    /// Deadlines of the general commands (a QNTP answer, a DNS or ping that never came back).
    pub(super) fn general_timeout(&mut self, now: Instant) {
        self.general.clock.timeout(&mut ctx!(self, now));
        self.general.dns.timeout(&mut ctx!(self, now));
    }

    /// A PDP context went down: what runs on it fails.
    pub(crate) fn general_context_lost(&mut self, now: Instant, cid: u8) {
        self.general.clock.context_lost(&mut ctx!(self, now), cid);
        self.general.dns.context_lost(&mut ctx!(self, now), cid);
    }

    /// Dispatch a general command; `None` if the name is not one of them.
    pub(super) fn dispatch_general(&mut self, now: Instant, inv: &Invocation) -> Option<Outcome> {
        let name = inv.name.as_str();
        if let Some(o) = self.dispatch_attach(now, inv) {
            return Some(o);
        }
        if let Some(row) = find(clock::ROWS, name) {
            let (clock, pdp) = (&mut self.general.clock, &self.pdp);
            let cx = &mut ctx!(self, now);
            return Some(answer(cx, row, &inv.form, clock::parse, |cx, cmd| {
                clock.run(cx, pdp, cmd)
            }));
        }
        if let Some(row) = find(network::ROWS, name) {
            let view = GeneralView {
                p: &self.p,
                registered: self.registered(),
                act: self.current_act(),
            };
            let network = &mut self.general.network;
            let cx = &mut ctx!(self, now);
            return Some(answer(cx, row, &inv.form, network::parse, |cx, cmd| {
                network.run(cx, &view, cmd)
            }));
        }
        if let Some(row) = find(qcfg::ROWS, name) {
            let qcfg = &mut self.general.qcfg;
            let cx = &mut ctx!(self, now);
            return Some(answer(cx, row, &inv.form, qcfg::parse, |cx, cmd| {
                qcfg.run(cx, cmd)
            }));
        }
        if let Some(row) = find(dns::ROWS, name) {
            let (dns, pdp) = (&mut self.general.dns, &self.pdp);
            let cx = &mut ctx!(self, now);
            return Some(answer(cx, row, &inv.form, dns::parse, |cx, cmd| {
                dns.run(cx, pdp, cmd)
            }));
        }
        if let Some(row) = find(gnss::ROWS, name) {
            let gnss = &mut self.general.gnss;
            let cx = &mut ctx!(self, now);
            return Some(answer(cx, row, &inv.form, gnss::parse, |cx, cmd| {
                gnss.run(cx, cmd)
            }));
        }
        None
    }

    /// Succeed, and do `a` after the line's `OK`.
    pub(crate) fn after(&mut self, a: AfterOk) -> Outcome {
        self.after_ok.push(a);
        Outcome::Ok
    }

    pub(super) fn dispatch_basic(&mut self, now: Instant, inv: &Invocation) -> Option<Outcome> {
        let view = BasicView {
            p: &self.p,
            stat: self.registration_stat(),
            act: self.current_act(),
            sim_present: self.general.attach.sim_present,
            baud: self.baud,
        };
        // The context is built before the profile is lent out (it copies the format).
        let mut ctx = ctx!(self, now);
        let profile = Profile {
            cfg: &mut self.cfg,
            saved: &mut self.saved,
        };
        let answer = self.basic.dispatch(&mut ctx, &view, profile, inv)?;
        Some(match answer {
            BasicAnswer::Done(o) => o,
            BasicAnswer::Cfun { fun, reset } => self.cfun(now, fun, reset),
            BasicAnswer::Online => self.ftp.ato(&mut ctx!(self, now)),
        })
    }

    /// The module's current UTC time in Unix seconds (for TLS date checks).
    pub fn utc_unix(&self, now: Instant) -> i64 {
        self.general.clock.utc(now)
    }

    /// Registered on the network (home or roaming).
    pub(crate) fn registered(&self) -> bool {
        matches!(self.registration_stat(), 1 | 5)
    }

    /// `<stat>` plus the location fields that mode 2 adds while registered.
    pub(crate) fn reg_fields(&self, mode: u8) -> String {
        crate::basic::reg_fields(&self.p, mode, self.registration_stat(), self.current_act())
    }

    /// AT+CFUN=<fun>[,<rst>]: a reset after the `OK`, or the radio changes: off, the
    /// network drops every PDP context (and what runs on them); registered again, context
    /// 1's default bearer comes back; the registration URCs report a change of `<stat>`.
    fn cfun(&mut self, now: Instant, fun: u8, reset: bool) -> Outcome {
        if reset {
            return self.after(AfterOk::Reset);
        }
        if fun != self.basic.net.cfun {
            let was_registered = self.registered();
            self.basic.net.cfun = fun;
            if fun != 1 {
                self.deactivate_all_pdp(now);
            }
            if self.registered() && !was_registered {
                self.pdp.default_bearer = true;
            }
            // 27.007: the URCs report a change of <stat> (CFUN=0 → 4 changes nothing).
            if self.registered() != was_registered {
                for (name, reg) in crate::basic::registration_rows() {
                    let mode = self.basic.net.mode(reg);
                    if mode > 0 {
                        let fields = self.reg_fields(mode);
                        self.after_ok
                            .push(AfterOk::Urc(format!("{name}: {fields}")));
                    }
                }
            }
        }
        Outcome::Ok
    }

    pub(super) fn dispatch_pdp(&mut self, now: Instant, inv: &Invocation) -> Option<Outcome> {
        let view = crate::pdp::PdpView {
            registered: self.registered(),
            max_active: self.p.max_active_pdp,
        };
        match self.pdp.dispatch(&mut ctx!(self, now), view, inv)? {
            PdpAnswer::Done(o) => Some(o),
            PdpAnswer::Deactivate(cid) => {
                if self.deactivate_pdp(now, cid) {
                    self.pdn_event(true, &format!("ME PDN DEACT {cid}"));
                }
                Some(Outcome::Ok)
            }
        }
    }

    /// Deactivate a context and close every socket on it (the FTP session, DNS, NTP).
    /// Returns whether the context was up.
    pub(crate) fn deactivate_pdp(&mut self, now: Instant, cid: u8) -> bool {
        let was_up = self.pdp.deactivate(cid);
        if was_up {
            self.ftp.ftp_context_lost(&mut ctx!(self, now), cid);
            self.general_context_lost(now, cid);
        }
        was_up
    }

    pub(crate) fn deactivate_all_pdp(&mut self, now: Instant) {
        for cid in 1..=crate::pdp::CONTEXTS as u8 {
            self.deactivate_pdp(now, cid);
        }
    }

    /// AT+CGATT, AT+CGACT, AT+CGPADDR, AT+CGEREP: attach and activation change the
    /// registration and the contexts, which crosses areas.
    fn dispatch_attach(&mut self, now: Instant, inv: &Invocation) -> Option<Outcome> {
        let view = attach::AttachView {
            registered: self.registered(),
            pdp: &self.pdp,
        };
        let answer = self
            .general
            .attach
            .dispatch(&mut ctx!(self, now), &view, inv)?;
        Some(match answer {
            attach::AttachAnswer::Done(o) => o,
            attach::AttachAnswer::Attach(on) => {
                if on && self.basic.net.cfun != 1 {
                    // No radio, no attach.
                    return Some(crate::error::CmeError::NoNetworkService.into());
                }
                self.registration_change(now, true, |m| m.general.attach.host_detached = !on);
                Outcome::Ok
            }
            attach::AttachAnswer::Activate { on, cids } => self.cgact(now, on, cids),
        })
    }
}
