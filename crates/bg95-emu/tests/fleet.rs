//! `bg95-emu fleet` and [`bg95_emu::fleet::Fleet`] (issue 20): several modules in one
//! process, each with its own PTY, UFS folder and IMEI/ICCID from its index, against one
//! shared embedded server or one each, scenarios cycled over the modules. Small counts here;
//! 200 modules are measured in benches/fleet.rs.

mod host;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use bg95_emu::emulator::Config;
use bg95_emu::fleet::{fleet_iccid, fleet_imei, Fleet, FleetConfig, FleetServer};
use bg95_emu::scenario::Scenario;
use host::Host;

fn fleet_config(count: usize, server: FleetServer) -> FleetConfig {
    FleetConfig {
        count,
        first_index: 0,
        base: Config::default(),
        tty_link: None,
        ufs_root: None,
        scenarios: Vec::new(),
        server,
    }
}

/// Boot, echo off, context 1 up, FTP configured and open on `port`.
fn login(h: &mut Host, port: u16) {
    h.boot_echo_off();
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"contextid\",1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    h.chat(&format!("AT+QFTPOPEN=\"127.0.0.1\",{port}\r"), "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPOPEN: 0,0\r\n");
}

/// A COM: download of `name`: the bytes between CONNECT and OK, checked against the count.
fn get_to_com(h: &mut Host, name: &str) -> Vec<u8> {
    h.chat(
        &format!("AT+QFTPGET=\"{name}\",\"COM:\"\r"),
        "\r\nCONNECT\r\n",
    );
    let tail = b"\r\nOK\r\n\r\n+QFTPGET: 0,";
    let got = h.read_until(tail);
    let data = got[..got.len() - tail.len()].to_vec();
    let n = h.read_until(b"\r\n");
    assert_eq!(
        String::from_utf8_lossy(&n[..n.len() - 2]),
        data.len().to_string()
    );
    data
}

#[test]
fn modules_share_one_server_download_at_once_and_keep_their_own_identity_and_ufs() {
    let root = tempfile::tempdir().unwrap();
    let ufs = tempfile::tempdir().unwrap();
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::write(root.path().join("big.bin"), &payload).unwrap();
    let mut cfg = fleet_config(3, FleetServer::Shared("127.0.0.1:0".parse().unwrap()));
    cfg.first_index = 10;
    cfg.ufs_root = Some(ufs.path().to_path_buf());
    cfg.base.ftp_root = Some(root.path().to_path_buf());
    let fleet = Fleet::spawn(cfg).unwrap();
    let port = fleet.shared_ftp().unwrap().port();
    assert!(fleet.modules().iter().all(|m| m.ftp_addr.is_none()));
    std::thread::scope(|s| {
        for n in 0..3 {
            let (tty, payload) = (fleet.tty_path(n), &payload);
            s.spawn(move || {
                let index = 10 + n;
                let mut h = Host::open(tty);
                login(&mut h, port);
                h.chat(
                    "AT+CGSN\r",
                    &format!("\r\n{}\r\n\r\nOK\r\n", fleet_imei(index)),
                );
                h.chat(
                    "AT+QCCID\r",
                    &format!("\r\n+QCCID: {}\r\n\r\nOK\r\n", fleet_iccid(index)),
                );
                assert!(
                    get_to_com(&mut h, "big.bin") == *payload,
                    "module {index}: bytes differ"
                );
                // A UFS file of its own, in its own folder.
                h.chat("AT+QFUPL=\"mine.txt\",2\r", "\r\nCONNECT\r\n");
                h.send(format!("{:02}", index).as_bytes());
                h.read_until(b"\r\nOK\r\n");
            });
        }
    });
    for index in 10..13 {
        let mine = ufs.path().join(index.to_string()).join("mine.txt");
        assert_eq!(std::fs::read_to_string(&mine).unwrap(), index.to_string());
    }
    fleet.stop().unwrap();
}

#[test]
fn per_module_servers_and_scenarios_cycle_over_the_modules() {
    let scenario = |rev: &str| {
        Scenario::parse(
            Path::new("/tmp/s.toml"),
            &format!("[module]\nrevision = \"{rev}\"\n"),
        )
        .unwrap()
    };
    let mut cfg = fleet_config(3, FleetServer::PerModule);
    cfg.scenarios = vec![scenario("REV-A"), scenario("REV-B")];
    let fleet = Fleet::spawn(cfg).unwrap();
    assert_eq!(fleet.shared_ftp(), None);
    let ports: Vec<u16> = fleet
        .modules()
        .iter()
        .map(|m| m.ftp_addr.unwrap().port())
        .collect();
    assert!(
        ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2],
        "{ports:?}"
    );
    for (n, rev) in [(0, "REV-A"), (1, "REV-B"), (2, "REV-A")] {
        let mut h = Host::open(fleet.tty_path(n));
        h.boot_echo_off();
        h.chat("AT+CGMR\r", &format!("\r\n{rev}\r\n\r\nOK\r\n"));
        // The scenario's personality still gets the index's identity.
        h.chat("AT+CGSN\r", &format!("\r\n{}\r\n\r\nOK\r\n", fleet_imei(n)));
        // Each module reaches its own server.
        login_again(&mut h, ports[n]);
    }
}

/// After boot_echo_off: the FTP login only.
fn login_again(h: &mut Host, port: u16) {
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    h.chat(&format!("AT+QFTPOPEN=\"127.0.0.1\",{port}\r"), "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPOPEN: 0,0\r\n");
}

#[test]
fn the_fleet_command_makes_a_link_per_module_and_removes_them_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = format!("{}/bg95-{{i}}", dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args([
            "fleet",
            "--count",
            "2",
            "--first-index",
            "4",
            "--ftp-server",
            "127.0.0.1:0",
        ])
        .args(["--tty-link", &pattern])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut l = String::new();
        assert!(
            out.read_line(&mut l).unwrap() > 0,
            "fleet ended early: {lines:?}"
        );
        let done = l.starts_with("ready: ");
        lines.push(l.trim_end().to_string());
        if done {
            break;
        }
    }
    assert_eq!(lines.last().unwrap(), "ready: 2 modules", "{lines:?}");
    assert!(
        lines[0].starts_with("ftp: ftp://test:test@127.0.0.1:"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("module 4: tty /dev/pts/"), "{lines:?}");
    for index in [4, 5] {
        let link = dir.path().join(format!("bg95-{index}"));
        let mut h = Host::open(&link);
        h.boot_echo_off();
        h.chat(
            "AT+CGSN\r",
            &format!("\r\n{}\r\n\r\nOK\r\n", fleet_imei(index)),
        );
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(!dir.path().join("bg95-4").exists() && !dir.path().join("bg95-5").exists());
}

#[test]
fn the_fleet_command_refuses_a_zero_count_a_shared_link_and_a_bad_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[serial]\nbaudrate = 1\n").unwrap();
    let link = dir.path().join("tty").display().to_string();
    let cases: [(&[&str], &str); 3] = [
        (&["--count", "0"], "bg95-emu: --count must be at least 1"),
        (&["--count", "2", "--tty-link", &link], "needs `{i}`"),
        (
            &["--count", "2", "--scenario", bad.to_str().unwrap()],
            ":2: serial.baudrate: unknown field",
        ),
    ];
    for (args, want) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
            .arg("fleet")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
