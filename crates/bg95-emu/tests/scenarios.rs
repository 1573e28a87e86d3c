//! Scenario files end to end: the `bg95-emu run` contract (exit codes 0/1/2, one line per
//! scenario, JUnit), bad files (`FILE:LINE: key: message`, exit 2), and the exact bytes a
//! host reads for the faults and impairments that phase 1 wires (serial drop/flip, UFS
//! full, personality, UFS preload), through a real PTY.

mod host;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bg95_emu::scenario::{Action, FaultSpec, Scenario, Times, Trigger, TriggerEvent};
use bg95_emu::Emulator;
use host::{boot_bytes, Host};

fn bg95(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_kind_of_bad_file_exits_2_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown-key.toml",
            "[serial]\nbaud = 9600\nbaudrate = 9600\n",
            ":3: serial.baudrate: unknown field `baudrate`, expected one of",
        ),
        (
            "wrong-type.toml",
            "[module]\nsignal = \"strong\"\n",
            ":2: module.signal: invalid type: string \"strong\", expected u8",
        ),
        (
            "impossible-trigger.toml",
            "[[fault]]\non = \"time\"\nafter = \"1s\"\nverb = \"PASS\"\naction = \"sim_removed\"\n",
            ":4: fault.verb: `verb` does not apply to on = \"time\" with action = \"sim_removed\"",
        ),
        (
            "duration-without-unit.toml",
            "[[fault]]\non = \"time\"\nafter = 30\naction = \"sim_removed\"\n",
            ":3: fault.after: duration 30 has no unit (write it as a string, e.g. \"30ms\" or \"30s\")",
        ),
        (
            "missing-path.toml",
            "\n[ftp_server]\nroot = \"not-here\"\n",
            ":3: ftp_server.root: ",
        ),
    ];
    for (name, text, want) in cases {
        let path = write(dir.path(), name, text);
        for args in [
            vec!["run", path.to_str().unwrap()],
            vec!["serve", "--scenario", path.to_str().unwrap()],
        ] {
            let out = bg95(&args);
            assert_eq!(out.status.code(), Some(2), "{name} {args:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            let first = err.lines().next().unwrap_or("");
            assert!(
                first.starts_with(&format!("{}{want}", path.display())),
                "{name}: {first:?}"
            );
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

#[test]
fn run_reports_each_scenario_exits_1_on_failure_and_writes_junit() {
    let dir = tempfile::tempdir().unwrap();
    let failing = write(
        dir.path(),
        "fails.toml",
        "name = \"expects the wrong answer\"\n[[step]]\nexpect = \"APP RDY\"\n[[step]]\nline = \"AT\"\n[[step]]\nexpect_bytes = \"AT\\r\\r\\nERROR\\r\\n\"\n",
    );
    let passing = repo().join("scenarios/ufs-full.toml");
    let junit = dir.path().join("out.xml");
    let out = bg95(&[
        "run",
        "--jobs",
        "2",
        "--junit",
        junit.to_str().unwrap(),
        passing.to_str().unwrap(),
        failing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("ok    UFS full on the second upload (")));
    assert!(lines.iter().any(|l| l.starts_with("FAIL  expects the wrong answer (")
        && l.ends_with("step at line 6: expected bytes \"AT\\r\\r\\nERROR\\r\\n\" within 10s; got \"AT\\r\\r\\nOK\\r\\n\"")), "{stdout}");
    assert_eq!(lines[2], "1 passed, 1 failed");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuite name=\"bg95-emu scenarios\" tests=\"2\" failures=\"1\""));
    assert!(xml.contains("<failure message=\"step at line 6: expected bytes"));
    assert!(
        xml.contains("<system-out>! fault &quot;flash-full&quot; at "),
        "{xml}"
    );
}

#[test]
fn a_declared_fault_that_never_fires_fails_the_run_unless_optional() {
    let dir = tempfile::tempdir().unwrap();
    let text = |optional: bool| {
        format!(
            "[[fault]]\nname = \"never\"\noptional = {optional}\non = \"at_command\"\ncommand = \"+QFUPL\"\naction = \"ufs_full\"\n[[step]]\nline = \"AT\"\n[[step]]\nexpect = \"OK\"\n"
        )
    };
    let strict = write(dir.path(), "strict.toml", &text(false));
    let out = bg95(&["run", strict.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(": faults that never fired: never"));
    let optional = write(dir.path(), "optional.toml", &text(true));
    let out = bg95(&["run", optional.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Every shipped scenario passes with `bg95-emu run` (each with its own embedded server),
/// except the slow server past rsptimeout, which waits out the 20 s minimum rsptimeout and
/// runs in `.ci/run` with the others instead.
#[test]
fn shipped_scenarios_pass() {
    let dir = repo().join("scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| !p.ends_with("slow-server-rsptimeout.toml"))
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 13, "{files:?}");
    let mut args = vec!["run", "--jobs", "2"];
    args.extend(files.iter().map(String::as_str));
    let out = bg95(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn every_shipped_scenario_is_a_valid_file() {
    for entry in std::fs::read_dir(repo().join("scenarios")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            Scenario::load(&p).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

fn scenario(text: &str) -> Scenario {
    Scenario::parse(Path::new("/tmp/test.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn serial_drop_and_flip_reach_the_host_exactly() {
    // Offsets in the module→host stream: 0..2 is "\r\n", 2 is the R of RDY.
    let emu = Emulator::builder()
        .scenario(scenario(
            "[serial]\ndrop_byte_at = 0\nflip_byte_at = 2\nflip_mask = 0x20\nchunk = 3\nchunk_delay = \"1ms\"\n",
        ))
        .spawn()
        .unwrap();
    let mut host = Host::open(emu.tty_path());
    let mut want = boot_bytes();
    want[2] ^= 0x20;
    want.remove(0);
    assert_eq!(&want[..6], b"\nrDY\r\n");
    host.expect(&want);
    host.chat("AT\r", "AT\r\r\nOK\r\n");
}

#[test]
fn personality_and_ufs_preload_apply() {
    let emu = Emulator::builder()
        .scenario(scenario(
            "[module]\nimei = \"123456789012345\"\nrevision = \"BG95M3LAR02A04\"\nboot_urcs = [\"RDY\", \"APP RDY\"]\n[module.ufs]\n\"cfg.txt\" = { text = \"apn=iot\" }\n",
        ))
        .spawn()
        .unwrap();
    let mut host = Host::open(emu.tty_path());
    host.expect(b"\r\nRDY\r\n\r\nAPP RDY\r\n");
    host.chat("AT+CGSN\r", "AT+CGSN\r\r\n123456789012345\r\n\r\nOK\r\n");
    host.chat("AT+CGMR\r", "AT+CGMR\r\r\nBG95M3LAR02A04\r\n\r\nOK\r\n");
    host.chat(
        "AT+QFLST\r",
        "AT+QFLST\r\r\n+QFLST: \"cfg.txt\",7\r\n\r\nOK\r\n",
    );
}

fn upload(host: &mut Host, name: &str, want_end: &str) {
    host.chat(
        &format!("AT+QFUPL=\"{name}\",3\r"),
        &format!("AT+QFUPL=\"{name}\",3\r\r\nCONNECT\r\n"),
    );
    host.send(b"abc");
    host.expect(want_end.as_bytes());
}

#[test]
fn ufs_full_fault_gives_420_and_is_recorded_in_the_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("t.txt");
    let emu = Emulator::builder()
        .scenario(scenario(
            "[[fault]]\nname = \"flash-full\"\non = \"at_command\"\ncommand = \"QFUPL\"\nparams = '\"b\"'\naction = \"ufs_full\"\n",
        ))
        .transcript(&transcript)
        .spawn()
        .unwrap();
    let mut host = Host::open(emu.tty_path());
    host.expect(&boot_bytes());
    upload(&mut host, "a", "\r\n+QFUPL: 3,262\r\n\r\nOK\r\n");
    // The command that triggers the fault already meets it.
    upload(&mut host, "b", "\r\n+CME ERROR: 420\r\n");
    upload(&mut host, "c", "\r\n+CME ERROR: 420\r\n");
    host.chat("AT+QFLST\r", "AT+QFLST\r\r\n+QFLST: \"a\",3\r\n\r\nOK\r\n");
    let fired = emu.faults().unwrap().fired();
    assert_eq!(fired.len(), 1);
    emu.stop().unwrap();
    let text = std::fs::read_to_string(&transcript).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("! fault "))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        line,
        format!(
            "! fault \"flash-full\" at {}ms on at_command AT+QFUPL params~/\"b\"/ -> ufs full",
            fired[0].at.as_millis()
        )
    );
    // The recorded transcript still parses as a golden transcript.
    bg95_core::transcript::parse(&text).unwrap();
}

#[test]
fn faults_are_added_and_removed_while_a_test_runs() {
    let emu = Emulator::builder().scenario(scenario("")).spawn().unwrap();
    let mut host = Host::open(emu.tty_path());
    host.expect(&boot_bytes());
    upload(&mut host, "a", "\r\n+QFUPL: 3,262\r\n\r\nOK\r\n");
    let faults = emu.faults().unwrap();
    faults.add_fault(FaultSpec {
        name: "full-now".into(),
        trigger: Trigger {
            nth: 1,
            event: TriggerEvent::AtCommand {
                name: "+QFUPL".into(),
                params: None,
            },
        },
        action: Action::UfsFull,
        times: Times::Count(1),
        probability: None,
        optional: false,
        line: 0,
    });
    assert_eq!(faults.not_fired(), vec!["full-now".to_string()]);
    upload(&mut host, "b", "\r\n+CME ERROR: 420\r\n");
    assert!(faults.not_fired().is_empty());
    assert!(faults.remove_fault("full-now"));
}

#[test]
fn time_triggers_fire_on_their_own() {
    let emu = Emulator::builder()
        .scenario(scenario(
            "[[fault]]\nname = \"later\"\non = \"time\"\nafter = \"300ms\"\naction = \"ufs_full\"\n",
        ))
        .spawn()
        .unwrap();
    let mut host = Host::open(emu.tty_path());
    host.expect(&boot_bytes());
    let faults = emu.faults().unwrap();
    // Bounded wait for the timer task (never a speed assertion).
    let until = std::time::Instant::now() + host::WAIT;
    while faults.fired().is_empty() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let fired = faults.fired();
    assert_eq!(fired.len(), 1);
    assert!(fired[0].at >= std::time::Duration::from_millis(300));
    assert_eq!(fired[0].trigger, "time 300ms after boot");
    upload(&mut host, "a", "\r\n+CME ERROR: 420\r\n");
}

#[test]
fn serve_runs_a_scenario_file() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("root")).unwrap();
    let file = write(
        dir.path(),
        "s.toml",
        "[module]\nimei = \"999999999999999\"\n[ftp_server]\nroot = \"root\"\nusers = [{ user = \"u\", password = \"pw\" }]\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["serve", "--scenario", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut tty = String::new();
    out.read_line(&mut tty).unwrap();
    let mut ftp = String::new();
    out.read_line(&mut ftp).unwrap();
    let tty = PathBuf::from(tty.trim().strip_prefix("tty: ").unwrap());
    // A configured password is never printed (issue 18).
    assert!(ftp.starts_with("ftp: ftp://u:***@127.0.0.1:"), "{ftp}");
    let mut host = Host::open(&tty);
    host.expect(&boot_bytes());
    host.chat("AT+CGSN\r", "AT+CGSN\r\r\n999999999999999\r\n\r\nOK\r\n");
    drop(host);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
}
