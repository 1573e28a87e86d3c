//! The time scale (`--time-scale N`, scenario key `time_scale`): the module's clocks and
//! the scenario's run N times faster than real time, while the host on the tty keeps its
//! own real clock (docs/scenarios.md, "Time scale").
//!
//! Module time is what the core sees (`bg95_core::Instant`), what transcripts record and
//! what every duration in a scenario file means. Real time is what tokio sleeps. The one
//! conversion between them is here; [`crate::runtime::Clock`] applies it to the core's
//! deadlines, the fault engine to its triggers and delays, the writer to UART pacing and
//! serial pauses, the scenario runner to step waits and timeouts.

use std::time::Duration;

/// How many times faster than real time module time runs (1 = real time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(f64);

/// The smallest scale accepted (module time 100 times slower than real time).
pub const MIN_TIME_SCALE: f64 = 0.01;
/// The largest scale accepted: beyond it tokio's 1 ms timer makes a module millisecond
/// shorter than anything the runtime can wait for.
pub const MAX_TIME_SCALE: f64 = 10_000.0;

impl TimeScale {
    /// Real time.
    pub const REAL: TimeScale = TimeScale(1.0);

    /// A scale of `n` (from [`MIN_TIME_SCALE`] to [`MAX_TIME_SCALE`]).
    pub fn new(n: f64) -> Result<TimeScale, String> {
        if (MIN_TIME_SCALE..=MAX_TIME_SCALE).contains(&n) {
            Ok(TimeScale(n))
        } else {
            Err(format!(
                "time scale must be a number from {MIN_TIME_SCALE} to {MAX_TIME_SCALE}, got {n}"
            ))
        }
    }

    /// The factor.
    pub fn factor(self) -> f64 {
        self.0
    }

    /// How long `module` (a module-time duration) lasts in real time.
    pub fn to_real(self, module: Duration) -> Duration {
        if self.0 == 1.0 {
            return module;
        }
        module.div_f64(self.0)
    }

    /// The least real time in which at least `module` of module time passes (rounded up,
    /// plus a nanosecond for the float rounding of [`TimeScale::to_module`]).
    pub fn to_real_at_least(self, module: Duration) -> Duration {
        let nanos = (module.as_nanos() as f64 / self.0).ceil() + 1.0;
        Duration::try_from_secs_f64(nanos / 1e9).unwrap_or(Duration::MAX)
    }

    /// How much module time passes in `real`.
    pub fn to_module(self, real: Duration) -> Duration {
        if self.0 == 1.0 {
            return real;
        }
        Duration::try_from_secs_f64(real.as_secs_f64() * self.0).unwrap_or(Duration::MAX)
    }

    /// The real line rate of a UART set to `baud` in module time (bytes leave N times
    /// faster); saturates at `u32::MAX`.
    pub fn baud(self, baud: u32) -> u32 {
        (baud as f64 * self.0).min(u32::MAX as f64) as u32
    }
}

impl Default for TimeScale {
    fn default() -> Self {
        TimeScale::REAL
    }
}

impl std::str::FromStr for TimeScale {
    type Err = String;
    fn from_str(s: &str) -> Result<TimeScale, String> {
        let n: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("time scale must be a number, got {s:?}"))?;
        TimeScale::new(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{FaultSeam, ReplyFault};
    use crate::runtime::Clock;
    use crate::scenario::{FaultEngine, Scenario};

    /// Tokio's paused clock: real time is what the test advances, module time what the
    /// core and the fault engine see.
    #[tokio::test(start_paused = true)]
    async fn the_clock_fault_times_and_fault_delays_run_in_module_time() {
        let clock = Clock::scaled(TimeScale::new(100.0).unwrap());
        let origin = tokio::time::Instant::now();
        tokio::time::advance(Duration::from_millis(900)).await;
        assert_eq!(clock.now().as_micros(), 90_000_000);
        let rsptimeout_due = clock.to_tokio(bg95_core::Instant::from_micros(180_000_000));
        let real = rsptimeout_due - origin;
        assert!(
            real >= Duration::from_millis(1800) && real < Duration::from_micros(1_800_001),
            "{real:?}"
        );

        let s = Scenario::parse(
            std::path::Path::new("t.toml"),
            "[[fault]]\nname = \"later\"\non = \"time\"\nafter = \"10s\"\naction = \"ufs_full\"\n\
             [[fault]]\nname = \"slow\"\non = \"ftp_command\"\nverb = \"CWD\"\naction = \"reply_delay\"\ndelay = \"25s\"\n",
        )
        .unwrap();
        let clock = Clock::scaled(TimeScale::new(100.0).unwrap());
        let (engine, _rx) = FaultEngine::booted_at(s.faults, 0, clock);
        let timers = tokio::spawn(engine.clone().run_timers());
        tokio::time::sleep(Duration::from_millis(99)).await;
        assert!(
            engine.fired().is_empty(),
            "10 s of module time is 100 ms of real time"
        );
        // Tokio wakes timers on its next millisecond tick.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let fired = engine.fired();
        assert_eq!(fired.len(), 1);
        assert!(fired[0].at >= Duration::from_secs(10), "{:?}", fired[0].at);
        // The driver sleeps real time: 25 s of module time at scale 100.
        assert_eq!(
            engine.on_command("CWD"),
            Some(ReplyFault::Delay(Duration::from_millis(250)))
        );
        timers.abort();
    }

    #[test]
    fn converts_both_ways_and_rejects_nonsense() {
        let s: TimeScale = "100".parse().unwrap();
        assert_eq!(
            s.to_real(Duration::from_secs(90)),
            Duration::from_millis(900)
        );
        assert_eq!(
            s.to_module(Duration::from_millis(900)),
            Duration::from_secs(90)
        );
        assert_eq!(s.baud(115_200), 11_520_000);
        assert_eq!(
            TimeScale::REAL.to_real(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        for bad in ["0", "0.001", "-2", "nan", "inf", "1e9", "x"] {
            assert!(bad.parse::<TimeScale>().is_err(), "{bad}");
        }
        assert_eq!(
            TimeScale::new(2.5).unwrap().to_real(Duration::from_secs(5)),
            Duration::from_secs(2)
        );
    }
}
