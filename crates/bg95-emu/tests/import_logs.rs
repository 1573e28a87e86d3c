//! `bg95-emu import` (docs/import.md): every field log of the corpus in fixtures/field-logs/
//! — written in the output formats of the tools users paste from, starting at boot, with a
//! context already up, or inside an FTP session, each showing one failure — imports to a
//! scenario that passes `bg95-emu run` with its inferred faults fired. Bad inputs are clear
//! errors; the output never harms an existing file or the log.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bg95_emu::import::{import_with, Options};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bg95(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(args)
        .output()
        .unwrap()
}

fn import_cli(log: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "import".as_ref(),
        log.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    bg95(&args)
}

/// (log, the format it is read in, what the scenario must hold: its fault, its start state
/// or server file).
const CORPUS: &[(&str, &str, &[&str])] = &[
    ("terminal-wrong-password.log", "terminal", &["code = 530"]),
    (
        "driver-dns-then-get.log",
        "marked",
        &["action = \"dns_failure\""],
    ),
    (
        "pyserial-get-reset.log",
        "python-repr",
        &["action = \"data_reset\"", "after_bytes = 131072"],
    ),
    (
        "picocom-boot-dns.log",
        "terminal",
        &[
            "action = \"dns_failure\"",
            "\"files.example.net\" = \"127.0.0.1\"",
        ],
    ),
    (
        "minicom-timestamps-pdp-up-550.log",
        "terminal",
        &[
            "active_contexts = { 1 = \"10.44.12.7\" }",
            "verb = \"RETR\"\nnth = 1\naction = \"reply\"\ncode = 550",
        ],
    ),
    (
        "screen-ansi-session-421.log",
        "terminal",
        &[
            "[[setup]]",
            "verb = \"CWD\"\nnth = 1\naction = \"reply\"\ncode = 421",
        ],
    ),
    (
        "esp-idf-esp-modem-pdp-lost.log",
        "marked",
        &["action = \"pdp_lost\""],
    ),
    (
        "zephyr-hexdump-609.log",
        "hexdump",
        &["action = \"reply_delay\"\ndelay = \"25s\""],
    ),
    (
        "python-logging-com-reset.log",
        "python-repr",
        &["after_bytes = 100\naction = \"data_reset\""],
    ),
    (
        "miniterm-session-open-pdp-lost.log",
        "terminal",
        &[
            "[[setup]]",
            "action = \"pdp_lost\"",
            "\"logs/day1.bin\" = { size = 2048 }",
        ],
    ),
    (
        "rtthread-at-client-530.log",
        "hexdump",
        &["verb = \"PASS\"\nnth = 1\naction = \"reply\"\ncode = 530"],
    ),
    (
        "qcom-session-open-550.log",
        "marked",
        &[
            "[[setup]]",
            "verb = \"RETR\"\nnth = 2\naction = \"reply\"\ncode = 550",
        ],
    ),
    (
        "arduino-monitor-pdp-up-dns.log",
        "terminal",
        &[
            "active_contexts = { 1 = \"10.20.0.9\" }",
            "action = \"dns_failure\"",
        ],
    ),
    (
        "transcript-boot-dns-then-get.txt",
        "transcript",
        &["action = \"dns_failure\""],
    ),
];

/// Server files whose content the log shows (a COM download): (log, path, bytes).
const CONTENT: &[(&str, &str, &str)] = &[
    (
        "driver-dns-then-get.log",
        "config/meter.cfg",
        "interval=900\r\nserver=collector.example.com\r\n",
    ),
    (
        "qcom-session-open-550.log",
        "in/motd.txt",
        "Maintenance window: Sunday 02:00-04:00 UTC\r\n",
    ),
    (
        "transcript-boot-dns-then-get.txt",
        "in/orders.txt",
        "order 1\r\norder 2\r\n",
    ),
];

fn server_file_text(toml_text: &str, path: &str) -> Option<String> {
    let v: toml::Value = toml::from_str(toml_text).unwrap();
    Some(
        v.get("ftp_server")?
            .get("files")?
            .get(path)?
            .get("text")?
            .as_str()?
            .to_string(),
    )
}

/// The corpus: each log imports (library and CLI alike) in its format, with its fault and
/// start state; all the scenarios then pass one `bg95-emu run`, which also fails on a
/// declared fault that never fired.
#[test]
fn every_field_log_imports_to_a_scenario_that_passes_and_fires_its_fault() {
    let dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    for (name, format, wants) in CORPUS {
        let log = repo().join("fixtures/field-logs").join(name);
        let stem = Path::new(name)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&log).unwrap();
        let opts = Options {
            format: None,
            data_dir: format!("{stem}.data"),
        };
        let out = import_with(&text, name, &opts);
        assert_eq!(out.shape.name(), *format, "{name}");
        for want in *wants {
            assert!(
                out.toml.contains(want),
                "{name}: want {want:?} in\n{}",
                out.toml
            );
        }
        for (_, path, content) in CONTENT.iter().filter(|c| c.0 == *name) {
            assert_eq!(
                server_file_text(&out.toml, path).as_deref(),
                Some(*content),
                "{name}"
            );
        }
        let file = dir.path().join(format!("{stem}.toml"));
        let run = import_cli(&log, &file, &[]);
        assert_eq!(run.status.code(), Some(0), "{name}: {run:?}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.contains(&format!("format: {format} (")),
            "{name}: {stderr}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), out.toml, "{name}");
        written.push(file);
    }
    let mut args: Vec<&std::ffi::OsStr> = vec!["run".as_ref(), "--jobs".as_ref(), "2".as_ref()];
    args.extend(written.iter().map(|p| p.as_os_str()));
    let run = bg95(&args);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    assert!(String::from_utf8_lossy(&run.stdout)
        .contains(&format!("{} passed, 0 failed", CORPUS.len())));
}

/// The shipped `scenarios/field-*.toml` are what the importer writes for their logs.
#[test]
fn shipped_field_scenarios_are_what_import_writes() {
    for name in [
        "terminal-wrong-password",
        "driver-dns-then-get",
        "pyserial-get-reset",
    ] {
        let log = repo().join(format!("fixtures/field-logs/{name}.log"));
        let text = std::fs::read_to_string(&log).unwrap();
        let opts = Options {
            format: None,
            data_dir: format!("field-{name}.data"),
        };
        let out = import_with(&text, &format!("{name}.log"), &opts);
        let shipped = repo().join(format!("scenarios/field-{name}.toml"));
        assert_eq!(
            std::fs::read_to_string(&shipped).unwrap(),
            out.toml,
            "{} is not what `bg95-emu import {}` writes",
            shipped.display(),
            log.display()
        );
    }
}

#[test]
fn lines_that_cannot_be_placed_are_listed_with_their_numbers() {
    let log = repo().join("fixtures/field-logs/driver-dns-then-get.log");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.toml");
    let run = import_cli(&log, &out, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("driver-dns-then-get.log:1: not placed: [10:02:11.000] modem: power on"),
        "{stderr}"
    );
    assert_eq!(run.status.code(), Some(0));
    // --strict: the same import exits 1 (the file is still written).
    let run = import_cli(&log, &out, &["--force", "--strict"]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
}

/// Raw control bytes of an unplaced line are escaped in its comment: the file still loads.
#[test]
fn control_bytes_in_unplaced_lines_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("noise.log");
    std::fs::write(&log, b">> AT\n<< OK\nbell\x07 and \x01\x02 here\x7f\n").unwrap();
    let out = dir.path().join("s.toml");
    let run = import_cli(&log, &out, &[]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let toml = std::fs::read_to_string(&out).unwrap();
    assert!(
        toml.contains("# not placed: line 3: bell\\x07 and \\x01\\x02 here\\x7f"),
        "{toml}"
    );
    bg95_emu::scenario::Scenario::load(&out).unwrap();
}

/// `-o FILE`: an existing file is refused without --force; a symlink at FILE is replaced,
/// never written through; the log itself is never overwritten, even with --force.
#[test]
fn the_output_never_harms_an_existing_file_or_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("l.log");
    let text = ">> AT\n<< OK\n";
    std::fs::write(&log, text).unwrap();
    let existing = dir.path().join("e.toml");
    std::fs::write(&existing, "keep").unwrap();
    let run = import_cli(&log, &existing, &[]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("e.toml: exists; use --force to replace it")
    );
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep");

    let target = dir.path().join("precious.txt");
    std::fs::write(&target, "precious").unwrap();
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(import_cli(&log, &link, &[]).status.code(), Some(2));
    let run = import_cli(&log, &link, &["--force"]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    assert!(!std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());

    for out in [log.clone(), dir.path().join("to-log.toml")] {
        if out != log {
            std::os::unix::fs::symlink(&log, &out).unwrap();
        }
        let run = import_cli(&log, &out, &["--force"]);
        assert_eq!(run.status.code(), Some(2), "{run:?}");
        assert!(
            String::from_utf8_lossy(&run.stderr).contains("is the input log"),
            "{run:?}"
        );
        assert_eq!(std::fs::read_to_string(&log).unwrap(), text);
    }
}

/// Logs that cannot be imported: each a clear message and exit 2; a truncated log imports
/// what is complete and says where it was cut (exit 1 with --strict).
#[test]
fn bad_inputs_have_clear_messages_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut utf16_no_bom = Vec::new();
    for u in "AT\r\nOK\r\n".encode_utf16() {
        utf16_no_bom.extend_from_slice(&u.to_le_bytes());
    }
    let binary: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    let cases: [(&str, Vec<u8>, i32, &str); 6] = [
        (
            "empty.log",
            Vec::new(),
            2,
            "empty.log: the log is empty: nothing to import",
        ),
        ("blank.log", b"\n  \r\n\n".to_vec(), 2, "the log is empty"),
        ("binary.bin", binary, 2, "binary.bin: not a text log ("),
        (
            "utf16.log",
            utf16_no_bom,
            2,
            "looks like UTF-16 without a byte-order mark",
        ),
        (
            "noat.log",
            b"hello world\nthe modem is fine\n".to_vec(),
            2,
            "noat.log: no AT traffic found",
        ),
        (
            "only-answers.log",
            b"OK\r\n+CSQ: 20,99\r\n".to_vec(),
            2,
            "no AT traffic found",
        ),
    ];
    for (name, bytes, code, want) in cases {
        let log = dir.path().join(name);
        std::fs::write(&log, bytes).unwrap();
        let out = dir.path().join(format!("{name}.toml"));
        let run = import_cli(&log, &out, &[]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(code), "{name}: {stderr}");
        assert!(stderr.contains(want), "{name}: want {want:?} in {stderr}");
        assert!(!out.exists(), "{name}: nothing is written");
    }
    // UTF-16 with a byte-order mark (Windows tools) is read.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in ">> AT\r\n<< OK\r\n".encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let log = dir.path().join("bom.log");
    std::fs::write(&log, utf16).unwrap();
    let run = import_cli(&log, &dir.path().join("bom.toml"), &[]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("read as UTF-16LE"));
    // Truncated inside a repr: the complete lines import, the cut one is named.
    let log = dir.path().join("cut.log");
    std::fs::write(
        &log,
        "b'AT\\r'\nb'AT\\r\\r\\nOK\\r\\n'\nb'AT+QFTPOPEN=\"h\",2",
    )
    .unwrap();
    let out = dir.path().join("cut.toml");
    let run = import_cli(&log, &out, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("cut.log:3: truncated: it ends inside a Python bytes literal"),
        "{stderr}"
    );
    assert!(!std::fs::read_to_string(&out).unwrap().contains("QFTPOPEN"));
    let run = import_cli(&log, &out, &["--force", "--strict"]);
    assert_eq!(run.status.code(), Some(1));
}

/// `--format` forces a format; an unknown name is an error.
#[test]
fn format_can_be_forced() {
    let dir = tempfile::tempdir().unwrap();
    let log = repo().join("fixtures/field-logs/python-logging-com-reset.log");
    let out = dir.path().join("m.toml");
    let run = import_cli(&log, &out, &["--format", "marked"]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("marked log ->"));
    let run = import_cli(&log, &dir.path().join("x.toml"), &["--format", "syslog"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains(
        "--format syslog: not a format (one of transcript, python-repr, hexdump, marked, terminal)"
    ));
}

/// The report says where the password went: in plain text for a raw log, as recorded
/// (masked) for a transcript.
#[test]
fn the_report_says_where_the_password_is() {
    let dir = tempfile::tempdir().unwrap();
    let log = repo().join("fixtures/field-logs/terminal-wrong-password.log");
    let out = dir.path().join("p.toml");
    let run = import_cli(&log, &out, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let note = "password: the log's AT+QFTPCFG=\"account\" password is in this file in plain text";
    assert!(stderr.contains(note), "{stderr}");
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains(&format!("# {note}")));
    let log = repo().join("fixtures/field-logs/transcript-boot-dns-then-get.txt");
    let run = import_cli(&log, &dir.path().join("t.toml"), &[]);
    assert!(String::from_utf8_lossy(&run.stderr)
        .contains("password: [ftp_server] users copies the transcript's"));
}

/// A large log is streamed: a long COM download becomes one server file next to the
/// scenario (byte-exact), not steps; the scenario runs and the host gets every byte.
#[test]
fn a_large_download_becomes_a_file_not_steps() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("big.log");
    let mut text = String::from(
        "[00:00:01.000] >> AT+QFTPOPEN=\"ftp.big.example\",21\n[00:00:01.010] << OK\n[00:00:01.100] << +QFTPOPEN: 0,0\n[00:00:01.200] >> AT+QFTPGET=\"dump.csv\",\"COM:\"\n[00:00:01.300] << CONNECT\n",
    );
    let mut data = Vec::new();
    for i in 0..40_000 {
        let line = format!("{i:08},sensor-{:03},{}", i % 977, i * 31 % 10007);
        text.push_str(&format!("[00:00:02.000] << {line}\n"));
        data.extend_from_slice(line.as_bytes());
        data.extend_from_slice(b"\r\n");
    }
    text.push_str(&format!(
        "[00:00:09.000] << OK\n[00:00:09.001] << +QFTPGET: 0,{}\n",
        data.len()
    ));
    std::fs::write(&log, &text).unwrap();
    let out = dir.path().join("big.toml");
    let run = import_cli(&log, &out, &[]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("(8 steps)"),
        "{run:?}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("big.data/dump.csv")).unwrap(),
        data
    );
    let toml = std::fs::read_to_string(&out).unwrap();
    assert!(
        toml.contains("\"dump.csv\" = { path = \"big.data/dump.csv\" }"),
        "{toml}"
    );
    let run = bg95(&["run".as_ref(), out.as_os_str()]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    // A data file already there is not replaced without --force either.
    std::fs::remove_file(&out).unwrap();
    let run = import_cli(&log, &out, &[]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("dump.csv: exists; use --force"),
        "{run:?}"
    );
}

/// A COM: upload in a text log: its lines are one `send` step, and the `+++` that ends it is
/// sent with the guard time around it; the module answers as the log did.
#[test]
fn an_upload_ends_with_a_guarded_escape() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("up.log");
    std::fs::write(
        &log,
        ">> AT+QFTPOPEN=\"ftp.up.example\",21\n<< OK\n<< +QFTPOPEN: 0,0\n>> AT+QFTPPUT=\"up.txt\",\"COM:\",0\n<< CONNECT\n>> hello world\n>> +++\n<< OK\n<< +QFTPPUT: 0,13\n",
    )
    .unwrap();
    let out = dir.path().join("up.toml");
    let run = import_cli(&log, &out, &[]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let toml = std::fs::read_to_string(&out).unwrap();
    assert!(toml.contains("hello world\\r\n\"\"\"\n[[step]]\nwait = \"1100ms\"\n[[step]]\nsend = \"+++\"\n[[step]]\nwait = \"1100ms\""), "{toml}");
    let run = bg95(&["run".as_ref(), out.as_os_str()]);
    assert_eq!(run.status.code(), Some(0), "{run:?}\n{toml}");
}

/// A recording of a scenario with a start state and its own module (personality, UFS file,
/// no SIM-default boot URCs) imports to a scenario that boots the same module from the
/// transcript's `#!` header: the imported run passes, boot URCs and start state included.
#[test]
fn a_transcript_header_becomes_the_module_and_its_start_state() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("root")).unwrap();
    let source = dir.path().join("src.toml");
    std::fs::write(
        &source,
        r#"
[module]
model = "BG95-M1"
boot_urcs = ["RDY", "APP RDY"]
active_contexts = { 1 = "10.44.12.7" }
registration = "roaming"
[module.ufs]
"cfg.txt" = { text = "apn=iot" }
[module.qftpcfg]
rsptimeout = 30
[ftp_server]
root = "root"
[[step]]
expect_bytes = "\r\nRDY\r\n\r\nAPP RDY\r\n"
[[step]]
line = "AT+CGMM;+CEREG?;+QIACT?;+QFLST"
[[step]]
expect = "OK"
[[step]]
line = 'AT+QFTPCFG="rsptimeout"'
[[step]]
expect = '+QFTPCFG: "rsptimeout",30'
"#,
    )
    .unwrap();
    let recorded = dir.path().join("rec.txt");
    let run = bg95(&[
        "run".as_ref(),
        "--transcript".as_ref(),
        recorded.as_os_str(),
        source.as_os_str(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let imported = dir.path().join("imported/rec.toml");
    let run = import_cli(&recorded, &imported, &[]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let toml = std::fs::read_to_string(&imported).unwrap();
    for want in [
        "model = \"BG95-M1\"",
        "boot_urcs = [\"RDY\", \"APP RDY\"]",
        "registration = \"roaming\"",
        "active_contexts = { 1 = \"10.44.12.7\" }",
        "\"cfg.txt\" = { text = \"apn=iot\" }",
        "rsptimeout = 30",
    ] {
        assert!(toml.contains(want), "want {want:?} in\n{toml}");
    }
    let run = bg95(&["run".as_ref(), imported.as_os_str()]);
    assert_eq!(run.status.code(), Some(0), "{run:?}\n{toml}");
}

/// A marked log of `cycles` identical `AT+CSQ` exchanges (no pauses between them).
fn csq_cycle_log(cycles: usize) -> String {
    let mut text = String::from("[00:00:01.000] >> AT\n[00:00:01.001] << OK\n");
    for _ in 0..cycles {
        text.push_str(
            "[00:00:01.002] >> AT+CSQ\n[00:00:01.003] << +CSQ: 24,99\n[00:00:01.004] << OK\n",
        );
    }
    text
}

/// Identical command/answer cycles fold into one `repeat` group (docs/import.md "Large
/// logs"): the scenario is small, says what the log said, and runs green.
#[test]
fn identical_cycles_fold_into_one_repeat_group_that_runs() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("csq.log");
    std::fs::write(&log, csq_cycle_log(200)).unwrap();
    let out = dir.path().join("csq.toml");
    let run = import_cli(&log, &out, &[]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let toml = std::fs::read_to_string(&out).unwrap();
    let steps = toml.split_once("\n[[step]]\n").map(|(_, s)| s).unwrap();
    assert_eq!(
        steps,
        "line = \"AT\"\n[[step]]\nexpect = \"OK\"\n[[step]]\nrepeat = 200\n\
         [[step.steps]]\nline = \"AT+CSQ\"\n[[step.steps]]\nexpect = \"+CSQ: 24,99\"\n\
         [[step.steps]]\nexpect = \"OK\"\n",
        "{toml}"
    );
    let run = bg95(&["run".as_ref(), out.as_os_str()]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
}

/// A generated log of 100 k cycles (5.4 MB) imports to a scenario well under the loader's
/// 1 MiB limit, which loads.
#[test]
fn a_log_of_many_cycles_imports_under_the_scenario_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("many.log");
    std::fs::write(&log, csq_cycle_log(100_000)).unwrap();
    let out = dir.path().join("many.toml");
    let run = import_cli(&log, &out, &[]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let len = std::fs::metadata(&out).unwrap().len();
    assert!(len < 4096, "{len} bytes");
    let toml = std::fs::read_to_string(&out).unwrap();
    assert!(toml.contains("[[step]]\nrepeat = 100000\n"), "{toml}");
    let scenario = bg95_emu::scenario::Scenario::load(&out).unwrap();
    assert_eq!(scenario.steps.len(), 3);
}
