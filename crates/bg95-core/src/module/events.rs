//! Real-world events the runtime (or a scenario) reports: each produces the URCs a real
//! module gives and the same state changes as the host commands that cause them.

use crate::module::Module;
use crate::time::Instant;

use crate::general::NetworkEvent;

impl Module {
    pub(crate) fn network_event(&mut self, now: Instant, ev: NetworkEvent) {
        tracing::info!(target: "bg95::core", "network event {ev:?}");
        match ev {
            NetworkEvent::Registration { stat, act } => {
                let was_registered = self.registered();
                self.registration_change(now, false, |m| {
                    let a = &mut m.general.attach;
                    a.network_stat = Some(stat);
                    if act.is_some() {
                        a.network_act = act;
                    }
                });
                self.signal_indication(was_registered);
            }
            NetworkEvent::PdpLost { cid } => {
                if self.deactivate_pdp(now, cid) {
                    self.pdn_event(false, &format!("NW PDN DEACT {cid}"));
                    self.urc(&format!("+QIURC: \"pdpdeact\",{cid}"));
                }
            }
            NetworkEvent::SimRemoved => {
                if !self.general.attach.sim_present {
                    return;
                }
                let was_registered = self.registered();
                self.urc(&crate::basic::sim_urc(false));
                self.registration_change(now, false, |m| m.general.attach.sim_present = false);
                self.signal_indication(was_registered);
            }
            NetworkEvent::SimInserted => {
                if self.general.attach.sim_present {
                    return;
                }
                let was_registered = self.registered();
                self.urc(&crate::basic::sim_urc(true));
                self.registration_change(now, false, |m| m.general.attach.sim_present = true);
                self.signal_indication(was_registered);
            }
            NetworkEvent::Time {
                unix_secs,
                zone_quarters,
            } => self
                .general
                .clock
                .nitz(&mut ctx!(self, now), unix_secs, zone_quarters),
        }
    }

    /// `+QIND: "csq",<rssi>,<ber>` when the signal appeared or went (AT+QINDCFG="csq",1).
    fn signal_indication(&mut self, was_registered: bool) {
        if self.registered() == was_registered || !self.general.qcfg.csq_indication() {
            return;
        }
        let rssi = if self.registered() {
            self.p.csq_rssi
        } else {
            99
        };
        self.urc(&format!("+QIND: \"csq\",{rssi},99"));
    }
}
