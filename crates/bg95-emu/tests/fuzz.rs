//! The fuzzing harness (issue 18): hostile input to every parser the project has — the AT
//! line assembler, the command parsers (through the whole module), the scenario loader, the
//! transcript reader and the log importer — must never panic and never grow without bound.
//!
//! Inputs mix random bytes with tokens each parser knows (AT commands, TOML keys, transcript
//! line prefixes, log shapes), so they get past the first byte. Each target runs
//! `BG95_FUZZ_CASES` inputs (default 64, so CI keeps the harness compiling and working):
//!
//! ```sh
//! BG95_FUZZ_CASES=1000000 nice -n 19 cargo test -p bg95-emu --test fuzz -- --test-threads 1
//! ```
//!
//! A failure is shrunk by proptest and saved in `tests/fuzz.proptest-regressions`, which
//! replays it first on every later run. Results of the recorded runs: docs/fuzzing.md.

use bg95_at::{parse_body_spanned, LineAssembler, LineSettings};
use bg95_core::{Completion, Instant, MemStore, Module, Personality};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn cases() -> u32 {
    std::env::var("BG95_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

/// Bytes built from `tokens` and random bytes.
fn input(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => proptest::sample::select(tokens).prop_map(|t| t.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 1..8),
    ];
    proptest::collection::vec(piece, 0..max).prop_map(|v| v.concat())
}

fn run(name: &str, strategy: impl Strategy<Value = Vec<u8>>, test: impl Fn(&[u8])) {
    let config = Config {
        cases: cases(),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        Config {
            source_file: Some(file!()),
            ..config
        },
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let result = runner.run(&strategy, |bytes| {
        test(&bytes);
        Ok(())
    });
    if let Err(e) = result {
        panic!("fuzz target {name}: {e}");
    }
}

const AT_TOKENS: &[&str] = &[
    "AT",
    "at",
    "\r",
    "\n",
    "\x08",
    "A/",
    ";",
    ",",
    "\"",
    "=",
    "?",
    "=?",
    "+",
    " ",
    "\0",
    "\u{e4}",
    "+QFTPCFG=\"account\",",
    "+QFTPCFG=\"contextid\",1",
    "+QFTPOPEN=\"h\",21",
    "+QFTPCWD=\"/",
    "+QFTPGET=\"f\",\"COM:\"",
    "+QFTPPUT=\"f\",\"COM:\",0",
    "+QFUPL=\"f\",3",
    "+QFDWL=\"f\"",
    "+QFLST",
    "+QIACT=1",
    "+CFUN=1,1",
    "+QPOWD",
    "+CMEE=2",
    "E1",
    "E0",
    "V0",
    "S3=10",
    "S5=8",
    "&W",
    "Z",
    "+QSSLCFG=\"clientkey\",1,\"k\"",
    "+IPR=9600",
    "+QPING=1,\"h\"",
    "+QIDNSGIP=1,\"h\"",
    "+++",
    "ATO",
    "+QFTPCLOSE",
    "+QFTPSTAT",
    "+QCFG=\"band\",0,1,2",
    "1",
    "0",
    "255",
    "65536",
];

#[test]
fn fuzz_line_assembler() {
    run("line assembler", input(AT_TOKENS, 256), |bytes| {
        let mut a = LineAssembler::new();
        let mut echo = Vec::new();
        let cfg = LineSettings {
            echo: bytes.first().is_some_and(|b| b & 1 == 1),
            max_len: 64,
            ..LineSettings::default()
        };
        for &b in bytes {
            let _ = a.push(b, &cfg, &mut echo);
            assert!(a.len() <= cfg.max_len, "the line stays bounded");
        }
        assert!(echo.len() <= bytes.len());
    });
}

#[test]
fn fuzz_command_parser() {
    run("command parser", input(AT_TOKENS, 64), |bytes| {
        if let Ok(chain) = parse_body_spanned(bytes) {
            for (_, spans) in chain {
                for s in spans {
                    assert!(s.start <= s.end && s.end <= bytes.len());
                }
            }
        }
        let _ = bg95_core::redact::secret_spans(bytes);
        let _ = bg95_core::redact::mask_lines(bytes);
    });
}

/// The whole module: every command parser of every area, on hostile lines, with time
/// passing and the transcript tap on.
#[test]
fn fuzz_module_input() {
    run("module input", input(AT_TOKENS, 128), |bytes| {
        let mut m = Module::new(
            Personality::default(),
            Box::new(MemStore::default()),
            Instant::from_micros(0),
        );
        m.record_transcript(true);
        let mut t = 0u64;
        for piece in bytes.chunks(7) {
            t += 1_000_000;
            let now = Instant::from_micros(t);
            m.handle_input(now, piece);
            m.handle_timeout(now);
            while m.poll_output().is_some() {}
            while m.poll_transcript().is_some() {}
            while let Some(e) = m.poll_effect() {
                if let bg95_core::Effect::Ftp(_) = e {
                    let ok = bg95_core::ftp::FtpEvent::Done(Ok(bg95_core::ftp::Reply::Ok));
                    m.handle_completion(now, Completion::Ftp(ok));
                }
            }
        }
    });
}

const TOML_TOKENS: &[&str] = &[
    "\n",
    "[module]\n",
    "[network]\n",
    "[network.dns]\n",
    "[serial]\n",
    "[ftp_server]\n",
    "[[fault]]\n",
    "[[step]]\n",
    "[module.ufs]\n",
    "name = ",
    "on = ",
    "action = ",
    "verb = ",
    "after = ",
    "\"30s\"",
    "\"1ms\"",
    "\"PASS\"",
    "\"ftp_command\"",
    "\"time\"",
    "\"reply\"",
    "code = 530\n",
    "line = \"AT\"\n",
    "expect = \"OK\"\n",
    "wait = \"1s\"\n",
    "seed = 1\n",
    "users = [{ user = \"u\", password = \"p\" }]\n",
    "pasv_same_host = true\n",
    "true",
    "0",
    "18446744073709551616",
    "-1",
    "\"",
    "'",
    "{",
    "}",
    "[",
    "]",
    "=",
    ",",
    "#",
    "\\u0000",
    "size = 409600\n",
    "registration = [{ at = \"0s\", state = \"home\" }]\n",
    "baud = 9600\n",
    "flip_mask = 0\n",
    "root = \"/nonexistent\"\n",
    "imei = \"1\"\n",
    "signal = 99\n",
];

#[test]
fn fuzz_scenario_loader() {
    let path = std::path::Path::new("/nonexistent/fuzz.toml");
    run("scenario loader", input(TOML_TOKENS, 48), |bytes| {
        let text = String::from_utf8_lossy(bytes);
        if let Err(e) = bg95_emu::scenario::Scenario::parse(path, &text) {
            // Every refusal names the file (FILE:LINE: key: message).
            assert!(e.to_string().starts_with("/nonexistent/fuzz.toml"), "{e}");
        }
    });
}

const TRANSCRIPT_TOKENS: &[&str] = &[
    "\n",
    "> ",
    // A redacted upload (docs/transcripts.md), with a size the replay must bound.
    ">key 106B/fnv=a6c1126273c8e91a",
    ">key 16777216B/fnv=0000000000000000",
    "+QFUPL: 106,f5c",
    "< ",
    "= ",
    "! ",
    "@+",
    "ms",
    "#! ",
    "#! boot\n",
    "#! module ",
    "#! ufs ",
    "\"f\" ",
    "\"a\\x00\\r\\n\"",
    "4096B/fnv=0123456789abcdef",
    "ftp ",
    "open ",
    "done ok",
    "done path \"/\"",
    "data \"",
    "\\x",
    "\\xZZ",
    "\\",
    "AT\\r",
    "\\r\\n",
    "OK",
    "fault ",
    "net ",
    "dns ",
    "power ",
    "reset",
    "loss 10ms",
    "#! server embedded 127.0.0.1:21",
    "99999999999999999999",
];

#[test]
fn fuzz_transcript_reader() {
    run("transcript reader", input(TRANSCRIPT_TOKENS, 48), |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let _ = bg95_core::transcript::parse(&text);
        let _ = bg95_core::transcript::parse_setup(&text);
    });
}

const LOG_TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    "AT+QFTPOPEN=\"h\",21",
    "OK",
    "+QFTPOPEN: 0,0",
    "CONNECT",
    "> ",
    "< ",
    "TX: ",
    "RX: ",
    "[12:00:00.123] ",
    "2024-01-01 12:00:00.123 ",
    "b'AT\\r\\n'",
    "b'OK\\r\\n'",
    "\\r\\n",
    "\\x00",
    "AT+QFTPCFG=\"account\",\"u\",\"p\"",
    "+CME ERROR: 610",
    "ERROR",
    "#! boot\n",
    "@+5ms\n",
    "--> ",
    "<-- ",
    "\t",
    "\x1b[0m",
    "\u{feff}",
];

#[test]
fn fuzz_log_importer() {
    run("log importer", input(LOG_TOKENS, 48), |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let _ = bg95_emu::import::import(&text, "fuzz.log");
    });
}
