//! Unit tests of UFS: checksum vectors, names, wildcards, and the commands against a
//! [`MemStore`] with a fake clock.

use super::*;
use crate::personality::Personality;
use crate::transcript::{escape, Harness};

// ---- checksum vectors ----------------------------------------------------------------

#[test]
fn checksum_of_nothing_and_of_zeros_is_zero() {
    assert_eq!(checksum_hex(b""), "0");
    assert_eq!(checksum_hex(&[0u8; 1000]), "0");
    assert_eq!(checksum_hex(&[0u8; 1001]), "0");
}

#[test]
fn checksum_words_are_big_endian() {
    assert_eq!(checksum(&[0x12, 0x34]), 0x1234);
    assert_eq!(checksum(&[0x12, 0x34, 0x56, 0x78]), 0x1234 ^ 0x5678);
    assert_eq!(checksum_hex(&[0x00, 0x0a]), "a");
    assert_eq!(checksum_hex(&[0xab, 0xcd]), "abcd");
}

#[test]
fn checksum_odd_trailing_byte_is_a_high_byte() {
    assert_eq!(checksum(&[0x07]), 0x0700);
    assert_eq!(checksum_hex(&[0x07]), "700");
    assert_eq!(checksum(&[0x12, 0x34, 0x56]), 0x1234 ^ 0x5600);
    // 3 bytes "abc": 0x6162 ^ 0x6300 = 0x0262.
    assert_eq!(checksum_hex(b"abc"), "262");
}

#[test]
fn checksum_has_no_leading_zeros_in_the_1000_707_shape() {
    // 1000 bytes whose words cancel except one 0x0707: printed "707", as in `+QFUPL: 1000,707`.
    let mut data = vec![0x55u8; 1000];
    data[998] ^= 0x07;
    data[999] ^= 0x07;
    assert_eq!(data.len(), 1000);
    assert_eq!(checksum_hex(&data), "707");
    // A repeated pattern cancels in pairs of words.
    assert_eq!(checksum_hex(&b"0123".repeat(250)), "0");
    assert_eq!(
        checksum_hex(&b"0123".repeat(251)),
        format!("{:x}", 0x3031u16 ^ 0x3233)
    );
}

#[test]
fn checksum_of_1_to_255() {
    let data: Vec<u8> = (1..=255).collect();
    let mut want = 0u16;
    for w in data.chunks(2) {
        want ^= (u16::from(w[0]) << 8) | u16::from(*w.get(1).unwrap_or(&0));
    }
    assert_eq!(checksum(&data), want);
}

// ---- names and patterns ----------------------------------------------------------------

#[test]
fn names() {
    assert!(valid_bare_name("a.txt"));
    assert!(valid_bare_name(&"x".repeat(80)));
    assert!(!valid_bare_name(&"x".repeat(81)));
    for bad in [
        "",
        ".",
        "..",
        "a..b",
        ".hidden",
        "a//b",
        "../x",
        "a\\b",
        "a\0b",
        "a:b",
        "a*",
        "a?",
        "a\"b",
        "a\nb",
        "/a",
        "a/",
        "a/../b",
        "a/./b",
        "a/.hidden",
        "security/..",
        "//a",
        "a\\..\\b",
    ] {
        assert!(!valid_bare_name(bad), "{bad:?}");
    }
    // Folders: `/`-separated, 80 bytes in all.
    assert!(valid_bare_name("security/cacert.pem"));
    assert!(valid_bare_name("a/b/c/d.txt"));
    assert!(valid_bare_name(&format!(
        "{}/{}",
        "d".repeat(39),
        "f".repeat(40)
    )));
    assert!(!valid_bare_name(&format!(
        "{}/{}",
        "d".repeat(40),
        "f".repeat(40)
    )));
    assert_eq!(
        normalize_name("/security/cacert.pem"),
        Some("security/cacert.pem")
    );
    assert_eq!(
        normalize_name("UFS:/security/cacert.pem"),
        Some("security/cacert.pem")
    );
    assert_eq!(
        normalize_name("ufs:security/cacert.pem"),
        Some("security/cacert.pem")
    );
    assert_eq!(
        normalize_name("security/cacert.pem"),
        Some("security/cacert.pem")
    );
    assert_eq!(normalize_name("/a.txt"), Some("a.txt"));
    for bad in [
        "/",
        "//a",
        "UFS:/",
        "UFS://a",
        "/../etc/passwd",
        "/security/",
        "a//b",
        "/a/../b",
    ] {
        assert_eq!(normalize_name(bad), None, "{bad:?}");
    }
    assert_eq!(strip_ufs_root("ufs:/security/*"), "security/*");
    assert_eq!(strip_ufs_prefix("UFS:a.txt"), "a.txt");
    assert_eq!(strip_ufs_prefix("ufs:a.txt"), "a.txt");
    assert_eq!(strip_ufs_prefix("a.txt"), "a.txt");
    assert!(valid_name("UFS:cacert.pem"));
    assert!(!valid_name("UFS:"));
    assert!(!valid_name("UFS:../etc/passwd"));
}

#[test]
fn wildcards() {
    assert!(glob_match("*", "anything"));
    assert!(glob_match("*", ""));
    assert!(glob_match("*.pem", "ca.pem"));
    assert!(!glob_match("*.pem", "ca.pem.bak"));
    assert!(glob_match("f?le.txt", "file.txt"));
    assert!(!glob_match("f?le.txt", "fle.txt"));
    assert!(glob_match("a*b*c", "aXXbYYc"));
    assert!(!glob_match("a*b*c", "aXXbYY"));
    assert!(glob_match("exact", "exact"));
    assert!(!glob_match("Exact", "exact"));
}

// ---- the commands ----------------------------------------------------------------------

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// The UFS tests compare output in its escaped form.
trait Escaped {
    fn cmd(&mut self, line: &str) -> String;
    fn wait(&mut self, millis: u64) -> String;
    fn file(&self, name: &str) -> Option<Vec<u8>>;
}

impl Escaped for Harness {
    fn cmd(&mut self, line: &str) -> String {
        escape(self.at(line).as_bytes())
    }

    fn wait(&mut self, millis: u64) -> String {
        self.advance(Duration::from_millis(millis));
        escape(&self.take_output())
    }

    fn file(&self, name: &str) -> Option<Vec<u8>> {
        self.module().ufs.store.read(name).ok()
    }
}

/// A module with `p` after ATE0.
fn host_with(p: Personality) -> Harness {
    let mut h = Harness::with_personality(p);
    h.cmd("ATE0");
    h
}

fn host() -> Harness {
    host_with(Personality::default())
}

#[test]
fn upload_is_binary_safe_and_exact() {
    let mut h = host();
    assert_eq!(h.cmd("AT+QFUPL=\"b.bin\",6"), "\\r\\nCONNECT\\r\\n");
    let data = [0u8, 0xff, b'\r', b'\n', b'+', 0x1a];
    let out = h.exchange(&[&data[..], b"AT\r"].concat());
    assert_eq!(
        escape(&out),
        format!(
            "\\r\\n+QFUPL: 6,{}\\r\\n\\r\\nOK\\r\\n\\r\\nOK\\r\\n",
            checksum_hex(&data)
        )
    );
    assert_eq!(h.file("b.bin").unwrap(), data);
}

#[test]
fn upload_timeout_keeps_the_partial_file() {
    let mut h = host();
    h.cmd("AT+QFUPL=\"p\",10,2");
    h.exchange(b"abc");
    h.set_now(h.now() + Duration::from_millis(1500));
    h.exchange(b"de");
    assert_eq!(h.wait(1999), "");
    assert_eq!(h.wait(1), "\\r\\n+CME ERROR: 421\\r\\n");
    assert_eq!(h.file("p").unwrap(), b"abcde");
    assert_eq!(h.cmd("AT"), "\\r\\nOK\\r\\n");
}

#[test]
fn upload_timeout_in_the_bg96_wording() {
    let p = Personality {
        qfupl_timeout_reports_size: true,
        ..Personality::default()
    };
    let mut h = host_with(p);
    h.cmd("AT+QFUPL=\"p\",10,1");
    h.exchange(b"abc");
    assert_eq!(h.wait(1000), "\\r\\n+QFUPL: 3,262\\r\\n\\r\\nOK\\r\\n");
    assert_eq!(h.file("p").unwrap(), b"abc");
}

#[test]
fn upload_deadline_is_the_earlier_of_guard_and_timeout() {
    let mut h = host();
    h.cmd("AT+QFUPL=\"p\",10,3");
    assert_eq!(h.module().poll_timeout(), Some(ms(3000)));
    h.set_now(ms(1500));
    h.exchange(b"+++");
    // The escape is due a guard time (1 s) after the `+++`, before the 3 s timeout.
    assert_eq!(h.module().poll_timeout(), Some(ms(2500)));
    assert_eq!(h.wait(1000), "\\r\\n+QFUPL: 0,0\\r\\n\\r\\nOK\\r\\n");
    assert_eq!(h.file("p").unwrap(), b"");
}

#[test]
fn pluses_that_complete_the_upload_are_data() {
    let mut h = host();
    h.cmd("AT+QFUPL=\"p\",3");
    h.set_now(ms(2000));
    assert_eq!(
        escape(&h.exchange(b"+++")),
        "\\r\\n+QFUPL: 3,2b\\r\\n\\r\\nOK\\r\\n"
    );
    assert_eq!(h.file("p").unwrap(), b"+++");
}

#[test]
fn ack_mode_sends_a_per_kilobyte() {
    let mut h = host();
    h.cmd("AT+QFUPL=\"k\",2500,5,1");
    assert_eq!(escape(&h.exchange(&[7u8; 1023])), "");
    assert_eq!(escape(&h.exchange(&[7u8; 1])), "A");
    assert_eq!(escape(&h.exchange(&[7u8; 1024])), "A");
    let out = escape(&h.exchange(&[7u8; 452]));
    assert_eq!(
        out,
        format!(
            "\\r\\n+QFUPL: 2500,{}\\r\\n\\r\\nOK\\r\\n",
            checksum_hex(&[7u8; 2500])
        )
    );
}

#[test]
fn upload_checks() {
    let mut h = host();
    h.cmd("AT+QFUPL=\"a\",1");
    h.exchange(b"x");
    assert_eq!(h.cmd("AT+QFUPL=\"a\",1"), "\\r\\n+CME ERROR: 407\\r\\n");
    assert_eq!(h.cmd("AT+QFUPL=\"UFS:a\",1"), "\\r\\n+CME ERROR: 407\\r\\n");
    assert_eq!(h.cmd("AT+QFUPL=\"../a\",1"), "\\r\\n+CME ERROR: 400\\r\\n");
    assert_eq!(h.cmd("AT+QFUPL=\"b\",0"), "\\r\\n+CME ERROR: 400\\r\\n");
    assert_eq!(h.cmd("AT+QFUPL=\"b\",1,0"), "\\r\\n+CME ERROR: 400\\r\\n");
    assert_eq!(h.cmd("AT+QFUPL=\"b\",1,5,2"), "\\r\\n+CME ERROR: 400\\r\\n");
    assert_eq!(
        h.cmd("AT+QFUPL=\"b\",2097152"),
        "\\r\\n+CME ERROR: 420\\r\\n"
    );
    assert_eq!(h.cmd("AT+QFUPL"), "\\r\\nERROR\\r\\n");
    assert_eq!(h.cmd("AT+QFUPL=\"b\",2097151"), "\\r\\nCONNECT\\r\\n");
}

#[test]
fn capacity_is_truthful_and_full_writes_leave_nothing() {
    let p = Personality {
        ufs_capacity: 100,
        ..Personality::default()
    };
    let mut h = host_with(p);
    assert_eq!(
        h.cmd("AT+QFLDS=\"UFS\""),
        "\\r\\n+QFLDS: 100,100\\r\\n\\r\\nOK\\r\\n"
    );
    h.cmd("AT+QFUPL=\"a\",60");
    h.exchange(&[1u8; 60]);
    assert_eq!(
        h.cmd("AT+QFLDS=\"UFS\""),
        "\\r\\n+QFLDS: 40,100\\r\\n\\r\\nOK\\r\\n"
    );
    assert_eq!(h.cmd("AT+QFLDS"), "\\r\\n+QFLDS: 60,1\\r\\n\\r\\nOK\\r\\n");
    assert_eq!(h.cmd("AT+QFUPL=\"b\",41"), "\\r\\n+CME ERROR: 420\\r\\n");
    assert!(h.file("b").is_none());
    // FTP downloads are checked the same way and leave the store untouched.
    assert_eq!(
        h.module_mut().ufs.write_for_ftp("UFS:b", &[0u8; 41]),
        Err(CmeError::NoSpace)
    );
    assert!(h.file("b").is_none());
    // Replacing a file counts its old size as free.
    assert_eq!(h.module_mut().ufs.write_for_ftp("a", &[2u8; 100]), Ok(()));
    assert_eq!(
        h.module_mut().ufs.read_for_ftp("UFS:a").unwrap(),
        vec![2u8; 100]
    );
    assert_eq!(
        h.module_mut().ufs.read_for_ftp("zz"),
        Err(CmeError::FileNotFound)
    );
    assert_eq!(
        h.module_mut().ufs.write_for_ftp("a//b", b""),
        Err(CmeError::InvalidInput)
    );
    // QFWRITE past the free space is refused before CONNECT.
    assert_eq!(
        h.cmd("AT+QFOPEN=\"a\""),
        "\\r\\n+QFOPEN: 1\\r\\n\\r\\nOK\\r\\n"
    );
    assert_eq!(h.cmd("AT+QFSEEK=1,0,2"), "\\r\\nOK\\r\\n");
    assert_eq!(h.cmd("AT+QFWRITE=1,1"), "\\r\\n+CME ERROR: 420\\r\\n");
    assert_eq!(h.cmd("AT+QFWRITE=1"), "\\r\\n+CME ERROR: 420\\r\\n");
    assert_eq!(h.cmd("AT+QFSEEK=1,10,2"), "\\r\\nOK\\r\\n");
    assert_eq!(h.cmd("AT+QFWRITE=1,10"), "\\r\\nCONNECT\\r\\n");
    assert_eq!(
        escape(&h.exchange(b"0123456789")),
        "\\r\\n+QFWRITE: 10,100\\r\\n\\r\\nOK\\r\\n"
    );
}

#[test]
fn handles() {
    let mut h = host();
    for i in 1..=10 {
        assert_eq!(
            h.cmd(&format!("AT+QFOPEN=\"f{i}\",1")),
            format!("\\r\\n+QFOPEN: {i}\\r\\n\\r\\nOK\\r\\n")
        );
    }
    assert_eq!(h.cmd("AT+QFOPEN=\"f11\""), "\\r\\n+CME ERROR: 413\\r\\n");
    assert_eq!(h.cmd("AT+QFOPEN=\"f3\""), "\\r\\n+CME ERROR: 426\\r\\n");
    assert_eq!(h.cmd("AT+QFCLOSE=3"), "\\r\\nOK\\r\\n");
    assert_eq!(h.cmd("AT+QFCLOSE=3"), "\\r\\n+CME ERROR: 416\\r\\n");
    assert_eq!(
        h.cmd("AT+QFOPEN=\"f11\""),
        "\\r\\n+QFOPEN: 3\\r\\n\\r\\nOK\\r\\n"
    );
    // A reset closes every handle; the files stay.
    h.module_mut().ufs.reset();
    assert_eq!(h.cmd("AT+QFOPEN?"), "\\r\\nOK\\r\\n");
    assert!(h.file("f11").is_some());
}

#[test]
fn reset_during_upload_writes_nothing() {
    let mut h = host();
    h.cmd("AT+QFUPL=\"r\",10");
    h.exchange(b"abc");
    let now = h.now();
    h.module_mut().reset(now);
    h.take_output();
    assert!(h.file("r").is_none());
}

#[test]
fn a_file_and_a_folder_cannot_share_a_name() {
    let files = ["a", "dir/f", "dir/sub/g", "ab/c"];
    let clash = |n: &str| folder_conflict(n, files.iter().copied());
    // Inside a file, or where a folder is.
    assert!(clash("a/b"));
    assert!(clash("a/b/c"));
    assert!(clash("dir"));
    assert!(clash("dir/sub"));
    assert!(clash("dir/f/x"));
    // Siblings and look-alike prefixes are fine; so is the file itself (a replace).
    assert!(!clash("dir/h"));
    assert!(!clash("dir/sub/h"));
    assert!(!clash("di"));
    assert!(!clash("dirx/f"));
    assert!(!clash("a"));
    assert!(!clash("abc"));
    assert!(!clash("ab/d"));
}

#[test]
fn ftp_hooks_take_folder_names() {
    let mut h = host_with(Personality::default());
    assert_eq!(
        h.module_mut()
            .ufs
            .write_for_ftp("UFS:/security/ca.pem", b"CA"),
        Ok(())
    );
    assert_eq!(
        h.module_mut().ufs.read_for_ftp("/security/ca.pem").unwrap(),
        b"CA"
    );
    assert_eq!(
        h.module_mut().ufs.read_for_ftp("security/ca.pem").unwrap(),
        b"CA"
    );
    assert_eq!(
        h.module_mut()
            .ufs
            .read_for_ftp("ufs:security/ca.pem")
            .unwrap(),
        b"CA"
    );
    assert_eq!(
        h.module_mut().ufs.write_for_ftp("security", b""),
        Err(CmeError::WriteFailed)
    );
    assert_eq!(
        h.module_mut().ufs.write_for_ftp("security/ca.pem/x", b""),
        Err(CmeError::WriteFailed)
    );
    for bad in [
        "/",
        "UFS://x",
        "security/../ca.pem",
        "security//ca.pem",
        "security/",
    ] {
        assert_eq!(
            h.module_mut().ufs.read_for_ftp(bad),
            Err(CmeError::InvalidInput),
            "{bad}"
        );
        assert_eq!(
            h.module_mut().ufs.write_for_ftp(bad, b""),
            Err(CmeError::InvalidInput),
            "{bad}"
        );
    }
    assert!(valid_name("UFS:/security/ca.pem"));
    assert!(!valid_name("UFS:/security/"));
}
