//! Decisions the core makes before it asks the runtime for anything (issue 9): a TLS
//! session without the files its seclevel needs is 631, a remote name with CR/LF is 601,
//! and a bad FTP parameter is always 610. Driven by the core test `Harness`: no request may
//! reach the runtime in these cases, which the test checks on the effect queue.

use bg95_core::ftp::{FtpEvent, FtpRequest, Reply};
use bg95_core::transcript::Harness;
use bg95_core::{MemStore, Personality, UfsStore};

/// ATE0, a context up, and `ca.pem` in UFS.
fn host() -> Harness {
    let mut store = MemStore::new();
    store.write("ca.pem", b"CA").unwrap();
    let mut h = Harness::powered_on(Personality::default(), Box::new(store)).booted();
    assert_eq!(h.at("ATE0"), "ATE0\r\r\nOK\r\n");
    assert_eq!(h.at("AT+QIACT=1"), "\r\nOK\r\n");
    h
}

/// Logged in (plain FTP), the open answered.
fn logged_in() -> Harness {
    let mut h = host();
    assert_eq!(h.at("AT+QFTPOPEN=\"127.0.0.1\""), "\r\nOK\r\n");
    assert!(matches!(h.take_ftp_requests()[..], [FtpRequest::Open(_)]));
    assert_eq!(
        h.ftp(FtpEvent::Done(Ok(Reply::Ok))),
        "\r\n+QFTPOPEN: 0,0\r\n"
    );
    h
}

#[test]
fn seclevel_1_without_a_ca_file_is_631_and_nothing_is_sent() {
    let mut h = host();
    for cmd in ["AT+QFTPCFG=\"ssltype\",2", "AT+QSSLCFG=\"seclevel\",0,1"] {
        assert_eq!(h.at(cmd), "\r\nOK\r\n");
    }
    assert_eq!(
        h.at("AT+QFTPOPEN=\"127.0.0.1\",21"),
        "\r\nOK\r\n\r\n+QFTPOPEN: 631,0\r\n"
    );
    assert_eq!(h.take_ftp_requests(), vec![]);
    assert_eq!(h.at("AT+QFTPSTAT"), "\r\nOK\r\n\r\n+QFTPSTAT: 0,4\r\n");
    // With the CA file named, the open goes to the runtime.
    assert_eq!(h.at("AT+QSSLCFG=\"cacert\",0,\"ca.pem\""), "\r\nOK\r\n");
    assert_eq!(h.at("AT+QFTPOPEN=\"127.0.0.1\",21"), "\r\nOK\r\n");
    assert!(matches!(h.take_ftp_requests()[..], [FtpRequest::Open(_)]));
}

#[test]
fn seclevel_2_without_a_client_key_is_631_on_the_data_context_too() {
    let mut h = host();
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
    assert_eq!(h.take_ftp_requests(), vec![]);
}

#[test]
fn a_line_break_in_a_remote_name_is_601_and_never_sent() {
    let mut h = logged_in();
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
    assert_eq!(h.take_ftp_requests(), vec![]);
    // The session is still idle and usable.
    assert_eq!(h.at("AT+QFTPCWD=\"/\""), "\r\nOK\r\n");
    assert_eq!(h.take_ftp_requests(), vec![FtpRequest::Cwd("/".into())]);
}

#[test]
fn every_bad_ftp_parameter_is_610() {
    let mut h = logged_in();
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
    assert_eq!(h.take_ftp_requests(), vec![]);
}

#[test]
fn a_426_after_the_download_limit_is_success_and_before_it_a_failure() {
    use bg95_core::ftp::{Failure, FailureKind};
    let early_close = || FtpEvent::Done(Err(Failure::new(FailureKind::Reply, 426)));
    let mut h = logged_in();
    assert_eq!(h.at("AT+QFTPGET=\"f\",\"COM:\",0,5"), "");
    assert_eq!(h.ftp(FtpEvent::DataReady), "\r\nCONNECT\r\n");
    assert_eq!(h.ftp(FtpEvent::Data(b"1234567".to_vec())), "12345");
    assert_eq!(h.ftp(early_close()), "\r\nOK\r\n\r\n+QFTPGET: 0,5\r\n");
    // The limit not reached: the 426 is the server's refusal.
    h.take_ftp_requests();
    assert_eq!(h.at("AT+QFTPGET=\"f\",\"COM:\",0,5"), "");
    assert_eq!(h.ftp(FtpEvent::DataReady), "\r\nCONNECT\r\n");
    assert_eq!(h.ftp(FtpEvent::Data(b"123".to_vec())), "123");
    assert_eq!(h.ftp(early_close()), "\r\nOK\r\n\r\n+QFTPGET: 616,426\r\n");
}

#[test]
fn a_broken_data_connection_shows_the_servers_refusal_but_not_its_226() {
    use bg95_core::ftp::{Failure, FailureKind};
    let mut h = logged_in();
    for (reply, urc) in [(226, "607,0"), (451, "607,451")] {
        assert_eq!(h.at("AT+QFTPGET=\"f\",\"UFS:f\""), "\r\nOK\r\n");
        h.ftp(FtpEvent::DataReady);
        h.ftp(FtpEvent::Data(b"12".to_vec()));
        let broken = FtpEvent::Done(Err(Failure::new(FailureKind::DataClosed, reply)));
        assert_eq!(h.ftp(broken), format!("\r\n+QFTPGET: {urc}\r\n"));
    }
}
