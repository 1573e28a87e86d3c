//! V.250 basics, identity, SIM, signal, registration, functionality, power and baud rate.
//!
//! The area owns the radio and registration modes ([`Basic`]) and parses each line once
//! ([`ROWS`], [`BasicCommand`]). A bad parameter of a V.250 command (`ATE2`, `AT&D5`, `ATS3=200`)
//! is a bare `ERROR`; of an extended one (`AT+CMEE=3`) `+CME ERROR: 50`. The profile
//! (echo, ATV/ATQ/CMEE, S-registers) belongs to the module's AT interface and reaches
//! the commands that change it as a [`Profile`]; what the area reads from the others comes
//! as a [`BasicView`]. AT+CFUN and ATO cross areas: they come back to the module as
//! [`BasicAnswer::Cfun`] and [`BasicAnswer::Online`].

use bg95_at::{Arg, FinalResult, Form, Invocation};

use crate::area::{AfterOk, Bad, Ctx, Outcome, Refusal, Row, TEST_OK};
use crate::error::CmeError;
use crate::params::{num, opt_num, BadParam};
use crate::personality::Personality;
use crate::settings::{Settings, SREG_COUNT};

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

impl Network {
    /// The URC mode of a registration command.
    pub(crate) fn mode_mut(&mut self, reg: Reg) -> &mut u8 {
        match reg {
            Reg::Cs => &mut self.creg,
            Reg::Gprs => &mut self.cgreg,
            Reg::Eps => &mut self.cereg,
        }
    }

    pub(crate) fn mode(&self, reg: Reg) -> u8 {
        match reg {
            Reg::Cs => self.creg,
            Reg::Gprs => self.cgreg,
            Reg::Eps => self.cereg,
        }
    }
}

/// Which registration a command reports (27.007: CREG, CGREG, CEREG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reg {
    Cs,
    Gprs,
    Eps,
}

/// A V.250 flag command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flag {
    Echo,
    Verbose,
    Quiet,
}

/// Which identity a command prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ident {
    Manufacturer,
    Model,
    Revision,
    Imei,
    Imsi,
    Iccid,
}

/// Which basic command a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BasicKind {
    Flag(Flag),
    Info,
    Restore,
    Factory,
    Store,
    Dtr,
    Dcd,
    Hangup,
    Online,
    /// `S<n>` (one row stands for every register: [`SREG_ROW`]).
    Sreg,
    Cmee,
    Identity(Ident),
    Pin,
    Signal,
    QuectelSignal,
    Registration(Reg),
    Operator,
    Functionality,
    Rate,
    PowerDown,
}

const fn v250(name: &'static str, kind: BasicKind) -> Row<BasicKind> {
    Row {
        name,
        kind,
        test: None,
        bad: Bad::Error,
    }
}

const fn ext(name: &'static str, kind: BasicKind, test: Option<&'static str>) -> Row<BasicKind> {
    Row {
        name,
        kind,
        test,
        bad: Bad::Cme,
    }
}

/// Every basic command.
pub(crate) const ROWS: &[Row<BasicKind>] = &[
    v250("E", BasicKind::Flag(Flag::Echo)),
    v250("V", BasicKind::Flag(Flag::Verbose)),
    v250("Q", BasicKind::Flag(Flag::Quiet)),
    v250("I", BasicKind::Info),
    v250("Z", BasicKind::Restore),
    v250("&F", BasicKind::Factory),
    v250("&W", BasicKind::Store),
    v250("&D", BasicKind::Dtr),
    v250("&C", BasicKind::Dcd),
    v250("H", BasicKind::Hangup),
    v250("O", BasicKind::Online),
    ext("+CMEE", BasicKind::Cmee, Some("+CMEE: (0-2)")),
    ext("+GMI", BasicKind::Identity(Ident::Manufacturer), TEST_OK),
    ext("+CGMI", BasicKind::Identity(Ident::Manufacturer), TEST_OK),
    ext("+GMM", BasicKind::Identity(Ident::Model), TEST_OK),
    ext("+CGMM", BasicKind::Identity(Ident::Model), TEST_OK),
    ext("+GMR", BasicKind::Identity(Ident::Revision), TEST_OK),
    ext("+CGMR", BasicKind::Identity(Ident::Revision), TEST_OK),
    ext("+CGSN", BasicKind::Identity(Ident::Imei), TEST_OK),
    ext("+GSN", BasicKind::Identity(Ident::Imei), TEST_OK),
    ext("+CIMI", BasicKind::Identity(Ident::Imsi), TEST_OK),
    ext("+QCCID", BasicKind::Identity(Ident::Iccid), TEST_OK),
    ext("+CPIN", BasicKind::Pin, TEST_OK),
    ext("+CSQ", BasicKind::Signal, Some("+CSQ: (0-31,99),(0-7,99)")),
    ext(
        "+QCSQ",
        BasicKind::QuectelSignal,
        Some("+QCSQ: \"NOSERVICE\",\"GSM\",\"eMTC\",\"NBIoT\""),
    ),
    ext(
        "+CREG",
        BasicKind::Registration(Reg::Cs),
        Some("+CREG: (0-2)"),
    ),
    ext(
        "+CGREG",
        BasicKind::Registration(Reg::Gprs),
        Some("+CGREG: (0-2)"),
    ),
    ext(
        "+CEREG",
        BasicKind::Registration(Reg::Eps),
        Some("+CEREG: (0-2)"),
    ),
    // The Test line names the operator: printed by `run`.
    ext("+COPS", BasicKind::Operator, None),
    ext(
        "+CFUN",
        BasicKind::Functionality,
        Some("+CFUN: (0,1,4),(0,1)"),
    ),
    // The Test line lists `IPR_RATES`: printed by `run`.
    ext("+IPR", BasicKind::Rate, None),
    ext("+QPOWD", BasicKind::PowerDown, Some("+QPOWD: (0,1)")),
];

/// The row every `S<n>` command (`ATS12?`, `ATS3=13`) shares; `n` comes from the name.
const SREG_ROW: Row<BasicKind> = v250("S", BasicKind::Sreg);

/// The registration commands, with the name their URCs carry.
pub(crate) fn registration_rows() -> impl Iterator<Item = (&'static str, Reg)> {
    ROWS.iter().filter_map(|r| match r.kind {
        BasicKind::Registration(reg) => Some((r.name, reg)),
        _ => None,
    })
}

/// The SIM state URC (`+CPIN: READY`, `+CPIN: NOT READY`) when a SIM comes or goes.
pub(crate) fn sim_urc(ready: bool) -> String {
    let name = crate::area::name_of(ROWS, BasicKind::Pin);
    let state = if ready { "READY" } else { "NOT READY" };
    format!("{name}: {state}")
}

/// One basic command line, its parameters read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BasicCommand {
    Flag {
        flag: Flag,
        on: bool,
    },
    /// ATI.
    Info,
    /// ATZ: the stored profile back.
    Restore,
    /// AT&F: the factory profile.
    Factory,
    /// AT&W: store the profile.
    Store,
    Dtr(u8),
    Dcd(u8),
    Hangup,
    /// ATO: back into a paused transfer (the module's work).
    Online,
    SregRead(usize),
    SregTest(usize),
    SregSet(usize, u8),
    CmeeRead,
    CmeeSet(u8),
    Identity(Ident),
    PinRead,
    PinEnter,
    Signal,
    QuectelSignal,
    RegRead(Reg),
    RegSet(Reg, u8),
    OperatorRead,
    OperatorTest,
    OperatorSet,
    CfunRead,
    /// AT+CFUN=<fun>[,<rst>] (the module's work: it crosses areas).
    Cfun {
        fun: u8,
        reset: bool,
    },
    RateRead,
    RateTest,
    Rate(u32),
    PowerDown,
}

/// A basic command's single value (`E0`, `E`, `E=1`): absent means 0.
fn basic_value(form: &Form, max: u64) -> Result<u64, Refusal> {
    match form {
        Form::Exec => Ok(0),
        Form::Write(args) => Ok(num(args, 0, 0..=max)?),
        _ => Err(Refusal::Form),
    }
}

/// The register of an `S<n>` name, if it exists.
fn sreg_number(name: &str) -> Option<usize> {
    let n = name.strip_prefix('S')?.parse::<usize>().ok()?;
    (n < SREG_COUNT).then_some(n)
}

/// The highest value of an S-register: S3, S4 and S5 are characters, 7-bit only.
fn sreg_max(n: usize) -> u64 {
    if (3..=5).contains(&n) {
        127
    } else {
        255
    }
}

/// A single-value extended Write form (`AT+CMEE=1`): exactly one value in `0..=max`.
fn one_value(args: &[Arg], max: u64) -> Result<u8, Refusal> {
    match num(args, 0, 0..=max) {
        Ok(v) if args.len() == 1 => Ok(v as u8),
        _ => Err(Refusal::Bad),
    }
}

/// Parse a line of the command `kind` (`sreg`: the register of an `S<n>` name).
pub(crate) fn parse(kind: BasicKind, sreg: usize, form: &Form) -> Result<BasicCommand, Refusal> {
    use BasicCommand as C;
    use BasicKind as K;
    Ok(match (kind, form) {
        (K::Flag(flag), f) => C::Flag {
            flag,
            on: basic_value(f, 1)? == 1,
        },
        (K::Info, f) => basic_value(f, 0).map(|_| C::Info)?,
        (K::Restore, f) => basic_value(f, 0).map(|_| C::Restore)?,
        (K::Factory, f) => basic_value(f, 0).map(|_| C::Factory)?,
        (K::Store, f) => basic_value(f, 0).map(|_| C::Store)?,
        (K::Dtr, f) => C::Dtr(basic_value(f, 2)? as u8),
        (K::Dcd, f) => C::Dcd(basic_value(f, 1)? as u8),
        (K::Hangup, f) => basic_value(f, 0).map(|_| C::Hangup)?,
        (K::Online, f) => basic_value(f, 0).map(|_| C::Online)?,
        (K::Sreg, Form::Read) => C::SregRead(sreg),
        (K::Sreg, Form::Test) => C::SregTest(sreg),
        (K::Sreg, Form::Write(args)) => C::SregSet(sreg, num(args, 0, 0..=sreg_max(sreg))? as u8),
        (K::Cmee, Form::Read) => C::CmeeRead,
        (K::Cmee, Form::Exec) => C::CmeeSet(0),
        (K::Cmee, Form::Write(args)) => C::CmeeSet(one_value(args, 2)?),
        (K::Identity(id), Form::Exec) => C::Identity(id),
        (K::Pin, Form::Read) => C::PinRead,
        (K::Pin, Form::Write(_)) => C::PinEnter,
        (K::Signal, Form::Exec) => C::Signal,
        (K::QuectelSignal, Form::Exec) => C::QuectelSignal,
        (K::Registration(reg), Form::Read) => C::RegRead(reg),
        (K::Registration(reg), Form::Exec) => C::RegSet(reg, 0),
        (K::Registration(reg), Form::Write(args)) => C::RegSet(reg, one_value(args, 2)?),
        (K::Operator, Form::Read) => C::OperatorRead,
        (K::Operator, Form::Test) => C::OperatorTest,
        (K::Operator, Form::Write(args)) => num(args, 0, 0..=4).map(|_| C::OperatorSet)?,
        (K::Operator, Form::Exec) => C::OperatorSet,
        (K::Functionality, Form::Read) => C::CfunRead,
        (K::Functionality, Form::Write(args)) => {
            match (num(args, 0, 0..=4), opt_num(args, 1, 0..=1)) {
                (Ok(f @ (0 | 1 | 4)), Ok(r)) if args.len() <= 2 => C::Cfun {
                    fun: f as u8,
                    reset: r == Some(1),
                },
                _ => return Err(Refusal::Bad),
            }
        }
        (K::Rate, Form::Read) => C::RateRead,
        (K::Rate, Form::Test) => C::RateTest,
        (K::Rate, Form::Write(args)) => match args.first().and_then(Arg::as_u64) {
            Some(r) if args.len() <= 2 && r <= u64::from(u32::MAX) => {
                if !IPR_RATES.contains(&(r as u32)) {
                    return Err(Refusal::Bad);
                }
                C::Rate(r as u32)
            }
            _ => return Err(Refusal::Bad),
        },
        (K::PowerDown, Form::Exec) => C::PowerDown,
        (K::PowerDown, Form::Write(args)) => num(args, 0, 0..=1).map(|_| C::PowerDown)?,
        _ => return Err(Refusal::Form),
    })
}

impl From<BadParam> for Outcome {
    fn from(_: BadParam) -> Self {
        Outcome::Fail(CmeError::IncorrectParameters.into())
    }
}

/// What the basic area reads from the others (read-only, passed by the module).
pub(crate) struct BasicView<'a> {
    pub p: &'a Personality,
    /// 27.007 `<stat>` and `<AcT>` (the attach state of the general area, the radio here).
    pub stat: u8,
    pub act: u8,
    pub sim_present: bool,
    /// The module→host pace (AT+IPR?).
    pub baud: u32,
}

impl BasicView<'_> {
    fn registered(&self) -> bool {
        matches!(self.stat, 1 | 5)
    }
}

/// The AT interface's profile, which V.250 commands change: the settings in use and the
/// one AT&W stores.
pub(crate) struct Profile<'a> {
    pub cfg: &'a mut Settings,
    pub saved: &'a mut Settings,
}

/// What a basic command line comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BasicAnswer {
    Done(Outcome),
    /// AT+CFUN=<fun>[,<rst>]: the module changes the radio (PDP contexts go, URCs follow).
    Cfun {
        fun: u8,
        reset: bool,
    },
    /// ATO: the module resumes a paused transfer, if any.
    Online,
}

/// The basic area's state.
#[derive(Debug, Default)]
pub(crate) struct Basic {
    pub net: Network,
}

/// `<stat>` plus the location fields that mode 2 adds while registered.
pub(crate) fn reg_fields(p: &Personality, mode: u8, stat: u8, act: u8) -> String {
    if mode == 2 && matches!(stat, 1 | 5) {
        format!("{stat},\"{}\",\"{}\",{act}", p.tac, p.cell_id)
    } else {
        stat.to_string()
    }
}

impl Basic {
    /// Dispatch a basic command; `None` if the name is not one of them.
    pub(crate) fn dispatch(
        &mut self,
        ctx: &mut Ctx,
        view: &BasicView,
        profile: Profile,
        inv: &Invocation,
    ) -> Option<BasicAnswer> {
        let (row, sreg) = match crate::area::find(ROWS, &inv.name) {
            Some(row) => (row, 0),
            None => (&SREG_ROW, sreg_number(&inv.name)?),
        };
        if let Some(o) = crate::area::fixed_test(row, &inv.form, ctx) {
            return Some(BasicAnswer::Done(o));
        }
        Some(match parse(row.kind, sreg, &inv.form) {
            Ok(BasicCommand::Cfun { fun, reset }) => BasicAnswer::Cfun { fun, reset },
            Ok(BasicCommand::Online) => BasicAnswer::Online,
            Ok(cmd) => BasicAnswer::Done(self.run(ctx, view, profile, row.name, cmd)),
            Err(refusal) => BasicAnswer::Done(Outcome::Fail(refusal.result(row))),
        })
    }

    /// Run a parsed command; `name` is its row's, which its answer lines carry.
    fn run(
        &mut self,
        ctx: &mut Ctx,
        view: &BasicView,
        profile: Profile,
        name: &str,
        cmd: BasicCommand,
    ) -> Outcome {
        use BasicCommand as C;
        let lines = match cmd {
            C::Rate(r) => return ctx.after(AfterOk::SetBaud(r)),
            C::PowerDown => return ctx.after(AfterOk::PowerDown),
            // The module's work (`BasicAnswer`); alone they change nothing here.
            C::Cfun { .. } | C::Online => return Outcome::Fail(FinalResult::Error),
            C::Flag { .. }
            | C::Restore
            | C::Factory
            | C::Store
            | C::Dtr(_)
            | C::Dcd(_)
            | C::SregRead(_)
            | C::SregTest(_)
            | C::SregSet(..)
            | C::CmeeRead
            | C::CmeeSet(_) => run_profile(profile, view.p, name, cmd),
            cmd => match self.status(view, name, cmd) {
                Ok(lines) => lines,
                Err(e) => return e.into(),
            },
        };
        if !lines.is_empty() {
            ctx.info(&lines);
        }
        Outcome::Ok
    }

    /// The commands that read the identity, the SIM, the signal, the registration, the
    /// operator, the radio and the rate: their answer lines.
    fn status(
        &mut self,
        view: &BasicView,
        name: &str,
        cmd: BasicCommand,
    ) -> Result<Vec<String>, CmeError> {
        use BasicCommand as C;
        let p = view.p;
        Ok(match cmd {
            C::Info => vec![
                p.manufacturer.clone(),
                p.model.clone(),
                format!("Revision: {}", p.revision),
            ],
            C::Identity(id) => vec![match id {
                Ident::Manufacturer => p.manufacturer.clone(),
                Ident::Model => p.model.clone(),
                Ident::Revision => p.revision.clone(),
                Ident::Imei => p.imei.clone(),
                Ident::Imsi => p.imsi.clone(),
                Ident::Iccid => format!("{name}: {}", p.iccid),
            }],
            C::PinRead if !view.sim_present => return Err(CmeError::SimNotInserted),
            C::PinRead => vec![format!("{name}: READY")],
            // No PIN is set on the virtual SIM: entering one is not allowed.
            C::PinEnter => return Err(CmeError::OperationNotAllowed),
            C::Signal => {
                let rssi = if view.registered() { p.csq_rssi } else { 99 };
                vec![format!("{name}: {rssi},99")]
            }
            C::QuectelSignal if view.registered() => vec![format!("{name}: {}", p.qcsq)],
            C::QuectelSignal => vec![format!("{name}: \"NOSERVICE\"")],
            C::RegRead(reg) => {
                let mode = self.net.mode(reg);
                let fields = reg_fields(p, mode, view.stat, view.act);
                vec![format!("{name}: {mode},{fields}")]
            }
            C::RegSet(reg, v) => {
                *self.net.mode_mut(reg) = v;
                vec![]
            }
            C::OperatorRead if view.registered() => {
                vec![format!("{name}: 0,0,\"{}\",{}", p.operator, view.act)]
            }
            C::OperatorRead => vec![format!("{name}: 0")],
            // <stat> 2: the operator the module is registered on (27.007).
            C::OperatorTest => vec![format!(
                "{name}: (2,\"{op}\",\"{op}\",\"46000\",{act}),,(0-4),(0-2)",
                op = p.operator,
                act = p.act
            )],
            C::CfunRead => vec![format!("{name}: {}", self.net.cfun)],
            C::RateRead => vec![format!("{name}: {}", view.baud)],
            C::RateTest => {
                let rates: Vec<String> = IPR_RATES.iter().map(u32::to_string).collect();
                vec![format!("{name}: ({})", rates.join(","))]
            }
            // ATH (no call to hang up), AT+COPS=<mode> (the one operator stays).
            _ => vec![],
        })
    }
}

/// The V.250 commands that change the profile (echo, ATV/ATQ, CMEE, S-registers, &D/&C,
/// ATZ, AT&F, AT&W): their answer lines.
fn run_profile(profile: Profile, p: &Personality, name: &str, cmd: BasicCommand) -> Vec<String> {
    use BasicCommand as C;
    let cfg = profile.cfg;
    match cmd {
        C::Flag { flag, on } => match flag {
            Flag::Echo => cfg.echo = on,
            Flag::Verbose => cfg.fmt.verbose = on,
            Flag::Quiet => cfg.fmt.quiet = on,
        },
        C::Restore => *cfg = profile.saved.clone(),
        C::Factory => *cfg = Settings::factory_for(p),
        C::Store => *profile.saved = cfg.clone(),
        C::Dtr(v) => cfg.dtr_mode = v,
        C::Dcd(v) => cfg.dcd_mode = v,
        C::SregRead(n) => return vec![format!("{:03}", cfg.sreg(n))],
        C::SregTest(n) => return vec![format!("S{n}: (0-{})", sreg_max(n))],
        C::SregSet(n, v) => {
            cfg.set_sreg(n, v);
        }
        C::CmeeRead => return vec![format!("{name}: {}", cfg.fmt.cmee)],
        C::CmeeSet(v) => cfg.fmt.cmee = v,
        _ => {}
    }
    Vec::new()
}
