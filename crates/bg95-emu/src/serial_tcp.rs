//! Serial over TCP (`serve --tcp ADDR`, `serve --rfc2217 ADDR`; docs/serial-tcp.md): the
//! module's serial port for hosts that reach it over a socket (pyserial `socket://` and
//! `rfc2217://`, QEMU `-serial tcp:…`, Renode, another container).
//!
//! A connection *is* a host opening the tty: the bridge opens the emulator's own tty (the
//! PTY slave, exactly as a host does) when a client connects and closes it when the client
//! goes, so a reconnect behaves as a tty reopen and every byte takes the path a PTY host's
//! takes (pacing, serial impairments, the transcript). One host at a time: a second
//! connection is closed at once. With RFC 2217 the telnet layer is decoded here
//! ([`Telnet`]); its signals reach the runtime's loop as [`ModuleRequest`]s: DTR
//! (`Module::handle_dtr`) and the line rate (the writer's pace).

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::control::ModuleRequest;

/// How the socket carries the serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialProtocol {
    /// Bytes as they are (pyserial `socket://`, QEMU `-serial tcp:`).
    Raw,
    /// Telnet with the COM-PORT-OPTION (RFC 2217, pyserial `rfc2217://`).
    Rfc2217,
}

/// Serve the tty at `tty` on `listeners` until `shutdown` turns true: one host at a time
/// over all of them.
pub async fn serve(
    listeners: Vec<(TcpListener, SerialProtocol)>,
    tty: PathBuf,
    signals: Option<mpsc::Sender<ModuleRequest>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (tx, mut accepted) = mpsc::channel(1);
    let acceptors: Vec<_> = listeners
        .into_iter()
        .map(|(listener, protocol)| {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Ok((stream, peer)) = listener.accept().await {
                    if tx.send((stream, peer, protocol)).await.is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let mut active: Option<tokio::task::JoinHandle<()>> = None;
    // True from a host's connect until its socket ends; its session then still closes the
    // tty (a reader thread may sit in `poll` for up to POLL ms), and the next host waits
    // for that, so no byte meant for it is read by the old session.
    let connected = Arc::new(AtomicBool::new(false));
    loop {
        let next = tokio::select! {
            _ = shutdown.wait_for(|s| *s) => None,
            next = accepted.recv() => next,
        };
        let Some((stream, peer, protocol)) = next else {
            break;
        };
        if connected.load(Ordering::Acquire) {
            tracing::info!(target: "bg95::serial", "{peer}: refused, a host is connected");
            drop(stream);
            continue;
        }
        if let Some(old) = active.take() {
            let _ = old.await;
        }
        tracing::info!(target: "bg95::serial", "{peer}: host connected ({protocol:?})");
        connected.store(true, Ordering::Release);
        let (tty, signals, connected) = (tty.clone(), signals.clone(), connected.clone());
        active = Some(tokio::spawn(async move {
            if let Err(e) = session(stream, protocol, &tty, signals, &connected).await {
                tracing::info!(target: "bg95::serial", "{peer}: {e}");
            }
            connected.store(false, Ordering::Release);
            tracing::info!(target: "bg95::serial", "{peer}: host gone");
        }));
    }
    if let Some(t) = active {
        t.abort();
    }
    for a in acceptors {
        a.abort();
    }
}

/// The tty opened as a host opens it, with a thread reading it and a thread writing it
/// (blocking I/O on its own threads: a tty write blocks while the module does not read,
/// which is the flow control a host sees, and must not hold a runtime worker).
/// [`TtyEnds::close`] stops both threads and waits until the tty is closed (within
/// [`POLL`] ms, or once a blocked write goes through).
struct TtyEnds {
    from_module: mpsc::Receiver<Vec<u8>>,
    to_module: mpsc::Sender<Vec<u8>>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// How often the reader thread looks at its stop flag while the tty is quiet.
const POLL: u8 = 20;

impl TtyEnds {
    fn open(path: &Path) -> std::io::Result<TtyEnds> {
        let flags = nix::fcntl::OFlag::O_NOCTTY;
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(flags.bits())
            .open(path)?;
        let mut reader = tty.try_clone()?;
        let mut writer = tty;
        let stop = Arc::new(AtomicBool::new(false));
        let (out_tx, from_module) = mpsc::channel::<Vec<u8>>(16);
        let (to_module, mut in_rx) = mpsc::channel::<Vec<u8>>(16);
        let stopped = stop.clone();
        let rd = std::thread::Builder::new()
            .name("bg95-serial-rd".into())
            .spawn(move || {
                let mut buf = vec![0u8; 4096];
                while !stopped.load(Ordering::Acquire) {
                    let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
                    match poll(&mut fds, PollTimeout::from(POLL)) {
                        Ok(0) => continue,
                        Ok(_) => {}
                        Err(nix::errno::Errno::EINTR) => continue,
                        Err(_) => break,
                    }
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if out_tx.blocking_send(buf[..n].to_vec()).is_err() {
                                break;
                            }
                        }
                    }
                }
            })?;
        let wr = std::thread::Builder::new()
            .name("bg95-serial-wr".into())
            .spawn(move || {
                while let Some(bytes) = in_rx.blocking_recv() {
                    if writer.write_all(&bytes).is_err() {
                        break;
                    }
                }
            })?;
        Ok(TtyEnds {
            from_module,
            to_module,
            stop,
            threads: vec![rd, wr],
        })
    }

    /// Stop both threads and wait until they have closed the tty.
    async fn close(self) {
        let TtyEnds {
            from_module,
            to_module,
            stop,
            threads,
        } = self;
        stop.store(true, Ordering::Release);
        drop((from_module, to_module));
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }

    async fn write(&self, bytes: Vec<u8>) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.to_module
            .send(bytes)
            .await
            .map_err(|_| std::io::Error::other("the tty writer stopped"))
    }
}

/// One client, until it goes (or the tty fails); the tty is closed when it returns.
async fn session(
    mut stream: TcpStream,
    protocol: SerialProtocol,
    tty_path: &Path,
    signals: Option<mpsc::Sender<ModuleRequest>>,
    connected: &AtomicBool,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut tty = TtyEnds::open(tty_path)?;
    let result = bridge(&mut stream, protocol, &mut tty, signals).await;
    connected.store(false, Ordering::Release);
    drop(stream);
    tty.close().await;
    result
}

/// Bytes both ways (and the telnet layer) until the client goes.
async fn bridge(
    stream: &mut TcpStream,
    protocol: SerialProtocol,
    tty: &mut TtyEnds,
    signals: Option<mpsc::Sender<ModuleRequest>>,
) -> std::io::Result<()> {
    let mut telnet = (protocol == SerialProtocol::Rfc2217).then(Telnet::new);
    if let Some(t) = telnet.as_mut() {
        stream.write_all(&t.greeting()).await?;
    }
    let (mut rd, mut wr) = stream.split();
    let mut from_host = vec![0u8; 4096];
    loop {
        tokio::select! {
            n = rd.read(&mut from_host) => {
                let n = n?;
                if n == 0 {
                    return Ok(());
                }
                let Some(t) = telnet.as_mut() else {
                    tty.write(from_host[..n].to_vec()).await?;
                    continue;
                };
                let out = t.decode(&from_host[..n]);
                if !out.reply.is_empty() {
                    wr.write_all(&out.reply).await?;
                }
                tty.write(out.data).await?;
                for s in out.signals {
                    tracing::debug!(target: "bg95::serial", "line signal {s:?}");
                    if let Some(tx) = &signals {
                        // The loop answers at once; a full queue waits (the host's next
                        // bytes wait with it, as behind a UART's flow control).
                        let _ = tx.send(s.into()).await;
                    }
                }
            }
            bytes = tty.from_module.recv() => {
                let Some(bytes) = bytes else {
                    return Err(std::io::Error::other("the tty reader stopped"));
                };
                match &telnet {
                    Some(_) => wr.write_all(&escape_iac(&bytes)).await?,
                    None => wr.write_all(&bytes).await?,
                }
            }
        }
    }
}

// ---- telnet / RFC 2217 -------------------------------------------------------------

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;
const BINARY: u8 = 0;
const ECHO: u8 = 1;
const SGA: u8 = 3;
/// RFC 2217 COM-PORT-OPTION.
const COM_PORT: u8 = 44;
/// Client→server COM-PORT-OPTION commands (the server answers with command + 100).
const SET_BAUDRATE: u8 = 1;
const SET_DATASIZE: u8 = 2;
const SET_PARITY: u8 = 3;
const SET_STOPSIZE: u8 = 4;
const SET_CONTROL: u8 = 5;
const SET_LINESTATE_MASK: u8 = 10;
const SET_MODEMSTATE_MASK: u8 = 11;
const PURGE_DATA: u8 = 12;
/// A subnegotiation longer than this is cut (ours are at most 5 bytes).
const MAX_SB: usize = 64;

/// 0xFF in data is doubled on a telnet connection.
fn escape_iac(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    for &b in bytes {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Iac,
    Verb(u8),
    Sb,
    SbIac,
}

/// What one piece of client bytes means.
#[derive(Debug, Default, PartialEq)]
pub struct Decoded {
    /// Serial data for the module.
    pub data: Vec<u8>,
    /// Telnet answers for the client.
    pub reply: Vec<u8>,
    /// Line changes for the module's loop.
    pub signals: Vec<LineSignal>,
}

/// A change of the serial line the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineSignal {
    Dtr(bool),
    Baud(u32),
}

impl From<LineSignal> for ModuleRequest {
    fn from(s: LineSignal) -> ModuleRequest {
        match s {
            LineSignal::Dtr(on) => ModuleRequest::Dtr(on),
            LineSignal::Baud(b) => ModuleRequest::Pace(b),
        }
    }
}

/// The server side of a telnet connection with the COM-PORT-OPTION: option negotiation,
/// data unescaping, and the subnegotiations pyserial's `rfc2217://` client sends.
#[derive(Debug)]
pub struct Telnet {
    state: State,
    sb: Vec<u8>,
    /// Options enabled on our side (WILL sent and agreed) and on theirs (DO sent).
    ours: [bool; 256],
    theirs: [bool; 256],
    baud: u32,
    dtr: bool,
}

impl Default for Telnet {
    fn default() -> Self {
        Telnet::new()
    }
}

impl Telnet {
    pub fn new() -> Telnet {
        Telnet {
            state: State::Data,
            sb: Vec::new(),
            ours: [false; 256],
            theirs: [false; 256],
            baud: 115_200,
            dtr: true,
        }
    }

    /// What the server offers at once: binary both ways, no go-ahead, it echoes (the module
    /// echoes, ATE), and the COM-PORT-OPTION.
    pub fn greeting(&mut self) -> Vec<u8> {
        for opt in [BINARY, SGA, ECHO, COM_PORT] {
            self.ours[usize::from(opt)] = true;
        }
        for opt in [BINARY, SGA] {
            self.theirs[usize::from(opt)] = true;
        }
        vec![
            IAC, WILL, BINARY, IAC, DO, BINARY, IAC, WILL, SGA, IAC, DO, SGA, IAC, WILL, ECHO, IAC,
            WILL, COM_PORT,
        ]
    }

    fn supported_ours(opt: u8) -> bool {
        matches!(opt, BINARY | SGA | ECHO | COM_PORT)
    }

    fn supported_theirs(opt: u8) -> bool {
        matches!(opt, BINARY | SGA | COM_PORT)
    }

    pub fn decode(&mut self, bytes: &[u8]) -> Decoded {
        let mut out = Decoded::default();
        for &b in bytes {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, _) => {
                    out.data.push(b);
                    State::Data
                }
                (State::Iac, IAC) => {
                    out.data.push(IAC);
                    State::Data
                }
                (State::Iac, WILL | WONT | DO | DONT) => State::Verb(b),
                (State::Iac, SB) => {
                    self.sb.clear();
                    State::Sb
                }
                // NOP, GA, BRK and the other two-byte commands: nothing for a serial line.
                (State::Iac, _) => State::Data,
                (State::Verb(verb), opt) => {
                    self.negotiate(verb, opt, &mut out.reply);
                    State::Data
                }
                (State::Sb, IAC) => State::SbIac,
                (State::Sb, _) => {
                    if self.sb.len() < MAX_SB {
                        self.sb.push(b);
                    }
                    State::Sb
                }
                (State::SbIac, IAC) => {
                    if self.sb.len() < MAX_SB {
                        self.sb.push(IAC);
                    }
                    State::Sb
                }
                (State::SbIac, SE) => {
                    let sb = std::mem::take(&mut self.sb);
                    self.subnegotiation(&sb, &mut out);
                    State::Data
                }
                (State::SbIac, _) => State::Data,
            };
        }
        out
    }

    /// Answer a DO/DONT/WILL/WONT only when it changes an option (RFC 854's rule against
    /// negotiation loops).
    fn negotiate(&mut self, verb: u8, opt: u8, reply: &mut Vec<u8>) {
        let i = usize::from(opt);
        match verb {
            DO if !self.ours[i] => {
                let yes = Self::supported_ours(opt);
                self.ours[i] = yes;
                reply.extend([IAC, if yes { WILL } else { WONT }, opt]);
            }
            WILL if !self.theirs[i] => {
                let yes = Self::supported_theirs(opt);
                self.theirs[i] = yes;
                reply.extend([IAC, if yes { DO } else { DONT }, opt]);
            }
            DONT if self.ours[i] => {
                self.ours[i] = false;
                reply.extend([IAC, WONT, opt]);
            }
            WONT if self.theirs[i] => {
                self.theirs[i] = false;
                reply.extend([IAC, DONT, opt]);
            }
            _ => {}
        }
    }

    /// `IAC SB COM-PORT-OPTION <command> <value> IAC SE`: every setting is accepted and
    /// answered with the value in force (RFC 2217: command + 100).
    fn subnegotiation(&mut self, sb: &[u8], out: &mut Decoded) {
        let [COM_PORT, command, value @ ..] = sb else {
            return;
        };
        let answer: Vec<u8> = match *command {
            SET_BAUDRATE => {
                let Ok(v) = <[u8; 4]>::try_from(value) else {
                    return;
                };
                let asked = u32::from_be_bytes(v);
                // 0 asks for the current rate.
                if asked != 0 && asked != self.baud {
                    self.baud = asked;
                    out.signals.push(LineSignal::Baud(asked));
                }
                self.baud.to_be_bytes().to_vec()
            }
            SET_CONTROL => vec![self.control(value.first().copied().unwrap_or(0), out)],
            // 8 data bits, no parity, 1 stop bit whatever is asked: a byte is a byte here.
            SET_DATASIZE | SET_PARITY | SET_STOPSIZE => {
                let v = value.first().copied().unwrap_or(0);
                let current = match *command {
                    SET_DATASIZE => 8,
                    _ => 1,
                };
                vec![if v == 0 { current } else { v }]
            }
            SET_LINESTATE_MASK | SET_MODEMSTATE_MASK | PURGE_DATA => value.to_vec(),
            _ => return,
        };
        out.reply.extend([IAC, SB, COM_PORT, command + 100]);
        out.reply.extend(escape_iac(&answer));
        out.reply.extend([IAC, SE]);
    }

    /// SET-CONTROL: DTR changes reach the module; flow control, BREAK and RTS are
    /// acknowledged (the virtual line has no use for them).
    fn control(&mut self, value: u8, out: &mut Decoded) -> u8 {
        match value {
            8 | 9 => {
                let on = value == 8;
                if on != self.dtr {
                    self.dtr = on;
                    out.signals.push(LineSignal::Dtr(on));
                }
                value
            }
            // Requests for the current state.
            0 => 1,
            4 => 6,
            7 => {
                if self.dtr {
                    8
                } else {
                    9
                }
            }
            10 => 11,
            13 => 14,
            v => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_unescapes_iac_and_output_escapes_it() {
        let mut t = Telnet::new();
        let out = t.decode(&[b'A', IAC, IAC, b'T', IAC, 241, b'\r']);
        assert_eq!(out.data, vec![b'A', 0xFF, b'T', b'\r']);
        assert!(out.reply.is_empty());
        assert_eq!(escape_iac(&[1, 0xFF, 2]), vec![1, 0xFF, 0xFF, 2]);
    }

    #[test]
    fn negotiation_answers_only_changes() {
        let mut t = Telnet::new();
        let out = t.decode(&[IAC, WILL, COM_PORT, IAC, DO, ECHO, IAC, DO, 24]);
        assert_eq!(
            out.reply,
            vec![IAC, DO, COM_PORT, IAC, WILL, ECHO, IAC, WONT, 24]
        );
        // Agreeing again is no change: no answer (no loop).
        let out = t.decode(&[IAC, WILL, COM_PORT, IAC, DO, ECHO]);
        assert!(out.reply.is_empty());
        let out = t.decode(&[IAC, DONT, ECHO]);
        assert_eq!(out.reply, vec![IAC, WONT, ECHO]);
    }

    #[test]
    fn baud_and_dtr_are_signals_and_every_setting_is_answered() {
        let mut t = Telnet::new();
        // SET-BAUDRATE 9600 (0x00002580), split across two reads.
        let mut out = t.decode(&[IAC, SB, COM_PORT, SET_BAUDRATE, 0, 0]);
        assert_eq!(out, Decoded::default());
        out = t.decode(&[0x25, 0x80, IAC, SE]);
        assert_eq!(out.signals, vec![LineSignal::Baud(9600)]);
        assert_eq!(
            out.reply,
            vec![IAC, SB, COM_PORT, 101, 0, 0, 0x25, 0x80, IAC, SE]
        );
        // DTR off, then on; the same state again is no signal.
        let out = t.decode(&[IAC, SB, COM_PORT, SET_CONTROL, 9, IAC, SE]);
        assert_eq!(out.signals, vec![LineSignal::Dtr(false)]);
        assert_eq!(out.reply, vec![IAC, SB, COM_PORT, 105, 9, IAC, SE]);
        let out = t.decode(&[
            IAC,
            SB,
            COM_PORT,
            SET_CONTROL,
            9,
            IAC,
            SE,
            IAC,
            SB,
            COM_PORT,
            SET_CONTROL,
            8,
            IAC,
            SE,
        ]);
        assert_eq!(out.signals, vec![LineSignal::Dtr(true)]);
        // Data size, parity, stop bits, flow control: acknowledged with their value.
        let out = t.decode(&[
            IAC,
            SB,
            COM_PORT,
            SET_DATASIZE,
            8,
            IAC,
            SE,
            IAC,
            SB,
            COM_PORT,
            SET_CONTROL,
            1,
            IAC,
            SE,
        ]);
        assert_eq!(
            out.reply,
            vec![IAC, SB, COM_PORT, 102, 8, IAC, SE, IAC, SB, COM_PORT, 105, 1, IAC, SE]
        );
        assert!(out.signals.is_empty());
    }

    #[test]
    fn hostile_input_is_bounded() {
        let mut t = Telnet::new();
        let mut junk = vec![IAC, SB, COM_PORT];
        junk.extend(std::iter::repeat_n(7u8, 10_000));
        let out = t.decode(&junk);
        assert!(out.data.is_empty());
        assert!(t.sb.len() <= MAX_SB);
        // A broken subnegotiation end returns to data.
        let out = t.decode(&[IAC, b'x', b'y']);
        assert_eq!(out.data, b"y");
    }
}
