//! FTP(S): the session state machine behind the AT+QFTP commands (application note
//! section 2), with COM: data mode in [`transfer`].
//!
//! Every action command answers `OK` at once (or `+CME ERROR: 610` for a bad parameter, 603
//! while another one runs), then a `+QFTP<CMD>: <err>,<value>` URC once the runtime reports
//! how the request went. Every wait is bounded by `rsptimeout` (609). Failures map to
//! `<err>,<protocol_error>` through one table ([`Failure::error`]).

mod config;
mod seam;
mod transfer;

pub use config::{FtpConfig, SslContext, SSL_CONTEXTS};
pub use seam::{
    DownloadSource, Failure, FailureKind, FtpEvent, FtpRequest, OpenParams, Reply, Security,
    TlsSettings,
};

use std::time::Duration;

use bg95_at::{FinalResult, Form, Invocation};

use crate::error::FtpError;
use crate::module::{AfterOk, Effect, Module, Outcome};
use crate::params::{opt_num, string, BadParam};
use crate::time::Instant;
use transfer::Transfer;

/// AT+QFTPSTAT's `<ftpstat>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionState {
    Opening = 0,
    Idle = 1,
    Transferring = 2,
    Closing = 3,
    #[default]
    Closed = 4,
}

/// The request the module waits for, and which URC reports it.
#[derive(Debug)]
enum Pending {
    Open,
    /// A command answered by one URC (CWD, PWD, SIZE, …); the name is its URC prefix.
    Simple(&'static str),
    Close,
    Transfer(Transfer),
}

/// The FTP area's waits, each under its own name, so one wait never stands in for another.
/// Both run out the same way (609, through [`Abandon::Timeout`]); only one runs at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// rsptimeout for the server's answer to the request in flight (section 2.1,
    /// `<timeout>` a): QFTPOPEN/CWD/…/CLOSE, a transfer until its data connection is open,
    /// an upload's final reply after the host's last byte.
    Rsp,
    /// rsptimeout for the gap between two data packets (section 2.1, `<timeout>` b): from
    /// the server during a download, from the host during a COM: upload. Stopped while a
    /// COM: download is paused by `+++`.
    DataGap,
}

impl Timer {
    const ALL: [Timer; 2] = [Timer::Rsp, Timer::DataGap];
}

/// The deadlines of the FTP area's [`Timer`]s (quinn-proto's `TimerTable`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerTable {
    at: [Option<Instant>; Timer::ALL.len()],
}

impl TimerTable {
    fn set(&mut self, timer: Timer, at: Instant) {
        self.at[timer as usize] = Some(at);
    }

    fn stop(&mut self, timer: Timer) {
        self.at[timer as usize] = None;
    }

    fn stop_all(&mut self) {
        *self = TimerTable::default();
    }

    /// The earliest deadline of any timer.
    fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }

    /// The first timer that has run out at `now`.
    fn expired(&self, now: Instant) -> Option<Timer> {
        Timer::ALL
            .into_iter()
            .find(|&t| self.at[t as usize].is_some_and(|d| now >= d))
    }
}

/// Why the module abandons the FTP session (and the request in flight, if any). Every path
/// that gives up on a request goes through [`Module::ftp_abandon`], so the runtime is told
/// to drop the connections and every event it sends before its `Aborted` marker is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abandon {
    /// A [`Timer`] ran out: the request fails with 609.
    Timeout,
    /// The PDP context under the session went away (AT+QIDEACT, AT+CFUN=0/4): a running
    /// request fails with 605; an idle session reports 605 on the next FTP command.
    ContextLost,
    /// A download into UFS outgrew the free space: the transfer fails with 619 (insufficient
    /// storage).
    NoRoom,
    /// AT+QFTPCLOSE ended a transfer the host had left (a paused COM: download, a UFS
    /// transfer, an upload awaiting the server): its URC is not sent; the caller answers
    /// `+QFTPCLOSE: 0,0`.
    Close,
    /// The module resets or loses power (AT+CFUN=1,1, AT+QPOWD, a [`PowerEvent`]): nothing
    /// is reported; the boot URCs follow.
    ///
    /// [`PowerEvent`]: crate::PowerEvent
    Power,
}

/// The FTP state a module keeps.
#[derive(Debug, Default)]
pub struct Ftp {
    pub cfg: FtpConfig,
    pub ssl: [SslContext; SSL_CONTEXTS],
    state: SessionState,
    pending: Option<Pending>,
    /// rsptimeout, for the server's answer or for the next data packet.
    timers: TimerTable,
    /// AT+QFTPLEN: the length of the last transfer.
    last_len: u64,
    /// The context the open session runs on.
    cid: u8,
    /// Why an open session was lost while idle, reported by the next FTP command.
    lost: Option<FtpError>,
    /// Aborts sent whose `Aborted` marker has not come back: events before it are stale.
    aborts_in_flight: u32,
    /// A COM: upload whose data connection stays open after `beof=0`: (name, next offset).
    kept_upload: Option<(String, u64)>,
}

impl Ftp {
    /// A reset loses the session (its sockets are aborted by the module) but not the
    /// settings' defaults... which a reset restores too; only in-flight aborts are kept.
    pub fn reset(&mut self) {
        let aborts = self.aborts_in_flight;
        *self = Ftp::default();
        self.aborts_in_flight = aborts;
    }

    /// True while the runtime may hold sockets for this session.
    pub fn has_connection(&self) -> bool {
        self.state != SessionState::Closed || self.pending.is_some()
    }

    /// The earliest deadline of the FTP area's timers.
    pub fn deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Start `timer` for one rsptimeout from `now`; the other timer stops (one wait at a
    /// time).
    fn start_timer(&mut self, timer: Timer, now: Instant) {
        self.timers.stop_all();
        self.timers.set(timer, now + self.rsptimeout());
    }

    /// True if `ev` belongs to a request the module abandoned: it comes before the
    /// runtime's `Aborted` marker, which is counted off here.
    pub(crate) fn stale(&mut self, ev: &FtpEvent) -> bool {
        if self.aborts_in_flight == 0 {
            return false;
        }
        if *ev == FtpEvent::Aborted {
            self.aborts_in_flight -= 1;
        }
        true
    }

    pub fn state(&self) -> SessionState {
        self.state
    }

    /// False only while a COM: download is paused by `+++` (its bytes wait in the server).
    pub fn wants_data(&self) -> bool {
        !matches!(&self.pending, Some(Pending::Transfer(t)) if t.paused())
    }

    fn rsptimeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.cfg.rsptimeout))
    }
}

fn bad() -> Outcome {
    FtpError::InvalidParameter.into()
}

impl From<BadParam> for FtpError {
    fn from(_: BadParam) -> Self {
        FtpError::InvalidParameter
    }
}

/// The test-form lines of the FTP action commands, verbatim from section 2.
fn test_line(name: &str) -> Option<&'static str> {
    Some(match name {
        "+QFTPOPEN" => "+QFTPOPEN: <hostname>,<port>",
        "+QFTPCWD" => "+QFTPCWD: <path_name>",
        "+QFTPPUT" => "+QFTPPUT: <file_name>,<local_name>,<startpos>,<uploadlen>,<beof>",
        "+QFTPGET" => "+QFTPGET: <file_name>,<local_name>,<startpos>,<downloadlen>",
        "+QFTPSIZE" => "+QFTPSIZE: <file_name>",
        "+QFTPDEL" => "+QFTPDEL: <file_name>",
        "+QFTPMKDIR" => "+QFTPMKDIR: <folder_name>",
        "+QFTPRMDIR" => "+QFTPRMDIR: <folder_name>",
        "+QFTPLIST" => "+QFTPLIST: <dirname>, <local_name>",
        "+QFTPNLST" => "+QFTPNLST: <dirname>,<local_name>",
        "+QFTPMLSD" => "+QFTPMLSD: <dirname>,<local_name>",
        "+QFTPMDTM" => "+QFTPMDTM: <file_name>",
        "+QFTPRENAME" => "+QFTPRENAME: <old_name>,<new_name>",
        _ => return None,
    })
}

/// The longest remote name or path (section 2).
const MAX_REMOTE: usize = 255;

impl Module {
    pub(crate) fn dispatch_ftp(&mut self, now: Instant, inv: &Invocation) -> Option<Outcome> {
        let name = inv.name.as_str();
        if name == "+QFTPCFG" || name == "+QSSLCFG" {
            let mut info = Vec::new();
            let o = if name == "+QFTPCFG" {
                self.ftp.cfg.command(inv, &mut info)
            } else {
                config::qsslcfg(&mut self.ftp.ssl, inv, &mut info)
            };
            self.info(&info);
            return Some(o);
        }
        if !name.starts_with("+QFTP") {
            return None;
        }
        let exec_only = matches!(name, "+QFTPPWD" | "+QFTPLEN" | "+QFTPSTAT" | "+QFTPCLOSE");
        if exec_only || test_line(name).is_some() {
            match (&inv.form, exec_only) {
                (Form::Test, _) => {
                    if let Some(line) = test_line(name) {
                        self.info(&[line]);
                    }
                    return Some(Outcome::Ok);
                }
                (Form::Read, _) | (Form::Write(_), true) | (Form::Exec, false) => {
                    return Some(Outcome::Fail(FinalResult::Error));
                }
                _ => {}
            }
        } else {
            return None;
        }
        let args = inv.args();
        Some(match name {
            "+QFTPSTAT" => self.after(AfterOk::Urc(format!(
                "+QFTPSTAT: 0,{}",
                self.ftp.state as u8
            ))),
            "+QFTPLEN" => self.after(AfterOk::Urc(format!("+QFTPLEN: 0,{}", self.ftp.last_len))),
            "+QFTPOPEN" => self.ftp_open(now, args),
            "+QFTPCLOSE" => self.ftp_close(now),
            "+QFTPPWD" => self.ftp_simple(now, "+QFTPPWD", FtpRequest::Pwd),
            "+QFTPCWD" | "+QFTPSIZE" | "+QFTPDEL" | "+QFTPMKDIR" | "+QFTPRMDIR" | "+QFTPMDTM" => {
                let Ok(arg) = string(args, 0, MAX_REMOTE) else {
                    return Some(bad());
                };
                if args.len() != 1 || arg.is_empty() {
                    return Some(bad());
                }
                let arg = arg.to_string();
                let (urc, req) = match name {
                    "+QFTPCWD" => ("+QFTPCWD", FtpRequest::Cwd(arg)),
                    "+QFTPSIZE" => ("+QFTPSIZE", FtpRequest::Size(arg)),
                    "+QFTPDEL" => ("+QFTPDEL", FtpRequest::Delete(arg)),
                    "+QFTPMKDIR" => ("+QFTPMKDIR", FtpRequest::Mkdir(arg)),
                    "+QFTPRMDIR" => ("+QFTPRMDIR", FtpRequest::Rmdir(arg)),
                    _ => ("+QFTPMDTM", FtpRequest::Mdtm(arg)),
                };
                self.ftp_simple(now, urc, req)
            }
            "+QFTPRENAME" => match (string(args, 0, MAX_REMOTE), string(args, 1, MAX_REMOTE)) {
                (Ok(from), Ok(to)) if args.len() == 2 && !from.is_empty() && !to.is_empty() => {
                    let req = FtpRequest::Rename {
                        from: from.to_string(),
                        to: to.to_string(),
                    };
                    self.ftp_simple(now, "+QFTPRENAME", req)
                }
                _ => bad(),
            },
            "+QFTPGET" | "+QFTPLIST" | "+QFTPNLST" | "+QFTPMLSD" => {
                self.ftp_download(now, name, args)
            }
            "+QFTPPUT" => self.ftp_upload(now, args),
            _ => Outcome::Fail(FinalResult::Error),
        })
    }

    /// Ask the runtime for a request and wait for it, bounded by rsptimeout.
    fn ftp_request(&mut self, now: Instant, pending: Pending, req: FtpRequest) {
        tracing::debug!(target: "bg95::core", "ftp request {}", req.kind());
        self.ftp.pending = Some(pending);
        self.ftp.start_timer(Timer::Rsp, now);
        self.effect(Effect::ftp(req));
    }

    /// The one abort path: the session ends here, whatever it was doing. The runtime is told
    /// to drop every connection (if it may hold any), the events it sends until its
    /// `Aborted` marker are ignored ([`Ftp::stale`]), and the request in flight is answered
    /// as `why` says.
    pub(crate) fn ftp_abandon(&mut self, now: Instant, why: Abandon) {
        let pending = self.ftp.pending.take();
        if self.ftp.state != SessionState::Closed || pending.is_some() {
            tracing::debug!(target: "bg95::core", "ftp abandoned ({why:?})");
            self.ftp.aborts_in_flight += 1;
            self.effect(Effect::ftp(FtpRequest::Abort));
        }
        self.ftp.timers.stop_all();
        self.ftp.state = SessionState::Closed;
        self.ftp.kept_upload = None;
        let (err, close_err) = match why {
            Abandon::Timeout => (FtpError::Timeout, FtpError::Timeout.code()),
            Abandon::ContextLost => (FtpError::Network, 0),
            Abandon::NoRoom => (FtpError::InsufficientStorage, 0),
            Abandon::Close | Abandon::Power => return,
        };
        match pending {
            None if why == Abandon::ContextLost => self.ftp.lost = Some(err),
            None => {}
            Some(Pending::Transfer(t)) => self.transfer_failed(now, t, err, 0),
            Some(Pending::Open) => self.side_urc(format!("+QFTPOPEN: {},0", err.code())),
            Some(Pending::Close) => self.side_urc(format!("+QFTPCLOSE: {close_err},0")),
            Some(Pending::Simple(urc)) => self.side_urc(format!("{urc}: {},0", err.code())),
        }
    }

    /// Why an action command cannot run now, if it cannot: 603 while another FTP command
    /// runs; without a session, the loss that ended it (606/605) or 625 (not logged in).
    fn ftp_unavailable(&mut self) -> Option<FtpError> {
        if self.ftp.pending.is_some()
            || self.ftp.state != SessionState::Idle && self.ftp.state != SessionState::Closed
        {
            return Some(FtpError::Busy);
        }
        if self.ftp.state == SessionState::Closed {
            return Some(self.ftp.lost.take().unwrap_or(FtpError::NotLoggedIn));
        }
        None
    }

    fn ftp_simple(&mut self, now: Instant, urc: &'static str, req: FtpRequest) -> Outcome {
        match self.ftp_unavailable() {
            Some(FtpError::Busy) => FtpError::Busy.into(),
            Some(e) => self.after(AfterOk::Urc(format!("{urc}: {},0", e.code()))),
            None => {
                self.ftp_request(now, Pending::Simple(urc), req);
                Outcome::Ok
            }
        }
    }

    fn ftp_open(&mut self, now: Instant, args: &[bg95_at::Arg]) -> Outcome {
        let (Ok(host), Ok(port)) = (string(args, 0, 200), opt_num(args, 1, 1..=65535)) else {
            return bad();
        };
        if host.is_empty() || args.len() > 2 {
            return bad();
        }
        if self.ftp.pending.is_some() || self.ftp.state != SessionState::Closed {
            return FtpError::Busy.into();
        }
        let host = host.to_string();
        let cid = self.ftp.cfg.contextid;
        self.ftp.lost = None;
        if !self.pdp.is_active(cid) {
            // No PDP context: nothing can be resolved or routed. Section 4.3 names an
            // inactive context as a cause of 604 for host names; an IP literal needs no DNS
            // and fails as a network error.
            let err = if host.parse::<core::net::IpAddr>().is_ok() {
                FtpError::Network
            } else {
                FtpError::DnsFailed
            };
            return self.after(AfterOk::Urc(format!("+QFTPOPEN: {},0", err.code())));
        }
        let params = OpenParams {
            host,
            port: port.unwrap_or(21) as u16,
            user: self.ftp.cfg.user.clone(),
            password: self.ftp.cfg.password.clone(),
            binary: self.ftp.cfg.filetype == 0,
            passive: self.ftp.cfg.transmode == 1,
            data_to_control_address: self.ftp.cfg.data_address == 1,
            security: self.ftp_security(),
        };
        self.ftp.cid = cid;
        self.ftp.state = SessionState::Opening;
        self.ftp_request(now, Pending::Open, FtpRequest::Open(params));
        Outcome::Ok
    }

    fn tls_settings(&self, ctx: u8) -> TlsSettings {
        let c = &self.ftp.ssl[usize::from(ctx) % SSL_CONTEXTS];
        let file = |name: &str| {
            (!name.is_empty())
                .then(|| self.ufs_read_for_ftp(name).ok())
                .flatten()
        };
        TlsSettings {
            seclevel: c.seclevel,
            sslversion: c.sslversion,
            ca_pem: file(&c.cacert),
            client_cert_pem: file(&c.clientcert),
            client_key_pem: file(&c.clientkey),
            sni: c.sni == 1,
            check_time: c.ignorelocaltime == 0,
            negotiate_secs: u32::from(c.negotiatetime),
        }
    }

    fn ftp_security(&self) -> Security {
        let (control, data) = (
            self.tls_settings(self.ftp.cfg.sslctxid),
            self.tls_settings(self.ftp.cfg.data_sslctxid),
        );
        match self.ftp.cfg.ssltype {
            1 => Security::Implicit { control, data },
            2 => Security::Explicit { control, data },
            _ => Security::Plain,
        }
    }

    fn ftp_close(&mut self, now: Instant) -> Outcome {
        match (&self.ftp.pending, self.ftp.state) {
            (None, SessionState::Idle) => {}
            (None, SessionState::Closed) => {
                let err = self.ftp.lost.take().map_or(0, FtpError::code);
                return self.after(AfterOk::Urc(format!("+QFTPCLOSE: {err},0")));
            }
            // A transfer the host has left (a paused COM: download, a UFS transfer) ends
            // with the session; its own URC is not sent.
            (Some(Pending::Transfer(t)), _) if t.closable() => {
                self.ftp_abandon(now, Abandon::Close);
                return self.after(AfterOk::Urc("+QFTPCLOSE: 0,0".into()));
            }
            _ => return FtpError::Busy.into(),
        }
        self.ftp.state = SessionState::Closing;
        self.ftp.kept_upload = None;
        self.ftp_request(now, Pending::Close, FtpRequest::Close);
        Outcome::Ok
    }

    /// An event from the runtime.
    pub(crate) fn ftp_event(&mut self, now: Instant, ev: FtpEvent) {
        if self.ftp.stale(&ev) {
            return;
        }
        match ev {
            FtpEvent::Aborted => {}
            FtpEvent::ControlClosed => {
                if self.ftp.pending.is_none() && self.ftp.state == SessionState::Idle {
                    self.ftp.state = SessionState::Closed;
                    self.ftp.lost = Some(FtpError::ControlClosed);
                    self.ftp.kept_upload = None;
                }
            }
            FtpEvent::DataReady | FtpEvent::Data(_) => self.transfer_event(now, ev),
            FtpEvent::Done(result) => match self.ftp.pending.take() {
                None => {}
                Some(Pending::Transfer(t)) => self.transfer_done(now, t, result),
                Some(p) => {
                    self.ftp.timers.stop_all();
                    self.simple_done(p, result);
                }
            },
        }
    }

    fn simple_done(&mut self, p: Pending, result: Result<Reply, Failure>) {
        let (urc, closed) = match &p {
            Pending::Open => ("+QFTPOPEN", true),
            Pending::Close => ("+QFTPCLOSE", true),
            Pending::Simple(urc) => (*urc, false),
            Pending::Transfer(_) => return,
        };
        let line = match result {
            Ok(reply) => {
                self.ftp.state = match p {
                    Pending::Close => SessionState::Closed,
                    _ => SessionState::Idle,
                };
                match reply {
                    Reply::Path(path) => format!("{urc}: 0,\"{path}\""),
                    Reply::Time(t) => format!("{urc}: 0,\"{t}\""),
                    Reply::Size(n) => format!("{urc}: 0,{n}"),
                    Reply::Ok => format!("{urc}: 0,0"),
                }
            }
            Err(f) => {
                if closed || f.kind == FailureKind::ControlClosed {
                    self.ftp.state = SessionState::Closed;
                } else {
                    self.ftp.state = SessionState::Idle;
                }
                format!("{urc}: {},{}", f.error().code(), f.reply)
            }
        };
        self.urc(&line);
    }

    /// A timer ran out: the request fails with 609 and its connections are dropped.
    pub(crate) fn ftp_timeout(&mut self, now: Instant) {
        if let Some(timer) = self.ftp.timers.expired(now) {
            tracing::debug!(target: "bg95::core", "ftp timer {timer:?} ran out");
            self.ftp_abandon(now, Abandon::Timeout);
        }
    }

    /// The PDP context under the session went away: its sockets are gone. A running
    /// request fails now with 605; an idle session reports 605 on the next FTP command.
    pub(crate) fn ftp_context_lost(&mut self, now: Instant, cid: u8) {
        if self.ftp.cid == cid && self.ftp.has_connection() {
            self.ftp_abandon(now, Abandon::ContextLost);
        }
    }
}

/// Parameters shared by the transfer commands.
pub(crate) fn transfer_num(args: &[bg95_at::Arg], i: usize) -> Result<Option<u64>, FtpError> {
    Ok(opt_num(args, i, 0..=u64::from(u32::MAX))?)
}
