//! What the command areas share with the module above them: the narrow context an area
//! answers through ([`Ctx`]: output, effects, time, the port), the result of one command
//! ([`Outcome`]), and the shape of an area's command table ([`Row`], [`Bad`], [`Refusal`]).
//!
//! An area owns its state and never sees the `Module`: the module builds a `Ctx` from its
//! own fields for each call (smoltcp's interface hands its sockets a context the same way)
//! and passes what an area needs from another area as an explicit read-only view.

use std::collections::VecDeque;
use std::time::Duration;

use bg95_at::{FinalResult, ResponseFormat};

use crate::error::CmeError;
use crate::escape::EscapeDetector;
use crate::module::Effect;
use crate::time::Instant;

/// The result of one command of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Done; the chain goes on and ends with `OK`.
    Ok,
    /// Failed; the chain stops with this final result.
    Fail(FinalResult),
    /// The command owns the port and will send its own final result (e.g. `CONNECT`).
    Pending,
}

impl<E: Into<FinalResult>> From<E> for Outcome {
    fn from(e: E) -> Self {
        Outcome::Fail(e.into())
    }
}

/// What happens right after a chain's final `OK` has been sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AfterOk {
    Urc(String),
    Reset,
    PowerDown,
    SetBaud(u32),
}

/// Who owns the bytes the host sends.
#[derive(Debug)]
pub(crate) enum Port {
    Command,
    /// A command is running and will send its own final result; input is ignored.
    Busy,
    /// Data mode: the bytes belong to the area whose transfer runs.
    Data(DataMode),
}

/// Which area's transfer owns the port in data mode; the transfer itself (its bytes, its
/// `+++` watch, its timers) is that area's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataMode {
    /// A COM: FTP transfer (QFTPGET/LIST/NLST/MLSD/PUT).
    Ftp,
    /// QFUPL / QFWRITE: bytes into a UFS file.
    Ufs,
}

/// The narrow context an area answers a command (or an event, a deadline) through.
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    /// How responses are framed (ATV, ATQ, CMEE, S3/S4), as the command found it (a copy:
    /// a basic command that changes the profile frames its own answer the old way).
    pub fmt: ResponseFormat,
    /// Everything the module says to the host.
    pub out: &'a mut Vec<u8>,
    /// Everything the runtime must do.
    pub effects: &'a mut VecDeque<Effect>,
    pub port: &'a mut Port,
    /// What the command line does after its final `OK` (URCs, a reset, a new baud rate).
    pub after_ok: &'a mut Vec<AfterOk>,
    /// While a command line runs: URCs raised as a side effect, held for its final result.
    pub held_urcs: &'a mut Option<Vec<String>>,
    /// The `+++` guard time (S12).
    pub guard: Duration,
}

impl Ctx<'_> {
    pub fn info<S: AsRef<str>>(&mut self, lines: &[S]) {
        self.fmt.info(lines, self.out);
    }

    pub fn urc(&mut self, text: &str) {
        self.fmt.urc(text, self.out);
    }

    /// A URC that may be raised by a command line (not as its answer): while the line runs
    /// it waits for the line's final result; otherwise it goes out now.
    pub fn side_urc(&mut self, text: String) {
        match self.held_urcs {
            Some(held) => held.push(text),
            None => self.urc(&text),
        }
    }

    pub fn final_result(&mut self, r: FinalResult) {
        self.fmt.final_result(r, self.out);
    }

    /// Raw bytes (data mode).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// `CONNECT <n>` as the format frames it.
    pub fn connect_with(&mut self, n: u64) {
        self.fmt.connect_with(n, self.out);
    }

    /// Succeed, and do `a` after the line's `OK`.
    pub fn after(&mut self, a: AfterOk) -> Outcome {
        self.after_ok.push(a);
        Outcome::Ok
    }

    pub fn effect(&mut self, e: Effect) {
        self.effects.push_back(e);
    }

    /// Enter data mode; the `+++` guard starts counting now.
    pub fn escape_detector(&self) -> EscapeDetector {
        EscapeDetector::new(self.now, self.guard)
    }
}

/// The error a command gives for a bad parameter: its area's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bad {
    /// `+CME ERROR: 50` (3GPP commands and the basics, like AT+CEREG).
    Cme,
    /// `+CME ERROR: 400` (the FILE commands).
    Ufs,
    /// A bare `ERROR` (Quectel commands whose captures show it: AT+QCFG, AT+QIDNSCFG, …).
    Error,
}

impl Bad {
    pub fn result(self) -> FinalResult {
        match self {
            Bad::Cme => CmeError::IncorrectParameters.into(),
            Bad::Ufs => CmeError::InvalidInput.into(),
            Bad::Error => FinalResult::Error,
        }
    }
}

/// One command of an area's table.
pub(crate) struct Row<K: 'static> {
    /// The command's name; its answer lines carry the same name.
    pub name: &'static str,
    pub kind: K,
    /// The Test form's line; `None` when the area prints it (state-dependent or several
    /// lines) or the Test form is a bare `OK` ([`TEST_OK`]).
    pub test: Option<&'static str>,
    pub bad: Bad,
}

/// The Test form answers a bare `OK`.
pub(crate) const TEST_OK: Option<&str> = Some("");

/// Why a command line could not be turned into a typed command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The command has no such form: bare `ERROR`.
    Form,
    /// A parameter is bad: the row's error.
    Bad,
}

impl Refusal {
    /// The final result of a refused line of `row`.
    pub fn result<K>(self, row: &Row<K>) -> FinalResult {
        match self {
            Refusal::Form => FinalResult::Error,
            Refusal::Bad => row.bad.result(),
        }
    }
}

impl From<crate::params::BadParam> for Refusal {
    fn from(_: crate::params::BadParam) -> Self {
        Refusal::Bad
    }
}

/// The row of `name` in `rows`.
pub(crate) fn find<K>(rows: &'static [Row<K>], name: &str) -> Option<&'static Row<K>> {
    rows.iter().find(|r| r.name == name)
}

/// The Test form of a row with a fixed Test line: print it (if any) and succeed.
pub(crate) fn fixed_test<K>(row: &Row<K>, form: &bg95_at::Form, ctx: &mut Ctx) -> Option<Outcome> {
    match (form, row.test) {
        (bg95_at::Form::Test, Some(line)) => {
            if !line.is_empty() {
                ctx.info(&[line]);
            }
            Some(Outcome::Ok)
        }
        _ => None,
    }
}

/// The name of the row of `kind` (every kind has one: the areas' tests check it).
pub(crate) fn name_of<K: PartialEq>(rows: &'static [Row<K>], kind: K) -> &'static str {
    rows.iter().find(|r| r.kind == kind).map_or("", |r| r.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::general::{attach, clock, dns, gnss, network, qcfg};

    /// Every command name of every area's table, in routing order.
    fn all_names() -> Vec<&'static str> {
        fn names<K>(rows: &'static [Row<K>]) -> impl Iterator<Item = &'static str> {
            rows.iter().map(|r| r.name)
        }
        names(crate::basic::ROWS)
            .chain(names(crate::pdp::ROWS))
            .chain(crate::ftp::command_names())
            .chain(names(crate::ufs::command_rows()))
            .chain(names(attach::ROWS))
            .chain(names(clock::ROWS))
            .chain(names(network::ROWS))
            .chain(names(qcfg::ROWS))
            .chain(names(dns::ROWS))
            .chain(names(gnss::ROWS))
            .collect()
    }

    #[test]
    fn every_command_name_is_in_exactly_one_table() {
        let names = all_names();
        for (i, n) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(n), "{n} is in two tables");
        }
        assert!(names.len() > 80, "{}", names.len());
    }

    #[test]
    fn answer_names_come_from_the_rows() {
        assert_eq!(name_of(gnss::ROWS, gnss::Kind::Qgps), "+QGPS");
        assert_eq!(name_of(clock::ROWS, clock::Kind::Qntp), "+QNTP");
        assert_eq!(name_of(dns::ROWS, dns::Kind::Qping), "+QPING");
        assert_eq!(name_of(attach::ROWS, attach::Kind::Cgpaddr), "+CGPADDR");
        assert_eq!(crate::basic::sim_urc(false), "+CPIN: NOT READY");
        let regs: Vec<&str> = crate::basic::registration_rows().map(|r| r.0).collect();
        assert_eq!(regs, ["+CREG", "+CGREG", "+CEREG"]);
    }

    #[test]
    fn a_refusal_answers_the_rows_error() {
        let row = |bad| Row {
            name: "+X",
            kind: (),
            test: None,
            bad,
        };
        let cme = |e: CmeError| FinalResult::from(e);
        assert_eq!(Refusal::Form.result(&row(Bad::Ufs)), FinalResult::Error);
        assert_eq!(
            Refusal::Bad.result(&row(Bad::Ufs)),
            cme(CmeError::InvalidInput)
        );
        assert_eq!(
            Refusal::Bad.result(&row(Bad::Cme)),
            cme(CmeError::IncorrectParameters)
        );
        assert_eq!(Refusal::Bad.result(&row(Bad::Error)), FinalResult::Error);
    }
}
