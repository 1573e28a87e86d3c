//! Sockets of an FTP session: a plain-or-TLS stream type shared by control and data
//! connections, and the control connection with a cancellation-safe reply reader.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bg95_core::ftp::{Failure, FailureKind};
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf,
};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The longest reply (all lines) accepted from a server.
const MAX_REPLY: usize = 64 * 1024;

/// A TCP connection, with or without TLS.
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// One complete (possibly multi-line) server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub code: u16,
    /// The reply's lines without CRLF, the first one starting with the code.
    pub lines: Vec<String>,
}

impl Reply {
    /// 2xx.
    pub(crate) fn is_complete(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 1xx.
    pub(crate) fn is_preliminary(&self) -> bool {
        (100..200).contains(&self.code)
    }

    /// The text of the first line after the code and its separator.
    pub(crate) fn message(&self) -> &str {
        self.lines.first().and_then(|l| l.get(4..)).unwrap_or("")
    }

    /// A failure carrying this reply's code.
    pub(crate) fn failure(&self, kind: FailureKind) -> Failure {
        Failure::new(kind, self.code)
    }
}

pub(crate) fn closed() -> Failure {
    Failure::new(FailureKind::ControlClosed, 0)
}

/// The control connection.
///
/// [`Control::reply`] keeps its partial state in `self`, so it is cancellation safe: the
/// idle watcher can race it against the request channel and drop it at any await point
/// without losing or duplicating reply bytes (`read_until` is cancellation safe and appends
/// whatever it consumed to `self.line`).
#[derive(Debug)]
pub(crate) struct Control {
    io: BufReader<Stream>,
    line: Vec<u8>,
    lines: Vec<String>,
    code: Option<u16>,
    reply_len: usize,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// The last socket failure came from the TLS layer (e.g. an alert: the server refused
    /// our certificate after a TLS 1.3 handshake that looked complete).
    pub tls_failed: bool,
}

fn is_tls_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
}

impl Control {
    pub(crate) fn new(stream: Stream) -> io::Result<Control> {
        let peer = stream.tcp().peer_addr()?;
        let local = stream.tcp().local_addr()?;
        Ok(Control {
            io: BufReader::new(stream),
            line: Vec::new(),
            lines: Vec::new(),
            code: None,
            reply_len: 0,
            peer,
            local,
            tls_failed: false,
        })
    }

    /// Take the socket back (for AUTH TLS). `None` if the server already sent bytes that
    /// would be lost (it must not, before the handshake).
    pub(crate) fn into_stream(self) -> Option<Stream> {
        if !self.io.buffer().is_empty() || !self.line.is_empty() {
            return None;
        }
        Some(self.io.into_inner())
    }

    /// Send one command line. Never logs a password.
    pub(crate) async fn send(&mut self, command: &str) -> Result<(), Failure> {
        if command.contains(['\r', '\n']) {
            // A CR/LF in a name would smuggle a second command to the server.
            return Err(Failure::new(FailureKind::Other, 0));
        }
        if command.starts_with("PASS ") {
            tracing::debug!(target: "bg95::ftp", "-> PASS ****");
        } else {
            tracing::debug!(target: "bg95::ftp", "-> {command}");
        }
        let mut line = Vec::with_capacity(command.len() + 2);
        line.extend_from_slice(command.as_bytes());
        line.extend_from_slice(b"\r\n");
        let stream = self.io.get_mut();
        let sent = async {
            stream.write_all(&line).await?;
            stream.flush().await
        };
        let result = sent.await;
        result.map_err(|e| {
            tracing::debug!(target: "bg95::ftp", "control write failed: {e}");
            self.tls_failed = is_tls_error(&e);
            closed()
        })
    }

    /// Send a command and read its reply (whatever the code).
    pub(crate) async fn command(&mut self, command: &str) -> Result<Reply, Failure> {
        self.send(command).await?;
        self.reply().await
    }

    /// Read one complete reply. EOF or a socket error → `ControlClosed`; a malformed or
    /// oversized reply → `Other`.
    pub(crate) async fn reply(&mut self) -> Result<Reply, Failure> {
        loop {
            let room = (MAX_REPLY + 1).saturating_sub(self.reply_len + self.line.len()) as u64;
            let n = match (&mut self.io)
                .take(room)
                .read_until(b'\n', &mut self.line)
                .await
            {
                Ok(n) => n,
                Err(e) => {
                    tracing::debug!(target: "bg95::ftp", "control read failed: {e}");
                    self.tls_failed = is_tls_error(&e);
                    self.reset();
                    return Err(closed());
                }
            };
            if n == 0 {
                // EOF (a zero `room` cannot happen: the size check below comes first).
                self.reset();
                return Err(closed());
            }
            if self.reply_len + self.line.len() > MAX_REPLY {
                tracing::warn!(target: "bg95::ftp", "reply longer than {MAX_REPLY} bytes");
                self.reset();
                return Err(Failure::new(FailureKind::Other, 0));
            }
            if !self.line.ends_with(b"\n") {
                // EOF in the middle of a line: the next read returns 0.
                continue;
            }
            self.reply_len += self.line.len();
            let raw = std::mem::take(&mut self.line);
            let text = String::from_utf8_lossy(&raw)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            let bytes = text.as_bytes();
            let code_here = (bytes.len() >= 3 && bytes[..3].iter().all(u8::is_ascii_digit))
                .then(|| text[..3].parse::<u16>().ok())
                .flatten();
            match self.code {
                None => {
                    let Some(code) = code_here else {
                        tracing::warn!(target: "bg95::ftp", "malformed reply {text:?}");
                        self.reset();
                        return Err(Failure::new(FailureKind::Other, 0));
                    };
                    let multi = bytes.get(3) == Some(&b'-');
                    self.lines.push(text);
                    if multi {
                        self.code = Some(code);
                        continue;
                    }
                    return Ok(self.finish(code));
                }
                Some(code) => {
                    let last = code_here == Some(code) && matches!(bytes.get(3), None | Some(b' '));
                    self.lines.push(text);
                    if last {
                        return Ok(self.finish(code));
                    }
                }
            }
        }
    }

    fn finish(&mut self, code: u16) -> Reply {
        let lines = std::mem::take(&mut self.lines);
        self.reset();
        tracing::debug!(target: "bg95::ftp", "<- {}", lines.first().map(String::as_str).unwrap_or(""));
        Reply { code, lines }
    }

    fn reset(&mut self) {
        self.line.clear();
        self.lines.clear();
        self.code = None;
        self.reply_len = 0;
    }
}
