//! The FTP driver against real servers it starts itself on 127.0.0.1: the embedded libunftp
//! server and vsftpd (plain, explicit and implicit FTPS), plus tiny mock servers for fault
//! shapes real servers do not produce on demand (a data connection reset mid-transfer, a
//! control connection dropped while a reply is awaited, a data source that never stops for
//! the backpressure measurement).
//!
//! No timing assertions: `WAIT` is only a safety net that turns a hang into a failure.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bg95_core::ftp::{
    DownloadSource, Failure, FailureKind, FtpEvent, FtpRequest, OpenParams, Reply, Security,
    TlsSettings,
};
use bg95_emu::ftp::{DriverConfig, FtpDriver, CHUNK};
use bg95_emu::server::{start_embedded, EmbeddedServer};
use support::vsftpd::{self, Mode, Options, Vsftpd};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------
// Client side helpers

struct Client {
    d: FtpDriver,
}

/// `RUST_LOG=bg95::ftp=debug` shows the driver's protocol trace in failing tests.
fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

impl Client {
    fn new() -> Client {
        init_tracing();
        Client {
            d: FtpDriver::spawn(),
        }
    }

    fn with(config: DriverConfig) -> Client {
        init_tracing();
        Client {
            d: FtpDriver::spawn_with(config),
        }
    }

    async fn send(&self, req: FtpRequest) {
        self.d.requests.send(req).await.expect("driver alive");
    }

    async fn event(&mut self) -> FtpEvent {
        tokio::time::timeout(WAIT, self.d.events.recv())
            .await
            .expect("driver event (safety net)")
            .expect("driver alive")
    }

    async fn done(&mut self) -> Result<Reply, Failure> {
        match self.event().await {
            FtpEvent::Done(r) => r,
            other => panic!("expected Done, got {other:?}"),
        }
    }

    async fn call(&mut self, req: FtpRequest) -> Result<Reply, Failure> {
        self.send(req).await;
        self.done().await
    }

    async fn open(&mut self, p: OpenParams) -> Result<Reply, Failure> {
        self.call(FtpRequest::Open(p)).await
    }

    /// (DataReady seen, bytes, outcome)
    async fn download(
        &mut self,
        source: DownloadSource,
        offset: u64,
        limit: Option<u64>,
    ) -> (bool, Vec<u8>, Result<Reply, Failure>) {
        self.send(FtpRequest::Download {
            source,
            offset,
            limit,
        })
        .await;
        let mut ready = false;
        let mut data = Vec::new();
        loop {
            match self.event().await {
                FtpEvent::DataReady => {
                    assert!(!ready, "DataReady twice");
                    ready = true;
                }
                FtpEvent::Data(bytes) => {
                    assert!(ready, "Data before DataReady");
                    assert!(
                        !bytes.is_empty() && bytes.len() <= CHUNK,
                        "chunk of {} bytes",
                        bytes.len()
                    );
                    data.extend_from_slice(&bytes);
                }
                FtpEvent::Done(r) => return (ready, data, r),
                other => panic!("{other:?} during a download"),
            }
        }
    }

    async fn get(&mut self, name: &str, offset: u64, limit: Option<u64>) -> Vec<u8> {
        let (ready, data, r) = self
            .download(DownloadSource::File(name.into()), offset, limit)
            .await;
        assert!(ready);
        // Stopped at its limit, the download may end with the server's 426/451 for the
        // early close: the driver reports it as it is, the core counts it as success.
        let early_close = limit.is_some() && matches!(r, Err(f) if f.is_early_close_reply());
        assert!(
            r == Ok(Reply::Ok) || early_close,
            "download {name} offset {offset} limit {limit:?}: {r:?}"
        );
        data
    }

    async fn listing(&mut self, source: DownloadSource) -> Result<String, Failure> {
        let (_, data, r) = self.download(source, 0, None).await;
        r.map(|_| String::from_utf8_lossy(&data).into_owned())
    }

    async fn upload(
        &mut self,
        name: &str,
        offset: u64,
        append: bool,
        chunks: &[&[u8]],
    ) -> Result<Reply, Failure> {
        self.send(FtpRequest::Upload {
            name: name.into(),
            offset,
            append,
        })
        .await;
        match self.event().await {
            FtpEvent::DataReady => {}
            FtpEvent::Done(r) => return r,
            other => panic!("expected DataReady, got {other:?}"),
        }
        for chunk in chunks {
            self.send(FtpRequest::UploadData(chunk.to_vec())).await;
        }
        self.call(FtpRequest::UploadEnd { close: true }).await
    }
}

fn params(addr: SocketAddr, passive: bool) -> OpenParams {
    OpenParams {
        host: addr.ip().to_string(),
        port: addr.port(),
        user: "test".into(),
        password: "test".into(),
        binary: true,
        passive,
        data_to_control_address: false,
        security: Security::Plain,
    }
}

fn reply_failure(code: u16) -> Result<Reply, Failure> {
    Err(Failure::new(FailureKind::Reply, code))
}

/// Every byte value, in an order that is not aligned with offsets or chunks.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i % 256) ^ ((i / 256) % 256)) as u8)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Servers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unftp,
    Vsftpd,
}

#[allow(dead_code)]
enum Guard {
    Unftp(EmbeddedServer, tempfile::TempDir),
    Vsftpd(Box<Vsftpd>),
}

struct TestServer {
    kind: Kind,
    addr: SocketAddr,
    root: PathBuf,
    guard: Guard,
}

impl TestServer {
    async fn unftp() -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        let server = start_embedded("127.0.0.1:0".parse().unwrap(), root.clone())
            .await
            .expect("embedded server");
        TestServer {
            kind: Kind::Unftp,
            addr: server.local_addr(),
            root,
            guard: Guard::Unftp(server, dir),
        }
    }

    fn vsftpd_with(options: Options) -> TestServer {
        assert!(
            vsftpd::available(),
            "vsftpd tests need root and vsftpd installed (apt-get install -y vsftpd)"
        );
        TestServer::from_vsftpd(Vsftpd::start_with(options))
    }

    fn from_vsftpd(server: Vsftpd) -> TestServer {
        TestServer {
            kind: Kind::Vsftpd,
            addr: server.addr,
            root: server.root.clone(),
            guard: Guard::Vsftpd(Box::new(server)),
        }
    }

    fn vsftpd(mode: Mode) -> TestServer {
        TestServer::vsftpd_with(Options::new(mode))
    }

    fn put(&self, name: &str, bytes: &[u8]) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.root.join(name);
        std::fs::write(&path, bytes).expect("write fixture");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.root.join(name)).expect("read back")
    }

    fn vsftpd_certs(&self) -> &support::certs::TestCerts {
        match &self.guard {
            Guard::Vsftpd(v) => v.certs.as_ref().expect("FTPS instance"),
            Guard::Unftp(..) => panic!("no certificates"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios run against both servers

async fn scenario_commands(s: &TestServer) {
    let mut c = Client::new();
    assert_eq!(c.open(params(s.addr, true)).await, Ok(Reply::Ok));
    assert_eq!(c.call(FtpRequest::Pwd).await, Ok(Reply::Path("/".into())));
    assert_eq!(
        c.call(FtpRequest::Mkdir("dir1".into())).await,
        Ok(Reply::Ok)
    );
    assert_eq!(c.call(FtpRequest::Cwd("dir1".into())).await, Ok(Reply::Ok));
    assert_eq!(
        c.call(FtpRequest::Pwd).await,
        Ok(Reply::Path("/dir1".into()))
    );
    assert_eq!(c.call(FtpRequest::Cwd("/".into())).await, Ok(Reply::Ok));
    assert_eq!(
        c.call(FtpRequest::Cwd("nowhere".into())).await,
        reply_failure(550)
    );

    s.put("a.txt", b"hello world");
    assert_eq!(
        c.call(FtpRequest::Size("a.txt".into())).await,
        Ok(Reply::Size(11))
    );
    match c.call(FtpRequest::Mdtm("a.txt".into())).await {
        Ok(Reply::Time(t)) => {
            assert!(
                t.len() >= 14 && t.as_bytes()[..14].iter().all(u8::is_ascii_digit),
                "MDTM {t:?}"
            );
        }
        other => panic!("MDTM: {other:?}"),
    }
    assert_eq!(
        c.call(FtpRequest::Mdtm("missing.txt".into())).await,
        reply_failure(550)
    );
    assert_eq!(
        c.call(FtpRequest::Rename {
            from: "a.txt".into(),
            to: "b.txt".into()
        })
        .await,
        Ok(Reply::Ok)
    );
    assert_eq!(
        c.call(FtpRequest::Size("a.txt".into())).await,
        reply_failure(550)
    );
    assert_eq!(
        c.call(FtpRequest::Size("b.txt".into())).await,
        Ok(Reply::Size(11))
    );
    assert_eq!(
        c.call(FtpRequest::Delete("b.txt".into())).await,
        Ok(Reply::Ok)
    );
    assert_eq!(
        c.call(FtpRequest::Delete("b.txt".into())).await,
        reply_failure(550)
    );
    assert_eq!(
        c.call(FtpRequest::Rmdir("dir1".into())).await,
        Ok(Reply::Ok)
    );
    assert!(!s.root.join("dir1").exists());
    assert_eq!(c.call(FtpRequest::Close).await, Ok(Reply::Ok));
    // The session is gone: the next command reports the closed control connection.
    assert_eq!(
        c.call(FtpRequest::Pwd).await,
        Err(Failure::new(FailureKind::ControlClosed, 0))
    );
    assert_eq!(
        c.call(FtpRequest::Close).await,
        Err(Failure::new(FailureKind::ControlClosed, 0))
    );
}

async fn scenario_login_failure(s: &TestServer) {
    let mut c = Client::new();
    let mut p = params(s.addr, true);
    p.password = "wrong".into();
    assert_eq!(c.open(p).await, reply_failure(530));
    let mut p = params(s.addr, true);
    p.user = "nobody".into();
    assert_eq!(c.open(p).await, reply_failure(530));
    // The driver is still usable.
    assert_eq!(c.open(params(s.addr, true)).await, Ok(Reply::Ok));
}

async fn scenario_download(s: &TestServer, passive: bool) {
    let file = pattern(100_003);
    s.put("bin.dat", &file);
    let mut c = Client::new();
    assert_eq!(c.open(params(s.addr, passive)).await, Ok(Reply::Ok));
    assert_eq!(c.get("bin.dat", 0, None).await, file);
    assert_eq!(c.get("bin.dat", 12_345, None).await, &file[12_345..]);
    assert_eq!(
        c.get("bin.dat", 1000, Some(40_000)).await,
        &file[1000..41_000]
    );
    assert_eq!(c.get("bin.dat", 0, Some(10)).await, &file[..10]);
    assert_eq!(c.get("bin.dat", 0, Some(10_000_000)).await, file);
    // After early closes the control connection is still in step.
    assert_eq!(
        c.call(FtpRequest::Size("bin.dat".into())).await,
        Ok(Reply::Size(100_003))
    );
    let (ready, data, r) = c
        .download(DownloadSource::File("missing.dat".into()), 0, None)
        .await;
    // vsftpd refuses RETR at once; libunftp answers 150, opens the data connection and
    // only then reports 550 (so DataReady comes first).
    assert_eq!(ready, s.kind == Kind::Unftp);
    assert!(data.is_empty());
    assert_eq!(r, reply_failure(550));
    // Text mode does not alter what is downloaded here (no CR/LF in the name listing test),
    // but binary is what the module uses for files; keep the session usable.
    assert_eq!(c.call(FtpRequest::Pwd).await, Ok(Reply::Path("/".into())));
    assert_eq!(c.call(FtpRequest::Close).await, Ok(Reply::Ok));
}

async fn scenario_listings(s: &TestServer, passive: bool) {
    s.put("one.txt", b"1");
    std::fs::create_dir_all(s.root.join("sub")).unwrap();
    s.put("sub/two.txt", b"22");
    let mut c = Client::new();
    assert_eq!(c.open(params(s.addr, passive)).await, Ok(Reply::Ok));
    let list = c
        .listing(DownloadSource::List(String::new()))
        .await
        .expect("LIST");
    assert!(
        list.contains("one.txt") && list.contains("sub"),
        "LIST: {list:?}"
    );
    let nlst = c
        .listing(DownloadSource::Nlst(String::new()))
        .await
        .expect("NLST");
    assert!(
        nlst.lines().any(|l| l.trim_end().ends_with("one.txt")),
        "NLST: {nlst:?}"
    );
    let sub = c
        .listing(DownloadSource::List("sub".into()))
        .await
        .expect("LIST sub");
    assert!(sub.contains("two.txt"), "LIST sub: {sub:?}");
    match s.kind {
        Kind::Unftp => {
            let mlsd = c
                .listing(DownloadSource::Mlsd(String::new()))
                .await
                .expect("MLSD");
            assert!(mlsd.contains("one.txt"), "MLSD: {mlsd:?}");
        }
        Kind::Vsftpd => {
            let (ready, _, r) = c
                .download(DownloadSource::Mlsd(String::new()), 0, None)
                .await;
            assert!(!ready);
            assert_eq!(r, reply_failure(500));
        }
    }
    assert_eq!(c.call(FtpRequest::Close).await, Ok(Reply::Ok));
}

async fn scenario_upload(s: &TestServer, passive: bool) {
    let mut c = Client::new();
    assert_eq!(c.open(params(s.addr, passive)).await, Ok(Reply::Ok));
    assert_eq!(
        c.upload("up.dat", 0, false, &[b"0123456789"]).await,
        Ok(Reply::Ok)
    );
    assert_eq!(s.read("up.dat"), b"0123456789");
    // REST 4 + STOR: the servers differ.
    assert_eq!(c.upload("up.dat", 4, false, &[b"ab"]).await, Ok(Reply::Ok));
    match s.kind {
        Kind::Unftp => assert_eq!(s.read("up.dat"), b"0123ab", "libunftp truncates at REST"),
        Kind::Vsftpd => assert_eq!(
            s.read("up.dat"),
            b"0123ab6789",
            "vsftpd overwrites in place"
        ),
    }
    let before = s.read("up.dat");
    assert_eq!(c.upload("up.dat", 0, true, &[b"XY"]).await, Ok(Reply::Ok));
    assert_eq!(s.read("up.dat"), [before.as_slice(), b"XY"].concat());

    // Binary safety, several chunks.
    let file = pattern(70_001);
    let chunks: Vec<&[u8]> = file.chunks(7000).collect();
    assert_eq!(c.upload("bin.up", 0, false, &chunks).await, Ok(Reply::Ok));
    assert_eq!(s.read("bin.up"), file);

    // beof=0: one file over two QFTPPUTs.
    c.send(FtpRequest::Upload {
        name: "cont.dat".into(),
        offset: 0,
        append: false,
    })
    .await;
    assert_eq!(c.event().await, FtpEvent::DataReady);
    c.send(FtpRequest::UploadData(b"abc".to_vec())).await;
    assert_eq!(
        c.call(FtpRequest::UploadEnd { close: false }).await,
        Ok(Reply::Ok)
    );
    c.send(FtpRequest::UploadData(b"def".to_vec())).await;
    c.send(FtpRequest::UploadData(b"ghi".to_vec())).await;
    assert_eq!(
        c.call(FtpRequest::UploadEnd { close: true }).await,
        Ok(Reply::Ok)
    );
    assert_eq!(s.read("cont.dat"), b"abcdefghi");

    // A kept-open upload ends silently before the next unrelated request.
    c.send(FtpRequest::Upload {
        name: "kept.dat".into(),
        offset: 0,
        append: false,
    })
    .await;
    assert_eq!(c.event().await, FtpEvent::DataReady);
    c.send(FtpRequest::UploadData(b"xyz".to_vec())).await;
    assert_eq!(
        c.call(FtpRequest::UploadEnd { close: false }).await,
        Ok(Reply::Ok)
    );
    assert_eq!(
        c.call(FtpRequest::Size("kept.dat".into())).await,
        Ok(Reply::Size(3))
    );
    assert_eq!(s.read("kept.dat"), b"xyz");

    // Upload into a directory that does not exist: libunftp 550, vsftpd 553.
    let code = match s.kind {
        Kind::Unftp => 550,
        Kind::Vsftpd => 553,
    };
    assert_eq!(
        c.upload("no/such/dir.dat", 0, false, &[b"x"]).await,
        reply_failure(code)
    );
    assert_eq!(c.call(FtpRequest::Close).await, Ok(Reply::Ok));
}

async fn scenario_abort(s: &TestServer) {
    s.put("big.dat", &pattern(4 << 20));
    let mut c = Client::new();
    assert_eq!(c.open(params(s.addr, true)).await, Ok(Reply::Ok));
    c.send(FtpRequest::Download {
        source: DownloadSource::File("big.dat".into()),
        offset: 0,
        limit: None,
    })
    .await;
    assert_eq!(c.event().await, FtpEvent::DataReady);
    assert!(matches!(c.event().await, FtpEvent::Data(_)));
    c.send(FtpRequest::Abort).await;
    // Chunks already queued may come first, then the Aborted marker, and nothing else.
    loop {
        match c.event().await {
            FtpEvent::Data(_) => continue,
            FtpEvent::Aborted => break,
            other => panic!("after Abort: {other:?}"),
        }
    }
    assert_eq!(c.open(params(s.addr, true)).await, Ok(Reply::Ok));
    assert_eq!(c.call(FtpRequest::Pwd).await, Ok(Reply::Path("/".into())));
    assert_eq!(
        c.get("big.dat", (4 << 20) - 5, None).await,
        &pattern(4 << 20)[(4 << 20) - 5..]
    );
    // Abort while idle: answered too, and the session is gone.
    c.send(FtpRequest::Abort).await;
    assert_eq!(c.event().await, FtpEvent::Aborted);
    assert_eq!(
        c.call(FtpRequest::Pwd).await,
        Err(Failure::new(FailureKind::ControlClosed, 0))
    );
}

// ---------------------------------------------------------------------------------------
// Embedded libunftp

#[tokio::test]
async fn unftp_commands() {
    scenario_commands(&TestServer::unftp().await).await;
}

#[tokio::test]
async fn unftp_login_failure() {
    scenario_login_failure(&TestServer::unftp().await).await;
}

#[tokio::test]
async fn unftp_download_passive() {
    scenario_download(&TestServer::unftp().await, true).await;
}

#[tokio::test]
async fn unftp_listings() {
    scenario_listings(&TestServer::unftp().await, true).await;
}

#[tokio::test]
async fn unftp_upload() {
    scenario_upload(&TestServer::unftp().await, true).await;
}

#[tokio::test]
async fn unftp_abort_mid_download() {
    scenario_abort(&TestServer::unftp().await).await;
}

#[tokio::test]
async fn unftp_active_mode_is_refused() {
    let s = TestServer::unftp().await;
    s.put("f", b"x");
    let mut c = Client::new();
    assert_eq!(c.open(params(s.addr, false)).await, Ok(Reply::Ok));
    let (ready, _, r) = c.download(DownloadSource::File("f".into()), 0, None).await;
    assert!(!ready);
    assert_eq!(r, Err(Failure::new(FailureKind::DataOpen, 502)));
    // Still in step.
    assert_eq!(
        c.call(FtpRequest::Size("f".into())).await,
        Ok(Reply::Size(1))
    );
}

#[tokio::test]
async fn unftp_data_to_control_address() {
    let s = TestServer::unftp().await;
    s.put("f", b"hello");
    let mut c = Client::new();
    let mut p = params(s.addr, true);
    p.data_to_control_address = true;
    assert_eq!(c.open(p).await, Ok(Reply::Ok));
    assert_eq!(c.get("f", 0, None).await, b"hello");
}

// ---------------------------------------------------------------------------------------
// vsftpd, plain

#[tokio::test]
async fn vsftpd_commands() {
    scenario_commands(&TestServer::vsftpd(Mode::Plain)).await;
}

#[tokio::test]
async fn vsftpd_login_failure() {
    scenario_login_failure(&TestServer::vsftpd(Mode::Plain)).await;
}

#[tokio::test]
async fn vsftpd_download_passive() {
    scenario_download(&TestServer::vsftpd(Mode::Plain), true).await;
}

#[tokio::test]
async fn vsftpd_download_active() {
    scenario_download(&TestServer::vsftpd(Mode::Plain), false).await;
}

#[tokio::test]
async fn vsftpd_listings_passive_and_active() {
    let s = TestServer::vsftpd(Mode::Plain);
    scenario_listings(&s, true).await;
    scenario_listings(&s, false).await;
}

#[tokio::test]
async fn vsftpd_upload_passive() {
    scenario_upload(&TestServer::vsftpd(Mode::Plain), true).await;
}

#[tokio::test]
async fn vsftpd_upload_active() {
    scenario_upload(&TestServer::vsftpd(Mode::Plain), false).await;
}

#[tokio::test]
async fn vsftpd_abort_mid_download() {
    scenario_abort(&TestServer::vsftpd(Mode::Plain)).await;
}

#[tokio::test]
async fn vsftpd_idle_timeout_closes_control() {
    // vsftpd sends `421 Timeout.` and closes the control connection after
    // idle_session_timeout: a real server closing an idle session.
    let s = TestServer::vsftpd_with(Options {
        idle_timeout: Some(1),
        ..Options::new(Mode::Plain)
    });
    let mut c = Client::new();
    assert_eq!(c.open(params(s.addr, true)).await, Ok(Reply::Ok));
    assert_eq!(c.event().await, FtpEvent::ControlClosed);
    assert_eq!(
        c.call(FtpRequest::Pwd).await,
        Err(Failure::new(FailureKind::ControlClosed, 0))
    );
}

// ---------------------------------------------------------------------------------------
// Connection failures (no server)

#[tokio::test]
async fn unresolvable_host() {
    let mut c = Client::new();
    let mut p = params("127.0.0.1:21".parse().unwrap(), true);
    p.host = "bg95-emu-test.invalid".into();
    assert_eq!(c.open(p).await, Err(Failure::new(FailureKind::Resolve, 0)));
}

#[tokio::test]
async fn refused_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = Client::new();
    assert_eq!(
        c.open(params(SocketAddr::from(([127, 0, 0, 1], port)), true))
            .await,
        Err(Failure::new(FailureKind::Refused, 0))
    );
}

// ---------------------------------------------------------------------------------------
// FTPS against vsftpd

fn tls(seclevel: u8, ca: Option<&str>) -> TlsSettings {
    TlsSettings {
        seclevel,
        sslversion: 4,
        ca_pem: ca.map(|c| c.as_bytes().to_vec()),
        client_cert_pem: None,
        client_key_pem: None,
        ciphersuite: 0xFFFF,
        sni: true,
        check_host: true,
        check_time: true,
        negotiate_secs: 30,
        module_time_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    }
}

fn secure(addr: SocketAddr, mode: Mode, settings: TlsSettings) -> OpenParams {
    let mut p = params(addr, true);
    p.security = match mode {
        Mode::Explicit => Security::Explicit {
            control: settings.clone(),
            data: settings,
        },
        Mode::Implicit => Security::Implicit {
            control: settings.clone(),
            data: settings,
        },
        Mode::Plain => Security::Plain,
    };
    p
}

async fn scenario_ftps(mode: Mode) {
    let s = TestServer::vsftpd(mode);
    let file = pattern(50_000);
    s.put("bin.dat", &file);

    // seclevel 0: any certificate.
    let mut c = Client::new();
    assert_eq!(
        c.open(secure(s.addr, mode, tls(0, None))).await,
        Ok(Reply::Ok)
    );
    assert_eq!(c.get("bin.dat", 0, None).await, file);
    assert_eq!(
        c.get("bin.dat", 100, Some(20_000)).await,
        &file[100..20_100]
    );
    assert_eq!(
        c.upload("up.dat", 0, false, &[&file[..30_000]]).await,
        Ok(Reply::Ok)
    );
    assert_eq!(s.read("up.dat"), &file[..30_000]);
    let list = c
        .listing(DownloadSource::List(String::new()))
        .await
        .expect("LIST");
    assert!(list.contains("up.dat"), "{list:?}");
    assert_eq!(c.call(FtpRequest::Close).await, Ok(Reply::Ok));

    // sslversion 3: TLS 1.2 only (data connections resume the control session too).
    let mut c = Client::new();
    let mut tls12 = tls(0, None);
    tls12.sslversion = 3;
    assert_eq!(c.open(secure(s.addr, mode, tls12)).await, Ok(Reply::Ok));
    assert_eq!(c.get("bin.dat", 0, Some(100)).await, &file[..100]);
    assert_eq!(c.call(FtpRequest::Close).await, Ok(Reply::Ok));

    // Active mode: the module listens, the server connects, TLS on top.
    let mut c = Client::new();
    let mut p = secure(s.addr, mode, tls(0, None));
    p.passive = false;
    assert_eq!(c.open(p).await, Ok(Reply::Ok));
    assert_eq!(c.get("bin.dat", 7, None).await, &file[7..]);
    assert_eq!(
        c.upload("act.dat", 0, false, &[b"active"]).await,
        Ok(Reply::Ok)
    );
    assert_eq!(s.read("act.dat"), b"active");
    assert_eq!(c.call(FtpRequest::Close).await, Ok(Reply::Ok));

    // seclevel 1 with the CA that signed the server certificate.
    let certs = s.vsftpd_certs();
    let mut c = Client::new();
    assert_eq!(
        c.open(secure(s.addr, mode, tls(1, Some(&certs.ca_pem))))
            .await,
        Ok(Reply::Ok)
    );
    assert_eq!(c.get("bin.dat", 0, Some(1000)).await, &file[..1000]);
    assert_eq!(c.call(FtpRequest::Close).await, Ok(Reply::Ok));

    // seclevel 1 with the wrong CA, and without any CA.
    let tls_failed = Err(Failure::new(FailureKind::Tls, 0));
    let mut c = Client::new();
    assert_eq!(
        c.open(secure(s.addr, mode, tls(1, Some(&certs.other_ca_pem))))
            .await,
        tls_failed
    );
    assert_eq!(c.open(secure(s.addr, mode, tls(1, None))).await, tls_failed);
    // seclevel 2 without a client certificate cannot be set up.
    assert_eq!(
        c.open(secure(s.addr, mode, tls(2, Some(&certs.ca_pem))))
            .await,
        tls_failed
    );
    // Plain login on an FTPS-only server.
    if mode == Mode::Explicit {
        assert_eq!(c.open(params(s.addr, true)).await, reply_failure(530));
    }
}

#[tokio::test]
async fn vsftpd_explicit_ftps() {
    scenario_ftps(Mode::Explicit).await;
}

#[tokio::test]
async fn vsftpd_implicit_ftps() {
    scenario_ftps(Mode::Implicit).await;
}

#[tokio::test]
async fn vsftpd_client_certificate() {
    // seclevel 2 against a server that requires a client certificate from the test CA.
    let s = TestServer::from_vsftpd(Vsftpd::start_requiring_client_cert(Mode::Explicit));
    s.put("f", b"mutual");
    let certs = s.vsftpd_certs();
    let mut level2 = tls(2, Some(&certs.ca_pem));
    level2.client_cert_pem = Some(certs.client_cert_pem.clone().into_bytes());
    level2.client_key_pem = Some(certs.client_key_pem.clone().into_bytes());
    let mut c = Client::new();
    assert_eq!(
        c.open(secure(s.addr, Mode::Explicit, level2)).await,
        Ok(Reply::Ok)
    );
    assert_eq!(c.get("f", 0, None).await, b"mutual");
    assert_eq!(c.call(FtpRequest::Close).await, Ok(Reply::Ok));
    // Without a client certificate the server refuses the handshake (with TLS 1.3 the
    // alert comes after our side finished: still a TLS failure).
    let mut c = Client::new();
    assert_eq!(
        c.open(secure(s.addr, Mode::Explicit, tls(1, Some(&certs.ca_pem))))
            .await,
        Err(Failure::new(FailureKind::Tls, 0))
    );
}

// ---------------------------------------------------------------------------------------
// Mock servers: fault shapes and measurements real servers do not give on demand.

#[derive(Clone)]
enum Mock {
    /// RETR sends `total` bytes (byte i = i % 251) and counts what it has written.
    Stream { total: u64, sent: Arc<AtomicU64> },
    /// RETR sends some bytes, then resets the data connection and answers 426.
    ResetData,
    /// STOR reads a little, then resets the data connection and answers 426.
    ResetUpload,
    /// CWD: the server drops the control connection instead of answering.
    CloseOnCwd,
    /// STOR: 150, then the data connection is never read (a stalled upload).
    StallUpload,
}

async fn mock(behaviour: Mock) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (ctrl, _) = listener.accept().await.unwrap();
        let (r, mut w) = ctrl.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"220 mock ready\r\n").await.unwrap();
        let mut data_listener: Option<TcpListener> = None;
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
            let answer: &[u8] = match verb.as_str() {
                "USER" => b"331 password please\r\n",
                "PASS" => b"230 logged in\r\n",
                "TYPE" => b"200 type set\r\n",
                "PASV" => {
                    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let port = l.local_addr().unwrap().port();
                    data_listener = Some(l);
                    let reply = format!(
                        "227 Entering Passive Mode (127,0,0,1,{},{})\r\n",
                        port >> 8,
                        port & 0xff
                    );
                    w.write_all(reply.as_bytes()).await.unwrap();
                    continue;
                }
                "CWD" if matches!(behaviour, Mock::CloseOnCwd) => return,
                "RETR" | "STOR" => {
                    w.write_all(b"150 here it comes\r\n").await.unwrap();
                    let (mut data, _) = data_listener.take().unwrap().accept().await.unwrap();
                    match &behaviour {
                        Mock::Stream { total, sent } => {
                            let block: Vec<u8> = (0..65_536u64).map(|i| (i % 251) as u8).collect();
                            let mut left = *total;
                            while left > 0 {
                                // Continue the global i % 251 sequence (start ≤ 250, n ≤ 60000).
                                let start = (*total - left) % 251;
                                let n = left.min(60_000) as usize;
                                let piece = &block[start as usize..start as usize + n];
                                if data.write_all(piece).await.is_err() {
                                    break;
                                }
                                sent.fetch_add(n as u64, Ordering::SeqCst);
                                left -= n as u64;
                            }
                            drop(data);
                            w.write_all(b"226 done\r\n").await.unwrap();
                        }
                        Mock::ResetData => {
                            data.write_all(&[7u8; 100_000]).await.unwrap();
                            data.set_zero_linger().unwrap();
                            drop(data);
                            w.write_all(b"426 Connection closed; transfer aborted.\r\n")
                                .await
                                .unwrap();
                        }
                        Mock::ResetUpload => {
                            let mut buf = [0u8; 1000];
                            let _ = data.read_exact(&mut buf).await;
                            data.set_zero_linger().unwrap();
                            drop(data);
                            w.write_all(b"426 Connection closed; transfer aborted.\r\n")
                                .await
                                .unwrap();
                        }
                        Mock::StallUpload => {
                            // Hold the data connection unread until the client goes away.
                            let mut rest = Vec::new();
                            let _ = lines.next_line().await;
                            let _ = data.read_to_end(&mut rest).await;
                            return;
                        }
                        Mock::CloseOnCwd => unreachable!(),
                    }
                    continue;
                }
                "QUIT" => {
                    let _ = w.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"502 not in this mock\r\n",
            };
            w.write_all(answer).await.unwrap();
        }
    });
    addr
}

#[tokio::test]
async fn backpressure_stops_the_download() {
    let total: u64 = 48 << 20;
    let sent = Arc::new(AtomicU64::new(0));
    let addr = mock(Mock::Stream {
        total,
        sent: sent.clone(),
    })
    .await;
    let mut c = Client::with(DriverConfig {
        event_queue: 2,
        chunk: CHUNK,
        request_queue: 8,
    });
    assert_eq!(c.open(params(addr, true)).await, Ok(Reply::Ok));
    c.send(FtpRequest::Download {
        source: DownloadSource::File("endless".into()),
        offset: 0,
        limit: None,
    })
    .await;
    assert_eq!(c.event().await, FtpEvent::DataReady);
    let mut received: Vec<u8> = Vec::new();
    if let FtpEvent::Data(b) = c.event().await {
        received.extend_from_slice(&b);
    } else {
        panic!("expected data");
    }
    // Stop reading events. Wait until the server cannot write any more (its count stays
    // the same over several looks): only socket buffers and the 2-slot queue hold data.
    let mut last = u64::MAX;
    let mut same = 0;
    while same < 5 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = sent.load(Ordering::SeqCst);
        if now == last {
            same += 1;
        } else {
            same = 0;
            last = now;
        }
    }
    assert!(
        last < total / 2,
        "the server wrote {last} of {total} bytes with nobody reading"
    );
    assert!(
        c.d.events.len() <= 2,
        "event queue holds {}",
        c.d.events.len()
    );
    // Resume: everything arrives, in order.
    loop {
        match c.event().await {
            FtpEvent::Data(b) => received.extend_from_slice(&b),
            FtpEvent::Done(r) => {
                assert_eq!(r, Ok(Reply::Ok));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(received.len() as u64, total);
    assert!(
        received
            .iter()
            .enumerate()
            .all(|(i, b)| *b == (i % 251) as u8),
        "content"
    );
}

#[tokio::test]
async fn data_connection_reset_mid_download() {
    let addr = mock(Mock::ResetData).await;
    let mut c = Client::new();
    assert_eq!(c.open(params(addr, true)).await, Ok(Reply::Ok));
    let (ready, _, r) = c.download(DownloadSource::File("x".into()), 0, None).await;
    assert!(ready);
    assert_eq!(r, Err(Failure::new(FailureKind::DataClosed, 426)));
}

#[tokio::test]
async fn data_connection_reset_mid_upload() {
    let addr = mock(Mock::ResetUpload).await;
    let mut c = Client::new();
    assert_eq!(c.open(params(addr, true)).await, Ok(Reply::Ok));
    let big = vec![1u8; 1 << 20];
    let chunks: Vec<&[u8]> = (0..32).map(|_| big.as_slice()).collect();
    assert_eq!(
        c.upload("x", 0, false, &chunks).await,
        Err(Failure::new(FailureKind::PeerReset, 426))
    );
}

#[tokio::test]
async fn control_closed_while_awaiting_reply() {
    let addr = mock(Mock::CloseOnCwd).await;
    let mut c = Client::new();
    assert_eq!(c.open(params(addr, true)).await, Ok(Reply::Ok));
    assert_eq!(
        c.call(FtpRequest::Cwd("d".into())).await,
        Err(Failure::new(FailureKind::ControlClosed, 0))
    );
    // Reported once, with the request; no idle ControlClosed event follows.
    assert_eq!(
        c.call(FtpRequest::Pwd).await,
        Err(Failure::new(FailureKind::ControlClosed, 0))
    );
}

/// The seam's contract for `Abort`: requests sent before it (here the `UploadEnd` of a stalled
/// upload, queued inside the driver while a chunk is being written) are void. Nothing is
/// reported for them after the `Aborted` marker, or the core would take that report for the
/// answer to its next request.
#[tokio::test]
async fn abort_voids_requests_queued_before_it() {
    let addr = mock(Mock::StallUpload).await;
    let mut c = Client::new();
    assert_eq!(c.open(params(addr, true)).await, Ok(Reply::Ok));
    c.send(FtpRequest::Upload {
        name: "x".into(),
        offset: 0,
        append: false,
    })
    .await;
    assert_eq!(c.event().await, FtpEvent::DataReady);
    // More than any socket buffer holds: the write stalls.
    c.send(FtpRequest::UploadData(vec![1u8; 64 << 20])).await;
    c.send(FtpRequest::UploadEnd { close: true }).await;
    c.send(FtpRequest::Abort).await;
    assert_eq!(c.event().await, FtpEvent::Aborted);
    // The next request gets its own answer, and nothing comes between it and the next marker.
    assert_eq!(
        c.call(FtpRequest::Pwd).await,
        Err(Failure::new(FailureKind::ControlClosed, 0))
    );
    c.send(FtpRequest::Abort).await;
    assert_eq!(c.event().await, FtpEvent::Aborted);
}
