//! The general 3GPP/Quectel commands drivers send around FTP (general-commands.md): PDP
//! attach state, the module clock, network information, configuration, DNS, ping, data
//! counters and a minimal GNSS. Each sub-area owns its state and parses every command once
//! into its own typed command enum through one table of rows (name, test line, the error a
//! bad parameter gives).
//!
//! What the runtime does for these commands crosses the seam in [`seam`]: `Effect::Resolve`,
//! `Effect::Ping` out; `Completion::Network`, `Completion::Resolved`, `Completion::Ping`,
//! `Completion::Traffic` in.

use bg95_at::Form;

use crate::area::Outcome;
use crate::time::Instant;

pub(crate) mod attach;
pub(crate) mod clock;
pub(crate) mod dns;
pub(crate) mod gnss;
pub(crate) mod network;
pub(crate) mod qcfg;
pub mod seam;

pub use seam::{NetworkEvent, PingEvent, ResolveFailure};

pub(crate) use crate::area::{Bad, Refusal, Row, TEST_OK};

/// What the general commands read from the other areas (read-only, passed by the module).
pub(crate) struct GeneralView<'a> {
    pub p: &'a crate::personality::Personality,
    /// Registered on the network (home or roaming).
    pub registered: bool,
    /// 27.007 `<AcT>` of the serving cell.
    pub act: u8,
}

/// Answer a line of `row` with an area's `parse` and `run` (the Test form, when fixed, by
/// the row).
pub(crate) fn answer<K: Copy, C>(
    cx: &mut crate::area::Ctx,
    row: &Row<K>,
    form: &Form,
    parse: fn(K, &Form) -> Result<C, Refusal>,
    run: impl FnOnce(&mut crate::area::Ctx, C) -> Outcome,
) -> Outcome {
    if let Some(o) = crate::area::fixed_test(row, form, cx) {
        return o;
    }
    match parse(row.kind, form) {
        Ok(cmd) => run(cx, cmd),
        Err(refusal) => Outcome::Fail(refusal.result(row)),
    }
}

/// Volatile and non-volatile state of the general commands.
#[derive(Debug)]
pub(crate) struct General {
    pub attach: attach::Attach,
    pub clock: clock::ModuleClock,
    pub network: network::NetworkSettings,
    pub qcfg: qcfg::Qcfg,
    pub dns: dns::Dns,
    pub gnss: gnss::Gnss,
}

impl General {
    pub fn new(now: Instant) -> Self {
        General {
            attach: Default::default(),
            clock: clock::ModuleClock::new(now),
            network: Default::default(),
            qcfg: Default::default(),
            dns: Default::default(),
            gnss: Default::default(),
        }
    }

    /// A boot (power-on, reset): volatile state goes, non-volatile state stays.
    pub fn boot(&mut self) {
        self.attach.boot();
        self.clock.boot();
        self.network.boot();
        self.qcfg.boot();
        self.dns.boot();
        self.gnss = Default::default();
    }

    pub fn deadline(&self) -> Option<Instant> {
        [self.clock.deadline(), self.dns.deadline()]
            .into_iter()
            .flatten()
            .min()
    }
}

pub(crate) fn find<K: Copy>(rows: &'static [Row<K>], name: &str) -> Option<&'static Row<K>> {
    rows.iter().find(|r| r.name == name)
}
