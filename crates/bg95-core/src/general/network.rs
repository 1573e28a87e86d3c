//! Network information and power-saving settings: AT+QNWINFO, AT+QSPN, AT+CPAS, AT+CNUM,
//! AT+CSCS, AT+CPSMS, AT+CEDRXS. The information follows the registration state that
//! AT+CEREG and AT+COPS report; power saving is stored only (no sleep behaviour).

use bg95_at::{Arg, Form};

use crate::area::{Ctx, Outcome};
use crate::error::CmeError;
use crate::params::{at_most, num, opt_num};

use super::{Bad, GeneralView, Refusal, Row, TEST_OK};

/// The serving network of the default personality (the numeric PLMN matches AT+COPS=?).
const PLMN: &str = "46000";
const SPN: &str = "CMCC";
const LTE_BAND: &str = "LTE BAND 20";
const EARFCN: u32 = 6300;
const GSM_BAND: &str = "GSM 900";
const ARFCN: u32 = 62;

/// BG770A's defaults (general-commands.md §4); the BG95 value is not captured.
const PSM_T3412: &str = "00101100";
const PSM_T3324: &str = "00001010";
const EDRX_DEFAULT: &str = "0101";

/// AT+CPSMS and AT+CEDRXS are kept in NV (they survive resets); AT+CSCS is volatile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetworkSettings {
    pub psm_mode: u8,
    pub t3412: String,
    pub t3324: String,
    /// AT+CEDRXS mode (0 off, 1 on, 2 on with URC) and the requested value.
    pub edrx_mode: u8,
    pub edrx_act: u8,
    pub edrx_value: String,
    pub charset: &'static str,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            psm_mode: 0,
            t3412: PSM_T3412.into(),
            t3324: PSM_T3324.into(),
            edrx_mode: 0,
            edrx_act: 4,
            edrx_value: EDRX_DEFAULT.into(),
            charset: "GSM",
        }
    }
}

impl NetworkSettings {
    pub fn boot(&mut self) {
        self.charset = "GSM";
    }
}

const CHARSETS: [&str; 3] = ["IRA", "GSM", "UCS2"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Qnwinfo,
    Qspn,
    Cpas,
    Cnum,
    Cscs,
    Cpsms,
    Cedrxs,
}

pub(crate) static ROWS: &[Row<Kind>] = &[
    Row {
        name: "+QNWINFO",
        kind: Kind::Qnwinfo,
        test: TEST_OK,
        bad: Bad::Error,
    },
    Row {
        name: "+QSPN",
        kind: Kind::Qspn,
        test: TEST_OK,
        bad: Bad::Error,
    },
    Row {
        name: "+CPAS",
        kind: Kind::Cpas,
        test: Some("+CPAS: (0-5)"),
        bad: Bad::Cme,
    },
    Row {
        name: "+CNUM",
        kind: Kind::Cnum,
        test: TEST_OK,
        bad: Bad::Cme,
    },
    Row {
        name: "+CSCS",
        kind: Kind::Cscs,
        test: Some("+CSCS: (\"IRA\",\"GSM\",\"UCS2\")"),
        bad: Bad::Cme,
    },
    Row {
        name: "+CPSMS",
        kind: Kind::Cpsms,
        test: Some("+CPSMS: (0-2),(\"00000000\"-\"10111111\"),(\"00000000\"-\"11111111\"),(\"00000000\"-\"10111111\"),(\"00000000\"-\"11111111\")"),
        bad: Bad::Cme,
    },
    Row {
        name: "+CEDRXS",
        kind: Kind::Cedrxs,
        test: Some("+CEDRXS: (0-3),(4,5),(\"0000\"-\"1111\")"),
        bad: Bad::Cme,
    },
];

/// The name of `kind`'s row (which its answer lines carry).
fn name(kind: Kind) -> &'static str {
    crate::area::name_of(ROWS, kind)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    NetworkInfo,
    ServiceProvider,
    ActivityStatus,
    SubscriberNumber,
    CharsetRead,
    Charset(&'static str),
    PsmRead,
    Psm {
        mode: u8,
        t3412: Option<String>,
        t3324: Option<String>,
    },
    EdrxRead,
    Edrx {
        mode: u8,
        act: Option<u8>,
        value: Option<String>,
    },
}

/// An optional quoted string of `len` binary digits.
fn bits(a: &[Arg], i: usize, len: usize) -> Result<Option<String>, Refusal> {
    match a.get(i) {
        None | Some(Arg::Omitted) => Ok(None),
        Some(Arg::Quoted(s)) if s.len() == len && s.bytes().all(|b| b == b'0' || b == b'1') => {
            Ok(Some(s.clone()))
        }
        Some(_) => Err(Refusal::Bad),
    }
}

pub(crate) fn parse(kind: Kind, form: &Form) -> Result<Command, Refusal> {
    Ok(match (kind, form) {
        (Kind::Qnwinfo, Form::Exec) => Command::NetworkInfo,
        (Kind::Qspn, Form::Exec) => Command::ServiceProvider,
        (Kind::Cpas, Form::Exec) => Command::ActivityStatus,
        (Kind::Cnum, Form::Exec) => Command::SubscriberNumber,
        (Kind::Cscs, Form::Read) => Command::CharsetRead,
        (Kind::Cscs, Form::Write(a)) => {
            at_most(a, 1)?;
            let name = a.first().and_then(Arg::as_quoted).ok_or(Refusal::Bad)?;
            let cs = CHARSETS
                .into_iter()
                .find(|c| c.eq_ignore_ascii_case(name))
                .ok_or(Refusal::Bad)?;
            Command::Charset(cs)
        }
        (Kind::Cpsms, Form::Read) => Command::PsmRead,
        (Kind::Cpsms, Form::Exec) => Command::Psm {
            mode: 0,
            t3412: None,
            t3324: None,
        },
        (Kind::Cpsms, Form::Write(a)) => {
            at_most(a, 5)?;
            let mode = opt_num(a, 0, 0..=2)?.unwrap_or(0) as u8;
            // <Requested_Periodic-RAU> and <Requested_GPRS-READY-time> are 2G/3G timers:
            // checked, not used.
            bits(a, 1, 8)?;
            bits(a, 2, 8)?;
            let t3412 = bits(a, 3, 8)?;
            let t3324 = bits(a, 4, 8)?;
            if t3412.as_deref().is_some_and(|t| t > "10111111") {
                return Err(Refusal::Bad);
            }
            Command::Psm { mode, t3412, t3324 }
        }
        (Kind::Cedrxs, Form::Read) => Command::EdrxRead,
        (Kind::Cedrxs, Form::Write(a)) => {
            at_most(a, 3)?;
            let mode = num(a, 0, 0..=3)? as u8;
            let act = opt_num(a, 1, 4..=5)?.map(|v| v as u8);
            Command::Edrx {
                mode,
                act,
                value: bits(a, 2, 4)?,
            }
        }
        _ => return Err(Refusal::Form),
    })
}

impl NetworkSettings {
    pub(crate) fn run(&mut self, cx: &mut Ctx, view: &GeneralView, cmd: Command) -> Outcome {
        let line = match cmd {
            Command::NetworkInfo => network_info(view),
            Command::ServiceProvider => {
                if !view.registered {
                    return CmeError::NoNetworkService.into();
                }
                let op = &view.p.operator;
                format!(
                    "{}: \"{op}\",\"{op}\",\"{SPN}\",0,\"{PLMN}\"",
                    name(Kind::Qspn)
                )
            }
            Command::ActivityStatus => format!("{}: 0", name(Kind::Cpas)),
            Command::SubscriberNumber => return Outcome::Ok,
            Command::CharsetRead => format!("{}: \"{}\"", name(Kind::Cscs), self.charset),
            Command::Charset(cs) => {
                self.charset = cs;
                return Outcome::Ok;
            }
            Command::PsmRead => {
                let n = &self;
                format!(
                    "{}: {},,,\"{}\",\"{}\"",
                    name(Kind::Cpsms),
                    n.psm_mode,
                    n.t3412,
                    n.t3324
                )
            }
            Command::Psm { mode, t3412, t3324 } => {
                let n = self;
                if mode == 2 {
                    // 2: disable PSM and discard the parameters (27.007).
                    *n = NetworkSettings {
                        charset: n.charset,
                        edrx_mode: n.edrx_mode,
                        edrx_act: n.edrx_act,
                        edrx_value: n.edrx_value.clone(),
                        ..NetworkSettings::default()
                    };
                } else {
                    n.psm_mode = mode;
                    n.t3412 = t3412.unwrap_or(n.t3412.clone());
                    n.t3324 = t3324.unwrap_or(n.t3324.clone());
                }
                return Outcome::Ok;
            }
            Command::EdrxRead => {
                let n = &self;
                if n.edrx_mode == 0 {
                    format!("{}: 0", name(Kind::Cedrxs))
                } else {
                    format!(
                        "{}: {},\"{}\"",
                        name(Kind::Cedrxs),
                        n.edrx_act,
                        n.edrx_value
                    )
                }
            }
            Command::Edrx { mode, act, value } => {
                let n = self;
                if mode == 3 {
                    // 3: disable eDRX and reset the parameters to their defaults.
                    n.edrx_mode = 0;
                    n.edrx_act = 4;
                    n.edrx_value = EDRX_DEFAULT.into();
                } else {
                    n.edrx_mode = mode;
                    n.edrx_act = act.unwrap_or(n.edrx_act);
                    n.edrx_value = value.unwrap_or(n.edrx_value.clone());
                }
                return Outcome::Ok;
            }
        };
        cx.info(&[line]);
        Outcome::Ok
    }
}

/// `+QNWINFO: "<act>","<plmn>","<band>",<channel>`, or `No Service` (unquoted).
fn network_info(view: &GeneralView) -> String {
    if !view.registered {
        return format!("{}: No Service", name(Kind::Qnwinfo));
    }
    {
        let (act, band, channel) = match view.act {
            0 | 1 => ("GSM", GSM_BAND, ARFCN),
            3 => ("EDGE", GSM_BAND, ARFCN),
            9 => ("NBIoT", LTE_BAND, EARFCN),
            _ => ("eMTC", LTE_BAND, EARFCN),
        };
        format!(
            "{}: \"{act}\",\"{PLMN}\",\"{band}\",{channel}",
            name(Kind::Qnwinfo)
        )
    }
}
