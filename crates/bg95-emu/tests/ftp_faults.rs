//! The fault seam under the FTP driver, one hook point at a time, with a small test
//! `FaultSeam` against real servers (the embedded libunftp server, vsftpd for TLS), and
//! the issue's end-to-end check: a resolver fault reaches the host as `+QFTPOPEN: 604,0`
//! through the Emulator and its PTY.

mod host;
mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bg95_core::ftp::{
    DownloadSource, Failure, FailureKind, FtpEvent, FtpRequest, OpenParams, Reply, Security,
    TlsSettings,
};
use bg95_emu::ftp::{DriverConfig, DriverNet, FtpDriver};
use bg95_emu::net::{
    Conn, ConnectFault, DataFault, Direction, FaultSeam, ReplyFault, ResolveError,
};
use bg95_emu::server::start_embedded;
use bg95_emu::Emulator;
use host::Host;

const WAIT: Duration = Duration::from_secs(30);

/// Faults queued by a test, each used once; and what the driver asked.
#[derive(Debug, Default)]
struct Seam {
    resolve: Mutex<Vec<String>>,
    connect: Mutex<Vec<(Conn, ConnectFault)>>,
    command: Mutex<Vec<(String, ReplyFault)>>,
    data: Mutex<Vec<DataFault>>,
    verbs: Mutex<Vec<String>>,
    transfers: Mutex<Vec<(u64, Direction)>>,
}

impl FaultSeam for Seam {
    fn on_resolve(&self, host: &str) -> Option<ResolveError> {
        let mut q = self.resolve.lock().unwrap();
        let i = q.iter().position(|h| h == host)?;
        q.remove(i);
        Some(ResolveError::NotFound)
    }
    fn on_connect(&self, conn: Conn, _addr: SocketAddr) -> Option<ConnectFault> {
        let mut q = self.connect.lock().unwrap();
        let i = q.iter().position(|(c, _)| *c == conn)?;
        Some(q.remove(i).1)
    }
    fn on_command(&self, verb: &str) -> Option<ReplyFault> {
        self.verbs.lock().unwrap().push(verb.to_string());
        let mut q = self.command.lock().unwrap();
        let i = q.iter().position(|(v, _)| v == verb)?;
        Some(q.remove(i).1)
    }
    fn on_data(&self, transfer: u64, dir: Direction) -> Vec<DataFault> {
        self.transfers.lock().unwrap().push((transfer, dir));
        std::mem::take(&mut *self.data.lock().unwrap())
    }
}

struct Client {
    d: FtpDriver,
    seam: Arc<Seam>,
    net: DriverNet,
}

impl Client {
    fn new() -> Client {
        let seam = Arc::new(Seam::default());
        let net = DriverNet::with_faults(seam.clone());
        Client {
            d: FtpDriver::spawn_net(DriverConfig::default(), net.clone()),
            seam,
            net,
        }
    }

    async fn event(&mut self) -> FtpEvent {
        tokio::time::timeout(WAIT, self.d.events.recv())
            .await
            .expect("driver event (safety net)")
            .expect("driver alive")
    }

    async fn call(&mut self, req: FtpRequest) -> Result<Reply, Failure> {
        self.d.requests.send(req).await.unwrap();
        match self.event().await {
            FtpEvent::Done(r) => r,
            other => panic!("expected Done, got {other:?}"),
        }
    }

    /// (bytes, outcome)
    async fn download(&mut self, name: &str) -> (Vec<u8>, Result<Reply, Failure>) {
        self.d
            .requests
            .send(FtpRequest::Download {
                source: DownloadSource::File(name.into()),
                offset: 0,
                limit: None,
            })
            .await
            .unwrap();
        let mut data = Vec::new();
        loop {
            match self.event().await {
                FtpEvent::DataReady => {}
                FtpEvent::Data(b) => data.extend_from_slice(&b),
                FtpEvent::Done(r) => return (data, r),
                other => panic!("{other:?}"),
            }
        }
    }

    async fn upload(&mut self, name: &str, bytes: &[u8]) -> Result<Reply, Failure> {
        let req = FtpRequest::Upload {
            name: name.into(),
            offset: 0,
            append: false,
        };
        self.d.requests.send(req).await.unwrap();
        match self.event().await {
            FtpEvent::DataReady => {}
            FtpEvent::Done(r) => return r,
            other => panic!("{other:?}"),
        }
        for chunk in bytes.chunks(8192) {
            let data = FtpRequest::UploadData(chunk.to_vec());
            self.d.requests.send(data).await.unwrap();
        }
        self.call(FtpRequest::UploadEnd { close: true }).await
    }
}

fn params(addr: SocketAddr) -> OpenParams {
    OpenParams {
        host: addr.ip().to_string(),
        port: addr.port(),
        user: "test".into(),
        password: "test".into(),
        binary: true,
        passive: true,
        data_to_control_address: false,
        security: Security::Plain,
    }
}

fn err(kind: FailureKind, reply: u16) -> Result<Reply, Failure> {
    Err(Failure::new(kind, reply))
}

async fn unftp() -> (bg95_emu::server::EmbeddedServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.bin"), vec![5u8; 100_000]).unwrap();
    let server = start_embedded("127.0.0.1:0".parse().unwrap(), dir.path().to_path_buf())
        .await
        .unwrap();
    (server, dir)
}

#[tokio::test]
async fn control_connect_faults() {
    let (server, _dir) = unftp().await;
    let p = params(server.local_addr());
    let mut c = Client::new();
    let faults = [
        (ConnectFault::Refused, err(FailureKind::Refused, 0)),
        (ConnectFault::Unreachable, err(FailureKind::Unreachable, 0)),
        (
            ConnectFault::TimedOut {
                after: Duration::from_millis(10),
            },
            err(FailureKind::Unreachable, 0),
        ),
        (
            ConnectFault::Delay(Duration::from_millis(10)),
            Ok(Reply::Ok),
        ),
    ];
    for (fault, want) in faults {
        c.seam.connect.lock().unwrap().push((Conn::Control, fault));
        assert_eq!(c.call(FtpRequest::Open(p.clone())).await, want);
    }
    // No fault: the same server opens.
    assert_eq!(c.call(FtpRequest::Open(p)).await, Ok(Reply::Ok));
}

#[tokio::test]
async fn resolver_fault() {
    let (server, _dir) = unftp().await;
    let mut p = params(server.local_addr());
    p.host = "localhost".into();
    let mut c = Client::new();
    c.seam.resolve.lock().unwrap().push("localhost".into());
    assert_eq!(
        c.call(FtpRequest::Open(p.clone())).await,
        err(FailureKind::Resolve, 0)
    );
    assert_eq!(c.call(FtpRequest::Open(p)).await, Ok(Reply::Ok));
}

#[tokio::test]
async fn command_faults_replace_delay_close() {
    let (server, _dir) = unftp().await;
    let mut c = Client::new();
    c.seam.command.lock().unwrap().push((
        "PASS".into(),
        ReplyFault::Replace {
            code: 530,
            text: "Login incorrect.".into(),
        },
    ));
    let p = params(server.local_addr());
    assert_eq!(
        c.call(FtpRequest::Open(p.clone())).await,
        err(FailureKind::Reply, 530)
    );
    assert_eq!(c.call(FtpRequest::Open(p)).await, Ok(Reply::Ok));
    {
        let mut q = c.seam.command.lock().unwrap();
        q.push((
            "CWD".into(),
            ReplyFault::Replace {
                code: 550,
                text: "No such directory.".into(),
            },
        ));
        q.push(("SIZE".into(), ReplyFault::Delay(Duration::from_millis(10))));
        q.push(("MKD".into(), ReplyFault::Close));
    }
    assert_eq!(
        c.call(FtpRequest::Cwd("/".into())).await,
        err(FailureKind::Reply, 550)
    );
    // The server never saw the CWD: the next reply is the next command's own.
    assert_eq!(c.call(FtpRequest::Pwd).await, Ok(Reply::Path("/".into())));
    assert_eq!(
        c.call(FtpRequest::Size("f.bin".into())).await,
        Ok(Reply::Size(100_000))
    );
    assert_eq!(
        c.call(FtpRequest::Mkdir("d".into())).await,
        err(FailureKind::ControlClosed, 0)
    );
    assert_eq!(
        c.call(FtpRequest::Pwd).await,
        err(FailureKind::ControlClosed, 0)
    );
    let verbs = c.seam.verbs.lock().unwrap().clone();
    for v in ["USER", "PASS", "TYPE", "CWD", "PWD", "SIZE", "MKD"] {
        assert!(verbs.iter().any(|x| x == v), "{v} not seen: {verbs:?}");
    }
}

#[tokio::test]
async fn passive_transfer_commands_pass_the_seam() {
    let (server, _dir) = unftp().await;
    let mut c = Client::new();
    assert_eq!(
        c.call(FtpRequest::Open(params(server.local_addr()))).await,
        Ok(Reply::Ok)
    );
    c.seam.command.lock().unwrap().push((
        "PASV".into(),
        ReplyFault::Replace {
            code: 502,
            text: "No passive mode.".into(),
        },
    ));
    let (data, r) = c.download("f.bin").await;
    assert!(data.is_empty());
    assert_eq!(r, err(FailureKind::DataOpen, 502));
    c.seam.command.lock().unwrap().push((
        "RETR".into(),
        ReplyFault::Replace {
            code: 550,
            text: "No such file.".into(),
        },
    ));
    assert_eq!(c.download("f.bin").await.1, err(FailureKind::Reply, 550));
    // In step, and a transfer without faults counts its bytes.
    c.net.traffic.take();
    let (data, r) = c.download("f.bin").await;
    assert_eq!((data.len(), r), (100_000, Ok(Reply::Ok)));
    let (sent, received) = c.net.traffic.take();
    assert!(sent >= "PASV\r\nRETR f.bin\r\n".len() as u64, "sent {sent}");
    assert!(received >= 100_000, "received {received}");
}

#[tokio::test]
async fn data_connect_and_stream_faults() {
    let (server, dir) = unftp().await;
    let mut c = Client::new();
    assert_eq!(
        c.call(FtpRequest::Open(params(server.local_addr()))).await,
        Ok(Reply::Ok)
    );
    c.seam
        .connect
        .lock()
        .unwrap()
        .push((Conn::Data, ConnectFault::Refused));
    assert_eq!(c.download("f.bin").await.1, err(FailureKind::DataOpen, 0));
    assert_eq!(
        c.call(FtpRequest::Size("f.bin".into())).await,
        Ok(Reply::Size(100_000))
    );

    // A reset after 1000 bytes: the download stops there and fails as a broken data
    // connection; the control connection stays in step.
    c.seam
        .data
        .lock()
        .unwrap()
        .push(DataFault::ResetAfter { after: 1000 });
    let (data, r) = c.download("f.bin").await;
    assert_eq!(data.len(), 1000);
    assert_eq!(r.unwrap_err().kind, FailureKind::DataClosed);
    assert_eq!(c.call(FtpRequest::Pwd).await, Ok(Reply::Path("/".into())));

    // While uploading: the peer reset the module meets while sending.
    c.seam
        .data
        .lock()
        .unwrap()
        .push(DataFault::ResetAfter { after: 10_000 });
    let r = c.upload("up.bin", &vec![1u8; 50_000]).await;
    assert_eq!(r.unwrap_err().kind, FailureKind::PeerReset);
    assert_eq!(c.call(FtpRequest::Pwd).await, Ok(Reply::Path("/".into())));

    // Without faults the upload arrives whole; transfers are numbered from 1.
    assert_eq!(c.upload("up.bin", &vec![2u8; 50_000]).await, Ok(Reply::Ok));
    assert_eq!(
        std::fs::read(dir.path().join("up.bin")).unwrap().len(),
        50_000
    );
    // A new session goes on counting (the numbering is since boot).
    let p = params(server.local_addr());
    assert_eq!(c.call(FtpRequest::Open(p)).await, Ok(Reply::Ok));
    assert_eq!(c.download("f.bin").await.0.len(), 100_000);
    let transfers = c.seam.transfers.lock().unwrap().clone();
    assert_eq!(
        transfers,
        vec![
            (1, Direction::Download),
            (2, Direction::Upload),
            (3, Direction::Upload),
            (4, Direction::Download)
        ]
    );
}

#[tokio::test]
async fn tls_fault_fails_the_handshake() {
    use support::vsftpd::{Mode, Vsftpd};
    let server = Vsftpd::start(Mode::Explicit);
    let settings = TlsSettings {
        seclevel: 0,
        sslversion: 4,
        ca_pem: None,
        client_cert_pem: None,
        client_key_pem: None,
        ciphersuite: 0xFFFF,
        sni: true,
        check_host: true,
        check_time: true,
        negotiate_secs: 30,
        module_time_unix: 0,
    };
    let mut p = params(server.addr);
    p.security = Security::Explicit {
        control: settings.clone(),
        data: settings,
    };
    let mut c = Client::new();
    // AUTH TLS is sent inside suppaftp's `into_secure`; the seam is asked before it.
    c.seam.command.lock().unwrap().push((
        "AUTH".into(),
        ReplyFault::Replace {
            code: 534,
            text: "Policy requires SSL.".into(),
        },
    ));
    assert_eq!(
        c.call(FtpRequest::Open(p.clone())).await,
        err(FailureKind::Tls, 534)
    );
    c.seam
        .connect
        .lock()
        .unwrap()
        .push((Conn::Control, ConnectFault::TlsFailure));
    assert_eq!(
        c.call(FtpRequest::Open(p.clone())).await,
        err(FailureKind::Tls, 0)
    );
    assert_eq!(c.call(FtpRequest::Open(p.clone())).await, Ok(Reply::Ok));
    // A data connection's handshake: met as a real failed data handshake is. vsftpd ends
    // the whole session when a data connection's TLS handshake fails (no reply after its
    // 150), so the transfer reports the closed control connection; a new session works.
    server.put("f", b"tls data");
    c.seam
        .connect
        .lock()
        .unwrap()
        .push((Conn::Data, ConnectFault::TlsFailure));
    let (data, r) = c.download("f").await;
    assert!(data.is_empty());
    assert_eq!(r, err(FailureKind::ControlClosed, 0));
    assert!(
        c.seam.connect.lock().unwrap().is_empty(),
        "the fault was used"
    );
    assert_eq!(c.call(FtpRequest::Open(p)).await, Ok(Reply::Ok));
    assert_eq!(c.download("f").await, (b"tls data".to_vec(), Ok(Reply::Ok)));
}

/// The issue's end-to-end check: the host's `AT+QFTPOPEN` with a resolver fault.
#[test]
fn resolver_fault_reaches_the_host_as_604() {
    let root = tempfile::tempdir().unwrap();
    let seam = Arc::new(Seam::default());
    seam.resolve.lock().unwrap().push("localhost".into());
    let emu = Emulator::builder()
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .ftp_root(root.path())
        .faults(seam.clone())
        .spawn()
        .unwrap();
    let port = emu.ftp_addr().unwrap().port();
    let mut h = Host::open(emu.tty_path());
    h.boot_echo_off();
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    let open = format!("AT+QFTPOPEN=\"localhost\",{port}\r");
    h.chat(&open, "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPOPEN: 604,0\r\n");
    // The fault was the only thing wrong: the same command opens now.
    h.chat(&open, "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPOPEN: 0,0\r\n");
}
