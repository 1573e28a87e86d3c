//! A transcript's header (`#! module …`, `#! ufs …`): the module the recording started with.
//! Imported, it becomes the scenario's `[module]` keys, `[module.ufs]` files, `[network.pdp]`
//! addresses, the start state and a SIM-less boot, so the imported scenario boots the same
//! module (docs/import.md).

use bg95_core::transcript::{parse_setup, RecordedFile};
use bg95_core::Personality;

use super::build::{q, Builder};

/// What the header says, as scenario text.
#[derive(Debug, Default)]
pub(super) struct Recorded {
    /// `key = value` lines of `[module]`.
    pub module_keys: Vec<String>,
    /// `"name" = { … }` lines of `[module.ufs]`.
    pub ufs: Vec<String>,
}

/// Read the header lines collected from the transcript into `b`.
pub(super) fn apply(b: &mut Builder, header: &str) -> Recorded {
    let mut out = Recorded::default();
    let setup = match parse_setup(header) {
        Ok(s) => s,
        Err(e) => {
            b.notes.push(format!(
                "the transcript's header is not used (line {}: {})",
                e.line, e.message
            ));
            return out;
        }
    };
    let p = &setup.personality;
    out.module_keys = module_keys(p);
    for (cid, ip) in &p.pdp_addresses {
        b.pdp_addresses.insert(*cid, ip.to_string());
    }
    if p.reg_stat == 5 {
        b.start.registration = Some("roaming");
    }
    if !p.sim_inserted {
        b.faults
            .push("on = \"time\"\nafter = \"0s\"\naction = \"sim_removed\"".into());
    }
    for line in &p.start_commands {
        start_command(b, line, p);
    }
    for (name, content) in &setup.ufs {
        let value = match content {
            RecordedFile::Bytes(bytes) => match std::str::from_utf8(bytes) {
                Ok(t) => format!("{{ text = {} }}", q(t)),
                Err(_) => format!("{{ size = {} }}", bytes.len()),
            },
            RecordedFile::Digest { len, .. } => format!("{{ size = {len} }}"),
        };
        out.ufs.push(format!("{} = {value}", q(name)));
    }
    if !out.module_keys.is_empty() || !out.ufs.is_empty() {
        b.notes.push("the module the transcript started with ([module] keys and UFS files from its #! header)".into());
    }
    out
}

/// The `[module]` keys of a personality's fields that differ from the default.
fn module_keys(p: &Personality) -> Vec<String> {
    let d = Personality::default();
    let mut keys = Vec::new();
    macro_rules! text {
        ($($f:ident => $k:literal),*) => {$( if p.$f != d.$f { keys.push(format!("{} = {}", $k, q(&p.$f))); } )*};
    }
    macro_rules! plain {
        ($($f:ident => $k:literal),*) => {$( if p.$f != d.$f { keys.push(format!("{} = {}", $k, p.$f)); } )*};
    }
    text!(manufacturer => "manufacturer", model => "model", revision => "revision", imei => "imei",
        imsi => "imsi", iccid => "iccid", operator => "operator", qcsq => "qcsq");
    plain!(csq_rssi => "signal", ufs_capacity => "ufs_size", max_line => "max_line",
        max_active_pdp => "max_active_pdp", qfupl_timeout_reports_size => "qfupl_timeout_reports_size",
        info_lines_framed => "info_lines_framed");
    if p.power_off_time != d.power_off_time {
        keys.push(format!(
            "power_off_time = \"{}ms\"",
            p.power_off_time.as_millis()
        ));
    }
    if p.boot_urcs != d.boot_urcs {
        let urcs: Vec<String> = p.boot_urcs.iter().map(|u| q(u)).collect();
        keys.push(format!("boot_urcs = [{}]", urcs.join(", ")));
    }
    keys
}

/// A recorded start command back to the start-state key it came from.
fn start_command(b: &mut Builder, line: &str, p: &Personality) {
    let upper = line.to_ascii_uppercase();
    if let Some(cid) = upper
        .strip_prefix("AT+QIACT=")
        .and_then(|c| c.trim().parse::<u8>().ok())
    {
        let ip = p
            .pdp_addresses
            .get(&cid)
            .map_or_else(|| format!("10.7.157.{cid}"), |ip| ip.to_string());
        b.start.contexts.insert(cid, ip);
    } else if let Some(rest) = line
        .get("AT+QFTPCFG=".len()..)
        .filter(|_| upper.starts_with("AT+QFTPCFG="))
    {
        b.queried_cfg(rest);
    }
}
