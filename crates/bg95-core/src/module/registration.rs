//! The registration model, which crosses areas: `<stat>` comes from the radio (basic
//! area), the SIM, the host's detach and the network (attach state of the general area);
//! losing it drops the PDP contexts (and what runs on them), regaining it brings the
//! default bearer back, and the registration URCs follow as the host enabled them.

use crate::area::{AfterOk, Outcome};
use crate::module::Module;
use crate::pdp::CONTEXTS;
use crate::time::Instant;

impl Module {
    /// AT+CGACT=<state>,<cids>: the same activation as AT+QIACT / AT+QIDEACT.
    pub(super) fn cgact(&mut self, now: Instant, on: bool, cids: Vec<u8>) -> Outcome {
        if !on {
            for cid in cids {
                if self.deactivate_pdp(now, cid) {
                    self.pdn_event(true, &format!("ME PDN DEACT {cid}"));
                }
            }
            return Outcome::Ok;
        }
        let cids = if cids.is_empty() {
            self.pdp.defined_cids()
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
