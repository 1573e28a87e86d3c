//! The trigger and action names of a `[[fault]]` (`on = …`, `action = …`): one enum each,
//! read by serde (an unknown name is a file error listing the known ones), with the keys
//! each kind takes. These enums are the only list of the names.

use serde::Deserialize;

/// `on`: what a fault waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum On {
    AtCommand,
    FtpCommand,
    Resolve,
    Connect,
    Transfer,
    Time,
    AfterFault,
}

impl On {
    /// The keys this trigger takes (besides `on`).
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            On::AtCommand => &["command", "params", "nth"],
            On::FtpCommand => &["verb", "nth"],
            On::Resolve => &["host", "nth"],
            On::Connect => &["conn", "nth"],
            On::Transfer => &["direction", "after_bytes", "nth"],
            On::Time => &["after"],
            On::AfterFault => &["fault", "after"],
        }
    }
}

/// `action`: what a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ActionName {
    DnsFailure,
    DnsTimeout,
    ConnectRefused,
    ConnectUnreachable,
    ConnectTimeout,
    ConnectDelay,
    TlsFailure,
    Reply,
    ReplyInsert,
    ReplyDelay,
    ControlClose,
    DataReset,
    DataClose,
    DataStall,
    Bandwidth,
    Latency,
    SlowClose,
    PdpLost,
    RegistrationLost,
    RegistrationRegained,
    SimRemoved,
    ModuleReset,
    PowerLoss,
    UfsFull,
    AtAnswer,
}

impl ActionName {
    /// The keys this action takes (besides `action`).
    pub fn keys(self) -> &'static [&'static str] {
        use ActionName::*;
        match self {
            DnsFailure | DnsTimeout => &["host", "delay"],
            ConnectRefused | ConnectUnreachable | TlsFailure => &["conn"],
            ConnectTimeout | ConnectDelay => &["conn", "delay"],
            Reply | ReplyInsert => &["code", "text"],
            ReplyDelay | SlowClose => &["delay"],
            Bandwidth => &["bytes_per_sec"],
            Latency => &["delay", "jitter"],
            PdpLost => &["cid"],
            RegistrationLost => &["regain_after"],
            AtAnswer => &["target", "lines", "result", "delay"],
            ControlClose | DataReset | DataClose | DataStall | RegistrationRegained
            | SimRemoved | ModuleReset | PowerLoss | UfsFull => &[],
        }
    }
}

/// The name as written in a file (`AfterFault` → `after_fault`), for messages.
pub(crate) fn file_name(kind: impl std::fmt::Debug) -> String {
    let mut out = String::new();
    for (i, c) in format!("{kind:?}").chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_file_names() {
        assert_eq!(file_name(On::AfterFault), "after_fault");
        assert_eq!(
            file_name(ActionName::RegistrationRegained),
            "registration_regained"
        );
        assert_eq!(file_name(ActionName::Reply), "reply");
    }
}
