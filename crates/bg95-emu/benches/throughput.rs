//! The benchmark of issue 4: COM: throughput and AT round trip of the virtual BG95, side by
//! side with floors measured in the same run on the same machine.
//!
//! - COM: GET / PUT of a file (64 MiB; `BG95_BENCH_MB` changes it) through the PTY, against
//!   the embedded FTP server on 127.0.0.1, versus two floors: the same transfer done directly
//!   with suppaftp (no emulator, same server), and the raw PTY (bytes pushed through a bare
//!   PTY pair, read by the same host reader). Target: ≥ 0.9 × the smaller floor.
//! - AT round trip (`AT\r` → `\r\nOK\r\n`, echo off), p50/p99 over 10,000 commands
//!   (`BG95_BENCH_AT`), versus two responders on their own PTYs that answer every line with
//!   OK: a blocking single thread (the floor; target p50 ≤ 1.1 × it) and a task on a
//!   2-worker tokio runtime (target p50 ≤ 1.2 × it).
//!
//! Run: `cargo bench -p bg95-emu --bench throughput`. `BG95_BENCH_ROUNDS` (default 3) sets
//! how many times each transfer is measured (the median is reported); `BG95_BENCH_ONLY`
//! (comma-separated, see [`PARTS`]) runs a subset, for profiling. Without `--bench`
//! (`cargo test --benches`, `--all-targets`) it does nothing: it is a benchmark, not a test.
//! See docs/performance.md.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bg95_emu::pty::VirtualPort;
use bg95_emu::Emulator;
use nix::sys::termios::{tcgetattr, tcsetattr, SetArg, SpecialCharacterIndices};
use suppaftp::tokio::AsyncFtpStream;
use suppaftp::types::FileType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

/// The host reads with buffers this large (a PTY hands out far less per read).
const READ_BUF: usize = 1 << 20;
/// The host (and the raw-PTY pusher) writes in chunks this large.
const WRITE_CHUNK: usize = 64 * 1024;
/// A tty silent for this long (deciseconds, VTIME) fails the benchmark instead of hanging it.
const SILENCE_DS: u8 = 150;
/// AT commands sent (to each responder) before measuring.
const AT_WARMUP: usize = 500;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Settings {
    mib: usize,
    rounds: usize,
    at_count: usize,
    /// `BG95_BENCH_ONLY`: the parts to run (default all), for profiling one of them.
    only: Option<Vec<String>>,
}

/// The parts, in the order they run; `BG95_BENCH_ONLY` takes a comma-separated list.
const PARTS: [&str; 7] = [
    "raw-get",
    "direct-get",
    "com-get",
    "raw-put",
    "direct-put",
    "com-put",
    "at",
];

impl Settings {
    fn runs(&self, part: usize) -> bool {
        match &self.only {
            None => true,
            Some(o) => o.iter().any(|p| p == PARTS[part]),
        }
    }
}

fn env_usize(name: &str, default: usize) -> Res<usize> {
    match std::env::var(name) {
        Ok(v) => Ok(v.trim().parse().map_err(|e| format!("{name}={v}: {e}"))?),
        Err(_) => Ok(default),
    }
}

/// The host end of a tty: blocking reads into a large buffer, blocking writes.
struct Tty {
    file: File,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Tty {
    fn open(path: &Path) -> Res<Tty> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_NOCTTY)
            .open(path)
            .map_err(|e| format!("open {}: {e}", path.display()))?;
        // The port is raw already; VMIN 0 + VTIME makes a silent tty return 0 instead of
        // blocking for ever.
        let mut t = tcgetattr(file.as_fd())?;
        t.control_chars[SpecialCharacterIndices::VMIN as usize] = 0;
        t.control_chars[SpecialCharacterIndices::VTIME as usize] = SILENCE_DS;
        tcsetattr(file.as_fd(), SetArg::TCSANOW, &t)?;
        Ok(Tty {
            file,
            buf: vec![0; READ_BUF],
            start: 0,
            end: 0,
        })
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// One read() into the free end of the buffer.
    fn fill(&mut self, waiting_for: &str) -> Res<()> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.start == 0 {
                return Err(format!("over {READ_BUF} bytes without {waiting_for}").into());
            }
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            match self.file.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    return Err(format!(
                        "tty silent for {} s while waiting for {waiting_for}; buffered: {:?}",
                        SILENCE_DS / 10,
                        String::from_utf8_lossy(self.buffered())
                    )
                    .into())
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Read until `pat` has arrived; consume and return everything up to and including it.
    fn until(&mut self, pat: &[u8]) -> Res<Vec<u8>> {
        let mut searched: usize = 0;
        loop {
            let have = self.buffered();
            let from = searched.saturating_sub(pat.len() - 1);
            if let Some(i) = have[from..].windows(pat.len()).position(|w| w == pat) {
                let end = from + i + pat.len();
                let out = have[..end].to_vec();
                self.start += end;
                return Ok(out);
            }
            searched = have.len();
            self.fill(&String::from_utf8_lossy(pat))?;
        }
    }

    /// The next bytes must be `want`.
    fn expect(&mut self, want: &[u8]) -> Res<()> {
        while self.buffered().len() < want.len() {
            if !want.starts_with(self.buffered()) {
                break;
            }
            self.fill(&String::from_utf8_lossy(want))?;
        }
        let n = want.len().min(self.buffered().len());
        if &self.buffered()[..n] != want {
            return Err(format!(
                "expected {:?}, got {:?}",
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(self.buffered())
            )
            .into());
        }
        self.start += n;
        Ok(())
    }

    /// The next `expected.len()` bytes must equal `expected` (compared as they arrive).
    fn take_checked(&mut self, expected: &[u8]) -> Res<()> {
        let mut off = 0;
        while off < expected.len() {
            if self.start == self.end {
                self.fill("data")?;
            }
            let k = (self.end - self.start).min(expected.len() - off);
            let got = &self.buf[self.start..self.start + k];
            if got != &expected[off..off + k] {
                let at = got
                    .iter()
                    .zip(&expected[off..])
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                return Err(format!("data differ at byte {}", off + at).into());
            }
            self.start += k;
            off += k;
        }
        Ok(())
    }

    fn send(&mut self, bytes: &[u8]) -> Res<()> {
        self.file.write_all(bytes)?;
        Ok(())
    }

    fn send_chunked(&mut self, bytes: &[u8]) -> Res<()> {
        for c in bytes.chunks(WRITE_CHUNK) {
            self.file.write_all(c)?;
        }
        Ok(())
    }

    /// Send a command and read its answer up to and including `\r\nOK\r\n`.
    fn command(&mut self, cmd: &str) -> Res<String> {
        self.send(cmd.as_bytes())?;
        let got = self.until(b"\r\n")?;
        // With echo on, the echo comes first; read on until a final result.
        let mut text = String::from_utf8_lossy(&got).into_owned();
        while !text.ends_with("\r\nOK\r\n") {
            if text.contains("ERROR") && text.ends_with("\r\n") && !text.ends_with("\r\n\r\n") {
                return Err(format!("{cmd:?} → {text:?}").into());
            }
            text.push_str(&String::from_utf8_lossy(&self.until(b"\r\n")?));
        }
        Ok(text)
    }
}

/// Deterministic pseudo-random bytes (every byte value, CR LF and `+` included).
fn test_data(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

/// Busy CPU time of the whole machine so far (all CPUs, kernel threads included), in
/// clock ticks, from the `cpu` line of /proc/stat.
fn busy_ticks() -> Res<u64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().ok_or("empty /proc/stat")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = v.iter().take(8).sum();
    Ok(total - v.get(3).copied().unwrap_or(0) - v.get(4).copied().unwrap_or(0))
}

/// One timed transfer: its throughput and the CPU the machine spent meanwhile.
struct Sample {
    mbps: f64,
    cores: f64,
    cpu_ms_per_mb: f64,
}

impl std::fmt::Display for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.0} ({:.1})", self.mbps, self.cores)
    }
}

fn measure(bytes: usize, f: impl FnOnce() -> Res<Duration>) -> Res<Sample> {
    // /proc/stat counts in USER_HZ, 100 on Linux.
    let ticks_per_s = 100.0;
    let b0 = busy_ticks()?;
    let w0 = Instant::now();
    let took = f()?;
    let wall = w0.elapsed();
    let busy_s = (busy_ticks()? - b0) as f64 / ticks_per_s;
    Ok(Sample {
        mbps: mb_per_s(bytes, took),
        cores: busy_s / wall.as_secs_f64(),
        cpu_ms_per_mb: busy_s * 1000.0 / (bytes as f64 / 1e6),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Module → host floor: bytes pushed into a bare PTY master, read from the slave by [`Tty`].
fn raw_pty_down(rt: &Runtime, data: &Arc<Vec<u8>>) -> Res<Duration> {
    let port = {
        let _g = rt.enter();
        VirtualPort::open()?
    };
    let mut tty = Tty::open(&port.path)?;
    let VirtualPort { master, slave, .. } = port;
    let src = data.clone();
    let t0 = Instant::now();
    let pusher = rt.spawn(async move {
        let mut m = master;
        for c in src.chunks(WRITE_CHUNK) {
            m.write_all(c).await?;
        }
        Ok::<_, std::io::Error>(m)
    });
    tty.take_checked(data)?;
    let took = t0.elapsed();
    drop(rt.block_on(pusher)??);
    drop(slave);
    Ok(took)
}

/// Host → module floor: [`Tty`] writes into the slave, a task reads the bare master.
fn raw_pty_up(rt: &Runtime, data: &Arc<Vec<u8>>) -> Res<Duration> {
    let port = {
        let _g = rt.enter();
        VirtualPort::open()?
    };
    let mut tty = Tty::open(&port.path)?;
    let VirtualPort { master, slave, .. } = port;
    let want = data.clone();
    let t0 = Instant::now();
    let reader = rt.spawn(async move {
        let mut m = master;
        let mut buf = vec![0u8; WRITE_CHUNK];
        let mut off = 0;
        while off < want.len() {
            let n = m.read(&mut buf).await?;
            if n == 0 || buf[..n] != want[off..off + n] {
                return Err(std::io::Error::other(format!(
                    "raw PTY up: bad bytes at {off}"
                )));
            }
            off += n;
        }
        Ok(Instant::now())
    });
    tty.send_chunked(data)?;
    let done = rt.block_on(reader)??;
    drop(slave);
    Ok(done - t0)
}

async fn ftp_login(addr: SocketAddr) -> Res<AsyncFtpStream> {
    let mut ftp = AsyncFtpStream::connect(addr).await?;
    ftp.login(bg95_emu::server::USER, bg95_emu::server::PASSWORD)
        .await?;
    ftp.transfer_type(FileType::Binary).await?;
    Ok(ftp)
}

/// Floor: the file fetched directly with suppaftp (RETR to reply 226), same reader buffer.
async fn direct_get(addr: SocketAddr, name: &str, expected: &[u8]) -> Res<Duration> {
    let mut ftp = ftp_login(addr).await?;
    let mut buf = vec![0u8; READ_BUF];
    let t0 = Instant::now();
    let mut s = ftp.retr_as_stream(name).await?;
    let mut off = 0;
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if off + n > expected.len() || buf[..n] != expected[off..off + n] {
            return Err(format!("direct GET: bad bytes at {off}").into());
        }
        off += n;
    }
    s.finish().await?;
    let took = t0.elapsed();
    if off != expected.len() {
        return Err(format!("direct GET: {off} bytes of {}", expected.len()).into());
    }
    let _ = ftp.quit().await;
    Ok(took)
}

/// Floor: the file stored directly with suppaftp (STOR to reply 226).
async fn direct_put(addr: SocketAddr, name: &str, data: &[u8]) -> Res<Duration> {
    let mut ftp = ftp_login(addr).await?;
    let t0 = Instant::now();
    let mut s = ftp.put_with_stream(name).await?;
    for c in data.chunks(WRITE_CHUNK) {
        s.write_all(c).await?;
    }
    s.finish().await?;
    let took = t0.elapsed();
    let _ = ftp.quit().await;
    Ok(took)
}

/// A COM: download through the emulator: command sent → `+QFTPGET: 0,<n>` read.
fn com_get(tty: &mut Tty, name: &str, expected: &[u8]) -> Res<Duration> {
    let t0 = Instant::now();
    tty.send(format!("AT+QFTPGET=\"{name}\",\"COM:\"\r").as_bytes())?;
    tty.expect(b"\r\nCONNECT\r\n")?;
    tty.take_checked(expected)?;
    tty.expect(format!("\r\nOK\r\n\r\n+QFTPGET: 0,{}\r\n", expected.len()).as_bytes())?;
    Ok(t0.elapsed())
}

/// A COM: upload through the emulator: command sent → `+QFTPPUT: 0,<n>` read.
fn com_put(tty: &mut Tty, name: &str, data: &[u8]) -> Res<Duration> {
    let t0 = Instant::now();
    tty.send(format!("AT+QFTPPUT=\"{name}\",\"COM:\",0,{},1\r", data.len()).as_bytes())?;
    tty.expect(b"\r\nCONNECT\r\n")?;
    tty.send_chunked(data)?;
    tty.expect(format!("\r\nOK\r\n\r\n+QFTPPUT: 0,{}\r\n", data.len()).as_bytes())?;
    Ok(t0.elapsed())
}

fn check_file(path: &Path, data: &[u8]) -> Res<()> {
    let got = std::fs::read(path)?;
    if got != data {
        return Err(format!(
            "{}: {} bytes, not the {} sent (or different)",
            path.display(),
            got.len(),
            data.len()
        )
        .into());
    }
    std::fs::remove_file(path)?;
    Ok(())
}

/// The trivial responder: a bare PTY whose master answers every CR-ended line with OK,
/// on the same kind of runtime as the emulator (tokio, two workers).
fn spawn_trivial(rt: &Runtime) -> Res<(PathBuf, tokio::task::JoinHandle<()>)> {
    let port = {
        let _g = rt.enter();
        VirtualPort::open()?
    };
    let VirtualPort {
        master,
        slave,
        path,
    } = port;
    let task = rt.spawn(async move {
        let _slave = slave;
        let mut m = master;
        let mut buf = vec![0u8; 4096];
        let mut out = Vec::new();
        loop {
            let n = match m.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            out.clear();
            for _ in buf[..n].iter().filter(|&&b| b == b'\r') {
                out.extend_from_slice(b"\r\nOK\r\n");
            }
            if !out.is_empty() && m.write_all(&out).await.is_err() {
                break;
            }
        }
    });
    Ok((path, task))
}

/// The floor of the AT round trip: a PTY whose master a plain blocking thread reads and
/// answers (every CR → `\r\nOK\r\n`), with no runtime, task or thread hop in between. The
/// thread lives until the process ends.
fn spawn_blocking_responder() -> Res<PathBuf> {
    let pty = nix::pty::openpty(None, None)?;
    let mut t = tcgetattr(pty.slave.as_fd())?;
    nix::sys::termios::cfmakeraw(&mut t);
    tcsetattr(pty.slave.as_fd(), SetArg::TCSANOW, &t)?;
    let path = nix::unistd::ttyname(pty.slave.as_fd())?;
    let (master, slave) = (File::from(pty.master), pty.slave);
    std::thread::Builder::new()
        .name("blocking-responder".into())
        .spawn(move || {
            let _slave = slave;
            let mut m = master;
            let mut buf = vec![0u8; 4096];
            let mut out = Vec::new();
            while let Ok(n) = m.read(&mut buf) {
                if n == 0 {
                    break;
                }
                out.clear();
                for _ in buf[..n].iter().filter(|&&b| b == b'\r') {
                    out.extend_from_slice(b"\r\nOK\r\n");
                }
                if !out.is_empty() && m.write_all(&out).is_err() {
                    break;
                }
            }
        })?;
    Ok(path)
}

/// AT round trips: `AT\r` → `\r\nOK\r\n`, one at a time, each timed.
fn round_trips(tty: &mut Tty, n: usize, into: &mut Vec<Duration>) -> Res<()> {
    for _ in 0..n {
        let t0 = Instant::now();
        tty.send(b"AT\r")?;
        tty.expect(b"\r\nOK\r\n")?;
        into.push(t0.elapsed());
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "throughput: a benchmark, not a test; run `cargo bench -p bg95-emu --bench throughput`"
        );
        return;
    }
    if let Err(e) = run() {
        eprintln!("throughput benchmark failed: {e}");
        std::process::exit(1);
    }
}

struct Machine {
    cpus: usize,
    cpu: String,
    kernel: String,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown kernel".into());
    Machine {
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu,
        kernel,
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn run() -> Res<()> {
    let s = Settings {
        mib: env_usize("BG95_BENCH_MB", 64)?.max(1),
        rounds: env_usize("BG95_BENCH_ROUNDS", 3)?.max(1),
        at_count: env_usize("BG95_BENCH_AT", 10_000)?.max(100),
        only: match std::env::var("BG95_BENCH_ONLY") {
            Ok(v) => {
                let parts: Vec<String> = v.split(',').map(|p| p.trim().to_string()).collect();
                if let Some(bad) = parts.iter().find(|p| !PARTS.contains(&p.as_str())) {
                    return Err(format!(
                        "BG95_BENCH_ONLY: unknown part {bad:?}; parts: {}",
                        PARTS.join(",")
                    )
                    .into());
                }
                Some(parts)
            }
            Err(_) => None,
        },
    };
    let m = machine();
    println!(
        "bg95-emu benchmark (issue 4): {} CPU(s), {}, Linux {}",
        m.cpus, m.cpu, m.kernel
    );
    println!(
        "file {} MiB, {} round(s) per transfer (median), {} AT commands per responder",
        s.mib, s.rounds, s.at_count
    );

    let len = s.mib << 20;
    let data = Arc::new(test_data(len));
    let root = tempfile::Builder::new()
        .prefix("bg95-bench-root-")
        .tempdir()?;
    std::fs::write(root.path().join("big.bin"), &*data)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let emu = Emulator::builder()
        .ftp_server(SocketAddr::from(([127, 0, 0, 1], 0)))
        .ftp_root(root.path())
        .spawn()?;
    let addr = emu.ftp_addr().ok_or("the emulator started no FTP server")?;
    let mut tty = Tty::open(emu.tty_path())?;
    tty.until(b"APP RDY\r\n")?;
    tty.command("ATE0\r")?;
    tty.command("AT+QIACT=1\r")?;
    tty.command("AT+QFTPCFG=\"account\",\"test\",\"test\"\r")?;
    tty.command("AT+QFTPCFG=\"filetype\",0\r")?;
    tty.command(&format!("AT+QFTPOPEN=\"127.0.0.1\",{}\r", addr.port()))?;
    tty.until(b"\r\n+QFTPOPEN: ")?;
    let open = tty.until(b"\r\n")?;
    if open != b"0,0\r\n" {
        return Err(format!(
            "AT+QFTPOPEN → +QFTPOPEN: {}",
            String::from_utf8_lossy(&open)
        )
        .into());
    }

    // Columns: GET raw PTY, GET direct, GET COM:, PUT raw PTY, PUT direct, PUT COM:.
    let mut cols: [Vec<Sample>; 6] = Default::default();
    for round in 1..=s.rounds {
        if s.runs(0) {
            cols[0].push(measure(len, || raw_pty_down(&rt, &data))?);
        }
        if s.runs(1) {
            cols[1].push(measure(len, || {
                rt.block_on(direct_get(addr, "big.bin", &data))
            })?);
        }
        if s.runs(2) {
            cols[2].push(measure(len, || com_get(&mut tty, "big.bin", &data))?);
        }
        if s.runs(3) {
            cols[3].push(measure(len, || raw_pty_up(&rt, &data))?);
        }
        if s.runs(4) {
            cols[4].push(measure(len, || {
                rt.block_on(direct_put(addr, "direct.bin", &data))
            })?);
            check_file(&root.path().join("direct.bin"), &data)?;
        }
        if s.runs(5) {
            cols[5].push(measure(len, || com_put(&mut tty, "up.bin", &data))?);
            check_file(&root.path().join("up.bin"), &data)?;
        }
        let r: Vec<String> = cols
            .iter()
            .map(|c| c.get(round - 1).map_or("-".into(), Sample::to_string))
            .collect();
        eprintln!(
            "  round {round} (MB/s, cores busy): GET raw {} direct {} COM {} | PUT raw {} direct {} COM {}",
            r[0], r[1], r[2], r[3], r[4], r[5]
        );
    }
    tty.command("AT+QFTPCLOSE\r")?;
    tty.until(b"\r\n+QFTPCLOSE: ")?;
    tty.until(b"\r\n")?;

    // AT round trip: the emulator and the trivial responder alternate in blocks, so a
    // machine that gets busier in between affects both alike.
    let (mut emu_rt, mut triv_rt, mut block_rt) = (Vec::new(), Vec::new(), Vec::new());
    if s.runs(6) {
        let (tpath, trivial_task) = spawn_trivial(&rt)?;
        let mut trivial = Tty::open(&tpath)?;
        let mut blocking = Tty::open(&spawn_blocking_responder()?)?;
        round_trips(&mut blocking, AT_WARMUP, &mut Vec::new())?;
        round_trips(&mut trivial, AT_WARMUP, &mut Vec::new())?;
        round_trips(&mut tty, AT_WARMUP, &mut Vec::new())?;
        let block = 1000.min(s.at_count);
        while emu_rt.len() < s.at_count {
            let n = block.min(s.at_count - emu_rt.len());
            round_trips(&mut blocking, n, &mut block_rt)?;
            round_trips(&mut trivial, n, &mut triv_rt)?;
            round_trips(&mut tty, n, &mut emu_rt)?;
        }
        trivial_task.abort();
    }
    emu_rt.sort();
    triv_rt.sort();
    block_rt.sort();
    drop(tty);
    emu.stop()?;

    let med = |c: &[Sample], f: fn(&Sample) -> f64| {
        if c.is_empty() {
            f64::NAN
        } else {
            median(c.iter().map(f).collect())
        }
    };
    let mbps: Vec<f64> = cols.iter().map(|c| med(c, |x| x.mbps)).collect();
    let cpu: Vec<f64> = cols.iter().map(|c| med(c, |x| x.cpu_ms_per_mb)).collect();
    let (rd, dg, cg, ru, dp, cp) = (mbps[0], mbps[1], mbps[2], mbps[3], mbps[4], mbps[5]);
    let get_ratio = cg / rd.min(dg);
    let put_ratio = cp / ru.min(dp);
    println!();
    println!(
        "COM: throughput, MB/s (10^6 bytes/s), median of {} round(s)",
        s.rounds
    );
    println!("                 raw PTY   direct FTP   COM: via emulator   ratio to smaller floor (target >= 0.90)");
    println!(
        "  GET          {rd:>9.1}   {dg:>10.1}   {cg:>17.1}   {get_ratio:.2}  {}",
        verdict(get_ratio >= 0.9)
    );
    println!(
        "  PUT          {ru:>9.1}   {dp:>10.1}   {cp:>17.1}   {put_ratio:.2}  {}",
        verdict(put_ratio >= 0.9)
    );
    // A COM: transfer does the work of both floors at once (FTP socket and PTY) plus the
    // emulator's own: on a machine with few cores, CPU, not the PTY, can be the limit.
    println!("CPU time, all CPUs (kernel workers included), ms per MB, median");
    println!(
        "  GET          {:>9.2}   {:>10.2}   {:>17.2}   emulator's own: {:+.2}",
        cpu[0],
        cpu[1],
        cpu[2],
        cpu[2] - cpu[0] - cpu[1]
    );
    println!(
        "  PUT          {:>9.2}   {:>10.2}   {:>17.2}   emulator's own: {:+.2}",
        cpu[3],
        cpu[4],
        cpu[5],
        cpu[5] - cpu[3] - cpu[4]
    );
    let cores = m.cpus as f64;
    println!(
        "  CPU bound on {} CPU(s) if a COM: transfer cost only raw PTY + direct FTP: GET {:.1} MB/s, PUT {:.1} MB/s",
        m.cpus,
        cores * 1000.0 / (cpu[0] + cpu[1]),
        cores * 1000.0 / (cpu[3] + cpu[4])
    );
    let (ep50, ep99) = (percentile(&emu_rt, 50), percentile(&emu_rt, 99));
    let (tp50, tp99) = (percentile(&triv_rt, 50), percentile(&triv_rt, 99));
    let (bp50, bp99) = (percentile(&block_rt, 50), percentile(&block_rt, 99));
    let p50_ratio = ep50.as_secs_f64() / tp50.as_secs_f64();
    let p99_ratio = ep99.as_secs_f64() / tp99.as_secs_f64();
    let floor_p50_ratio = ep50.as_secs_f64() / bp50.as_secs_f64();
    let floor_p99_ratio = ep99.as_secs_f64() / bp99.as_secs_f64();
    println!();
    println!(
        "AT round trip (AT<CR> -> <CR><LF>OK<CR><LF>, echo off), {} commands each, microseconds",
        s.at_count
    );
    println!("                 p50       p99");
    println!(
        "  blocking     {:>7.1}   {:>7.1}   (floor: one blocking thread, no runtime)",
        micros(bp50),
        micros(bp99)
    );
    println!(
        "  trivial      {:>7.1}   {:>7.1}",
        micros(tp50),
        micros(tp99)
    );
    println!(
        "  emulator     {:>7.1}   {:>7.1}",
        micros(ep50),
        micros(ep99)
    );
    println!(
        "  ratio        {p50_ratio:>7.2}   {p99_ratio:>7.2}   to trivial; p50 target <= 1.20: {}",
        verdict(p50_ratio <= 1.2)
    );
    println!(
        "  ratio        {floor_p50_ratio:>7.2}   {floor_p99_ratio:>7.2}   to blocking; p50 target <= 1.10: {}",
        verdict(floor_p50_ratio <= 1.1)
    );
    Ok(())
}
