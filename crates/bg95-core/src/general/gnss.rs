//! A minimal GNSS: AT+QGPS, AT+QGPSEND, AT+QGPSLOC. The engine can be switched on and off
//! but never gets a fix (the emulator has no sky).

use bg95_at::Form;

use crate::area::{Ctx, Outcome};
use crate::error::CmeError;
use crate::params::{at_most, num, opt_num};

use super::{Bad, Refusal, Row, TEST_OK};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Gnss {
    pub on: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Qgps,
    Qgpsend,
    Qgpsloc,
}

pub(crate) static ROWS: &[Row<Kind>] = &[
    Row {
        name: "+QGPS",
        kind: Kind::Qgps,
        test: Some("+QGPS: (1-3),(1-255),(0-1000),(0-1000),(1-65535)"),
        bad: Bad::Cme,
    },
    Row {
        name: "+QGPSEND",
        kind: Kind::Qgpsend,
        test: TEST_OK,
        bad: Bad::Cme,
    },
    Row {
        name: "+QGPSLOC",
        kind: Kind::Qgpsloc,
        test: Some("+QGPSLOC: (0-2)"),
        bad: Bad::Cme,
    },
];

/// The name of `kind`'s row (which its answer lines carry).
fn name(kind: Kind) -> &'static str {
    crate::area::name_of(ROWS, kind)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Read,
    Start,
    End,
    Locate,
}

pub(crate) fn parse(kind: Kind, form: &Form) -> Result<Command, Refusal> {
    Ok(match (kind, form) {
        (Kind::Qgps, Form::Read) => Command::Read,
        (Kind::Qgps, Form::Write(a)) => {
            at_most(a, 5)?;
            num(a, 0, 1..=3)?;
            opt_num(a, 1, 1..=255)?;
            opt_num(a, 2, 0..=1000)?;
            opt_num(a, 3, 0..=1000)?;
            opt_num(a, 4, 1..=65535)?;
            Command::Start
        }
        (Kind::Qgpsend, Form::Exec) => Command::End,
        (Kind::Qgpsloc, Form::Exec) => Command::Locate,
        (Kind::Qgpsloc, Form::Write(a)) => {
            at_most(a, 1)?;
            num(a, 0, 0..=2)?;
            Command::Locate
        }
        _ => return Err(Refusal::Form),
    })
}

impl Gnss {
    pub(crate) fn run(&mut self, cx: &mut Ctx, cmd: Command) -> Outcome {
        let g = self;
        match cmd {
            Command::Read => {
                let line = format!("{}: {}", name(Kind::Qgps), u8::from(g.on));
                cx.info(&[line]);
                Outcome::Ok
            }
            Command::Start if g.on => CmeError::GnssSessionOngoing.into(),
            Command::Start => {
                g.on = true;
                Outcome::Ok
            }
            Command::End if !g.on => CmeError::GnssSessionNotActive.into(),
            Command::End => {
                g.on = false;
                Outcome::Ok
            }
            Command::Locate if !g.on => CmeError::GnssSessionNotActive.into(),
            Command::Locate => CmeError::GnssNotFixed.into(),
        }
    }
}
