//! The start state of a scenario (docs/scenarios.md "`[module]`: the start state"): what
//! the module is already doing when the host's first step runs, for a field log that
//! begins after boot. `[module] active_contexts` and `[module.qftpcfg]` become
//! [`bg95_core::Personality::start_commands`] — the AT lines the module had run, run through
//! its own command path at power-on — and the contexts' addresses join `[network.pdp]`.
//! Every value is checked here by the same core that will run it, so a bad one is a file
//! error with its line, not a silent difference at run time.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

use toml::Spanned;

use super::error::{line_of, ScenarioError};

/// The raw keys (spans kept for the error lines).
pub(crate) struct RawStart {
    pub active_contexts: BTreeMap<String, Spanned<String>>,
    pub qftpcfg: BTreeMap<String, Spanned<toml::Value>>,
    pub registration: Option<Spanned<String>>,
}

/// The checked start state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartState {
    /// Context → the address the network gave it.
    pub active_contexts: BTreeMap<u8, Ipv4Addr>,
    /// The command lines that set it, in order.
    pub commands: Vec<String>,
    /// `<stat>` when registered at power-on (1 home, 5 roaming).
    pub reg_stat: Option<u8>,
}

/// QFTPCFG items the start state may set (the AT command's own names).
const QFTPCFG_ITEMS: &[&str] = &[
    "account",
    "filetype",
    "transmode",
    "contextid",
    "rsptimeout",
    "ssltype",
    "sslctxid",
    "data_sslctxid",
    "data_address",
];

pub(crate) fn parse(path: &Path, text: &str, raw: RawStart) -> Result<StartState, ScenarioError> {
    let err = |span: std::ops::Range<usize>, key: &str, msg: String| {
        ScenarioError::new(path, line_of(text, span.start), key, msg)
    };
    let mut start = StartState::default();
    for (cid, addr) in &raw.active_contexts {
        let key = format!("module.active_contexts.{cid}");
        let n = cid
            .parse::<u8>()
            .ok()
            .filter(|n| (1..=16).contains(n))
            .ok_or_else(|| {
                err(
                    addr.span(),
                    &key,
                    format!("{cid:?} is not a context id (1-16)"),
                )
            })?;
        let ip = addr.get_ref().parse::<Ipv4Addr>().map_err(|_| {
            err(
                addr.span(),
                &key,
                format!("{:?} is not an IPv4 address", addr.get_ref()),
            )
        })?;
        if n != 1 {
            // Contexts other than 1 exist only once the host configured them.
            start.commands.push(format!("AT+QICSGP={n},1,\"\""));
        }
        start.commands.push(format!("AT+QIACT={n}"));
        start.active_contexts.insert(n, ip);
    }
    for (item, value) in &raw.qftpcfg {
        let key = format!("module.qftpcfg.{item}");
        if !QFTPCFG_ITEMS.contains(&item.as_str()) {
            let expected = QFTPCFG_ITEMS.join("`, `");
            let msg = format!("unknown QFTPCFG item `{item}`, expected one of `{expected}`");
            return Err(err(value.span(), &key, msg));
        }
        let args = qftpcfg_args(item, value.get_ref()).map_err(|m| err(value.span(), &key, m))?;
        start.commands.push(format!("AT+QFTPCFG=\"{item}\",{args}"));
    }
    if let Some(r) = &raw.registration {
        start.reg_stat = Some(match r.get_ref().as_str() {
            "home" | "registered" => 1,
            "roaming" => 5,
            other => {
                let msg = format!("{other:?}: the module starts registered, \"home\" or \"roaming\" (a module that starts unregistered: [network] registration at \"0s\")");
                return Err(err(r.span(), "module.registration", msg));
            }
        });
    }
    check_with_the_core(&start).map_err(|(i, answer)| {
        let line = &start.commands[i];
        ScenarioError::new(
            path,
            1,
            "module",
            format!("the start state's {line} answers {answer}"),
        )
    })?;
    Ok(start)
}

/// The AT parameters of one QFTPCFG value: `["user","pass"]` for the account, a number
/// for the others.
fn qftpcfg_args(item: &str, value: &toml::Value) -> Result<String, String> {
    let quoted = |s: &str| -> Result<String, String> {
        if s.contains(['"', '\r', '\n']) {
            return Err(format!("{s:?} cannot be sent in a quoted AT parameter"));
        }
        Ok(format!("\"{s}\""))
    };
    match (item, value) {
        ("account", toml::Value::Array(a)) => match a.as_slice() {
            [toml::Value::String(u), toml::Value::String(p)] => {
                Ok(format!("{},{}", quoted(u)?, quoted(p)?))
            }
            _ => Err("account is [\"user\", \"password\"]".into()),
        },
        ("account", _) => Err("account is [\"user\", \"password\"]".into()),
        (_, toml::Value::Integer(n)) if *n >= 0 => Ok(n.to_string()),
        _ => Err(format!("{item} is a number, as in AT+QFTPCFG")),
    }
}

/// Run the commands on a throwaway module: the index and answer of the first that does
/// not answer `OK` (a value out of range, a context the module cannot activate).
fn check_with_the_core(start: &StartState) -> Result<(), (usize, String)> {
    let p = bg95_core::Personality {
        pdp_addresses: start.active_contexts.clone(),
        ..Default::default()
    };
    let now = bg95_core::Instant::from_micros(0);
    let mut m = bg95_core::Module::new(p, Box::new(bg95_core::MemStore::new()), now);
    let _ = m.poll_output();
    m.handle_input(now, b"ATE0\r");
    let _ = m.poll_output();
    for (i, line) in start.commands.iter().enumerate() {
        m.handle_input(now, format!("{line}\r").as_bytes());
        let out = m.poll_output().unwrap_or_default();
        let text = String::from_utf8_lossy(&out);
        if text.trim() != "OK" {
            return Err((i, text.trim().to_string()));
        }
    }
    Ok(())
}

/// Put the start state into the module the scenario runs: its commands, and each active
/// context's address as the network's (a different `[network.pdp]` address for the same
/// context is a contradiction).
pub(crate) fn apply(
    path: &Path,
    start: StartState,
    module: &mut super::ModuleSetup,
    network: &mut super::NetworkSetup,
) -> Result<(), ScenarioError> {
    for (cid, ip) in &start.active_contexts {
        match network.pdp.insert(*cid, *ip) {
            Some(other) if other != *ip => {
                let msg = format!(
                    "context {cid} is active with {ip}, but [network.pdp] gives it {other}"
                );
                return Err(ScenarioError::new(path, 1, "module.active_contexts", msg));
            }
            _ => {}
        }
    }
    module.personality.start_commands = start.commands;
    if let Some(stat) = start.reg_stat {
        module.personality.reg_stat = stat;
    }
    Ok(())
}

impl RawStart {
    /// The start-state keys of `[module]`, taken out of it.
    pub(crate) fn take(m: &mut super::raw::RawModule) -> RawStart {
        RawStart {
            active_contexts: std::mem::take(&mut m.active_contexts),
            qftpcfg: std::mem::take(&mut m.qftpcfg),
            registration: m.registration.take(),
        }
    }
}
