//! The data-stream end of the fault seam: every data connection's reader/writer goes through
//! [`Faulty`], which counts the bytes for AT+QGDCNT ([`Traffic`]) and applies the
//! [`DataFault`]s the seam chose for the transfer. Without faults it only counts (one branch
//! per poll), so the throughput path is unchanged.
//!
//! Own code, because suppaftp hands out its data streams (`TransferStream`) as they are: the
//! adapter wraps the stream the driver receives, below the driver's step classification, so
//! a reset here is met exactly as a real reset (`DataClosed` while downloading, `PeerReset`
//! while uploading).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use std::sync::Arc;

use crate::net::{DataFault, Direction, FaultSeam, Traffic};

/// Who hears of a transfer's progress: the seam, with the transfer's number and direction
/// (so a scenario can act at the module "after 100 KB of the upload").
pub(crate) struct Progress {
    pub seam: Arc<dyn FaultSeam>,
    pub transfer: u64,
    pub dir: Direction,
}

/// A data stream with its byte counter and faults.
pub(crate) struct Faulty<S> {
    inner: S,
    faults: Vec<DataFault>,
    traffic: Traffic,
    /// Bytes moved so far (either way: a data connection carries one direction).
    moved: u64,
    /// A pause before the next read or write (bandwidth, latency).
    pause: Option<Pin<Box<Sleep>>>,
    /// A pause before the close (slow close); `Some(None)` once it has passed.
    close_pause: Option<Option<Pin<Box<Sleep>>>>,
    /// Told the running total after every read or write that moved bytes.
    progress: Option<Progress>,
}

/// What the faults say about the next read or write.
enum Gate {
    /// Move at most this many bytes (`usize::MAX`: no limit).
    Open(usize),
    Reset,
    Closed,
    Stalled,
}

impl<S> Faulty<S> {
    pub(crate) fn new(inner: S, faults: Vec<DataFault>, traffic: Traffic) -> Faulty<S> {
        Faulty {
            inner,
            faults,
            traffic,
            moved: 0,
            pause: None,
            close_pause: None,
            progress: None,
        }
    }

    /// Report the running byte total of this transfer to the seam as bytes pass.
    pub(crate) fn with_progress(mut self, progress: Progress) -> Faulty<S> {
        self.progress = Some(progress);
        self
    }

    /// Bytes moved without faults: count them and tell the seam.
    fn counted(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.moved += n as u64;
        if let Some(p) = &self.progress {
            p.seam.on_data_progress(p.transfer, p.dir, self.moved);
        }
    }

    /// The fault that replaces the transfer's final reply, once its bytes have passed.
    /// (Asks the seam too: a reply fired while the transfer ran belongs to it.)
    pub(crate) fn final_reply_fault(&self) -> Option<crate::net::ReplyFault> {
        let own = self.faults.iter().find_map(|f| match f {
            DataFault::FinalReply { after, reply } if self.moved >= *after => Some(reply.clone()),
            _ => None,
        });
        let armed = self
            .progress
            .as_ref()
            .and_then(|p| p.seam.on_final_reply(p.transfer));
        own.or(armed)
    }

    pub(crate) fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    pub(crate) fn into_inner(self) -> S {
        self.inner
    }

    fn gate(&self) -> Gate {
        let mut room = usize::MAX;
        for f in &self.faults {
            let (after, hit) = match f {
                DataFault::ResetAfter { after } => (*after, Gate::Reset),
                DataFault::CloseAfter { after } => (*after, Gate::Closed),
                DataFault::StallAfter { after } => (*after, Gate::Stalled),
                _ => continue,
            };
            if self.moved >= after {
                return hit;
            }
            room = room.min(usize::try_from(after - self.moved).unwrap_or(usize::MAX));
        }
        Gate::Open(room)
    }

    /// Wait out a pending pause.
    fn poll_pause(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(p) = self.pause.as_mut() {
            if p.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        Poll::Ready(())
    }

    /// After `n` bytes moved: arm the pause the pacing faults ask for.
    fn moved(&mut self, n: usize) {
        self.counted(n);
        let mut wait = Duration::ZERO;
        for f in &self.faults {
            match f {
                DataFault::Bandwidth { bytes_per_sec } if *bytes_per_sec > 0 => {
                    wait += Duration::from_secs_f64(n as f64 / *bytes_per_sec as f64);
                }
                // Jitter: a deterministic share of `jitter` per chunk (the scenario's seed
                // is applied by whoever builds the fault list).
                DataFault::Latency { delay, jitter } => {
                    let share = (self.moved.wrapping_mul(2_654_435_761) % 1000) as u32;
                    wait += *delay + *jitter * share / 1000;
                }
                _ => {}
            }
        }
        if !wait.is_zero() {
            self.pause = Some(Box::pin(tokio::time::sleep(wait)));
        }
    }
}

fn reset() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "connection reset (fault)")
}

impl<S: AsyncRead + Unpin> AsyncRead for Faulty<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.faults.is_empty() {
            let before = buf.filled().len();
            let r = Pin::new(&mut this.inner).poll_read(cx, buf);
            let n = buf.filled().len() - before;
            this.traffic.add_received(n);
            this.counted(n);
            return r;
        }
        if this.poll_pause(cx).is_pending() {
            return Poll::Pending;
        }
        let room = match this.gate() {
            Gate::Reset => return Poll::Ready(Err(reset())),
            Gate::Closed => return Poll::Ready(Ok(())),
            // Never woken: the stall lasts until the driver gives up on the transfer.
            Gate::Stalled => return Poll::Pending,
            Gate::Open(room) => room,
        };
        let n = if room >= buf.remaining() {
            let before = buf.filled().len();
            std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
            buf.filled().len() - before
        } else {
            let mut part = ReadBuf::new(buf.initialize_unfilled_to(room));
            std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, &mut part))?;
            let n = part.filled().len();
            buf.advance(n);
            n
        };
        this.traffic.add_received(n);
        this.moved(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Faulty<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.faults.is_empty() {
            let r = Pin::new(&mut this.inner).poll_write(cx, data);
            if let Poll::Ready(Ok(n)) = &r {
                this.traffic.add_sent(*n);
                this.counted(*n);
            }
            return r;
        }
        if this.poll_pause(cx).is_pending() {
            return Poll::Pending;
        }
        let room = match this.gate() {
            Gate::Reset => return Poll::Ready(Err(reset())),
            Gate::Closed => {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "connection closed by the peer (fault)",
                )))
            }
            Gate::Stalled => return Poll::Pending,
            Gate::Open(room) => room,
        };
        let part = &data[..data.len().min(room)];
        let n = std::task::ready!(Pin::new(&mut this.inner).poll_write(cx, part))?;
        this.traffic.add_sent(n);
        this.moved(n);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.close_pause.is_none() {
            let slow = this.faults.iter().find_map(|f| match f {
                DataFault::SlowClose(d) => Some(*d),
                _ => None,
            });
            this.close_pause = Some(slow.map(|d| Box::pin(tokio::time::sleep(d))));
        }
        if let Some(Some(p)) = this.close_pause.as_mut() {
            if p.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.close_pause = Some(None);
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn source(len: usize) -> std::io::Cursor<Vec<u8>> {
        std::io::Cursor::new((0..len).map(|i| i as u8).collect())
    }

    #[tokio::test]
    async fn counts_without_faults() {
        let traffic = Traffic::default();
        let mut s = Faulty::new(source(1000), Vec::new(), traffic.clone());
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        assert_eq!(out.len(), 1000);
        assert_eq!(traffic.take(), (0, 1000));
    }

    #[tokio::test]
    async fn reset_after_exactly_n_bytes() {
        let faults = vec![DataFault::ResetAfter { after: 300 }];
        let mut s = Faulty::new(source(1000), faults, Traffic::default());
        let mut out = Vec::new();
        let e = s.read_to_end(&mut out).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(out, (0..300).map(|i| i as u8).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn close_after_is_a_clean_eof() {
        let faults = vec![DataFault::CloseAfter { after: 10 }];
        let mut s = Faulty::new(source(1000), faults, Traffic::default());
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        assert_eq!(out.len(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn stall_never_returns() {
        let faults = vec![DataFault::StallAfter { after: 5 }];
        let mut s = Faulty::new(source(1000), faults, Traffic::default());
        let mut buf = [0u8; 100];
        assert_eq!(s.read(&mut buf).await.unwrap(), 5);
        let stalled = tokio::time::timeout(Duration::from_secs(3600), s.read(&mut buf)).await;
        assert!(stalled.is_err(), "the read must hang");
    }

    #[tokio::test(start_paused = true)]
    async fn bandwidth_paces_writes() {
        let traffic = Traffic::default();
        let faults = vec![DataFault::Bandwidth { bytes_per_sec: 100 }];
        let mut s = Faulty::new(Vec::<u8>::new(), faults, traffic.clone());
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            s.write_all(&[1u8; 100]).await.unwrap();
        }
        // Two pauses of a second each happened before the 2nd and 3rd writes.
        assert!(start.elapsed() >= Duration::from_secs(2));
        assert_eq!(traffic.take(), (300, 0));
        assert_eq!(s.into_inner().len(), 300);
    }

    #[tokio::test]
    async fn write_after_close_fails_like_a_closed_peer() {
        let faults = vec![DataFault::CloseAfter { after: 4 }];
        let mut s = Faulty::new(Vec::<u8>::new(), faults, Traffic::default());
        let e = s.write_all(b"0123456789").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(s.get_mut().as_slice(), b"0123");
    }

    #[tokio::test(start_paused = true)]
    async fn slow_close_delays_the_shutdown() {
        let faults = vec![DataFault::SlowClose(Duration::from_secs(5))];
        let mut s = Faulty::new(Vec::<u8>::new(), faults, Traffic::default());
        let start = tokio::time::Instant::now();
        s.shutdown().await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(5));
    }

    /// The seam hears each transfer's running total as bytes pass, with or without faults
    /// (how `on = "transfer"` module actions know when `after_bytes` have passed).
    #[tokio::test]
    async fn progress_reaches_the_seam() {
        #[derive(Debug, Default)]
        struct Seen(std::sync::Mutex<Vec<(u64, Direction, u64)>>);
        impl FaultSeam for Seen {
            fn on_data_progress(&self, transfer: u64, dir: Direction, total: u64) {
                self.0.lock().unwrap().push((transfer, dir, total));
            }
        }
        let seen = Arc::new(Seen::default());
        for (faults, end) in [
            (Vec::new(), 1000),
            (vec![DataFault::CloseAfter { after: 700 }], 700),
        ] {
            seen.0.lock().unwrap().clear();
            let progress = Progress {
                seam: seen.clone(),
                transfer: 3,
                dir: Direction::Download,
            };
            let mut s =
                Faulty::new(source(1000), faults, Traffic::default()).with_progress(progress);
            let mut buf = [0u8; 400];
            while s.read(&mut buf).await.unwrap() > 0 {}
            let got = seen.0.lock().unwrap().clone();
            let totals: Vec<u64> = got.iter().map(|(_, _, t)| *t).collect();
            assert!(got
                .iter()
                .all(|(n, d, _)| *n == 3 && *d == Direction::Download));
            assert!(totals.windows(2).all(|w| w[0] < w[1]), "{totals:?}");
            assert_eq!(totals.last(), Some(&end), "{totals:?}");
        }
    }
}
