//! A scenario attached to a running emulator: what the runtime's loop holds for it.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{AtWatcher, EngineOutput, FaultEngine, ModuleFault, Piece, Scenario, SerialImpairment};
use crate::net::{FaultSeam, Resolver};

/// The loop's share of a scenario.
pub struct ScenarioLoop {
    pub engine: FaultEngine,
    /// Fired faults (for the transcript) and module faults (for the core).
    pub outputs: mpsc::UnboundedReceiver<EngineOutput>,
    /// `[network.dns]` in front of the system resolver, consulting the engine first. The FTP
    /// driver, QIDNSGIP and QPING look names up through it (wired where they take a
    /// `Resolver`).
    pub resolver: Resolver,
    pub serial: Option<SerialImpairment>,
    watcher: AtWatcher,
}

impl ScenarioLoop {
    /// The loop parts for `scenario`, drawing probabilities from `seed`, for a module
    /// whose clock is `clock` (its origin and time scale).
    pub fn new(scenario: &Scenario, seed: u64, clock: crate::runtime::Clock) -> ScenarioLoop {
        let (engine, outputs) = FaultEngine::booted_at(scenario.faults.clone(), seed, clock);
        let resolver =
            Resolver::with_table(scenario.network.dns.clone(), scenario.network.dns_exclusive)
                .with_faults(Arc::new(engine.clone()));
        ScenarioLoop {
            engine,
            outputs,
            resolver,
            serial: scenario
                .serial
                .impaired()
                .then(|| SerialImpairment::new(scenario.serial.clone())),
            watcher: AtWatcher::new(),
        }
    }

    /// The seam the FTP driver consults at each point (resolver, connect, each reply, data
    /// bytes): this scenario's engine.
    pub fn seam(&self) -> Arc<dyn FaultSeam> {
        Arc::new(self.engine.clone())
    }

    /// Host bytes about to reach the module: AT-command triggers see them first, so a
    /// fault a command triggers applies to that very command. Bytes that arrive outside
    /// command mode are data, not commands.
    pub fn observe_input(&mut self, in_command_mode: bool, bytes: &[u8]) {
        if in_command_mode {
            self.watcher.observe(&self.engine, self.engine.now(), bytes);
        } else {
            self.watcher.clear();
        }
    }

    /// The pieces to write for module output `bytes`.
    pub fn impair(&mut self, bytes: Vec<u8>) -> Vec<Piece> {
        match self.serial.as_mut() {
            Some(s) => s.apply(bytes),
            None => vec![Piece::Bytes(bytes)],
        }
    }
}

/// How long a `power_loss` fault keeps the module off before it boots again.
pub const POWER_LOSS_OFF_FOR: std::time::Duration = std::time::Duration::from_millis(500);

/// Hand a module fault to the core's entry point for the real event: the core decides what
/// the host reads (URCs it enabled, errors of whatever was running). A fault never writes
/// a URC of its own.
pub fn apply_module_fault(
    module: &mut bg95_core::Module,
    now: bg95_core::Instant,
    fault: &ModuleFault,
) {
    match module_fault_event(module, fault) {
        Some(event) => module.handle_completion(now, event),
        None => override_answer(module, fault),
    }
}

/// The core event a module fault is (a transcript records it as a `!` line, so a replay
/// feeds the same event); `None` for an answer override, which is no event.
pub fn module_fault_event(
    module: &bg95_core::Module,
    fault: &ModuleFault,
) -> Option<bg95_core::Completion> {
    use bg95_core::{Completion, NetworkEvent, PowerEvent};
    Some(match fault {
        ModuleFault::PdpLost { cid } => Completion::Network(NetworkEvent::PdpLost { cid: *cid }),
        // Lost coverage: the module searches (CEREG/CREG stat 2).
        ModuleFault::RegistrationLost => {
            Completion::Network(NetworkEvent::Registration { stat: 2, act: None })
        }
        // Back to the personality's state.
        ModuleFault::RegistrationRegained => Completion::Network(NetworkEvent::Registration {
            stat: module.personality().reg_stat,
            act: None,
        }),
        ModuleFault::Registration { stat, act } => {
            Completion::Network(NetworkEvent::Registration {
                stat: *stat,
                act: Some(*act),
            })
        }
        ModuleFault::SimRemoved => Completion::Network(NetworkEvent::SimRemoved),
        ModuleFault::Reset => Completion::Power(PowerEvent::Reset),
        ModuleFault::PowerLoss => Completion::Power(PowerEvent::Loss {
            off_for: POWER_LOSS_OFF_FOR,
        }),
        ModuleFault::AtAnswer(_) => return None,
    })
}

/// An `at_answer` fault: each firing replaces one answer, the next of the target command
/// (with an at_command trigger on that command, the very line that fired it).
pub fn override_answer(module: &mut bg95_core::Module, fault: &ModuleFault) {
    let ModuleFault::AtAnswer(a) = fault else {
        return;
    };
    match bg95_core::AnswerOverride::parse_result(&a.result) {
        Some(final_result) => module.override_next_answer(
            &a.command,
            bg95_core::AnswerOverride {
                info: a.lines.clone(),
                final_result,
                delay: a.delay,
            },
        ),
        // The loader checks the result; a fault added through the API may not.
        None => tracing::warn!(target: "bg95::fault",
            "at_answer for {}: {:?} is not a final result", a.command, a.result),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::ResolveError;
    use std::path::Path;

    #[tokio::test]
    async fn the_resolver_uses_the_dns_table_and_the_engine() {
        let s = Scenario::parse(
            Path::new("/tmp/s.toml"),
            r#"
[network]
dns_exclusive = true
[network.dns]
"ftp.example.com" = "127.0.0.1"
[[fault]]
on = "at_command"
command = "+QFTPOPEN"
nth = 2
action = "dns_failure"
"#,
        )
        .unwrap();
        let mut sl = ScenarioLoop::new(&s, s.seed, crate::runtime::Clock::new());
        let r = sl.resolver.clone();
        sl.observe_input(true, b"AT+QFTPOPEN=\"ftp.example.com\",21\r");
        assert_eq!(
            r.lookup("ftp.example.com").await,
            Ok(vec!["127.0.0.1".parse().unwrap()])
        );
        assert_eq!(r.lookup("example.org").await, Err(ResolveError::NotFound));
        // Data-mode bytes are not commands.
        sl.observe_input(false, b"AT+QFTPOPEN=\"x\",21\r");
        assert_eq!(r.lookup("ftp.example.com").await.map(|a| a.len()), Ok(1));
        sl.observe_input(true, b"AT+QFTPOPEN=\"ftp.example.com\",21\r");
        assert_eq!(
            r.lookup("ftp.example.com").await,
            Err(ResolveError::NotFound)
        );
        let fired = sl.outputs.try_recv().unwrap();
        assert!(matches!(fired, EngineOutput::Fired(f) if f.name == "fault-1"));
    }
}
