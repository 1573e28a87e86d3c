//! `bg95-emu replay --live FILE`: plays the host side of a recording through the PTY of a
//! real emulator (built from the recording's `#! module`/`#! ufs` headers) whose FTP driver
//! talks to real servers — the ones the recording's `AT+QFTPOPEN` lines name, or an
//! embedded server started at the recorded `#! server` address with `--ftp-root DIR` —
//! and shows what the module said differently as a unified diff (docs/transcripts.md).
//!
//! The live session is itself recorded (`--transcript`'s recorder), and both recordings are
//! written as blocks: the host's input (consecutive `>` lines joined), then the module's
//! output (`<` lines split after each `\n`: downloaded bytes sent to COM: are compared
//! byte for byte), then its effects (`=` lines: an upload's data as inline bytes or length
//! and digest). Events (`!`) and times are not compared: a live server answers in its own
//! chunks and at its own pace.
//!
//! Timing: each host input is sent once the module has said what the recording has it
//! saying before that input (or has said something else and then been quiet, or a bounded
//! wait has passed — never a hang), and never sooner after the previous input than the
//! recording sent it (data-mode escapes need their guard times).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use bg95_core::transcript::{
    escape, mask_upload_checksum, parse, parse_setup, redacted_filler, redacted_line, Comparison,
    Line, Step,
};

use super::{ufs_at_boot, ReplayOutcome};
use crate::emulator::{Config, Emulator};
use crate::host_tty::HostTty;
use crate::server::{EmbeddedServer, ServerOptions, ServerTls};
use crate::time_scale::TimeScale;
use crate::ufs_dir::DirStore;
use bg95_core::UfsStore;

/// What `--live` is told besides the file.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Start the embedded FTP server serving a copy of this folder at the recording's
    /// `#! server` address (else the servers the recording names must be running).
    pub ftp_root: Option<PathBuf>,
    /// Sent where the recording has the masked `AT+QFTPCFG="account"` password.
    pub password: Option<String>,
    /// How long to wait, beyond the recorded time, for an answer the module has not
    /// finished giving before the next input goes anyway.
    pub answer_wait: Duration,
    /// The live module runs this many times faster than real time (`--time-scale`); the
    /// recorded gaps, which are module time, are played that much faster.
    pub time_scale: TimeScale,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            ftp_root: None,
            password: None,
            answer_wait: Duration::from_secs(10),
            time_scale: TimeScale::REAL,
        }
    }
}

/// After output that already differs from the recording, the next input goes once the
/// module has been quiet this long.
const QUIET: Duration = Duration::from_millis(500);

/// Replay a recording file against real servers.
pub fn replay_live_file(path: &Path, options: &LiveOptions) -> Result<ReplayOutcome, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    replay_live_text(&text, options).map_err(|e| format!("{}:{e}", path.display()))
}

/// Replay a recording's text against real servers (module doc). Errors are a bad file or
/// an emulator/server that could not start; a server that cannot be reached is a diff.
pub fn replay_live_text(text: &str, options: &LiveOptions) -> Result<ReplayOutcome, String> {
    let lines = parse(text).map_err(|e| e.to_string())?;
    super::check_complete(text)?;
    let setup = parse_setup(text).map_err(|e| e.to_string())?;
    if !text.lines().any(|l| l.trim() == "#! boot") {
        return Err(" --live needs a recording that starts at power-on (`#! boot`)".into());
    }
    let mut notes = Vec::new();
    // The live module's UFS and its recording, removed after the replay.
    let work = tempfile::Builder::new()
        .prefix("bg95-live-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let ufs_dir = work.path().join("ufs");
    let mut ufs = DirStore::open(&ufs_dir).map_err(|e| format!(" UFS: {e}"))?;
    for (name, data) in ufs_at_boot(&setup, &mut notes) {
        ufs.write(&name, &data)
            .map_err(|e| format!(" UFS file {name:?}: {e:?}"))?;
    }
    // The server, if we start it, lives on its own runtime until the replay ends.
    let _server = match &options.ftp_root {
        Some(root) => Some(EmbeddedFor::start(text, &lines, root, &mut ufs)?),
        None => None,
    };
    drop(ufs);
    let live_file = work.path().join("live.txt");
    let config = Config {
        personality: setup.personality,
        ufs_dir: Some(ufs_dir),
        transcript: Some(live_file.clone()),
        time_scale: Some(options.time_scale),
        ..Config::default()
    };
    let emulator = Emulator::builder()
        .config(config)
        .spawn()
        .map_err(|e| format!(" starting the emulator: {e}"))?;
    let mut host = LiveHost::open(emulator.tty_path(), options.time_scale)?;
    for segment in segments(&lines, options.password.as_deref()) {
        host.play(&segment, options.answer_wait);
    }
    drop(host);
    emulator.stop().map_err(|e| format!(" emulator: {e}"))?;
    let live = std::fs::read_to_string(&live_file).map_err(|e| e.to_string())?;
    let live = parse(&live).map_err(|e| format!(" the live recording: {e}"))?;
    let comparison = Comparison {
        recorded: blocks(&lines),
        replayed: blocks(&live),
    };
    Ok(ReplayOutcome::new(comparison, notes))
}

/// The embedded server `--ftp-root` starts, with the runtime it runs on.
struct EmbeddedFor {
    _server: EmbeddedServer,
    _root: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

impl EmbeddedFor {
    /// At the `#! server embedded ADDR [tls]` address (else the first recorded FTP open's
    /// port on 127.0.0.1), serving a copy of `root` (a replay never changes it), accepting
    /// the recorded accounts with their masked passwords (the host lines carry those; with
    /// no recorded open, `test`/`test`). With TLS, its new CA replaces the recorded one in UFS.
    fn start(
        text: &str,
        lines: &[Line],
        root: &Path,
        ufs: &mut DirStore,
    ) -> Result<EmbeddedFor, String> {
        let (addr, tls) = server_header(text)?
            .or_else(|| {
                first_open(lines).map(|(_, port, ..)| (([127, 0, 0, 1], port).into(), false))
            })
            .ok_or(" --ftp-root: the recording has no `#! server` header and no FTP open")?;
        let copy = tempfile::Builder::new()
            .prefix("bg95-live-root-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        crate::emulator::copy_tree(root, copy.path())
            .map_err(|e| format!(" --ftp-root {}: {e}", root.display()))?;
        let mut options = ServerOptions::default();
        let recorded: Vec<(String, String)> = opens(lines)
            .into_iter()
            .map(|(_, _, user, pass)| (user, pass))
            .collect();
        if !recorded.is_empty() {
            options.users = recorded;
        }
        if tls {
            let tls = ServerTls::generate().map_err(|e| e.to_string())?;
            let name = crate::emulator::FTPS_CA_UFS_NAME;
            ufs.write(name, tls.ca_pem.as_bytes())
                .map_err(|e| format!(" UFS file {name:?}: {e:?}"))?;
            options.tls = Some(Arc::new(tls));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let server = rt
            .block_on(crate::server::start_embedded_with(
                addr,
                copy.path().to_path_buf(),
                options,
            ))
            .map_err(|e| format!(" embedded FTP server on {addr}: {e}"))?;
        Ok(EmbeddedFor {
            _server: server,
            _root: copy,
            _rt: rt,
        })
    }
}

/// `#! server embedded 127.0.0.1:2121 [tls]`, if the recording has one.
fn server_header(text: &str) -> Result<Option<(SocketAddr, bool)>, String> {
    for line in text.lines() {
        let Some(rest) = line.trim_end().strip_prefix("#! server embedded ") else {
            continue;
        };
        let mut words = rest.split(' ');
        let addr = words.next().unwrap_or("");
        let addr = addr
            .parse()
            .map_err(|_| format!(" bad `#! server` address {addr:?}"))?;
        return Ok(Some((addr, words.next() == Some("tls"))));
    }
    Ok(None)
}

/// Every recorded `= ftp open`: host, port, user and (masked) password.
fn opens(lines: &[Line]) -> Vec<(String, u16, String, String)> {
    let mut out = Vec::new();
    for l in lines {
        let Step::Effect(e) = &l.step else { continue };
        let Some(rest) = e.strip_prefix("ftp open ") else {
            continue;
        };
        let value = |key: &str| {
            rest.split(' ')
                .find_map(|w| w.strip_prefix(key).map(str::to_string))
                .unwrap_or_default()
        };
        let port = value("port=").parse().unwrap_or(21);
        out.push((value("host="), port, value("user="), value("pass=")));
    }
    out
}

fn first_open(lines: &[Line]) -> Option<(String, u16, String, String)> {
    opens(lines).into_iter().next()
}

/// The host's inputs up to the next thing the module says, and what it said before the
/// next input.
#[derive(Debug, Default, PartialEq)]
struct Segment {
    /// Each recorded `>` chunk, with the recorded time since the previous one.
    inputs: Vec<(Duration, Vec<u8>)>,
    expect: Vec<u8>,
    /// The recorded time from the last input to the next segment's first one.
    after: Duration,
}

/// The recording's host side cut where the module spoke; `password` replaces the masked
/// account password in the host's lines.
fn segments(lines: &[Line], password: Option<&str>) -> Vec<Segment> {
    let mut out = vec![Segment::default()];
    let mut since_input = Duration::ZERO;
    for l in lines {
        let seg = out.last_mut().expect("never empty");
        match &l.step {
            Step::Wait(d) => {
                since_input += *d;
                seg.after += *d;
            }
            Step::Expect(b) => seg.expect.extend_from_slice(b),
            Step::Send(b) => {
                let bytes = match password {
                    Some(p) => unmask(b, p),
                    None => b.clone(),
                };
                if !seg.expect.is_empty() {
                    out.push(Segment::default());
                }
                let seg = out.last_mut().expect("never empty");
                seg.inputs.push((since_input, bytes));
                seg.after = Duration::ZERO;
                since_input = Duration::ZERO;
            }
            // A redacted upload (a private key): its size in filler, as `replay` sends it.
            Step::SendRedacted { len, .. } => {
                if !seg.expect.is_empty() {
                    out.push(Segment::default());
                }
                let seg = out.last_mut().expect("never empty");
                seg.inputs
                    .push((since_input, redacted_filler(*len as usize)));
                seg.after = Duration::ZERO;
                since_input = Duration::ZERO;
            }
            Step::Event(_) | Step::Effect(_) | Step::Fault(_) => {}
        }
    }
    out
}

/// `AT+QFTPCFG="account","user","****"` with the password put back (a recording masks it
/// as one `*` per character).
fn unmask(bytes: &[u8], password: &str) -> Vec<u8> {
    const ACCOUNT: &[u8] = b"AT+QFTPCFG=\"ACCOUNT\"";
    let upper = bytes.to_ascii_uppercase();
    let Some(start) = upper.windows(ACCOUNT.len()).position(|w| w == ACCOUNT) else {
        return bytes.to_vec();
    };
    let quotes: Vec<usize> = bytes[start..]
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'"')
        .map(|(i, _)| start + i)
        .take(6)
        .collect();
    let [.., open, close] = quotes[..] else {
        return bytes.to_vec();
    };
    if quotes.len() < 6 || !bytes[open + 1..close].iter().all(|&b| b == b'*') {
        return bytes.to_vec();
    }
    let mut out = bytes[..=open].to_vec();
    out.extend_from_slice(password.as_bytes());
    out.extend_from_slice(&bytes[close..]);
    out
}

/// A recording as blocks for the live comparison (module doc): inputs, output, effects.
fn blocks(lines: &[Line]) -> String {
    let (mut text, mut input, mut output, mut effects) =
        (String::new(), Vec::new(), Vec::new(), Vec::<String>::new());
    // The output after a redacted upload has its `+QFUPL:` checksum masked on both sides.
    let mut after_redacted = false;
    let mut flush = |input: &mut Vec<u8>, output: &mut Vec<u8>, effects: &mut Vec<String>| {
        if !input.is_empty() {
            text.push_str(&format!("> {}\n", escape(input)));
        }
        for piece in output.split_inclusive(|&b| b == b'\n') {
            text.push_str(&format!("< {}\n", escape(piece)));
        }
        for e in effects.iter() {
            text.push_str(&format!("= {e}\n"));
        }
        input.clear();
        output.clear();
        effects.clear();
    };
    for l in lines {
        match &l.step {
            Step::Send(b) => {
                if !output.is_empty() || !effects.is_empty() {
                    flush(&mut input, &mut output, &mut effects);
                }
                input.extend_from_slice(b);
                after_redacted = false;
            }
            Step::SendRedacted { len, fnv } => {
                if !output.is_empty() || !effects.is_empty() {
                    flush(&mut input, &mut output, &mut effects);
                }
                // Compared as its `>key` line (both recordings redact the same upload).
                input.extend_from_slice(redacted_line(*len, *fnv).as_bytes());
                after_redacted = true;
            }
            Step::Expect(b) => {
                output.extend_from_slice(b);
                if after_redacted {
                    mask_upload_checksum(&mut output);
                }
            }
            Step::Effect(e) => effects.push(e.clone()),
            Step::Wait(_) | Step::Event(_) | Step::Fault(_) => {}
        }
    }
    flush(&mut input, &mut output, &mut effects);
    text
}

/// The host end of the live emulator's tty, read on a thread.
struct LiveHost {
    host: HostTty,
    last_send: Instant,
    /// Recorded times are module time; the host waits them out in real time.
    scale: TimeScale,
}

impl LiveHost {
    fn open(path: &Path, scale: TimeScale) -> Result<LiveHost, String> {
        Ok(LiveHost {
            host: HostTty::open(path).map_err(|e| format!(" {e}"))?,
            last_send: Instant::now(),
            scale,
        })
    }

    /// Send the segment's inputs (never sooner than recorded), then wait for its answer.
    fn play(&mut self, segment: &Segment, answer_wait: Duration) {
        for (gap, bytes) in &segment.inputs {
            let due = self.last_send + self.scale.to_real(*gap);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if let Err(e) = self.host.tty.write_all(bytes) {
                tracing::warn!(target: "bg95::emu", "replay --live: tty write: {e}");
            }
            self.last_send = Instant::now();
        }
        let recorded = self.scale.to_real(segment.after);
        self.await_answer(&segment.expect, recorded + answer_wait);
    }

    /// Read until the module has said `expect`, or has said something else and then been
    /// quiet for [`QUIET`], or `limit` has passed.
    fn await_answer(&mut self, expect: &[u8], limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut got = Vec::new();
        loop {
            if got == expect {
                return;
            }
            let diverged = !expect.starts_with(&got);
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            let wait = if diverged {
                QUIET.min(deadline - now)
            } else {
                deadline - now
            };
            match self.host.rx.recv_timeout(wait) {
                Ok(bytes) => got.extend_from_slice(&bytes),
                Err(mpsc::RecvTimeoutError::Timeout) if diverged => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_masked_account_password_is_put_back() {
        assert_eq!(
            unmask(b"AT+QFTPCFG=\"account\",\"u\",\"****\"\r", "pw12"),
            b"AT+QFTPCFG=\"account\",\"u\",\"pw12\"\r".to_vec()
        );
        // Not masked, or another command: unchanged.
        let plain = b"AT+QFTPCFG=\"account\",\"u\",\"abc\"\r";
        assert_eq!(unmask(plain, "x"), plain.to_vec());
        assert_eq!(unmask(b"AT+QFTPCWD=\"/\"\r", "x"), b"AT+QFTPCWD=\"/\"\r");
    }

    #[test]
    fn segments_cut_where_the_module_spoke_and_blocks_join_inputs() {
        let text = "#! boot\n< RDY\\r\\n\n@+5ms\n> AT\\r\n@+1ms\n< AT\\r\\r\\nOK\\r\\n\n\
                    @+2ms\n> ab\n> cd\n= ftp upload-data \"abcd\"\n< x\n! ftp done ok\n";
        let lines = parse(text).unwrap();
        let segs = segments(&lines, None);
        assert_eq!(segs.len(), 3, "{segs:?}");
        assert_eq!(segs[0].expect, b"RDY\r\n");
        assert_eq!(
            segs[1].inputs,
            vec![(Duration::from_millis(5), b"AT\r".to_vec())]
        );
        assert_eq!(segs[1].after, Duration::from_millis(3));
        assert_eq!(segs[2].inputs.len(), 2);
        assert_eq!(
            blocks(&lines),
            "< RDY\\r\\n\n> AT\\r\n< AT\\r\\r\\n\n< OK\\r\\n\n> abcd\n< x\n\
             = ftp upload-data \"abcd\"\n"
        );
    }

    #[test]
    fn the_server_header_is_read() {
        assert_eq!(
            server_header("#! boot\n#! server embedded 127.0.0.1:2121 tls\n").unwrap(),
            Some(("127.0.0.1:2121".parse().unwrap(), true))
        );
        assert_eq!(server_header("#! boot\n").unwrap(), None);
        assert!(server_header("#! server embedded nowhere\n").is_err());
    }
}
