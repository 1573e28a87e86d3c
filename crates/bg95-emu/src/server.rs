//! The embedded FTP server: libunftp over a directory (unftp-sbe-fs), one fixed account
//! `test`/`test` (anything else → `530`). Plain FTP, passive mode only (libunftp answers
//! PORT/EPRT with `502 Active mode not enabled.`).
//!
//! The control listener is bound here (port 0 allowed, [`EmbeddedServer::local_addr`] tells
//! the real port) and each accepted connection is handed to libunftp's `Server::service`.
//! Passive data ports are bound by libunftp on the control connection's local address, at a
//! random port of 49152–65535 with retries when a port is taken, so servers running in
//! parallel do not collide.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use libunftp::options::PassiveHost;
use libunftp::ServerBuilder;
use tokio::net::TcpListener;
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

/// A running embedded server; stops (closing every session) when dropped.
#[derive(Debug)]
pub struct EmbeddedServer {
    local_addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl EmbeddedServer {
    /// The address the server listens on (with the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
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
#[derive(Debug)]
struct TestAuthenticator {
    users: Vec<(String, String)>,
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

/// Start serving `root` on `addr` (on the current tokio runtime).
pub async fn start_embedded(
    addr: SocketAddr,
    root: PathBuf,
) -> Result<EmbeddedServer, ServerError> {
    start_embedded_with_users(addr, root, vec![(USER.into(), PASSWORD.into())]).await
}

/// Start serving `root` on `addr` for these accounts (a scenario's `[ftp_server] users`).
pub async fn start_embedded_with_users(
    addr: SocketAddr,
    root: PathBuf,
    users: Vec<(String, String)>,
) -> Result<EmbeddedServer, ServerError> {
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
    tracing::info!(target: "bg95::ftp", "embedded FTP server on {local_addr} serving {}", root.display());
    let task = tokio::spawn(async move {
        let mut sessions = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        tracing::debug!(target: "bg95::ftp", "embedded server: session from {peer}");
                        if let Err(e) = Filesystem::new(root.clone()) {
                            tracing::warn!(target: "bg95::ftp", "embedded server root {}: {e}", root.display());
                            continue; // drops the connection
                        }
                        let root = root.clone();
                        let auth = auth.clone();
                        let built = ServerBuilder::with_authenticator(
                            Box::new(move || {
                                // Opened just above; only a root removed in between fails here,
                                // and the panic ends that session's task only.
                                Filesystem::new(root.clone()).expect("embedded server root vanished")
                            }),
                            auth,
                        )
                        .greeting("Welcome to the bg95-emu FTP server")
                        .passive_host(PassiveHost::FromConnection)
                        .passive_ports(49152..=65535)
                        .build();
                        match built {
                            Ok(server) => {
                                sessions.spawn(async move {
                                    if let Err(e) = server.service(tcp).await {
                                        tracing::debug!(target: "bg95::ftp", "embedded server session: {e}");
                                    }
                                });
                            }
                            Err(e) => tracing::warn!(target: "bg95::ftp", "embedded server: {e}"),
                        }
                    }
                    Err(e) => {
                        tracing::warn!(target: "bg95::ftp", "embedded server accept: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            }
        }
    });
    Ok(EmbeddedServer { local_addr, task })
}
