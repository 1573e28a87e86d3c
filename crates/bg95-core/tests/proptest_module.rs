//! Property test of the whole module: random byte streams, random chunking and random time
//! steps never panic, never produce unbounded output, never leave a deadline that is already
//! due, and never leave the module unable to answer.
//!
//! The garbage mixes random bytes with command lines that change the module's state in the
//! ways that matter for recovery: data mode (AT+QFUPL, AT+QFWRITE), power-down (AT+QPOWD),
//! reset, echo/ATV/ATQ/CMEE, S3/S4/S5 (the line syntax itself), S12 (the `+++` guard) and
//! AT&W (which makes such settings survive ATZ and power cycles). Recovery therefore does
//! what a careful host would do, with no knowledge of the module's state:
//! 1. wait long enough for every deadline: power-on after AT+QPOWD (2 s), the longest guard
//!    time (S12=255: 5.1 s);
//! 2. send a guarded `+++` (longest guard time of silence before and after): it ends any data
//!    mode, and in command mode it is only text on a line that step 3 ends;
//! 3. try every possible S3 (0-127): `<t> AT&F<t>`; the candidate equal to the real S3 first
//!    ends the pending line, then runs AT&F (factory S3/S4/S5, echo, ATV1, ATQ0, CMEE=1);
//! 4. `\r`, `ATE0\r`, `AT\r`: the output must end with `\r\nOK\r\n`.
//!
//! Only settings that make `AT` itself untypeable (S3/S4/S5 set to `A`/`T`/`&`/`F`) are
//! beyond any host's recovery; the generator never writes those values.

use std::time::Duration;

use bg95_core::transcript::Harness;
use proptest::prelude::*;

/// One step of the garbage: bytes (sent in chunks of the given sizes) or a pause.
#[derive(Debug, Clone)]
enum Step {
    Send(Vec<u8>, Vec<usize>),
    Wait(u64),
}

const TOKENS: &[&[u8]] = &[
    b"AT\r",
    b"AT\r\n",
    b"ATE0\r",
    b"ATE1\r",
    b"ATV0\r",
    b"ATQ1\r",
    b"AT+CMEE=0\r",
    b"AT+CMEE=2\r",
    b"AT&W\r",
    b"ATZ\r",
    b"AT&F\r",
    b"A/",
    b"+++",
    b"ATS12=0\r",
    b"ATS12=255\r",
    b"ATS12=1\r",
    b"ATS3=35\r",
    b"ATS3=0\r",
    b"ATS3=10\r",
    b"ATS4=13\r",
    b"ATS4=65\r",
    b"ATS5=127\r",
    b"ATS5=32\r",
    b"AT+QPOWD\r",
    b"AT+QPOWD=0\r\n",
    b"AT+CFUN=1,1\r\n",
    b"AT+CFUN=0\r",
    b"AT+CFUN=1\r",
    b"AT+QFUPL=\"p.bin\",40,1\r",
    b"AT+QFUPL=\"q.bin\",100000,65535,1\r",
    b"AT+QFUPL=\"r.bin\",3\r\n",
    b"AT+QFOPEN=\"h.txt\",0\r",
    b"AT+QFWRITE=1,50,60\r",
    b"AT+QFDWL=\"p.bin\"\r",
    b"AT+QFLST\r",
    b"AT+QIACT=1\r",
    b"AT+QFTPCFG=\"contextid\",1\r",
    b"AT+QFTPOPEN=\"ftp.example\",21\r",
    b"AT+QFTPPUT=\"x\",\"COM:\",0\r",
    b"AT+QFTPGET=\"x\",\"COM:\"\r",
    b"ATO\r",
    b"AT+IPR=115200\r",
];

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..200),
        3 => proptest::sample::select(TOKENS).prop_map(|t| t.to_vec()),
        1 => proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(0u8), Just(0x1a)], 1..8),
        // A long line without a terminator (the limit is 1024).
        1 => (any::<u8>(), 1000usize..3000).prop_map(|(b, n)| {
            let mut v = b"AT".to_vec();
            v.resize(n, b.max(b' '));
            v
        }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (bytes(), proptest::collection::vec(1usize..64, 1..6)).prop_map(|(b, c)| Step::Send(b, c)),
        1 => prop_oneof![0u64..50, 0u64..3000, 0u64..200_000].prop_map(Step::Wait),
    ]
}

/// Drives a module through the core test harness and checks the per-step properties.
struct Host {
    h: Harness,
    out: Vec<u8>,
}

/// A generous ceiling for one step's output: echo of the input plus the answers of the
/// lines it completes (the longest answers are UFS listings and A/-repeated chains).
fn output_bound(input: usize) -> usize {
    64 * 1024 + 64 * input
}

impl Host {
    fn new() -> Self {
        Host {
            h: Harness::new(),
            out: Vec::new(),
        }
    }

    fn drain(&mut self, input: usize) -> Result<(), TestCaseError> {
        let out = self.h.take_output();
        let n = out.len();
        self.out.extend_from_slice(&out);
        // The runtime's side is never completed here: FTP requests just time out.
        self.h.take_effects();
        prop_assert!(
            n <= output_bound(input),
            "{n} bytes of output for {input} bytes of input"
        );
        // Keep only the tail the final check needs.
        if self.out.len() > 4096 {
            self.out.drain(..self.out.len() - 64);
        }
        Ok(())
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), TestCaseError> {
        self.h.send(bytes);
        if let Some(t) = self.h.module().poll_timeout() {
            // A deadline may fall due at once (a zero guard time), never earlier.
            let now = self.h.now();
            prop_assert!(t >= now, "deadline {t:?} before now {now:?}");
        }
        self.drain(bytes.len())
    }

    /// Let `d` pass, firing every deadline on the way, in order.
    fn wait(&mut self, d: Duration) -> Result<(), TestCaseError> {
        let end = self.h.now() + d;
        let mut fired = 0;
        while self.h.fire_next_deadline(end) {
            fired += 1;
            prop_assert!(fired < 10_000, "deadlines never stop falling due");
            self.check_deadline()?;
            self.drain(0)?;
        }
        self.h.advance_to(end);
        self.check_deadline()?;
        self.drain(0)
    }

    /// After handle_timeout(now) nothing may be due any more (a runtime would spin).
    fn check_deadline(&self) -> Result<(), TestCaseError> {
        if let Some(t) = self.h.module().poll_timeout() {
            let now = self.h.now();
            prop_assert!(
                t > now,
                "deadline {t:?} not after now {now:?} after handle_timeout"
            );
        }
        Ok(())
    }

    fn recover(&mut self) -> Result<(), TestCaseError> {
        let guard = Duration::from_millis(255 * 20 + 200);
        self.wait(guard.max(Duration::from_secs(3)))?;
        self.send(b"+++")?;
        self.wait(guard)?;
        // Power-on after an AT+QPOWD that the +++ line could not cause, and any timeout.
        self.wait(Duration::from_secs(3))?;
        for t in 0u8..=127 {
            self.send(&[t, b' ', b'A', b'T', b'&', b'F', t])?;
        }
        self.send(b"\r")?;
        self.send(b"ATE0\r")?;
        self.out.clear();
        self.send(b"AT\r")?;
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_breaks_the_module(steps in proptest::collection::vec(step(), 0..40)) {
        let mut h = Host::new();
        for s in &steps {
            match s {
                Step::Send(bytes, chunks) => {
                    let mut rest = &bytes[..];
                    for &c in chunks.iter().cycle() {
                        if rest.is_empty() {
                            break;
                        }
                        let (now, later) = rest.split_at(c.min(rest.len()));
                        h.send(now)?;
                        let later_now = h.h.now() + Duration::from_millis(c as u64 % 7);
                        h.h.set_now(later_now);
                        rest = later;
                    }
                }
                Step::Wait(ms) => h.wait(Duration::from_millis(*ms))?,
            }
        }
        h.recover()?;
        prop_assert!(
            h.out.ends_with(b"\r\nOK\r\n"),
            "after recovery: {:?}",
            String::from_utf8_lossy(&h.out)
        );
    }
}
