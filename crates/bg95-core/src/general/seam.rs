//! What the runtime reports to the general commands, and what they ask of it.

use core::net::IpAddr;
use std::time::Duration;

/// Something that happened in the (emulated) network, not asked for by the host: the entry
/// point for scenarios that inject real-world events. Each produces the URCs a real module
/// gives and the same state changes the matching host command (AT+CGATT, AT+QIDEACT) causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkEvent {
    /// The registration state changed: `stat` as AT+CEREG reports it (0 not registered,
    /// 1 home, 2 searching, 3 denied, 4 unknown, 5 roaming), optionally a new access
    /// technology (`act`, 27.007: 0 GSM, 8 eMTC, 9 NB-IoT).
    Registration { stat: u8, act: Option<u8> },
    /// The network deactivated a PDP context (`+QIURC: "pdpdeact",<cid>`).
    PdpLost { cid: u8 },
    /// The SIM was pulled: `+CPIN: NOT READY`, registration and contexts are lost.
    SimRemoved,
    /// A SIM was inserted: `+CPIN: READY`, the module registers again.
    SimInserted,
    /// Network time (NITZ) arrived: UTC as Unix seconds and the zone in quarter hours.
    /// The runtime sends one at start with the host's wall time.
    Time { unix_secs: i64, zone_quarters: i8 },
}

/// Why a lookup failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveFailure {
    NotFound,
    Timeout,
}

/// One step of an AT+QPING run, as the runtime observed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingEvent {
    /// The host name did not resolve: the run ends.
    ResolveFailed(ResolveFailure),
    /// One probe: the address probed and its round trip, `None` if it got no answer within
    /// the timeout.
    Echo { ip: IpAddr, rtt: Option<Duration> },
}
