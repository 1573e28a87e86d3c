//! The `bg95-emu serve` contract: `tty: /dev/pts/N` on stdout, the tty link appears once
//! the module takes AT input and goes away on exit, SIGTERM/SIGINT exit 0, a host may close
//! and reopen the tty, and options not supported yet fail clearly.

mod host;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use host::{boot_bytes, Host};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

struct Serve {
    child: Child,
    tty: PathBuf,
    stdout_lines: Vec<String>,
}

fn serve(args: &[&str]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let tty = PathBuf::from(
        line.trim()
            .strip_prefix("tty: ")
            .unwrap_or_else(|| panic!("first line: {line:?}")),
    );
    let mut stdout_lines = vec![line.trim().to_string()];
    if args
        .windows(2)
        .any(|w| w[0] == "--ftp-server" && w[1] != "off")
    {
        let mut ftp = String::new();
        out.read_line(&mut ftp).unwrap();
        stdout_lines.push(ftp.trim().to_string());
        // --ftp-tls: the CA's UFS name and the five commands that select it.
        if args.contains(&"--ftp-tls") {
            for _ in 0..6 {
                let mut l = String::new();
                out.read_line(&mut l).unwrap();
                stdout_lines.push(l.trim().to_string());
            }
        }
    }
    Serve {
        child,
        tty,
        stdout_lines,
    }
}

fn stop(mut s: Serve, sig: Signal) -> i32 {
    kill(Pid::from_raw(s.child.id() as i32), sig).unwrap();
    s.child
        .wait()
        .unwrap()
        .code()
        .expect("exited by itself, not killed")
}

#[test]
fn tty_link_answers_at_and_is_removed_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("bg95");
    let s = serve(&["--ftp-server", "off", "--tty-link", link.to_str().unwrap()]);
    assert!(
        s.stdout_lines[0].starts_with("tty: /dev/pts/"),
        "{:?}",
        s.stdout_lines
    );
    // The link exists by the time the tty line is printed and resolves to the tty.
    assert_eq!(std::fs::read_link(&link).unwrap(), s.tty);
    let mut host = Host::open(&link);
    host.expect(&boot_bytes());
    host.chat("AT\r", "AT\r\r\nOK\r\n");
    drop(host);
    assert_eq!(stop(s, Signal::SIGTERM), 0);
    assert!(
        !link.exists() && std::fs::symlink_metadata(&link).is_err(),
        "link left behind"
    );
}

#[test]
fn host_can_close_and_reopen_the_tty() {
    let s = serve(&["--ftp-server", "off"]);
    let mut host = Host::open(&s.tty);
    host.boot_echo_off();
    drop(host);
    for _ in 0..3 {
        let mut host = Host::open(&s.tty);
        // Same module: echo stays off.
        host.chat("AT\r", "\r\nOK\r\n");
    }
    assert_eq!(stop(s, Signal::SIGINT), 0);
}

#[test]
fn embedded_ftp_server_is_announced() {
    let s = serve(&["--ftp-server", "127.0.0.1:0"]);
    let ftp = &s.stdout_lines[1];
    assert!(
        ftp.starts_with("ftp: ftp://test:test@127.0.0.1:") && ftp.ends_with('/'),
        "{ftp}"
    );
    let port: u16 = ftp
        .trim_start_matches("ftp: ftp://test:test@127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert_eq!(stop(s, Signal::SIGTERM), 0);
}

#[test]
fn baud_option_is_reported_by_ipr() {
    let s = serve(&["--ftp-server", "off", "--baud", "115200"]);
    let mut host = Host::open(&s.tty);
    host.expect(&boot_bytes());
    host.chat("AT+IPR?\r", "AT+IPR?\r\r\n+IPR: 115200\r\n\r\nOK\r\n");
    host.chat("AT+IPR=921600\r", "AT+IPR=921600\r\r\nOK\r\n");
    host.chat("AT+IPR?\r", "AT+IPR?\r\r\n+IPR: 921600\r\n\r\nOK\r\n");
    assert_eq!(stop(s, Signal::SIGTERM), 0);
}

#[test]
fn unsupported_and_bad_options_fail_clearly() {
    let out = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["serve", "--scenario", "no-such-scenario.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("no-such-scenario.toml:0: file: cannot read"));
    let out = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["serve", "--ftp-server", "nonsense"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ftp-server nonsense"));
}

#[test]
fn ufs_dir_persists_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let ufs = dir.path().to_str().unwrap();
    let s = serve(&["--ftp-server", "off", "--ufs-dir", ufs]);
    let mut host = Host::open(&s.tty);
    host.boot_echo_off();
    host.chat("AT+QFUPL=\"keep.txt\",5\r", "\r\nCONNECT\r\n");
    host.send(b"hello");
    host.expect(b"\r\n+QFUPL: 5,");
    host.read_until(b"\r\n\r\nOK\r\n");
    drop(host);
    assert_eq!(stop(s, Signal::SIGTERM), 0);
    assert!(Path::new(ufs).join("keep.txt").exists());
    let s = serve(&["--ftp-server", "off", "--ufs-dir", ufs]);
    let mut host = Host::open(&s.tty);
    host.expect(&boot_bytes());
    host.chat(
        "AT+QFLST\r",
        "AT+QFLST\r\r\n+QFLST: \"keep.txt\",5\r\n\r\nOK\r\n",
    );
    assert_eq!(stop(s, Signal::SIGTERM), 0);
}

#[test]
fn ftp_tls_prints_the_ca_and_the_commands_that_select_it() {
    let s = serve(&["--ftp-server", "127.0.0.1:0", "--ftp-tls"]);
    let lines = &s.stdout_lines;
    assert!(
        lines[1].starts_with("ftps: ftp://test:test@127.0.0.1:")
            && lines[1].ends_with("/ (explicit FTPS, TLS required)"),
        "{lines:?}"
    );
    assert_eq!(lines[2], "ftps-ca: UFS:ftps-ca.pem");
    assert_eq!(
        &lines[3..],
        &[
            "AT+QFTPCFG=\"ssltype\",2",
            "AT+QSSLCFG=\"cacert\",0,\"ftps-ca.pem\"",
            "AT+QSSLCFG=\"seclevel\",0,1",
            "AT+QSSLCFG=\"cacert\",1,\"ftps-ca.pem\"",
            "AT+QSSLCFG=\"seclevel\",1,1",
        ]
    );
    let mut host = Host::open(&s.tty);
    host.boot_echo_off();
    host.send(b"AT+QFLST=\"ftps-ca.pem\"\r");
    host.expect(b"\r\n+QFLST: \"ftps-ca.pem\",");
    drop(host);
    assert_eq!(stop(s, Signal::SIGTERM), 0);
}

#[test]
fn ftp_tls_without_the_embedded_server_fails_clearly() {
    let out = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["serve", "--ftp-server", "off", "--ftp-tls"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--ftp-tls needs the embedded FTP server")
    );
}

/// Two `serve --tty-link L`: the second is refused with a clear error (it used to take `L`
/// over silently, and the first then deleted the second's link on exit); a dangling link
/// left by a killed emulator is replaced; on exit only a link that still leads to our own
/// tty is removed.
#[test]
fn tty_link_is_never_taken_from_a_live_emulator_nor_removed_when_not_ours() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("bg95");
    let l = link.to_str().unwrap();
    let first = serve(&["--ftp-server", "off", "--tty-link", l]);
    assert_eq!(std::fs::read_link(&link).unwrap(), first.tty);
    let mut second = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["serve", "--ftp-server", "off", "--tty-link", l])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounds a failure only: a second emulator that took the link over runs until killed.
    let until = std::time::Instant::now() + host::WAIT;
    while second.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > until {
            let _ = second.kill();
            let _ = second.wait();
            panic!("the second serve took the link over and kept running");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = second.wait_with_output().unwrap();
    assert_ne!(second.status.code(), Some(0));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!(
            "--tty-link {l}: already links to {}",
            first.tty.display()
        )),
        "{err}"
    );
    assert!(second.stdout.is_empty(), "no tty announced");
    assert_eq!(std::fs::read_link(&link).unwrap(), first.tty, "untouched");
    let mut host = Host::open(&link);
    host.expect(&boot_bytes());
    drop(host);
    // Someone points the link elsewhere: the first leaves it in place on exit.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    assert_eq!(stop(first, Signal::SIGTERM), 0);
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/dev/null"));
    // A dangling link (its emulator is gone) is replaced.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(dir.path().join("gone"), &link).unwrap();
    let third = serve(&["--ftp-server", "off", "--tty-link", l]);
    assert_eq!(std::fs::read_link(&link).unwrap(), third.tty);
    assert_eq!(stop(third, Signal::SIGTERM), 0);
    assert!(std::fs::symlink_metadata(&link).is_err(), "ours: removed");
}

/// `bg95-*` entries left in a temporary folder.
fn leftovers(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("bg95-"))
        .collect()
}

/// SIGHUP (the terminal closed) and SIGQUIT, like SIGINT and SIGTERM, stop `serve`
/// cleanly: exit 0, the tty link and the `bg95-ftp-root-*`/`bg95-ufs-*` folders removed
/// (SIGHUP and SIGQUIT used to kill it and leave them).
#[test]
fn every_stop_signal_removes_the_link_and_the_temporary_folders() {
    for sig in [
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGINT,
        Signal::SIGTERM,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let link = dir.path().join("bg95");
        let mut child = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
            .args(["serve", "--ftp-server", "127.0.0.1:0", "--tty-link"])
            .arg(&link)
            .env("TMPDIR", &tmp)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(line.starts_with("tty: "), "{line}");
        assert!(!leftovers(&tmp).is_empty(), "the emulator works in {tmp:?}");
        kill(Pid::from_raw(child.id() as i32), sig).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{sig}");
        assert!(
            std::fs::symlink_metadata(&link).is_err(),
            "{sig}: link left"
        );
        assert_eq!(leftovers(&tmp), Vec::<String>::new(), "{sig}: folders left");
    }
}

/// `--control`: `control: http://ADDR` is the last line; the API answers there; an address
/// off loopback without a token is refused before anything starts.
#[test]
fn control_api_is_announced_and_answers() {
    use std::io::{Read, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["serve", "--ftp-server", "off", "--control", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        lines.push(l.trim().to_string());
    }
    assert!(lines[0].starts_with("tty: /dev/"), "{lines:?}");
    let addr = lines[1]
        .strip_prefix("control: http://")
        .unwrap_or_else(|| panic!("{lines:?}"));
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /v1/module HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.contains(r#""powered":true"#), "{reply}");
    let serve = Serve {
        child,
        tty: PathBuf::from(lines[0].trim_start_matches("tty: ")),
        stdout_lines: lines,
    };
    assert_eq!(stop(serve, Signal::SIGTERM), 0);

    let out = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["serve", "--ftp-server", "off", "--control", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--control 0.0.0.0:0: not a loopback address; pass --control-token"),
        "{err}"
    );
}

/// `--tcp` and `--rfc2217`: `tcp: socket://ADDR` and `rfc2217: rfc2217://ADDR` after the
/// other lines; the raw port answers AT.
#[test]
fn serial_over_tcp_is_announced_and_answers() {
    use std::io::{Read, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(["serve", "--ftp-server", "off"])
        .args(["--tcp", "127.0.0.1:0", "--rfc2217", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        lines.push(l.trim().to_string());
    }
    assert!(lines[0].starts_with("tty: /dev/"), "{lines:?}");
    assert!(
        lines[2].starts_with("rfc2217: rfc2217://127.0.0.1:"),
        "{lines:?}"
    );
    let addr = lines[1]
        .strip_prefix("tcp: socket://")
        .unwrap_or_else(|| panic!("{lines:?}"));
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    s.write_all(b"ATE0\r").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"ATE0\r\r\nOK\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"\r\nRDY\r\n"), "the boot URCs first");
    let serve = Serve {
        child,
        tty: PathBuf::from(lines[0].trim_start_matches("tty: ")),
        stdout_lines: lines,
    };
    assert_eq!(stop(serve, Signal::SIGTERM), 0);
}
