//! FTPS end to end through the PTY, as a host drives it: the embedded server with
//! `--ftp-tls` (explicit FTPS, CA placed in UFS), and vsftpd (explicit and implicit).

mod host;
mod support;

use bg95_emu::emulator::{ftps_setup_commands, FTPS_CA_UFS_NAME};
use bg95_emu::Emulator;
use host::Host;

fn fixture() -> Vec<u8> {
    (0..3000u32).map(|i| (i * 13 % 251) as u8).collect()
}

/// `--ftp-tls` out of the box: the three printed commands and a seclevel 1 open work at once.
#[test]
fn embedded_ftps_works_out_of_the_box() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("test.txt"), fixture()).unwrap();
    let emu = Emulator::builder()
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .ftp_root(root.path())
        .ftp_tls(true)
        .spawn()
        .unwrap();
    let ca = emu.ftp_ca_pem().expect("a CA").to_string();
    let port = emu.ftp_addr().unwrap().port();
    let mut h = Host::open(emu.tty_path());
    h.boot_echo_off();
    // The CA is in UFS under the printed name.
    h.chat(
        "AT+QFLST=\"*\"\r",
        &format!(
            "\r\n+QFLST: \"{FTPS_CA_UFS_NAME}\",{}\r\n\r\nOK\r\n",
            ca.len()
        ),
    );
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    for cmd in ftps_setup_commands() {
        h.chat(&format!("{cmd}\r"), "\r\nOK\r\n");
    }
    h.chat(&format!("AT+QFTPOPEN=\"127.0.0.1\",{port}\r"), "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPOPEN: 0,0\r\n");
    h.chat("AT+QFTPGET=\"test.txt\",\"COM:\"\r", "\r\nCONNECT\r\n");
    let data = h.read_exact(fixture().len());
    assert_eq!(data, fixture());
    h.expect(format!("\r\nOK\r\n\r\n+QFTPGET: 0,{}\r\n", fixture().len()).as_bytes());
    h.chat("AT+QFTPCLOSE\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPCLOSE: 0,0\r\n");
}

/// The embedded FTPS server refuses plain FTP logins (TLS is required).
#[test]
fn embedded_ftps_refuses_plain_login() {
    let root = tempfile::tempdir().unwrap();
    let emu = Emulator::builder()
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .ftp_root(root.path())
        .ftp_tls(true)
        .spawn()
        .unwrap();
    let port = emu.ftp_addr().unwrap().port();
    let mut h = Host::open(emu.tty_path());
    h.boot_echo_off();
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    h.chat(&format!("AT+QFTPOPEN=\"127.0.0.1\",{port}\r"), "\r\nOK\r\n");
    // libunftp answers USER on a plain control connection with `534 Policy requires
    // TLS`; 534 has no row of its own in the note's table (section 5): 601 unknown error,
    // with the server's code as <protocol_error>.
    h.expect(b"\r\n+QFTPOPEN: 601,534\r\n");
}

// ---- failures through the PTY ----------------------------------------------------------

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bg95_emu::pki::Pki;
use bg95_emu::server::{start_embedded_with, EmbeddedServer, ServerOptions, ServerTls};
use support::vsftpd::{Mode, Vsftpd};

/// An embedded FTPS server with a certificate of the test's choosing, on its own runtime.
struct TlsServer {
    addr: SocketAddr,
    _server: EmbeddedServer,
    _root: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

fn tls_server(pki: &Pki) -> TlsServer {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("test.txt"), fixture()).unwrap();
    let tls = ServerTls::from_pem(&pki.ca_pem, &pki.server).unwrap();
    let server = rt
        .block_on(start_embedded_with(
            "127.0.0.1:0".parse().unwrap(),
            root.path().to_path_buf(),
            ServerOptions {
                tls: Some(Arc::new(tls)),
                ..ServerOptions::default()
            },
        ))
        .unwrap();
    TlsServer {
        addr: server.local_addr(),
        _server: server,
        _root: root,
        _rt: rt,
    }
}

/// A module with `files` in UFS, booted, echo off, context 1 active, account set.
fn module_with(files: &[(&str, &str)]) -> (Emulator, Host, tempfile::TempDir) {
    let ufs = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(ufs.path().join(name), text).unwrap();
    }
    let emu = Emulator::builder().ufs_dir(ufs.path()).spawn().unwrap();
    let mut h = Host::open(emu.tty_path());
    h.boot_echo_off();
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    (emu, h, ufs)
}

/// Send the commands (each answered `OK`), then QFTPOPEN; returns the `+QFTPOPEN:` URC's
/// values, and how long it took.
fn open(h: &mut Host, host: &str, port: u16, cmds: &[&str]) -> (String, Duration) {
    for c in cmds {
        h.chat(&format!("{c}\r"), "\r\nOK\r\n");
    }
    let t0 = Instant::now();
    h.chat(&format!("AT+QFTPOPEN=\"{host}\",{port}\r"), "\r\nOK\r\n");
    let urc = h.read_until_within(b"\r\n+QFTPOPEN: ", Duration::from_secs(40));
    assert_eq!(urc, b"\r\n+QFTPOPEN: ");
    let rest = h.read_until(b"\r\n");
    let v = String::from_utf8_lossy(&rest[..rest.len() - 2]).to_string();
    (v, t0.elapsed())
}

/// After a failed open the module is idle and usable: a plain open to a good server works.
fn still_usable(h: &mut Host) {
    let good = tls_server(&Pki::generate("ok CA", &["127.0.0.1"]).unwrap());
    let (v, _) = open(
        h,
        "127.0.0.1",
        good.addr.port(),
        &[
            "AT+QFTPCFG=\"ssltype\",2",
            "AT+QSSLCFG=\"seclevel\",0,0",
            "AT+QSSLCFG=\"seclevel\",1,0",
        ],
    );
    assert_eq!(v, "0,0");
    h.chat("AT+QFTPCLOSE\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPCLOSE: 0,0\r\n");
}

const VERIFY: [&str; 3] = [
    "AT+QFTPCFG=\"ssltype\",2",
    "AT+QSSLCFG=\"cacert\",0,\"ca.pem\"",
    "AT+QSSLCFG=\"seclevel\",0,1",
];

#[test]
fn wrong_ca_is_631() {
    let pki = Pki::generate("server CA", &["127.0.0.1"]).unwrap();
    let other = Pki::generate("another CA", &["127.0.0.1"]).unwrap();
    let s = tls_server(&pki);
    let (_e, mut h, _u) = module_with(&[("ca.pem", &other.ca_pem)]);
    assert_eq!(open(&mut h, "127.0.0.1", s.addr.port(), &VERIFY).0, "631,0");
    still_usable(&mut h);
}

#[test]
fn missing_ca_file_with_seclevel_1_is_631() {
    let pki = Pki::generate("server CA", &["127.0.0.1"]).unwrap();
    let s = tls_server(&pki);
    let (_e, mut h, _u) = module_with(&[]);
    assert_eq!(open(&mut h, "127.0.0.1", s.addr.port(), &VERIFY).0, "631,0");
    still_usable(&mut h);
}

#[test]
fn expired_certificate_fails_with_ignorelocaltime_0_and_passes_with_1() {
    let pki = Pki::generate_with("server CA", &["127.0.0.1"], |p| {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    })
    .unwrap();
    let s = tls_server(&pki);
    let (_e, mut h, _u) = module_with(&[("ca.pem", &pki.ca_pem)]);
    let mut cmds = VERIFY.to_vec();
    cmds.push("AT+QSSLCFG=\"ignorelocaltime\",0,0");
    assert_eq!(open(&mut h, "127.0.0.1", s.addr.port(), &cmds).0, "631,0");
    // ignorelocaltime 1 (the default): validity dates are not checked. Data connections
    // use context 1 (seclevel 0 here).
    let (v, _) = open(
        &mut h,
        "127.0.0.1",
        s.addr.port(),
        &["AT+QSSLCFG=\"ignorelocaltime\",0,1"],
    );
    assert_eq!(v, "0,0");
    h.chat("AT+QFTPGET=\"test.txt\",\"COM:\"\r", "\r\nCONNECT\r\n");
    assert_eq!(h.read_exact(fixture().len()), fixture());
    h.expect(format!("\r\nOK\r\n\r\n+QFTPGET: 0,{}\r\n", fixture().len()).as_bytes());
}

#[test]
fn host_name_mismatch_fails_with_checkhost_1_and_passes_with_0() {
    // A certificate for localhost only; the module connects to 127.0.0.1.
    let pki = Pki::generate("server CA", &["localhost"]).unwrap();
    let s = tls_server(&pki);
    let (_e, mut h, _u) = module_with(&[("ca.pem", &pki.ca_pem)]);
    let mut cmds = VERIFY.to_vec();
    cmds.push("AT+QSSLCFG=\"checkhost\",0,1");
    assert_eq!(open(&mut h, "127.0.0.1", s.addr.port(), &cmds).0, "631,0");
    let (v, _) = open(
        &mut h,
        "127.0.0.1",
        s.addr.port(),
        &["AT+QSSLCFG=\"checkhost\",0,0"],
    );
    assert_eq!(v, "0,0");
    h.chat("AT+QFTPCLOSE\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPCLOSE: 0,0\r\n");
    // The same certificate passes checkhost when the module uses the name it was made for.
    let (v, _) = open(
        &mut h,
        "localhost",
        s.addr.port(),
        &["AT+QSSLCFG=\"checkhost\",0,1"],
    );
    assert_eq!(v, "0,0");
}

#[test]
fn client_certificate_required_fails_at_seclevel_1_and_works_at_2() {
    let v = Vsftpd::start_requiring_client_cert(Mode::Explicit);
    v.put("test.txt", &fixture());
    let c = v.certs.as_ref().unwrap();
    let (_e, mut h, _u) = module_with(&[
        ("ca.pem", &c.ca_pem),
        ("client.pem", &c.client_cert_pem),
        ("client.key", &c.client_key_pem),
    ]);
    assert_eq!(open(&mut h, "127.0.0.1", v.addr.port(), &VERIFY).0, "631,0");
    let level2 = [
        "AT+QSSLCFG=\"clientcert\",0,\"client.pem\"",
        "AT+QSSLCFG=\"clientkey\",0,\"client.key\"",
        "AT+QSSLCFG=\"seclevel\",0,2",
        "AT+QSSLCFG=\"cacert\",1,\"ca.pem\"",
        "AT+QSSLCFG=\"clientcert\",1,\"client.pem\"",
        "AT+QSSLCFG=\"clientkey\",1,\"client.key\"",
        "AT+QSSLCFG=\"seclevel\",1,2",
    ];
    assert_eq!(open(&mut h, "127.0.0.1", v.addr.port(), &level2).0, "0,0");
    h.chat("AT+QFTPGET=\"test.txt\",\"COM:\"\r", "\r\nCONNECT\r\n");
    assert_eq!(h.read_exact(fixture().len()), fixture());
    h.expect(format!("\r\nOK\r\n\r\n+QFTPGET: 0,{}\r\n", fixture().len()).as_bytes());
}

#[test]
fn tls_to_a_plain_server_is_631() {
    let v = Vsftpd::start(Mode::Plain);
    let (_e, mut h, _u) = module_with(&[]);
    // Explicit: the plain server refuses AUTH TLS (vsftpd: `530 Please login with USER and
    // PASS.`), reported with its code.
    let explicit = ["AT+QFTPCFG=\"ssltype\",2"];
    assert_eq!(
        open(&mut h, "127.0.0.1", v.addr.port(), &explicit).0,
        "631,530"
    );
    // Implicit: the server's plain banner is no TLS handshake.
    let implicit = ["AT+QFTPCFG=\"ssltype\",1"];
    assert_eq!(
        open(&mut h, "127.0.0.1", v.addr.port(), &implicit).0,
        "631,0"
    );
    still_usable(&mut h);
}

#[test]
fn plain_to_an_implicit_server_times_out_within_rsptimeout() {
    let v = Vsftpd::start(Mode::Implicit);
    let (_e, mut h, _u) = module_with(&[]);
    // The server waits for a ClientHello, the module for a banner: nothing moves until
    // rsptimeout (20 s, the smallest) ends the open.
    let (code, took) = open(
        &mut h,
        "127.0.0.1",
        v.addr.port(),
        &["AT+QFTPCFG=\"rsptimeout\",20"],
    );
    assert_eq!(code, "609,0");
    // Not a hang: the answer comes with rsptimeout (a generous bound, not a speed check).
    assert!(took < Duration::from_secs(40), "{took:?}");
    still_usable(&mut h);
}

#[test]
fn a_handshake_slower_than_negotiatetime_fails_with_631() {
    // A server that takes the TCP connection and never answers: an implicit FTPS client
    // waits for the handshake (a fault shape no real server here produces on purpose:
    // mock, as the project rules allow).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_secs(15));
        drop(s);
    });
    let (_e, mut h, _u) = module_with(&[]);
    let cmds = [
        "AT+QFTPCFG=\"ssltype\",1",
        "AT+QSSLCFG=\"negotiatetime\",0,10",
        "AT+QFTPCFG=\"rsptimeout\",60",
    ];
    let (code, took) = open(&mut h, "127.0.0.1", port, &cmds);
    assert_eq!(code, "631,0");
    // negotiatetime (10 s) ended it, not rsptimeout (60 s): generous bounds, no speed check.
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(40),
        "{took:?}"
    );
    hold.join().unwrap();
}

// ---- LIST and +++/ATO over FTPS, on each server ----------------------------------------

/// A server, the module pointed at it, and the server's root.
struct FtpsRig {
    host: Host,
    port: u16,
    ssltype: u8,
    root: std::path::PathBuf,
    _emu: Emulator,
    _keep: (Option<Vsftpd>, Vec<tempfile::TempDir>),
}

fn embedded_ftps_rig() -> FtpsRig {
    let root = tempfile::tempdir().unwrap();
    let emu = Emulator::builder()
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .ftp_root(root.path())
        .ftp_tls(true)
        .spawn()
        .unwrap();
    FtpsRig {
        host: Host::open(emu.tty_path()),
        port: emu.ftp_addr().unwrap().port(),
        ssltype: 2,
        root: root.path().to_path_buf(),
        _emu: emu,
        _keep: (None, vec![root]),
    }
}

fn vsftpd_rig(mode: Mode) -> FtpsRig {
    let v = Vsftpd::start(mode);
    let ufs = tempfile::tempdir().unwrap();
    std::fs::write(
        ufs.path().join(FTPS_CA_UFS_NAME),
        &v.certs.as_ref().unwrap().ca_pem,
    )
    .unwrap();
    let emu = Emulator::builder().ufs_dir(ufs.path()).spawn().unwrap();
    FtpsRig {
        host: Host::open(emu.tty_path()),
        port: v.addr.port(),
        ssltype: if mode == Mode::Implicit { 1 } else { 2 },
        root: v.root.clone(),
        _emu: emu,
        _keep: (Some(v), vec![ufs]),
    }
}

/// A guard time and a bit (S12 = 50 → 1 s).
const GUARD: Duration = Duration::from_millis(1200);

fn list_and_pause_resume(mut rig: FtpsRig) {
    let size = 4 * 1024 * 1024;
    let big: Vec<u8> = (0..size as u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(rig.root.join("big.bin"), &big).unwrap();
    std::fs::set_permissions(
        rig.root.join("big.bin"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let h = &mut rig.host;
    h.boot_echo_off();
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    let ssltype = format!("AT+QFTPCFG=\"ssltype\",{}", rig.ssltype);
    let mut cmds = vec![ssltype.as_str()];
    let verify: Vec<String> = [0, 1]
        .iter()
        .flat_map(|c| {
            [
                format!("AT+QSSLCFG=\"cacert\",{c},\"{FTPS_CA_UFS_NAME}\""),
                format!("AT+QSSLCFG=\"seclevel\",{c},1"),
            ]
        })
        .collect();
    cmds.extend(verify.iter().map(String::as_str));
    assert_eq!(open(h, "127.0.0.1", rig.port, &cmds).0, "0,0");

    // LIST to COM: over TLS.
    h.chat("AT+QFTPLIST=\".\",\"COM:\"\r", "\r\nCONNECT\r\n");
    let listing = h.read_until(b"\r\nOK\r\n\r\n+QFTPLIST: 0,");
    let n = h.read_until(b"\r\n");
    let text = String::from_utf8_lossy(&listing).to_string();
    assert!(text.contains("big.bin"), "{text}");
    let count: usize = String::from_utf8_lossy(&n[..n.len() - 2]).parse().unwrap();
    assert_eq!(count, listing.len() - "\r\nOK\r\n\r\n+QFTPLIST: 0,".len());

    // +++ pauses the TLS download, ATO resumes it, no byte lost.
    h.chat("AT+QFTPGET=\"big.bin\",\"COM:\"\r", "\r\nCONNECT\r\n");
    let mut got = h.read_exact(1000);
    h.set_reading(false);
    std::thread::sleep(GUARD);
    h.send(b"+++");
    std::thread::sleep(GUARD);
    h.set_reading(true);
    let before_ok = h.read_until(b"\r\nOK\r\n");
    got.extend_from_slice(&before_ok[..before_ok.len() - 6]);
    assert!(got.len() < size, "the whole file arrived before the pause");
    h.chat("AT+QFTPSTAT\r", "\r\nOK\r\n\r\n+QFTPSTAT: 0,2\r\n");
    h.chat("ATO\r", "\r\nCONNECT\r\n");
    let tail = format!("\r\nOK\r\n\r\n+QFTPGET: 0,{size}\r\n");
    let rest = h.read_until(tail.as_bytes());
    got.extend_from_slice(&rest[..rest.len() - tail.len()]);
    assert!(got == big, "downloaded bytes differ");
    h.chat("AT+QFTPCLOSE\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPCLOSE: 0,0\r\n");
}

#[test]
fn list_and_pause_resume_embedded_ftps() {
    list_and_pause_resume(embedded_ftps_rig());
}

#[test]
fn list_and_pause_resume_vsftpd_explicit() {
    list_and_pause_resume(vsftpd_rig(Mode::Explicit));
}

#[test]
fn list_and_pause_resume_vsftpd_implicit() {
    list_and_pause_resume(vsftpd_rig(Mode::Implicit));
}

#[test]
fn validity_dates_are_checked_against_the_module_clock() {
    // Valid only in 2000: expired by the host's clock, current by a module set to 2000.
    let pki = Pki::generate_with("server CA", &["127.0.0.1"], |p| {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2000, 12, 31);
    })
    .unwrap();
    let s = tls_server(&pki);
    let (_e, mut h, _u) = module_with(&[("ca.pem", &pki.ca_pem)]);
    let mut cmds = VERIFY.to_vec();
    cmds.push("AT+QSSLCFG=\"ignorelocaltime\",0,0");
    assert_eq!(open(&mut h, "127.0.0.1", s.addr.port(), &cmds).0, "631,0");
    h.chat("AT+CCLK=\"00/06/01,12:00:00+00\"\r", "\r\nOK\r\n");
    assert_eq!(open(&mut h, "127.0.0.1", s.addr.port(), &[]).0, "0,0");
    h.chat("AT+QFTPCLOSE\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPCLOSE: 0,0\r\n");
    // And a module clock past the certificate's end fails it again.
    h.chat("AT+CCLK=\"01/06/01,12:00:00+00\"\r", "\r\nOK\r\n");
    assert_eq!(open(&mut h, "127.0.0.1", s.addr.port(), &[]).0, "631,0");
}

#[test]
fn control_and_data_use_their_own_ssl_contexts() {
    let v = Vsftpd::start(Mode::Explicit);
    v.put("test.txt", &fixture());
    let ca = v.certs.as_ref().unwrap().ca_pem.clone();
    let other = Pki::generate("another CA", &["127.0.0.1"]).unwrap();
    let (_e, mut h, _u) = module_with(&[("ca.pem", &ca), ("other.pem", &other.ca_pem)]);
    // Context 0 (control) trusts the server's CA; context 1 (data) trusts another CA: the
    // login works, the data connection's handshake fails.
    let mut cmds = VERIFY.to_vec();
    cmds.extend([
        "AT+QSSLCFG=\"cacert\",1,\"other.pem\"",
        "AT+QSSLCFG=\"seclevel\",1,1",
    ]);
    assert_eq!(open(&mut h, "127.0.0.1", v.addr.port(), &cmds).0, "0,0");
    // vsftpd closes the control connection when a data connection's TLS fails: the module
    // reports the lost control connection before CONNECT.
    h.chat(
        "AT+QFTPGET=\"test.txt\",\"COM:\"\r",
        "\r\n+CME ERROR: 606\r\n",
    );
    h.chat("AT+QFTPSTAT\r", "\r\nOK\r\n\r\n+QFTPSTAT: 0,4\r\n");
    // Context 1 trusting the server's CA: the same transfer works.
    let fix = ["AT+QSSLCFG=\"cacert\",1,\"ca.pem\""];
    assert_eq!(open(&mut h, "127.0.0.1", v.addr.port(), &fix).0, "0,0");
    h.chat("AT+QFTPGET=\"test.txt\",\"COM:\"\r", "\r\nCONNECT\r\n");
    assert_eq!(h.read_exact(fixture().len()), fixture());
    h.expect(format!("\r\nOK\r\n\r\n+QFTPGET: 0,{}\r\n", fixture().len()).as_bytes());
}

/// The server name the module's ClientHello carries (`None`: no SNI), seen by a TLS server
/// that only records it (a mock: neither vsftpd nor libunftp tells which name was asked for).
fn sni_seen(sni: u8) -> Option<String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let pki = Pki::generate("sni CA", &["localhost"]).unwrap();
    let certs = vec![CertificateDer::from_pem_slice(pki.server.cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(pki.server.key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let seen = rt.spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.ok()?;
        tls.get_ref().1.server_name().map(str::to_string)
    });
    let (_e, mut h, _u) = module_with(&[]);
    let sni_cmd = format!("AT+QSSLCFG=\"sni\",0,{sni}");
    let cmds = [
        "AT+QFTPCFG=\"ssltype\",1",
        "AT+QFTPCFG=\"rsptimeout\",20",
        &sni_cmd,
    ];
    // The mock answers no FTP: the open ends when it hangs up or at rsptimeout.
    let _ = open(&mut h, "localhost", port, &cmds);
    rt.block_on(seen).unwrap()
}

#[test]
fn sni_is_sent_only_when_enabled() {
    assert_eq!(sni_seen(1).as_deref(), Some("localhost"));
    assert_eq!(sni_seen(0), None);
}

/// A module pointed at an RSA vsftpd, seclevel 0 on both contexts and `cmds` sent; the
/// `+QFTPOPEN:` values.
fn open_rsa_vsftpd(h: &mut Host, v: &Vsftpd, cmds: &[&str]) -> String {
    let mut all = vec![
        "AT+QFTPCFG=\"ssltype\",2",
        "AT+QSSLCFG=\"seclevel\",0,0",
        "AT+QSSLCFG=\"seclevel\",1,0",
    ];
    all.extend_from_slice(cmds);
    open(h, "127.0.0.1", v.addr.port(), &all).0
}

/// The vsftpd log lines naming a TLS connection's cipher, after the first `from` bytes.
fn ciphers_logged(v: &Vsftpd, from: usize) -> Vec<String> {
    let log = v.log();
    log.get(from..)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split("SSL cipher: ").nth(1))
        .map(|rest| rest.split(',').next().unwrap_or_default().to_string())
        .collect()
}

/// The suite a host selects is the one negotiated with a real server: vsftpd (OpenSSL,
/// `ssl_ciphers=HIGH`, an RSA certificate) logs the cipher of each TLS connection.
/// 0XC02F is negotiated on the control and the data connection (each context set); with
/// 0XFFFF the server picks another (TLS 1.3); codes rustls cannot run end in 631, whether
/// vsftpd has them (0X0035, 0XC013: vsftpd picks them, the emulator cannot go on) or not
/// (0X0005, RC4), and the module stays usable.
#[test]
fn the_selected_cipher_suite_is_negotiated_with_vsftpd() {
    let v = Vsftpd::start_rsa(Mode::Explicit);
    v.put("test.txt", &fixture());
    let (_e, mut h, _u) = module_with(&[]);
    let c02f = [
        "AT+QSSLCFG=\"ciphersuite\",0,0xc02f",
        "AT+QSSLCFG=\"ciphersuite\",1,0XC02F",
    ];
    assert_eq!(open_rsa_vsftpd(&mut h, &v, &c02f), "0,0");
    h.chat("AT+QFTPGET=\"test.txt\",\"COM:\"\r", "\r\nCONNECT\r\n");
    assert_eq!(h.read_exact(fixture().len()), fixture());
    h.expect(format!("\r\nOK\r\n\r\n+QFTPGET: 0,{}\r\n", fixture().len()).as_bytes());
    h.chat("AT+QFTPCLOSE\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPCLOSE: 0,0\r\n");
    let gcm = "ECDHE-RSA-AES128-GCM-SHA256".to_string();
    assert_eq!(
        ciphers_logged(&v, 0),
        vec![gcm.clone(), gcm.clone()],
        "{}",
        v.log()
    );

    let from = v.log().len();
    let all = ["AT+QSSLCFG=\"ciphersuite\",0,0XFFFF"];
    assert_eq!(open_rsa_vsftpd(&mut h, &v, &all), "0,0");
    h.chat("AT+QFTPCLOSE\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPCLOSE: 0,0\r\n");
    let other = ciphers_logged(&v, from);
    assert_eq!(other.len(), 1, "{}", v.log());
    assert_ne!(other[0], gcm);

    for code in ["0X0035", "0xc013", "0X0005"] {
        let from = v.log().len();
        let cmd = format!("AT+QSSLCFG=\"ciphersuite\",0,{code}");
        assert_eq!(open_rsa_vsftpd(&mut h, &v, &[&cmd]), "631,0", "{code}");
        assert!(ciphers_logged(&v, from).is_empty(), "{code}: {}", v.log());
        h.chat("AT+QFTPSTAT\r", "\r\nOK\r\n\r\n+QFTPSTAT: 0,4\r\n");
    }
    assert_eq!(open_rsa_vsftpd(&mut h, &v, &c02f), "0,0");
}

/// The embedded FTPS server's certificate is ECDSA (rcgen on ring makes no RSA keys), so the
/// one ECDHE_RSA suite rustls runs, 0XC02F, finds no certificate there: 631, as a module
/// selecting a suite the server cannot serve; 0XFFFF works (docs/ftp.md).
#[test]
fn embedded_ftps_serves_no_rsa_suite() {
    let s = tls_server(&Pki::generate("ecdsa CA", &["127.0.0.1"]).unwrap());
    let (_e, mut h, _u) = module_with(&[]);
    let base = [
        "AT+QFTPCFG=\"ssltype\",2",
        "AT+QSSLCFG=\"seclevel\",0,0",
        "AT+QSSLCFG=\"seclevel\",1,0",
    ];
    let mut c02f = base.to_vec();
    c02f.push("AT+QSSLCFG=\"ciphersuite\",0,0XC02F");
    assert_eq!(open(&mut h, "127.0.0.1", s.addr.port(), &c02f).0, "631,0");
    let all = ["AT+QSSLCFG=\"ciphersuite\",0,0XFFFF"];
    assert_eq!(open(&mut h, "127.0.0.1", s.addr.port(), &all).0, "0,0");
}
