//! `Module::status` and the outside world's UFS entry points (the control API's view of
//! the module): the values the module's own query commands report, no byte to the host.

use bg95_core::transcript::Harness;
use bg95_core::CmeError;

#[test]
fn status_follows_the_at_commands() {
    let mut m = Harness::new().booted();
    let s = m.module().status();
    assert!(s.powered);
    assert_eq!(s.port, "command");
    assert_eq!((s.ftp.stat, s.ftp.state), (4, "closed"));
    assert_eq!(s.ftp.config.contextid, 1);
    assert_eq!(s.ssl.len(), 6);
    assert_eq!(s.pdp[0].cid, 1);

    assert!(m.at("AT+QIACT=1").ends_with("OK\r\n"));
    assert!(m
        .at("AT+QFTPCFG=\"account\",\"u\",\"p\"")
        .ends_with("OK\r\n"));
    assert!(m.at("AT+QFTPCFG=\"rsptimeout\",30").ends_with("OK\r\n"));
    let s = m.module().status();
    assert!(s.pdp[0].up);
    assert_eq!(s.pdp[0].address.as_deref(), Some("10.7.157.1"));
    assert_eq!(s.ftp.config.user, "u");
    assert_eq!(s.ftp.config.rsptimeout, 30);

    m.at("AT+QFTPOPEN=\"127.0.0.1\",21");
    let s = m.module().status();
    assert_eq!((s.ftp.stat, s.ftp.state), (0, "opening"));
    // Reading the status says nothing to the host.
    m.take_output();
    m.module().status();
    m.expect_no_output().unwrap();
}

#[test]
fn ufs_from_outside_keeps_the_module_rules() {
    let mut m = Harness::new().booted();
    let module = m.module_mut();
    module.ufs_write("UFS:ca.pem", b"pem").unwrap();
    assert_eq!(module.ufs_read("ca.pem").unwrap(), b"pem");
    assert_eq!(module.ufs_list().unwrap(), vec![("ca.pem".to_string(), 3)]);
    assert_eq!(
        module.ufs_write("a*b", b"x"),
        Err(CmeError::InvalidFileName)
    );
    assert_eq!(module.ufs_read("missing"), Err(CmeError::FileNotFound));
    let too_big = vec![0u8; module.personality().ufs_capacity as usize + 1];
    assert_eq!(module.ufs_write("big", &too_big), Err(CmeError::NoSpace));
    // A file the host has open stays.
    assert!(m.at("AT+QFOPEN=\"ca.pem\",0").contains("+QFOPEN:"));
    assert_eq!(
        m.module_mut().ufs_delete("ca.pem"),
        Err(CmeError::AlreadyOpen)
    );
    assert!(m.at("AT+QFCLOSE=1").ends_with("OK\r\n"));
    m.module_mut().ufs_delete("ca.pem").unwrap();
    assert_eq!(m.module().ufs_list().unwrap(), vec![]);
}

/// A DTR drop (RFC 2217's SET-CONTROL) with AT&D1 pauses a COM: download as a guarded
/// `+++` does (`OK`, ATO resumes); with AT&D0 it changes nothing; in command mode nothing.
#[test]
fn dtr_drop_leaves_data_mode_as_the_escape_does() {
    use bg95_core::transcript::OPEN_FTP_SESSION;
    let get = r#"
> AT+QFTPGET="big.bin","COM:"\r
= ftp download file "big.bin" offset=0 limit=none
! ftp ready
< \r\nCONNECT\r\n
"#;
    let mut h = Harness::new();
    h.play(&format!("{OPEN_FTP_SESSION}{get}"));
    assert_eq!(h.module().status().port, "data-ftp");
    let now = h.now();
    h.module_mut().handle_dtr(now, false);
    h.expect_output(b"\r\nOK\r\n").unwrap();
    let s = h.module().status();
    assert_eq!((s.port, s.ftp.state), ("command", "transferring"));
    assert_eq!(h.at("ATO"), "\r\nCONNECT\r\n");
    assert_eq!(h.module().status().port, "data-ftp");

    // AT&D0: DTR is ignored.
    let mut h = Harness::new();
    h.play(&format!(
        "{OPEN_FTP_SESSION}> AT&D0\\r\n< \\r\\nOK\\r\\n\n{get}"
    ));
    let now = h.now();
    h.module_mut().handle_dtr(now, false);
    h.expect_no_output().unwrap();
    assert_eq!(h.module().status().port, "data-ftp");

    // Command mode: nothing to leave.
    let mut h = Harness::new().booted();
    let now = h.now();
    h.module_mut().handle_dtr(now, false);
    h.module_mut().handle_dtr(now, true);
    h.expect_no_output().unwrap();
}
