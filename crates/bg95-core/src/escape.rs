//! The `+++` escape of data mode, with its guard times (S12, 20 ms units, default 1 s):
//! silence for a guard time, `+++` within a guard time, silence for a guard time again.
//! A `+++` that breaks any of the three rules is data, and nothing is lost: the held `+`
//! characters are handed back as data the moment the rule breaks.

use crate::time::Instant;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct EscapeDetector {
    guard: Duration,
    last_rx: Instant,
    /// `+` characters held back because they may be an escape.
    held: u8,
    first_plus: Instant,
}

impl EscapeDetector {
    /// Start watching at `now` (the moment data mode began counts as the last byte).
    pub fn new(now: Instant, guard: Duration) -> Self {
        EscapeDetector {
            guard,
            last_rx: now,
            held: 0,
            first_plus: now,
        }
    }

    /// Feed one byte received at `now`; the bytes that are data are appended to `data`
    /// (the byte itself, possibly after `+` characters that turned out to be data).
    pub fn feed(&mut self, now: Instant, byte: u8, data: &mut Vec<u8>) {
        let quiet_before = now.since(self.last_rx) >= self.guard;
        self.last_rx = now;
        if self.held > 0 {
            if byte == b'+' && self.held < 3 && now.since(self.first_plus) <= self.guard {
                self.held += 1;
                return;
            }
            data.extend(std::iter::repeat_n(b'+', self.held as usize));
            self.held = 0;
            // The held pluses were the last input, so this byte had no quiet time before it.
            data.push(byte);
            return;
        }
        if byte == b'+' && quiet_before {
            self.held = 1;
            self.first_plus = now;
            return;
        }
        data.push(byte);
    }

    /// True when the next byte arriving at the same instant as the last one is data for
    /// sure: no `+` is held and the guard time is not zero (so it had no quiet time before
    /// it). Callers may then copy the rest of a read at once instead of feeding each byte.
    pub fn plain_data_follows(&self) -> bool {
        self.held == 0 && !self.guard.is_zero()
    }

    /// When a complete `+++` becomes an escape, if nothing else arrives first.
    pub fn deadline(&self) -> Option<Instant> {
        (self.held == 3).then(|| self.last_rx + self.guard)
    }

    /// True once a `+++` has been followed by a guard time of silence.
    pub fn escaped(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|d| now >= d)
    }

    /// Pluses held but not yet confirmed, e.g. when the data ends for another reason
    /// (uploadlen reached, timeout): they are data after all.
    pub fn take_held(&mut self) -> usize {
        std::mem::take(&mut self.held) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    fn run(d: &mut EscapeDetector, input: &[(u64, &[u8])]) -> Vec<u8> {
        let mut data = Vec::new();
        for (t, bytes) in input {
            for &b in *bytes {
                d.feed(ms(*t), b, &mut data);
            }
        }
        data
    }

    #[test]
    fn guarded_escape() {
        let mut d = EscapeDetector::new(ms(0), Duration::from_secs(1));
        let data = run(&mut d, &[(10, b"abc"), (1100, b"+++")]);
        assert_eq!(data, b"abc");
        assert!(!d.escaped(ms(2000)));
        assert!(d.escaped(ms(2100)));
    }

    #[test]
    fn unguarded_pluses_are_data() {
        let mut d = EscapeDetector::new(ms(0), Duration::from_secs(1));
        assert_eq!(run(&mut d, &[(10, b"a+++b")]), b"a+++b");
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn byte_after_plus_plus_plus_within_guard_makes_it_data() {
        let mut d = EscapeDetector::new(ms(0), Duration::from_secs(1));
        let data = run(&mut d, &[(1500, b"+++"), (1600, b"x")]);
        assert_eq!(data, b"+++x");
        assert!(!d.escaped(ms(5000)));
    }

    #[test]
    fn four_pluses_are_data() {
        let mut d = EscapeDetector::new(ms(0), Duration::from_secs(1));
        assert_eq!(run(&mut d, &[(1500, b"++++")]), b"++++");
    }

    #[test]
    fn slow_pluses_are_data() {
        let mut d = EscapeDetector::new(ms(0), Duration::from_secs(1));
        assert_eq!(run(&mut d, &[(1500, b"++"), (2600, b"+x")]), b"+++x");
    }
}
