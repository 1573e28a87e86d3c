use super::*;

const BOOT: &str = r#"#! boot
@+1ms
< \r\nRDY\r\n\r\nAPP RDY\r\n
> ATE0\r
< ATE0\r\r\nOK\r\n
> AT+QFTPOPEN="127.0.0.1",2121\r
< \r\nOK\r\n
= ftp open host=127.0.0.1 port=2121 user=test pass=**** type=binary mode=passive data-address=reply tls=none
@+20ms
! ftp done ok
< \r\n+QFTPOPEN: 0,0\r\n
! traffic 30 79
"#;

fn kinds(rows: &Rows) -> Vec<(Kind, &str)> {
    rows.items
        .iter()
        .map(|i| (i.kind, i.text.as_str()))
        .collect()
}

#[test]
fn lines_become_commands_echo_answers_urcs_and_ftp_rows() {
    let rows = rows(BOOT).unwrap();
    assert_eq!(
        kinds(&rows),
        vec![
            (Kind::Urc, "RDY"),
            (Kind::Urc, "APP RDY"),
            (Kind::Command, "ATE0"),
            (Kind::Echo, "ATE0"),
            (Kind::Answer, "OK"),
            (Kind::Command, "AT+QFTPOPEN=\"127.0.0.1\",2121"),
            (Kind::Answer, "OK"),
            (
                Kind::Request,
                "open host=127.0.0.1 port=2121 user=test pass=**** type=binary mode=passive data-address=reply tls=none"
            ),
            (Kind::Reply, "done ok"),
            (Kind::Urc, "+QFTPOPEN: 0,0"),
        ]
    );
    let lanes: Vec<(Lane, Lane)> = rows.items.iter().map(|i| (i.from, i.to)).collect();
    assert_eq!(lanes[2], (Lane::Host, Lane::Module));
    assert_eq!(lanes[4], (Lane::Module, Lane::Host));
    assert_eq!(lanes[7], (Lane::Module, Lane::Server));
    assert_eq!(lanes[8], (Lane::Server, Lane::Module));
    // Times add up; the traffic event is bookkeeping, not a row.
    assert_eq!(rows.items[8].t_us, 21_000);
    assert_eq!(rows.items[8].time, "0.021 s");
    assert_eq!(rows.end_us, 21_000);
    assert_eq!(rows.totals.host_bytes, 5 + 29);
    assert_eq!(rows.totals.errors, 0);
}

#[test]
fn a_command_split_over_reads_is_one_row() {
    let rows = rows("> AT+QFT\n> PSTAT\\r\n< \\r\\nOK\\r\\n\n").unwrap();
    assert_eq!(
        kinds(&rows),
        vec![(Kind::Command, "AT+QFTPSTAT"), (Kind::Answer, "OK")]
    );
    assert_eq!(rows.items[0].line, 1);
}

#[test]
fn errors_are_red_with_the_application_notes_meaning() {
    let text = r#"> AT+QFTPOPEN="h",21\r
< \r\nOK\r\n
= ftp open host=h port=21
! ftp fail reply 530
< \r\n+QFTPOPEN: 625,530\r\n
> AT+QFTPGET="a","COM:"\r
< \r\n+CME ERROR: 609\r\n
> AT+X\r
< \r\nERROR\r\n
< \r\n+QIURC: "dnsgip",565\r\n
< \r\n+QFTPGET: 0,600\r\n
"#;
    let rows = rows(text).unwrap();
    let reply = &rows.items[3];
    assert_eq!(
        (reply.kind, reply.text.as_str()),
        (Kind::Reply, "fail reply 530")
    );
    assert!(reply.error);
    assert_eq!(reply.meaning.as_deref(), Some("→ <err> 625: not logged in"));
    let urc = &rows.items[4];
    assert!(urc.error);
    assert_eq!(
        urc.meaning.as_deref(),
        Some("625: not logged in (server replied 530)")
    );
    let cme = &rows.items[6];
    assert!(cme.error);
    assert_eq!(cme.meaning.as_deref(), Some("609: timeout error"));
    assert!(rows.items[8].error);
    assert_eq!(rows.items[8].meaning, None);
    assert_eq!(
        rows.items[9].meaning.as_deref(),
        Some("565: DNS parse failed")
    );
    // A success whose length happens to be 600 is not an error.
    assert!(!rows.items[10].error);
    assert_eq!(rows.totals.errors, 5);
}

#[test]
fn a_download_to_com_is_a_data_mode_band_and_a_data_connection_band() {
    let text = r#"> AT+QFTPGET="hello.txt","COM:"\r
= ftp download file "hello.txt" offset=0 limit=none
@+1ms
! ftp ready
< \r\nCONNECT\r\n
! ftp data "hello "
< hello 
@+5ms
! ftp data "world\n"
< world\n
@+41ms
! ftp done ok
< \r\nOK\r\n\r\n+QFTPGET: 0,12\r\n
"#;
    let rows = rows(text).unwrap();
    assert_eq!(
        kinds(&rows),
        vec![
            (Kind::Command, "AT+QFTPGET=\"hello.txt\",\"COM:\""),
            (
                Kind::Request,
                "download file \"hello.txt\" offset=0 limit=none"
            ),
            (Kind::DataConnection, "data connection: server → module"),
            (Kind::Reply, "ready"),
            (Kind::Answer, "CONNECT"),
            (Kind::DataMode, "data mode: module → host"),
            (Kind::Reply, "done ok"),
            (Kind::Answer, "OK"),
            (Kind::Urc, "+QFTPGET: 0,12"),
        ]
    );
    let conn = rows.items[2].band.as_ref().unwrap();
    assert_eq!((rows.items[2].t_us, conn.end_us), (0, 47_000));
    assert_eq!(conn.bytes, 12);
    assert_eq!(conn.direction, Direction::Down);
    assert!(!conn.open && !conn.failed);
    let mode = rows.items[5].band.as_ref().unwrap();
    assert_eq!((rows.items[5].t_us, mode.end_us), (1_000, 47_000));
    assert_eq!(mode.bytes, 12);
    assert_eq!(mode.first_text, "hello world\\n");
    assert_eq!(mode.shown, 12);
    assert!(mode.first_hex.starts_with("0000  68 65 6c 6c 6f 20 77"));
    assert_eq!(rows.totals.ftp_down, 12);
}

#[test]
fn a_broken_transfer_ends_its_bands_as_failed() {
    let text = r#"> AT+QFTPGET="big.bin","COM:"\r
= ftp download file "big.bin" offset=0 limit=none
! ftp ready
< \r\nCONNECT\r\n
! fault "get-rst" at 2ms on transfer download after 307200 bytes -> data Reset
! ftp data "0123"
< 0123
@+3ms
! ftp fail data-closed 226
< \r\nOK\r\n\r\n+QFTPGET: 607,0\r\n
"#;
    let rows = rows(text).unwrap();
    let fault = rows.items.iter().find(|i| i.kind == Kind::Fault).unwrap();
    assert_eq!(
        fault.fault,
        Some(FaultMark {
            name: "get-rst".into(),
            trigger: "transfer download after 307200 bytes".into(),
            action: "data Reset".into(),
        })
    );
    assert_eq!((fault.from, fault.to), (Lane::Host, Lane::Server));
    assert_eq!(rows.totals.faults_fired, 1);
    let bands: Vec<&Band> = rows.items.iter().filter_map(|i| i.band.as_ref()).collect();
    assert_eq!(bands.len(), 2);
    assert!(bands
        .iter()
        .all(|b| b.failed && !b.open && b.end_us == 3_000));
    let fail = rows
        .items
        .iter()
        .find(|i| i.kind == Kind::Reply && i.error)
        .unwrap();
    assert_eq!(
        fail.meaning.as_deref(),
        Some("→ <err> 607: data connection closed")
    );
    let urc = rows.items.last().unwrap();
    assert_eq!(urc.text, "+QFTPGET: 607,0");
    assert_eq!(urc.meaning.as_deref(), Some("607: data connection closed"));
}

#[test]
fn an_upload_from_com_counts_the_hosts_data_and_the_recorded_digests() {
    let text = r#"> AT+QFTPPUT="up.bin","COM:",0\r
= ftp upload "up.bin" offset=0 append=0
! ftp ready
< \r\nCONNECT\r\n
> abc
= ftp upload-data "abc"
> \xff+++
= ftp upload-data 4096B/fnv=0123456789abcdef
= ftp upload-end close=1
! ftp done ok
< \r\nOK\r\n\r\n+QFTPPUT: 0,4099\r\n
"#;
    let rows = rows(text).unwrap();
    let mode = rows
        .items
        .iter()
        .find(|i| i.kind == Kind::DataMode)
        .unwrap();
    let band = mode.band.as_ref().unwrap();
    assert_eq!(band.direction, Direction::Up);
    assert_eq!(band.bytes, 7);
    assert_eq!(band.first_text, "abc\\xff+++");
    let conn = rows
        .items
        .iter()
        .find(|i| i.kind == Kind::DataConnection)
        .unwrap();
    assert_eq!(conn.band.as_ref().unwrap().bytes, 4099);
    assert_eq!(rows.totals.ftp_up, 4099);
    // The data is not read as commands; the module's answer after it is.
    assert!(!rows
        .items
        .iter()
        .any(|i| i.kind == Kind::Command && i.text.contains("abc")));
    assert_eq!(rows.items.last().unwrap().text, "+QFTPPUT: 0,4099");
    assert!(rows.items.iter().any(|i| i.text == "upload-end close=1"));
}

#[test]
fn network_dns_and_power_events_have_their_lanes() {
    let text = "! net reg 0\n! dns 1 fail\n! power loss 3s\n= resolve 1 \"h\"\n";
    let rows = rows(text).unwrap();
    let got: Vec<(Kind, Lane, Lane)> = rows.items.iter().map(|i| (i.kind, i.from, i.to)).collect();
    assert_eq!(
        got,
        vec![
            (Kind::Net, Lane::Server, Lane::Module),
            (Kind::Net, Lane::Server, Lane::Module),
            (Kind::Power, Lane::Module, Lane::Module),
            (Kind::Request, Lane::Module, Lane::Server),
        ]
    );
    assert_eq!(rows.items[0].text, "network: reg 0");
}

#[test]
fn a_transcript_that_stops_mid_transfer_leaves_its_bands_open() {
    let text = "> AT+QFTPGET=\"a\",\"COM:\"\\r\n= ftp download file \"a\" offset=0 limit=none\n! ftp ready\n< \\r\\nCONNECT\\r\\n\n@+2s\n! ftp data \"x\"\n< x\n";
    let rows = rows(text).unwrap();
    let bands: Vec<&Band> = rows.items.iter().filter_map(|i| i.band.as_ref()).collect();
    assert_eq!(bands.len(), 2);
    assert!(bands
        .iter()
        .all(|b| b.open && b.end_us == 2_000_000 && b.bytes == 1));
}

#[test]
fn hostile_input_is_bounded_and_bad_lines_are_errors() {
    let long = format!("> {}\\r\n", "A".repeat(10_000));
    let rows = rows(&long).unwrap();
    assert!(rows.items[0].text.chars().count() <= MAX_TEXT + 1);
    assert!(rows.items[0].text.ends_with('…'));
    let many: String = (0..MAX_ROWS + 10)
        .map(|_| "< \\r\\n+X: 1\\r\\n\n")
        .collect();
    let rows = super::rows(&many).unwrap();
    assert_eq!(rows.items.len(), MAX_ROWS + 1);
    assert_eq!(rows.dropped, 10);
    assert_eq!(rows.items.last().unwrap().kind, Kind::Note);
    assert!(super::rows("? nonsense\n").unwrap_err().contains("line 1"));
    // A fault line in an unexpected shape still makes a marker.
    assert_eq!(parse_fault("odd").trigger, "odd");
}

#[test]
fn formats() {
    assert_eq!(format_time(61_234_567), "61.234 s");
    assert_eq!(format_duration(Duration::from_millis(850)), "850 ms");
    assert_eq!(format_duration(Duration::from_millis(12_400)), "12.4 s");
    assert_eq!(format_duration(Duration::from_secs(185)), "3 min 05 s");
    assert_eq!(
        hex_dump(b"0123456789abcdefXY\n"),
        "0000  30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66  0123456789abcdef\n0010  58 59 0a                                         XY.\n"
    );
}

mod random {
    use super::*;
    use proptest::prelude::*;

    /// A transcript line of any tag with any body (most are not valid).
    fn line() -> impl Strategy<Value = String> {
        let tag = prop::sample::select(vec![
            "> ", "< ", "= ftp ", "! ftp ", "! fault ", "@+", "! net ",
        ]);
        let body = prop::sample::select(vec![
            "AT+QFTPGET=\\\"a\\\",\\\"COM:\\\"\\r".to_string(),
            "\\r\\nCONNECT\\r\\n".to_string(),
            "download file \"a\" offset=0 limit=none".to_string(),
            "upload \"a\" offset=0 append=0".to_string(),
            "upload-data 12B/fnv=00".to_string(),
            "ready".to_string(),
            "data \"xy\"".to_string(),
            "done ok".to_string(),
            "fail reply 550".to_string(),
            "\\r\\n+QFTPGET: 627,550\\r\\n".to_string(),
            "AT+QFTPPUT=\\\"a\\\",\\\"COM:\\\",0\\r".to_string(),
            "+++".to_string(),
            "5ms".to_string(),
            "\"x\" at 1ms on y -> z".to_string(),
            "reg 0".to_string(),
        ]);
        (tag, body, "[ -~]{0,12}").prop_map(|(t, b, noise)| format!("{t}{b}{noise}"))
    }

    proptest! {
        /// Whatever the lines, building rows never panics, keeps time order, and every
        /// band ends no earlier than it starts.
        #[test]
        fn rows_of_any_lines(lines in prop::collection::vec(line(), 0..40)) {
            let text = lines.join("\n");
            if let Ok(rows) = rows(&text) {
                prop_assert!(rows.items.windows(2).all(|w| w[0].t_us <= w[1].t_us));
                for item in &rows.items {
                    if let Some(b) = &item.band {
                        prop_assert!(b.end_us >= item.t_us);
                        prop_assert!(b.shown <= FIRST_BYTES);
                    }
                }
            }
        }
    }
}
