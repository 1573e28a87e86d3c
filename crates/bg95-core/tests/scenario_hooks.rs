//! The core settings and hooks scenarios use, which the golden transcripts (default
//! personality, no hooks) cannot reach: a module powered on without a SIM, per-context PDP
//! addresses, and answer overrides (firmware quirks).

use std::time::Duration;

use bg95_at::FinalResult;
use bg95_core::transcript::Harness;
use bg95_core::{AnswerOverride, CmeError, MemStore, Personality};

/// Without a SIM the boot URCs say `+CPIN: NOT READY` and announce no USIM or SMS storage;
/// AT+CPIN? is `+CME ERROR: 10`, the module is not registered and has no bearer, and an
/// open of a host name fails as its lookup (604).
#[test]
fn powered_on_without_a_sim() {
    let no_sim = Personality {
        sim_inserted: false,
        ..Personality::default()
    };
    let mut m = Harness::powered_on(no_sim, Box::new(MemStore::new()));
    assert_eq!(
        m.take_text(),
        "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: NOT READY\r\n\r\nAPP RDY\r\n"
    );
    m.play(
        r#"
> ATE0\r
< ATE0\r\r\nOK\r\n
> AT+CPIN?\r
< \r\n+CME ERROR: 10\r\n
> AT+CEREG?;+CGPADDR=1\r
< \r\n+CEREG: 0,0\r\n\r\n+CGPADDR: 1\r\n\r\nOK\r\n
> AT+QFTPOPEN="ftp.example.com"\r
< \r\nOK\r\n\r\n+QFTPOPEN: 604,0\r\n
"#,
    );
}

/// `[network.pdp]`: the network's address for a context shows in AT+QIACT?, AT+CGPADDR
/// and AT+CGDCONT?; other contexts keep the default.
#[test]
fn pdp_addresses_per_context() {
    let mut m = Harness::with_personality(Personality {
        pdp_addresses: [(1, "10.20.30.40".parse().unwrap())].into_iter().collect(),
        ..Personality::default()
    });
    m.play(
        r#"
> ATE0\r
< ATE0\r\r\nOK\r\n
> AT+QICSGP=2,1,"iot";+QIACT=1;+QIACT=2\r
< \r\nOK\r\n
> AT+QIACT?\r
< \r\n+QIACT: 1,1,1,"10.20.30.40"\r\n+QIACT: 2,1,1,"10.7.157.2"\r\n\r\nOK\r\n
> AT+CGPADDR=1\r
< \r\n+CGPADDR: 1,"10.20.30.40"\r\n\r\nOK\r\n
"#,
    );
}

/// A start state (a field log that begins after boot): the commands the module had run
/// leave their state — context 1 active with the network's address, QFTPCFG values set —
/// and none of their answers; the boot URCs are all the host reads. A reset loses it.
#[test]
fn start_commands_leave_their_state_and_no_output() {
    let started = Personality {
        pdp_addresses: [(1, "10.44.12.7".parse().unwrap())].into_iter().collect(),
        start_commands: vec![
            "AT+QIACT=1".into(),
            "AT+QFTPCFG=\"rsptimeout\",30".into(),
            "AT+QFTPCFG=\"account\",\"u\",\"pw\"".into(),
        ],
        ..Personality::default()
    };
    let mut m = Harness::powered_on(started, Box::new(MemStore::new()));
    assert_eq!(
        m.take_text(),
        "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n\r\nAPP RDY\r\n"
    );
    m.play(
        r#"
> ATE0\r
< ATE0\r\r\nOK\r\n
> AT+QIACT?\r
< \r\n+QIACT: 1,1,1,"10.44.12.7"\r\n\r\nOK\r\n
> AT+QFTPCFG="rsptimeout"\r
< \r\n+QFTPCFG: "rsptimeout",30\r\n\r\nOK\r\n
> AT+QFTPCFG="account"\r
< \r\n+QFTPCFG: "account","u","**"\r\n\r\nOK\r\n
> AT+CFUN=1,1\r
< \r\nOK\r\n\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n\r\nAPP RDY\r\n
> AT+QIACT?\r
< AT+QIACT?\r\r\nOK\r\n
"#,
    );
}

/// An override replaces a command's answer (information lines and final result), at once
/// or after its delay; a one-shot override is used once; errors print as AT+CMEE says.
#[test]
fn answer_overrides() {
    let mut m = Harness::new();
    m.module_mut().override_next_answer(
        "AT+CPIN",
        AnswerOverride {
            info: vec!["+CPIN: SIM PIN".into()],
            final_result: FinalResult::Ok,
            delay: Duration::from_millis(300),
        },
    );
    m.module_mut().set_answer_override(
        "+CSQ",
        AnswerOverride {
            info: vec![],
            final_result: CmeError::Unknown.into(),
            delay: Duration::ZERO,
        },
    );
    m.play(
        r#"
> ATE0\r
< ATE0\r\r\nOK\r\n
> AT+CPIN?\r
@+299ms
@+1ms
< \r\n+CPIN: SIM PIN\r\n\r\nOK\r\n
> AT+CPIN?\r
< \r\n+CPIN: READY\r\n\r\nOK\r\n
> AT+CSQ\r
< \r\n+CME ERROR: 100\r\n
> AT+CMEE=2;+CSQ\r
< \r\n+CME ERROR: unknown\r\n
"#,
    );
    m.module_mut().clear_answer_override("CSQ");
    m.play(
        r#"
> AT+CSQ\r
< \r\n+CSQ: 24,99\r\n\r\nOK\r\n
"#,
    );
}

#[test]
fn final_results_parse_from_the_error_table() {
    assert_eq!(AnswerOverride::parse_result("OK"), Some(FinalResult::Ok));
    assert_eq!(
        AnswerOverride::parse_result("+CME ERROR: 10"),
        Some(CmeError::SimNotInserted.into())
    );
    assert_eq!(
        AnswerOverride::parse_result("+CME ERROR: 609"),
        Some(bg95_core::FtpError::Timeout.into())
    );
    assert_eq!(AnswerOverride::parse_result("+CME ERROR: 9999"), None);
    assert_eq!(AnswerOverride::parse_result("FINE"), None);
}

/// `info_lines_framed`: each information line in its own frame (observed-behaviour.md has
/// both forms); the framing is the firmware's, so AT&F and ATZ keep it; ATV0 drops headers.
#[test]
fn information_lines_framed_one_by_one() {
    let mut m = Harness::with_personality(Personality {
        info_lines_framed: true,
        ..Personality::default()
    });
    m.play(
        r#"
> ATE0\r
< ATE0\r\r\nOK\r\n
> AT+CGDCONT=2,"IP","iot"\r
< \r\nOK\r\n
> AT+CGACT?\r
< \r\n+CGACT: 1,1\r\n\r\n+CGACT: 2,0\r\n\r\nOK\r\n
> AT&F\r
< \r\nOK\r\n
> ATE0\r
< ATE0\r\r\nOK\r\n
> AT+CGACT?\r
< \r\n+CGACT: 1,1\r\n\r\n+CGACT: 2,0\r\n\r\nOK\r\n
> ATV0\r
< 0\r
> AT+CGACT?\r
< +CGACT: 1,1\r\n+CGACT: 2,0\r\n0\r
"#,
    );
}
