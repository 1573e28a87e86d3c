//! V.250 basics, identity, SIM, signal, registration, functionality, power and baud rate.

use bg95_at::{Arg, FinalResult, Form, Invocation};

use crate::error::CmeError;
use crate::module::{AfterOk, Module, Outcome};
use crate::params::{num, opt_num, BadParam};
use crate::settings::Settings;
use crate::time::Instant;

/// Baud rates AT+IPR takes (0 = unpaced, which the real module calls autobaud).
const IPR_RATES: [u32; 10] = [
    0, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600,
];

/// Radio and registration state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// AT+CFUN: 0 minimum, 1 full, 4 airplane.
    pub cfun: u8,
    /// URC modes of AT+CREG, AT+CGREG, AT+CEREG.
    pub creg: u8,
    pub cgreg: u8,
    pub cereg: u8,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            cfun: 1,
            creg: 0,
            cgreg: 0,
            cereg: 0,
        }
    }
}

impl From<BadParam> for Outcome {
    fn from(_: BadParam) -> Self {
        Outcome::Fail(CmeError::IncorrectParameters.into())
    }
}

/// A basic command's single value (`E0`, `E`, `E=1`): absent means 0.
fn basic_value(inv: &Invocation, max: u64) -> Result<u64, BadParam> {
    match &inv.form {
        Form::Exec => Ok(0),
        Form::Write(args) => num(args, 0, 0..=max),
        _ => Err(BadParam),
    }
}

impl Module {
    pub(crate) fn dispatch_basic(&mut self, now: Instant, inv: &Invocation) -> Option<Outcome> {
        let name = inv.name.as_str();
        let outcome = match name {
            "E" | "V" | "Q" => self.v250_flag(inv),
            "I" => match basic_value(inv, 0) {
                Ok(_) => {
                    let p = &self.p;
                    let lines = [
                        p.manufacturer.clone(),
                        p.model.clone(),
                        format!("Revision: {}", p.revision),
                    ];
                    self.info(&lines);
                    Outcome::Ok
                }
                Err(_) => Outcome::Fail(FinalResult::Error),
            },
            "Z" => match basic_value(inv, 0) {
                Ok(_) => {
                    self.cfg = self.saved.clone();
                    Outcome::Ok
                }
                Err(_) => Outcome::Fail(FinalResult::Error),
            },
            "&F" => match basic_value(inv, 0) {
                Ok(_) => {
                    self.cfg = Settings::factory(self.p.max_line);
                    Outcome::Ok
                }
                Err(_) => Outcome::Fail(FinalResult::Error),
            },
            "&W" => match basic_value(inv, 0) {
                Ok(_) => {
                    self.saved = self.cfg.clone();
                    Outcome::Ok
                }
                Err(_) => Outcome::Fail(FinalResult::Error),
            },
            "&D" => match basic_value(inv, 2) {
                Ok(v) => {
                    self.cfg.dtr_mode = v as u8;
                    Outcome::Ok
                }
                Err(_) => Outcome::Fail(FinalResult::Error),
            },
            "&C" => match basic_value(inv, 1) {
                Ok(v) => {
                    self.cfg.dcd_mode = v as u8;
                    Outcome::Ok
                }
                Err(_) => Outcome::Fail(FinalResult::Error),
            },
            "H" => match basic_value(inv, 0) {
                Ok(_) => Outcome::Ok,
                Err(_) => Outcome::Fail(FinalResult::Error),
            },
            "O" => match basic_value(inv, 0) {
                Ok(_) => self.ato(now),
                Err(_) => Outcome::Fail(FinalResult::Error),
            },
            s if s.starts_with('S') && s.len() > 1 => self.sreg_command(inv),
            "+CMEE" => self.cmee(inv),
            "+GMI" | "+CGMI" => self.identity(inv, self.p.manufacturer.clone()),
            "+GMM" | "+CGMM" => self.identity(inv, self.p.model.clone()),
            "+GMR" | "+CGMR" => self.identity(inv, self.p.revision.clone()),
            "+CGSN" | "+GSN" => self.identity(inv, self.p.imei.clone()),
            "+CIMI" => self.identity(inv, self.p.imsi.clone()),
            "+QCCID" => self.identity(inv, format!("+QCCID: {}", self.p.iccid)),
            "+CPIN" => match &inv.form {
                Form::Read if !self.general.attach.sim_present => CmeError::SimNotInserted.into(),
                Form::Read => {
                    self.info(&["+CPIN: READY"]);
                    Outcome::Ok
                }
                Form::Test => Outcome::Ok,
                // No PIN is set on the virtual SIM: entering one is not allowed.
                Form::Write(_) => CmeError::OperationNotAllowed.into(),
                Form::Exec => Outcome::Fail(FinalResult::Error),
            },
            "+CSQ" => self.csq(inv),
            "+QCSQ" => self.qcsq(inv),
            "+CREG" | "+CGREG" | "+CEREG" => self.registration(inv),
            "+COPS" => self.cops(inv),
            "+CFUN" => self.cfun(now, inv),
            "+IPR" => self.ipr(inv),
            "+QPOWD" => match &inv.form {
                Form::Test => {
                    self.info(&["+QPOWD: (0,1)"]);
                    Outcome::Ok
                }
                Form::Exec => self.after(AfterOk::PowerDown),
                Form::Write(args) => match num(args, 0, 0..=1) {
                    Ok(_) => self.after(AfterOk::PowerDown),
                    Err(e) => e.into(),
                },
                Form::Read => Outcome::Fail(FinalResult::Error),
            },
            _ => return None,
        };
        Some(outcome)
    }

    pub(crate) fn after(&mut self, a: AfterOk) -> Outcome {
        self.after_ok.push(a);
        Outcome::Ok
    }

    fn v250_flag(&mut self, inv: &Invocation) -> Outcome {
        let Ok(v) = basic_value(inv, 1) else {
            return Outcome::Fail(FinalResult::Error);
        };
        let on = v == 1;
        match inv.name.as_str() {
            "E" => self.cfg.echo = on,
            "V" => self.cfg.fmt.verbose = on,
            _ => self.cfg.fmt.quiet = on,
        }
        Outcome::Ok
    }

    fn sreg_command(&mut self, inv: &Invocation) -> Outcome {
        let Ok(n) = inv.name[1..].parse::<usize>() else {
            return Outcome::Fail(FinalResult::Error);
        };
        if n >= crate::settings::SREG_COUNT {
            return Outcome::Fail(FinalResult::Error);
        }
        // S3, S4 and S5 are characters: 7-bit only.
        let max = if (3..=5).contains(&n) { 127 } else { 255 };
        match &inv.form {
            Form::Read => {
                let v = self.cfg.sreg(n);
                self.info(&[format!("{v:03}")]);
                Outcome::Ok
            }
            Form::Test => {
                self.info(&[format!("S{n}: (0-{max})")]);
                Outcome::Ok
            }
            Form::Write(args) => match num(args, 0, 0..=max) {
                Ok(v) => {
                    self.cfg.set_sreg(n, v as u8);
                    Outcome::Ok
                }
                Err(_) => Outcome::Fail(FinalResult::Error),
            },
            Form::Exec => Outcome::Fail(FinalResult::Error),
        }
    }

    fn cmee(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Read => {
                let line = format!("+CMEE: {}", self.cfg.fmt.cmee);
                self.info(&[line]);
            }
            Form::Test => self.info(&["+CMEE: (0-2)"]),
            Form::Exec => self.cfg.fmt.cmee = 0,
            Form::Write(args) => match num(args, 0, 0..=2) {
                Ok(v) if args.len() == 1 => self.cfg.fmt.cmee = v as u8,
                _ => return CmeError::IncorrectParameters.into(),
            },
        }
        Outcome::Ok
    }

    /// A command that prints one fixed line on Exec and `OK` on Test.
    fn identity(&mut self, inv: &Invocation, line: String) -> Outcome {
        match &inv.form {
            Form::Exec => {
                self.info(&[line]);
                Outcome::Ok
            }
            Form::Test => Outcome::Ok,
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    /// Registered on the network (home or roaming).
    pub(crate) fn registered(&self) -> bool {
        matches!(self.registration_stat(), 1 | 5)
    }

    fn csq(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Exec => {
                let rssi = if self.registered() {
                    self.p.csq_rssi
                } else {
                    99
                };
                self.info(&[format!("+CSQ: {rssi},99")]);
                Outcome::Ok
            }
            Form::Test => {
                self.info(&["+CSQ: (0-31,99),(0-7,99)"]);
                Outcome::Ok
            }
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    fn qcsq(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Exec => {
                let line = if self.registered() {
                    format!("+QCSQ: {}", self.p.qcsq)
                } else {
                    "+QCSQ: \"NOSERVICE\"".to_string()
                };
                self.info(&[line]);
                Outcome::Ok
            }
            Form::Test => {
                self.info(&["+QCSQ: \"NOSERVICE\",\"GSM\",\"eMTC\",\"NBIoT\""]);
                Outcome::Ok
            }
            _ => Outcome::Fail(FinalResult::Error),
        }
    }

    fn reg_stat(&self) -> u8 {
        self.registration_stat()
    }

    pub(crate) fn reg_mode(&mut self, name: &str) -> &mut u8 {
        match name {
            "+CREG" => &mut self.net.creg,
            "+CGREG" => &mut self.net.cgreg,
            _ => &mut self.net.cereg,
        }
    }

    /// `<stat>` plus the location fields that mode 2 adds while registered.
    pub(crate) fn reg_fields(&self, mode: u8) -> String {
        let stat = self.reg_stat();
        if mode == 2 && matches!(stat, 1 | 5) {
            format!(
                "{stat},\"{}\",\"{}\",{}",
                self.p.tac,
                self.p.cell_id,
                self.current_act()
            )
        } else {
            stat.to_string()
        }
    }

    fn registration(&mut self, inv: &Invocation) -> Outcome {
        let name = inv.name.clone();
        match &inv.form {
            Form::Read => {
                let mode = *self.reg_mode(&name);
                let line = format!("{name}: {mode},{}", self.reg_fields(mode));
                self.info(&[line]);
                Outcome::Ok
            }
            Form::Test => {
                self.info(&[format!("{name}: (0-2)")]);
                Outcome::Ok
            }
            Form::Write(args) => match num(args, 0, 0..=2) {
                Ok(v) if args.len() == 1 => {
                    *self.reg_mode(&name) = v as u8;
                    Outcome::Ok
                }
                _ => CmeError::IncorrectParameters.into(),
            },
            Form::Exec => {
                *self.reg_mode(&name) = 0;
                Outcome::Ok
            }
        }
    }

    /// Registration URCs for every command whose URC mode is on (after a CFUN change).
    fn registration_urcs(&mut self) {
        for name in ["+CREG", "+CGREG", "+CEREG"] {
            let mode = *self.reg_mode(name);
            if mode > 0 {
                let fields = self.reg_fields(mode);
                self.after_ok
                    .push(AfterOk::Urc(format!("{name}: {fields}")));
            }
        }
    }

    fn cops(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Read => {
                let line = if self.registered() {
                    format!("+COPS: 0,0,\"{}\",{}", self.p.operator, self.current_act())
                } else {
                    "+COPS: 0".to_string()
                };
                self.info(&[line]);
                Outcome::Ok
            }
            Form::Test => {
                // <stat> 2: the operator the module is registered on (27.007).
                let line = format!(
                    "+COPS: (2,\"{op}\",\"{op}\",\"46000\",{act}),,(0-4),(0-2)",
                    op = self.p.operator,
                    act = self.p.act
                );
                self.info(&[line]);
                Outcome::Ok
            }
            Form::Write(args) => match num(args, 0, 0..=4) {
                Ok(_) => Outcome::Ok,
                Err(e) => e.into(),
            },
            Form::Exec => Outcome::Ok,
        }
    }

    fn cfun(&mut self, now: Instant, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Read => {
                let line = format!("+CFUN: {}", self.net.cfun);
                self.info(&[line]);
                Outcome::Ok
            }
            Form::Test => {
                self.info(&["+CFUN: (0,1,4),(0,1)"]);
                Outcome::Ok
            }
            Form::Write(args) => {
                let (fun, rst) = match (num(args, 0, 0..=4), opt_num(args, 1, 0..=1)) {
                    (Ok(f @ (0 | 1 | 4)), Ok(r)) if args.len() <= 2 => (f as u8, r.unwrap_or(0)),
                    _ => return CmeError::IncorrectParameters.into(),
                };
                if rst == 1 {
                    return self.after(AfterOk::Reset);
                }
                if fun != self.net.cfun {
                    let was_registered = self.registered();
                    self.net.cfun = fun;
                    if fun != 1 {
                        // Radio off: the network drops every PDP context and its sockets.
                        self.deactivate_all_pdp(now);
                    }
                    if self.registered() && !was_registered {
                        // The attach brings context 1's default bearer back up.
                        self.pdp.default_bearer = true;
                    }
                    // 27.007: the URCs report a change of <stat> (CFUN=0 → 4 changes nothing).
                    if self.registered() != was_registered {
                        self.registration_urcs();
                    }
                }
                Outcome::Ok
            }
            Form::Exec => Outcome::Fail(FinalResult::Error),
        }
    }

    fn ipr(&mut self, inv: &Invocation) -> Outcome {
        match &inv.form {
            Form::Read => {
                let line = format!("+IPR: {}", self.baud);
                self.info(&[line]);
                Outcome::Ok
            }
            Form::Test => {
                let rates: Vec<String> = IPR_RATES.iter().map(u32::to_string).collect();
                self.info(&[format!("+IPR: ({})", rates.join(","))]);
                Outcome::Ok
            }
            Form::Write(args) => match args.first().and_then(Arg::as_u64) {
                Some(r)
                    if args.len() <= 2
                        && IPR_RATES.contains(&(r as u32))
                        && r <= u32::MAX as u64 =>
                {
                    self.after(AfterOk::SetBaud(r as u32))
                }
                _ => CmeError::IncorrectParameters.into(),
            },
            Form::Exec => Outcome::Fail(FinalResult::Error),
        }
    }
}
