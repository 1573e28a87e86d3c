//! A typical host driver's start-up through the PTY, every answer byte-exact against the
//! spec (general-commands.md), then an FTP session to the embedded server. Plus the runtime
//! side of AT+QIDNSGIP, AT+QPING and AT+QGDCNT: the one resolver, the TCP probe, and the
//! traffic counters handed to the core before host input.

mod host;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use bg95_emu::net::{Resolver, Traffic};
use bg95_emu::Emulator;
use host::Host;

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// (year, month, day, h, m, s) of Unix seconds, by counting days (independent of the
/// core's formatter).
fn broken_down(unix: i64) -> (i64, i64, i64, i64, i64, i64) {
    let mut days = unix / 86_400;
    let secs = unix % 86_400;
    let mut year = 1970;
    loop {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let len = if leap { 366 } else { 365 };
        if days < len {
            let months = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            let mut month = 1;
            for m in months {
                if days < m {
                    break;
                }
                days -= m;
                month += 1;
            }
            return (
                year,
                month,
                days + 1,
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
            );
        }
        days -= len;
        year += 1;
    }
}

/// Read one line `<prefix>"<time>"\r\n` and check that the time is the host's UTC at some
/// second between `from` and now, formatted by `fmt`.
fn expect_time(h: &mut Host, prefix: &str, from: i64, fmt: fn(i64) -> String) {
    h.expect(prefix.as_bytes());
    let line = h.read_until(b"\r\n");
    let got = String::from_utf8_lossy(&line).into_owned();
    let to = unix_now();
    let ok = (from..=to).any(|t| got == format!("\"{}\"\r\n", fmt(t)));
    assert!(
        ok,
        "{prefix}{got:?} is not the host's UTC between {from} and {to}"
    );
}

fn cclk(t: i64) -> String {
    let (y, mo, d, h, mi, s) = broken_down(t);
    format!("{:02}/{mo:02}/{d:02},{h:02}:{mi:02}:{s:02}+00", y % 100)
}

fn qntp(t: i64) -> String {
    let (y, mo, d, h, mi, s) = broken_down(t);
    format!("{y:04}/{mo:02}/{d:02},{h:02}:{mi:02}:{s:02}+00")
}

#[test]
fn driver_start_up_then_ftp_session() {
    let root = tempfile::tempdir().unwrap();
    let payload: Vec<u8> = (0..3000u32).map(|i| (i * 13 % 256) as u8).collect();
    std::fs::write(root.path().join("startup.bin"), &payload).unwrap();
    let start = unix_now();
    let emu = Emulator::builder()
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .ftp_root(root.path())
        .spawn()
        .unwrap();
    let port = emu.ftp_addr().unwrap().port();
    let mut h = Host::open(emu.tty_path());
    h.boot_echo_off();
    h.chat("AT+CMEE=2\r", "\r\nOK\r\n");
    h.chat("AT+CPIN?\r", "\r\n+CPIN: READY\r\n\r\nOK\r\n");
    h.chat(
        "AT+QCFG=\"nwscanseq\"\r",
        "\r\n+QCFG: \"nwscanseq\",020301\r\n\r\nOK\r\n",
    );
    h.chat(
        "AT+QCFG=\"iotopmode\"\r",
        "\r\n+QCFG: \"iotopmode\",2\r\n\r\nOK\r\n",
    );
    h.chat("AT+CEREG=2\r", "\r\nOK\r\n");
    h.chat(
        "AT+COPS?\r",
        "\r\n+COPS: 0,0,\"CHINA MOBILE\",8\r\n\r\nOK\r\n",
    );
    h.chat(
        "AT+QNWINFO\r",
        "\r\n+QNWINFO: \"eMTC\",\"46000\",\"LTE BAND 20\",6300\r\n\r\nOK\r\n",
    );
    h.chat("AT+CGATT?\r", "\r\n+CGATT: 1\r\n\r\nOK\r\n");
    h.chat("AT+QICSGP=1,1,\"apn\"\r", "\r\nOK\r\n");
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+CGACT?\r", "\r\n+CGACT: 1,1\r\n\r\nOK\r\n");
    h.chat(
        "AT+CGPADDR=1\r",
        "\r\n+CGPADDR: 1,\"10.7.157.1\"\r\n\r\nOK\r\n",
    );
    // The system resolver; an IPv4 context lists the IPv4 addresses of localhost.
    h.chat("AT+QIDNSGIP=1,\"localhost\"\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QIURC: \"dnsgip\",0,1,600\r\n");
    h.expect(b"\r\n+QIURC: \"dnsgip\",\"127.0.0.1\"\r\n");
    // No time server is contacted: the answer is the host's UTC, after a short delay.
    h.chat("AT+QNTP=1,\"pool.ntp.org\"\r", "\r\nOK\r\n");
    expect_time(&mut h, "\r\n+QNTP: 0,", start, qntp);
    h.send(b"AT+CCLK?\r");
    expect_time(&mut h, "\r\n+CCLK: ", start, cclk);
    h.expect(b"\r\nOK\r\n");

    h.chat("AT+QFTPCFG=\"contextid\",1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    h.chat(&format!("AT+QFTPOPEN=\"127.0.0.1\",{port}\r"), "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPOPEN: 0,0\r\n");
    h.chat("AT+QFTPGET=\"startup.bin\",\"COM:\"\r", "\r\nCONNECT\r\n");
    assert_eq!(h.read_exact(payload.len()), payload);
    h.expect(format!("\r\nOK\r\n\r\n+QFTPGET: 0,{}\r\n", payload.len()).as_bytes());
    h.chat("AT+QFTPCLOSE\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPCLOSE: 0,0\r\n");
    // AT+QGDCNT counts what the FTP session really moved: the commands sent, the
    // greeting and replies and the 3000 data bytes received.
    h.send(b"AT+QGDCNT?\r");
    h.expect(b"\r\n+QGDCNT: ");
    let line = h.read_until(b"\r\n\r\nOK\r\n");
    let text = String::from_utf8_lossy(&line[..line.len() - 8]).into_owned();
    let (sent, received) = text.split_once(',').expect("<sent>,<received>");
    let (sent, received): (u64, u64) = (sent.parse().unwrap(), received.parse().unwrap());
    // USER, PASS, TYPE, PASV/EPSV, RETR, QUIT at least.
    assert!(sent >= 40, "{text}");
    assert!(received > payload.len() as u64, "{text}");
    assert_eq!(h.drain_for(std::time::Duration::from_millis(200)), b"");
}

#[test]
fn qgdcnt_reads_what_the_network_side_counted() {
    let traffic = Traffic::default();
    let emu = Emulator::builder()
        .traffic(traffic.clone())
        .spawn()
        .unwrap();
    let mut h = Host::open(emu.tty_path());
    h.boot_echo_off();
    h.chat("AT+QGDCNT?\r", "\r\n+QGDCNT: 0,0\r\n\r\nOK\r\n");
    traffic.add_sent(1200);
    traffic.add_received(34_000);
    h.chat("AT+QGDCNT?\r", "\r\n+QGDCNT: 1200,34000\r\n\r\nOK\r\n");
    traffic.add_sent(5);
    h.chat("AT+QGDCNT?\r", "\r\n+QGDCNT: 1205,34000\r\n\r\nOK\r\n");
    h.chat("AT+QGDCNT=0\r", "\r\nOK\r\n");
    traffic.add_received(7);
    h.chat("AT+QGDCNT?\r", "\r\n+QGDCNT: 0,7\r\n\r\nOK\r\n");
}

#[test]
fn qidnsgip_and_qping_use_the_one_resolver() {
    let mut table = HashMap::new();
    table.insert(
        "ftp.example.com".to_string(),
        vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
    );
    let root = tempfile::tempdir().unwrap();
    let emu = Emulator::builder()
        .resolver(Resolver::with_table(table, true))
        .ftp_server("127.0.0.1:0".parse().unwrap())
        .ftp_root(root.path())
        .spawn()
        .unwrap();
    let port = emu.ftp_addr().unwrap().port();
    let mut h = Host::open(emu.tty_path());
    h.boot_echo_off();
    // AT+QFTPOPEN looks names up in the same resolver.
    h.chat("AT+QIACT=1\r", "\r\nOK\r\n");
    h.chat("AT+QFTPCFG=\"account\",\"test\",\"test\"\r", "\r\nOK\r\n");
    h.chat(
        &format!("AT+QFTPOPEN=\"nosuch.example.com\",{port}\r"),
        "\r\nOK\r\n",
    );
    h.expect(b"\r\n+QFTPOPEN: 604,0\r\n");
    h.chat(
        &format!("AT+QFTPOPEN=\"ftp.example.com\",{port}\r"),
        "\r\nOK\r\n",
    );
    h.expect(b"\r\n+QFTPOPEN: 0,0\r\n");
    h.chat("AT+QFTPCLOSE\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QFTPCLOSE: 0,0\r\n");
    h.chat("AT+QIDNSGIP=1,\"FTP.example.com\"\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QIURC: \"dnsgip\",0,1,600\r\n\r\n+QIURC: \"dnsgip\",\"127.0.0.1\"\r\n");
    // Not in the exclusive table: 565 at once, never a hang.
    h.chat("AT+QIDNSGIP=1,\"nosuch.example.com\"\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QIURC: \"dnsgip\",565\r\n");
    h.chat("AT+QPING=1,\"nosuch.example.com\"\r", "\r\nOK\r\n");
    h.expect(b"\r\n+QPING: 565\r\n");
    // 127.0.0.1 answers the TCP probe (SYN-ACK or RST): two echoes and the summary.
    h.chat("AT+QPING=1,\"ftp.example.com\",4,2\r", "\r\nOK\r\n");
    let mut rtts = Vec::new();
    for _ in 0..2 {
        h.expect(b"\r\n+QPING: 0,\"127.0.0.1\",32,");
        let line = h.read_until(b"\r\n");
        let text = String::from_utf8_lossy(&line[..line.len() - 2]).into_owned();
        let (ms, ttl) = text.split_once(',').expect("<time>,<ttl>");
        assert_eq!(ttl, "255");
        rtts.push(ms.parse::<u32>().expect("round trip in ms"));
    }
    let (min, max) = (*rtts.iter().min().unwrap(), *rtts.iter().max().unwrap());
    let avg = (rtts[0] + rtts[1]) / 2;
    h.expect(format!("\r\n+QPING: 0,2,2,0,{min},{max},{avg}\r\n").as_bytes());
}
