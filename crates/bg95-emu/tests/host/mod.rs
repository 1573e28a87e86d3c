//! The host side of the virtual serial port, for end-to-end tests: opens the tty like a
//! driver would and reads it on a thread, so expectations can wait with a deadline.
#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bg95_core::transcript::escape;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// How long an expectation waits for bytes that should come (generous: CI machines are slow;
/// this bounds a failure, it never measures speed).
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Host {
    tty: File,
    rx: mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    /// Tells the reader thread to stop, so a closed Host reads nothing more (a real host
    /// that closes the port reads nothing either).
    stop: Arc<AtomicBool>,
    /// While false the reader thread leaves the tty alone, like a host that is busy: the
    /// module's output then backs up (flow control through the PTY).
    reading: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Host {
    pub fn open(path: &Path) -> Host {
        let tty = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        let mut reader = tty.try_clone().unwrap();
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let reading = Arc::new(AtomicBool::new(true));
        let read_on = reading.clone();
        let reader = std::thread::spawn(move || {
            let mut b = vec![0u8; 65536];
            while !stopped.load(Ordering::Acquire) {
                if !read_on.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::from(20u8)) {
                    Ok(0) => continue,
                    Ok(_) => {}
                    Err(_) => break,
                }
                match reader.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(b[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Host {
            tty,
            rx,
            buf: Vec::new(),
            stop,
            reading,
            reader: Some(reader),
        }
    }

    /// Stop or resume reading the tty.
    pub fn set_reading(&mut self, on: bool) {
        self.reading.store(on, Ordering::Release);
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.tty.write_all(bytes).unwrap();
        self.tty.flush().unwrap();
    }

    fn pull(&mut self, until: Instant) -> bool {
        let left = until.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(b) => {
                self.buf.extend_from_slice(&b);
                true
            }
            Err(_) => false,
        }
    }

    /// Wait until `want` has arrived; it must be exactly the next bytes.
    pub fn try_expect(&mut self, want: &[u8]) -> Result<(), String> {
        let until = Instant::now() + WAIT;
        while self.buf.len() < want.len() {
            if !want.starts_with(&self.buf) || !self.pull(until) {
                break;
            }
        }
        if self.buf.starts_with(want) {
            self.buf.drain(..want.len());
            Ok(())
        } else {
            Err(format!(
                "expected \"{}\"\n     got \"{}\"",
                escape(want),
                escape(&self.buf)
            ))
        }
    }

    /// The boot URCs, then `ATE0` (echoed once, as the module still echoes it): where most
    /// tests start.
    pub fn boot_echo_off(&mut self) {
        self.expect(&boot_bytes());
        self.chat("ATE0\r", "ATE0\r\r\nOK\r\n");
    }

    pub fn expect(&mut self, want: &[u8]) {
        if let Err(e) = self.try_expect(want) {
            panic!("{e}");
        }
    }

    /// Send a command line and expect exactly `want` back.
    pub fn chat(&mut self, line: &str, want: &str) {
        self.send(line.as_bytes());
        self.expect(want.as_bytes());
    }

    /// Read until `n` bytes have arrived.
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let until = Instant::now() + WAIT;
        while self.buf.len() < n {
            assert!(
                self.pull(until),
                "timed out with {} of {n} bytes",
                self.buf.len()
            );
        }
        self.buf.drain(..n).collect()
    }

    /// Read until `needle` has arrived; returns everything up to and including it.
    pub fn read_until(&mut self, needle: &[u8]) -> Vec<u8> {
        self.read_until_within(needle, WAIT)
    }

    /// As [`Host::read_until`], waiting at most `wait` (for answers slower than [`WAIT`]).
    pub fn read_until_within(&mut self, needle: &[u8], wait: Duration) -> Vec<u8> {
        let until = Instant::now() + wait;
        // Search only what has not been searched yet (large downloads arrive in many pieces).
        let mut from = 0;
        loop {
            if let Some(i) = self.buf[from..]
                .windows(needle.len())
                .position(|w| w == needle)
            {
                return self.buf.drain(..from + i + needle.len()).collect();
            }
            from = self.buf.len().saturating_sub(needle.len() - 1);
            assert!(
                self.pull(until),
                "timed out waiting for \"{}\"; got \"{}\"",
                escape(needle),
                escape(&self.buf)
            );
        }
    }

    /// Whatever arrives within `d` (to check that nothing more came).
    pub fn drain_for(&mut self, d: Duration) -> Vec<u8> {
        let until = Instant::now() + d;
        while self.pull(until) {}
        std::mem::take(&mut self.buf)
    }
}

/// The boot URCs of the default personality, as the host reads them.
pub fn boot_bytes() -> Vec<u8> {
    let mut out = Vec::new();
    for urc in bg95_core::Personality::default().boot_urcs {
        out.extend_from_slice(format!("\r\n{urc}\r\n").as_bytes());
    }
    out
}

/// Play a transcript's host side through `host` and check every expected byte, then that
/// nothing more comes. Only `>`, `<` and `@` steps can run end to end.
pub fn play(host: &mut Host, lines: &[bg95_core::transcript::Line]) -> Result<(), String> {
    use bg95_core::transcript::Step;
    for l in lines {
        match &l.step {
            Step::Send(b) => host.send(b),
            Step::Expect(b) => host
                .try_expect(b)
                .map_err(|e| format!("line {}: {e}", l.number))?,
            Step::Wait(d) => std::thread::sleep(*d),
            _ => {
                return Err(format!(
                    "line {}: `!`/`=` steps need the core runner",
                    l.number
                ))
            }
        }
    }
    let rest = host.drain_for(Duration::from_millis(200));
    if rest.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "unexpected output at the end: {:?}",
            String::from_utf8_lossy(&rest)
        ))
    }
}
