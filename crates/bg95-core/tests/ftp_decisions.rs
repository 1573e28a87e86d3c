//! Decisions the core makes before it asks the runtime for anything (issue 9): a TLS
//! session without the files its seclevel needs is 631, a remote name with CR/LF is 601,
//! and a bad FTP parameter is always 610. Driven on the module directly: no request may
//! reach the runtime in these cases, which the test checks on the effect queue.

use bg95_core::ftp::FtpRequest;
use bg95_core::{Completion, Effect, Instant, MemStore, Module, Personality, UfsStore};

struct Host {
    module: Module,
    now: Instant,
}

impl Host {
    fn new() -> Host {
        let mut store = MemStore::new();
        store.write("ca.pem", b"CA").unwrap();
        let mut module = Module::new(Personality::default(), Box::new(store), Instant::ZERO);
        while module.poll_output().is_some() {}
        let mut h = Host {
            module,
            now: Instant::ZERO,
        };
        assert_eq!(h.at("ATE0"), "ATE0\r\r\nOK\r\n");
        assert_eq!(h.at("AT+QIACT=1"), "\r\nOK\r\n");
        h
    }

    /// Send one command line; everything the module answered.
    fn at(&mut self, line: &str) -> String {
        self.module
            .handle_input(self.now, format!("{line}\r").as_bytes());
        let mut out = Vec::new();
        while let Some(b) = self.module.poll_output() {
            out.extend(b);
        }
        String::from_utf8(out).unwrap()
    }

    /// The FTP requests the module asked for since the last call.
    fn requests(&mut self) -> Vec<FtpRequest> {
        std::iter::from_fn(|| self.module.poll_effect())
            .filter_map(|e| match e {
                Effect::Ftp(r) => Some(*r),
                _ => None,
            })
            .collect()
    }

    /// Log in (plain FTP) and answer the open.
    fn logged_in() -> Host {
        let mut h = Host::new();
        assert_eq!(h.at("AT+QFTPOPEN=\"127.0.0.1\""), "\r\nOK\r\n");
        assert!(matches!(h.requests()[..], [FtpRequest::Open(_)]));
        h.module.handle_completion(
            h.now,
            Completion::Ftp(bg95_core::ftp::FtpEvent::Done(Ok(
                bg95_core::ftp::Reply::Ok,
            ))),
        );
        assert_eq!(h.at(""), "\r\n+QFTPOPEN: 0,0\r\n");
        h
    }
}

#[test]
fn seclevel_1_without_a_ca_file_is_631_and_nothing_is_sent() {
    let mut h = Host::new();
    for cmd in ["AT+QFTPCFG=\"ssltype\",2", "AT+QSSLCFG=\"seclevel\",0,1"] {
        assert_eq!(h.at(cmd), "\r\nOK\r\n");
    }
    assert_eq!(
        h.at("AT+QFTPOPEN=\"127.0.0.1\",21"),
        "\r\nOK\r\n\r\n+QFTPOPEN: 631,0\r\n"
    );
    assert_eq!(h.requests(), vec![]);
    assert_eq!(h.at("AT+QFTPSTAT"), "\r\nOK\r\n\r\n+QFTPSTAT: 0,4\r\n");
    // With the CA file named, the open goes to the runtime.
    assert_eq!(h.at("AT+QSSLCFG=\"cacert\",0,\"ca.pem\""), "\r\nOK\r\n");
    assert_eq!(h.at("AT+QFTPOPEN=\"127.0.0.1\",21"), "\r\nOK\r\n");
    assert!(matches!(h.requests()[..], [FtpRequest::Open(_)]));
}

#[test]
fn seclevel_2_without_a_client_key_is_631_on_the_data_context_too() {
    let mut h = Host::new();
    for cmd in [
        "AT+QFTPCFG=\"ssltype\",1",
        "AT+QSSLCFG=\"seclevel\",1,2",
        "AT+QSSLCFG=\"cacert\",1,\"ca.pem\"",
        "AT+QSSLCFG=\"clientcert\",1,\"ca.pem\"",
    ] {
        assert_eq!(h.at(cmd), "\r\nOK\r\n");
    }
    assert_eq!(
        h.at("AT+QFTPOPEN=\"127.0.0.1\""),
        "\r\nOK\r\n\r\n+QFTPOPEN: 631,0\r\n"
    );
    assert_eq!(h.requests(), vec![]);
}

#[test]
fn a_line_break_in_a_remote_name_is_601_and_never_sent() {
    let mut h = Host::logged_in();
    // LF (S4) inside a quoted name: the line still ends at CR (S3).
    assert_eq!(
        h.at("AT+QFTPCWD=\"a\nDELE x\""),
        "\r\nOK\r\n\r\n+QFTPCWD: 601,0\r\n"
    );
    assert_eq!(
        h.at("AT+QFTPGET=\"a\nb\",\"UFS:x\""),
        "\r\nOK\r\n\r\n+QFTPGET: 601,0\r\n"
    );
    // A COM: transfer fails before CONNECT: the command's own error.
    assert_eq!(
        h.at("AT+QFTPGET=\"a\nb\",\"COM:\""),
        "\r\n+CME ERROR: 601\r\n"
    );
    assert_eq!(
        h.at("AT+QFTPRENAME=\"a\",\"b\nc\""),
        "\r\nOK\r\n\r\n+QFTPRENAME: 601,0\r\n"
    );
    assert_eq!(h.requests(), vec![]);
    // The session is still idle and usable.
    assert_eq!(h.at("AT+QFTPCWD=\"/\""), "\r\nOK\r\n");
    assert_eq!(h.requests(), vec![FtpRequest::Cwd("/".into())]);
}

#[test]
fn every_bad_ftp_parameter_is_610() {
    let mut h = Host::logged_in();
    for cmd in [
        "AT+QFTPCWD=1,2",
        "AT+QFTPGET=\"f\",\"COM:\",x",
        "AT+QFTPGET=\"f\"",
        "AT+QFTPPUT=\"f\",\"COM:\",0,5",
        "AT+QFTPOPEN=\"h\",70000",
        "AT+QFTPCFG=\"rsptimeout\",5",
        "AT+QFTPCFG=\"nosuchitem\"",
        "AT+QFTPRENAME=\"a\"",
    ] {
        assert_eq!(h.at(cmd), "\r\n+CME ERROR: 610\r\n", "{cmd}");
    }
    // Forms a command does not have are a bare ERROR; QSSLCFG's bad values too.
    for cmd in [
        "AT+QFTPCWD",
        "AT+QFTPPWD=1",
        "AT+QFTPGET?",
        "AT+QSSLCFG=\"seclevel\",0,7",
    ] {
        assert_eq!(h.at(cmd), "\r\nERROR\r\n", "{cmd}");
    }
    assert_eq!(h.requests(), vec![]);
}

fn ftp(h: &mut Host, ev: bg95_core::ftp::FtpEvent) -> String {
    h.module.handle_completion(h.now, Completion::Ftp(ev));
    h.at("")
}

#[test]
fn a_426_after_the_download_limit_is_success_and_before_it_a_failure() {
    use bg95_core::ftp::{Failure, FailureKind, FtpEvent};
    let early_close = || FtpEvent::Done(Err(Failure::new(FailureKind::Reply, 426)));
    let mut h = Host::logged_in();
    assert_eq!(h.at("AT+QFTPGET=\"f\",\"COM:\",0,5"), "");
    assert_eq!(ftp(&mut h, FtpEvent::DataReady), "\r\nCONNECT\r\n");
    assert_eq!(ftp(&mut h, FtpEvent::Data(b"1234567".to_vec())), "12345");
    assert_eq!(
        ftp(&mut h, early_close()),
        "\r\nOK\r\n\r\n+QFTPGET: 0,5\r\n"
    );
    // The limit not reached: the 426 is the server's refusal.
    h.requests();
    assert_eq!(h.at("AT+QFTPGET=\"f\",\"COM:\",0,5"), "");
    assert_eq!(ftp(&mut h, FtpEvent::DataReady), "\r\nCONNECT\r\n");
    assert_eq!(ftp(&mut h, FtpEvent::Data(b"123".to_vec())), "123");
    assert_eq!(
        ftp(&mut h, early_close()),
        "\r\nOK\r\n\r\n+QFTPGET: 616,426\r\n"
    );
}

#[test]
fn a_broken_data_connection_shows_the_servers_refusal_but_not_its_226() {
    use bg95_core::ftp::{Failure, FailureKind, FtpEvent};
    let mut h = Host::logged_in();
    for (reply, urc) in [(226, "607,0"), (451, "607,451")] {
        assert_eq!(h.at("AT+QFTPGET=\"f\",\"UFS:f\""), "\r\nOK\r\n");
        ftp(&mut h, FtpEvent::DataReady);
        ftp(&mut h, FtpEvent::Data(b"12".to_vec()));
        let broken = FtpEvent::Done(Err(Failure::new(FailureKind::DataClosed, reply)));
        assert_eq!(ftp(&mut h, broken), format!("\r\n+QFTPGET: {urc}\r\n"));
    }
}
