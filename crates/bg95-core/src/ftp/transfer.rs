//! Transfers: AT+QFTPGET/LIST/NLST/MLSD (downloads) and AT+QFTPPUT (uploads), to and from
//! the COM port (data mode) or a UFS file.
//!
//! COM: `CONNECT` once the data connection is open; downloads stream the server's bytes
//! unchanged (binary-safe) and end with `OK` then the URC; uploads take host bytes until a
//! guarded `+++` or `uploadlen`, then `OK`, then the URC once the server has them. `+++`
//! during a download pauses it (`OK`, command mode; the server is held by backpressure) and
//! `ATO` resumes it. A failure before `CONNECT` is the command's `+CME ERROR`; after it, the
//! URC carries `<err>,<protocol_error>`.

use bg95_at::FinalResult;

use super::command::{self, FtpRow, Local as Target};
use super::{
    Abandon, DownloadSource, Failure, Ftp, FtpEnv, FtpRequest, KeptUpload, Reply, Session, Timer,
};
use crate::area::{AfterOk, Ctx, DataMode, Outcome, Port};
use crate::error::FtpError;
use crate::escape::EscapeDetector;
use crate::module::Effect;
use crate::ufs::Ufs;

/// Where a transfer is, as the host sees it.
#[derive(Debug)]
enum Phase {
    /// Waiting for the data connection (for COM:, before `CONNECT`).
    Connecting,
    /// COM: the port is in data mode for this transfer (`CONNECT` sent); `escape` watches
    /// the host's bytes for a guarded `+++` and keeps [`Timer::Guard`](super::Timer::Guard).
    DataMode { escape: EscapeDetector },
    /// UFS: the data connection is open and bytes move.
    Moving,
    /// A COM: download paused by `+++`: command mode, the server held by backpressure.
    Paused,
    /// An upload's host side is over (`OK` sent); the server's answer is awaited.
    HostDone,
}

/// Which way the bytes go, with what each direction keeps.
#[derive(Debug)]
enum Direction {
    /// QFTPGET/LIST/NLST/MLSD. Into UFS: the bytes so far, and how many may come.
    Download { buffer: Vec<u8>, room: u64 },
    /// QFTPPUT: the remote name and start offset (a kept-open continuation needs them),
    /// whether it ends the file (beof=1, or no uploadlen), and a UFS upload's bytes.
    Upload {
        name: String,
        startpos: u64,
        last: bool,
        source: Vec<u8>,
    },
}

/// A running transfer.
#[derive(Debug)]
pub(super) struct Transfer {
    /// The URC prefix: `+QFTPGET`, `+QFTPLIST`, `+QFTPNLST`, `+QFTPMLSD`, `+QFTPPUT`.
    urc: &'static str,
    target: Target,
    direction: Direction,
    phase: Phase,
    /// Bytes moved so far.
    count: u64,
    /// downloadlen / uploadlen.
    limit: Option<u64>,
}

impl Transfer {
    /// A transfer that has not started.
    fn new(urc: &'static str, target: Target, direction: Direction, limit: Option<u64>) -> Self {
        Transfer {
            urc,
            target,
            direction,
            phase: Phase::Connecting,
            count: 0,
            limit,
        }
    }

    fn is_upload(&self) -> bool {
        matches!(self.direction, Direction::Upload { .. })
    }

    pub(super) fn paused(&self) -> bool {
        matches!(self.phase, Phase::Paused)
    }

    /// The `+++` watch, while the port is in data mode for this transfer.
    pub(super) fn escape(&self) -> Option<&EscapeDetector> {
        match &self.phase {
            Phase::DataMode { escape } => Some(escape),
            _ => None,
        }
    }

    /// A transfer AT+QFTPCLOSE may end: one the host is not in data mode for.
    pub(super) fn closable(&self) -> bool {
        matches!(self.phase, Phase::Paused | Phase::HostDone) || self.target != Target::Com
    }

    fn in_data_mode(&self) -> bool {
        matches!(self.phase, Phase::DataMode { .. })
    }
}

impl Ftp {
    /// The common gate of transfer commands: the session's context, or the command's
    /// immediate answer.
    fn transfer_gate(
        &mut self,
        cx: &mut Ctx,
        urc: &'static str,
        com: bool,
        req: &FtpRequest,
    ) -> Result<u8, Outcome> {
        match self.ftp_available() {
            // A CR/LF in the remote name is refused before anything is sent (601).
            Ok(_) if command::smuggles_line(req) => {
                let e = FtpError::Unknown;
                Err(if com {
                    e.into()
                } else {
                    cx.after(AfterOk::Urc(format!("{urc}: {},0", e.code())))
                })
            }
            Ok(cid) => Ok(cid),
            Err(FtpError::Busy) => Err(FtpError::Busy.into()),
            Err(e) if com => Err(e.into()),
            Err(e) => Err(cx.after(AfterOk::Urc(format!("{urc}: {},0", e.code())))),
        }
    }

    fn start_transfer(
        &mut self,
        cx: &mut Ctx,
        cid: u8,
        transfer: Transfer,
        req: Option<FtpRequest>,
    ) -> Outcome {
        let com = transfer.target == Target::Com;
        let next = Session::Transfer { cid, transfer };
        match req {
            Some(req) => self.ftp_request(cx, next, req),
            None => {
                // A kept-open upload goes on at once: the host's next bytes are awaited.
                self.session = next;
                self.start_timer(Timer::DataGap, cx.now);
            }
        }
        if com {
            *cx.port = Port::Busy;
            Outcome::Pending
        } else {
            Outcome::Ok
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn ftp_download(
        &mut self,
        cx: &mut Ctx,
        env: &mut FtpEnv,
        row: &FtpRow,
        source: DownloadSource,
        local: Target,
        startpos: u64,
        limit: Option<u64>,
    ) -> Outcome {
        let urc = row.urc();
        let req = FtpRequest::Download {
            source,
            offset: startpos,
            limit,
        };
        let cid = match self.transfer_gate(cx, urc, local.is_com(), &req) {
            Ok(cid) => cid,
            Err(o) => return o,
        };
        let room = match &local {
            Target::Com => 0,
            Target::Ufs(name) => room_for(env.ufs, name),
        };
        let direction = Direction::Download {
            buffer: Vec::new(),
            room,
        };
        let t = Transfer::new(urc, local, direction, limit);
        self.start_transfer(cx, cid, t, Some(req))
    }

    /// QFTPPUT; `len_eof` are `<uploadlen>` and `<beof>` (COM: only, both or neither).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ftp_upload(
        &mut self,
        cx: &mut Ctx,
        env: &mut FtpEnv,
        row: &FtpRow,
        remote: String,
        local: Target,
        startpos: u64,
        (uploadlen, beof): (Option<u64>, Option<u64>),
    ) -> Outcome {
        let urc = row.urc();
        let com = local.is_com();
        let req = FtpRequest::Upload {
            name: remote.clone(),
            offset: startpos,
            append: false,
        };
        let cid = match self.transfer_gate(cx, urc, com, &req) {
            Ok(cid) => cid,
            Err(o) => return o,
        };
        let mut source = Vec::new();
        if let Target::Ufs(name) = &local {
            let data = match env.ufs.read_for_ftp(name) {
                Ok(d) => d,
                Err(_) => {
                    let e = FtpError::FileOpenFailed.code();
                    return cx.after(AfterOk::Urc(format!("{urc}: {e},0")));
                }
            };
            let Some(rest) = usize::try_from(startpos).ok().and_then(|s| data.get(s..)) else {
                let e = FtpError::FilePosition.code();
                return cx.after(AfterOk::Urc(format!("{urc}: {e},0")));
            };
            source = rest.to_vec();
        }
        let kept = match &mut self.session {
            Session::Idle { kept_upload, .. } => kept_upload.take(),
            _ => None,
        };
        let direction = Direction::Upload {
            name: remote.clone(),
            startpos,
            last: beof != Some(0),
            source,
        };
        let t = Transfer::new(urc, local, direction, uploadlen);
        // beof=0 left the data connection open: a QFTPPUT that continues where the last one
        // stopped writes into it without a new STOR.
        let continues = KeptUpload {
            name: remote,
            next_offset: startpos,
        };
        if com && kept == Some(continues) {
            let outcome = self.start_transfer(cx, cid, t, None);
            self.upload_connected(cx, env);
            return outcome;
        }
        self.start_transfer(cx, cid, t, Some(req))
    }

    fn transfer_mut(&mut self) -> Option<&mut Transfer> {
        match &mut self.session {
            Session::Transfer { transfer, .. } => Some(transfer),
            _ => None,
        }
    }

    /// The data connection of an upload is open (or still open): CONNECT, or send the
    /// UFS file.
    fn upload_connected(&mut self, cx: &mut Ctx, env: &FtpEnv) {
        let Some(t) = self.transfer_mut() else { return };
        if t.target == Target::Com {
            self.enter_data_mode(cx);
        } else {
            let data = match &mut t.direction {
                Direction::Upload { source, .. } => std::mem::take(source),
                Direction::Download { .. } => Vec::new(),
            };
            t.count = data.len() as u64;
            t.phase = Phase::HostDone;
            for chunk in data.chunks(env.upload_chunk.max(1)) {
                cx.effect(Effect::ftp(FtpRequest::UploadData(chunk.to_vec())));
            }
            cx.effect(Effect::ftp(FtpRequest::UploadEnd { close: true }));
        }
    }

    /// DataReady and Data events of the running transfer.
    pub(super) fn transfer_event(&mut self, cx: &mut Ctx, env: &FtpEnv, ev: super::FtpEvent) {
        let Some(t) = self.transfer_mut() else { return };
        let (upload, com) = (t.is_upload(), t.target == Target::Com);
        // Every packet restarts the rsptimeout (the longest gap between two packets).
        self.start_timer(Timer::DataGap, cx.now);
        match ev {
            super::FtpEvent::DataReady if upload => self.upload_connected(cx, env),
            super::FtpEvent::DataReady if com => self.enter_data_mode(cx),
            super::FtpEvent::DataReady => {
                if let Some(t) = self.transfer_mut() {
                    t.phase = Phase::Moving;
                }
            }
            super::FtpEvent::Data(mut bytes) if !upload => {
                let Some(t) = self.transfer_mut() else { return };
                if let Some(limit) = t.limit {
                    bytes.truncate(limit.saturating_sub(t.count) as usize);
                }
                t.count += bytes.len() as u64;
                let Direction::Download { buffer, room } = &mut t.direction else {
                    return;
                };
                if com {
                    cx.raw(&bytes);
                } else if (buffer.len() + bytes.len()) as u64 <= *room {
                    buffer.extend_from_slice(&bytes);
                } else {
                    // The download cannot fit into UFS: stop it here.
                    self.ftp_abandon(cx, Abandon::NoRoom);
                }
            }
            _ => {}
        }
    }

    /// The server's final answer to a transfer.
    pub(super) fn transfer_done(
        &mut self,
        cx: &mut Ctx,
        env: &mut FtpEnv,
        cid: u8,
        mut t: Transfer,
        result: Result<Reply, Failure>,
    ) {
        self.timers.stop_all();
        // A download stopped at its limit: the server's 426/451 for the early close is
        // the end of a complete transfer.
        let limit_reached = !t.is_upload() && t.limit.is_some_and(|l| t.count >= l);
        let result = match result {
            Err(f) if limit_reached && f.is_early_close_reply() => Ok(Reply::Ok),
            other => other,
        };
        if let Err(f) = result {
            self.session = if f.kind == super::FailureKind::ControlClosed {
                Session::default()
            } else {
                Session::idle(cid)
            };
            self.transfer_failed(cx, t, f.error(), f.protocol_error());
            return;
        }
        self.session = Session::idle(cid);
        if t.target == Target::Com && matches!(t.phase, Phase::Connecting) {
            // Nothing at all came (an empty listing): data mode still opens and closes.
            cx.final_result(FinalResult::Connect);
            t.phase = Phase::DataMode {
                escape: cx.escape_detector(),
            };
        }
        if let (Target::Ufs(local), Direction::Download { buffer, .. }) = (&t.target, &t.direction)
        {
            if let Err(e) = env.ufs.write_for_ftp(local, buffer) {
                tracing::debug!(target: "bg95::core", "UFS write failed: {e:?}");
                self.last_len = 0;
                cx.urc(&format!("{}: {},0", t.urc, FtpError::FileError.code()));
                return;
            }
        }
        if t.in_data_mode() {
            *cx.port = Port::Command;
            cx.final_result(FinalResult::Ok);
        }
        if let Direction::Upload {
            name,
            startpos,
            last: false,
            ..
        } = &t.direction
        {
            self.session = Session::Idle {
                cid,
                kept_upload: Some(KeptUpload {
                    name: name.clone(),
                    next_offset: startpos + t.count,
                }),
            };
        }
        self.last_len = t.count;
        cx.urc(&format!("{}: 0,{}", t.urc, t.count));
    }

    /// A transfer failed with `err`: before `CONNECT` the command answers `+CME ERROR`;
    /// afterwards data mode ends with `OK` and the URC carries the error.
    pub(super) fn transfer_failed(&mut self, cx: &mut Ctx, t: Transfer, err: FtpError, reply: u16) {
        self.last_len = t.count;
        if t.target == Target::Com && matches!(t.phase, Phase::Connecting) {
            *cx.port = Port::Command;
            cx.final_result(err.into());
            return;
        }
        if t.in_data_mode() {
            *cx.port = Port::Command;
            cx.final_result(FinalResult::Ok);
        }
        cx.side_urc(format!("{}: {},{reply}", t.urc, err.code()));
    }

    /// The host dropped DTR (AT&D1/AT&D2): a COM: transfer in data mode leaves it as after
    /// a guarded `+++` (a download pauses with `OK`, an upload ends). Nothing else changes.
    pub(crate) fn ftp_dtr_dropped(&mut self, cx: &mut Ctx) {
        if self.transfer_mut().is_some_and(|t| t.in_data_mode()) {
            self.ftp_escaped(cx);
        }
    }

    /// ATO: back into a paused COM: download; otherwise `NO CARRIER`.
    pub(crate) fn ato(&mut self, cx: &mut Ctx) -> Outcome {
        match self.transfer_mut() {
            Some(t) if t.paused() => {
                self.start_timer(Timer::DataGap, cx.now);
                self.enter_data_mode(cx);
                Outcome::Pending
            }
            _ => Outcome::Fail(FinalResult::NoCarrier),
        }
    }

    /// `CONNECT`: the port is in data mode for the running COM: transfer, and the `+++`
    /// guard starts counting now.
    fn enter_data_mode(&mut self, cx: &mut Ctx) {
        let escape = cx.escape_detector();
        if let Some(t) = self.transfer_mut() {
            t.phase = Phase::DataMode { escape };
            *cx.port = Port::Data(DataMode::Ftp);
            cx.final_result(FinalResult::Connect);
        }
    }

    /// Host bytes in data mode; returns how many belong to the transfer, and the bytes the
    /// host typed in command mode after an upload's last byte (`+` characters the escape
    /// watch held beyond `uploadlen`), which the module reads as command-mode input.
    pub(crate) fn ftp_data_input(&mut self, cx: &mut Ctx, bytes: &[u8]) -> (usize, Vec<u8>) {
        match self.transfer_mut() {
            Some(t) if t.is_upload() => self.ftp_upload_input(cx, bytes),
            Some(Transfer {
                phase: Phase::DataMode { escape },
                ..
            }) => {
                // A download: only a guarded `+++` means anything.
                let mut ignored = Vec::new();
                for &b in bytes {
                    escape.feed(cx.now, b, &mut ignored);
                }
                (bytes.len(), Vec::new())
            }
            _ => (bytes.len(), Vec::new()),
        }
    }

    /// [`Timer::Guard`] ran out: a guarded `+++` pauses a download or ends an upload.
    pub(super) fn ftp_escaped(&mut self, cx: &mut Ctx) {
        *cx.port = Port::Command;
        match self.transfer_mut() {
            Some(t) if t.is_upload() => self.ftp_upload_escaped(cx),
            Some(_) => self.ftp_download_escaped(cx),
            None => {}
        }
    }

    /// `+++` paused a COM: download: `OK`, and no more bytes until `ATO`.
    fn ftp_download_escaped(&mut self, cx: &mut Ctx) {
        self.timers.stop(Timer::DataGap);
        if let Some(t) = self.transfer_mut() {
            t.phase = Phase::Paused;
        }
        cx.final_result(FinalResult::Ok);
    }

    /// Host bytes during a COM: upload; returns how many belong to it.
    fn ftp_upload_input(&mut self, cx: &mut Ctx, bytes: &[u8]) -> (usize, Vec<u8>) {
        let now = cx.now;
        let Some(t) = self.transfer_mut() else {
            return (bytes.len(), Vec::new());
        };
        let remaining = t.limit.map_or(u64::MAX, |l| l.saturating_sub(t.count));
        let Phase::DataMode { escape } = &mut t.phase else {
            return (bytes.len(), Vec::new());
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
            return (used, Vec::new());
        };
        t.count += data.len() as u64;
        let reached = t.limit.is_some_and(|l| t.count >= l);
        let last = matches!(t.direction, Direction::Upload { last: true, .. });
        if !data.is_empty() {
            cx.effect(Effect::ftp(FtpRequest::UploadData(data)));
        }
        self.start_timer(Timer::DataGap, now);
        if !reached {
            return (used, Vec::new());
        }
        self.finish_upload(cx, last);
        // Flushed `+` characters beyond uploadlen were typed in command mode.
        (used, excess)
    }

    /// The host side of a COM: upload is over: `OK`, then the server is told.
    fn finish_upload(&mut self, cx: &mut Ctx, close: bool) {
        if let Some(t) = self.transfer_mut() {
            t.phase = Phase::HostDone;
        }
        *cx.port = Port::Command;
        cx.final_result(FinalResult::Ok);
        self.start_timer(Timer::Rsp, cx.now);
        cx.effect(Effect::ftp(FtpRequest::UploadEnd { close }));
    }

    /// `+++` ended a COM: upload: the file is complete.
    fn ftp_upload_escaped(&mut self, cx: &mut Ctx) {
        if let Some(Transfer {
            direction: Direction::Upload { last, .. },
            ..
        }) = self.transfer_mut()
        {
            *last = true;
        }
        self.finish_upload(cx, true);
    }
}

/// How many bytes a download into UFS file `local` may bring: the free space plus what the
/// file it replaces holds now.
fn room_for(ufs: &Ufs, local: &str) -> u64 {
    let bare = crate::ufs::strip_ufs_root(local);
    let free = ufs.free().unwrap_or(0);
    free + ufs.size_of(bare).ok().flatten().unwrap_or(0)
}
