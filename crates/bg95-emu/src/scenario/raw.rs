//! The scenario file as serde reads it: every table denies unknown keys, so a typo is an
//! error with its line. Meaning (which keys belong together, references, paths) is checked
//! afterwards in `load.rs`, with the spans kept here.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use std::net::{IpAddr, Ipv4Addr};

use super::duration::Dur;
use super::kinds::{ActionName, On};
use crate::net::{Conn, Direction};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: Option<String>,
    pub description: Option<String>,
    pub seed: Option<u64>,
    pub time_scale: Option<Spanned<f64>>,
    #[serde(default)]
    pub module: RawModule,
    #[serde(default)]
    pub network: RawNetwork,
    #[serde(default)]
    pub serial: RawSerial,
    pub ftp_server: Option<RawFtpServer>,
    #[serde(default)]
    pub fault: Vec<Spanned<RawFault>>,
    #[serde(default)]
    pub step: Vec<Spanned<RawStep>>,
    /// Steps run before `step`, to bring the module to the start state (scenario/start.rs).
    #[serde(default)]
    pub setup: Vec<Spanned<RawStep>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModule {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub revision: Option<String>,
    pub imei: Option<String>,
    pub imsi: Option<String>,
    pub iccid: Option<String>,
    pub operator: Option<String>,
    /// AT+CSQ `<rssi>`.
    pub signal: Option<Spanned<u8>>,
    pub qcsq: Option<String>,
    pub ufs_size: Option<Spanned<u64>>,
    pub boot_urcs: Option<Vec<String>>,
    pub max_line: Option<usize>,
    pub power_off_time: Option<Dur>,
    pub max_active_pdp: Option<usize>,
    pub qfupl_timeout_reports_size: Option<bool>,
    /// Each information line in its own `\r\n…\r\n` frame.
    pub info_lines_framed: Option<bool>,
    /// The start state (scenario/start.rs): contexts active at boot, QFTPCFG values set.
    #[serde(default)]
    pub active_contexts: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub qftpcfg: BTreeMap<String, Spanned<toml::Value>>,
    /// Registered at power-on as `home` or `roaming`.
    pub registration: Option<Spanned<String>>,
    /// UFS files present at boot: name → content.
    #[serde(default)]
    pub ufs: BTreeMap<String, Spanned<RawUfsFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUfsFile {
    pub text: Option<String>,
    /// A file relative to the scenario file.
    pub path: Option<Spanned<String>>,
    /// Filler of this many bytes.
    pub size: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetwork {
    #[serde(default)]
    pub registration: Vec<Spanned<RawRegistration>>,
    /// PDP context → IPv4 address the context gets.
    #[serde(default)]
    pub pdp: BTreeMap<String, Spanned<Ipv4Addr>>,
    /// Host name → address (or list of addresses).
    #[serde(default)]
    pub dns: BTreeMap<String, Spanned<RawAddrs>>,
    #[serde(default)]
    pub dns_exclusive: bool,
    /// Data connections go to the control peer whatever PASV names (`--pasv-same-host`).
    #[serde(default)]
    pub pasv_same_host: bool,
}

/// One address or a list of them, each parsed.
#[derive(Debug)]
pub(crate) struct RawAddrs(pub Vec<IpAddr>);

impl<'de> Deserialize<'de> for RawAddrs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        fn ip<E: serde::de::Error>(v: &str) -> Result<IpAddr, E> {
            v.parse()
                .map_err(|_| E::custom(format!("{v:?} is not an IP address")))
        }
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawAddrs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an address string or a list of them")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawAddrs, E> {
                Ok(RawAddrs(vec![ip(v)?]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<RawAddrs, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = a.next_element::<String>()? {
                    v.push(ip(&s)?);
                }
                Ok(RawAddrs(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// `state` of a `[network] registration` entry: CREG/CEREG `<stat>`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RegState {
    NotRegistered,
    #[serde(alias = "registered")]
    Home,
    Searching,
    Denied,
    Unknown,
    Roaming,
}

impl RegState {
    pub fn stat(self) -> u8 {
        self as u8
    }
}

/// `technology` of a `[network] registration` entry: `<AcT>`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Technology {
    Gsm,
    #[default]
    #[serde(alias = "cat-m1")]
    Emtc,
    #[serde(alias = "nb-iot")]
    Nbiot,
}

impl Technology {
    pub fn act(self) -> u8 {
        match self {
            Technology::Gsm => 0,
            Technology::Emtc => 8,
            Technology::Nbiot => 9,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegistration {
    pub at: Dur,
    pub state: RegState,
    pub technology: Option<Technology>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSerial {
    pub baud: Option<u32>,
    pub chunk: Option<Spanned<usize>>,
    pub chunk_delay: Option<Dur>,
    pub drop_byte_at: Option<u64>,
    pub flip_byte_at: Option<u64>,
    /// XOR mask of the flipped byte (default 0x01).
    pub flip_mask: Option<Spanned<u8>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFtpServer {
    pub root: Spanned<String>,
    pub port: Option<u16>,
    pub users: Option<Vec<RawUser>>,
    pub tls: Option<Spanned<bool>>,
    /// Files added to (a copy of) the root: path → content.
    #[serde(default)]
    pub files: BTreeMap<String, Spanned<RawUfsFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUser {
    pub user: String,
    pub password: String,
}

/// One `[[fault]]`: flat keys, grouped by meaning in load.rs (`on` picks the trigger's keys,
/// `action` the action's keys; a key of another kind is an error).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFault {
    pub name: Option<String>,
    pub optional: Option<bool>,
    // -- trigger
    pub on: Spanned<On>,
    pub nth: Option<Spanned<u64>>,
    pub times: Option<Spanned<RawTimes>>,
    pub probability: Option<Spanned<f64>>,
    pub command: Option<Spanned<String>>,
    pub params: Option<Spanned<String>>,
    pub verb: Option<Spanned<String>>,
    pub host: Option<Spanned<String>>,
    pub conn: Option<Spanned<Conn>>,
    pub direction: Option<Spanned<Direction>>,
    pub after_bytes: Option<Spanned<u64>>,
    pub after: Option<Spanned<Dur>>,
    pub fault: Option<Spanned<String>>,
    // -- action
    pub action: Spanned<ActionName>,
    pub code: Option<Spanned<u16>>,
    pub text: Option<Spanned<String>>,
    pub delay: Option<Spanned<Dur>>,
    pub jitter: Option<Spanned<Dur>>,
    pub bytes_per_sec: Option<Spanned<u64>>,
    pub cid: Option<Spanned<u8>>,
    pub regain_after: Option<Spanned<Dur>>,
    pub lines: Option<Spanned<Vec<String>>>,
    pub result: Option<Spanned<String>>,
    pub target: Option<Spanned<String>>,
}

#[derive(Debug)]
pub(crate) enum RawTimes {
    Count(u64),
    Word(String),
}

impl<'de> Deserialize<'de> for RawTimes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawTimes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a count (1, 2, …) or \"always\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawTimes, E> {
                u64::try_from(v)
                    .map(RawTimes::Count)
                    .map_err(|_| E::custom(format!("{v}: write a count (1, 2, …) or \"always\"")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawTimes, E> {
                Ok(RawTimes::Count(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawTimes, E> {
                Ok(RawTimes::Word(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub send: Option<String>,
    pub line: Option<String>,
    pub bytes: Option<Vec<u8>>,
    /// Send this many filler bytes (an upload's data).
    pub send_size: Option<u64>,
    pub expect: Option<String>,
    pub expect_regex: Option<Spanned<String>>,
    pub expect_bytes: Option<String>,
    pub expect_any: Option<Spanned<Vec<String>>>,
    pub expect_unordered: Option<Spanned<Vec<String>>>,
    pub expect_silence: Option<Dur>,
    pub expect_server_file: Option<Spanned<RawFileCheck>>,
    pub expect_ufs_file: Option<Spanned<RawFileCheck>>,
    pub timeout: Option<Dur>,
    pub not_before: Option<Dur>,
    pub wait: Option<Dur>,
    pub reopen: Option<bool>,
    /// Run `steps` this many times (steps.rs checks the pair and its bounds).
    pub repeat: Option<Spanned<u64>>,
    pub steps: Option<Spanned<Vec<Spanned<RawStep>>>>,
}

/// `expect_server_file` / `expect_ufs_file`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFileCheck {
    pub name: String,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub text: Option<String>,
    #[serde(default)]
    pub absent: bool,
}
