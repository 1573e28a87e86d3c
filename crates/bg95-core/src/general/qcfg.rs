//! Configuration: AT+QCFG (the items drivers touch), AT+QURCCFG, AT+QINDCFG.
//!
//! AT+QCFG and AT+QURCCFG values live in NV on a real module: they survive ATZ, AT&F and
//! every reset, and AT&W does not concern them. A query shows the value last set, also when
//! it was written with `<effect>` 0 (take effect after reboot). AT+QINDCFG values are
//! volatile unless written with `<savetonvram>` 1.

use bg95_at::{Arg, Form};

use crate::area::{Ctx, Outcome};
use crate::params::{at_most, num, opt_num};

use super::{Bad, Refusal, Row};

/// The maximum band masks of the BG95-M3 test form.
const BAND_MAX: [u128; 3] = [
    0xF,
    0x0010_0002_0000_0000_0F0E_189F,
    0x0010_0042_0000_0000_090E_189F,
];
/// The fresh BG95-M3 bands (captured).
const BAND_DEFAULT: [u128; 3] = [
    0xF,
    0x0010_0002_0000_0000_0F0E_189F,
    0x0010_0042_0000_0000_0000_081A,
];

/// The AT+QCFG items this module knows, in the order of its test form (each line after
/// the command's name).
const QCFG_TEST: [&str; 7] = [
    "\"nwscanmode\",(0,1,3),(0,1)",
    "\"servicedomain\",(1,2),(0,1)",
    "\"nwscanseq\",(00-010203),(0,1)",
    "\"band\",(0-F),(0-0x100002000000000F0E189F),(0-0x10004200000000090E189F),(0,1)",
    "\"iotopmode\",(0-2),(0,1)",
    "\"psm/urc\",(0,1)",
    "\"cmux/urcport\",(0-4)",
];

const IND_TYPES: [&str; 5] = ["all", "csq", "smsfull", "ring", "smsincoming"];
const IND_DEFAULT: [bool; 5] = [true, false, false, true, true];
const URC_PORTS: [&str; 3] = ["usbat", "usbmodem", "uart1"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Qcfg {
    pub nwscanmode: u8,
    pub servicedomain: u8,
    /// Digits as written (leading zeros kept).
    pub nwscanseq: String,
    pub band: [u128; 3],
    pub iotopmode: u8,
    pub psm_urc: u8,
    pub cmux_urcport: u8,
    pub urcport: &'static str,
    pub ind: [bool; 5],
    pub ind_saved: [bool; 5],
}

impl Default for Qcfg {
    fn default() -> Self {
        Qcfg {
            nwscanmode: 0,
            servicedomain: 2,
            nwscanseq: "020301".into(),
            band: BAND_DEFAULT,
            iotopmode: 2,
            psm_urc: 0,
            cmux_urcport: 0,
            urcport: "uart1",
            ind: IND_DEFAULT,
            ind_saved: IND_DEFAULT,
        }
    }
}

impl Qcfg {
    pub fn boot(&mut self) {
        self.ind = self.ind_saved;
    }

    /// `+QIND: "csq",…` URCs are on.
    pub fn csq_indication(&self) -> bool {
        self.ind[0] && self.ind[1]
    }
}

/// One AT+QCFG item with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    NwScanMode(u8),
    ServiceDomain(u8),
    NwScanSeq(String),
    Band([u128; 3]),
    IotOpMode(u8),
    PsmUrc(u8),
    CmuxUrcPort(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Qcfg,
    Qurccfg,
    Qindcfg,
}

pub(crate) static ROWS: &[Row<Kind>] = &[
    Row {
        name: "+QCFG",
        kind: Kind::Qcfg,
        test: None,
        bad: Bad::Error,
    },
    Row {
        name: "+QURCCFG",
        kind: Kind::Qurccfg,
        test: Some("+QURCCFG: \"urcport\",(\"usbat\",\"usbmodem\",\"uart1\")"),
        bad: Bad::Error,
    },
    Row {
        name: "+QINDCFG",
        kind: Kind::Qindcfg,
        test: None,
        bad: Bad::Error,
    },
];

/// The name of `kind`'s row (which its answer lines carry).
fn name(kind: Kind) -> &'static str {
    crate::area::name_of(ROWS, kind)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    QcfgTest,
    /// `AT+QCFG="<item>"`: the item's name (lower case).
    QcfgQuery(&'static str),
    QcfgSet(Item),
    UrcPortQuery,
    UrcPort(&'static str),
    IndTest,
    IndQuery(usize),
    Ind {
        index: usize,
        on: bool,
        save: bool,
    },
}

/// A bare (unquoted) value: AT+QCFG refuses quoted values (BG96 capture).
fn bare(a: &[Arg], i: usize) -> Result<&str, Refusal> {
    match a.get(i) {
        Some(Arg::Bare(s)) => Ok(s),
        _ => Err(Refusal::Bad),
    }
}

/// A band mask in hex, with or without `0x`.
fn mask(a: &[Arg], i: usize, max: u128) -> Result<u128, Refusal> {
    let s = bare(a, i)?;
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if digits.is_empty() || digits.len() > 32 {
        return Err(Refusal::Bad);
    }
    match u128::from_str_radix(digits, 16) {
        Ok(v) if v <= max => Ok(v),
        _ => Err(Refusal::Bad),
    }
}

fn qcfg_item(name: &str, a: &[Arg]) -> Result<Command, Refusal> {
    let name = QCFG_TEST
        .iter()
        .map(|t| t.split('"').nth(1).unwrap_or_default())
        .find(|n| n.eq_ignore_ascii_case(name))
        .ok_or(Refusal::Bad)?;
    let values = &a[1..];
    if values.is_empty() {
        return Ok(Command::QcfgQuery(name));
    }
    let small = |allowed: &[u8], effect_allowed: bool| -> Result<u8, Refusal> {
        at_most(values, if effect_allowed { 2 } else { 1 })?;
        bare(values, 0)?;
        let v = num(values, 0, 0..=255)? as u8;
        opt_num(values, 1, 0..=1)?;
        allowed.contains(&v).then_some(v).ok_or(Refusal::Bad)
    };
    let item = match name {
        "nwscanmode" => Item::NwScanMode(small(&[0, 1, 3], true)?),
        "servicedomain" => Item::ServiceDomain(small(&[1, 2], true)?),
        "iotopmode" => Item::IotOpMode(small(&[0, 1, 2], true)?),
        "psm/urc" => Item::PsmUrc(small(&[0, 1], false)?),
        "cmux/urcport" => Item::CmuxUrcPort(small(&[0, 1, 2, 3, 4], false)?),
        "nwscanseq" => {
            at_most(values, 2)?;
            opt_num(values, 1, 0..=1)?;
            let seq = bare(values, 0)?;
            let pairs: Vec<&str> = seq
                .as_bytes()
                .chunks(2)
                .map(|c| std::str::from_utf8(c).unwrap_or("x"))
                .collect();
            // 00 (automatic) alone, or a sequence of 01 GSM, 02 eMTC, 03 NB-IoT.
            let ok = seq.len() % 2 == 0
                && (seq == "00"
                    || (!pairs.is_empty()
                        && pairs.len() <= 3
                        && pairs.iter().all(|p| matches!(*p, "01" | "02" | "03"))
                        && (1..pairs.len()).all(|i| !pairs[..i].contains(&pairs[i]))));
            if !ok {
                return Err(Refusal::Bad);
            }
            Item::NwScanSeq(seq.to_string())
        }
        _ => {
            // "band"
            at_most(values, 4)?;
            opt_num(values, 3, 0..=1)?;
            Item::Band([
                mask(values, 0, BAND_MAX[0])?,
                mask(values, 1, BAND_MAX[1])?,
                mask(values, 2, BAND_MAX[2])?,
            ])
        }
    };
    Ok(Command::QcfgSet(item))
}

pub(crate) fn parse(kind: Kind, form: &Form) -> Result<Command, Refusal> {
    let Form::Write(a) = form else {
        return match (kind, form) {
            (Kind::Qcfg, Form::Test) => Ok(Command::QcfgTest),
            (Kind::Qindcfg, Form::Test) => Ok(Command::IndTest),
            _ => Err(Refusal::Form),
        };
    };
    let name = a.first().and_then(Arg::as_quoted).ok_or(Refusal::Bad)?;
    match kind {
        Kind::Qcfg => qcfg_item(name, a),
        Kind::Qurccfg => {
            if !name.eq_ignore_ascii_case("urcport") {
                return Err(Refusal::Bad);
            }
            at_most(a, 2)?;
            match a.get(1) {
                None => Ok(Command::UrcPortQuery),
                Some(Arg::Quoted(p)) => URC_PORTS
                    .into_iter()
                    .find(|u| u.eq_ignore_ascii_case(p))
                    .map(Command::UrcPort)
                    .ok_or(Refusal::Bad),
                Some(_) => Err(Refusal::Bad),
            }
        }
        Kind::Qindcfg => {
            let index = IND_TYPES
                .iter()
                .position(|t| t.eq_ignore_ascii_case(name))
                .ok_or(Refusal::Bad)?;
            at_most(a, 3)?;
            if a.len() == 1 {
                return Ok(Command::IndQuery(index));
            }
            let on = num(a, 1, 0..=1)? == 1;
            let save = opt_num(a, 2, 0..=1)?.unwrap_or(0) == 1;
            Ok(Command::Ind { index, on, save })
        }
    }
}

impl Qcfg {
    pub(crate) fn run(&mut self, cx: &mut Ctx, cmd: Command) -> Outcome {
        let q = self;
        let line = match cmd {
            Command::QcfgTest => {
                let lines = QCFG_TEST.map(|item| format!("{}: {item}", name(Kind::Qcfg)));
                cx.info(&lines);
                return Outcome::Ok;
            }
            Command::QcfgQuery(item) => {
                let value = match item {
                    "nwscanmode" => q.nwscanmode.to_string(),
                    "servicedomain" => q.servicedomain.to_string(),
                    "nwscanseq" => q.nwscanseq.clone(),
                    "iotopmode" => q.iotopmode.to_string(),
                    "psm/urc" => q.psm_urc.to_string(),
                    "cmux/urcport" => q.cmux_urcport.to_string(),
                    _ => format!("{:#x},{:#x},{:#x}", q.band[0], q.band[1], q.band[2]),
                };
                format!("{}: \"{item}\",{value}", name(Kind::Qcfg))
            }
            Command::QcfgSet(item) => {
                match item {
                    Item::NwScanMode(v) => q.nwscanmode = v,
                    Item::ServiceDomain(v) => q.servicedomain = v,
                    Item::NwScanSeq(v) => q.nwscanseq = v,
                    Item::Band(v) => q.band = v,
                    Item::IotOpMode(v) => q.iotopmode = v,
                    Item::PsmUrc(v) => q.psm_urc = v,
                    Item::CmuxUrcPort(v) => q.cmux_urcport = v,
                }
                return Outcome::Ok;
            }
            Command::UrcPortQuery => {
                format!("{}: \"urcport\",\"{}\"", name(Kind::Qurccfg), q.urcport)
            }
            Command::UrcPort(p) => {
                // Stored and reported; URCs always come out of the emulated port.
                q.urcport = p;
                return Outcome::Ok;
            }
            Command::IndTest => {
                let lines: Vec<String> = IND_TYPES
                    .iter()
                    .map(|t| format!("{}: \"{t}\",(0,1),(0,1)", name(Kind::Qindcfg)))
                    .collect();
                cx.info(&lines);
                return Outcome::Ok;
            }
            Command::IndQuery(i) => {
                format!(
                    "{}: \"{}\",{}",
                    name(Kind::Qindcfg),
                    IND_TYPES[i],
                    u8::from(q.ind[i])
                )
            }
            Command::Ind { index, on, save } => {
                q.ind[index] = on;
                if save {
                    q.ind_saved[index] = on;
                }
                return Outcome::Ok;
            }
        };
        cx.info(&[line]);
        Outcome::Ok
    }
}
