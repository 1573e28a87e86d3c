//! The application note's section 3 flows (3.1, 3.3–3.8, plain FTP), byte-exact through the
//! PTY of a spawned emulator, against two real servers the tests start themselves: the
//! embedded libunftp server and vsftpd. Plus the error paths a driver meets in the field.

mod host;
mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bg95_emu::Emulator;
use host::Host;
use support::vsftpd::{self, Mode, Vsftpd};

/// A guard time and a bit (S12 = 50 → 1 s).
const GUARD: Duration = Duration::from_millis(1200);

/// One real server with the module pointed at it.
struct Rig {
    host: Host,
    server: SocketAddr,
    root: PathBuf,
    vsftpd: bool,
    _emu: Emulator,
    _vsftpd: Option<Vsftpd>,
    _root: Option<tempfile::TempDir>,
}

fn fixture_1000() -> Vec<u8> {
    (0..1000u32).map(|i| (i * 7 % 256) as u8).collect()
}

fn with_fixtures(put: impl Fn(&str, &[u8])) {
    put("test_my1.txt", &fixture_1000());
    put("test.txt", &fixture_1000());
    put("all.bin", &(0..=255u8).collect::<Vec<u8>>());
}

fn embedded() -> Rig {
    let root = tempfile::tempdir().unwrap();
    with_fixtures(|n, b| std::fs::write(root.path().join(n), b).unwrap());
    let emu = Emulator::builder()
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .ftp_root(root.path())
        .spawn()
        .unwrap();
    let server = emu.ftp_addr().unwrap();
    let host = Host::open(emu.tty_path());
    Rig {
        host,
        server,
        root: root.path().to_path_buf(),
        vsftpd: false,
        _emu: emu,
        _vsftpd: None,
        _root: Some(root),
    }
}

fn vsftpd() -> Rig {
    assert!(
        vsftpd::available(),
        "vsftpd is not installed or not root: run .ci/run"
    );
    let v = Vsftpd::start(Mode::Plain);
    with_fixtures(|n, b| v.put(n, b));
    let emu = Emulator::builder().spawn().unwrap();
    let host = Host::open(emu.tty_path());
    Rig {
        host,
        server: v.addr,
        root: v.root.clone(),
        vsftpd: true,
        _emu: emu,
        _vsftpd: Some(v),
        _root: None,
    }
}

impl Rig {
    /// Boot, echo off, 3.1 login.
    fn login(&mut self) {
        let h = &mut self.host;
        h.boot_echo_off();
        h.chat("AT+QICSGP=1,1,\"CMNBIOT\",\"\",\"\",1\r", "\r\nOK\r\n");
        h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
        h.chat(
            "AT+QIACT?\r",
            "\r\n+QIACT: 1,1,1,\"10.7.157.1\"\r\n\r\nOK\r\n",
        );
        h.chat("AT+QFTPCFG=\"contextid\",1\r", "\r\nOK\r\n");
        h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
        h.chat("AT+QFTPCFG=\"filetype\",0\r", "\r\nOK\r\n");
        h.chat("AT+QFTPCFG=\"transmode\",1\r", "\r\nOK\r\n");
        h.chat("AT+QFTPCFG=\"rsptimeout\",90\r", "\r\nOK\r\n");
        let open = format!("AT+QFTPOPEN=\"127.0.0.1\",{}\r", self.server.port());
        h.chat(&open, "\r\nOK\r\n");
        h.expect(b"\r\n+QFTPOPEN: 0,0\r\n");
    }

    /// A command answered by OK and one URC.
    fn action(&mut self, cmd: &str, urc: &str) {
        self.host.chat(cmd, "\r\nOK\r\n");
        self.host.expect(urc.as_bytes());
    }

    /// A COM: download: CONNECT, the bytes, OK, `<urc>: 0,<n>`. Returns the bytes.
    fn download(&mut self, cmd: &str, urc: &str) -> Vec<u8> {
        self.host.chat(cmd, "\r\nCONNECT\r\n");
        let tail = format!("\r\nOK\r\n\r\n{urc}: 0,");
        let got = self.host.read_until(tail.as_bytes());
        let data = got[..got.len() - tail.len()].to_vec();
        let n = self.host.read_until(b"\r\n");
        assert_eq!(
            String::from_utf8_lossy(&n[..n.len() - 2]),
            data.len().to_string(),
            "{urc} count"
        );
        data
    }

    /// A COM: upload ended by a guarded +++.
    fn upload_escape(&mut self, cmd: &str, data: &[u8]) {
        self.host.chat(cmd, "\r\nCONNECT\r\n");
        self.host.send(data);
        std::thread::sleep(GUARD);
        self.host.send(b"+++");
        std::thread::sleep(GUARD);
        self.host.expect(b"\r\nOK\r\n");
        self.host
            .expect(format!("\r\n+QFTPPUT: 0,{}\r\n", data.len()).as_bytes());
    }

    fn size(&mut self, name: &str, n: usize) {
        self.action(
            &format!("AT+QFTPSIZE=\"{name}\"\r"),
            &format!("\r\n+QFTPSIZE: 0,{n}\r\n"),
        );
    }
}

/// 3.1, 3.3, 3.4, 3.5, 3.6, 3.7, 3.8 in one session.
fn section_3(mut rig: Rig) {
    rig.login();
    // 3.3 folders.
    rig.action("AT+QFTPCWD=\"/\"\r", "\r\n+QFTPCWD: 0,0\r\n");
    rig.action("AT+QFTPPWD\r", "\r\n+QFTPPWD: 0,\"/\"\r\n");
    rig.action("AT+QFTPMKDIR=\"TEST\"\r", "\r\n+QFTPMKDIR: 0,0\r\n");
    rig.action(
        "AT+QFTPRENAME=\"TEST\",\"TEST_NEW\"\r",
        "\r\n+QFTPRENAME: 0,0\r\n",
    );
    assert!(rig.root.join("TEST_NEW").is_dir());
    rig.action("AT+QFTPCWD=\"TEST_NEW\"\r", "\r\n+QFTPCWD: 0,0\r\n");
    rig.action("AT+QFTPPWD\r", "\r\n+QFTPPWD: 0,\"/TEST_NEW\"\r\n");
    rig.action("AT+QFTPCWD=\"/\"\r", "\r\n+QFTPCWD: 0,0\r\n");
    rig.action("AT+QFTPRMDIR=\"TEST_NEW\"\r", "\r\n+QFTPRMDIR: 0,0\r\n");
    assert!(!rig.root.join("TEST_NEW").exists());

    // 3.4 files.
    rig.size("test_my1.txt", 1000);
    rig.action(
        "AT+QFTPRENAME=\"test_my1.txt\",\"test_new.txt\"\r",
        "\r\n+QFTPRENAME: 0,0\r\n",
    );
    rig.host
        .chat("AT+QFTPMDTM=\"test_new.txt\"\r", "\r\nOK\r\n");
    rig.host.expect(b"\r\n+QFTPMDTM: 0,\"");
    let t = rig.host.read_until(b"\"\r\n");
    assert!(
        t.len() >= 17 && t[..14].iter().all(u8::is_ascii_digit),
        "{:?}",
        String::from_utf8_lossy(&t)
    );
    rig.action("AT+QFTPDEL=\"test_new.txt\"\r", "\r\n+QFTPDEL: 0,0\r\n");
    assert!(!rig.root.join("test_new.txt").exists());
    rig.action(
        "AT+QFTPSIZE=\"test_new.txt\"\r",
        "\r\n+QFTPSIZE: 627,550\r\n",
    );

    // 3.5 listings to COM:.
    let list = rig.download("AT+QFTPLIST=\".\",\"COM:\"\r", "+QFTPLIST");
    assert!(String::from_utf8_lossy(&list).contains("test.txt"));
    let nlst = rig.download("AT+QFTPNLST=\".\",\"COM:\"\r", "+QFTPNLST");
    assert!(String::from_utf8_lossy(&nlst).contains("test.txt"));
    if rig.vsftpd {
        // vsftpd has no MLSD: 500 before any data connection.
        rig.host
            .chat("AT+QFTPMLSD=\".\",\"COM:\"\r", "\r\n+CME ERROR: 620\r\n");
    } else {
        let mlsd = rig.download("AT+QFTPMLSD=\".\",\"COM:\"\r", "+QFTPMLSD");
        assert!(String::from_utf8_lossy(&mlsd)
            .to_ascii_lowercase()
            .contains("type=file"));
    }

    // 3.6 upload via COM:, ended by +++; then resumed at 1000; then twice 1024 with beof.
    let body: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    rig.upload_escape("AT+QFTPPUT=\"test_my.txt\",\"COM:\",0\r", &body);
    rig.action("AT+QFTPLEN\r", "\r\n+QFTPLEN: 0,1000\r\n");
    rig.size("test_my.txt", 1000);
    rig.upload_escape("AT+QFTPPUT=\"test_my.txt\",\"COM:\",1000\r", &body[..500]);
    rig.size("test_my.txt", 1500);
    let mut want = body.clone();
    want.extend_from_slice(&body[..500]);
    assert_eq!(std::fs::read(rig.root.join("test_my.txt")).unwrap(), want);

    let part: Vec<u8> = (0..2048u32).map(|i| (i * 13 % 256) as u8).collect();
    rig.host.chat(
        "AT+QFTPPUT=\"test2.txt\",\"COM:\",0,1024,0\r",
        "\r\nCONNECT\r\n",
    );
    rig.host.send(&part[..1024]);
    rig.host.expect(b"\r\nOK\r\n\r\n+QFTPPUT: 0,1024\r\n");
    rig.host.chat(
        "AT+QFTPPUT=\"test2.txt\",\"COM:\",1024,1024,1\r",
        "\r\nCONNECT\r\n",
    );
    rig.host.send(&part[1024..]);
    rig.host.expect(b"\r\nOK\r\n\r\n+QFTPPUT: 0,1024\r\n");
    rig.size("test2.txt", 2048);
    assert_eq!(std::fs::read(rig.root.join("test2.txt")).unwrap(), part);

    // 3.7 download via COM:, whole and in two halves; every byte value survives.
    assert_eq!(
        rig.download("AT+QFTPGET=\"test_my.txt\",\"COM:\"\r", "+QFTPGET"),
        want
    );
    let first = rig.download("AT+QFTPGET=\"test.txt\",\"COM:\",0,500\r", "+QFTPGET");
    let second = rig.download("AT+QFTPGET=\"test.txt\",\"COM:\",500,500\r", "+QFTPGET");
    assert_eq!([first, second].concat(), fixture_1000());
    let all = rig.download("AT+QFTPGET=\"all.bin\",\"COM:\"\r", "+QFTPGET");
    assert_eq!(all, (0..=255u8).collect::<Vec<u8>>());
    rig.action("AT+QFTPLEN\r", "\r\n+QFTPLEN: 0,256\r\n");
    if rig.vsftpd {
        // vsftpd refuses RETR before any data connection: the command's own error.
        rig.host.chat(
            "AT+QFTPGET=\"missing.txt\",\"COM:\"\r",
            "\r\n+CME ERROR: 627\r\n",
        );
    } else {
        // libunftp accepts RETR (150) and only then finds no file: data mode opens and the
        // URC carries the error.
        rig.host
            .chat("AT+QFTPGET=\"missing.txt\",\"COM:\"\r", "\r\nCONNECT\r\n");
        rig.host.expect(b"\r\nOK\r\n\r\n+QFTPGET: 627,550\r\n");
    }

    // 3.8 log out.
    rig.action("AT+QFTPCLOSE\r", "\r\n+QFTPCLOSE: 0,0\r\n");
    rig.action("AT+QFTPSTAT\r", "\r\n+QFTPSTAT: 0,4\r\n");
    rig.host.chat("AT+QIDEACT=1\r", "\r\nOK\r\n");
    let rest = rig.host.drain_for(Duration::from_millis(200));
    assert!(
        rest.is_empty(),
        "unexpected output: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[test]
fn section_3_flows_against_libunftp() {
    section_3(embedded());
}

#[test]
fn section_3_flows_against_vsftpd() {
    section_3(vsftpd());
}

/// +++ pauses a download, the state stays 2, ATO resumes, and no byte is lost. The host
/// stops reading while it pauses, so backpressure holds the rest of the file in the server.
fn pause_and_resume(mut rig: Rig) {
    let size = 16 * 1024 * 1024;
    let big: Vec<u8> = (0..size as u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(rig.root.join("big.bin"), &big).unwrap();
    rig.login();
    rig.host
        .chat("AT+QFTPGET=\"big.bin\",\"COM:\"\r", "\r\nCONNECT\r\n");
    let mut got = rig.host.read_exact(1000);
    rig.host.set_reading(false);
    std::thread::sleep(GUARD);
    rig.host.send(b"+++");
    std::thread::sleep(GUARD);
    rig.host.set_reading(true);
    // Everything up to the OK is data that was already on its way.
    let before_ok = rig.host.read_until(b"\r\nOK\r\n");
    got.extend_from_slice(&before_ok[..before_ok.len() - 6]);
    assert!(got.len() < size, "the whole file arrived before the pause");
    rig.action("AT+QFTPSTAT\r", "\r\n+QFTPSTAT: 0,2\r\n");
    rig.host.chat("ATO\r", "\r\nCONNECT\r\n");
    let tail = format!("\r\nOK\r\n\r\n+QFTPGET: 0,{size}\r\n");
    let rest = rig.host.read_until(tail.as_bytes());
    got.extend_from_slice(&rest[..rest.len() - tail.len()]);
    assert_eq!(got.len(), big.len());
    assert!(got == big, "downloaded bytes differ");
    rig.host.chat("ATO\r", "\r\nNO CARRIER\r\n");
}

#[test]
fn escape_pauses_and_ato_resumes_download_libunftp() {
    pause_and_resume(embedded());
}

#[test]
fn error_paths_wrong_login_dns_refused() {
    let mut rig = embedded();
    let h = &mut rig.host;
    h.boot_echo_off();
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"wrong\"\r", "\r\nOK\r\n");
    let open = format!("AT+QFTPOPEN=\"127.0.0.1\",{}\r", rig.server.port());
    h.chat(&open, "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPOPEN: 625,530\r\n");
    h.chat("AT+QFTPOPEN=\"nosuch.invalid\",21\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPOPEN: 604,0\r\n");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    h.chat(&format!("AT+QFTPOPEN=\"127.0.0.1\",{port}\r"), "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPOPEN: 606,0\r\n");
    h.chat("AT+QFTPSTAT\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPSTAT: 0,4\r\n");
    // The module still works.
    h.chat("AT\r", "\r\nOK\r\n");
}

#[test]
fn active_mode_against_vsftpd() {
    let mut rig = vsftpd();
    rig.host.boot_echo_off();
    rig.host.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    rig.host
        .chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    rig.host.chat("AT+QFTPCFG=\"transmode\",0\r", "\r\nOK\r\n");
    let open = format!("AT+QFTPOPEN=\"127.0.0.1\",{}\r", rig.server.port());
    rig.action(&open, "\r\n+QFTPOPEN: 0,0\r\n");
    assert_eq!(
        rig.download("AT+QFTPGET=\"test.txt\",\"COM:\"\r", "+QFTPGET"),
        fixture_1000()
    );
    rig.upload_escape("AT+QFTPPUT=\"up.bin\",\"COM:\"\r", b"active mode upload");
    assert_eq!(
        std::fs::read(rig.root.join("up.bin")).unwrap(),
        b"active mode upload"
    );
    rig.action("AT+QFTPCLOSE\r", "\r\n+QFTPCLOSE: 0,0\r\n");
}

#[test]
fn server_dropping_an_idle_session_is_reported_on_the_next_command() {
    assert!(
        vsftpd::available(),
        "vsftpd is not installed or not root: run .ci/run"
    );
    let v = Vsftpd::start_with(vsftpd::Options {
        mode: Mode::Plain,
        idle_timeout: Some(1),
    });
    let emu = Emulator::builder().spawn().unwrap();
    let mut h = Host::open(emu.tty_path());
    h.boot_echo_off();
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    h.chat(
        &format!("AT+QFTPOPEN=\"127.0.0.1\",{}\r", v.addr.port()),
        "\r\nOK\r\n",
    );
    h.expect(b"\r\n+QFTPOPEN: 0,0\r\n");
    // vsftpd ends the idle session after 1 s (421 and close).
    std::thread::sleep(Duration::from_secs(3));
    h.chat("AT+QFTPSTAT\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPSTAT: 0,4\r\n");
    h.chat("AT+QFTPPWD\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPPWD: 606,0\r\n");
    // And the module opens a new session fine.
    h.chat(
        &format!("AT+QFTPOPEN=\"127.0.0.1\",{}\r", v.addr.port()),
        "\r\nOK\r\n",
    );
    h.expect(b"\r\n+QFTPOPEN: 0,0\r\n");
}

/// Section 3.6 "Upload a file from UFS" and 3.7 "Solution 2" (download into UFS).
fn ufs_flows(mut rig: Rig) {
    rig.login();
    let data = fixture_1000();
    let sum = bg95_core::ufs::checksum_hex(&data);
    // 3.6: QFUPL with ack mode (an `A` after every 1024 bytes; 1000 bytes need none).
    rig.host
        .chat("AT+QFUPL=\"test_ufs.txt\",1000,300,1\r", "\r\nCONNECT\r\n");
    rig.host.send(&data);
    rig.host
        .expect(format!("\r\n+QFUPL: 1000,{sum}\r\n\r\nOK\r\n").as_bytes());
    rig.host.chat(
        "AT+QFLST=\"*\"\r",
        "\r\n+QFLST: \"test_ufs.txt\",1000\r\n\r\nOK\r\n",
    );
    rig.action(
        "AT+QFTPPUT=\"test_my1.txt\",\"test_ufs.txt\",0\r",
        "\r\n+QFTPPUT: 0,1000\r\n",
    );
    rig.action("AT+QFTPLEN\r", "\r\n+QFTPLEN: 0,1000\r\n");
    rig.size("test_my1.txt", 1000);
    assert_eq!(std::fs::read(rig.root.join("test_my1.txt")).unwrap(), data);
    rig.host.chat("AT+QFDEL=\"test_ufs.txt\"\r", "\r\nOK\r\n");
    // A missing UFS file.
    rig.action(
        "AT+QFTPPUT=\"x.txt\",\"nosuch.txt\",0\r",
        "\r\n+QFTPPUT: 611,0\r\n",
    );

    // 3.7 solution 2: into UFS, whole and from 450.
    rig.action(
        "AT+QFTPGET=\"test_my1.txt\",\"test.txt\"\r",
        "\r\n+QFTPGET: 0,1000\r\n",
    );
    rig.host.chat(
        "AT+QFLST=\"*\"\r",
        "\r\n+QFLST: \"test.txt\",1000\r\n\r\nOK\r\n",
    );
    rig.action(
        "AT+QFTPGET=\"test_my1.txt\",\"test1.txt\",450\r",
        "\r\n+QFTPGET: 0,550\r\n",
    );
    rig.action("AT+QFTPLEN\r", "\r\n+QFTPLEN: 0,550\r\n");
    rig.host.chat(
        "AT+QFLST=\"*\"\r",
        "\r\n+QFLST: \"test.txt\",1000\r\n+QFLST: \"test1.txt\",550\r\n\r\nOK\r\n",
    );
    // The UFS copy is byte-exact: read it back with QFDWL.
    let tail_sum = bg95_core::ufs::checksum_hex(&data[450..]);
    rig.host.chat("AT+QFDWL=\"test1.txt\"\r", "\r\nCONNECT\r\n");
    assert_eq!(rig.host.read_exact(550), data[450..]);
    rig.host
        .expect(format!("\r\n+QFDWL: 550,{tail_sum}\r\n\r\nOK\r\n").as_bytes());
    // Listings into UFS.
    rig.host
        .chat("AT+QFTPNLST=\".\",\"nlst.txt\"\r", "\r\nOK\r\n");
    rig.host.expect(b"\r\n+QFTPNLST: 0,");
    let n = rig.host.read_until(b"\r\n");
    let n: usize = String::from_utf8_lossy(&n[..n.len() - 2]).parse().unwrap();
    rig.host.chat(
        "AT+QFLST=\"nlst.txt\"\r",
        &format!("\r\n+QFLST: \"nlst.txt\",{n}\r\n\r\nOK\r\n"),
    );
    // A missing remote file.
    rig.action(
        "AT+QFTPGET=\"missing.txt\",\"m.txt\"\r",
        "\r\n+QFTPGET: 627,550\r\n",
    );
    rig.host.chat("AT+QFLST=\"m.txt\"\r", "\r\nOK\r\n");
    rig.action("AT+QFTPCLOSE\r", "\r\n+QFTPCLOSE: 0,0\r\n");
}

#[test]
fn ufs_flows_against_libunftp() {
    ufs_flows(embedded());
}

#[test]
fn ufs_flows_against_vsftpd() {
    ufs_flows(vsftpd());
}

/// Upload `pem` into UFS under `name` with AT+QFUPL (the host SDKs' way of installing
/// certificates).
fn upload_pem(h: &mut Host, name: &str, pem: &str) {
    let sum = bg95_core::ufs::checksum_hex(pem.as_bytes());
    h.chat(
        &format!("AT+QFUPL=\"{name}\",{},5000\r", pem.len()),
        "\r\nCONNECT\r\n",
    );
    h.send(pem.as_bytes());
    h.expect(format!("\r\n+QFUPL: {},{sum}\r\n\r\nOK\r\n", pem.len()).as_bytes());
}

/// A host SDK keeps its CA in a UFS folder (`/security/cacert.pem`, general-commands.md
/// §11) and points AT+QSSLCFG="cacert" at it: the FTPS login verifies the server against
/// that file; pointed at a folder file holding another CA, the login fails with 631.
#[test]
fn ftps_with_the_ca_in_a_ufs_folder_against_vsftpd() {
    assert!(
        vsftpd::available(),
        "vsftpd is not installed or not root: run .ci/run"
    );
    let v = Vsftpd::start(Mode::Explicit);
    let certs = v.certs.as_ref().expect("FTPS certificates");
    let emu = Emulator::builder().spawn().unwrap();
    let mut h = Host::open(emu.tty_path());
    h.boot_echo_off();
    h.chat(
        "AT+QFDEL=\"/security/cacert.pem\"\r",
        "\r\n+CME ERROR: 405\r\n",
    );
    upload_pem(&mut h, "/security/cacert.pem", &certs.ca_pem);
    upload_pem(&mut h, "UFS:/security/other.pem", &certs.other_ca_pem);
    h.chat(
        "AT+QFLST=\"ufs:/security/*\"\r",
        &format!(
            "\r\n+QFLST: \"security/cacert.pem\",{}\r\n+QFLST: \"security/other.pem\",{}\r\n\r\nOK\r\n",
            certs.ca_pem.len(),
            certs.other_ca_pem.len()
        ),
    );
    h.chat("AT+QSSLCFG=\"seclevel\",0,1\r", "\r\nOK\r\n");
    h.chat(
        "AT+QSSLCFG=\"cacert\",0,\"/security/cacert.pem\"\r",
        "\r\nOK\r\n",
    );
    h.chat(
        "AT+QSSLCFG=\"cacert\",0\r",
        "\r\n+QSSLCFG: \"cacert\",0,\"/security/cacert.pem\"\r\n\r\nOK\r\n",
    );
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"ssltype\",2\r", "\r\nOK\r\n");
    let open = format!("AT+QFTPOPEN=\"127.0.0.1\",{}\r", v.addr.port());
    h.chat(&open, "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPOPEN: 0,0\r\n");
    h.chat("AT+QFTPCLOSE\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPCLOSE: 0,0\r\n");
    // The wrong CA, from another file of the folder: verification fails.
    h.chat(
        "AT+QSSLCFG=\"cacert\",0,\"UFS:security/other.pem\"\r",
        "\r\nOK\r\n",
    );
    h.chat(&open, "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPOPEN: 631,0\r\n");
}
