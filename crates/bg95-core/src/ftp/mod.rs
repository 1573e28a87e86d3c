//! FTP(S): the session state machine behind the AT+QFTP commands (application note
//! section 2), with COM: data mode in [`transfer`].
//!
//! Every action command answers `OK` at once (or `+CME ERROR: 610` for a bad parameter, 603
//! while another one runs), then a `+QFTP<CMD>: <err>,<value>` URC once the runtime reports
//! how the request went. Every wait is bounded by `rsptimeout` (609). Failures map to
//! `<err>,<protocol_error>` through one table ([`Failure::error`]).

mod command;
mod config;
mod seam;
mod transfer;

pub use config::{FtpConfig, SslContext, CIPHERSUITES, SSL_CONTEXTS};
pub use seam::{
    DownloadSource, Failure, FailureKind, FtpEvent, FtpRequest, OpenParams, Reply, Security,
    TlsSettings,
};

use std::time::Duration;

use bg95_at::Invocation;

use crate::area::{AfterOk, Ctx, Outcome};
use crate::error::FtpError;
use crate::module::Effect;
use crate::pdp::Pdp;
use crate::time::Instant;
use crate::ufs::Ufs;
use command::{FtpCommand, FtpKind, FtpRow};
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

impl SessionState {
    /// The state as a word (`opening`, `idle`, `transferring`, `closing`, `closed`).
    pub fn word(self) -> &'static str {
        match self {
            SessionState::Opening => "opening",
            SessionState::Idle => "idle",
            SessionState::Transferring => "transferring",
            SessionState::Closing => "closing",
            SessionState::Closed => "closed",
        }
    }
}

/// A COM: upload whose data connection stays open after `beof=0`: a QFTPPUT that goes on
/// where it stopped (same name, next offset) writes into it without a new STOR.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeptUpload {
    name: String,
    next_offset: u64,
}

/// The FTP session: one state, each variant with its own data, so that an impossible
/// combination (a request in flight on a closed session, a kept upload while closing, two
/// requests at once) cannot be written. AT+QFTPSTAT reads it ([`Session::stat`]).
#[derive(Debug)]
enum Session {
    /// No session. `lost`: why the last one ended while idle (605 context lost, 606 server
    /// drop), reported once by the next FTP command.
    Closed { lost: Option<FtpError> },
    /// AT+QFTPOPEN in flight on context `cid`.
    Opening { cid: u8 },
    /// Logged in, nothing running. The runtime finishes a kept upload silently before any
    /// other request, so any request from here drops `kept_upload`.
    Idle {
        cid: u8,
        kept_upload: Option<KeptUpload>,
    },
    /// One request in flight (CWD, PWD, SIZE, …), answered by the URC named `urc`.
    Request { cid: u8, urc: &'static str },
    /// A transfer (QFTPGET/LIST/NLST/MLSD/PUT).
    Transfer { cid: u8, transfer: Transfer },
    /// AT+QFTPCLOSE in flight.
    Closing { cid: u8 },
}

impl Default for Session {
    fn default() -> Self {
        Session::Closed { lost: None }
    }
}

impl Session {
    /// AT+QFTPSTAT's `<ftpstat>`. A simple request leaves the session idle (1).
    fn stat(&self) -> SessionState {
        match self {
            Session::Closed { .. } => SessionState::Closed,
            Session::Opening { .. } => SessionState::Opening,
            Session::Idle { .. } | Session::Request { .. } => SessionState::Idle,
            Session::Transfer { .. } => SessionState::Transferring,
            Session::Closing { .. } => SessionState::Closing,
        }
    }

    /// The context the session runs on, unless it is closed.
    fn cid(&self) -> Option<u8> {
        match self {
            Session::Closed { .. } => None,
            Session::Opening { cid }
            | Session::Idle { cid, .. }
            | Session::Request { cid, .. }
            | Session::Transfer { cid, .. }
            | Session::Closing { cid } => Some(*cid),
        }
    }

    /// An idle session on `cid` with nothing kept.
    fn idle(cid: u8) -> Session {
        Session::Idle {
            cid,
            kept_upload: None,
        }
    }
}

/// The FTP area's waits, each under its own name, so one wait never stands in for another.
/// `Rsp` and `DataGap` run out the same way (609, through [`Abandon::Timeout`]) and only one
/// of them runs at a time; `Guard` ends data mode.
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
    /// The `+++` guard (S12) of a COM: transfer in data mode: a guarded `+++` pauses a
    /// download or ends an upload. Its deadline moves with every host byte, so the transfer's
    /// escape detector keeps it ([`Ftp::guard`]); the [`TimerTable`] does not.
    Guard,
}

impl Timer {
    /// The timers the [`TimerTable`] keeps.
    const STORED: [Timer; 2] = [Timer::Rsp, Timer::DataGap];
}

/// The deadlines of the FTP area's stored [`Timer`]s (quinn-proto's `TimerTable`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerTable {
    at: [Option<Instant>; Timer::STORED.len()],
}

impl TimerTable {
    /// `Timer::Guard` is not stored: setting it does nothing.
    fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(slot) = self.at.get_mut(timer as usize) {
            *slot = Some(at);
        }
    }

    fn stop(&mut self, timer: Timer) {
        if let Some(slot) = self.at.get_mut(timer as usize) {
            *slot = None;
        }
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
        Timer::STORED
            .into_iter()
            .find(|&t| self.at[t as usize].is_some_and(|d| now >= d))
    }
}

/// Why the module abandons the FTP session (and the request in flight, if any). Every path
/// that gives up on a request goes through [`Ftp::ftp_abandon`], so the runtime is told
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
    /// The runtime lost its FTP driver with every connection and queued request
    /// ([`FtpEvent::DriverLost`]): a running request fails with 601 (unknown error); an
    /// idle session reports 606 (control connection closed) on the next FTP command.
    DriverLost,
}

/// The FTP state a module keeps.
#[derive(Debug, Default)]
pub struct Ftp {
    pub cfg: FtpConfig,
    pub ssl: [SslContext; SSL_CONTEXTS],
    session: Session,
    /// rsptimeout, for the server's answer or for the next data packet.
    timers: TimerTable,
    /// AT+QFTPLEN: the length of the last transfer.
    last_len: u64,
    /// Aborts sent whose `Aborted` marker has not come back: events before it are stale.
    aborts_in_flight: u32,
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
        !matches!(self.session, Session::Closed { .. })
    }

    /// The earliest deadline of the FTP area's timers.
    pub fn deadline(&self) -> Option<Instant> {
        [self.timers.next(), self.guard()]
            .into_iter()
            .flatten()
            .min()
    }

    /// [`Timer::Guard`]: when a guarded `+++` ends data mode, while a COM: transfer is in it.
    fn guard(&self) -> Option<Instant> {
        match &self.session {
            Session::Transfer { transfer, .. } => transfer.escape()?.deadline(),
            _ => None,
        }
    }

    /// Start `timer` (`Rsp` or `DataGap`) for one rsptimeout from `now`; the other one
    /// stops (one wait at a time).
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
        self.session.stat()
    }

    /// False only while a COM: download is paused by `+++` (its bytes wait in the server).
    pub fn wants_data(&self) -> bool {
        !matches!(&self.session, Session::Transfer { transfer, .. } if transfer.paused())
    }

    fn rsptimeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.cfg.rsptimeout))
    }
}

/// What the FTP area reads and writes in the other areas, passed by the module: the UFS
/// files (TLS credentials, the source or target of a UFS transfer), which PDP contexts are
/// up, the module clock, and the upload chunk size.
pub(crate) struct FtpEnv<'a> {
    pub ufs: &'a mut Ufs,
    pub pdp: &'a Pdp,
    /// The module clock's UTC (Unix seconds), for checking certificate times.
    pub utc_unix: i64,
    /// [`crate::Limits::upload_chunk`].
    pub upload_chunk: usize,
}

/// The names of the FTP area's commands (its table), for the checks across areas.
#[cfg(test)]
pub(crate) fn command_names() -> impl Iterator<Item = &'static str> {
    command::ROWS.iter().map(|r| r.name)
}

/// The URC prefix of `kind`'s answer, from its table row.
fn urc_of(kind: FtpKind) -> &'static str {
    command::row_of(kind).urc()
}

impl Ftp {
    /// Dispatch an FTP command; `None` if the name is not one of them.
    pub(crate) fn dispatch(
        &mut self,
        cx: &mut Ctx,
        env: &mut FtpEnv,
        inv: &Invocation,
    ) -> Option<Outcome> {
        let row = command::find(inv.name.as_str())?;
        Some(
            match command::parse(row, &inv.form, crate::ufs::valid_name) {
                Ok(cmd) => self.run_ftp(cx, env, row, cmd),
                Err(r) => Outcome::Fail(command::answer_refusal(row, r)),
            },
        )
    }

    fn run_ftp(
        &mut self,
        cx: &mut Ctx,
        env: &mut FtpEnv,
        row: &'static FtpRow,
        cmd: FtpCommand,
    ) -> Outcome {
        let name = row.name;
        match cmd {
            FtpCommand::Test => {
                let lines: Vec<&str> = match row.kind {
                    FtpKind::Cfg => config::CFG_ITEMS.iter().map(|r| r.test).collect(),
                    FtpKind::SslCfg => config::SSL_ITEMS.iter().map(|r| r.test).collect(),
                    _ => row.test.to_vec(),
                };
                cx.info(&lines);
                Outcome::Ok
            }
            FtpCommand::Cfg(c) => {
                let mut info = Vec::new();
                self.cfg.run(name, c, &mut info);
                cx.info(&info);
                Outcome::Ok
            }
            FtpCommand::SslCfg(c) => {
                let mut info = Vec::new();
                config::run_qsslcfg(&mut self.ssl, name, c, &mut info);
                cx.info(&info);
                Outcome::Ok
            }
            FtpCommand::Stat => cx.after(AfterOk::Urc(format!("{name}: 0,{}", self.state() as u8))),
            FtpCommand::Len => cx.after(AfterOk::Urc(format!("{name}: 0,{}", self.last_len))),
            FtpCommand::Open { host, port } => self.ftp_open(cx, env, row, host, port),
            FtpCommand::Close => self.ftp_close(cx, row),
            FtpCommand::Simple(req) => self.ftp_simple(cx, row.urc(), req),
            FtpCommand::Download {
                source,
                local,
                startpos,
                limit,
            } => self.ftp_download(cx, env, row, source, local, startpos, limit),
            FtpCommand::Upload {
                remote,
                local,
                startpos,
                uploadlen,
                beof,
            } => self.ftp_upload(cx, env, row, remote, local, startpos, (uploadlen, beof)),
        }
    }

    /// Ask the runtime for a request and wait for it, bounded by rsptimeout.
    fn ftp_request(&mut self, cx: &mut Ctx, next: Session, req: FtpRequest) {
        tracing::debug!(target: "bg95::core", "ftp request {}", req.kind());
        self.session = next;
        self.start_timer(Timer::Rsp, cx.now);
        cx.effect(Effect::ftp(req));
    }

    /// The one abort path: the session ends here, whatever it was doing. The runtime is told
    /// to drop every connection (if it may hold any), the events it sends until its
    /// `Aborted` marker are ignored ([`Ftp::stale`]), and the request in flight is answered
    /// as `why` says.
    pub(crate) fn ftp_abandon(&mut self, cx: &mut Ctx, why: Abandon) {
        self.timers.stop_all();
        let was = std::mem::take(&mut self.session);
        if matches!(was, Session::Closed { .. }) {
            // No session: nothing to drop, and a loss not yet reported stays.
            self.session = was;
            return;
        }
        tracing::debug!(target: "bg95::core", "ftp abandoned ({why:?})");
        self.aborts_in_flight += 1;
        cx.effect(Effect::ftp(FtpRequest::Abort));
        // The request's `<err>`, QFTPCLOSE's, and what an idle session reports next.
        let (err, close_err, idle_lost) = match why {
            Abandon::Timeout => (FtpError::Timeout, FtpError::Timeout.code(), None),
            Abandon::ContextLost => (FtpError::Network, 0, Some(FtpError::Network)),
            Abandon::NoRoom => (FtpError::InsufficientStorage, 0, None),
            Abandon::DriverLost => (
                FtpError::Unknown,
                FtpError::Unknown.code(),
                Some(FtpError::ControlClosed),
            ),
            Abandon::Close | Abandon::Power => return,
        };
        match was {
            Session::Closed { .. } => {}
            Session::Idle { .. } => self.session = Session::Closed { lost: idle_lost },
            Session::Transfer { transfer, .. } => self.transfer_failed(cx, transfer, err, 0),
            Session::Opening { .. } => {
                cx.side_urc(format!("{}: {},0", urc_of(FtpKind::Open), err.code()))
            }
            Session::Closing { .. } => {
                cx.side_urc(format!("{}: {close_err},0", urc_of(FtpKind::Close)))
            }
            Session::Request { urc, .. } => cx.side_urc(format!("{urc}: {},0", err.code())),
        }
    }

    /// The idle session's context, or why an action command cannot run now: 603 while
    /// another FTP command runs; without a session, the loss that ended it (606/605) or 625
    /// (not logged in).
    fn ftp_available(&mut self) -> Result<u8, FtpError> {
        match &mut self.session {
            Session::Idle { cid, .. } => Ok(*cid),
            Session::Closed { lost } => Err(lost.take().unwrap_or(FtpError::NotLoggedIn)),
            _ => Err(FtpError::Busy),
        }
    }

    fn ftp_simple(&mut self, cx: &mut Ctx, urc: &'static str, req: FtpRequest) -> Outcome {
        match self.ftp_available() {
            Err(FtpError::Busy) => FtpError::Busy.into(),
            Err(e) => cx.after(AfterOk::Urc(format!("{urc}: {},0", e.code()))),
            Ok(_) if command::smuggles_line(&req) => cx.after(AfterOk::Urc(format!(
                "{urc}: {},0",
                FtpError::Unknown.code()
            ))),
            Ok(cid) => {
                self.ftp_request(cx, Session::Request { cid, urc }, req);
                Outcome::Ok
            }
        }
    }

    fn ftp_open(
        &mut self,
        cx: &mut Ctx,
        env: &FtpEnv,
        row: &FtpRow,
        host: String,
        port: u16,
    ) -> Outcome {
        if self.has_connection() {
            return FtpError::Busy.into();
        }
        let cid = self.cfg.contextid;
        self.session = Session::Closed { lost: None };
        if !env.pdp.is_up(cid) {
            // No PDP context: nothing can be resolved or routed. Section 4.3 names an
            // inactive context as a cause of 604 for host names; an IP literal needs no DNS
            // and fails as a network error.
            let err = if host.parse::<core::net::IpAddr>().is_ok() {
                FtpError::Network
            } else {
                FtpError::DnsFailed
            };
            return cx.after(AfterOk::Urc(format!("{}: {},0", row.urc(), err.code())));
        }
        let params = OpenParams {
            host,
            port,
            user: self.cfg.user.clone(),
            password: self.cfg.password.clone(),
            binary: self.cfg.filetype == 0,
            passive: self.cfg.transmode == 1,
            data_to_control_address: self.cfg.data_address == 1,
            security: self.ftp_security(env),
        };
        if params.security.missing_credentials() {
            // A TLS session that cannot authenticate (seclevel 1 without a CA file, 2
            // without a client certificate and key) fails as SSL authentication (631)
            // before anything is sent.
            let e = FtpError::SslFailed.code();
            return cx.after(AfterOk::Urc(format!("{}: {e},0", row.urc())));
        }
        self.ftp_request(cx, Session::Opening { cid }, FtpRequest::Open(params));
        Outcome::Ok
    }

    fn tls_settings(&self, env: &FtpEnv, sslctxid: u8) -> TlsSettings {
        let c = &self.ssl[usize::from(sslctxid) % SSL_CONTEXTS];
        let file = |name: &str| {
            (!name.is_empty())
                .then(|| env.ufs.read_for_ftp(name).ok())
                .flatten()
        };
        TlsSettings {
            seclevel: c.seclevel,
            sslversion: c.sslversion,
            ca_pem: file(&c.cacert),
            client_cert_pem: file(&c.clientcert),
            client_key_pem: file(&c.clientkey),
            ciphersuite: c.ciphersuite,
            sni: c.sni == 1,
            check_host: c.checkhost == 1,
            check_time: c.ignorelocaltime == 0,
            negotiate_secs: u32::from(c.negotiatetime),
            module_time_unix: env.utc_unix,
        }
    }

    fn ftp_security(&self, env: &FtpEnv) -> Security {
        let (control, data) = (
            self.tls_settings(env, self.cfg.sslctxid),
            self.tls_settings(env, self.cfg.data_sslctxid),
        );
        match self.cfg.ssltype {
            1 => Security::Implicit { control, data },
            2 => Security::Explicit { control, data },
            _ => Security::Plain,
        }
    }

    fn ftp_close(&mut self, cx: &mut Ctx, row: &FtpRow) -> Outcome {
        match &mut self.session {
            Session::Idle { cid, .. } => {
                let cid = *cid;
                self.ftp_request(cx, Session::Closing { cid }, FtpRequest::Close);
                Outcome::Ok
            }
            Session::Closed { lost } => {
                let err = lost.take().map_or(0, FtpError::code);
                cx.after(AfterOk::Urc(format!("{}: {err},0", row.urc())))
            }
            // A transfer the host has left (a paused COM: download, a UFS transfer) ends
            // with the session; its own URC is not sent.
            Session::Transfer { transfer, .. } if transfer.closable() => {
                self.ftp_abandon(cx, Abandon::Close);
                cx.after(AfterOk::Urc(format!("{}: 0,0", row.urc())))
            }
            _ => FtpError::Busy.into(),
        }
    }

    /// An event from the runtime.
    pub(crate) fn ftp_event(&mut self, cx: &mut Ctx, env: &mut FtpEnv, ev: FtpEvent) {
        if ev == FtpEvent::DriverLost {
            // No `Aborted` marker will come for the aborts the lost driver held.
            self.aborts_in_flight = 0;
            self.ftp_abandon(cx, Abandon::DriverLost);
            return;
        }
        if self.stale(&ev) {
            return;
        }
        match ev {
            FtpEvent::Aborted | FtpEvent::DriverLost => {}
            FtpEvent::ControlClosed => {
                if let Session::Idle { .. } = self.session {
                    self.session = Session::Closed {
                        lost: Some(FtpError::ControlClosed),
                    };
                }
            }
            FtpEvent::DataReady | FtpEvent::Data(_) => self.transfer_event(cx, env, ev),
            FtpEvent::Done(result) => match std::mem::take(&mut self.session) {
                Session::Transfer { cid, transfer } => {
                    self.transfer_done(cx, env, cid, transfer, result)
                }
                // Nothing was asked: nothing to answer.
                was @ (Session::Closed { .. } | Session::Idle { .. }) => self.session = was,
                was => {
                    self.timers.stop_all();
                    self.simple_done(cx, was, result);
                }
            },
        }
    }

    /// The answer to QFTPOPEN, QFTPCLOSE or a simple request (`was` is the session it
    /// found). Text from the server (PWD's path, MDTM's time) is cut to
    /// [`RELAYED_TEXT_MAX`] bytes, as a module's reply buffer would.
    fn simple_done(&mut self, cx: &mut Ctx, was: Session, result: Result<Reply, Failure>) {
        // The URC, the session after a success, and whether a failure ends the session.
        let (urc, after_ok, closes, cid) = match was {
            Session::Opening { cid } => (urc_of(FtpKind::Open), Session::idle(cid), true, cid),
            Session::Closing { cid } => (urc_of(FtpKind::Close), Session::default(), true, cid),
            Session::Request { cid, urc } => (urc, Session::idle(cid), false, cid),
            _ => return,
        };
        let line = match result {
            Ok(reply) => {
                self.session = after_ok;
                match reply {
                    Reply::Path(path) => format!("{urc}: 0,\"{}\"", relayed(&path)),
                    Reply::Time(t) => format!("{urc}: 0,\"{}\"", relayed(&t)),
                    Reply::Size(n) => format!("{urc}: 0,{n}"),
                    Reply::Ok => format!("{urc}: 0,0"),
                }
            }
            Err(f) => {
                self.session = if closes || f.kind == FailureKind::ControlClosed {
                    Session::default()
                } else {
                    Session::idle(cid)
                };
                format!("{urc}: {},{}", f.error().code(), f.protocol_error())
            }
        };
        cx.urc(&line);
    }

    /// A timer ran out: `Guard` ends data mode; `Rsp` or `DataGap` fail the request with 609
    /// and drop its connections.
    pub(crate) fn ftp_timeout(&mut self, cx: &mut Ctx) {
        // A guarded `+++` first: it ends data mode before anything else is due.
        if self.guard().is_some_and(|d| cx.now >= d) {
            tracing::debug!(target: "bg95::core", "ftp timer {:?} ran out", Timer::Guard);
            self.ftp_escaped(cx);
        }
        if let Some(timer) = self.timers.expired(cx.now) {
            tracing::debug!(target: "bg95::core", "ftp timer {timer:?} ran out");
            self.ftp_abandon(cx, Abandon::Timeout);
        }
    }

    /// The PDP context under the session went away: its sockets are gone. A running
    /// request fails now with 605; an idle session reports 605 on the next FTP command.
    pub(crate) fn ftp_context_lost(&mut self, cx: &mut Ctx, cid: u8) {
        if self.session.cid() == Some(cid) {
            self.ftp_abandon(cx, Abandon::ContextLost);
        }
    }
}

/// The most bytes of server text (PWD's path, MDTM's time) the module relays in a URC: the
/// longest name the module itself takes (255 bytes). The spec is silent; a module has a
/// fixed buffer, and a 200 KB reply must not become a 200 KB URC (docs/ftp.md).
pub const RELAYED_TEXT_MAX: usize = 255;

/// `text` cut to [`RELAYED_TEXT_MAX`] bytes, at a character boundary.
fn relayed(text: &str) -> &str {
    let mut end = text.len().min(RELAYED_TEXT_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
