//! A fault as JSON (the control API's `POST /v1/faults`, `POST /v1/actions/{kind}`): the
//! same keys as a scenario's `[[fault]]`, checked by the same loader, so the API and the
//! TOML file accept and refuse exactly the same faults with the same messages.
//!
//! Why through the loader's text input rather than its internals: the loader is the one
//! definition of a fault (keys, which keys go with which trigger and action, value
//! checks); a JSON object maps one-to-one onto a TOML table, so turning it into a one-fault
//! scenario and calling [`Scenario::parse`] reuses all of it through one narrow call.

use std::path::Path;

use serde_json::Value;

use crate::scenario::{FaultSpec, Scenario};

/// A fault the loader refused: the key it is about (`fault.action`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultError {
    pub key: String,
    pub message: String,
}

impl FaultError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        FaultError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The far-future time of the stand-ins for faults already running: they exist only so an
/// `after_fault` reference to them resolves as it would in one file.
const STAND_IN_AFTER: &str = "1000000s";

/// Check the JSON fault `value` as the scenario loader checks a `[[fault]]`. `existing`
/// names the faults the engine already holds (a new one may follow one of them with
/// `on = "after_fault"`, and may not take its name). Returns the fault and those it implies
/// (`regain_after` adds `<name>/regain`).
pub fn parse_fault(value: &Value, existing: &[String]) -> Result<Vec<FaultSpec>, FaultError> {
    let Value::Object(map) = value else {
        return Err(FaultError::new(
            "fault",
            "expected a JSON object of fault keys",
        ));
    };
    if let Some((k, _)) = map.iter().find(|(_, v)| v.is_null()) {
        return Err(FaultError::new(
            &format!("fault.{k}"),
            "null is not a value (leave the key out)",
        ));
    }
    let fault = toml::Value::try_from(value)
        .map_err(|e| FaultError::new("fault", format!("not a fault: {e}")))?;
    let mut faults: Vec<toml::Value> = existing.iter().map(|n| stand_in(n)).collect();
    faults.push(fault);
    let mut doc = toml::Table::new();
    doc.insert("fault".into(), toml::Value::Array(faults));
    let text =
        toml::to_string(&doc).map_err(|e| FaultError::new("fault", format!("not a fault: {e}")))?;
    let scenario = Scenario::parse(Path::new("api.toml"), &text)
        .map_err(|e| FaultError::new(&e.key, e.message))?;
    Ok(scenario.faults.into_iter().skip(existing.len()).collect())
}

fn stand_in(name: &str) -> toml::Value {
    let mut t = toml::Table::new();
    t.insert("name".into(), name.into());
    t.insert("on".into(), "time".into());
    t.insert("after".into(), STAND_IN_AFTER.into());
    t.insert("action".into(), "ufs_full".into());
    t.insert("optional".into(), true.into());
    toml::Value::Table(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Action, DataAction, TriggerEvent};
    use serde_json::json;

    fn err(v: Value) -> FaultError {
        parse_fault(&v, &[]).unwrap_err()
    }

    #[test]
    fn a_transfer_fault_as_json() {
        let f = parse_fault(
            &json!({"name": "cut", "on": "transfer", "after_bytes": 1000, "action": "data_reset"}),
            &[],
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].name, "cut");
        assert_eq!(f[0].action, Action::Data(DataAction::Reset));
        assert!(matches!(
            f[0].trigger.event,
            TriggerEvent::Transfer {
                after_bytes: 1000,
                ..
            }
        ));
    }

    #[test]
    fn the_loaders_messages() {
        assert_eq!(
            err(json!({"on": "time", "after": "1s", "action": "explode"})).key,
            "fault.action"
        );
        assert!(
            err(json!({"on": "time", "after": "1s", "action": "explode"}))
                .message
                .starts_with("unknown variant `explode`, expected one of"),
            "{:?}",
            err(json!({"on": "time", "after": "1s", "action": "explode"}))
        );
        let e = err(json!({"on": "sometimes", "action": "sim_removed"}));
        assert_eq!(
            e,
            FaultError::new(
                "fault.on",
                "unknown variant `sometimes`, expected one of `at_command`, `ftp_command`, `resolve`, `connect`, `transfer`, `time`, `after_fault`"
            )
        );
        let e = err(json!({"on": "time", "after": "1s", "action": "sim_removed", "verbb": 1}));
        assert_eq!(e.key, "fault.verbb");
        assert_eq!(
            err(json!({"on": "time", "action": "x", "cid": null})).key,
            "fault.cid"
        );
        assert_eq!(err(json!([1, 2])).key, "fault");
        // As the TOML file says it.
        assert_eq!(
            err(json!({"action": "sim_removed"})),
            FaultError::new("fault", "missing field `on`")
        );
    }

    #[test]
    fn after_fault_may_follow_a_running_fault_but_not_take_its_name() {
        let existing = vec!["first".to_string()];
        let f = parse_fault(
            &json!({"name": "second", "on": "after_fault", "fault": "first", "action": "sim_removed"}),
            &existing,
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].name, "second");
        let e = parse_fault(
            &json!({"name": "first", "on": "time", "after": "1s", "action": "sim_removed"}),
            &existing,
        )
        .unwrap_err();
        assert_eq!(
            e,
            FaultError::new("fault.name", "two faults are named \"first\"")
        );
        let f = parse_fault(
            &json!({"name": "lost", "on": "time", "after": "1s", "action": "registration_lost", "regain_after": "2s"}),
            &existing,
        )
        .unwrap();
        assert_eq!(
            f.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["lost", "lost/regain"]
        );
    }
}
