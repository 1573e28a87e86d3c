//! The control API (`serve --control`, docs/control-api.md) against a real emulator: its
//! HTTP server on 127.0.0.1 (a free port), the module on its PTY driven by a host. Requests
//! are written by hand over a TCP socket (HTTP/1.1, `Connection: close`), as any client
//! would send them.

mod host;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bg95_emu::control::ControlAddr;
use bg95_emu::Emulator;
use host::Host;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {:?}\n{}",
                String::from_utf8_lossy(&self.body),
                self.head
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn request(addr: SocketAddr, method: &str, path: &str, extra: &str, body: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Reply {
        status,
        head,
        body: raw[end + 4..].to_vec(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, "", b"")
}

fn post(addr: SocketAddr, path: &str, body: &str) -> Reply {
    request(
        addr,
        "POST",
        path,
        "Content-Type: application/json\r\n",
        body.as_bytes(),
    )
}

fn emulator() -> (Emulator, SocketAddr) {
    let emu = Emulator::builder()
        .control(ControlAddr::Tcp("127.0.0.1:0".parse().unwrap()), None)
        .spawn()
        .unwrap();
    let addr = match emu.control_addr() {
        Some(ControlAddr::Tcp(a)) => *a,
        other => panic!("control address: {other:?}"),
    };
    (emu, addr)
}

/// Bad requests answer with their status and a JSON error naming what is wrong; the module
/// goes on answering AT commands.
#[test]
fn bad_requests_have_a_status_and_a_message() {
    let (emu, api) = emulator();
    let mut host = Host::open(emu.tty_path());
    host.boot_echo_off();

    let r = post(
        api,
        "/v1/faults",
        r#"{"on": "time", "after": "1s", "action": "explode"}"#,
    );
    assert_eq!(r.status, 400);
    let body = r.json();
    assert_eq!(body["key"], "fault.action");
    assert_eq!(
        body["error"],
        format!("fault.action: {}", "unknown variant `explode`, expected one of `dns_failure`, `dns_timeout`, `connect_refused`, `connect_unreachable`, `connect_timeout`, `connect_delay`, `tls_failure`, `reply`, `reply_insert`, `reply_delay`, `control_close`, `data_reset`, `data_close`, `data_stall`, `bandwidth`, `latency`, `slow_close`, `pdp_lost`, `registration_lost`, `registration_regained`, `sim_removed`, `module_reset`, `power_loss`, `ufs_full`, `at_answer`")
    );

    let r = post(api, "/v1/faults", r#"{"on": "time", "after": "1s", "#);
    assert_eq!(r.status, 400);
    let error = r.json()["error"].as_str().unwrap().to_string();
    assert!(error.starts_with("bad JSON: EOF while parsing"), "{error}");

    let r = post(api, "/v1/faults", r#"[1, 2]"#);
    assert_eq!(
        (r.status, r.json()),
        (400, json!({"error": "the body must be a JSON object"}))
    );

    let r = post(
        api,
        "/v1/faults",
        r#"{"on": "transfer", "after_bytes": 10, "action": "dns_failure"}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["key"], "fault.after_bytes");

    let r = get(api, "/v1/module/power");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"error": "no such path: GET /v1/module/power"}))
    );
    let r = get(api, "/v2/module");
    assert_eq!(r.status, 404);

    let r = request(api, "DELETE", "/v1/module", "", b"");
    assert_eq!(
        (r.status, r.json()),
        (405, json!({"error": "DELETE is not allowed on /v1/module"}))
    );

    let r = post(api, "/v1/actions/explode", "");
    assert_eq!(r.status, 404);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .starts_with("unknown action \"explode\" (pdp_lost, "));

    let r = post(api, "/v1/actions/pdp_lost", r#"{"on": "resolve"}"#);
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["key"], "fault.on");

    let r = request(api, "DELETE", "/v1/faults/nobody", "", b"");
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"error": "no fault is named \"nobody\""}))
    );

    let r = get(api, "/v1/ufs/missing.txt");
    assert_eq!(
        (r.status, r.json()),
        (
            404,
            json!({"error": "UFS \"missing.txt\": file not found", "cme": 405})
        )
    );
    let r = request(api, "PUT", "/v1/ufs/a*b", "", b"x");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["cme"], 406);

    host.chat("AT\r", "\r\nOK\r\n");
}

#[test]
fn module_state_and_ufs() {
    let (emu, api) = emulator();
    let mut host = Host::open(emu.tty_path());
    host.boot_echo_off();
    let m = get(api, "/v1/module");
    assert_eq!(m.status, 200);
    let m = m.json();
    assert_eq!(m["powered"], true);
    assert_eq!(m["port"], "command");
    assert_eq!(m["ftp"]["stat"], 4);
    assert_eq!(m["ftp"]["state"], "closed");
    assert_eq!(m["sim"]["present"], true);

    host.chat("AT+QFTPCFG=\"account\",\"user\",\"secret\"\r", "\r\nOK\r\n");
    host.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    let m = get(api, "/v1/module").json();
    assert_eq!(m["ftp"]["config"]["user"], "user");
    assert_eq!(m["ftp"]["config"]["password"], "******");
    assert_eq!(m["pdp"][0]["up"], true);
    assert_eq!(m["pdp"][0]["address"], "10.7.157.1");

    let r = request(api, "PUT", "/v1/ufs/certs/ca.pem", "", b"PEM DATA");
    assert_eq!(r.status, 204);
    host.chat(
        "AT+QFLST=\"*\"\r",
        "\r\n+QFLST: \"certs/ca.pem\",8\r\n\r\nOK\r\n",
    );
    let r = get(api, "/v1/ufs");
    assert_eq!(
        r.json(),
        json!({"files": [{"name": "certs/ca.pem", "size": 8}]})
    );
    let r = get(api, "/v1/ufs/certs/ca.pem");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"PEM DATA"[..]));
    assert_eq!(
        request(api, "DELETE", "/v1/ufs/certs/ca.pem", "", b"").status,
        204
    );
    host.chat("AT+QFLST=\"*\"\r", "\r\nOK\r\n");

    // The transcript so far, passwords masked.
    let t = get(api, "/v1/transcript").text();
    assert!(t.starts_with("# recorded by bg95-emu"), "{t}");
    assert!(
        t.contains("> AT+QFTPCFG=\"account\",\"user\",\"******\"\\r\n"),
        "{t}"
    );
    assert!(!t.contains("secret"));
}

/// A fault added while the host runs fires on the host's next command; fired faults and
/// the transcript say so; a removed fault no longer fires. An action happens at once.
#[test]
fn faults_and_actions_while_the_host_runs() {
    let (emu, api) = emulator();
    let mut host = Host::open(emu.tty_path());
    host.boot_echo_off();
    let r = post(
        api,
        "/v1/faults",
        r#"{"name": "no-sim", "on": "at_command", "command": "+CPIN", "action": "at_answer", "result": "+CME ERROR: 10", "times": "always"}"#,
    );
    assert_eq!((r.status, r.json()), (201, json!({"name": "no-sim"})));
    host.chat("AT+CPIN?\r", "\r\n+CME ERROR: 10\r\n");
    let list = get(api, "/v1/faults").json();
    assert_eq!(list["faults"][0]["name"], "no-sim");
    assert_eq!(list["faults"][0]["fired"], 1);
    assert_eq!(list["faults"][0]["source"], "api");
    assert_eq!(list["faults"][0]["spec"]["command"], "+CPIN");
    let fired = get(api, "/v1/faults/fired").json();
    assert_eq!(fired["fired"][0]["name"], "no-sim");
    assert!(get(api, "/v1/transcript")
        .text()
        .contains("! fault \"no-sim\" at "));
    assert_eq!(
        request(api, "DELETE", "/v1/faults/no-sim", "", b"").status,
        204
    );
    host.chat("AT+CPIN?\r", "\r\n+CPIN: READY\r\n\r\nOK\r\n");

    // The same name twice is the loader's message.
    post(
        api,
        "/v1/faults",
        r#"{"name": "a", "on": "time", "after": "1h", "action": "ufs_full"}"#,
    );
    let r = post(
        api,
        "/v1/faults",
        r#"{"name": "a", "on": "time", "after": "1h", "action": "ufs_full"}"#,
    );
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"error": "fault.name: two faults are named \"a\"", "key": "fault.name"})
        )
    );

    let r = post(api, "/v1/actions/sim_removed", "");
    assert_eq!((r.status, r.json()), (202, json!({"name": "action-1"})));
    let deadline = Instant::now() + WAIT;
    while get(api, "/v1/module").json()["sim"]["present"] != false {
        assert!(Instant::now() < deadline, "the SIM is still there");
        std::thread::sleep(Duration::from_millis(20));
    }
    // What the module says when its SIM goes (the core decides, as for a scenario's fault).
    host.expect(b"\r\n+CPIN: NOT READY\r\n\r\n+QIURC: \"pdpdeact\",1\r\n");
    host.chat("AT+CPIN?\r", "\r\n+CME ERROR: 10\r\n");
    let fired = get(api, "/v1/faults/fired").json();
    assert_eq!(fired["fired"][1]["name"], "action-1");
}

/// The event stream carries the host's and the module's lines as they happen.
#[test]
fn events_stream_the_session() {
    let (emu, api) = emulator();
    let mut host = Host::open(emu.tty_path());
    host.boot_echo_off();
    let mut s = TcpStream::connect(api).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(s, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    // The stream is open once its header arrives; lines after that are streamed.
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "stream closed");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&seen).contains("text/event-stream"));
    host.chat("AT+CSQ\r", "\r\n+CSQ: 24,99\r\n\r\nOK\r\n");
    let want_host = "event: host\ndata: {\"at_ms\":";
    let deadline = Instant::now() + WAIT;
    loop {
        let text = String::from_utf8_lossy(&seen).into_owned();
        if text.contains(want_host)
            && text.contains(r#""line":"> AT+CSQ\\r"}"#)
            && text.contains(r#""line":"< \\r\\n+CSQ: 24,99\\r\\n\\r\\nOK\\r\\n"}"#)
        {
            assert!(text.contains("event: module\n"));
            break;
        }
        assert!(Instant::now() < deadline, "no events: {text}");
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "stream closed: {text}");
        seen.extend_from_slice(&buf[..n]);
    }
    // The emulator stops with the stream still open.
    drop(host);
    emu.stop().unwrap();
}

#[test]
fn a_token_is_required_when_set() {
    let emu = Emulator::builder()
        .control(
            ControlAddr::Tcp("127.0.0.1:0".parse().unwrap()),
            Some("s3cret".into()),
        )
        .spawn()
        .unwrap();
    let Some(ControlAddr::Tcp(api)) = emu.control_addr().cloned() else {
        panic!("no address");
    };
    let r = get(api, "/v1/module");
    assert_eq!(
        (r.status, r.json()),
        (
            401,
            json!({"error": "missing or wrong Authorization: Bearer token"})
        )
    );
    let r = request(
        api,
        "GET",
        "/v1/module",
        "Authorization: Bearer wrong\r\n",
        b"",
    );
    assert_eq!(r.status, 401);
    let r = request(
        api,
        "GET",
        "/v1/module",
        "Authorization: Bearer s3cret\r\n",
        b"",
    );
    assert_eq!(r.status, 200);
    // Unknown paths need the token too (nothing is said about the API without it).
    assert_eq!(get(api, "/v1/nothing").status, 401);
}

#[test]
fn off_loopback_needs_a_token_and_unix_sockets_work() {
    let e = Emulator::builder()
        .control(ControlAddr::Tcp("0.0.0.0:0".parse().unwrap()), None)
        .spawn()
        .err()
        .expect("refused");
    assert!(e.to_string().contains("not a loopback address"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("api.sock");
    let emu = Emulator::builder()
        .control(ControlAddr::Unix(sock.clone()), None)
        .spawn()
        .unwrap();
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        s,
        "GET /v1/faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200 OK\r\n"), "{raw}");
    assert!(raw.ends_with(r#"{"faults":[]}"#), "{raw}");
    emu.stop().unwrap();
    assert!(!sock.exists(), "the socket file is removed at the end");
}
