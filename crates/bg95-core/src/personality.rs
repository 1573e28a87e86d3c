//! The values that make this a particular BG95: identity, network, limits, firmware quirks.
//! One struct, so a scenario can override any of them.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Personality {
    pub manufacturer: String,
    pub model: String,
    pub revision: String,
    pub imei: String,
    pub imsi: String,
    pub iccid: String,
    pub operator: String,
    /// AT+CSQ `<rssi>` (0–31, 99 unknown).
    pub csq_rssi: u8,
    /// AT+QCSQ values: system mode, RSSI, RSRP, SINR, RSRQ.
    pub qcsq: String,
    /// AT+CEREG `<stat>` when registered: 1 home, 5 roaming.
    pub reg_stat: u8,
    pub tac: String,
    pub cell_id: String,
    /// Access technology reported with registration (8 = eMTC).
    pub act: u8,
    /// The longest command line accepted.
    pub max_line: usize,
    /// How long AT+QPOWD keeps the module silent before it boots again.
    pub power_off_time: Duration,
    /// The boot URCs, in order.
    pub boot_urcs: Vec<String>,
    /// UFS capacity in bytes.
    pub ufs_capacity: u64,
    /// How many PDP contexts may be active at once (section 4.2 of the FTP note: three).
    pub max_active_pdp: usize,
    /// A QFUPL that times out: false = `+CME ERROR: 421` (BG95), true = `+QFUPL: <n>,<sum>`
    /// and `OK` (BG96 manual wording).
    pub qfupl_timeout_reports_size: bool,
    /// Information lines of one response each in their own frame (`\r\n<l1>\r\n\r\n<l2>\r\n`)
    /// instead of one block (`\r\n<l1>\r\n<l2>\r\n`, the default); observed-behaviour.md
    /// has both.
    pub info_lines_framed: bool,
    /// A SIM is in the slot at power-on. Without one the boot URCs say `+CPIN: NOT READY`
    /// (no `+QUSIM`/`+QIND: SMS DONE`), AT+CPIN? answers `+CME ERROR: 10` and the module
    /// does not register.
    pub sim_inserted: bool,
    /// The IPv4 address the network gives each context (cid → address); contexts not listed
    /// get `10.7.157.<cid>`. AT+QIACT?, AT+CGPADDR and AT+CGDCONT? show it.
    pub pdp_addresses: std::collections::BTreeMap<u8, core::net::Ipv4Addr>,
    /// The state the module is in when it is first observed (a field log that starts after
    /// boot: a scenario's `[module] active_contexts` and `[module.qftpcfg]`): command lines
    /// it had already run, in order (`AT+QIACT=1`, `AT+QFTPCFG="contextid",1`). They run
    /// through its own command path right after the first power-on, their answers unseen;
    /// a reset later loses what they set, as it loses what the host set.
    pub start_commands: Vec<String>,
}

impl Default for Personality {
    fn default() -> Self {
        Personality {
            manufacturer: "Quectel".into(),
            model: "BG95-M3".into(),
            revision: "BG95M3LAR02A03".into(),
            imei: "866425031234567".into(),
            imsi: "460001234567890".into(),
            iccid: "89860012345678901234".into(),
            operator: "CHINA MOBILE".into(),
            csq_rssi: 24,
            qcsq: "\"eMTC\",-65,-92,160,-9".into(),
            reg_stat: 1,
            tac: "1A2B".into(),
            cell_id: "0C4D5E01".into(),
            act: 8,
            max_line: bg95_at::line::DEFAULT_MAX_LINE,
            power_off_time: Duration::from_secs(2),
            boot_urcs: [
                "RDY",
                "+CFUN: 1",
                "+CPIN: READY",
                "+QUSIM: 1",
                "+QIND: SMS DONE",
                "APP RDY",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            ufs_capacity: 2_097_152,
            max_active_pdp: 3,
            qfupl_timeout_reports_size: false,
            info_lines_framed: false,
            sim_inserted: true,
            pdp_addresses: Default::default(),
            start_commands: Vec::new(),
        }
    }
}
