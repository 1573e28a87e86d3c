//! From the raw file to a checked [`Scenario`]: every meaning check, with the line of the
//! key it is about.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::error::{from_toml, ScenarioError};
use super::fault::{
    Action, AnswerOverride, DataAction, FaultSpec, ModuleFault, Times, Trigger, TriggerEvent,
};
use super::kinds::{file_name, ActionName, On};
use super::paths::{LoadOptions, Paths, MAX_DATA_BYTES, MAX_SCENARIO_FILE, MAX_SERVER_BYTES};
use super::raw::*;
use super::*;
use crate::net::{Conn, ConnectFault, ReplyFault, ResolveError};

/// How long a `connect_timeout` hangs when no `delay` is given (a SYN never answered).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    /// The byte offset where each line starts, so a span's line is a binary search (a
    /// count from the start for each step would be quadratic in a long file).
    line_starts: Vec<usize>,
    paths: Paths,
}

impl Ctx<'_> {
    pub(super) fn line(&self, span: Range<usize>) -> usize {
        self.line_starts.partition_point(|&s| s <= span.start)
    }

    pub(super) fn err(
        &self,
        span: Range<usize>,
        key: &str,
        msg: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::new(self.path, self.line(span), key, msg)
    }
}

/// A scenario file's text: a regular file of at most [`MAX_SCENARIO_FILE`] bytes, UTF-8
/// without control characters (TOML allows none but tab and line ends), so binary garbage
/// is named by the byte offset where it starts.
pub(super) fn read_text(path: &Path) -> Result<String, ScenarioError> {
    use std::io::Read;
    let err = |line, msg: String| ScenarioError::new(path, line, "file", msg);
    let meta = std::fs::metadata(path).map_err(|e| err(0, format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(err(
            0,
            "not a regular file (a FIFO, a device or a folder is never read)".into(),
        ));
    }
    let too_big = || {
        err(
            0,
            format!("more than {MAX_SCENARIO_FILE} bytes (the limit of a scenario file)"),
        )
    };
    if meta.len() > MAX_SCENARIO_FILE {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SCENARIO_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| err(0, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_SCENARIO_FILE {
        return Err(too_big());
    }
    // Control bytes never occur inside a UTF-8 sequence: whichever problem comes first.
    let control = bytes
        .iter()
        .position(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || b == 0x7f);
    let invalid = std::str::from_utf8(&bytes).err().map(|e| e.valid_up_to());
    let bad = match (control, invalid) {
        (Some(c), Some(i)) => Some((c.min(i), c <= i)),
        (Some(c), None) => Some((c, true)),
        (None, Some(i)) => Some((i, false)),
        (None, None) => None,
    };
    if let Some((off, is_control)) = bad {
        let line = bytes[..off].iter().filter(|&&b| b == b'\n').count() + 1;
        let what = if is_control {
            "binary data"
        } else {
            "not UTF-8 text"
        };
        return Err(err(
            line,
            format!("{what}: byte 0x{:02x} at byte offset {off}", bytes[off]),
        ));
    }
    let text = String::from_utf8(bytes).unwrap_or_default();
    Ok(text)
}

pub(super) fn parse(
    path: &Path,
    text: &str,
    options: LoadOptions,
) -> Result<Scenario, ScenarioError> {
    let mut raw: RawScenario = toml::from_str(text).map_err(|e| from_toml(path, text, &e))?;
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let line_starts = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let cx = Ctx {
        path,
        line_starts,
        paths: Paths::new(base, options),
    };
    let start = super::start::parse(path, text, super::start::RawStart::take(&mut raw.module))?;
    let mut module = module(&cx, raw.module)?;
    let mut network = network(&cx, raw.network)?;
    super::start::apply(path, start, &mut module, &mut network)?;
    let serial = serial(&cx, raw.serial)?;
    let ftp_server = raw.ftp_server.map(|s| ftp_server(&cx, s)).transpose()?;
    let mut faults = faults(&cx, raw.fault)?;
    for (i, r) in network.registration.iter().enumerate() {
        faults.push(FaultSpec {
            name: format!("network.registration[{i}]"),
            trigger: Trigger {
                nth: 1,
                event: TriggerEvent::Time { after: r.at },
            },
            action: Action::Module(ModuleFault::Registration {
                stat: r.stat,
                act: r.act,
            }),
            times: Times::Count(1),
            probability: None,
            // A run may end before the timeline does.
            optional: true,
            line: 0,
        });
    }
    let vars = super::steps::step_vars(ftp_server.is_some());
    let setup = raw
        .setup
        .into_iter()
        .map(|s| super::steps::step(&cx, s, &vars))
        .collect::<Result<_, _>>()?;
    let steps = raw
        .step
        .into_iter()
        .map(|s| super::steps::step(&cx, s, &vars))
        .collect::<Result<_, _>>()?;
    let name = raw.name.unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into())
    });
    let time_scale = match raw.time_scale {
        Some(t) => crate::time_scale::TimeScale::new(*t.get_ref())
            .map_err(|e| cx.err(t.span(), "time_scale", e))?,
        None => crate::time_scale::TimeScale::REAL,
    };
    Ok(Scenario {
        path: path.to_path_buf(),
        name,
        description: raw.description,
        seed: raw.seed.unwrap_or(0),
        time_scale,
        module,
        network,
        serial,
        ftp_server,
        faults,
        setup,
        steps,
    })
}

fn module(cx: &Ctx, m: RawModule) -> Result<ModuleSetup, ScenarioError> {
    let mut p = bg95_core::Personality::default();
    macro_rules! set {
        ($($field:ident => $target:ident),*) => {$( if let Some(v) = m.$field { p.$target = v; } )*};
    }
    set!(manufacturer => manufacturer, model => model, revision => revision, imei => imei,
        imsi => imsi, iccid => iccid, operator => operator, qcsq => qcsq,
        boot_urcs => boot_urcs, max_line => max_line, max_active_pdp => max_active_pdp,
        qfupl_timeout_reports_size => qfupl_timeout_reports_size,
        info_lines_framed => info_lines_framed);
    if let Some(d) = m.power_off_time {
        p.power_off_time = d.0;
    }
    if let Some(s) = m.signal {
        let v = *s.get_ref();
        if v > 31 && v != 99 {
            return Err(cx.err(
                s.span(),
                "module.signal",
                format!("{v} is not an AT+CSQ <rssi> (0-31, or 99 for unknown)"),
            ));
        }
        p.csq_rssi = v;
    }
    if let Some(s) = m.ufs_size {
        if *s.get_ref() == 0 {
            return Err(cx.err(s.span(), "module.ufs_size", "UFS size must be > 0 bytes"));
        }
        p.ufs_capacity = *s.get_ref();
    }
    let mut ufs_files = Vec::new();
    let mut total = 0u64;
    for (name, f) in m.ufs {
        let key = format!("module.ufs.{name}");
        if name.is_empty() || name.contains('/') || name.starts_with('.') || name.len() > 80 {
            return Err(cx.err(f.span(), &key, format!("{name:?} is not a UFS file name")));
        }
        let data = file_content(cx, &key, f, p.ufs_capacity)?;
        total += data.len() as u64;
        ufs_files.push((name, data));
    }
    if total > p.ufs_capacity {
        return Err(ScenarioError::new(
            cx.path,
            1,
            "module.ufs",
            format!(
                "preloaded files take {total} bytes, more than the UFS size {}",
                p.ufs_capacity
            ),
        ));
    }
    Ok(ModuleSetup {
        personality: p,
        ufs_files,
    })
}

/// The content of a `{ text | path | size }` table, at most `limit` bytes (checked before
/// anything is read or allocated).
fn file_content(
    cx: &Ctx,
    key: &str,
    f: Spanned<RawUfsFile>,
    limit: u64,
) -> Result<Vec<u8>, ScenarioError> {
    let span = f.span();
    let f = f.into_inner();
    let given = [f.text.is_some(), f.path.is_some(), f.size.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(cx.err(span, key, "give exactly one of text, path, size"));
    }
    Ok(if let Some(t) = f.text {
        t.into_bytes()
    } else if let Some(pth) = f.path {
        cx.paths
            .read_file(pth.get_ref(), limit)
            .map_err(|e| cx.err(pth.span(), &format!("{key}.path"), e))?
    } else {
        let size = f.size.unwrap_or(0);
        if size > limit {
            return Err(cx.err(
                span,
                &format!("{key}.size"),
                format!("{size} bytes is more than the limit of {limit}"),
            ));
        }
        filler(size)
    })
}

/// Recognisable filler: the offset of every 16-byte line, so a corrupted transfer shows
/// where it went wrong.
pub(crate) fn filler(size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(size as usize);
    let mut off = 0u64;
    while (out.len() as u64) < size {
        let line = format!("{off:015x}\n");
        out.extend_from_slice(line.as_bytes());
        off += 16;
    }
    out.truncate(size as usize);
    out
}

fn network(cx: &Ctx, n: RawNetwork) -> Result<NetworkSetup, ScenarioError> {
    let mut out = NetworkSetup {
        dns_exclusive: n.dns_exclusive,
        pasv_same_host: n.pasv_same_host,
        ..Default::default()
    };
    for r in n.registration {
        let span = r.span();
        let r = r.into_inner();
        if out.registration.last().is_some_and(|l| l.at > r.at.0) {
            return Err(cx.err(
                span,
                "network.registration.at",
                "registration changes must be in time order",
            ));
        }
        out.registration.push(RegistrationChange {
            at: r.at.0,
            stat: r.state.stat(),
            act: r.technology.unwrap_or_default().act(),
        });
    }
    for (cid, addr) in n.pdp {
        let key = format!("network.pdp.{cid}");
        let c: u8 = cid
            .parse()
            .ok()
            .filter(|c| (1..=16).contains(c))
            .ok_or_else(|| cx.err(addr.span(), &key, "a PDP context id is 1-16"))?;
        out.pdp.insert(c, addr.into_inner());
    }
    for (name, addrs) in n.dns {
        if addrs.get_ref().0.is_empty() {
            let key = format!("network.dns.\"{name}\"");
            return Err(cx.err(addrs.span(), &key, "give at least one address"));
        }
        out.dns
            .insert(name.to_ascii_lowercase(), addrs.into_inner().0);
    }
    Ok(out)
}

fn serial(cx: &Ctx, s: RawSerial) -> Result<SerialSetup, ScenarioError> {
    if let Some(c) = &s.chunk {
        if *c.get_ref() == 0 {
            return Err(cx.err(c.span(), "serial.chunk", "a chunk must be at least 1 byte"));
        }
    }
    if let Some(m) = &s.flip_mask {
        if *m.get_ref() == 0 {
            return Err(cx.err(m.span(), "serial.flip_mask", "a mask of 0 flips nothing"));
        }
    }
    Ok(SerialSetup {
        baud: s.baud,
        chunk: s.chunk.map(Spanned::into_inner),
        chunk_delay: s.chunk_delay.map(|d| d.0).unwrap_or_default(),
        drop_byte_at: s.drop_byte_at,
        flip_byte_at: s.flip_byte_at,
        flip_mask: s.flip_mask.map(Spanned::into_inner).unwrap_or(0x01),
    })
}

fn ftp_server(cx: &Ctx, s: RawFtpServer) -> Result<FtpServerSetup, ScenarioError> {
    let (root, mut bytes) = cx
        .paths
        .root_dir(s.root.get_ref())
        .map_err(|e| cx.err(s.root.span(), "ftp_server.root", e))?;
    let users = match s.users {
        Some(u) if !u.is_empty() => u.into_iter().map(|u| (u.user, u.password)).collect(),
        _ => vec![(
            crate::server::USER.to_string(),
            crate::server::PASSWORD.to_string(),
        )],
    };
    let mut files = Vec::new();
    for (pattern, f) in s.files {
        let key = format!("ftp_server.files.\"{pattern}\"");
        let span = f.span();
        let names = super::pattern::expand(&pattern).map_err(|e| cx.err(span.clone(), &key, e))?;
        if let Some(bad) = names.iter().find(|n| !inside_root(n)) {
            return Err(cx.err(
                span,
                &key,
                format!("{bad:?}: a path inside the server's root"),
            ));
        }
        let data = file_content(cx, &key, f, MAX_DATA_BYTES)?;
        bytes = bytes.saturating_add((data.len() as u64).saturating_mul(names.len() as u64));
        if bytes > MAX_SERVER_BYTES {
            return Err(cx.err(
                span,
                &key,
                format!("the server's files take more than the limit of {MAX_SERVER_BYTES} bytes"),
            ));
        }
        files.extend(names.into_iter().map(|n| (n, data.clone())));
    }
    Ok(FtpServerSetup {
        files,
        root,
        port: s.port.unwrap_or(0),
        users,
        tls: s.tls.map(Spanned::into_inner).unwrap_or(false),
    })
}

/// A relative path of plain names (no `..`, no root).
pub(super) fn inside_root(name: &str) -> bool {
    let rel = Path::new(name);
    !name.is_empty()
        && !rel.is_absolute()
        && rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn faults(cx: &Ctx, raw: Vec<Spanned<RawFault>>) -> Result<Vec<FaultSpec>, ScenarioError> {
    let mut out: Vec<FaultSpec> = Vec::new();
    let mut regains = Vec::new();
    for (i, f) in raw.into_iter().enumerate() {
        let line = cx.line(f.span());
        let mut f = f.into_inner();
        let name = f.name.take().unwrap_or_else(|| format!("fault-{}", i + 1));
        if out.iter().any(|o| o.name == name) {
            return Err(ScenarioError::new(
                cx.path,
                line,
                "fault.name",
                format!("two faults are named {name:?}"),
            ));
        }
        check_keys(cx, &f)?;
        let trigger = trigger(cx, &f)?;
        let action = action(cx, &f, &trigger)?;
        if let Some(r) = &f.regain_after {
            regains.push((name.clone(), r.get_ref().0, line));
        }
        out.push(FaultSpec {
            name,
            trigger,
            action,
            times: times(cx, &f)?,
            probability: probability(cx, &f)?,
            optional: f.optional.unwrap_or(false),
            line,
        });
    }
    check_fault_references(cx, &out)?;
    out.extend(
        regains
            .into_iter()
            .map(|(name, after, line)| regain(name, after, line)),
    );
    Ok(out)
}

/// `times`: a count (not 0) or `"always"`; 1 when left out.
fn times(cx: &Ctx, f: &RawFault) -> Result<Times, ScenarioError> {
    let Some(t) = &f.times else {
        return Ok(Times::Count(1));
    };
    match t.get_ref() {
        RawTimes::Count(0) => Err(cx.err(
            t.span(),
            "fault.times",
            "times = 0 never fires; remove the fault or mark it optional",
        )),
        RawTimes::Count(n) => Ok(Times::Count(*n)),
        RawTimes::Word(w) if w == "always" => Ok(Times::Always),
        RawTimes::Word(w) => Err(cx.err(
            t.span(),
            "fault.times",
            format!("{w:?}: write a count or \"always\""),
        )),
    }
}

/// `probability`: in (0, 1] when given.
fn probability(cx: &Ctx, f: &RawFault) -> Result<Option<f64>, ScenarioError> {
    match &f.probability {
        None => Ok(None),
        Some(p) if (0.0..=1.0).contains(p.get_ref()) && *p.get_ref() > 0.0 => {
            Ok(Some(*p.get_ref()))
        }
        Some(p) => Err(cx.err(
            p.span(),
            "fault.probability",
            format!("{} is not a probability in (0, 1]", p.get_ref()),
        )),
    }
}

/// An `after_fault` trigger names another fault of the file.
fn check_fault_references(cx: &Ctx, faults: &[FaultSpec]) -> Result<(), ScenarioError> {
    for f in faults {
        let TriggerEvent::AfterFault { fault, .. } = &f.trigger.event else {
            continue;
        };
        let problem = if !faults.iter().any(|o| &o.name == fault) {
            format!("no fault is named {fault:?}")
        } else if fault == &f.name {
            "a fault cannot be triggered by itself".to_string()
        } else {
            continue;
        };
        return Err(ScenarioError::new(cx.path, f.line, "fault.fault", problem));
    }
    Ok(())
}

/// `regain_after`: the registration comes back that long after the fault `name` fired.
fn regain(name: String, after: Duration, line: usize) -> FaultSpec {
    FaultSpec {
        name: format!("{name}/regain"),
        trigger: Trigger {
            nth: 1,
            event: TriggerEvent::AfterFault { fault: name, after },
        },
        action: Action::Module(ModuleFault::RegistrationRegained),
        times: Times::Always,
        probability: None,
        optional: true,
        line,
    }
}

/// Every optional key of a fault that is present, with its span.
fn present_keys(f: &RawFault) -> Vec<(&'static str, Range<usize>)> {
    let mut v = Vec::new();
    macro_rules! k {
        ($($name:ident),*) => {$( if let Some(x) = &f.$name { v.push((stringify!($name), x.span())); } )*};
    }
    k!(
        nth,
        command,
        params,
        verb,
        host,
        conn,
        direction,
        after_bytes,
        after,
        fault,
        code,
        text,
        delay,
        jitter,
        bytes_per_sec,
        cid,
        regain_after,
        lines,
        result,
        target
    );
    v
}

fn check_keys(cx: &Ctx, f: &RawFault) -> Result<(), ScenarioError> {
    let (on, act) = (*f.on.get_ref(), *f.action.get_ref());
    for (key, span) in present_keys(f) {
        if !on.keys().contains(&key) && !act.keys().contains(&key) {
            let (on, act) = (file_name(on), file_name(act));
            return Err(cx.err(
                span,
                &format!("fault.{key}"),
                format!("`{key}` does not apply to on = {on:?} with action = {act:?}"),
            ));
        }
    }
    Ok(())
}

fn required<'a, T>(
    cx: &Ctx,
    f: &RawFault,
    v: &'a Option<Spanned<T>>,
    key: &str,
    why: &str,
) -> Result<&'a T, ScenarioError> {
    v.as_ref().map(Spanned::get_ref).ok_or_else(|| {
        cx.err(
            f.on.span(),
            &format!("fault.{key}"),
            format!("missing `{key}` ({why})"),
        )
    })
}

fn at_command_trigger(cx: &Ctx, f: &RawFault) -> Result<TriggerEvent, ScenarioError> {
    let name = required(
        cx,
        f,
        &f.command,
        "command",
        "which AT command, e.g. \"+QFTPOPEN\"",
    )?;
    let name = normalise_command(name);
    if name.is_empty() || name == "+" {
        return Err(cx.err(
            f.command.as_ref().map(|c| c.span()).unwrap_or(f.on.span()),
            "fault.command",
            "empty command name",
        ));
    }
    let params = f
        .params
        .as_ref()
        .map(|p| {
            regex::Regex::new(p.get_ref())
                .map_err(|e| cx.err(p.span(), "fault.params", format!("bad regex: {e}")))
        })
        .transpose()?;
    Ok(TriggerEvent::AtCommand { name, params })
}

fn trigger(cx: &Ctx, f: &RawFault) -> Result<Trigger, ScenarioError> {
    let nth = match &f.nth {
        Some(n) if *n.get_ref() == 0 => {
            return Err(cx.err(n.span(), "fault.nth", "nth counts from 1"))
        }
        Some(n) => *n.get_ref(),
        None => 1,
    };
    let event = match f.on.get_ref() {
        On::AtCommand => at_command_trigger(cx, f)?,
        On::FtpCommand => TriggerEvent::FtpCommand {
            verb: f
                .verb
                .as_ref()
                .map(|v| v.get_ref().to_ascii_uppercase())
                .filter(|v| v != "*"),
        },
        On::Resolve => TriggerEvent::Resolve {
            host: f.host.as_ref().map(|h| h.get_ref().clone()),
        },
        On::Connect => TriggerEvent::Connect {
            conn: f.conn.as_ref().map(|c| *c.get_ref()),
        },
        On::Transfer => TriggerEvent::Transfer {
            direction: f.direction.as_ref().map(|d| *d.get_ref()),
            after_bytes: f.after_bytes.as_ref().map(|b| *b.get_ref()).unwrap_or(0),
        },
        On::Time => TriggerEvent::Time {
            after: required(
                cx,
                f,
                &f.after,
                "after",
                "how long after boot, e.g. \"30s\"",
            )?
            .0,
        },
        On::AfterFault => TriggerEvent::AfterFault {
            fault: required(
                cx,
                f,
                &f.fault,
                "fault",
                "the name of the fault this one follows",
            )?
            .clone(),
            after: f.after.as_ref().map(|a| a.get_ref().0).unwrap_or_default(),
        },
    };
    if let TriggerEvent::Time { after } = event {
        if after.is_zero()
            && !matches!(
                f.times.as_ref().map(|t| t.get_ref()),
                None | Some(RawTimes::Count(1))
            )
        {
            return Err(cx.err(
                f.on.span(),
                "fault.times",
                "a time trigger at 0s cannot repeat",
            ));
        }
    }
    Ok(Trigger { nth, event })
}

fn action(cx: &Ctx, f: &RawFault, trigger: &Trigger) -> Result<Action, ScenarioError> {
    use ActionName as A;
    let act = *f.action.get_ref();
    let a = match act {
        A::DnsFailure | A::DnsTimeout => dns_action(f, act),
        A::ConnectRefused
        | A::ConnectUnreachable
        | A::ConnectTimeout
        | A::ConnectDelay
        | A::TlsFailure => connect_action(cx, f, act)?,
        A::Reply | A::ReplyInsert | A::ReplyDelay | A::ControlClose => reply_action(cx, f, act)?,
        A::DataReset | A::DataClose | A::DataStall | A::Bandwidth | A::Latency | A::SlowClose => {
            Action::Data(data_action(cx, f, act)?)
        }
        A::UfsFull => Action::UfsFull,
        A::PdpLost
        | A::RegistrationLost
        | A::RegistrationRegained
        | A::SimRemoved
        | A::ModuleReset
        | A::PowerLoss
        | A::AtAnswer => Action::Module(module_action(cx, f, act, trigger)?),
    };
    if let (Some(c), Action::Module(ModuleFault::PdpLost { cid })) = (&f.cid, &a) {
        if !(1..=16).contains(cid) {
            return Err(cx.err(c.span(), "fault.cid", "a PDP context id is 1-16"));
        }
    }
    // after_bytes on a transfer trigger is the offset of a data action, or when a module
    // action fires; it means nothing for the other points.
    if let (TriggerEvent::Transfer { after_bytes, .. }, Some(span)) =
        (&trigger.event, f.after_bytes.as_ref().map(|b| b.span()))
    {
        if *after_bytes > 0 && matches!(a, Action::Dns { .. } | Action::Connect { .. }) {
            return Err(cx.err(
                span,
                "fault.after_bytes",
                format!(
                    "action = {:?} happens at the next {}, not after bytes of a transfer",
                    file_name(act),
                    match a {
                        Action::Dns { .. } => "lookup",
                        _ => "connect",
                    }
                ),
            ));
        }
    }
    Ok(a)
}

/// `delay`, or `default` when it is not given.
fn delay_or(f: &RawFault, default: Duration) -> Duration {
    f.delay.as_ref().map(|d| d.get_ref().0).unwrap_or(default)
}

/// The resolver's actions.
fn dns_action(f: &RawFault, act: ActionName) -> Action {
    let host = f.host.as_ref().map(|h| h.get_ref().clone());
    // A timed-out lookup waits as long as the module's own resolver would.
    let (error, default) = if act == ActionName::DnsTimeout {
        (ResolveError::Timeout, crate::net::RESOLVE_TIMEOUT)
    } else {
        (ResolveError::NotFound, Duration::ZERO)
    };
    let delay = delay_or(f, default);
    Action::Dns { host, error, delay }
}

/// The connector's actions, on the connection `conn` names (default: control).
fn connect_action(cx: &Ctx, f: &RawFault, act: ActionName) -> Result<Action, ScenarioError> {
    let conn = f.conn.as_ref().map_or(Conn::Control, |c| *c.get_ref());
    let fault = match act {
        ActionName::ConnectRefused => ConnectFault::Refused,
        ActionName::ConnectUnreachable => ConnectFault::Unreachable,
        ActionName::ConnectTimeout => ConnectFault::TimedOut {
            after: delay_or(f, DEFAULT_CONNECT_TIMEOUT),
        },
        ActionName::ConnectDelay => {
            ConnectFault::Delay(required(cx, f, &f.delay, "delay", "how long the connect takes")?.0)
        }
        _ => ConnectFault::TlsFailure,
    };
    Ok(Action::Connect { conn, fault })
}

/// The reply reader's actions.
fn reply_action(cx: &Ctx, f: &RawFault, act: ActionName) -> Result<Action, ScenarioError> {
    let fault = match act {
        ActionName::Reply | ActionName::ReplyInsert => {
            let code = *required(cx, f, &f.code, "code", "the reply code, e.g. 530")?;
            if !(100..=599).contains(&code) {
                return Err(cx.err(
                    f.code.as_ref().map(|c| c.span()).unwrap_or(f.on.span()),
                    "fault.code",
                    format!("{code} is not an FTP reply code (100-599)"),
                ));
            }
            let text = f
                .text
                .as_ref()
                .map(|t| t.get_ref().clone())
                .unwrap_or_default();
            if act == ActionName::Reply {
                ReplyFault::Replace { code, text }
            } else {
                ReplyFault::Insert { code, text }
            }
        }
        ActionName::ReplyDelay => {
            ReplyFault::Delay(required(cx, f, &f.delay, "delay", "how late the reply comes")?.0)
        }
        _ => ReplyFault::Close,
    };
    Ok(Action::Reply(fault))
}

/// The data stream's actions.
fn data_action(cx: &Ctx, f: &RawFault, act: ActionName) -> Result<DataAction, ScenarioError> {
    Ok(match act {
        ActionName::DataReset => DataAction::Reset,
        ActionName::DataClose => DataAction::Close,
        ActionName::DataStall => DataAction::Stall,
        ActionName::Bandwidth => DataAction::Bandwidth {
            bytes_per_sec: *required(cx, f, &f.bytes_per_sec, "bytes_per_sec", "the rate")?,
        },
        ActionName::Latency => DataAction::Latency {
            delay: delay_or(f, Duration::ZERO),
            jitter: f.jitter.as_ref().map(|d| d.get_ref().0).unwrap_or_default(),
        },
        _ => {
            DataAction::SlowClose(required(cx, f, &f.delay, "delay", "how long the close takes")?.0)
        }
    })
}

/// The module's own faults.
fn module_action(
    cx: &Ctx,
    f: &RawFault,
    act: ActionName,
    trigger: &Trigger,
) -> Result<ModuleFault, ScenarioError> {
    Ok(match act {
        ActionName::PdpLost => ModuleFault::PdpLost {
            cid: f.cid.as_ref().map(|c| *c.get_ref()).unwrap_or(1),
        },
        ActionName::RegistrationLost => ModuleFault::RegistrationLost,
        ActionName::RegistrationRegained => ModuleFault::RegistrationRegained,
        ActionName::SimRemoved => ModuleFault::SimRemoved,
        ActionName::ModuleReset => ModuleFault::Reset,
        ActionName::PowerLoss => ModuleFault::PowerLoss,
        _ => {
            let command = match (&f.target, &trigger.event) {
                (Some(t), _) => normalise_command(t.get_ref()),
                (None, TriggerEvent::AtCommand { name, .. }) => name.clone(),
                (None, _) => {
                    return Err(cx.err(
                        f.action.span(),
                        "fault.target",
                        "missing `target` (which command's answer; defaults to the at_command trigger's)",
                    ))
                }
            };
            if let Some(r) = &f.result {
                if bg95_core::AnswerOverride::parse_result(r.get_ref()).is_none() {
                    return Err(cx.err(
                        r.span(),
                        "fault.result",
                        format!(
                            "{:?} is not a final result (OK, ERROR, CONNECT, NO CARRIER or +CME ERROR: <code from the error table>)",
                            r.get_ref()
                        ),
                    ));
                }
            }
            ModuleFault::AtAnswer(AnswerOverride {
                command,
                lines: f
                    .lines
                    .as_ref()
                    .map(|l| l.get_ref().clone())
                    .unwrap_or_default(),
                result: f
                    .result
                    .as_ref()
                    .map(|r| r.get_ref().clone())
                    .unwrap_or_else(|| "OK".into()),
                delay: delay_or(f, Duration::ZERO),
            })
        }
    })
}

/// `AT+QFTPOPEN`, `+qftpopen` and `QFTPOPEN` → `+QFTPOPEN` (the AT parser's name); basic
/// commands keep their name (`E`, `&F`, `S7`).
fn normalise_command(c: &str) -> String {
    let n = c.trim();
    let n = n
        .strip_prefix("AT")
        .or_else(|| n.strip_prefix("at"))
        .unwrap_or(n);
    let basic_s =
        n.len() > 1 && n.starts_with(['S', 's']) && n[1..].bytes().all(|b| b.is_ascii_digit());
    if n.len() > 1 && !basic_s && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        format!("+{}", n.to_ascii_uppercase())
    } else {
        n.to_ascii_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Direction;

    fn err(text: &str) -> String {
        Scenario::parse(Path::new("/tmp/s.toml"), text)
            .map(|_| ())
            .expect_err("must fail")
            .to_string()
    }

    #[test]
    fn every_section_parses() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("root")).unwrap();
        std::fs::write(dir.path().join("cfg.bin"), b"\x01\x02").unwrap();
        let text = r#"
name = "all"
seed = 9
[module]
model = "BG95-M1"
imei = "111"
signal = 99
ufs_size = 100000
boot_urcs = ["RDY", "APP RDY"]
[module.ufs]
"a.txt" = { text = "hello" }
"cfg.bin" = { path = "cfg.bin" }
"big.dat" = { size = 40 }
[network]
registration = [
  { at = "0s", state = "home" },
  { at = "30s", state = "searching", technology = "nbiot" },
]
dns_exclusive = true
[network.pdp]
1 = "10.1.2.3"
[network.dns]
"ftp.example.com" = "127.0.0.1"
"two.example" = ["127.0.0.2", "::1"]
[serial]
baud = 115200
chunk = 8
chunk_delay = "2ms"
drop_byte_at = 100
[ftp_server]
root = "root"
users = [{ user = "u", password = "p" }]
[[fault]]
on = "at_command"
command = "AT+CPIN"
params = "^\\?$"
action = "at_answer"
lines = ["+CPIN: SIM PIN"]
result = "OK"
delay = "100ms"
[[step]]
line = "AT"
[[step]]
expect = "OK"
timeout = "2s"
[[step]]
wait = "1s"
[[step]]
reopen = true
"#;
        let path = dir.path().join("all.toml");
        let s = Scenario::parse(&path, text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.name, "all");
        assert_eq!(s.seed, 9);
        assert_eq!(s.module.personality.model, "BG95-M1");
        assert_eq!(s.module.personality.csq_rssi, 99);
        assert_eq!(s.module.personality.ufs_capacity, 100000);
        assert_eq!(s.module.ufs_files.len(), 3);
        assert!(s.module.ufs_files.contains(&("cfg.bin".into(), vec![1, 2])));
        let big = &s
            .module
            .ufs_files
            .iter()
            .find(|f| f.0 == "big.dat")
            .unwrap()
            .1;
        assert_eq!(
            big.as_slice(),
            &b"000000000000000\n000000000000010\n00000000"[..]
        );
        assert_eq!(
            s.network.registration[1],
            RegistrationChange {
                at: Duration::from_secs(30),
                stat: 2,
                act: 9
            }
        );
        assert_eq!(s.network.pdp[&1].to_string(), "10.1.2.3");
        assert_eq!(s.network.dns["two.example"].len(), 2);
        assert!(s.network.dns_exclusive);
        assert_eq!(s.serial.chunk, Some(8));
        assert_eq!(s.serial.drop_byte_at, Some(100));
        let srv = s.ftp_server.as_ref().unwrap();
        assert_eq!(srv.root, dir.path().join("root"));
        assert_eq!(srv.users, vec![("u".into(), "p".into())]);
        // One declared fault plus the two registration changes.
        assert_eq!(s.faults.len(), 3);
        assert_eq!(
            s.faults[0].action,
            Action::Module(ModuleFault::AtAnswer(AnswerOverride {
                command: "+CPIN".into(),
                lines: vec!["+CPIN: SIM PIN".into()],
                result: "OK".into(),
                delay: Duration::from_millis(100),
            }))
        );
        assert_eq!(s.steps.len(), 4);
        assert_eq!(s.steps[0].kind, StepKind::Send(b"AT\r".to_vec()));
        assert_eq!(s.steps[3].line, 48, "the line of its [[step]] header");
    }

    #[test]
    fn unknown_key() {
        assert_eq!(
            err("[module]\nmodel = \"x\"\nimie = \"1\"\n"),
            "/tmp/s.toml:3: module.imie: unknown field `imie`, expected one of `manufacturer`, `model`, `revision`, `imei`, `imsi`, `iccid`, `operator`, `signal`, `qcsq`, `ufs_size`, `boot_urcs`, `max_line`, `power_off_time`, `max_active_pdp`, `qfupl_timeout_reports_size`, `info_lines_framed`, `active_contexts`, `qftpcfg`, `registration`, `ufs`"
        );
        let e = err(
            "[[fault]]\non = \"time\"\nafter = \"1s\"\naction = \"sim_removed\"\nverbb = \"x\"\n",
        );
        assert!(
            e.starts_with("/tmp/s.toml:5: fault.verbb: unknown field `verbb`"),
            "{e}"
        );
    }

    #[test]
    fn wrong_type() {
        assert_eq!(
            err("\n[serial]\nbaud = \"fast\"\n"),
            "/tmp/s.toml:3: serial.baud: invalid type: string \"fast\", expected u32"
        );
        let e = err("[[step]]\nexpect = 1\n");
        assert!(
            e.starts_with("/tmp/s.toml:2: step.expect: invalid type: integer"),
            "{e}"
        );
    }

    #[test]
    fn impossible_trigger() {
        let base = "[[fault]]\naction = \"sim_removed\"\n";
        assert_eq!(
            err(&format!(
                "{base}on = \"at_command\"\ncommand = \"+CPIN\"\nnth = 0\n"
            )),
            "/tmp/s.toml:5: fault.nth: nth counts from 1"
        );
        assert_eq!(
            err(&format!("{base}on = \"time\"\nafter = \"1s\"\nverb = \"PASS\"\n")),
            "/tmp/s.toml:5: fault.verb: `verb` does not apply to on = \"time\" with action = \"sim_removed\""
        );
        assert_eq!(
            err(&format!("{base}on = \"sometimes\"\n")),
            "/tmp/s.toml:3: fault.on: unknown variant `sometimes`, expected one of `at_command`, `ftp_command`, `resolve`, `connect`, `transfer`, `time`, `after_fault`"
        );
        assert_eq!(
            err(&format!("{base}on = \"after_fault\"\nfault = \"nobody\"\n")),
            "/tmp/s.toml:1: fault.fault: no fault is named \"nobody\""
        );
        assert_eq!(
            err(&format!("{base}on = \"time\"\n")),
            "/tmp/s.toml:3: fault.after: missing `after` (how long after boot, e.g. \"30s\")"
        );
        assert_eq!(
            err(&format!("{base}on = \"connect\"\nprobability = 1.5\n")),
            "/tmp/s.toml:4: fault.probability: 1.5 is not a probability in (0, 1]"
        );
        assert_eq!(
            err(&format!("{base}on = \"connect\"\ntimes = 0\n")),
            "/tmp/s.toml:4: fault.times: times = 0 never fires; remove the fault or mark it optional"
        );
        assert_eq!(
            err("[[fault]]\non = \"transfer\"\nafter_bytes = 10\naction = \"dns_failure\"\n"),
            "/tmp/s.toml:3: fault.after_bytes: action = \"dns_failure\" happens at the next lookup, not after bytes of a transfer"
        );
        assert_eq!(
            err("[[fault]]\non = \"at_command\"\ncommand = \"+X\"\nparams = \"(\"\naction = \"ufs_full\"\n")
                .split('\n').next().unwrap(),
            "/tmp/s.toml:4: fault.params: bad regex: regex parse error:"
        );
    }

    #[test]
    fn typed_values_name_what_they_accept() {
        assert_eq!(
            err("[[fault]]\non = \"time\"\nafter = \"1s\"\naction = \"sim_remove\"\n")
                .split(", expected")
                .next()
                .unwrap(),
            "/tmp/s.toml:4: fault.action: unknown variant `sim_remove`"
        );
        assert_eq!(
            err("[[fault]]\non = \"connect\"\nconn = \"ctrl\"\naction = \"connect_refused\"\n"),
            "/tmp/s.toml:3: fault.conn: unknown variant `ctrl`, expected `control` or `data`"
        );
        assert_eq!(
            err("[network]\nregistration = [{ at = \"0s\", state = \"homme\" }]\n"),
            "/tmp/s.toml:2: network.registration.state: unknown variant `homme`, expected one of `not_registered`, `home`, `registered`, `searching`, `denied`, `unknown`, `roaming`"
        );
        assert_eq!(
            err("[network.pdp]\n1 = \"10.1.2\"\n"),
            "/tmp/s.toml:2: network.pdp.1: invalid IPv4 address syntax"
        );
        assert_eq!(
            err("[network.dns]\n\"x\" = [\"1.2.3.4\", \"nope\"]\n"),
            "/tmp/s.toml:2: network.dns.x: \"nope\" is not an IP address"
        );
        let s = Scenario::parse(
            Path::new("/tmp/s.toml"),
            "[[fault]]\non = \"transfer\"\ndirection = \"put\"\naction = \"data_reset\"\n",
        )
        .unwrap();
        assert!(matches!(
            s.faults[0].trigger.event,
            TriggerEvent::Transfer {
                direction: Some(Direction::Upload),
                ..
            }
        ));
    }

    #[test]
    fn duration_without_unit() {
        assert_eq!(
            err("[[step]]\nwait = 2\n"),
            "/tmp/s.toml:2: step.wait: duration 2 has no unit (write it as a string, e.g. \"2ms\" or \"2s\")"
        );
        assert_eq!(
            err("[serial]\nchunk_delay = \"20\"\n"),
            "/tmp/s.toml:2: serial.chunk_delay: duration \"20\" has no unit (write e.g. \"20ms\" or \"20s\")"
        );
    }

    #[test]
    fn path_that_does_not_exist() {
        assert_eq!(
            err("[ftp_server]\nroot = \"no-such-dir\"\n"),
            "/tmp/s.toml:2: ftp_server.root: /tmp/no-such-dir is not a directory"
        );
        let e = err("[module.ufs]\n\"a\" = { path = \"no-such-file\" }\n");
        assert!(
            e.starts_with("/tmp/s.toml:2: module.ufs.a.path: /tmp/no-such-file: No such file"),
            "{e}"
        );
    }

    #[test]
    fn steps_take_one_action() {
        assert_eq!(
            err("[[step]]\nsend = \"AT\\r\"\nexpect = \"OK\"\n"),
            "/tmp/s.toml:1: step.expect: one action per step: `send` and `expect` are both given"
        );
        assert_eq!(
            err("[[step]]\nwait = \"1s\"\ntimeout = \"1s\"\n"),
            "/tmp/s.toml:1: step.timeout: `timeout` applies to expectations, not to `wait`"
        );
    }

    /// `repeat = N` with its `steps` (as `[[step.steps]]` tables or inline), one level.
    #[test]
    fn repeat_groups_parse() {
        let text = "[[step]]\nrepeat = 3\n[[step.steps]]\nline = \"AT+CSQ\"\n[[step.steps]]\nexpect = \"OK\"\ntimeout = \"2s\"\n[[step]]\nrepeat = 2\nsteps = [{ line = \"AT\" }, { expect = \"OK\" }]\n";
        let s = Scenario::parse(Path::new("/tmp/s.toml"), text).unwrap();
        assert_eq!(s.steps.len(), 2);
        let StepKind::Repeat { times, steps } = &s.steps[0].kind else {
            panic!("{:?}", s.steps[0]);
        };
        assert_eq!((*times, steps.len()), (3, 2));
        assert_eq!(steps[0].kind, StepKind::Send(b"AT+CSQ\r".to_vec()));
        assert_eq!((s.steps[0].line, steps[0].line, steps[1].line), (1, 3, 5));
        let StepKind::Expect(e) = &steps[1].kind else {
            panic!("{:?}", steps[1]);
        };
        assert_eq!(e.timeout, Duration::from_secs(2));
        let StepKind::Repeat { times, steps } = &s.steps[1].kind else {
            panic!("{:?}", s.steps[1]);
        };
        assert_eq!((*times, steps.len()), (2, 2));
    }

    #[test]
    fn repeat_errors_name_their_line_and_key() {
        let cases = [
            ("[[step]]\nrepeat = 3\n", "/tmp/s.toml:1: step.steps: `repeat` needs its `steps` (the group to run N times)"),
            ("[[step]]\nsteps = [{ line = \"AT\" }]\n", "/tmp/s.toml:1: step.repeat: `steps` needs `repeat = N` (how many times they run)"),
            ("[[step]]\nrepeat = 0\nsteps = [{ line = \"AT\" }]\n", "/tmp/s.toml:2: step.repeat: 0: give 1 to 1000000000"),
            ("[[step]]\nrepeat = 1000000001\nsteps = [{ line = \"AT\" }]\n", "/tmp/s.toml:2: step.repeat: 1000000001: give 1 to 1000000000"),
            ("[[step]]\nrepeat = 2\nsteps = []\n", "/tmp/s.toml:3: step.steps: give 1 to 10000 steps to repeat"),
            ("[[step]]\nrepeat = 2\nline = \"AT\"\nsteps = [{ line = \"AT\" }]\n", "/tmp/s.toml:1: step.line: one action per step: `repeat` and `line` are both given"),
            ("[[step]]\nrepeat = 2\ntimeout = \"1s\"\nsteps = [{ line = \"AT\" }]\n", "/tmp/s.toml:1: step.repeat: `timeout` and `not_before` go on the repeated steps, not on `repeat`"),
            ("[[step]]\nrepeat = 2\n[[step.steps]]\nrepeat = 2\nsteps = [{ line = \"AT\" }]\n", "/tmp/s.toml:3: step.steps.repeat: a repeat's steps cannot repeat again (one level only)"),
            ("[[step]]\nrepeat = 2\n[[step.steps]]\nline = \"AT\"\nexpect = \"OK\"\n", "/tmp/s.toml:3: step.expect: one action per step: `line` and `expect` are both given"),
            ("[[step]]\nrepeat = 2\n[[step.steps]]\nlien = \"AT\"\n", ""),
            ("[[step]]\nrepeat = -1\nsteps = [{ line = \"AT\" }]\n", ""),
        ];
        for (text, want) in cases {
            let e = err(text);
            if want.is_empty() {
                // serde's own message (unknown key, wrong type), with the key's line.
                assert!(e.starts_with("/tmp/s.toml:"), "{e}");
            } else {
                assert_eq!(e, want, "{text}");
            }
        }
    }

    #[test]
    fn not_toml_at_all() {
        let e = err("a = \n");
        assert!(e.starts_with("/tmp/s.toml:1: "), "{e}");
        let e = Scenario::load(Path::new("/nonexistent/x.toml")).unwrap_err();
        assert_eq!(e.line, 0);
        assert!(e
            .to_string()
            .starts_with("/nonexistent/x.toml:0: file: cannot read"));
    }
}
