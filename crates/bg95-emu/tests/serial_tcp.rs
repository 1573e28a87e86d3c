//! Serial over TCP (`serve --tcp`, `serve --rfc2217`, docs/serial-tcp.md) against a real
//! emulator: a raw socket host, one host at a time, a reconnect as a tty reopen; an RFC 2217
//! client written from the RFC (telnet option negotiation, SET-BAUDRATE pacing the line,
//! SET-CONTROL DTR off pausing a COM: download as `+++` does).

mod host;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bg95_emu::serial_tcp::SerialProtocol;
use bg95_emu::Emulator;

const WAIT: Duration = Duration::from_secs(30);
const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const WILL: u8 = 251;
const DO: u8 = 253;
const COM_PORT: u8 = 44;

fn addr_of(emu: &Emulator, p: SerialProtocol) -> SocketAddr {
    emu.serial_tcp()
        .iter()
        .find(|(q, _)| *q == p)
        .map(|(_, a)| *a)
        .expect("a serial address")
}

/// A host's socket with the bytes read but not yet expected.
struct Conn {
    s: TcpStream,
    pending: Vec<u8>,
}

impl Conn {
    fn new(s: TcpStream) -> Conn {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Conn {
            s,
            pending: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// Wait for a telnet answer and take it out of the stream, leaving the serial bytes
    /// around it pending.
    fn take_telnet(&mut self, answer: &[u8]) {
        self.read_until_then(answer, |pending, at| {
            pending.drain(at..at + answer.len());
            Vec::new()
        });
    }

    /// Read until `needle` has arrived; everything up to its end (the rest stays pending).
    fn read_until(&mut self, needle: &[u8]) -> Vec<u8> {
        self.read_until_then(needle, |pending, at| {
            let rest = pending.split_off(at + needle.len());
            std::mem::replace(pending, rest)
        })
    }

    fn read_until_then(
        &mut self,
        needle: &[u8],
        take: impl FnOnce(&mut Vec<u8>, usize) -> Vec<u8>,
    ) -> Vec<u8> {
        let deadline = Instant::now() + WAIT;
        let mut buf = [0u8; 65536];
        loop {
            if let Some(at) = self.pending.windows(needle.len()).position(|w| w == needle) {
                return take(&mut self.pending, at);
            }
            assert!(
                Instant::now() < deadline,
                "waited for {:?}, got {:?}",
                String::from_utf8_lossy(needle),
                String::from_utf8_lossy(&self.pending[self.pending.len().saturating_sub(300)..])
            );
            match self.s.read(&mut buf) {
                Ok(0) => panic!("closed; got {:?}", String::from_utf8_lossy(&self.pending)),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}

#[test]
fn raw_tcp_one_host_at_a_time_and_reconnect_is_a_reopen() {
    let emu = Emulator::builder()
        .serial_tcp(SerialProtocol::Raw, "127.0.0.1:0".parse().unwrap())
        .spawn()
        .unwrap();
    let addr = addr_of(&emu, SerialProtocol::Raw);
    let mut a = Conn::new(TcpStream::connect(addr).unwrap());
    // The boot URCs wait in the tty for the first host, as for a PTY host that opens late.
    a.read_until(b"APP RDY\r\n");
    a.send(b"ATE0\r");
    a.read_until(b"ATE0\r\r\nOK\r\n");
    a.send(b"AT+CSQ\r");
    a.read_until(b"\r\n+CSQ: 24,99\r\n\r\nOK\r\n");

    // A second host is turned away while the first is connected.
    let mut b = TcpStream::connect(addr).unwrap();
    b.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(b.read(&mut buf).unwrap(), 0, "the second host is closed");

    // The first host goes; a new one is a host reopening the tty: the module goes on.
    drop(a);
    let deadline = Instant::now() + WAIT;
    let c = loop {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"AT\r").unwrap();
        c.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut got = [0u8; 64];
        match c.read(&mut got) {
            Ok(n) if n > 0 => {
                assert_eq!(&got[..n], b"\r\nOK\r\n");
                break c;
            }
            // Still turned away: the old session is ending.
            _ => assert!(Instant::now() < deadline, "no reconnect"),
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut c = Conn::new(c);
    c.send(b"ATI\r");
    c.read_until(b"OK\r\n");
}

/// The bytes an RFC 2217 client sends first (pyserial's requests), and the option
/// negotiation finished: the server's DO COM-PORT-OPTION answer arrives.
fn rfc2217_open(addr: SocketAddr) -> Conn {
    let mut s = Conn::new(TcpStream::connect(addr).unwrap());
    s.send(&[
        IAC, DO, 1, IAC, WILL, 3, IAC, DO, 3, IAC, DO, COM_PORT, IAC, WILL, COM_PORT,
    ]);
    s.take_telnet(&[IAC, DO, COM_PORT]);
    s
}

fn set_control(s: &mut Conn, value: u8) {
    s.send(&[IAC, SB, COM_PORT, 5, value, IAC, SE]);
    s.take_telnet(&[IAC, SB, COM_PORT, 105, value, IAC, SE]);
}

#[test]
fn rfc2217_baud_paces_the_line_and_dtr_drop_pauses_a_download() {
    let root = tempfile::tempdir().unwrap();
    // Big enough that the download is still running when DTR drops: at 921600 baud it
    // would take about 40 s.
    std::fs::write(root.path().join("big.bin"), vec![b'x'; 4 << 20]).unwrap();
    let emu = Emulator::builder()
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .ftp_root(root.path())
        .serial_tcp(SerialProtocol::Rfc2217, "127.0.0.1:0".parse().unwrap())
        .spawn()
        .unwrap();
    let ftp = emu.ftp_addr().unwrap();
    let mut s = rfc2217_open(addr_of(&emu, SerialProtocol::Rfc2217));
    // SET-BAUDRATE 921600: answered with the rate in force.
    let r = 921_600u32.to_be_bytes();
    s.send(&[IAC, SB, COM_PORT, 1, r[0], r[1], r[2], r[3], IAC, SE]);
    s.take_telnet(&[IAC, SB, COM_PORT, 101, r[0], r[1], r[2], r[3], IAC, SE]);
    set_control(&mut s, 8);
    s.read_until(b"APP RDY\r\n");
    s.send(b"ATE0\r");
    s.read_until(b"OK\r\n");
    let open = format!("AT+QFTPOPEN=\"127.0.0.1\",{}\r", ftp.port());
    for (cmd, want) in [
        ("AT+QIACT=1\r", "\r\nOK\r\n"),
        ("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n"),
        (open.as_str(), "\r\n+QFTPOPEN: 0,0\r\n"),
    ] {
        s.send(cmd.as_bytes());
        s.read_until(want.as_bytes());
    }
    s.send(b"AT+QFTPGET=\"big.bin\",\"COM:\"\r");
    s.read_until(b"\r\nCONNECT\r\n");
    s.read_until(&[b'x'; 64]);
    // DTR off (AT&D1, the default): data mode ends as after a guarded `+++`: what is on
    // its way, then `OK`.
    set_control(&mut s, 9);
    let rest = s.read_until(b"\r\nOK\r\n");
    let data = &rest[..rest.len() - 6];
    assert!(
        data.iter().all(|&b| b == b'x'),
        "only file bytes before the OK"
    );
    // Paced at 921600 baud, the download was far from over.
    assert!(data.len() < 2 << 20, "{} bytes", data.len());
    set_control(&mut s, 8);
    s.send(b"AT+QFTPSTAT\r");
    // The session is still transferring (paused), as AT+QFTPSTAT says it.
    s.read_until(b"\r\nOK\r\n\r\n+QFTPSTAT: 0,2\r\n");
}
