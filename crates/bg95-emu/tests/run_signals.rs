//! `bg95-emu run` stopped by a signal: the running scenario ends (its emulator stops and
//! removes its `bg95-*` temporary folders), none starts, the JUnit report of what ran is
//! written with the interrupted case as an `<error>`, and the exit code is 130. Before, the
//! signal killed the process: no JUnit, folders left behind.

#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn leftovers(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("bg95-"))
        .collect()
}

#[test]
fn an_interrupted_run_writes_its_junit_cleans_up_and_exits_130() {
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let slow = dir.path().join("slow.toml");
        std::fs::write(
            &slow,
            "name = \"slow\"\n[[step]]\nline = \"AT\"\n[[step]]\nexpect = \"OK\"\n[[step]]\nwait = \"600s\"\n",
        )
        .unwrap();
        let next = dir.path().join("next.toml");
        std::fs::write(&next, "name = \"next\"\n[[step]]\nline = \"AT\"\n").unwrap();
        let junit = dir.path().join("out.xml");
        let child = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
            .args(["run", "--jobs", "1", "--junit"])
            .arg(&junit)
            .arg(&slow)
            .arg(&next)
            .env("TMPDIR", &tmp)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Bounds a failure only: wait until the first scenario's emulator is up.
        let until = Instant::now() + Duration::from_secs(20);
        while leftovers(&tmp).is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!leftovers(&tmp).is_empty(), "the scenario started");
        std::thread::sleep(Duration::from_millis(300));
        kill(Pid::from_raw(child.id() as i32), sig).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{sig}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("FAIL  slow (")
                && stdout.contains(&format!("interrupted by {sig} at the step at line 6")),
            "{sig}: {stdout}"
        );
        assert!(!stdout.contains("next"), "no new scenario starts: {stdout}");
        let xml = std::fs::read_to_string(&junit).unwrap();
        assert!(
            xml.contains("tests=\"1\" failures=\"0\" errors=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains(&format!(
                "<error message=\"interrupted by {sig} at the step at line 6\">"
            )),
            "{xml}"
        );
        assert_eq!(leftovers(&tmp), Vec::<String>::new(), "{sig}: folders left");
    }
}
