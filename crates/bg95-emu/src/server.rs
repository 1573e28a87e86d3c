//! The embedded FTP server: libunftp over a directory (unftp-sbe-fs), one fixed account
//! `test`/`test` (anything else → `530`). Plain FTP, or explicit FTPS with TLS required on
//! the control and data connections ([`ServerTls`], `serve --ftp-tls`); passive mode only
//! (libunftp answers PORT/EPRT with `502 Active mode not enabled.`).
//!
//! The control listener is bound here (port 0 allowed, [`EmbeddedServer::local_addr`] tells
//! the real port) and each accepted connection is handed to libunftp's `Server::service`.
//! Passive data ports are bound by libunftp on the control connection's local address, at a
//! random port of 49152–65535 with retries when a port is taken, so servers running in
//! parallel do not collide.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use libunftp::options::{FtpsRequired, PassiveHost};
use libunftp::ServerBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, Principal};
use unftp_sbe_fs::Filesystem;

/// The only account of the embedded server.
pub const USER: &str = "test";
/// Its password.
pub const PASSWORD: &str = "test";

/// Why the embedded server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("FTP server setup: {0}")]
    Setup(String),
}

/// Explicit FTPS for the embedded server: the server's certificate and key as files
/// (libunftp reads them from disk), and the CA that signed the certificate, which a module
/// needs in UFS to verify the server (seclevel 1).
#[derive(Debug)]
pub struct ServerTls {
    /// PEM of the CA that signed the server certificate.
    pub ca_pem: String,
    cert_file: PathBuf,
    key_file: PathBuf,
    /// Holds the two files; removed with the server.
    _dir: tempfile::TempDir,
}

impl ServerTls {
    /// A new CA and a server certificate it signs for `127.0.0.1` and `localhost`, made now.
    pub fn generate() -> Result<ServerTls, ServerError> {
        let pki = crate::pki::Pki::generate("bg95-emu FTPS CA", &["127.0.0.1", "localhost"])
            .map_err(|e| ServerError::Setup(e.to_string()))?;
        ServerTls::from_pem(&pki.ca_pem, &pki.server)
    }

    /// TLS with a given server certificate (tests use expired or mismatched ones).
    pub fn from_pem(ca_pem: &str, server: &crate::pki::CertKey) -> Result<ServerTls, ServerError> {
        let dir = tempfile::Builder::new().prefix("bg95-ftps-").tempdir()?;
        let cert_file = dir.path().join("server.pem");
        let key_file = dir.path().join("server.key");
        std::fs::write(&cert_file, &server.cert_pem)?;
        write_private(&key_file, &server.key_pem)?;
        Ok(ServerTls {
            ca_pem: ca_pem.to_string(),
            cert_file,
            key_file,
            _dir: dir,
        })
    }
}

/// Write a private key readable by its owner only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// A running embedded server; stops (closing every session) when dropped.
#[derive(Debug)]
pub struct EmbeddedServer {
    local_addr: SocketAddr,
    root: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl EmbeddedServer {
    /// The address the server listens on (with the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The folder the server serves (uploads land here).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stop the server now (same as dropping it).
    pub fn stop(self) {}
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        // The accept task owns the JoinSet of sessions: aborting it drops the set, which
        // aborts every session task and closes their sockets.
        self.task.abort();
    }
}

/// The accounts a server accepts (user, password); anything else → `530`.
struct TestAuthenticator {
    users: Vec<(String, String)>,
}

/// libunftp logs its authenticator with `Debug` (at info): users only, never a password.
impl std::fmt::Debug for TestAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestAuthenticator")
            .field("users", &MaskedUsers(&self.users))
            .finish()
    }
}

/// `[("u", "***")]`: accounts for a log, passwords masked.
struct MaskedUsers<'a>(&'a [(String, String)]);

impl std::fmt::Debug for MaskedUsers<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(u, _)| (u, "***")))
            .finish()
    }
}

#[async_trait]
impl Authenticator for TestAuthenticator {
    async fn authenticate(
        &self,
        username: &str,
        creds: &Credentials,
    ) -> Result<Principal, AuthenticationError> {
        let Some((_, password)) = self.users.iter().find(|(u, _)| u == username) else {
            return Err(AuthenticationError::BadUser);
        };
        if creds.password.as_deref() != Some(password.as_str()) {
            return Err(AuthenticationError::BadPassword);
        }
        Ok(Principal {
            username: username.to_string(),
        })
    }
}

/// Start serving `root` on `addr` (on the current tokio runtime), plain FTP.
pub async fn start_embedded(
    addr: SocketAddr,
    root: PathBuf,
) -> Result<EmbeddedServer, ServerError> {
    start_embedded_with(addr, root, ServerOptions::default()).await
}

/// Who may log in and how: the accounts (user, password; anything else → `530`) and,
/// with `tls`, explicit FTPS required on control and data.
#[derive(Clone)]
pub struct ServerOptions {
    pub users: Vec<(String, String)>,
    pub tls: Option<Arc<ServerTls>>,
}

/// Passwords masked: options may be logged.
impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("users", &MaskedUsers(&self.users))
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Default for ServerOptions {
    /// The one account `test`/`test`, plain FTP.
    fn default() -> Self {
        ServerOptions {
            users: vec![(USER.into(), PASSWORD.into())],
            tls: None,
        }
    }
}

type Session = libunftp::Server<Filesystem, unftp_core::auth::DefaultUser>;

/// One libunftp server for one control connection.
fn build_session(
    root: &Path,
    auth: &Arc<TestAuthenticator>,
    tls: Option<&ServerTls>,
) -> Result<Session, ServerError> {
    // Fail here (dropping the connection) rather than in the session when the root is gone.
    Filesystem::new(root.to_path_buf())?;
    let root = root.to_path_buf();
    let builder = ServerBuilder::with_authenticator(
        Box::new(move || {
            // Opened just above; only a root removed in between fails here, and the panic
            // ends that session's task only.
            Filesystem::new(root.clone()).expect("embedded server root vanished")
        }),
        auth.clone(),
    )
    .greeting("Welcome to the bg95-emu FTP server")
    .passive_host(PassiveHost::FromConnection)
    .passive_ports(49152..=65535);
    let builder = match tls {
        Some(t) => builder
            .ftps(t.cert_file.clone(), t.key_file.clone())
            .ftps_required(FtpsRequired::All, FtpsRequired::All),
        None => builder,
    };
    builder
        .build()
        .map_err(|e| ServerError::Setup(e.to_string()))
}

/// Serve one control connection; with FTPS, through [`relay_control`].
async fn serve_session(server: Session, client: TcpStream, tls: bool) {
    let stream = if tls {
        match relayed(client).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(target: "bg95::ftp", "embedded server relay: {e}");
                return;
            }
        }
    } else {
        client
    };
    if let Err(e) = server.service(stream).await {
        tracing::debug!(target: "bg95::ftp", "embedded server session: {e}");
    }
}

/// How long client bytes wait after the server's `234` reply to `AUTH TLS`.
const TLS_UPGRADE_GRACE: Duration = Duration::from_millis(100);

/// A loopback connection to hand libunftp instead of `client`, with [`relay_control`]
/// copying between the two.
///
/// Why: libunftp 0.24 answers `AUTH TLS` with `234` and only then, from a spawned task,
/// tells its control loop to switch to TLS; a client's ClientHello that arrives first is
/// read as an FTP command and the handshake fails (seen under load as a rare `631`). Real
/// clients send the ClientHello at once, so the relay holds the client's bytes after the
/// `234` for [`TLS_UPGRADE_GRACE`], long enough for the switch. The relay's end uses the
/// client connection's local address, so passive replies name the same host.
async fn relayed(client: TcpStream) -> std::io::Result<TcpStream> {
    let pair = TcpListener::bind(SocketAddr::new(client.local_addr()?.ip(), 0)).await?;
    let (near, far) = tokio::join!(TcpStream::connect(pair.local_addr()?), pair.accept());
    let (near, (far, _)) = (near?, far?);
    let (near, far) = (without_nagle(near), without_nagle(far));
    tokio::spawn(relay_control(client, near));
    Ok(far)
}

/// Copy a control connection both ways; after the server's first `234` reply, hold the
/// client's next bytes for [`TLS_UPGRADE_GRACE`] (see [`relayed`]). From then on the bytes
/// are TLS records and are copied as they are.
async fn relay_control(client: TcpStream, server: TcpStream) {
    let (mut client_rd, mut client_wr) = client.into_split();
    let (mut server_rd, mut server_wr) = server.into_split();
    let (upgrade_tx, mut upgrade_rx) = tokio::sync::watch::channel(false);
    let to_client = async move {
        let mut buf = vec![0u8; 4096];
        let mut scanning = true;
        let mut at_line_start = true;
        loop {
            let n = server_rd.read(&mut buf).await?;
            if n == 0 {
                return client_wr.shutdown().await;
            }
            if scanning && has_reply_234(&buf[..n], &mut at_line_start) {
                scanning = false;
                // Set before the client can see the 234, so its ClientHello finds it set.
                let _ = upgrade_tx.send(true);
            }
            client_wr.write_all(&buf[..n]).await?;
        }
    };
    let to_server = async move {
        let mut buf = vec![0u8; 4096];
        let mut held = false;
        loop {
            let n = client_rd.read(&mut buf).await?;
            if n == 0 {
                return server_wr.shutdown().await;
            }
            if !held && *upgrade_rx.borrow_and_update() {
                held = true;
                tokio::time::sleep(TLS_UPGRADE_GRACE).await;
            }
            server_wr.write_all(&buf[..n]).await?;
        }
    };
    let (a, b): (std::io::Result<()>, std::io::Result<()>) = tokio::join!(to_client, to_server);
    if let Err(e) = a.and(b) {
        tracing::debug!(target: "bg95::ftp", "embedded server relay: {e}");
    }
}

/// Whether `bytes` hold a line starting with `234` (`at_line_start` carries the position
/// across reads).
fn has_reply_234(bytes: &[u8], at_line_start: &mut bool) -> bool {
    let mut found = false;
    for (i, &b) in bytes.iter().enumerate() {
        if *at_line_start && bytes[i..].starts_with(b"234") {
            found = true;
        }
        *at_line_start = b == b'\n';
    }
    found
}

/// `stream` with Nagle's algorithm off (`TCP_NODELAY`), as a control connection must be.
///
/// Why: libunftp writes each reply with its own `write`. After a `RETR`/`STOR` the server
/// has sent `150` and the client, which sends nothing until the `226`, holds its ACK of
/// the `150` for its delayed-ACK time (40 ms on Linux). With Nagle on, the kernel keeps the
/// `226` back until that ACK arrives, so every transfer ended ≈ 42 ms after its data
/// connection closed, whatever its size (docs/ftp.md). vsftpd and other servers set
/// `TCP_NODELAY` on the control connection for the same reason. A failure to set it only
/// costs that delay, so it is logged, not fatal.
fn without_nagle(stream: TcpStream) -> TcpStream {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(target: "bg95::ftp", "embedded server: TCP_NODELAY: {e}");
    }
    stream
}

/// The next control connection, Nagle off ([`without_nagle`]).
async fn accept_control(listener: &TcpListener) -> std::io::Result<(TcpStream, SocketAddr)> {
    let (tcp, peer) = listener.accept().await?;
    Ok((without_nagle(tcp), peer))
}

/// Start serving `root` on `addr` with `options`.
pub async fn start_embedded_with(
    addr: SocketAddr,
    root: PathBuf,
    options: ServerOptions,
) -> Result<EmbeddedServer, ServerError> {
    let ServerOptions { users, tls } = options;
    let auth = Arc::new(TestAuthenticator { users });
    // Fail early (not in a session) when the root is unusable.
    Filesystem::new(root.clone())?;
    if !root.is_dir() {
        return Err(ServerError::Setup(format!(
            "{} is not a directory",
            root.display()
        )));
    }
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    tracing::info!(target: "bg95::ftp", "embedded FTP server on {local_addr} serving {}{}",
        root.display(), if tls.is_some() { " (explicit FTPS required)" } else { "" });
    let served = root.clone();
    let task = tokio::spawn(async move {
        let mut sessions = JoinSet::new();
        loop {
            tokio::select! {
                accepted = accept_control(&listener) => match accepted {
                    Ok((tcp, peer)) => {
                        tracing::debug!(target: "bg95::ftp", "embedded server: session from {peer}");
                        match build_session(&root, &auth, tls.as_deref()) {
                            Ok(server) => {
                                sessions.spawn(serve_session(server, tcp, tls.is_some()));
                            }
                            Err(e) => tracing::warn!(target: "bg95::ftp", "embedded server: {e}"),
                        }
                    }
                    Err(e) => {
                        tracing::warn!(target: "bg95::ftp", "embedded server accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            }
        }
    });
    Ok(EmbeddedServer {
        local_addr,
        root: served,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 42 ms wait for each `226` came from Nagle's algorithm on the server's control
    /// connection (see [`without_nagle`]); checked by the socket option, not by timing.
    #[tokio::test]
    async fn control_connections_are_served_without_nagle() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), accept_control(&listener));
        let (client, (served, _)) = (client.unwrap(), accepted.unwrap());
        assert!(served.nodelay().unwrap(), "accepted control connection");
        // The FTPS relay: libunftp's end of the loopback pair it is handed.
        let relayed_end = relayed(served).await.unwrap();
        assert!(relayed_end.nodelay().unwrap(), "relayed control connection");
        drop(client);
    }

    #[test]
    fn finds_a_234_reply_at_a_line_start_only() {
        let mut start = true;
        assert!(!has_reply_234(b"220 Welcome 234\r\n", &mut start));
        assert!(has_reply_234(b"234 Upgrading to TLS\r\n", &mut start));
        let mut start = true;
        assert!(!has_reply_234(b"331 x\r", &mut start));
        assert!(has_reply_234(b"\n234 y\r\n", &mut start));
    }

    /// libunftp logs its configuration (the authenticator) with `Debug`: users only.
    #[test]
    fn debug_output_never_holds_a_password() {
        let users = vec![("u".to_string(), "Qz7-pw-9Xk".to_string())];
        let auth = format!(
            "{:?}",
            TestAuthenticator {
                users: users.clone()
            }
        );
        assert_eq!(auth, r#"TestAuthenticator { users: [("u", "***")] }"#);
        let opts = format!("{:?}", ServerOptions { users, tls: None });
        assert!(opts.contains("\"u\"") && !opts.contains("Qz7"), "{opts}");
    }
}
