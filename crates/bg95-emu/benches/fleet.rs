//! The fleet benchmark of issue 20: many modules in one process (`bg95_emu::fleet::Fleet`,
//! one tokio runtime with 2 workers), side by side with one module alone.
//!
//! - Idle fleet (`BG95_FLEET_IDLE`, default 200 modules): the time until every module takes
//!   AT input, and the process RSS per module above a one-module fleet's.
//! - AT round trip (`AT\r` → `\r\nOK\r\n`, echo off), p50/p99: one module alone, then every
//!   module of the idle fleet answering at once (one host thread per module, each doing
//!   `BG95_FLEET_AT` round trips, default 200): first each host sending one AT every
//!   `BG95_FLEET_PERIOD_MS` (default 10, the hosts' phases spread over the period), then
//!   all back to back (a closed loop: 200 requests always waiting).
//! - Downloads (`BG95_FLEET_GET`, default 50 modules): each does `AT+QFTPGET` of 1 MiB to
//!   COM: from the shared embedded server, all at once; every byte is checked; aggregate
//!   MB/s (10^6 bytes/s) from the first command to the last `+QFTPGET`.
//!
//! Run: `cargo bench -p bg95-emu --bench fleet`. Without `--bench` it does nothing.
//! Numbers and conditions: docs/performance.md.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bg95_emu::emulator::Config;
use bg95_emu::fleet::{Fleet, FleetConfig, FleetServer};
use nix::sys::termios::{tcgetattr, tcsetattr, SetArg, SpecialCharacterIndices};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const MIB: usize = 1 << 20;

/// A host's blocking end of a module's tty; a tty silent for 10 s is an error.
struct Tty {
    file: File,
    buf: Vec<u8>,
}

impl Tty {
    fn open(path: &Path) -> Res<Tty> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_NOCTTY)
            .open(path)?;
        let mut t = tcgetattr(file.as_fd())?;
        t.control_chars[SpecialCharacterIndices::VMIN as usize] = 0;
        t.control_chars[SpecialCharacterIndices::VTIME as usize] = 100;
        tcsetattr(file.as_fd(), SetArg::TCSANOW, &t)?;
        Ok(Tty {
            file,
            buf: Vec::new(),
        })
    }

    /// Read until `pat`; returns everything before it and drops it with `pat`.
    fn until(&mut self, pat: &[u8]) -> Res<Vec<u8>> {
        let mut chunk = vec![0u8; 65536];
        let mut from = 0;
        loop {
            if let Some(i) = self.buf[from..].windows(pat.len()).position(|w| w == pat) {
                let end = from + i;
                let out = self.buf[..end].to_vec();
                self.buf.drain(..end + pat.len());
                return Ok(out);
            }
            from = self.buf.len().saturating_sub(pat.len() - 1);
            let n = self.file.read(&mut chunk)?;
            if n == 0 {
                let got = String::from_utf8_lossy(&self.buf[self.buf.len().saturating_sub(200)..]);
                return Err(format!("tty silent waiting for {pat:?}; tail {got:?}").into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn send(&mut self, s: &str) -> Res<()> {
        self.file.write_all(s.as_bytes())?;
        Ok(())
    }

    /// Send `cmd` and read up to its `OK`.
    fn command(&mut self, cmd: &str) -> Res<()> {
        self.send(cmd)?;
        self.until(b"OK\r\n").map(|_| ())
    }

    /// `n` round trips of `AT\r`, each timed; with `period`, one starts every `period`
    /// (a device polling its modem) instead of back to back.
    fn round_trips_every(
        &mut self,
        n: usize,
        period: Option<Duration>,
        into: &mut Vec<Duration>,
    ) -> Res<()> {
        let start = Instant::now();
        for i in 0..n {
            if let Some(p) = period {
                let due = start + p * i as u32;
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
            let t = Instant::now();
            self.send("AT\r")?;
            let before = self.until(b"\r\nOK\r\n")?;
            into.push(t.elapsed());
            if !before.is_empty() {
                return Err(format!("unexpected bytes before OK: {before:?}").into());
            }
        }
        Ok(())
    }

    /// `n` round trips of `AT\r`, back to back, each timed.
    fn round_trips(&mut self, n: usize, into: &mut Vec<Duration>) -> Res<()> {
        self.round_trips_every(n, None, into)
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The process's resident set, KiB (`VmRSS` of /proc/self/status).
fn rss_kib() -> Res<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}

fn fleet(count: usize, root: Option<&Path>) -> Res<(Fleet, Duration)> {
    let start = Instant::now();
    let f = Fleet::spawn(FleetConfig {
        count,
        first_index: 0,
        base: Config {
            ftp_root: root.map(Path::to_path_buf),
            ..Config::default()
        },
        tty_link: None,
        ufs_root: None,
        scenarios: Vec::new(),
        server: FleetServer::Shared("127.0.0.1:0".parse()?),
    })?;
    Ok((f, start.elapsed()))
}

/// Echo off on every module (the boot URCs before it are skipped).
fn open_all(f: &Fleet) -> Res<Vec<Tty>> {
    (0..f.modules().len())
        .map(|n| {
            let mut t = Tty::open(f.tty_path(n))?;
            t.command("ATE0\r")?;
            Ok(t)
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    let i = (sorted.len() * p / 100).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1e6
}

/// Every tty does `n` round trips at once (after a warm-up), back to back or one every
/// `period` (host k starting k/len of a period later); all latencies, sorted. Returns the
/// ttys for the next run.
fn at_all_at_once(
    ttys: Vec<Tty>,
    n: usize,
    period: Option<Duration>,
) -> Res<(Vec<Duration>, Vec<Tty>)> {
    let count = ttys.len();
    let barrier = Arc::new(Barrier::new(count));
    let handles: Vec<_> = ttys
        .into_iter()
        .enumerate()
        .map(|(k, mut t)| {
            let b = barrier.clone();
            std::thread::spawn(move || -> Res<(Vec<Duration>, Tty)> {
                t.round_trips(20, &mut Vec::new())?;
                b.wait();
                if let Some(p) = period {
                    std::thread::sleep(p * k as u32 / count as u32);
                }
                let mut v = Vec::with_capacity(n);
                t.round_trips_every(n, period, &mut v)?;
                Ok((v, t))
            })
        })
        .collect();
    let (mut all, mut back) = (Vec::new(), Vec::new());
    for h in handles {
        let (v, t) = h.join().map_err(|_| "host thread panicked")??;
        all.extend(v);
        back.push(t);
    }
    all.sort();
    Ok((all, back))
}

/// One module logs in and downloads `big.bin` to COM:, checking every byte.
fn download(mut t: Tty, port: u16, expected: &[u8]) -> Res<()> {
    t.command("AT+QIACT=1\r")?;
    t.command("AT+QFTPCFG=\"contextid\",1\r")?;
    t.command("AT+QFTPCFG=\"account\",\"test\",\"test\"\r")?;
    t.command(&format!("AT+QFTPOPEN=\"127.0.0.1\",{port}\r"))?;
    t.until(b"+QFTPOPEN: 0,0\r\n")?;
    t.send("AT+QFTPGET=\"big.bin\",\"COM:\"\r")?;
    t.until(b"\r\nCONNECT\r\n")?;
    let data = t.until(b"\r\nOK\r\n\r\n+QFTPGET: 0,")?;
    let count = t.until(b"\r\n")?;
    if data != expected || count != expected.len().to_string().as_bytes() {
        return Err(format!("module got {} bytes, not the file", data.len()).into());
    }
    Ok(())
}

fn test_data(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn run() -> Res<()> {
    let idle = env_usize("BG95_FLEET_IDLE", 200);
    let at_n = env_usize("BG95_FLEET_AT", 200);
    let getters = env_usize("BG95_FLEET_GET", 50);
    // Each module holds a PTY pair and the host one more descriptor.
    let lim = nix::sys::resource::Resource::RLIMIT_NOFILE;
    let (_, hard) = nix::sys::resource::getrlimit(lim)?;
    nix::sys::resource::setrlimit(lim, hard, hard)?;
    println!(
        "fleet bench: {} CPU(s)",
        std::thread::available_parallelism()?.get()
    );

    let rss_empty = rss_kib()?;
    let (one, one_start) = fleet(1, None)?;
    let rss_one = rss_kib()?;
    let mut lat = Vec::new();
    let mut tty = open_all(&one)?.pop().ok_or("no tty")?;
    tty.round_trips(200, &mut Vec::new())?;
    tty.round_trips(at_n * 5, &mut lat)?;
    lat.sort();
    drop(tty);
    one.stop()?;
    println!(
        "one module: start {:.1} ms, RSS +{} KiB over an empty process",
        one_start.as_secs_f64() * 1e3,
        rss_one.saturating_sub(rss_empty)
    );
    let (one_p50, one_p99) = (percentile(&lat, 50), percentile(&lat, 99));

    let rss_before = rss_kib()?;
    let (many, start) = fleet(idle, None)?;
    let rss_many = rss_kib()?;
    let per_module = rss_many.saturating_sub(rss_before) as f64 / idle as f64;
    println!(
        "{idle} idle modules: start {:.0} ms ({:.2} ms each), RSS +{} KiB = {per_module:.0} KiB per module (goal <= 1024)",
        start.as_secs_f64() * 1e3,
        start.as_secs_f64() * 1e3 / idle as f64,
        rss_many.saturating_sub(rss_before)
    );
    let ttys = open_all(&many)?;
    let period = Duration::from_millis(env_usize("BG95_FLEET_PERIOD_MS", 10) as u64);
    let (paced, ttys) = at_all_at_once(ttys, at_n, Some(period))?;
    let (all, _ttys) = at_all_at_once(ttys, at_n, None)?;
    let (p50, p99) = (percentile(&all, 50), percentile(&all, 99));
    let (q50, q99) = (percentile(&paced, 50), percentile(&paced, 99));
    let rate = idle as f64 * 1000.0 / period.as_millis().max(1) as f64;
    println!(
        "AT round trip, microseconds              p50       p99   ratio p50, p99 to one alone"
    );
    println!("  one module alone, back to back    {one_p50:9.1} {one_p99:9.1}");
    println!(
        "  {idle} modules, one AT per {} ms each {q50:9.1} {q99:9.1}   {:.2}, {:.2} (p50 goal <= 2.00; {rate:.0} AT/s in all)",
        period.as_millis(),
        q50 / one_p50,
        q99 / one_p99
    );
    println!(
        "  {idle} modules, all back to back   {p50:9.1} {p99:9.1}   {:.2}, {:.2} ({} round trips, about {:.0} AT/s in all)",
        p50 / one_p50,
        p99 / one_p99,
        all.len(),
        idle as f64 * 1e6 / p50
    );
    many.stop()?;

    let root = tempfile::tempdir()?;
    let data = Arc::new(test_data(MIB));
    std::fs::write(root.path().join("big.bin"), data.as_slice())?;
    let (dl, _) = fleet(getters, Some(root.path()))?;
    let port = dl.shared_ftp().ok_or("no shared server")?.port();
    let ttys = open_all(&dl)?;
    let t0 = Instant::now();
    let handles: Vec<_> = ttys
        .into_iter()
        .map(|t| {
            let d = data.clone();
            std::thread::spawn(move || download(t, port, &d))
        })
        .collect();
    let mut failed = 0;
    for h in handles {
        if let Err(e) = h.join().map_err(|_| "host thread panicked")? {
            eprintln!("download: {e}");
            failed += 1;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    dl.stop()?;
    println!(
        "{getters} modules GET 1 MiB to COM: at once: {} of {getters} with every byte right, {:.2} s, aggregate {:.1} MB/s",
        getters - failed,
        secs,
        (getters * MIB) as f64 / secs / 1e6
    );
    if failed > 0 {
        return Err(format!("{failed} downloads failed").into());
    }
    Ok(())
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("fleet: a benchmark; run with `cargo bench -p bg95-emu --bench fleet`");
        return;
    }
    if let Err(e) = run() {
        eprintln!("fleet bench: {e}");
        std::process::exit(1);
    }
}
