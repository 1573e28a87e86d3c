//! rustls (ring) client configurations from the core's [`TlsSettings`].
//!
//! - seclevel 0: no authentication. The certificate chain is accepted as presented
//!   ([`AcceptAnyCert`]); the handshake signatures are still checked, so the session is
//!   sound, only the server's identity is unverified — what the module does at seclevel 0.
//! - seclevel 1: the chain must verify against `ca_pem` (and name the host). No CA file:
//!   the core answers 631 itself and never sends the `Open` (`Security::missing_credentials`);
//!   the check here only guards the configuration builder.
//! - seclevel 2: as 1, and the client presents `client_cert_pem`/`client_key_pem`.
//! - `check_time` on (ignorelocaltime 0): validity dates are checked against the module's
//!   clock (`module_time_unix`, which a host sets with AT+CCLK or AT+QNTP), not the host's;
//!   off (ignorelocaltime 1): certificates outside their validity dates are accepted (other
//!   verification errors still fail).
//! - `check_host` off (checkhost 0): a certificate for another name is accepted (the chain
//!   must still verify); on, it must name the host the module connected to.
//! - sslversion 3 → TLS 1.2 only; 4 → TLS 1.2 and 1.3. rustls implements neither SSL 3.0 nor
//!   TLS 1.0/1.1, so 0, 1 and 2 fail before the handshake with a `Tls` failure (631), as a
//!   module whose only version the server refuses would.
//! - ciphersuite: one IANA code restricts the handshake to that suite (and to the versions
//!   it belongs to); 0xFFFF offers every suite rustls has. The core accepts only codes
//!   rustls has (`bg95_core::ftp::CIPHERSUITES`).
//!
//! Control and data connections share one session store, so data connections resume the
//! control connection's session (vsftpd `require_ssl_reuse=YES`).
//!
//! [`FtpTls`] is the connector handed to suppaftp (`into_secure`, `connect_secure_implicit`):
//! suppaftp has one connector per session, the module has two TLS contexts (`sslctxid` for
//! the control connection, `data_sslctxid` for data connections), so the connector uses the
//! control configuration for its first handshake and the data configuration for every later
//! one. It also records whether the control handshake was attempted, which is how the
//! session tells a refused `AUTH TLS` (connector never called) from a failed handshake.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use suppaftp::tokio::{AsyncRustlsStream, AsyncTlsConnector};
use suppaftp::{FtpError, FtpResult};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use bg95_core::ftp::{Failure, FailureKind, TlsSettings};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{
    ClientSessionMemoryCache, ClientSessionStore, Resumption, WebPkiServerVerifier,
};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

fn tls_failure(what: &str) -> Failure {
    tracing::warn!(target: "bg95::ftp", "TLS configuration: {what}");
    Failure::new(FailureKind::Tls, 0)
}

/// A session store shared by the control and data configurations of one session.
fn session_store() -> Arc<dyn ClientSessionStore> {
    Arc::new(ClientSessionMemoryCache::new(16))
}

/// Build a client configuration, or a `Tls` failure if the settings cannot work.
fn client_config(
    s: &TlsSettings,
    store: Arc<dyn ClientSessionStore>,
) -> Result<Arc<ClientConfig>, Failure> {
    let (provider, versions) = provider_for(s)?;
    let provider = Arc::new(provider);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| tls_failure(&e.to_string()))?;
    let verifier: Arc<dyn ServerCertVerifier> = if s.seclevel == 0 {
        Arc::new(AcceptAnyCert(provider.signature_verification_algorithms))
    } else {
        let Some(ca) = s.ca_pem.as_deref() else {
            return Err(tls_failure(
                "seclevel needs a CA certificate and none is configured",
            ));
        };
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca) {
            let cert = cert.map_err(|e| tls_failure(&format!("CA file: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| tls_failure(&format!("CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(tls_failure("the CA file holds no certificate"));
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| tls_failure(&e.to_string()))?;
        Arc::new(Verifier {
            inner: webpki,
            check_time: s.check_time,
            check_host: s.check_host,
            clock_offset: s.module_time_unix - host_unix_now(),
        })
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = if s.seclevel >= 2 {
        let (Some(cert), Some(key)) = (s.client_cert_pem.as_deref(), s.client_key_pem.as_deref())
        else {
            return Err(tls_failure("seclevel 2 needs a client certificate and key"));
        };
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| tls_failure(&format!("client certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| tls_failure(&format!("client key: {e}")))?;
        builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| tls_failure(&e.to_string()))?
    } else {
        builder.with_no_client_auth()
    };
    config.enable_sni = s.sni;
    config.resumption = Resumption::store(store);
    Ok(Arc::new(config))
}

/// The crypto provider (ring, with the cipher suites "ciphersuite" allows) and the protocol
/// versions "sslversion" selects, or a `Tls` failure when rustls cannot speak them.
fn provider_for(
    s: &TlsSettings,
) -> Result<
    (
        rustls::crypto::CryptoProvider,
        Vec<&'static rustls::SupportedProtocolVersion>,
    ),
    Failure,
> {
    let mut provider = rustls::crypto::ring::default_provider();
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = match s.sslversion {
        3 => vec![&rustls::version::TLS12],
        4 => rustls::ALL_VERSIONS.to_vec(),
        v => {
            let name = ["SSL 3.0", "TLS 1.0", "TLS 1.1"]
                .get(usize::from(v))
                .unwrap_or(&"?");
            return Err(tls_failure(&format!(
                "sslversion {v} ({name}) is not available"
            )));
        }
    };
    if s.ciphersuite != 0xFFFF {
        provider
            .cipher_suites
            .retain(|c| u16::from(c.suite()) == s.ciphersuite);
        let Some(suite) = provider.cipher_suites.first() else {
            return Err(tls_failure(&format!(
                "cipher suite 0X{:04X} is not available",
                s.ciphersuite
            )));
        };
        let version = suite.version();
        versions.retain(|v| *v == version);
        if versions.is_empty() {
            return Err(tls_failure(&format!(
                "cipher suite 0X{:04X} does not exist in sslversion {}",
                s.ciphersuite, s.sslversion
            )));
        }
    }
    Ok((provider, versions))
}

/// One side's connector and its handshake deadline (`negotiatetime`).
struct Side {
    connector: TlsConnector,
    timeout: Option<Duration>,
}

struct Shared {
    control: Side,
    data: Side,
    name: ServerName<'static>,
    /// The control handshake has started (every later handshake is a data connection's).
    control_started: AtomicBool,
    /// A fault asks the next handshake to fail (as a bad certificate would).
    fail_next: AtomicBool,
}

/// The session's TLS connector (see the module docs). Cheap to clone: the session keeps
/// one handle, suppaftp owns another.
#[derive(Clone)]
pub(crate) struct FtpTls(Arc<Shared>);

impl std::fmt::Debug for FtpTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FtpTls")
            .field("name", &self.0.name)
            .finish_non_exhaustive()
    }
}

fn negotiate_timeout(s: &TlsSettings) -> Option<Duration> {
    (s.negotiate_secs > 0).then(|| Duration::from_secs(u64::from(s.negotiate_secs)))
}

impl FtpTls {
    /// Both configurations of a session, sharing one session store; a `Tls` failure if the
    /// settings cannot work.
    pub(crate) fn new(
        control: &TlsSettings,
        data: &TlsSettings,
        host: &str,
    ) -> Result<FtpTls, Failure> {
        let store = session_store();
        let ctrl_config = client_config(control, store.clone())?;
        let data_config = if data == control {
            ctrl_config.clone()
        } else {
            client_config(data, store)?
        };
        Ok(FtpTls(Arc::new(Shared {
            control: Side {
                connector: TlsConnector::from(ctrl_config),
                timeout: negotiate_timeout(control),
            },
            data: Side {
                connector: TlsConnector::from(data_config),
                timeout: negotiate_timeout(data),
            },
            name: server_name(host)?,
            control_started: AtomicBool::new(false),
            fail_next: AtomicBool::new(false),
        })))
    }

    /// Whether the control handshake was attempted (AUTH TLS was accepted, or implicit TLS
    /// reached its handshake).
    pub(crate) fn control_started(&self) -> bool {
        self.0.control_started.load(Ordering::Acquire)
    }

    /// Make the next handshake fail (the fault seam's `ConnectFault::TlsFailure`).
    pub(crate) fn fail_next(&self) {
        self.0.fail_next.store(true, Ordering::Release);
    }

    /// A data connection's handshake (active mode, where the driver owns the data socket).
    pub(crate) async fn connect_data(&self, tcp: TcpStream) -> FtpResult<AsyncRustlsStream> {
        self.0.control_started.store(true, Ordering::Release);
        self.handshake(&self.0.data, tcp).await
    }

    async fn handshake(&self, side: &Side, tcp: TcpStream) -> FtpResult<AsyncRustlsStream> {
        if self.0.fail_next.swap(false, Ordering::AcqRel) {
            return Err(FtpError::SecureError("handshake failed (fault)".into()));
        }
        let connect = side.connector.connect(self.0.name.clone(), tcp);
        let tls = match side.timeout {
            Some(t) => tokio::time::timeout(t, connect)
                .await
                .map_err(|_| FtpError::SecureError("TLS handshake timed out".into()))?,
            None => connect.await,
        };
        tls.map(AsyncRustlsStream::from).map_err(|e| {
            tracing::info!(target: "bg95::ftp", "TLS handshake: {e}");
            FtpError::SecureError(e.to_string())
        })
    }
}

#[async_trait::async_trait]
impl AsyncTlsConnector for FtpTls {
    type Stream = AsyncRustlsStream;

    /// suppaftp passes the host it was given; the name was checked when the connector was
    /// built, so that one is used.
    async fn connect(&self, _domain: &str, stream: TcpStream) -> FtpResult<Self::Stream> {
        let first = !self.0.control_started.swap(true, Ordering::AcqRel);
        let side = if first { &self.0.control } else { &self.0.data };
        self.handshake(side, stream).await
    }
}

/// The name the server certificate is checked against (and sent as SNI when enabled).
fn server_name(host: &str) -> Result<ServerName<'static>, Failure> {
    ServerName::try_from(host.to_string())
        .map_err(|e| tls_failure(&format!("server name {host:?}: {e}")))
}

/// seclevel 0: accept whatever certificate the server presents (the module does not
/// authenticate the server at this level). Handshake signatures are still verified against
/// the presented key, so the TLS session itself is intact.
#[derive(Debug)]
struct AcceptAnyCert(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// The host's clock in seconds since the epoch.
fn host_unix_now() -> i64 {
    UnixTime::now().as_secs() as i64
}

/// seclevel ≥ 1: webpki verification, optionally ignoring validity dates and the name.
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    check_time: bool,
    check_host: bool,
    /// The module's clock minus the host's, in seconds, when the session was opened: a
    /// certificate is checked against the module's idea of now (data connections later in
    /// the session too).
    clock_offset: i64,
}

impl Verifier {
    fn module_now(&self, host_now: UnixTime) -> UnixTime {
        let secs = (host_now.as_secs() as i64).saturating_add(self.clock_offset);
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs.max(0) as u64))
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            self.module_now(now),
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. },
            )) if !self.check_time => {
                tracing::debug!(target: "bg95::ftp", "certificate outside its validity dates accepted (ignorelocaltime)");
                Ok(ServerCertVerified::assertion())
            }
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_host => {
                tracing::debug!(target: "bg95::ftp", "certificate for another name accepted (checkhost 0)");
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(sslversion: u8, ciphersuite: u16) -> TlsSettings {
        TlsSettings {
            sslversion,
            ciphersuite,
            ..TlsSettings::default()
        }
    }

    #[test]
    fn sslversion_maps_to_what_rustls_speaks() {
        let (_, v) = provider_for(&settings(4, 0xFFFF)).unwrap();
        assert_eq!(v, rustls::ALL_VERSIONS.to_vec());
        let (_, v) = provider_for(&settings(3, 0xFFFF)).unwrap();
        assert_eq!(v, vec![&rustls::version::TLS12]);
        for old in 0..=2 {
            let e = provider_for(&settings(old, 0xFFFF)).unwrap_err();
            assert_eq!(e, Failure::new(FailureKind::Tls, 0));
        }
    }

    #[test]
    fn one_cipher_suite_restricts_suites_and_versions() {
        let (p, v) = provider_for(&settings(4, 0xC02F)).unwrap();
        let codes: Vec<u16> = p
            .cipher_suites
            .iter()
            .map(|c| u16::from(c.suite()))
            .collect();
        assert_eq!(codes, vec![0xC02F]);
        assert_eq!(v, vec![&rustls::version::TLS12]);
        // A TLS 1.3 suite cannot be had with TLS 1.2 only.
        assert!(provider_for(&settings(3, 0x1301)).is_err());
        // A suite rustls does not have.
        assert!(provider_for(&settings(4, 0x0035)).is_err());
        // Every suite the core accepts exists here.
        for code in bg95_core::ftp::CIPHERSUITES {
            assert!(provider_for(&settings(4, code)).is_ok(), "{code:04X}");
        }
    }
}
