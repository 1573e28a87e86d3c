//! The module clock and the commands that read or set it: AT+CCLK, AT+CTZU, AT+CTZR,
//! AT+QLTS, AT+QNTP. The core never reads a clock: the runtime hands it the host's UTC
//! time as network time (a [`super::NetworkEvent::Time`] at start), the clock then runs on
//! the core's `Instant`s, and AT+CCLK moves it by an offset. Before any network time the
//! RTC counts from the GPS epoch (`80/01/06,00:00:00+00`), as a real BG95 does.

use std::time::Duration;

use bg95_at::{Arg, Form};

use crate::area::{AfterOk, Ctx, Outcome};
use crate::error::TcpError;
use crate::params::{at_most, num, opt_num, string};
use crate::pdp::Pdp;
use crate::time::Instant;

use super::{Bad, Refusal, Row, TEST_OK};

/// 1980-01-06T00:00:00Z, where the Qualcomm RTC starts.
const GPS_EPOCH: i64 = 315_964_800;
/// How long after its `OK` the `+QNTP:` URC comes (no server is contacted).
pub const NTP_DELAY: Duration = Duration::from_millis(500);

/// Network time as received: UTC seconds, the zone, and when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Nitz {
    unix: i64,
    zone: i8,
    at: Instant,
}

/// A running AT+QNTP.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NtpRun {
    cid: u8,
    server: String,
    port: u16,
    set_clock: bool,
    due: Instant,
}

/// The RTC survives resets (only power removal would stop it); CTZU is kept in NV, CTZR
/// is volatile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModuleClock {
    /// Where the RTC counts from without network time.
    rtc_origin: Instant,
    /// The last network time.
    nitz: Option<Nitz>,
    /// Seconds AT+CCLK (or nothing) moved the clock away from network time.
    offset: i64,
    /// The zone appended to the digits, in quarter hours.
    zone: i8,
    ctzu: u8,
    ctzr: u8,
    ntp: Option<NtpRun>,
}

impl ModuleClock {
    pub fn new(now: Instant) -> Self {
        ModuleClock {
            rtc_origin: now,
            nitz: None,
            offset: 0,
            zone: 0,
            ctzu: 1,
            ctzr: 0,
            ntp: None,
        }
    }

    pub fn boot(&mut self) {
        self.ctzr = 0;
        self.ntp = None;
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.ntp.as_ref().map(|n| n.due)
    }

    /// True time: network time run forward, or the RTC from its epoch.
    fn reference(&self, now: Instant) -> i64 {
        match self.nitz {
            Some(n) => n.unix + secs(now.since(n.at)),
            None => GPS_EPOCH + secs(now.since(self.rtc_origin)),
        }
    }

    /// The module's UTC time in Unix seconds (AT+CCLK?, AT+QLTS=1, TLS date checks).
    pub fn utc(&self, now: Instant) -> i64 {
        self.reference(now) + self.offset
    }

    /// Network time arrived (NITZ). With AT+CTZU=1 it sets the clock and zone.
    pub fn network_time(&mut self, now: Instant, unix: i64, zone: i8) {
        if self.ctzu == 1 || self.nitz.is_none() {
            self.offset = 0;
            self.zone = zone;
        } else {
            // CTZU=0: the RTC keeps its own time; remember the difference.
            self.offset = self.utc(now) - unix;
        }
        self.nitz = Some(Nitz {
            unix,
            zone,
            at: now,
        });
    }
}

fn secs(d: Duration) -> i64 {
    d.as_secs() as i64
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Broken-down time of Unix seconds.
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
}

pub(crate) fn civil_time(unix: i64) -> Civil {
    let (year, month, day) = civil(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    Civil {
        year,
        month,
        day,
        hour: s / 3600,
        minute: s / 60 % 60,
        second: s % 60,
    }
}

fn zone_text(zone: i8) -> String {
    let sign = if zone < 0 { '-' } else { '+' };
    format!("{sign}{:02}", zone.unsigned_abs())
}

/// `yy/MM/dd,hh:mm:ss±zz` (AT+CCLK).
fn cclk_text(unix: i64, zone: i8) -> String {
    let c = civil_time(unix);
    format!(
        "{:02}/{:02}/{:02},{:02}:{:02}:{:02}{}",
        c.year.rem_euclid(100),
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        zone_text(zone)
    )
}

/// `yyyy/MM/dd,hh:mm:ss±zz` (AT+QLTS, AT+QNTP).
fn long_text(unix: i64, zone: i8) -> String {
    let c = civil_time(unix);
    format!(
        "{:04}/{:02}/{:02},{:02}:{:02}:{:02}{}",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        zone_text(zone)
    )
}

/// Parse AT+CCLK's `yy/MM/dd,hh:mm:ss±zz` into (UTC Unix seconds, zone).
fn parse_cclk(s: &str) -> Option<(i64, i8)> {
    let b = s.as_bytes();
    if b.len() != 20
        || &s[2..3] != "/"
        || &s[5..6] != "/"
        || &s[8..9] != ","
        || &s[11..12] != ":"
        || &s[14..15] != ":"
    {
        return None;
    }
    let field = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (yy, mo, dd) = (field(0..2)?, field(3..5)?, field(6..8)?);
    let (hh, mi, ss) = (field(9..11)?, field(12..14)?, field(15..17)?);
    let zz = field(18..20)? as i8;
    let sign = match b[17] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let days_in = [
        31,
        28 + u32::from(yy % 4 == 0),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || dd == 0
        || dd > days_in[(mo - 1) as usize]
        || hh > 23
        || mi > 59
        || ss > 59
        || zz > 96
    {
        return None;
    }
    let days = days_from_civil(2000 + i64::from(yy), mo, dd);
    let unix = days * 86_400 + i64::from(hh * 3600 + mi * 60 + ss);
    Some((unix, sign * zz))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Cclk,
    Ctzu,
    Ctzr,
    Qlts,
    Qntp,
}

pub(crate) static ROWS: &[Row<Kind>] = &[
    Row {
        name: "+CCLK",
        kind: Kind::Cclk,
        test: TEST_OK,
        bad: Bad::Error,
    },
    Row {
        name: "+CTZU",
        kind: Kind::Ctzu,
        test: Some("+CTZU: (0,1)"),
        bad: Bad::Cme,
    },
    Row {
        name: "+CTZR",
        kind: Kind::Ctzr,
        test: Some("+CTZR: (0-2)"),
        bad: Bad::Cme,
    },
    Row {
        name: "+QLTS",
        kind: Kind::Qlts,
        test: Some("+QLTS: (0-2)"),
        bad: Bad::Error,
    },
    Row {
        name: "+QNTP",
        kind: Kind::Qntp,
        test: Some("+QNTP: (1-16),<server>,(1-65535),(0,1)"),
        bad: Bad::Error,
    },
];

/// The name of `kind`'s row (which its answer lines carry).
fn name(kind: Kind) -> &'static str {
    crate::area::name_of(ROWS, kind)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    ClockRead,
    ClockSet {
        unix: i64,
        zone: i8,
    },
    CtzuRead,
    Ctzu(u8),
    CtzrRead,
    Ctzr(u8),
    /// AT+QLTS[=<mode>].
    LocalTime(u8),
    NtpRead,
    Ntp {
        cid: u8,
        server: String,
        port: u16,
        set_clock: bool,
    },
}

pub(crate) fn parse(kind: Kind, form: &Form) -> Result<Command, Refusal> {
    let one = |a: &[Arg], max: u64| -> Result<u8, Refusal> {
        at_most(a, 1)?;
        Ok(num(a, 0, 0..=max)? as u8)
    };
    Ok(match (kind, form) {
        (Kind::Cclk, Form::Read) => Command::ClockRead,
        (Kind::Cclk, Form::Write(a)) => {
            at_most(a, 1)?;
            let text = a.first().and_then(Arg::as_quoted).ok_or(Refusal::Bad)?;
            let (unix, zone) = parse_cclk(text).ok_or(Refusal::Bad)?;
            Command::ClockSet { unix, zone }
        }
        (Kind::Ctzu, Form::Read) => Command::CtzuRead,
        (Kind::Ctzu, Form::Write(a)) => Command::Ctzu(one(a, 1)?),
        (Kind::Ctzr, Form::Read) => Command::CtzrRead,
        (Kind::Ctzr, Form::Write(a)) => Command::Ctzr(one(a, 2)?),
        (Kind::Qlts, Form::Exec) => Command::LocalTime(0),
        (Kind::Qlts, Form::Write(a)) => Command::LocalTime(one(a, 2)?),
        (Kind::Qntp, Form::Read) => Command::NtpRead,
        (Kind::Qntp, Form::Write(a)) => {
            at_most(a, 4)?;
            let cid = num(a, 0, 1..=16)? as u8;
            let server = string(a, 1, 255)?;
            if server.is_empty() {
                return Err(Refusal::Bad);
            }
            let port = opt_num(a, 2, 1..=65535)?.unwrap_or(123) as u16;
            let set_clock = opt_num(a, 3, 0..=1)?.unwrap_or(1) == 1;
            Command::Ntp {
                cid,
                server: server.to_string(),
                port,
                set_clock,
            }
        }
        _ => return Err(Refusal::Form),
    })
}

impl ModuleClock {
    /// Run a parsed command; AT+QNTP needs to know whether its context is up (`pdp`).
    pub(crate) fn run(&mut self, cx: &mut Ctx, pdp: &Pdp, cmd: Command) -> Outcome {
        let now = cx.now;
        let clock = &mut *self;
        let line = match cmd {
            Command::ClockRead => {
                format!(
                    "{}: \"{}\"",
                    name(Kind::Cclk),
                    cclk_text(clock.utc(now), clock.zone)
                )
            }
            Command::ClockSet { unix, zone } => {
                clock.offset = unix - clock.reference(now);
                clock.zone = zone;
                return Outcome::Ok;
            }
            Command::CtzuRead => format!("{}: {}", name(Kind::Ctzu), clock.ctzu),
            Command::Ctzu(v) => {
                clock.ctzu = v;
                return Outcome::Ok;
            }
            Command::CtzrRead => format!("{}: {}", name(Kind::Ctzr), clock.ctzr),
            Command::Ctzr(v) => {
                clock.ctzr = v;
                return Outcome::Ok;
            }
            Command::LocalTime(mode) => match clock.nitz {
                None => format!("{}: \"\"", name(Kind::Qlts)),
                Some(n) => {
                    let (unix, zone) = match mode {
                        0 => (n.unix, n.zone),
                        1 => (clock.utc(now), clock.zone),
                        _ => (clock.utc(now) + i64::from(clock.zone) * 900, clock.zone),
                    };
                    format!("{}: \"{},0\"", name(Kind::Qlts), long_text(unix, zone))
                }
            },
            Command::NtpRead => match &clock.ntp {
                Some(n) => format!("{}: \"{}\",{}", name(Kind::Qntp), n.server, n.port),
                None => return Outcome::Ok,
            },
            Command::Ntp {
                cid,
                server,
                port,
                set_clock,
            } => return self.start_ntp(cx, pdp, cid, server, port, set_clock),
        };
        cx.info(&[line]);
        Outcome::Ok
    }

    /// AT+QNTP: `OK`, then `+QNTP:` after [`NTP_DELAY`]. No server is contacted and its name
    /// is not looked up: the answer is the module's network (host) time, so it works
    /// offline.
    fn start_ntp(
        &mut self,
        cx: &mut Ctx,
        pdp: &Pdp,
        cid: u8,
        server: String,
        port: u16,
        set_clock: bool,
    ) -> Outcome {
        if self.ntp.is_some() {
            return TcpError::OperationBusy.into();
        }
        if !pdp.is_up(cid) {
            let code = TcpError::OpenPdpFailed.code();
            return cx.after(AfterOk::Urc(format!("{}: {code}", name(Kind::Qntp))));
        }
        self.ntp = Some(NtpRun {
            cid,
            server,
            port,
            set_clock,
            due: cx.now + NTP_DELAY,
        });
        Outcome::Ok
    }

    /// The `+QNTP:` answer is due.
    pub(crate) fn timeout(&mut self, cx: &mut Ctx) {
        let now = cx.now;
        let clock = self;
        let Some(run) = clock.ntp.take_if(|n| now >= n.due) else {
            return;
        };
        let unix = clock.reference(now);
        if run.set_clock {
            clock.offset = 0;
        }
        let text = format!(
            "{}: 0,\"{}\"",
            name(Kind::Qntp),
            long_text(unix, clock.zone)
        );
        cx.urc(&text);
    }

    /// Context `cid` went down: an AT+QNTP on it fails.
    pub(crate) fn context_lost(&mut self, cx: &mut Ctx, cid: u8) {
        if self.ntp.take_if(|n| n.cid == cid).is_some() {
            cx.urc(&format!(
                "{}: {}",
                name(Kind::Qntp),
                TcpError::PdpBrokenDown.code()
            ));
        }
    }

    /// NITZ arrived: set the clock (CTZU=1) and report it as AT+CTZR asks.
    pub(crate) fn nitz(&mut self, cx: &mut Ctx, unix: i64, zone: i8) {
        self.network_time(cx.now, unix, zone);
        match self.ctzr {
            1 => cx.urc(&format!("+CTZV: \"{}\"", zone_text(zone))),
            2 => {
                let local = civil_time(unix + i64::from(zone) * 900);
                let text = format!(
                    "+CTZE: \"{}\",0,\"{:04}/{:02}/{:02},{:02}:{:02}:{:02}\"",
                    zone_text(zone),
                    local.year,
                    local.month,
                    local.day,
                    local.hour,
                    local.minute,
                    local.second
                );
                cx.urc(&text);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips() {
        for days in [-1000, 0, 3652, 10_957, 19_000, 20_454, 60_000] {
            let (y, m, d) = civil(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(cclk_text(GPS_EPOCH, 0), "80/01/06,00:00:00+00");
        assert_eq!(long_text(1_767_225_600, -20), "2026/01/01,00:00:00-20");
    }

    #[test]
    fn cclk_parses_and_refuses() {
        assert_eq!(parse_cclk("26/01/01,00:00:00+00"), Some((1_767_225_600, 0)));
        assert_eq!(parse_cclk("24/02/29,12:30:00-20").map(|p| p.1), Some(-20));
        for bad in [
            "26/13/01,00:00:00+00",
            "26/02/30,00:00:00+00",
            "26/01/01,24:00:00+00",
            "26/01/01,00:00:00*00",
            "26/01/01,00:00:00",
            "2026/01/01,00:00:00+00",
            "ab/01/01,00:00:00+00",
        ] {
            assert_eq!(parse_cclk(bad), None, "{bad}");
        }
    }
}
