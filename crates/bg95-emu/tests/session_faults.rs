//! The faults that act on a session as a whole, end to end against the scenario's own
//! embedded server (libunftp): a reply replacing a transfer's final reply, a 421 that
//! closes the control connection, the server closing an idle session at a time, a DNS
//! time-out that takes its time. The answers are the core's error table's.

mod host;

use std::time::{Duration, Instant};

use bg95_emu::scenario::Scenario;
use bg95_emu::Emulator;
use host::Host;

/// A scenario with an embedded server holding `f.bin` (40 KiB), `ftp.example.com` mapped
/// to it, a 4 KiB `up.bin` in UFS, and `faults`.
fn start(faults: &str) -> (Emulator, Host, u16, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("root")).unwrap();
    let text = format!(
        r#"
[network]
dns_exclusive = true
[network.dns]
"ftp.example.com" = "127.0.0.1"
[module.ufs]
"up.bin" = {{ size = 4096 }}
[ftp_server]
root = "root"
[ftp_server.files]
"f.bin" = {{ size = 40960 }}
{faults}
"#
    );
    let path = dir.path().join("s.toml");
    let scenario = Scenario::parse(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    let emu = Emulator::builder().scenario(scenario).spawn().unwrap();
    let port = emu.ftp_addr().unwrap().port();
    let mut host = Host::open(emu.tty_path());
    host.boot_echo_off();
    host.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    (emu, host, port, dir)
}

fn open(host: &mut Host, port: u16, want: &str) {
    host.chat(
        &format!("AT+QFTPOPEN=\"ftp.example.com\",{port}\r"),
        &format!("\r\nOK\r\n{want}"),
    );
}

fn fired(emu: &Emulator) -> Vec<String> {
    emu.faults()
        .unwrap()
        .fired()
        .into_iter()
        .map(|f| f.name)
        .collect()
}

#[test]
fn a_reply_replaces_the_final_reply_of_a_transfer_and_nothing_else() {
    let (emu, mut host, port, _d) = start(
        r#"
[[fault]]
name = "aborted"
on = "transfer"
direction = "download"
after_bytes = 1000
action = "reply"
code = 451
text = "Local error in processing."
"#,
    );
    open(&mut host, port, "\r\n+QFTPOPEN: 0,0\r\n");
    host.chat(
        "AT+QFTPGET=\"f.bin\",\"UFS:got.bin\"\r",
        "\r\nOK\r\n\r\n+QFTPGET: 618,451\r\n",
    );
    // The fault belonged to that transfer: the next commands get the server's answers.
    host.chat("AT+QFTPPWD\r", "\r\nOK\r\n\r\n+QFTPPWD: 0,\"/\"\r\n");
    host.chat(
        "AT+QFTPGET=\"f.bin\",\"UFS:got.bin\"\r",
        "\r\nOK\r\n\r\n+QFTPGET: 0,40960\r\n",
    );
    assert_eq!(fired(&emu), ["aborted"]);
}

#[test]
fn a_421_closes_the_session_as_a_real_server_does() {
    let (emu, mut host, port, _d) = start(
        r#"
[[fault]]
name = "shutdown"
on = "transfer"
direction = "upload"
action = "reply"
code = 421
text = "Service not available, closing control connection."
[[fault]]
name = "cwd-421"
on = "ftp_command"
verb = "CWD"
action = "reply"
code = 421
text = "Timeout."
"#,
    );
    open(&mut host, port, "\r\n+QFTPOPEN: 0,0\r\n");
    host.chat(
        "AT+QFTPPUT=\"up.bin\",\"UFS:up.bin\",0\r",
        "\r\nOK\r\n\r\n+QFTPPUT: 614,421\r\n",
    );
    // The server hung up after its 421 (docs/ftp.md: state 4, then 606 once).
    host.chat("AT+QFTPSTAT\r", "\r\nOK\r\n\r\n+QFTPSTAT: 0,4\r\n");
    host.chat("AT+QFTPPWD\r", "\r\nOK\r\n\r\n+QFTPPWD: 606,0\r\n");
    // A new session opens (no 603: the old one is gone).
    open(&mut host, port, "\r\n+QFTPOPEN: 0,0\r\n");
    host.chat("AT+QFTPCWD=\"/\"\r", "\r\nOK\r\n\r\n+QFTPCWD: 614,421\r\n");
    host.chat("AT+QFTPSTAT\r", "\r\nOK\r\n\r\n+QFTPSTAT: 0,4\r\n");
    assert_eq!(fired(&emu), ["shutdown", "cwd-421"]);
}

#[test]
fn the_server_closes_an_idle_session_at_a_time() {
    let (emu, mut host, port, _d) = start(
        r#"
[[fault]]
name = "idle-timeout"
on = "after_fault"
fault = "opened"
after = "300ms"
action = "control_close"
[[fault]]
name = "opened"
on = "ftp_command"
verb = "PASS"
action = "reply_delay"
delay = "1ms"
"#,
    );
    open(&mut host, port, "\r\n+QFTPOPEN: 0,0\r\n");
    // Nothing is said when the server hangs up on an idle session (docs/ftp.md).
    assert_eq!(host.drain_for(Duration::from_millis(800)), b"");
    host.chat("AT+QFTPSTAT\r", "\r\nOK\r\n\r\n+QFTPSTAT: 0,4\r\n");
    host.chat("AT+QFTPPWD\r", "\r\nOK\r\n\r\n+QFTPPWD: 606,0\r\n");
    assert_eq!(fired(&emu), ["opened", "idle-timeout"]);
}

#[test]
fn a_dns_timeout_waits_its_delay() {
    let (emu, mut host, port, _d) = start(
        r#"
[[fault]]
name = "slow-dns"
on = "resolve"
action = "dns_timeout"
delay = "400ms"
"#,
    );
    let sent = Instant::now();
    open(&mut host, port, "\r\n+QFTPOPEN: 604,0\r\n");
    // A lower bound only: the answer never comes before the lookup's time-out.
    assert!(sent.elapsed() >= Duration::from_millis(400));
    assert_eq!(fired(&emu), ["slow-dns"]);
}

#[test]
fn a_data_tls_failure_is_answered_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("root")).unwrap();
    let text = r#"
[network]
dns_exclusive = true
[network.dns]
"ftp.example.com" = "127.0.0.1"
[ftp_server]
root = "root"
tls = true
[ftp_server.files]
"f.bin" = { size = 40960 }
[[fault]]
name = "data-tls"
on = "connect"
conn = "data"
action = "tls_failure"
"#;
    let scenario = Scenario::parse(&dir.path().join("s.toml"), text).unwrap();
    let emu = Emulator::builder().scenario(scenario).spawn().unwrap();
    let port = emu.ftp_addr().unwrap().port();
    let mut host = Host::open(emu.tty_path());
    host.boot_echo_off();
    for cmd in [
        "AT+QFTPCFG=\"account\",\"test\",\"test\"",
        "AT+QFTPCFG=\"ssltype\",2",
        "AT+QSSLCFG=\"seclevel\",1,0",
        "AT+QSSLCFG=\"seclevel\",0,0",
    ] {
        host.chat(&format!("{cmd}\r"), "\r\nOK\r\n");
    }
    open(&mut host, port, "\r\n+QFTPOPEN: 0,0\r\n");
    // libunftp never answers a failed data handshake (docs/ftp.md): the driver gives the
    // session up after a short wait, long before the 90 s rsptimeout (the host's wait is
    // 20 s).
    host.send(b"AT+QFTPGET=\"f.bin\",\"UFS:f.bin\"\r");
    let got = host.read_until(b"+QFTPGET: ");
    assert!(got.starts_with(b"\r\nOK\r\n"), "{got:?}");
    let result = host.read_until(b"\r\n");
    assert!(
        result.starts_with(b"631,"),
        "{}",
        String::from_utf8_lossy(&result)
    );
    // The session was given up: reported once on the next command; a new one opens.
    host.chat("AT+QFTPPWD\r", "\r\nOK\r\n\r\n+QFTPPWD: 606,0\r\n");
    open(&mut host, port, "\r\n+QFTPOPEN: 0,0\r\n");
    assert_eq!(fired(&emu), ["data-tls"]);
}

#[test]
fn a_reply_chained_during_a_transfer_belongs_to_that_transfer() {
    let (emu, mut host, port, _d) = start(
        r#"
[[fault]]
name = "slow"
on = "transfer"
direction = "download"
action = "bandwidth"
bytes_per_sec = 20000
[[fault]]
name = "gives-up"
on = "after_fault"
fault = "slow"
after = "200ms"
action = "reply"
code = 426
text = "Connection closed; transfer aborted."
"#,
    );
    open(&mut host, port, "\r\n+QFTPOPEN: 0,0\r\n");
    // The 40 KiB download takes about 2 s; the reply armed 200 ms into it is its final one.
    host.chat(
        "AT+QFTPGET=\"f.bin\",\"UFS:got.bin\"\r",
        "\r\nOK\r\n\r\n+QFTPGET: 616,426\r\n",
    );
    // Never taken by a later, unrelated command.
    host.chat("AT+QFTPPWD\r", "\r\nOK\r\n\r\n+QFTPPWD: 0,\"/\"\r\n");
    assert_eq!(fired(&emu), ["slow", "gives-up"]);
}

#[test]
fn a_control_close_with_no_session_open_is_dropped() {
    let (emu, mut host, port, _d) = start(
        r#"
[[fault]]
name = "nothing-to-close"
on = "time"
after = "200ms"
action = "control_close"
"#,
    );
    assert_eq!(host.drain_for(Duration::from_millis(500)), b"");
    // The later open is not hit by it.
    open(&mut host, port, "\r\n+QFTPOPEN: 0,0\r\n");
    host.chat("AT+QFTPPWD\r", "\r\nOK\r\n\r\n+QFTPPWD: 0,\"/\"\r\n");
    assert_eq!(fired(&emu), ["nothing-to-close"]);
}
