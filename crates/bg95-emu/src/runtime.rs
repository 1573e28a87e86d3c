//! The event loop: one task owns the [`Module`] and moves bytes and events between it and
//! the world. It decides nothing a module decides.
//!
//! - PTY master → `handle_input(now, bytes)`; read only while the FTP driver keeps up with
//!   upload bytes (so a fast host is slowed like a UART with flow control).
//! - `poll_output()` → the writer task, which paces bytes at the baud rate (if any).
//! - `poll_effect()` → FTP driver requests, in order, or a baud change (in-band with output,
//!   so the `OK` of AT+IPR still goes out at the old rate).
//! - FTP driver events → `handle_completion`, taken only while the module wants them and the
//!   writer is not backed up: a host that reads slowly slows the download.
//! - `poll_timeout()` → a tokio sleep → `handle_timeout(now)`. Time is tokio time, so tests
//!   can pause the clock.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bg95_core::ftp::{FtpEvent, FtpRequest};
use bg95_core::{Completion, Effect, Instant, Module};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch, Notify};

use crate::ftp::FtpDriver;
use crate::pty::VirtualPort;
use crate::transcript::Recorder;

/// Upload chunks that may wait for the FTP driver before the PTY is no longer read.
const MAX_PENDING_REQUESTS: usize = 8;
/// Output bytes that may wait for the host before downloads stop being fed.
const WRITER_HIGH_WATER: usize = 64 * 1024;

/// The core's clock, read from tokio time (which tests can pause).
#[derive(Clone, Copy)]
pub struct Clock {
    start: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Self {
        Clock {
            start: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> Instant {
        Instant::from_micros(self.start.elapsed().as_micros() as u64)
    }

    pub fn to_tokio(&self, t: Instant) -> tokio::time::Instant {
        self.start + Duration::from_micros(t.as_micros())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

enum WriterMsg {
    Data(Vec<u8>),
    Baud(u32),
}

/// The task that writes module output to the PTY master at the module's pace.
struct Writer {
    tx: mpsc::UnboundedSender<WriterMsg>,
    in_flight: Arc<AtomicUsize>,
    drained: Arc<Notify>,
}

impl Writer {
    fn spawn(mut wr: pty_process::OwnedWritePty, baud: u32) -> Writer {
        let (tx, mut rx) = mpsc::unbounded_channel::<WriterMsg>();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let drained = Arc::new(Notify::new());
        let (count, notify) = (in_flight.clone(), drained.clone());
        tokio::spawn(async move {
            let mut baud = baud;
            while let Some(msg) = rx.recv().await {
                match msg {
                    WriterMsg::Baud(b) => baud = b,
                    WriterMsg::Data(bytes) => {
                        if let Err(e) = wr.write_all(&bytes).await {
                            tracing::warn!(target: "bg95::emu", "tty write failed: {e}");
                        }
                        if baud > 0 {
                            // 10 bits per byte on a UART: start, 8 data, stop.
                            let micros = bytes.len() as u64 * 10_000_000 / u64::from(baud);
                            tokio::time::sleep(Duration::from_micros(micros)).await;
                        }
                        count.fetch_sub(bytes.len(), Ordering::AcqRel);
                        notify.notify_one();
                    }
                }
            }
        });
        Writer {
            tx,
            in_flight,
            drained,
        }
    }

    fn send(&self, bytes: Vec<u8>) {
        self.in_flight.fetch_add(bytes.len(), Ordering::AcqRel);
        let _ = self.tx.send(WriterMsg::Data(bytes));
    }

    fn backed_up(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) >= WRITER_HIGH_WATER
    }
}

/// What the loop needs besides the module.
pub struct LoopParts {
    pub port: VirtualPort,
    pub clock: Clock,
    pub baud: u32,
    pub transcript: Option<Recorder>,
    /// Created as a symlink to the tty once the module takes AT input; removed at the end.
    pub tty_link: Option<PathBuf>,
    /// Where faults enter below the FTP driver (`NoFaults` in production).
    pub faults: std::sync::Arc<dyn crate::net::FaultSeam>,
}

/// Run the module until `shutdown` turns true.
///
/// `ready` fires once the module takes AT input (after its boot URCs are queued for the
/// host and the tty link exists).
pub async fn run_module(
    mut module: Module,
    parts: LoopParts,
    mut ready: Option<oneshot::Sender<()>>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let LoopParts {
        port,
        clock,
        baud,
        mut transcript,
        tty_link,
        faults,
    } = parts;
    let VirtualPort {
        master,
        slave: _slave,
        path: tty_path,
    } = port;
    let (mut rd, wr) = master.into_split();
    let writer = Writer::spawn(wr, baud);
    module.set_baud(baud);
    // The resolver and traffic counters join LoopParts with the QGDCNT/QIDNSGIP work; until
    // then the driver gets its own (the fault seam reaches both).
    let net = crate::ftp::DriverNet::with_faults(faults.clone());
    let mut driver = FtpDriver::spawn_net(crate::ftp::DriverConfig::default(), net.clone());
    let mut to_driver: VecDeque<FtpRequest> = VecDeque::new();
    let mut buf = vec![0u8; 4096];
    let mut link_made = false;
    let mut driver_died = false;

    let result = loop {
        // Drain everything the module has to say or have done.
        while let Some(out) = module.poll_output() {
            if let Some(t) = transcript.as_mut() {
                t.output(clock.now(), &out);
            }
            writer.send(out);
        }
        while let Some(effect) = module.poll_effect() {
            match effect {
                Effect::Ftp(req) => to_driver.push_back(*req),
                Effect::SetBaud(b) => {
                    let _ = writer.tx.send(WriterMsg::Baud(b));
                }
            }
        }
        if !link_made && module.accepts_at() {
            link_made = true;
            if let Some(link) = &tty_link {
                make_link(link, &tty_path)?;
            }
            if let Some(r) = ready.take() {
                let _ = r.send(());
            }
        }

        if std::mem::take(&mut driver_died) {
            driver = restart_driver(&mut module, &clock, &mut to_driver, &net);
            continue;
        }
        let deadline = module.poll_timeout().map(|t| clock.to_tokio(t));
        let feed_events = module.wants_data() && !writer.backed_up();
        let writer_blocked = module.wants_data() && writer.backed_up();
        tokio::select! {
            biased;
            _ = shutdown.changed() => break Ok(()),
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                module.handle_timeout(clock.now());
            }
            permit = driver.requests.reserve(), if !to_driver.is_empty() => match permit {
                Ok(p) => {
                    if let Some(req) = to_driver.pop_front() {
                        p.send(req);
                    }
                }
                Err(_) => driver_died = true,
            },
            ev = driver.events.recv(), if feed_events => match ev {
                Some(ev) => module.handle_completion(clock.now(), Completion::Ftp(ev)),
                None => driver_died = true,
            },
            _ = writer.drained.notified(), if writer_blocked => {}
            r = rd.read(&mut buf), if to_driver.len() < MAX_PENDING_REQUESTS => match r {
                Ok(0) => tokio::time::sleep(Duration::from_millis(10)).await,
                Ok(n) => {
                    let now = clock.now();
                    if let Some(t) = transcript.as_mut() {
                        t.input(now, &buf[..n]);
                    }
                    module.handle_input(now, &buf[..n]);
                }
                Err(e) => {
                    // With our own slave fd held open the master should not fail; if it
                    // does, do not spin.
                    tracing::warn!(target: "bg95::emu", "tty read failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    };
    if let Some(link) = &tty_link {
        if link_made {
            let _ = std::fs::remove_file(link);
        }
    }
    if let Some(t) = transcript.as_mut() {
        t.flush();
    }
    result
}

/// The driver task ended (it should not): start a new one, and tell the module that
/// whatever it was waiting for failed, so the host gets an answer.
fn restart_driver(
    module: &mut Module,
    clock: &Clock,
    to_driver: &mut VecDeque<FtpRequest>,
    net: &crate::ftp::DriverNet,
) -> FtpDriver {
    tracing::error!(target: "bg95::emu", "FTP driver stopped; restarting it");
    to_driver.clear();
    let failure = bg95_core::ftp::Failure::new(bg95_core::ftp::FailureKind::Other, 0);
    module.handle_completion(clock.now(), Completion::Ftp(FtpEvent::Done(Err(failure))));
    FtpDriver::spawn_net(crate::ftp::DriverConfig::default(), net.clone())
}

fn make_link(link: &std::path::Path, target: &std::path::Path) -> std::io::Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(link) {
        if meta.file_type().is_symlink() {
            std::fs::remove_file(link)?;
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a symlink", link.display()),
            ));
        }
    }
    std::os::unix::fs::symlink(target, link)
}
