//! Model test of the one abort path: random interleavings of FTP commands, every way the
//! module abandons a request (rsptimeout, AT+CFUN=1,1, AT+QPOWD, AT+CFUN=0, AT+QIDEACT,
//! power events) and a model runtime that answers the requests in order. The runtime keeps
//! the seam's contract: it answers requests in the order they were asked for, an `Abort` is
//! answered with `Aborted`, and a request sent before an `Abort` may still be answered
//! before that marker (a late answer). The properties:
//!
//! 1. a success URC (`+QFTP<CMD>: 0,…`) that an answer produces names the command of the
//!    request that answer belongs to, and that request was not abandoned;
//! 2. an answer to an abandoned request produces no output at all;
//! 3. whatever happened, once the runtime has caught up, a new session opens and gets its own
//!    answer (the core never waits for a marker that will not come, nor misses one).

use std::collections::VecDeque;
use std::time::Duration;

use bg95_core::ftp::{FtpEvent, FtpRequest, Reply};
use bg95_core::transcript::Harness;
use bg95_core::{Completion, PowerEvent};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Action {
    Host(&'static str),
    Wait(u64),
    /// The runtime answers the oldest request it holds.
    Answer,
    Power(PowerEvent),
}

/// Host commands with their weights: opening a session (with its context) and asking
/// something of it are common, so that abandoned requests meet later ones often.
const COMMANDS: &[(u32, &str)] = &[
    (4, "AT+QIACT=1;+QFTPOPEN=\"h\"\r"),
    (3, "AT+QFTPCWD=\"/\"\r"),
    (2, "AT+QFTPPWD\r"),
    (1, "AT+QFTPCLOSE\r"),
    (1, "AT+QIDEACT=1\r"),
    (1, "AT+CFUN=0\r"),
    (1, "AT+CFUN=1\r"),
    (2, "AT+CFUN=1,1\r"),
    (1, "AT+QPOWD\r"),
    (1, "AT+QFTPCFG=\"rsptimeout\",5\r"),
];

fn command() -> impl Strategy<Value = &'static str> {
    let total: u32 = COMMANDS.iter().map(|(w, _)| w).sum();
    (0..total).prop_map(|mut pick| {
        for (w, c) in COMMANDS {
            if pick < *w {
                return *c;
            }
            pick -= w;
        }
        unreachable!("pick < total")
    })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        5 => command().prop_map(Action::Host),
        1 => prop_oneof![Just(1u64), Just(3), Just(6)].prop_map(Action::Wait),
        4 => Just(Action::Answer),
        1 => prop_oneof![
            Just(PowerEvent::Reset),
            Just(PowerEvent::Loss { off_for: Duration::from_secs(1) }),
        ]
        .prop_map(Action::Power),
    ]
}

/// The model runtime: the requests it holds, in order; `None` is an `Abort`.
struct Runtime {
    inbox: VecDeque<Option<FtpRequest>>,
}

impl Runtime {
    fn take_effects(&mut self, h: &mut Harness) {
        for req in h.take_ftp_requests() {
            self.inbox.push_back(match req {
                FtpRequest::Abort => None,
                other => Some(other),
            });
        }
    }

    /// The oldest request's answer, which URC a success of it would carry, and whether an
    /// `Abort` follows it (then it is abandoned).
    fn answer(&mut self) -> Option<(FtpEvent, Option<&'static str>, bool)> {
        let abandoned = self.inbox.iter().skip(1).any(Option::is_none);
        Some(match self.inbox.pop_front()? {
            None => (FtpEvent::Aborted, None, false),
            Some(req) => {
                let (reply, urc) = match req {
                    FtpRequest::Open(_) => (Reply::Ok, "+QFTPOPEN"),
                    FtpRequest::Cwd(_) => (Reply::Ok, "+QFTPCWD"),
                    FtpRequest::Pwd => (Reply::Path("/".into()), "+QFTPPWD"),
                    FtpRequest::Close => (Reply::Ok, "+QFTPCLOSE"),
                    other => panic!("not asked for in this test: {other:?}"),
                };
                (FtpEvent::Done(Ok(reply)), Some(urc), abandoned)
            }
        })
    }
}

/// The commands of the success URCs in `out` (`+QFTPCWD: 0,` → `+QFTPCWD`).
fn success_urcs(out: &str) -> Vec<&str> {
    out.match_indices(": 0,")
        .filter_map(|(i, _)| {
            let start = out[..i].rfind("+QFTP")?;
            Some(&out[start..i])
        })
        .collect()
}

fn run(actions: &[Action]) -> Result<(), TestCaseError> {
    let mut h = Harness::new();
    let mut rt = Runtime {
        inbox: VecDeque::new(),
    };
    h.at("ATE0&W");
    for a in actions {
        match a {
            Action::Host(cmd) => h.send(cmd.as_bytes()),
            Action::Wait(s) => h.advance(Duration::from_secs(*s)),
            Action::Power(ev) => h.feed(Completion::Power(*ev)),
            Action::Answer => {
                rt.take_effects(&mut h);
                h.take_output();
                if let Some((ev, urc, abandoned)) = rt.answer() {
                    let out = h.ftp(ev.clone());
                    if abandoned {
                        prop_assert_eq!(&out, "", "the late answer {:?} produced output", ev);
                    }
                    for got in success_urcs(&out) {
                        prop_assert_eq!(Some(got), urc, "output {:?} for {:?}", out, ev);
                    }
                }
            }
        }
        rt.take_effects(&mut h);
        h.take_output();
    }
    // The runtime catches up; the module is on again; a new session gets its own answer.
    while let Some((ev, _, _)) = rt.answer() {
        h.feed(Completion::Ftp(ev));
        rt.take_effects(&mut h);
    }
    h.advance(Duration::from_secs(10));
    h.send(b"AT+CFUN=1,1\r");
    rt.take_effects(&mut h);
    h.at("AT+QIACT=1");
    prop_assert_eq!(h.at("AT+QFTPOPEN=\"h\""), "\r\nOK\r\n");
    rt.take_effects(&mut h);
    let mut out = String::new();
    while let Some((ev, _, _)) = rt.answer() {
        out.push_str(&h.ftp(ev));
    }
    prop_assert_eq!(out, "\r\n+QFTPOPEN: 0,0\r\n");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]
    #[test]
    fn abandoned_requests_never_answer_later_ones(
        actions in proptest::collection::vec(action(), 1..60)
    ) {
        run(&actions)?;
    }
}
