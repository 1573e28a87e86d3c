//! `--pasv-same-host`: a real FTP server (libunftp) whose PASV replies name another host
//! (192.0.2.1, TEST-NET-1, as a misconfigured or hostile server behind NAT would). By
//! default the driver follows PASV, as the real module does; with `pasv_same_host` it
//! connects to the control connection's peer instead and the download works. A recording
//! fault seam sees every data connect and refuses any that leaves 127.0.0.1, so no packet
//! goes to the other host.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bg95_core::ftp::{
    DownloadSource, FailureKind, FtpEvent, FtpRequest, OpenParams, Reply, Security,
};
use bg95_emu::ftp::{DriverConfig, DriverNet, FtpDriver};
use bg95_emu::net::{Conn, ConnectFault, FaultSeam, Resolver, Traffic};
use libunftp::options::PassiveHost;
use unftp_sbe_fs::Filesystem;

/// Records data connects; refuses the ones that would leave loopback.
#[derive(Debug, Default)]
struct DataConnects(Mutex<Vec<SocketAddr>>);

impl FaultSeam for DataConnects {
    fn on_connect(&self, conn: Conn, addr: SocketAddr) -> Option<ConnectFault> {
        if matches!(conn, Conn::Data) {
            self.0.lock().unwrap().push(addr);
        }
        (!addr.ip().is_loopback()).then_some(ConnectFault::Refused)
    }
}

async fn server_with_pasv_elsewhere(root: std::path::PathBuf) -> SocketAddr {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = libunftp::ServerBuilder::new(Box::new(move || {
        Filesystem::new(root.clone()).expect("root")
    }))
    .passive_host(PassiveHost::Ip(Ipv4Addr::new(192, 0, 2, 1)))
    .passive_ports(49152..=65535)
    .build()
    .unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    tokio::spawn(async move {
        let _ = server.listen(addr.to_string()).await;
    });
    // Bounds a failure only: the listener is up once a connect succeeds.
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return addr;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("server did not start");
}

async fn next(d: &mut FtpDriver) -> FtpEvent {
    tokio::time::timeout(Duration::from_secs(20), d.events.recv())
        .await
        .expect("driver event")
        .expect("driver alive")
}

/// Open, download `f`; the bytes (or the failure kind) and the data addresses tried.
async fn download(
    addr: SocketAddr,
    same_host: bool,
) -> (Result<Vec<u8>, FailureKind>, Vec<SocketAddr>) {
    let seam = Arc::new(DataConnects::default());
    let net = DriverNet {
        resolver: Resolver::system(),
        traffic: Traffic::default(),
        faults: seam.clone(),
        pasv_same_host: same_host,
    };
    let mut d = FtpDriver::spawn_net(DriverConfig::default(), net);
    let open = OpenParams {
        host: addr.ip().to_string(),
        port: addr.port(),
        user: "anonymous".into(),
        password: "x".into(),
        binary: true,
        passive: true,
        data_to_control_address: false,
        security: Security::Plain,
    };
    d.requests.send(FtpRequest::Open(open)).await.unwrap();
    assert_eq!(next(&mut d).await, FtpEvent::Done(Ok(Reply::Ok)));
    let req = FtpRequest::Download {
        source: DownloadSource::File("f".into()),
        offset: 0,
        limit: None,
    };
    d.requests.send(req).await.unwrap();
    let mut bytes = Vec::new();
    let result = loop {
        match next(&mut d).await {
            FtpEvent::DataReady => {}
            FtpEvent::Data(b) => bytes.extend_from_slice(&b),
            FtpEvent::Done(Ok(_)) => break Ok(bytes),
            FtpEvent::Done(Err(f)) => break Err(f.kind),
            other => panic!("{other:?}"),
        }
    };
    let tried = seam.0.lock().unwrap().clone();
    (result, tried)
}

#[tokio::test]
async fn pasv_is_followed_by_default_and_replaced_by_the_control_peer_with_the_option() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), b"same host").unwrap();
    let addr = server_with_pasv_elsewhere(dir.path().to_path_buf()).await;

    // The real module's behaviour: the data connection goes where PASV points.
    let (result, tried) = download(addr, false).await;
    assert_eq!(result, Err(FailureKind::DataOpen));
    assert_eq!(tried.len(), 1);
    assert_eq!(tried[0].ip(), std::net::IpAddr::from([192, 0, 2, 1]));

    // --pasv-same-host: to the control peer, whatever PASV said.
    let (result, tried) = download(addr, true).await;
    assert_eq!(result, Ok(b"same host".to_vec()));
    assert_eq!(tried.len(), 1);
    assert_eq!(tried[0].ip(), addr.ip());
}

#[test]
fn the_scenario_key_turns_it_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(&file, "[network]\npasv_same_host = true\n").unwrap();
    let s = bg95_emu::scenario::Scenario::load(&file).unwrap();
    assert!(s.network.pasv_same_host);
    std::fs::write(&file, "[network]\n").unwrap();
    let s = bg95_emu::scenario::Scenario::load(&file).unwrap();
    assert!(!s.network.pasv_same_host);
}
