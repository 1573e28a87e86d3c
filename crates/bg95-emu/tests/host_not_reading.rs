//! A host that writes and never reads: a real UART cannot queue without bound, so the
//! emulator stops reading the host's input once the output waiting for the host passes the
//! `Limits` high water, and the PTY then blocks the host's writes (flow control). The real
//! `bg95-emu serve` is offered 200 MB (echo on) and a stream of `AT\r` (echo off) that
//! nobody reads; its resident memory must stay under [`RSS_BOUND`] (docs/performance.md)
//! — before, 200 MB grew it to 222 MB. Then the host reads: every byte comes back (nothing
//! lost) and the module answers again. The assertions are on memory and bytes, never on
//! time; the only waits bound a failure.

#![cfg(unix)]

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// The documented bound on the emulator's resident memory while the host does not read
/// (docs/performance.md, "A host that does not read").
const RSS_BOUND: u64 = 32 * 1024 * 1024;
/// What the host tries to write.
const OFFERED: usize = 200 * 1024 * 1024;
/// A writer whose writes have not been taken for this long is held by flow control (this
/// only ends the writing phase; the test asserts on memory, whatever it was).
const STALLED: Duration = Duration::from_secs(3);

fn rss(child: &Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

fn start() -> (Child, File) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["serve", "--ftp-server", "off"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let path = line.trim().strip_prefix("tty: ").unwrap().to_string();
    let tty = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&path)
        .unwrap();
    (child, tty)
}

/// Write `pattern` repeatedly without reading until `OFFERED` bytes are taken or the writes
/// stall; returns (bytes taken, the largest RSS seen).
fn write_unread(child: &Child, tty: &mut File, pattern: &[u8]) -> (usize, u64) {
    // A whole number of patterns (65535 = 3 * 5 * 4369), so writes continue it seamlessly.
    let chunk: Vec<u8> = pattern.iter().copied().cycle().take(65535).collect();
    let (mut taken, mut max_rss, mut at) = (0usize, 0u64, 0usize);
    let mut samples = 0u32;
    while taken < OFFERED {
        match tty.write(&chunk[at..]) {
            Ok(n) => {
                taken += n;
                at = (at + n) % chunk.len();
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let mut fds = [PollFd::new(tty.as_fd(), PollFlags::POLLOUT)];
                let ms = u16::try_from(STALLED.as_millis()).unwrap();
                if poll(&mut fds, PollTimeout::from(ms)).unwrap() == 0 {
                    break;
                }
            }
            Err(e) => panic!("tty write: {e}"),
        }
        samples += 1;
        if samples & 63 == 0 {
            max_rss = max_rss.max(rss(child));
        }
    }
    let max_rss = max_rss.max(rss(child));
    eprintln!(
        "{taken} bytes taken, {} KiB resident at most",
        max_rss >> 10
    );
    (taken, max_rss)
}

/// Read everything the module says until `want` bytes of `byte` came (bounded wait).
fn read_all(tty: &mut File, count: impl Fn(&[u8]) -> usize, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut b = vec![0u8; 65536];
    let until = Instant::now() + Duration::from_secs(120);
    while count(&got) < want && Instant::now() < until {
        let mut fds = [PollFd::new(tty.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(100u8)).unwrap() == 0 {
            continue;
        }
        match tty.read(&mut b) {
            Ok(n) => got.extend_from_slice(&b[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("tty read: {e}"),
        }
    }
    got
}

fn send(tty: &mut File, bytes: &[u8]) {
    let mut fds = [PollFd::new(tty.as_fd(), PollFlags::POLLOUT)];
    poll(&mut fds, PollTimeout::from(1000u16)).unwrap();
    tty.write_all(bytes).unwrap();
}

#[test]
fn echoed_noise_the_host_never_reads_stays_bounded_and_is_all_delivered() {
    let (mut child, mut tty) = start();
    let (taken, max_rss) = write_unread(&child, &mut tty, b"x");
    assert!(
        max_rss < RSS_BOUND,
        "{} MiB resident after {taken} unread bytes",
        max_rss >> 20
    );
    assert!(
        taken < OFFERED,
        "the writes were never held ({taken} bytes taken)"
    );
    // The host reads now: every echoed byte arrives, then the module answers.
    let xs = |b: &[u8]| b.iter().filter(|&&c| c == b'x').count();
    let got = read_all(&mut tty, xs, taken);
    assert_eq!(xs(&got), taken, "every byte the host wrote was echoed");
    send(&mut tty, b"\rAT\r");
    let ok = read_all(
        &mut tty,
        |b| b.windows(4).filter(|w| w == b"OK\r\n").count(),
        1,
    );
    assert!(
        ok.ends_with(b"AT\r\r\nOK\r\n"),
        "{:?}",
        String::from_utf8_lossy(&ok)
    );
    assert!(rss(&child) < RSS_BOUND);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn answers_the_host_never_reads_stay_bounded_and_are_all_delivered() {
    let (mut child, mut tty) = start();
    send(&mut tty, b"ATE0\r");
    let oks = |b: &[u8]| b.windows(4).filter(|w| w == b"OK\r\n").count();
    read_all(&mut tty, oks, 1);
    let (taken, max_rss) = write_unread(&child, &mut tty, b"AT\r");
    assert!(
        max_rss < RSS_BOUND,
        "{} MiB resident after {taken} unread bytes",
        max_rss >> 20
    );
    assert!(
        taken < OFFERED,
        "the writes were never held ({taken} bytes taken)"
    );
    let got = read_all(&mut tty, oks, taken / 3);
    assert_eq!(oks(&got), taken / 3, "every AT was answered");
    child.kill().unwrap();
    child.wait().unwrap();
}
