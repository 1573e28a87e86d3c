//! Transfers: AT+QFTPGET/LIST/NLST/MLSD (downloads) and AT+QFTPPUT (uploads), to and from
//! the COM port (data mode) or a UFS file.
//!
//! COM: `CONNECT` once the data connection is open; downloads stream the server's bytes
//! unchanged (binary-safe) and end with `OK` then the URC; uploads take host bytes until a
//! guarded `+++` or `uploadlen`, then `OK`, then the URC once the server has them. `+++`
//! during a download pauses it (`OK`, command mode; the server is held by backpressure) and
//! `ATO` resumes it. A failure before `CONNECT` is the command's `+CME ERROR`; after it, the
//! URC carries `<err>,<protocol_error>`.

use bg95_at::{Arg, FinalResult};

use super::{
    bad, transfer_num, Abandon, DownloadSource, Failure, FtpRequest, Pending, Reply, SessionState,
    Timer, MAX_REMOTE,
};
use crate::error::FtpError;
use crate::module::{AfterOk, DataMode, Effect, Module, Outcome, Port};
use crate::params::string;
use crate::time::Instant;

/// The longest local name (section 2.5).
const MAX_LOCAL: usize = 60;

#[derive(Debug, PartialEq, Eq)]
enum Target {
    Com,
    Ufs(String),
}

/// A running transfer.
#[derive(Debug)]
pub(super) struct Transfer {
    /// The URC prefix: `+QFTPGET`, `+QFTPLIST`, `+QFTPNLST`, `+QFTPMLSD`, `+QFTPPUT`.
    urc: &'static str,
    upload: bool,
    target: Target,
    /// Bytes moved so far.
    count: u64,
    /// The data connection is open (for COM:, `CONNECT` was sent).
    connected: bool,
    /// A COM: download paused by `+++`.
    paused: bool,
    /// downloadlen / uploadlen.
    limit: Option<u64>,
    /// beof=1 (or no uploadlen): the upload ends the file.
    last: bool,
    /// The remote name and start offset of an upload (for a kept-open continuation).
    name: String,
    startpos: u64,
    /// A UFS download's bytes, or a UFS upload's source.
    buffer: Vec<u8>,
    /// A UFS download may not bring more than this.
    room: u64,
    /// An upload's host side is over (`OK` sent); the server's answer is awaited.
    host_done: bool,
}

impl Transfer {
    /// A transfer that has not started: `local` is `COM:` or a UFS name.
    fn new(
        urc: &'static str,
        upload: bool,
        local: &str,
        name: String,
        startpos: u64,
        limit: Option<u64>,
    ) -> Self {
        Transfer {
            urc,
            upload,
            target: if is_com(local) {
                Target::Com
            } else {
                Target::Ufs(local.to_string())
            },
            count: 0,
            connected: false,
            paused: false,
            limit,
            last: true,
            name,
            startpos,
            buffer: Vec::new(),
            room: 0,
            host_done: false,
        }
    }

    pub(super) fn paused(&self) -> bool {
        self.paused
    }

    /// A transfer AT+QFTPCLOSE may end: one the host is not in data mode for.
    pub(super) fn closable(&self) -> bool {
        self.paused || self.target != Target::Com || self.host_done
    }

    fn in_data_mode(&self) -> bool {
        self.target == Target::Com && self.connected && !self.paused && !self.host_done
    }
}

fn is_com(local: &str) -> bool {
    local.eq_ignore_ascii_case("COM:")
}

impl Module {
    /// The common gate of transfer commands: `Err` is the command's immediate answer.
    fn transfer_gate(&mut self, urc: &'static str, com: bool) -> Result<(), Outcome> {
        match self.ftp_unavailable() {
            None => Ok(()),
            Some(FtpError::Busy) => Err(FtpError::Busy.into()),
            Some(e) if com => Err(e.into()),
            Some(e) => Err(self.after(AfterOk::Urc(format!("{urc}: {},0", e.code())))),
        }
    }

    fn start_transfer(&mut self, now: Instant, t: Transfer, req: Option<FtpRequest>) -> Outcome {
        let com = t.target == Target::Com;
        self.ftp.state = SessionState::Transferring;
        match req {
            Some(req) => self.ftp_request(now, Pending::Transfer(t), req),
            None => {
                // A kept-open upload goes on at once: the host's next bytes are awaited.
                self.ftp.pending = Some(Pending::Transfer(t));
                self.ftp.start_timer(Timer::DataGap, now);
            }
        }
        if com {
            self.port = Port::Busy;
            Outcome::Pending
        } else {
            Outcome::Ok
        }
    }

    pub(super) fn ftp_download(&mut self, now: Instant, name: &str, args: &[Arg]) -> Outcome {
        let get = name == "+QFTPGET";
        let Ok(remote) = string(args, 0, MAX_REMOTE) else {
            return bad();
        };
        let local = match args.get(1).and_then(Arg::as_text) {
            Some(l) => l,
            None if !get && args.len() <= 1 => "COM:",
            None => return bad(),
        };
        let com = is_com(local);
        let (startpos, limit) = match (transfer_num(args, 2), transfer_num(args, 3)) {
            (Ok(s), Ok(l)) => (s.unwrap_or(0), l),
            _ => return bad(),
        };
        let max_args = match (get, com) {
            (true, true) => 4,
            (true, false) => 3,
            (false, _) => 2,
        };
        if remote.is_empty()
            || args.len() > max_args
            || limit == Some(0)
            || (!com && (local.len() > MAX_LOCAL || !Self::ufs_valid_name(local)))
        {
            return bad();
        }
        let urc = match name {
            "+QFTPGET" => "+QFTPGET",
            "+QFTPLIST" => "+QFTPLIST",
            "+QFTPNLST" => "+QFTPNLST",
            _ => "+QFTPMLSD",
        };
        if let Err(o) = self.transfer_gate(urc, com) {
            return o;
        }
        let remote = remote.to_string();
        let source = match urc {
            "+QFTPGET" => DownloadSource::File(remote.clone()),
            "+QFTPLIST" => DownloadSource::List(remote.clone()),
            "+QFTPNLST" => DownloadSource::Nlst(remote.clone()),
            _ => DownloadSource::Mlsd(remote.clone()),
        };
        let mut t = Transfer::new(urc, false, local, remote, startpos, limit);
        if !com {
            t.room = self.ufs_room_for(local);
        }
        let req = FtpRequest::Download {
            source,
            offset: startpos,
            limit,
        };
        self.start_transfer(now, t, Some(req))
    }

    pub(super) fn ftp_upload(&mut self, now: Instant, args: &[Arg]) -> Outcome {
        let (Ok(remote), Some(local)) = (
            string(args, 0, MAX_REMOTE),
            args.get(1).and_then(Arg::as_text),
        ) else {
            return bad();
        };
        let com = is_com(local);
        let (startpos, uploadlen, beof) = match (
            transfer_num(args, 2),
            transfer_num(args, 3),
            transfer_num(args, 4),
        ) {
            (Ok(s), Ok(l), Ok(b)) => (s.unwrap_or(0), l, b),
            _ => return bad(),
        };
        // <uploadlen> and <beof> come together, and only for COM:.
        let shape_ok = match (com, uploadlen, beof) {
            (true, None, None) => args.len() <= 3,
            (true, Some(l), Some(b)) => l > 0 && b <= 1 && args.len() == 5,
            (false, None, None) => {
                args.len() <= 3 && local.len() <= MAX_LOCAL && Self::ufs_valid_name(local)
            }
            _ => false,
        };
        if remote.is_empty() || !shape_ok {
            return bad();
        }
        if let Err(o) = self.transfer_gate("+QFTPPUT", com) {
            return o;
        }
        let remote = remote.to_string();
        let mut t = Transfer::new("+QFTPPUT", true, local, remote.clone(), startpos, uploadlen);
        t.last = beof != Some(0);
        if !com {
            let data = match self.ufs_read_for_ftp(local) {
                Ok(d) => d,
                Err(_) => {
                    return self.after(AfterOk::Urc(format!(
                        "+QFTPPUT: {},0",
                        FtpError::FileOpenFailed.code()
                    )))
                }
            };
            let Some(rest) = usize::try_from(startpos).ok().and_then(|s| data.get(s..)) else {
                return self.after(AfterOk::Urc(format!(
                    "+QFTPPUT: {},0",
                    FtpError::FilePosition.code()
                )));
            };
            t.buffer = rest.to_vec();
        }
        // beof=0 left the data connection open: a QFTPPUT that continues where the last one
        // stopped writes into it without a new STOR.
        if com && self.ftp.kept_upload.as_ref() == Some(&(remote.clone(), startpos)) {
            self.ftp.kept_upload = None;
            let outcome = self.start_transfer(now, t, None);
            self.upload_connected(now);
            return outcome;
        }
        self.ftp.kept_upload = None;
        let req = FtpRequest::Upload {
            name: remote,
            offset: startpos,
            append: false,
        };
        self.start_transfer(now, t, Some(req))
    }

    fn transfer_mut(&mut self) -> Option<&mut Transfer> {
        match &mut self.ftp.pending {
            Some(Pending::Transfer(t)) => Some(t),
            _ => None,
        }
    }

    /// The data connection of an upload is open (or still open): CONNECT, or send the
    /// UFS file.
    fn upload_connected(&mut self, now: Instant) {
        let guard = self.escape_detector(now);
        let Some(t) = self.transfer_mut() else { return };
        t.connected = true;
        if t.target == Target::Com {
            self.port = Port::Data(DataMode::FtpUpload { escape: guard });
            self.final_result(FinalResult::Connect);
        } else {
            let data = std::mem::take(&mut t.buffer);
            t.count = data.len() as u64;
            t.host_done = true;
            for chunk in data.chunks(self.limits.upload_chunk.max(1)) {
                self.effect(Effect::ftp(FtpRequest::UploadData(chunk.to_vec())));
            }
            self.effect(Effect::ftp(FtpRequest::UploadEnd { close: true }));
        }
    }

    /// DataReady and Data events of the running transfer.
    pub(super) fn transfer_event(&mut self, now: Instant, ev: super::FtpEvent) {
        let Some(t) = self.transfer_mut() else { return };
        let (upload, com) = (t.upload, t.target == Target::Com);
        // Every packet restarts the rsptimeout (the longest gap between two packets).
        self.ftp.start_timer(Timer::DataGap, now);
        match ev {
            super::FtpEvent::DataReady if upload => self.upload_connected(now),
            super::FtpEvent::DataReady => {
                if let Some(t) = self.transfer_mut() {
                    t.connected = true;
                }
                if com {
                    let escape = self.escape_detector(now);
                    self.port = Port::Data(DataMode::FtpDownload { escape });
                    self.final_result(FinalResult::Connect);
                }
            }
            super::FtpEvent::Data(mut bytes) if !upload => {
                let Some(t) = self.transfer_mut() else { return };
                if let Some(limit) = t.limit {
                    bytes.truncate(limit.saturating_sub(t.count) as usize);
                }
                t.count += bytes.len() as u64;
                if com {
                    self.raw(&bytes);
                } else if (t.buffer.len() + bytes.len()) as u64 <= t.room {
                    t.buffer.extend_from_slice(&bytes);
                } else {
                    // The download cannot fit into UFS: stop it here.
                    self.ftp_abandon(now, Abandon::NoRoom);
                }
            }
            _ => {}
        }
    }

    /// The server's final answer to a transfer.
    pub(super) fn transfer_done(
        &mut self,
        now: Instant,
        mut t: Transfer,
        result: Result<Reply, Failure>,
    ) {
        self.ftp.timers.stop_all();
        if let Err(f) = result {
            self.ftp.state = if f.kind == super::FailureKind::ControlClosed {
                SessionState::Closed
            } else {
                SessionState::Idle
            };
            self.transfer_failed(now, t, f.error(), f.reply);
            return;
        }
        self.ftp.state = SessionState::Idle;
        if t.target == Target::Com && !t.connected {
            // Nothing at all came (an empty listing): data mode still opens and closes.
            self.final_result(FinalResult::Connect);
            t.connected = true;
        }
        if let Target::Ufs(local) = &t.target {
            if !t.upload {
                if let Err(e) = self.ufs_write_for_ftp(local, &t.buffer) {
                    tracing::debug!(target: "bg95::core", "UFS write failed: {e:?}");
                    self.ftp.last_len = 0;
                    self.urc(&format!("{}: {},0", t.urc, FtpError::FileError.code()));
                    return;
                }
            }
        }
        if t.in_data_mode() {
            self.port = Port::Command;
            self.final_result(FinalResult::Ok);
        }
        if t.upload && !t.last {
            self.ftp.kept_upload = Some((t.name.clone(), t.startpos + t.count));
        }
        self.ftp.last_len = t.count;
        self.urc(&format!("{}: 0,{}", t.urc, t.count));
    }

    /// A transfer failed with `err`: before `CONNECT` the command answers `+CME ERROR`;
    /// afterwards data mode ends with `OK` and the URC carries the error.
    pub(super) fn transfer_failed(
        &mut self,
        _now: Instant,
        t: Transfer,
        err: FtpError,
        reply: u16,
    ) {
        self.ftp.last_len = t.count;
        if t.target == Target::Com && !t.connected {
            self.port = Port::Command;
            self.final_result(err.into());
            return;
        }
        if t.in_data_mode() {
            self.port = Port::Command;
            self.final_result(FinalResult::Ok);
        }
        self.side_urc(format!("{}: {},{reply}", t.urc, err.code()));
    }

    /// ATO: back into a paused COM: download; otherwise `NO CARRIER`.
    pub(crate) fn ato(&mut self, now: Instant) -> Outcome {
        match self.transfer_mut() {
            Some(t) if t.paused => {
                t.paused = false;
                self.ftp.start_timer(Timer::DataGap, now);
                let escape = self.escape_detector(now);
                self.port = Port::Data(DataMode::FtpDownload { escape });
                self.final_result(FinalResult::Connect);
                Outcome::Pending
            }
            _ => Outcome::Fail(FinalResult::NoCarrier),
        }
    }

    /// Host bytes during a COM: download: only a guarded `+++` means anything.
    pub(crate) fn ftp_download_input(&mut self, now: Instant, bytes: &[u8]) -> usize {
        if let Port::Data(DataMode::FtpDownload { escape }) = &mut self.port {
            let mut ignored = Vec::new();
            for &b in bytes {
                escape.feed(now, b, &mut ignored);
            }
        }
        bytes.len()
    }

    /// `+++` paused a COM: download: `OK`, and no more bytes until `ATO`.
    pub(crate) fn ftp_download_escaped(&mut self, _now: Instant) {
        self.ftp.timers.stop(Timer::DataGap);
        if let Some(t) = self.transfer_mut() {
            t.paused = true;
        }
        self.final_result(FinalResult::Ok);
    }

    /// Host bytes during a COM: upload; returns how many belong to it.
    pub(crate) fn ftp_upload_input(&mut self, now: Instant, bytes: &[u8]) -> usize {
        let remaining = match self.transfer_mut() {
            Some(t) => t.limit.map_or(u64::MAX, |l| l.saturating_sub(t.count)),
            None => return bytes.len(),
        };
        let Port::Data(DataMode::FtpUpload { escape }) = &mut self.port else {
            return bytes.len();
        };
        let mut data = Vec::with_capacity(
            bytes
                .len()
                .min(usize::try_from(remaining).unwrap_or(usize::MAX)),
        );
        let mut used = 0;
        while used < bytes.len() && (data.len() as u64) < remaining {
            escape.feed(now, bytes[used], &mut data);
            used += 1;
            if escape.plain_data_follows() {
                // Every later byte of this read arrived at `now` too: plain data.
                let room = usize::try_from(remaining.saturating_sub(data.len() as u64))
                    .unwrap_or(usize::MAX);
                let n = room.min(bytes.len() - used);
                data.extend_from_slice(&bytes[used..used + n]);
                used += n;
                break;
            }
        }
        let excess = if data.len() as u64 > remaining {
            data.split_off(remaining as usize)
        } else {
            Vec::new()
        };
        let Some(t) = self.transfer_mut() else {
            return used;
        };
        t.count += data.len() as u64;
        let reached = t.limit.is_some_and(|l| t.count >= l);
        let last = t.last;
        if !data.is_empty() {
            self.effect(Effect::ftp(FtpRequest::UploadData(data)));
        }
        self.ftp.start_timer(Timer::DataGap, now);
        if reached {
            self.finish_upload(now, last);
            if !excess.is_empty() {
                // Flushed `+` characters beyond uploadlen were typed in command mode.
                self.handle_input(now, &excess);
            }
        }
        used
    }

    /// The host side of a COM: upload is over: `OK`, then the server is told.
    fn finish_upload(&mut self, now: Instant, close: bool) {
        if let Some(t) = self.transfer_mut() {
            t.host_done = true;
        }
        self.port = Port::Command;
        self.final_result(FinalResult::Ok);
        self.ftp.start_timer(Timer::Rsp, now);
        self.effect(Effect::ftp(FtpRequest::UploadEnd { close }));
    }

    /// `+++` ended a COM: upload: the file is complete.
    pub(crate) fn ftp_upload_escaped(&mut self, now: Instant) {
        if let Some(t) = self.transfer_mut() {
            t.last = true;
        }
        self.finish_upload(now, true);
    }
}

impl Module {
    /// How many bytes a download into UFS file `local` may bring: the free space plus what
    /// the file it replaces holds now.
    fn ufs_room_for(&self, local: &str) -> u64 {
        let bare = crate::ufs::strip_ufs_prefix(local);
        let free = self.ufs.free().unwrap_or(0);
        free + self.ufs.size_of(bare).ok().flatten().unwrap_or(0)
    }
}
