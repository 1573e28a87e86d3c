//! The CPU cost of UART pacing (issue 23): the [`Pacer`] writes `BG95_BENCH_PACE_SECS`
//! (default 3) seconds of line time into a real PTY at 115200 and 921600 baud (9600 for
//! reference), on a tokio runtime of the emulator's shape (multi thread, 2 workers), while a
//! host thread reads the slave with blocking reads. The same bytes written unpaced (baud 0)
//! are the floor.
//!
//! Reported per rate: wall time, the emulator side's CPU time (the process's, from
//! getrusage, minus the host thread's own) in ms and as a share of one CPU over the run,
//! the host's reads per second, and the gaps between the host's reads (p99, max; real time,
//! so they include scheduling delays of this machine). Nothing is asserted: timing belongs
//! in benchmarks (docs/performance.md has the numbers).
//!
//! Run: `cargo bench -p bg95-emu --bench pacing`. Without `--bench` it prints one line and
//! exits (it is a benchmark, not a test).

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bg95_emu::pacer::Pacer;
use bg95_emu::pty::VirtualPort;
use nix::sys::resource::{getrusage, UsageWho};
use tokio::runtime::Runtime;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// CPU time (user + system) of `who` so far.
fn cpu(who: UsageWho) -> Res<Duration> {
    let u = getrusage(who)?;
    let t = |tv: nix::sys::time::TimeVal| {
        Duration::from_secs(tv.tv_sec() as u64) + Duration::from_micros(tv.tv_usec() as u64)
    };
    Ok(t(u.user_time()) + t(u.system_time()))
}

/// What the host thread saw: when each read returned, and its own CPU time.
struct HostSide {
    reads: Vec<Instant>,
    cpu: Duration,
}

/// Read `len` bytes from the tty at `path` with blocking reads.
fn host_reader(path: PathBuf, len: usize) -> Res<HostSide> {
    let mut tty = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOCTTY)
        .open(&path)?;
    let cpu0 = cpu(UsageWho::RUSAGE_THREAD)?;
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0;
    let mut reads = Vec::with_capacity(len.min(1 << 20));
    while got < len {
        let n = tty.read(&mut buf)?;
        if n == 0 {
            return Err("the tty closed".into());
        }
        got += n;
        reads.push(Instant::now());
    }
    Ok(HostSide {
        reads,
        cpu: cpu(UsageWho::RUSAGE_THREAD)? - cpu0,
    })
}

struct Run {
    wall: Duration,
    emulator_cpu: Duration,
    reads: usize,
    p99_gap: Duration,
    max_gap: Duration,
}

/// Pace `len` bytes at `baud` (0: unpaced) into a fresh PTY read by a host thread.
fn run(rt: &Runtime, baud: u32, len: usize) -> Res<Run> {
    let port = {
        let _g = rt.enter();
        VirtualPort::open()?
    };
    let VirtualPort {
        mut master,
        slave,
        path,
    } = port;
    let host = std::thread::spawn(move || host_reader(path, len));
    // Let the host open the tty and block in read() before the clock starts.
    std::thread::sleep(Duration::from_millis(50));
    let data = vec![0x5Au8; len];
    let cpu0 = cpu(UsageWho::RUSAGE_SELF)?;
    let t0 = Instant::now();
    rt.block_on(async {
        let mut pacer = Pacer::new(baud);
        pacer.write(&mut master, &data).await
    })?;
    let side = host.join().map_err(|_| "host thread panicked")??;
    let wall = t0.elapsed();
    let total_cpu = cpu(UsageWho::RUSAGE_SELF)? - cpu0;
    drop((master, slave));
    let mut gaps: Vec<Duration> = side.reads.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort();
    let pick = |q: f64| {
        gaps.get(((gaps.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or_default()
    };
    Ok(Run {
        wall,
        emulator_cpu: total_cpu.saturating_sub(side.cpu),
        reads: side.reads.len(),
        p99_gap: pick(0.99),
        max_gap: pick(1.0),
    })
}

fn print_row(baud: u32, len: usize, r: &Run) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    if baud == 0 {
        // A burst: only its CPU time means something.
        println!(
            "{:>12} {len:>9} {:>8.3} {:>9.1}",
            "unpaced",
            r.wall.as_secs_f64(),
            ms(r.emulator_cpu)
        );
        return;
    }
    println!(
        "{baud:>12} {len:>9} {:>8.3} {:>9.1} {:>7.2}% {:>8.0} {:>9.3} {:>9.3}",
        r.wall.as_secs_f64(),
        ms(r.emulator_cpu),
        100.0 * r.emulator_cpu.as_secs_f64() / r.wall.as_secs_f64(),
        r.reads as f64 / r.wall.as_secs_f64(),
        ms(r.p99_gap),
        ms(r.max_gap),
    );
}

fn bench() -> Res<()> {
    let secs: u64 = match std::env::var("BG95_BENCH_PACE_SECS") {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|e| format!("BG95_BENCH_PACE_SECS={v}: {e}"))?,
        Err(_) => 3,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!("pacing: {secs} s of line time per rate, a host thread reading a real PTY");
    println!(
        "{:>12} {:>9} {:>8} {:>9} {:>8} {:>8} {:>9} {:>9}",
        "baud", "bytes", "wall s", "CPU ms", "CPU", "reads/s", "p99 gap", "max gap"
    );
    for baud in [9600u32, 115_200, 921_600] {
        let len = (baud as usize / 10) * secs as usize;
        print_row(baud, len, &run(&rt, baud, len)?);
        print_row(0, len, &run(&rt, 0, len)?);
    }
    println!("(CPU: the emulator side's, as a share of one CPU over the wall time; gaps in ms)");
    Ok(())
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("pacing: a benchmark, not a test; run `cargo bench -p bg95-emu --bench pacing`");
        return;
    }
    if let Err(e) = bench() {
        eprintln!("pacing: {e}");
        std::process::exit(1);
    }
}
