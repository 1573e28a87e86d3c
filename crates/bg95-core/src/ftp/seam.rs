//! The seam between the FTP session state machine (core) and the runtime that owns the
//! sockets: what the core asks for ([`FtpRequest`]), and what the runtime reports back
//! ([`FtpEvent`]). The runtime decides nothing a module decides; it performs one request at
//! a time and reports how it went, and the core maps every failure to `<err>,<protocol>`.

use crate::error::FtpError;

/// TLS settings of one connection, resolved from AT+QSSLCFG and UFS by the core.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSettings {
    /// 0 no authentication, 1 verify the server, 2 verify server and client.
    pub seclevel: u8,
    /// 0 SSL3.0, 1 TLS1.0, 2 TLS1.1, 3 TLS1.2, 4 all.
    pub sslversion: u8,
    /// PEM contents of the CA certificate file named by "cacert", if it exists in UFS.
    pub ca_pem: Option<Vec<u8>>,
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
    /// The one cipher suite allowed (its IANA code), or 0xFFFF for every suite.
    pub ciphersuite: u16,
    /// Send SNI.
    pub sni: bool,
    /// Check that the server certificate names the host ("checkhost").
    pub check_host: bool,
    /// Check certificate validity dates (AT+QSSLCFG="ignorelocaltime",<ctx>,0).
    pub check_time: bool,
    /// Handshake timeout in seconds ("negotiatetime").
    pub negotiate_secs: u32,
    /// The module clock's UTC time (Unix seconds) when the core built the request: the
    /// certificate validity check uses it instead of the host clock when `check_time`.
    pub module_time_unix: i64,
}

impl TlsSettings {
    /// True if the settings name files the handshake needs and UFS does not have:
    /// seclevel ≥ 1 without a CA certificate, seclevel 2 without a client certificate and
    /// key. The core answers 631 without asking the runtime.
    pub fn missing_credentials(&self) -> bool {
        (self.seclevel >= 1 && self.ca_pem.is_none())
            || (self.seclevel >= 2
                && (self.client_cert_pem.is_none() || self.client_key_pem.is_none()))
    }
}

/// Which FTP flavour QFTPCFG "ssltype" selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    Plain,
    /// ssltype 1: FTP over implicit TLS.
    Implicit {
        control: TlsSettings,
        data: TlsSettings,
    },
    /// ssltype 2: FTP over explicit TLS (AUTH TLS).
    Explicit {
        control: TlsSettings,
        data: TlsSettings,
    },
}

impl Security {
    /// True if either TLS context lacks a file it needs ([`TlsSettings::missing_credentials`]).
    pub fn missing_credentials(&self) -> bool {
        match self {
            Security::Plain => false,
            Security::Implicit { control, data } | Security::Explicit { control, data } => {
                control.missing_credentials() || data.missing_credentials()
            }
        }
    }
}

/// Everything needed to log in (AT+QFTPOPEN plus the QFTPCFG settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenParams {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// filetype 0 → `TYPE I`, 1 → `TYPE A`.
    pub binary: bool,
    /// transmode 1 → PASV/EPSV (server listens); 0 → PORT/EPRT (module listens).
    pub passive: bool,
    /// data_address 1: connect data sockets to the control connection's peer address
    /// instead of the address the server's PASV reply names.
    pub data_to_control_address: bool,
    pub security: Security,
}

/// What a download reads from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadSource {
    /// RETR.
    File(String),
    /// LIST.
    List(String),
    /// NLST.
    Nlst(String),
    /// MLSD.
    Mlsd(String),
}

/// One operation the core asks the runtime to perform on the FTP session.
// `Open` carries every TLS setting and is much larger than the rest; requests travel boxed
// in `Effect::Ftp` and are moved once each, so boxing the variant too would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FtpRequest {
    /// Resolve, connect, (TLS,) USER/PASS, TYPE. → `Done(Ok(Reply::Ok))`.
    Open(OpenParams),
    Cwd(String),
    /// → `Done(Ok(Reply::Path))`.
    Pwd,
    /// → `Done(Ok(Reply::Size))`.
    Size(String),
    Delete(String),
    Mkdir(String),
    Rmdir(String),
    Rename {
        from: String,
        to: String,
    },
    /// → `Done(Ok(Reply::Time))`.
    Mdtm(String),
    /// Open a data connection, send REST `offset` (if non-zero) and the command; report
    /// `DataReady` once the data connection is up, then `Data` chunks, only while the core
    /// wants them (backpressure), then `Done(Ok(Reply::Ok))` after the server's final reply.
    /// With `limit`, stop after that many bytes and drop the data connection; the server's
    /// final reply is reported as it is (a 426/451 for the early close is a `Reply`
    /// failure, which the core counts as success when the limit was reached).
    Download {
        source: DownloadSource,
        offset: u64,
        limit: Option<u64>,
    },
    /// Open a data connection for STOR (REST `offset` first when non-zero, or APPE when
    /// `append`), report `DataReady`, then take [`FtpRequest::UploadData`] chunks until
    /// [`FtpRequest::UploadEnd`].
    Upload {
        name: String,
        offset: u64,
        append: bool,
    },
    /// Bytes for the open upload, in order.
    UploadData(Vec<u8>),
    /// End of this upload's bytes. `close`: close the data connection and wait for the
    /// server's final reply, then `Done`. Without `close` (beof=0) the data connection stays
    /// open for the next QFTPPUT, and `Done(Ok(Reply::Ok))` follows once the bytes so far
    /// are written.
    UploadEnd {
        close: bool,
    },
    /// QUIT and close. → `Done(Ok(Reply::Ok))`, or `Done(Err(ControlClosed))` when the server
    /// was already gone (the core reports that drop as 606).
    Close,
    /// Drop every connection at once without waiting for anything (the core's one abort
    /// path: timeout, reset, power, PDP loss, …), then report [`FtpEvent::Aborted`]. Every
    /// request sent before the `Abort` is void: events of it that were already on their
    /// way come before that marker (the core ignores them), and nothing is reported for it
    /// after the marker — the core would take that for the answer to its next request.
    Abort,
}

impl FtpRequest {
    /// The request's name without its contents, for logs (an `Open` carries the password).
    pub fn kind(&self) -> &'static str {
        match self {
            FtpRequest::Open(_) => "Open",
            FtpRequest::Cwd(_) => "Cwd",
            FtpRequest::Pwd => "Pwd",
            FtpRequest::Size(_) => "Size",
            FtpRequest::Delete(_) => "Delete",
            FtpRequest::Mkdir(_) => "Mkdir",
            FtpRequest::Rmdir(_) => "Rmdir",
            FtpRequest::Rename { .. } => "Rename",
            FtpRequest::Mdtm(_) => "Mdtm",
            FtpRequest::Download { .. } => "Download",
            FtpRequest::Upload { .. } => "Upload",
            FtpRequest::UploadData(_) => "UploadData",
            FtpRequest::UploadEnd { .. } => "UploadEnd",
            FtpRequest::Close => "Close",
            FtpRequest::Abort => "Abort",
        }
    }
}

/// A successful outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Ok,
    /// PWD: the quoted path of the 257 reply, unquoted.
    Path(String),
    /// SIZE.
    Size(u64),
    /// MDTM: the timestamp as the server sent it (`YYYYMMDDHHMMSS[.sss]`).
    Time(String),
}

/// Why a request failed, as the runtime observed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The host name did not resolve.
    Resolve,
    /// The TCP connection was refused.
    Refused,
    /// The host or network was unreachable, or the connect timed out at the socket level.
    Unreachable,
    /// The TLS handshake or certificate verification failed.
    Tls,
    /// The server answered with a negative reply (its code is in `reply`).
    Reply,
    /// The control connection ended (EOF, reset) while a reply was awaited.
    ControlClosed,
    /// The data connection could not be opened (PASV/PORT failure, connect failure, 425).
    DataOpen,
    /// The data connection broke in the middle of a transfer.
    DataClosed,
    /// The peer reset a socket while the module was sending.
    PeerReset,
    /// A local file problem (UFS write failed).
    Local,
    /// Anything else.
    Other,
}

/// A failed request: what went wrong, and the last reply the server gave for this step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// The FTP reply code the runtime read last for this step, whatever it was (a data
    /// connection that broke may still be followed by the server's 226); 0 if the server
    /// did not answer. The core decides what the host sees ([`Failure::protocol_error`]).
    pub reply: u16,
}

impl Failure {
    pub fn new(kind: FailureKind, reply: u16) -> Self {
        Failure { kind, reply }
    }

    /// The URC's `<protocol_error>`: the server's code when it refused (4xx/5xx), 0 when it
    /// did not answer or answered positively (a broken data connection after a 226).
    pub fn protocol_error(self) -> u16 {
        if self.reply >= 400 {
            self.reply
        } else {
            0
        }
    }

    /// True for the reply a server gives when the module closed a download's data
    /// connection early (the `<downloadlen>` limit was reached): 426 or 451. The module
    /// counts that download as a success.
    pub fn is_early_close_reply(self) -> bool {
        self.kind == FailureKind::Reply && matches!(self.reply, 426 | 451)
    }

    /// The `<err>` code this failure reports (one table for every command).
    pub fn error(self) -> FtpError {
        match self.kind {
            FailureKind::Resolve => FtpError::DnsFailed,
            FailureKind::Refused => FtpError::ControlClosed,
            FailureKind::Unreachable => FtpError::Network,
            FailureKind::Tls => FtpError::SslFailed,
            FailureKind::Reply => FtpError::from_reply(self.reply),
            FailureKind::ControlClosed => FtpError::ControlClosed,
            FailureKind::DataOpen => FtpError::DataOpenFailed,
            FailureKind::DataClosed => FtpError::DataClosed,
            FailureKind::PeerReset => FtpError::PeerClosed,
            FailureKind::Local => FtpError::FileError,
            FailureKind::Other => FtpError::Unknown,
        }
    }
}

/// What the runtime reports about the FTP session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FtpEvent {
    /// The current request finished.
    Done(Result<Reply, Failure>),
    /// The data connection of the current Download/Upload is open.
    DataReady,
    /// Bytes of the current download.
    Data(Vec<u8>),
    /// The server closed the control connection while no request was running.
    ControlClosed,
    /// The answer to [`FtpRequest::Abort`]: every connection is gone.
    Aborted,
    /// The runtime lost the component that performs requests (the driver task ended) and
    /// started a new one: every connection and every request it held is gone, nothing in
    /// flight will be answered, and no `Aborted` marker will come. The core decides what the
    /// host hears.
    DriverLost,
}
