use super::*;

const RECORDING: &str = r#"#! boot
#! server embedded 127.0.0.1:2121
@+10ms
> ATE0\r
< ATE0\r\r\nOK\r\n
@+5ms
> AT+QFTPOPEN="127.0.0.1",2121\r
< \r\nOK\r\n
"#;

const SCENARIO: &str = r#"name = "open never answers"
[ftp_server]
root = "."
[[fault]]
name = "never"
on = "at_command"
command = "AT+QFTPCLOSE"
action = "module_reset"
optional = true
[[step]]
line = "ATE0"
[[step]]
expect = "OK"
[[step]]
line = "AT+QFTPOPEN=\"${ftp_host}\",${ftp_port}"
[[step]]
expect = "+QFTPOPEN: 0,0"
timeout = "2s"
"#;

fn scenario() -> (tempfile::TempDir, Scenario) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("open.toml");
    std::fs::write(&path, SCENARIO).unwrap();
    let scenario = Scenario::load(&path).unwrap();
    (dir, scenario)
}

#[test]
fn a_failed_step_is_a_band_from_its_start_to_its_timeout() {
    let (_dir, scenario) = scenario();
    let step = &scenario.steps[3];
    let message = format!(
        "step at line {}: expected line \"+QFTPOPEN: 0,0\" within 2s; lines seen: [\"OK\"]",
        step.line
    );
    let outcome = Outcome {
        name: scenario.name.clone(),
        path: scenario.path.clone(),
        elapsed: Duration::from_secs(2),
        result: Err(message),
        fired: Vec::new(),
        interrupted: false,
    };
    let timeline = run_timeline(&scenario, &outcome, RECORDING).unwrap();
    assert_eq!(timeline.server, Some("127.0.0.1:2121".parse().unwrap()));
    let failure = timeline
        .rows
        .items
        .iter()
        .find(|i| i.kind == Kind::Failure)
        .unwrap();
    // The step started when the host had sent ATE0\r and the substituted open line (34
    // bytes), at 15 ms, and gave up 2 s later.
    assert_eq!(failure.t_us, 15_000);
    assert_eq!(failure.band.as_ref().unwrap().end_us, 2_015_000);
    assert_eq!(timeline.rows.end_us, 2_015_000);
    let mark = failure.failure.as_ref().unwrap();
    assert_eq!(mark.expected, "a line \"+QFTPOPEN: 0,0\" within 2.0 s");
    assert_eq!(mark.got, "lines seen: [\"OK\"]");
    assert!(mark
        .step
        .starts_with(&format!("step at line {} of ", step.line)));
    // Right after the command that started its window: what came while it waited follows.
    let kinds: Vec<Kind> = timeline.rows.items.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds[kinds.len() - 4..],
        [Kind::Command, Kind::Failure, Kind::Answer, Kind::Note]
    );
    let gave_up = timeline.rows.items.last().unwrap();
    assert_eq!(gave_up.t_us, 2_015_000);
    assert_eq!(gave_up.text, "the step gave up after 2.0 s");
    let summary = timeline.summary();
    assert_eq!(
        (summary.result_class, summary.badge.as_str()),
        ("fail", "failed")
    );
    assert_eq!(summary.faults_declared, Some(1));
    assert_eq!(summary.duration, "2.0 s");
    let html = timeline.render().unwrap();
    assert!(html.contains("class=\"failure-card\""));
    assert!(html.contains("within 2.0 s"));
}

#[test]
fn a_message_without_a_step_is_placed_after_the_last_step() {
    let (_dir, scenario) = scenario();
    let f = step_failure(&scenario, "faults that never fired: x", None);
    assert_eq!(f.step, "after the last step");
    assert_eq!(f.got, "faults that never fired: x");
    // Unsubstituted: the variables' own length.
    assert_eq!(
        f.sent_before,
        5 + "AT+QFTPOPEN=\"${ftp_host}\",${ftp_port}\r".len() as u64
    );
}

#[test]
fn a_replays_diff_is_drawn_at_its_inputs_time() {
    let text = "@+10ms\n> ATE0\\r\n< ATE0\\r\\r\\nOK\\r\\n\n@+250ms\n> AT+CSQ\\r\n< \\r\\n+CSQ: 1,1\\r\\n\\r\\nOK\\r\\n\n";
    let outcome = crate::replay::replay_text(text).unwrap();
    assert!(!outcome.identical());
    let info = PageInfo {
        title: "t".into(),
        ..PageInfo::default()
    };
    let mut timeline = Timeline::from_text(text, info).unwrap();
    timeline.apply_replay(&outcome.comparison);
    let diffs: Vec<&Item> = timeline
        .rows
        .items
        .iter()
        .filter(|i| i.kind == Kind::Diff)
        .collect();
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].t_us, 260_000);
    let mark = diffs[0].diff.as_ref().unwrap();
    assert_eq!(mark.recorded, vec!["< +CSQ: 1,1\\r\\n".to_string()]);
    assert_eq!(mark.replayed.len(), 1);
    assert!(
        mark.replayed[0].starts_with("< +CSQ: "),
        "{:?}",
        mark.replayed
    );
    let summary = timeline.summary();
    assert_eq!(summary.badge, "replay differs");
    assert_eq!(summary.verdict, "replay differs in 1 place");
    let html = timeline.render().unwrap();
    assert!(html.contains("timeline hide-echo with-diff"));
    assert!(html.contains("recorded (expected)"));
}

#[test]
fn the_page_is_escaped_and_self_contained() {
    let text = "> AT+X=\"<script>alert(1)</script>\"\\r\n< \\r\\nERROR\\r\\n\n";
    let info = PageInfo {
        title: "<b>title</b>".into(),
        ..PageInfo::default()
    };
    let html = Timeline::from_text(text, info).unwrap().render().unwrap();
    assert!(!html.contains("<script>alert"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b>title</b>"));
    // Nothing is fetched: no external scripts, styles, images or fonts.
    for needle in ["http://", "https://", "src=", "<link"] {
        assert!(!html.contains(needle), "{needle}");
    }
}

#[test]
fn a_runners_message_shows_no_password() {
    let message = r#"step at line 9: expected line "OK" within 1s; lines seen: ["AT+QFTPCFG=\"account\",\"test\",\"s3cret\"", "ERROR"]"#;
    assert_eq!(
        mask_passwords(message),
        r#"step at line 9: expected line "OK" within 1s; lines seen: ["AT+QFTPCFG=\"account\",\"test\",\"******\"", "ERROR"]"#
    );
    assert_eq!(
        mask_passwords(r#"got "at+qftpcfg="Account","u","pw"\r""#),
        r#"got "at+qftpcfg="Account","u","**"\r""#
    );
    assert_eq!(
        mask_passwords("AT+QFTPCFG=\"contextid\",1"),
        "AT+QFTPCFG=\"contextid\",1"
    );
}
