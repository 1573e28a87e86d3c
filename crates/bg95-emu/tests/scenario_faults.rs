//! Each fault kind of a scenario, end to end: a small scenario with its own embedded FTP
//! server (libunftp) drives the emulator, and the host on the PTY reads exactly these bytes.
//! The answers are the core's (its error table), never written by the fault.

mod host;

use std::path::Path;
use std::time::Duration;

use bg95_emu::scenario::Scenario;
use bg95_emu::Emulator;
use host::{boot_bytes, Host};

/// A scenario with an embedded server holding `f.bin` (4096 bytes), `ftp.example.com`
/// mapped to it, and `faults` (TOML `[[fault]]` tables and any other sections).
fn start(faults: &str) -> (Emulator, Host, u16, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("root")).unwrap();
    let text = format!(
        r#"
[network]
dns_exclusive = true
[network.dns]
"ftp.example.com" = "127.0.0.1"
[ftp_server]
root = "root"
[ftp_server.files]
"f.bin" = {{ size = 4096 }}
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

fn open_cmd(port: u16) -> String {
    format!("AT+QFTPOPEN=\"ftp.example.com\",{port}\r")
}

/// Open the session; expect `want` after the command's OK.
fn open(host: &mut Host, port: u16, want: &str) {
    host.chat(&open_cmd(port), &format!("\r\nOK\r\n{want}"));
}

fn opened(host: &mut Host, port: u16) {
    open(host, port, "\r\n+QFTPOPEN: 0,0\r\n");
}

fn check_fired(emu: &Emulator, names: &[&str]) {
    let fired: Vec<String> = emu
        .faults()
        .unwrap()
        .fired()
        .into_iter()
        .map(|f| f.name)
        .collect();
    for n in names {
        assert!(fired.iter().any(|f| f == n), "{n} not in {fired:?}");
    }
}

#[test]
fn dns_failure_and_timeout_give_604() {
    let (emu, mut host, port, _d) = start(
        r#"
[[fault]]
name = "nx"
on = "at_command"
command = "+QFTPOPEN"
action = "dns_failure"
[[fault]]
name = "slow-dns"
on = "resolve"
nth = 2
action = "dns_timeout"
host = "ftp.example.com"
"#,
    );
    open(&mut host, port, "\r\n+QFTPOPEN: 604,0\r\n");
    open(&mut host, port, "\r\n+QFTPOPEN: 604,0\r\n");
    opened(&mut host, port);
    check_fired(&emu, &["nx", "slow-dns"]);
}

#[test]
fn control_connect_faults() {
    let (emu, mut host, port, _d) = start(
        r#"
[[fault]]
name = "refused"
on = "at_command"
command = "+QFTPOPEN"
action = "connect_refused"
[[fault]]
name = "unreachable"
on = "at_command"
command = "+QFTPOPEN"
nth = 2
action = "connect_unreachable"
[[fault]]
name = "syn-lost"
on = "at_command"
command = "+QFTPOPEN"
nth = 3
action = "connect_timeout"
delay = "300ms"
[[fault]]
name = "late"
on = "at_command"
command = "+QFTPOPEN"
nth = 4
action = "connect_delay"
delay = "300ms"
"#,
    );
    // The core's table: refused 606 (as a closed connection), unreachable and timed out
    // 605 (network error).
    open(&mut host, port, "\r\n+QFTPOPEN: 606,0\r\n");
    open(&mut host, port, "\r\n+QFTPOPEN: 605,0\r\n");
    open(&mut host, port, "\r\n+QFTPOPEN: 605,0\r\n");
    opened(&mut host, port);
    check_fired(&emu, &["refused", "unreachable", "syn-lost", "late"]);
}

#[test]
fn replies_replaced_inserted_and_closed() {
    let (emu, mut host, port, _d) = start(
        r#"
[[fault]]
name = "inserted"
on = "ftp_command"
verb = "PASS"
action = "reply_insert"
code = 530
text = "Login incorrect."
[[fault]]
name = "wrong-password"
on = "ftp_command"
verb = "PASS"
nth = 2
action = "reply"
code = 530
text = "Login incorrect."
[[fault]]
name = "no-file"
on = "ftp_command"
verb = "SIZE"
action = "reply"
code = 550
text = "No such file."
[[fault]]
name = "hangup"
on = "ftp_command"
verb = "PWD"
action = "control_close"
"#,
    );
    // A 530 before the server's real 230, then a 530 instead of it.
    open(&mut host, port, "\r\n+QFTPOPEN: 625,530\r\n");
    open(&mut host, port, "\r\n+QFTPOPEN: 625,530\r\n");
    opened(&mut host, port);
    host.chat(
        "AT+QFTPSIZE=\"f.bin\"\r",
        "\r\nOK\r\n\r\n+QFTPSIZE: 627,550\r\n",
    );
    host.chat("AT+QFTPPWD\r", "\r\nOK\r\n\r\n+QFTPPWD: 606,0\r\n");
    check_fired(&emu, &["inserted", "wrong-password", "no-file", "hangup"]);
}

#[test]
fn data_faults_on_get_and_put() {
    let (emu, mut host, port, _d) = start(
        r#"
[module.ufs]
"up.bin" = { size = 4096 }
[[fault]]
name = "get-reset"
on = "transfer"
direction = "download"
after_bytes = 1000
action = "data_reset"
[[fault]]
name = "put-reset"
on = "transfer"
direction = "upload"
after_bytes = 1000
action = "data_reset"
[[fault]]
name = "paced"
on = "transfer"
nth = 2
direction = "download"
action = "bandwidth"
bytes_per_sec = 40000
[[fault]]
name = "lagging"
on = "transfer"
nth = 2
direction = "download"
action = "latency"
delay = "20ms"
jitter = "10ms"
[[fault]]
name = "slow-fin"
on = "transfer"
nth = 2
direction = "download"
action = "slow_close"
delay = "200ms"
"#,
    );
    opened(&mut host, port);
    host.chat(
        "AT+QFTPGET=\"f.bin\",\"UFS:got.bin\"\r",
        "\r\nOK\r\n\r\n+QFTPGET: 607,0\r\n",
    );
    host.chat(
        "AT+QFTPPUT=\"up.bin\",\"UFS:up.bin\",0\r",
        "\r\nOK\r\n\r\n+QFTPPUT: 608,0\r\n",
    );
    // Slow, late and slowly closed, but whole: the host sees a normal download.
    host.chat(
        "AT+QFTPGET=\"f.bin\",\"UFS:got.bin\"\r",
        "\r\nOK\r\n\r\n+QFTPGET: 0,4096\r\n",
    );
    host.chat(
        "AT+QFLST=\"got.bin\"\r",
        "\r\n+QFLST: \"got.bin\",4096\r\n\r\nOK\r\n",
    );
    check_fired(
        &emu,
        &["get-reset", "put-reset", "paced", "lagging", "slow-fin"],
    );
}

#[test]
fn data_close_ends_a_download_short() {
    let (emu, mut host, port, _d) = start(
        r#"
[[fault]]
name = "fin"
on = "transfer"
after_bytes = 1000
action = "data_close"
"#,
    );
    opened(&mut host, port);
    host.chat(
        "AT+QFTPGET=\"f.bin\",\"UFS:got.bin\"\r",
        "\r\nOK\r\n\r\n+QFTPGET: 0,1000\r\n",
    );
    check_fired(&emu, &["fin"]);
}

#[test]
fn network_faults_reach_the_host_as_the_core_reports_them() {
    let (emu, mut host, port, _d) = start(
        r#"
[[fault]]
name = "apn"
on = "at_command"
command = "+QFTPPWD"
action = "pdp_lost"
cid = 1
[[fault]]
name = "hole"
on = "at_command"
command = "+CSQ"
action = "registration_lost"
[[fault]]
name = "back"
on = "at_command"
command = "+COPS"
params = '^\?$'
action = "registration_regained"
[[fault]]
name = "pulled"
on = "at_command"
command = "+CPIN"
action = "sim_removed"
"#,
    );
    host.chat("AT+CEREG=1\r", "\r\nOK\r\n");
    opened(&mut host, port);
    host.chat(
        "AT+QFTPPWD\r",
        "\r\n+QIURC: \"pdpdeact\",1\r\n\r\nOK\r\n\r\n+QFTPPWD: 605,0\r\n",
    );
    host.chat("AT+CSQ\r", "\r\n+CEREG: 2\r\n\r\n+CSQ: 99,99\r\n\r\nOK\r\n");
    host.chat(
        "AT+COPS?\r",
        "\r\n+CEREG: 1\r\n\r\n+COPS: 0,0,\"CHINA MOBILE\",8\r\n\r\nOK\r\n",
    );
    host.chat(
        "AT+CPIN?\r",
        "\r\n+CPIN: NOT READY\r\n\r\n+QIURC: \"pdpdeact\",1\r\n\r\n+CEREG: 0\r\n\r\n+CME ERROR: 10\r\n",
    );
    check_fired(&emu, &["apn", "hole", "back", "pulled"]);
}

#[test]
fn reset_and_power_loss_boot_again() {
    let (emu, mut host, _port, _d) = start(
        r#"
[[fault]]
name = "watchdog"
on = "at_command"
command = "+CSQ"
action = "module_reset"
[[fault]]
name = "brownout"
on = "at_command"
command = "+CGMR"
action = "power_loss"
"#,
    );
    // The reset comes before the module reads the line: the boot URCs, then the line runs
    // on the fresh module (echo back on).
    host.send(b"AT+CSQ\r");
    let mut want = boot_bytes();
    want.extend_from_slice(b"AT+CSQ\r\r\n+CSQ: 24,99\r\n\r\nOK\r\n");
    host.expect(&want);
    host.send(b"AT+CGMR\r");
    host.expect(&boot_bytes());
    assert!(host.drain_for(Duration::from_millis(100)).is_empty());
    host.chat("AT\r", "AT\r\r\nOK\r\n");
    check_fired(&emu, &["watchdog", "brownout"]);
}

#[test]
fn at_answer_replaces_one_answer() {
    let (emu, mut host, _port, _d) = start(
        r#"
[[fault]]
name = "pin-quirk"
on = "at_command"
command = "+CPIN"
params = '^\?$'
action = "at_answer"
lines = ["+CPIN: SIM PIN"]
result = "OK"
delay = "100ms"
[[fault]]
name = "csq-error"
on = "time"
after = "0s"
action = "at_answer"
target = "+CSQ"
result = "+CME ERROR: 100"
"#,
    );
    host.chat("AT+CPIN?\r", "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n");
    host.chat("AT+CPIN?\r", "\r\n+CPIN: READY\r\n\r\nOK\r\n");
    host.chat("AT+CSQ\r", "\r\n+CME ERROR: 100\r\n");
    host.chat("AT+CSQ\r", "\r\n+CSQ: 24,99\r\n\r\nOK\r\n");
    check_fired(&emu, &["pin-quirk", "csq-error"]);
}

#[test]
fn bad_at_answer_result_is_a_file_error() {
    let e = Scenario::parse(
        Path::new("/tmp/s.toml"),
        "[[fault]]\non = \"at_command\"\ncommand = \"+CSQ\"\naction = \"at_answer\"\nresult = \"FINE\"\n",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/tmp/s.toml:5: fault.result: \"FINE\" is not a final result"),
        "{e}"
    );
}

/// A stalled data connection: no more bytes, the connection stays open, and rsptimeout
/// (20 s, the smallest the note allows) decides: 609. Waits those 20 s on the wall clock.
#[test]
fn data_stall_ends_with_rsptimeout() {
    let (emu, mut host, port, _d) = start(
        r#"
[[fault]]
name = "stall"
on = "transfer"
after_bytes = 1000
action = "data_stall"
"#,
    );
    host.chat("AT+QFTPCFG=\"rsptimeout\",20\r", "\r\nOK\r\n");
    opened(&mut host, port);
    host.send(b"AT+QFTPGET=\"f.bin\",\"UFS:got.bin\"\r");
    let got = host.read_until_within(b"+QFTPGET: ", Duration::from_secs(40));
    assert_eq!(got, b"\r\nOK\r\n\r\n+QFTPGET: ");
    host.expect(b"609,0\r\n");
    check_fired(&emu, &["stall"]);
}
