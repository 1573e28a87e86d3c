//! `--time-scale N` and the scenario key `time_scale` (issue 20): every shipped scenario
//! passes at N = 100 (and at N = 1, in `shipped_scenarios_pass` and `.ci/run`), the
//! transcript records module time, and a bad value is a `FILE:LINE: key: message`, exit 2.
//! Nothing here asserts wall-clock speed: module time is read from transcripts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bg95(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(args)
        .output()
        .unwrap()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Milliseconds of module time from the first line starting with `from` to the next line
/// starting with `to` (the `@+Nms` lines in between).
fn module_ms_between(transcript: &str, from: &str, to: &str) -> u64 {
    let mut total = None;
    for line in transcript.lines() {
        match total {
            None if line.starts_with(from) => total = Some(0),
            None => {}
            Some(t) if line.starts_with(to) => return t,
            Some(t) => {
                if let Some(ms) = line.strip_prefix("@+").and_then(|l| l.strip_suffix("ms")) {
                    total = Some(t + ms.parse::<u64>().unwrap());
                }
            }
        }
    }
    panic!("no {from:?} … {to:?} in\n{transcript}");
}

#[test]
fn shipped_scenarios_pass_at_time_scale_100_and_transcripts_record_module_time() {
    let dir = repo().join("scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    files.sort();
    assert!(files
        .iter()
        .any(|f| f.ends_with("slow-server-rsptimeout.toml")));
    let out_dir = tempfile::tempdir().unwrap();
    let transcripts = format!("{}/", out_dir.path().display());
    let mut args = vec!["run", "--jobs", "2", "--time-scale", "100"];
    args.extend(["--transcript", &transcripts]);
    args.extend(files.iter().map(String::as_str));
    let out = bg95(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("{} passed, 0 failed", files.len())),
        "{stdout}"
    );
    // The 609 comes after the 20 s rsptimeout of module time, as at N = 1; the fault's
    // 25 s reply delay is still longer than that.
    let slow = std::fs::read_to_string(out_dir.path().join("slow-server-rsptimeout.txt")).unwrap();
    let waited = module_ms_between(&slow, "> AT+QFTPCWD", "< \\r\\n+QFTPCWD: 609,0");
    assert!((20_000..25_000).contains(&waited), "{waited} ms\n{slow}");
    bg95_core::transcript::parse(&slow).unwrap();
}

#[test]
fn the_scenario_key_sets_the_scale_and_a_bad_one_exits_2_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    // rsptimeout 20 s against a 25 s reply delay: at time_scale 1000 the 609 is due 20 ms
    // of real time after the CWD; the recorded wait is module time.
    let good = dir.path().join("fast.toml");
    let slow = std::fs::read_to_string(repo().join("scenarios/slow-server-rsptimeout.toml"))
        .unwrap()
        .replace(
            "root = \"ftp-root\"",
            &format!("root = {:?}", repo().join("scenarios/ftp-root")),
        );
    std::fs::write(&good, format!("time_scale = 1000\n{slow}")).unwrap();
    let transcript = dir.path().join("fast.txt");
    // The scenario (in a temporary folder) serves the repository's ftp-root: outside its
    // own folder, so it needs the flag for trusted files.
    let out = bg95(&[
        "run",
        "--allow-paths-outside",
        "--transcript",
        transcript.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = std::fs::read_to_string(&transcript).unwrap();
    let waited = module_ms_between(&text, "> AT+QFTPCWD", "< \\r\\n+QFTPCWD: 609,0");
    assert!((20_000..25_000).contains(&waited), "{waited} ms");

    for (value, want) in [
        (
            "0",
            ":2: time_scale: time scale must be a number from 0.01 to 10000, got 0",
        ),
        (
            "\"fast\"",
            ":2: time_scale: invalid type: string \"fast\", expected f64",
        ),
    ] {
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, format!("name = \"x\"\ntime_scale = {value}\n")).unwrap();
        for args in [
            vec!["run", bad.to_str().unwrap()],
            vec!["serve", "--scenario", bad.to_str().unwrap()],
        ] {
            let out = bg95(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            let first = err.lines().next().unwrap_or("");
            assert_eq!(first, format!("{}{want}", bad.display()), "{args:?}");
        }
    }
}

#[test]
fn a_bad_time_scale_flag_is_refused() {
    for bad in ["--time-scale=0", "--time-scale=-1", "--time-scale=fast"] {
        let out = bg95(&["serve", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--time-scale"), "{err}");
    }
}

/// A QFUPL that times out after 5 s of module time, recorded at time scale 100 and
/// replayed live at the same scale: identical, and both recordings wait 5 s of module time.
#[test]
fn replay_live_plays_module_time_at_the_scale() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("qfupl-timeout.toml");
    std::fs::write(
        &scenario,
        "[[step]]\nline = \"ATE0\"\n[[step]]\nexpect = \"OK\"\n\
         [[step]]\nline = 'AT+QFUPL=\"a.txt\",10,5'\n[[step]]\nexpect = \"CONNECT\"\n\
         [[step]]\nsend = \"abc\"\n[[step]]\nexpect = \"+CME ERROR: 421\"\ntimeout = \"8s\"\n",
    )
    .unwrap();
    let recording = dir.path().join("rec.txt");
    let (s, r) = (scenario.to_str().unwrap(), recording.to_str().unwrap());
    let out = bg95(&["run", "--time-scale", "100", "--transcript", r, s]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = std::fs::read_to_string(&recording).unwrap();
    // From the CONNECT: upload data is recorded when its upload ends (the transcript holds
    // it until the module knows whether it is a private key; docs/transcripts.md).
    let waited = module_ms_between(&text, "< \\r\\nCONNECT\\r\\n", "< \\r\\n+CME ERROR: 421");
    assert!((5_000..8_000).contains(&waited), "{waited} ms\n{text}");
    let out = bg95(&["replay", "--live", "--time-scale", "100", r]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
