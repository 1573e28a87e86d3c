//! The transcript copy of a session (`Module::poll_transcript`) never holds the FTP password,
//! whatever way the host typed the account command, and masks nothing else: each form the
//! hardening issue listed (15 clear copies in one session before) is fed to a module, and
//! the copy must equal the session with exactly the password's characters as `*`.

use bg95_core::ftp::FtpRequest;
use bg95_core::redact::TapPiece;
use bg95_core::{Effect, Instant, MemStore, Module, Personality};

const PW: &str = "Pw-secret1";
const STARS: &str = "**********";

struct Session {
    m: Module,
    host: Vec<u8>,
    module: Vec<u8>,
    raw_module: Vec<u8>,
    /// Uploads recorded as size and digest only.
    redacted: Vec<(u64, u64)>,
    t: u64,
}

impl Session {
    fn new(echo: bool) -> Session {
        let mut m = Module::new(
            Personality::default(),
            Box::new(MemStore::default()),
            Instant::from_micros(0),
        );
        m.record_transcript(true);
        let mut s = Session {
            m,
            host: Vec::new(),
            module: Vec::new(),
            raw_module: Vec::new(),
            redacted: Vec::new(),
            t: 0,
        };
        if !echo {
            s.feed(b"ATE0\r");
        }
        s
    }

    /// Feed one read; drain output and the copy as a runtime does.
    fn feed(&mut self, bytes: &[u8]) {
        self.t += 1000;
        self.m.handle_input(Instant::from_micros(self.t), bytes);
        self.drain();
    }

    fn drain(&mut self) {
        loop {
            while let Some(p) = self.m.poll_transcript() {
                self.absorb(p);
            }
            match self.m.poll_output() {
                Some(out) => self.raw_module.extend(out),
                None => break,
            }
        }
        while let Some(p) = self.m.poll_transcript() {
            self.absorb(p);
        }
    }

    fn absorb(&mut self, p: TapPiece) {
        match p {
            TapPiece::Host(b) => self.host.extend(b),
            TapPiece::Module(b) => self.module.extend(b),
            TapPiece::RedactedUpload { len, fnv } => self.redacted.push((len, fnv)),
        }
    }

    /// The password the module will log in with (it really parsed it).
    fn parsed_password(&mut self) -> String {
        self.feed(b"AT+QIACT=1\r");
        self.feed(b"AT+QFTPOPEN=\"h\",21\r");
        let mut password = None;
        while let Some(e) = self.m.poll_effect() {
            if let Effect::Ftp(req) = e {
                if let FtpRequest::Open(p) = *req {
                    password = Some(p.password);
                }
            }
        }
        password.expect("an open was asked for")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Feed `reads`, check the module parsed [`PW`], and that the copy is the session with
/// only the password masked: the host side equals `want_host`, the module side is the real
/// output with `PW` → stars.
fn check(echo: bool, reads: &[&[u8]], want_host: &[u8]) {
    let mut s = Session::new(echo);
    let host_before = s.host.len();
    for r in reads {
        s.feed(r);
    }
    let typed_host = s.host[host_before..].to_vec();
    assert_eq!(s.parsed_password(), PW, "{reads:?} set the password");
    let host = text(&s.host);
    let module = text(&s.module);
    assert!(
        !host.contains(PW) && !module.contains(PW),
        "{host}\n{module}"
    );
    assert!(!host.contains("secret") && !module.contains("secret"));
    assert_eq!(text(&typed_host), text(want_host), "host side of {reads:?}");
    // The module side is the real output with the echo of the line as masked as the host's.
    let input: Vec<u8> = reads.concat();
    let trim = |b: &[u8]| text(b.strip_suffix(b"\n").unwrap_or(b));
    let raw = text(&s.raw_module);
    if echo {
        assert!(raw.contains(&trim(&input)), "the echo: {raw}");
    }
    let raw = raw.replace(&trim(&input), &trim(want_host));
    assert_eq!(module, raw, "module side of {reads:?}");
}

fn masked(line: &str) -> Vec<u8> {
    line.replace(PW, STARS).into_bytes()
}

#[test]
fn every_form_of_the_account_command_is_masked() {
    let plain = format!("AT+QFTPCFG=\"account\",\"u\",\"{PW}\"\r");
    let forms = [
        plain.clone(),
        format!("\0junkAT+QFTPCFG=\"account\",\"u\",\"{PW}\"\r"),
        format!("AT+QFTPCFG=\"account\",\"u\",{PW}\r"),
        format!("AT+QFTPCFG=\"account\",u, {PW} \r"),
        format!("AT+CMEE=1;+QFTPCFG=\"account\",\"u\",\"{PW}\"\r"),
        format!("AT+QFTPCFG= \"account\",\"u\",\"{PW}\"\r"),
        format!("ATE1+QFTPCFG=\"account\",\"u\",\"{PW}\"\r"),
        format!("at+qftpcfg=\"ACCOUNT\",\"u\",\"{PW}\"\r\n"),
    ];
    for echo in [true, false] {
        for form in &forms {
            check(echo, &[form.as_bytes()], &masked(form));
        }
        // Split across reads, one byte at a time and in threes.
        let bytes = plain.as_bytes();
        let ones: Vec<&[u8]> = bytes.chunks(1).collect();
        check(echo, &ones, &masked(&plain));
        let threes: Vec<&[u8]> = bytes.chunks(3).collect();
        check(echo, &threes, &masked(&plain));
    }
}

#[test]
fn a_password_edited_with_backspace_is_masked_with_its_typos() {
    // A typo fixed: the deleted character was typed where the password is, so it is masked.
    let typed = b"AT+QFTPCFG=\"account\",\"u\",\"Pw-secreX\x08t1\"\r";
    check(
        true,
        &[typed],
        b"AT+QFTPCFG=\"account\",\"u\",\"*********\x08**\"\r",
    );
    // Typed, erased and typed again: the first attempt is masked too.
    let typed = b"AT+QFTPCFG=\"account\",\"u\",\"Pw-se\x08\x08\x08\x08\x08Pw-secret1\"\r";
    check(
        false,
        &[typed],
        b"AT+QFTPCFG=\"account\",\"u\",\"*****\x08\x08\x08\x08\x08**********\"\r",
    );
}

#[test]
fn a_repeat_and_a_query_show_no_password() {
    let line = format!("AT+QFTPCFG=\"account\",\"u\",\"{PW}\"\r");
    let mut s = Session::new(true);
    s.feed(line.as_bytes());
    let echoed = s.raw_module.len();
    s.feed(b"A/");
    s.feed(b"AT+QFTPCFG=\"account\"\r");
    assert_eq!(s.parsed_password(), PW);
    let (host, module) = (text(&s.host), text(&s.module));
    assert!(host.contains("A/") && module.contains("A/"));
    assert!(
        !host.contains(PW) && !module.contains(PW),
        "{host}\n{module}"
    );
    let after = text(&s.raw_module[echoed..]);
    assert!(
        after.contains("+QFTPCFG: \"account\",\"u\",\"**********\""),
        "{after}"
    );
    assert!(!after.contains(PW), "the module itself never says it again");
}

#[test]
fn the_account_line_right_after_upload_data_is_masked() {
    let mut s = Session::new(false);
    s.feed(b"AT+QFUPL=\"f.txt\",3\r");
    assert!(text(&s.raw_module).contains("CONNECT"));
    let read = format!("abcAT+QFTPCFG=\"account\",\"u\",\"{PW}\"\r");
    s.feed(read.as_bytes());
    assert_eq!(s.parsed_password(), PW);
    let host = text(&s.host);
    assert!(
        host.contains(&format!("abcAT+QFTPCFG=\"account\",\"u\",\"{STARS}\"")),
        "{host}"
    );
    assert!(!host.contains(PW));
}

#[test]
fn other_lines_are_copied_unchanged() {
    let mut s = Session::new(true);
    let lines: &[&[u8]] = &[
        b"AT+QFTPCFG=\"contextid\",1\r",
        b"AT+QFTPCFG=\"account\"\r",
        b"\x00\xffnoise\r",
        b"AT+CMEE=2\r\n",
    ];
    let mut all = Vec::new();
    for l in lines {
        s.feed(l);
        all.extend_from_slice(l);
    }
    assert_eq!(s.host, all);
    assert_eq!(s.module, s.raw_module);
}

// ---- private keys uploaded into UFS (AT+QFUPL) --------------------------------------

const KEY_BODY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secretBody";

fn pem_key() -> Vec<u8> {
    format!("-----BEGIN RSA PRIVATE KEY-----\r\n{KEY_BODY}\r\n-----END RSA PRIVATE KEY-----\r\n")
        .into_bytes()
}

/// Upload `data` with AT+QFUPL in reads of `piece` bytes; the module's answer.
fn upload(s: &mut Session, name: &str, data: &[u8], piece: usize) -> String {
    let before = s.raw_module.len();
    s.feed(format!("AT+QFUPL=\"{name}\",{}\r", data.len()).as_bytes());
    for chunk in data.chunks(piece) {
        s.feed(chunk);
    }
    text(&s.raw_module[before..])
}

#[test]
fn an_uploaded_private_key_is_only_its_size_and_digest_in_the_copy() {
    let mut s = Session::new(false);
    let key = pem_key();
    let answer = upload(&mut s, "client.key", &key, 7);
    assert!(
        answer.contains(&format!("+QFUPL: {},", key.len())),
        "{answer}"
    );
    s.feed(b"AT\r");
    let (host, module) = (text(&s.host), text(&s.module));
    assert!(
        !host.contains(KEY_BODY) && !host.contains("PRIVATE KEY"),
        "{host}"
    );
    assert_eq!(
        s.redacted,
        vec![(key.len() as u64, bg95_core::transcript::fnv1a64(&key))]
    );
    // The module's side is whole and in order: the answer after the data, then `AT`'s.
    assert!(host.ends_with("AT\r"), "{host}");
    assert!(module.ends_with(&format!("{answer}\r\nOK\r\n")), "{module}");
}

#[test]
fn other_upload_data_and_opted_in_keys_stay_in_clear() {
    let mut s = Session::new(false);
    upload(&mut s, "a.txt", b"hello world", 4);
    assert!(text(&s.host).contains("hello world"));
    let mut s = Session::new(false);
    s.m.record_transcript_keys(true);
    upload(&mut s, "client.key", &pem_key(), 9);
    assert!(text(&s.host).contains(KEY_BODY));
    assert!(s.redacted.is_empty());
}

#[test]
fn a_large_upload_is_held_only_up_to_its_limit() {
    // A key followed by 100 KiB: past the hold limit, only digested.
    let mut data = pem_key();
    data.extend(std::iter::repeat_n(b'A', 100 * 1024));
    let mut s = Session::new(false);
    upload(&mut s, "bundle.pem", &data, 4096);
    assert!(!text(&s.host).contains(KEY_BODY));
    assert_eq!(
        s.redacted,
        vec![(data.len() as u64, bg95_core::transcript::fnv1a64(&data))]
    );
    // 100 KiB that hold no key: released in clear, whole.
    let plain = vec![b'B'; 100 * 1024];
    let mut s = Session::new(false);
    upload(&mut s, "big.bin", &plain, 4096);
    assert_eq!(s.host.iter().filter(|&&b| b == b'B').count(), plain.len());
    assert!(s.redacted.is_empty());
}

#[test]
fn a_key_upload_ended_by_its_timeout_is_redacted_too() {
    let mut s = Session::new(false);
    let key = pem_key();
    s.feed(format!("AT+QFUPL=\"k.pem\",{},1\r", key.len() + 10).as_bytes());
    s.feed(&key);
    s.t += 3_000_000;
    s.m.handle_timeout(Instant::from_micros(s.t));
    s.drain();
    assert!(!text(&s.host).contains(KEY_BODY), "{}", text(&s.host));
    assert_eq!(s.redacted.len(), 1);
    assert!(text(&s.module).contains("+QFUPL") || text(&s.module).contains("ERROR"));
}

#[test]
fn an_upload_to_a_file_named_as_clientkey_is_redacted_whatever_its_bytes() {
    let mut s = Session::new(false);
    s.feed(b"AT+QSSLCFG=\"clientkey\",1,\"UFS:/my.key\"\r");
    assert!(text(&s.raw_module).ends_with("\r\nOK\r\n"));
    // Not PEM (say DER bytes), but the file an SSL context uses as its key.
    let der = b"0\x82\x04\xbd\x02\x01\x00DERsecretKeyBytes";
    upload(&mut s, "my.key", der, 5);
    upload(&mut s, "other.bin", der, 5);
    assert_eq!(
        s.redacted,
        vec![(der.len() as u64, bg95_core::transcript::fnv1a64(der))]
    );
    // Only the file that is not the key is in clear.
    let host = s.host.clone();
    let count = host
        .windows(der.len())
        .filter(|w| *w == der.as_slice())
        .count();
    assert_eq!(count, 1, "{}", text(&host));
}
