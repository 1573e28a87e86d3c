//! UART pacing of module→host bytes: a [`Pacer`] writes to any `AsyncWrite` at the line
//! rate of a UART (10 bits per byte: start, 8 data, stop), in slices as small as the timer
//! allows, so a host sees bytes arrive all along at the right rate, as from a real serial
//! line, instead of bursts followed by silences.
//!
//! - The timer ticks in [`TICK`] (tokio: 1 ms). At each wake-up the pacer writes every byte
//!   that a UART would start sending before the next tick — a byte's start time being
//!   `start + index * 10 / baud` — and sleeps until one tick before the next byte's start.
//!   A slice is therefore about one tick of line time (11–12 bytes at 115200, 92–93 at 921600,
//!   one byte at 9600 and below), no byte leaves more than one tick before its time on the
//!   line, and no gap between writes is longer than one tick plus one byte time, however
//!   late within its tick each wake-up is. A response shorter than a tick's worth of bytes
//!   is still one write (hosts parse per read).
//! - Start times are computed from the start of the burst, never by summing rounded sleeps,
//!   so the schedule does not drift.
//! - A write that finds the line still busy with earlier bytes continues their schedule; one
//!   that finds it idle starts a new burst now. If the writer falls far behind (the host
//!   stopped reading and the sink blocked), the schedule restarts instead of catching up
//!   with a burst faster than the line.
//! - [`Pacer::set_baud`] takes effect after the bytes already written (they finish at the old
//!   rate): the `OK` of AT+IPR goes out at the old rate.
//!
//! The runtime's writer task calls it; it knows nothing of PTYs, so tests drive it with an
//! in-memory sink and tokio's paused clock. Its CPU cost is measured by
//! `benches/pacing.rs` (docs/performance.md).

use std::io;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// The timer's resolution: tokio fires a timer in the millisecond tick at or after its
/// deadline.
pub const TICK: Duration = Duration::from_millis(1);
/// How late a slice may be before the schedule restarts rather than catching up.
pub const MAX_LAG: Duration = Duration::from_millis(10);
/// Bits on the line per byte: start, 8 data, stop.
const BITS_PER_BYTE: u128 = 10;
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Bytes that are on the line (or queued on it) since `start`.
#[derive(Debug, Clone, Copy)]
struct Burst {
    start: Instant,
    sent: u64,
}

impl Burst {
    /// How many bytes of this burst start on the line at or before `t`.
    fn started_by(&self, t: Instant, baud: u32) -> u64 {
        let Some(since) = t.checked_duration_since(self.start) else {
            return 0;
        };
        // Byte i starts at floor(i * 10e9 / baud) ns, which is <= d ns exactly when
        // i * 10e9 < (d + 1) * baud.
        let bits = (since.as_nanos() + 1) * u128::from(baud);
        let count = bits.div_ceil(BITS_PER_BYTE * NANOS_PER_SEC);
        u64::try_from(count).unwrap_or(u64::MAX)
    }
}

/// Writes bytes at a UART's pace. Baud 0 means unpaced (each write goes out at once).
#[derive(Debug)]
pub struct Pacer {
    baud: u32,
    burst: Option<Burst>,
}

/// The line time of `bytes` bytes at `baud` (> 0), exact to the nanosecond (rounded down).
pub fn line_time(bytes: u64, baud: u32) -> Duration {
    let nanos = u128::from(bytes) * BITS_PER_BYTE * NANOS_PER_SEC / u128::from(baud);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl Pacer {
    pub fn new(baud: u32) -> Pacer {
        Pacer { baud, burst: None }
    }

    pub fn baud(&self) -> u32 {
        self.baud
    }

    /// Change the rate. Bytes already written finish at the old rate; the next byte is due
    /// when they are done.
    pub fn set_baud(&mut self, baud: u32) {
        self.burst = match self.burst {
            Some(b) if self.baud > 0 && baud > 0 => Some(Burst {
                start: b.start + line_time(b.sent, self.baud),
                sent: 0,
            }),
            _ => None,
        };
        self.baud = baud;
    }

    /// The burst a byte written at `now` belongs to: the current one while the line is busy
    /// (or only just free, or at most [`MAX_LAG`] behind), else a new one starting now.
    fn burst_at(&self, now: Instant) -> Burst {
        match self.burst {
            Some(b) if b.start + line_time(b.sent, self.baud) + MAX_LAG >= now => b,
            _ => Burst {
                start: now,
                sent: 0,
            },
        }
    }

    /// Write all of `bytes` at the line rate. Returns once the last slice is handed to `w`
    /// (its line time may still be running; the next write waits for it).
    pub async fn write<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
        bytes: &[u8],
    ) -> io::Result<()> {
        if self.baud == 0 {
            self.burst = None;
            w.write_all(bytes).await?;
            return w.flush().await;
        }
        let baud = self.baud;
        let mut rest = bytes;
        while !rest.is_empty() {
            let now = Instant::now();
            let mut burst = self.burst_at(now);
            // Every byte that starts before the timer can wake us again goes now.
            let due = burst
                .started_by(now + TICK, baud)
                .saturating_sub(burst.sent);
            if due == 0 {
                // The next byte starts more than a tick from now: wake a tick before it
                // (the timer may fire up to a tick late).
                let next = burst.start + line_time(burst.sent, baud);
                tokio::time::sleep_until(next - TICK).await;
                continue;
            }
            let n = usize::try_from(due).unwrap_or(usize::MAX).min(rest.len());
            let (slice, later) = rest.split_at(n);
            w.write_all(slice).await?;
            w.flush().await?;
            burst.sent += n as u64;
            self.burst = Some(burst);
            rest = later;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Every read of the host side: when (since `t0`) and how many bytes.
    type Arrivals = Vec<(Duration, usize)>;

    fn spawn_reader(
        mut rd: tokio::io::DuplexStream,
        t0: Instant,
    ) -> tokio::task::JoinHandle<Arrivals> {
        tokio::spawn(async move {
            let mut out = Vec::new();
            let mut buf = vec![0u8; 65536];
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => return out,
                    Ok(n) => out.push((t0.elapsed(), n)),
                }
            }
        })
    }

    /// Bytes that arrived by `t`.
    fn arrived_by(arrivals: &Arrivals, t: Duration) -> usize {
        arrivals
            .iter()
            .filter(|(at, _)| *at <= t)
            .map(|(_, n)| n)
            .sum()
    }

    /// A byte whose line start is `due` goes out at most one tick before it, never after.
    fn assert_on_time(actual: Duration, due: Duration) {
        assert!(
            actual <= due && actual + TICK >= due,
            "at {actual:?}, due {due:?}"
        );
    }

    fn max_gap(arrivals: &Arrivals) -> Duration {
        arrivals
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .max()
            .unwrap_or_default()
    }

    #[test]
    fn byte_start_times_and_counts_agree() {
        assert_eq!(line_time(960, 9600), Duration::from_secs(1));
        assert_eq!(line_time(1, 115_200), Duration::from_nanos(86_805));
        let start = Instant::now();
        let burst = Burst { start, sent: 0 };
        for baud in [300, 9600, 115_200, 921_600] {
            for i in [0u64, 1, 2, 11, 12, 13, 1000, 4095] {
                let at = start + line_time(i, baud);
                // Byte i starts at `at`: i + 1 bytes have started then, i just before.
                assert_eq!(burst.started_by(at, baud), i + 1, "{baud} {i}");
                if i > 0 {
                    let before = at - Duration::from_nanos(1);
                    assert_eq!(burst.started_by(before, baud), i, "{baud} {i}");
                }
            }
        }
        // One tick of line time: 12 bytes start within the first ms at 115200, 93 at
        // 921600, 1 at 9600.
        assert_eq!(burst.started_by(start + TICK, 115_200), 12);
        assert_eq!(burst.started_by(start + TICK, 921_600), 93);
        assert_eq!(burst.started_by(start + TICK, 9600), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn four_kib_at_9600_arrive_at_the_line_rate_all_along() {
        let (mut w, rd) = tokio::io::duplex(1 << 20);
        let t0 = Instant::now();
        let reader = spawn_reader(rd, t0);
        let mut pacer = Pacer::new(9600);
        let data = vec![0x55u8; 4096];
        pacer.write(&mut w, &data).await.unwrap();
        drop(w);
        let arrivals = reader.await.unwrap();
        assert_eq!(arrived_by(&arrivals, Duration::from_secs(10)), 4096);
        // 960 bytes per second, one byte per write, each at most a tick before its time.
        assert!(arrivals.iter().all(|&(_, n)| n == 1));
        for ms in [0u64, 13, 100, 1000, 2000, 3000, 4000, 4265] {
            let t = Duration::from_millis(ms);
            // Bytes whose start time is <= t: floor(t * 960) + 1; plus those of the next tick.
            let started = (ms * 960 / 1000 + 1) as usize;
            let next_tick = ((ms + 1) * 960 / 1000 + 1) as usize;
            let got = arrived_by(&arrivals, t);
            assert!(
                (started..=next_tick).contains(&got),
                "at {ms} ms: {got} bytes, expected {started}..={next_tick}"
            );
        }
        // Never a silence on the line: at most one tick plus one byte time between arrivals.
        assert!(
            max_gap(&arrivals) <= TICK + line_time(1, 9600),
            "{:?}",
            max_gap(&arrivals)
        );
        // No drift: the last byte starts exactly 4095 byte times after the first.
        let last = arrivals.last().unwrap().0;
        assert_on_time(last, line_time(4095, 9600));
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_response_is_one_write_and_long_ones_are_sliced() {
        let (mut w, rd) = tokio::io::duplex(1 << 20);
        let t0 = Instant::now();
        let reader = spawn_reader(rd, t0);
        let mut pacer = Pacer::new(115_200);
        pacer.write(&mut w, b"\r\nOK\r\n").await.unwrap();
        // The line is idle again long after: the next write starts at once.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let long = vec![b'x'; 1000];
        pacer.write(&mut w, &long).await.unwrap();
        drop(w);
        let arrivals = reader.await.unwrap();
        assert_eq!(arrivals[0], (Duration::ZERO, 6));
        // The first slice: the 12 bytes that start within the first tick.
        assert_eq!(arrivals[1], (Duration::from_secs(1), 12));
        // Then one slice per tick, 11 or 12 bytes each (11.52 bytes per ms).
        assert!(arrivals[1..].iter().all(|&(_, n)| n <= 12));
        let slices = arrivals.len() - 1;
        assert!(
            (1000 / 12..=1000 / 11 + 1).contains(&slices),
            "{slices} slices"
        );
        let total = arrivals.last().unwrap().0 - Duration::from_secs(1);
        assert_on_time(total, line_time(999, 115_200));
    }

    #[tokio::test(start_paused = true)]
    async fn back_to_back_writes_continue_one_schedule() {
        let (mut w, rd) = tokio::io::duplex(1 << 20);
        let t0 = Instant::now();
        let reader = spawn_reader(rd, t0);
        let mut pacer = Pacer::new(9600);
        // Many small messages (like download chunks) keep the exact rate, with no gap.
        for _ in 0..100 {
            pacer.write(&mut w, &[b'y'; 7]).await.unwrap();
        }
        drop(w);
        let arrivals = reader.await.unwrap();
        assert_eq!(arrived_by(&arrivals, Duration::from_secs(10)), 700);
        assert_on_time(arrivals.last().unwrap().0, line_time(699, 9600));
        assert!(max_gap(&arrivals) <= TICK + line_time(1, 9600));
    }

    #[tokio::test(start_paused = true)]
    async fn a_baud_change_applies_after_bytes_already_written() {
        let (mut w, rd) = tokio::io::duplex(1 << 20);
        let t0 = Instant::now();
        let reader = spawn_reader(rd, t0);
        let mut pacer = Pacer::new(9600);
        // `\r\nOK\r\n` of AT+IPR=115200 at the old rate, then the switch.
        pacer.write(&mut w, b"\r\nOK\r\n").await.unwrap();
        pacer.set_baud(115_200);
        pacer.write(&mut w, &[b'z'; 46]).await.unwrap();
        drop(w);
        let arrivals = reader.await.unwrap();
        let ok_end = line_time(6, 9600);
        let sum: usize = arrivals.iter().map(|a| a.1).sum();
        assert_eq!(sum, 52);
        // The first new byte waits for the OK to finish on the line at 9600.
        let first_new = arrivals
            .iter()
            .scan(0, |n, a| {
                *n += a.1;
                Some((*n, a.0))
            })
            .find(|(n, _)| *n > 6)
            .unwrap()
            .1;
        assert_on_time(first_new, ok_end);
        let last = arrivals.last().unwrap();
        assert!(last.1 <= 12);
        assert_on_time(last.0, ok_end + line_time(45, 115_200));
    }

    #[tokio::test(start_paused = true)]
    async fn unpaced_writes_go_out_at_once() {
        let (mut w, rd) = tokio::io::duplex(1 << 20);
        let t0 = Instant::now();
        let reader = spawn_reader(rd, t0);
        let mut pacer = Pacer::new(9600);
        pacer.set_baud(0);
        pacer.write(&mut w, &vec![1u8; 4096]).await.unwrap();
        drop(w);
        let arrivals = reader.await.unwrap();
        assert_eq!(arrivals, vec![(Duration::ZERO, 4096)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_host_does_not_get_a_catch_up_burst() {
        // A sink that holds 10 bytes: the writer blocks until the host reads.
        let (mut w, mut rd) = tokio::io::duplex(10);
        let mut pacer = Pacer::new(9600);
        let writer = tokio::spawn(async move {
            pacer.write(&mut w, &[7u8; 200]).await.unwrap();
        });
        // The host reads nothing for a second, then reads everything as it comes.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let t0 = Instant::now();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            match rd.read(&mut buf).await.unwrap() {
                0 => break,
                n => got.push((t0.elapsed(), n)),
            }
        }
        writer.await.unwrap();
        let total: usize = got.iter().map(|g| g.1).sum();
        assert_eq!(total, 200);
        // After the 10 buffered bytes and at most MAX_LAG of catch-up, the line rate again:
        // the remaining bytes take their line time, not an instant.
        let span = got.last().unwrap().0;
        assert!(span >= line_time(200 - 10 - 11, 9600), "{span:?}");
    }

    /// Arrivals of `len` bytes written in one message at `baud`, on the paused clock.
    async fn pace(baud: u32, len: usize) -> Arrivals {
        let (mut w, rd) = tokio::io::duplex(1 << 20);
        let t0 = Instant::now();
        let reader = spawn_reader(rd, t0);
        let mut pacer = Pacer::new(baud);
        pacer.write(&mut w, &vec![0xA5; len]).await.unwrap();
        drop(w);
        reader.await.unwrap()
    }

    /// The issue 23 bound: whatever the rate, no gap in the stream is longer than one tick
    /// plus one byte time, every byte leaves at most a tick before its time on the line and
    /// never after it, and a write carries at most a tick's worth of bytes.
    #[tokio::test(start_paused = true)]
    async fn the_largest_gap_is_one_tick_plus_one_byte_time() {
        for baud in [300, 1200, 9600, 57_600, 115_200, 230_400, 460_800, 921_600] {
            // About 300 ms of line time (at least 10 bytes).
            let len = (baud as usize * 3 / 100).max(10);
            let arrivals = pace(baud, len).await;
            assert_eq!(arrivals.iter().map(|a| a.1).sum::<usize>(), len, "{baud}");
            let gap = max_gap(&arrivals);
            assert!(gap <= TICK + line_time(1, baud), "{baud}: gap {gap:?}");
            let per_tick = line_time(1, baud);
            let most = (TICK.as_nanos() / per_tick.as_nanos() + 1) as usize;
            let mut before = 0u64;
            for &(at, n) in &arrivals {
                assert!(n <= most, "{baud}: {n} bytes in one write (at most {most})");
                // The write's first byte is not late, its last not more than a tick early.
                assert!(at <= line_time(before, baud), "{baud}: late at {at:?}");
                let last = line_time(before + n as u64 - 1, baud);
                assert!(at + TICK >= last, "{baud}: early at {at:?}");
                before += n as u64;
            }
        }
        // At 115200 the gaps are one tick: never the 2 ms of the earlier 23-byte slices.
        let arrivals = pace(115_200, 11_520).await;
        assert_eq!(max_gap(&arrivals), TICK);
        assert!(arrivals.len() >= 999);
    }
}
