//! UART pacing of module→host bytes: a [`Pacer`] writes to any `AsyncWrite` at the line
//! rate of a UART (10 bits per byte: start, 8 data, stop), in small slices, so a host sees
//! bytes arrive all along at the right rate, as from a real serial line, instead of a burst
//! followed by a silence.
//!
//! - A slice carries at most [`SLICE_LINE_TIME`] of line time (at least one byte), so a short
//!   response that fits in one slice is still one write (hosts parse per read).
//! - Each slice is written when its first byte is due. Due times are computed from the start
//!   of the burst (`start + bytes_before * 10 / baud`), never by summing rounded sleeps, so
//!   the schedule does not drift however late each wake-up is.
//! - A write that finds the line still busy with earlier bytes continues their schedule; one
//!   that finds it idle starts a new burst now. If the writer falls far behind (the host
//!   stopped reading and the sink blocked), the schedule restarts instead of catching up
//!   with a burst faster than the line.
//! - [`Pacer::set_baud`] takes effect after the bytes already written (they finish at the old
//!   rate): the `OK` of AT+IPR goes out at the old rate.
//!
//! The runtime's writer task calls it; it knows nothing of PTYs, so tests drive it with an
//! in-memory sink and tokio's paused clock.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// The most line time one slice carries.
pub const SLICE_LINE_TIME: Duration = Duration::from_millis(2);
/// How late a slice may be before the schedule restarts rather than catching up.
pub const MAX_LAG: Duration = Duration::from_millis(10);
/// Bits on the line per byte: start, 8 data, stop.
const BITS_PER_BYTE: u128 = 10;

/// Bytes that are on the line (or queued on it) since `start`.
#[derive(Debug, Clone, Copy)]
struct Burst {
    start: Instant,
    sent: u64,
}

/// Writes bytes at a UART's pace. Baud 0 means unpaced (each write goes out at once).
#[derive(Debug)]
pub struct Pacer {
    baud: u32,
    burst: Option<Burst>,
}

/// The line time of `bytes` bytes at `baud` (> 0), exact to the nanosecond.
pub fn line_time(bytes: u64, baud: u32) -> Duration {
    let nanos = u128::from(bytes) * BITS_PER_BYTE * 1_000_000_000 / u128::from(baud);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl Pacer {
    pub fn new(baud: u32) -> Pacer {
        Pacer { baud, burst: None }
    }

    pub fn baud(&self) -> u32 {
        self.baud
    }

    /// Bytes per slice at the current rate: [`SLICE_LINE_TIME`] worth, at least one.
    pub fn slice_len(&self) -> usize {
        let per_slice =
            u128::from(self.baud) * SLICE_LINE_TIME.as_nanos() / (BITS_PER_BYTE * 1_000_000_000);
        usize::try_from(per_slice).unwrap_or(usize::MAX).max(1)
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
        let slice_len = self.slice_len();
        for slice in bytes.chunks(slice_len) {
            let now = Instant::now();
            let mut burst = match self.burst {
                // The line is still busy, or only just became free.
                Some(b) if b.start + line_time(b.sent, baud) + MAX_LAG >= now => b,
                _ => Burst {
                    start: now,
                    sent: 0,
                },
            };
            let due = burst.start + line_time(burst.sent, baud);
            if due > now {
                tokio::time::sleep_until(due).await;
            }
            w.write_all(slice).await?;
            w.flush().await?;
            burst.sent += slice.len() as u64;
            self.burst = Some(burst);
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

    /// Tokio timers have millisecond resolution: a slice due at `due` goes out in the
    /// millisecond that ends at or after it, never before it.
    fn assert_on_time(actual: Duration, due: Duration) {
        assert!(
            actual >= due && actual < due + Duration::from_millis(1),
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
    fn slices_hold_at_most_two_ms_of_line_time() {
        assert_eq!(Pacer::new(4800).slice_len(), 1);
        assert_eq!(Pacer::new(9600).slice_len(), 1);
        assert_eq!(Pacer::new(115_200).slice_len(), 23);
        assert_eq!(Pacer::new(921_600).slice_len(), 184);
        assert_eq!(line_time(960, 9600), Duration::from_secs(1));
        assert_eq!(line_time(1, 115_200), Duration::from_nanos(86_805));
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
        // 960 bytes per second; slice = 1 byte, written when its first bit is due.
        let slice = pacer.slice_len();
        for ms in [0u64, 13, 100, 1000, 2000, 3000, 4000, 4265] {
            let t = Duration::from_millis(ms);
            // Bytes whose start time is <= t: floor(t * 960) + 1.
            let expected = (ms * 960 / 1000 + 1) as usize;
            let got = arrived_by(&arrivals, t);
            assert!(
                got.abs_diff(expected) <= slice,
                "at {ms} ms: {got} bytes, expected {expected}±{slice}"
            );
        }
        // Never a silence on the line: at most one slice's line time between arrivals.
        assert!(
            max_gap(&arrivals) <= Duration::from_millis(2),
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
        assert_eq!(arrivals[1], (Duration::from_secs(1), 23));
        assert_eq!(arrivals.len(), 1 + 1000usize.div_ceil(23));
        assert!(arrivals[1..].iter().all(|&(_, n)| n <= 23));
        let total = arrivals.last().unwrap().0 - Duration::from_secs(1);
        assert_on_time(total, line_time(43 * 23, 115_200));
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
        assert!(max_gap(&arrivals) <= Duration::from_millis(2));
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
        assert_eq!(last.1, 23);
        assert_on_time(last.0, ok_end + line_time(23, 115_200));
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
}
