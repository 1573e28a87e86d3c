//! Hostile logs: whatever lines a log holds — real traffic in every format, cut and mixed,
//! quotes, backslashes, control bytes, garbage — `import` never panics, and the scenario it
//! writes is a file the loader accepts (docs/import.md).

use proptest::prelude::*;

/// Pieces real logs are made of, to be combined and cut.
const PIECES: &[&str] = &[
    "AT+QFTPOPEN=\"ftp.example.com\",21",
    "+QFTPOPEN: 0,0",
    "+QFTPOPEN: 604,0",
    "+QFTPOPEN: 625,530",
    "AT+QFTPGET=\"a/../b.bin\",\"COM:\"",
    "CONNECT",
    "OK",
    "ERROR",
    "+CME ERROR: 10",
    "AT+CPIN?",
    "+QFTPGET: 607,0",
    "+QFTPGET: 0,12",
    "AT+QFTPLEN",
    "+QFTPLEN: 0,99",
    "+QIACT: 1,1,1,\"10.1.2.3\"",
    "+QIACT: 99,1,1,\"x\"",
    "+QFTPCFG: \"rsptimeout\",5",
    "+QFTPCFG: \"bogus key\",1",
    "+QFTPCFG: \"account\",\"u\",\"***\"",
    "AT+QFTPCFG=\"account\",\"u\",\"p\\\"w\"",
    "+CEREG: 0,5",
    "AT+CEREG?",
    "+QFTPCWD: 614,421",
    "AT+QFTPCWD=\"/x\"",
    "+QFTPSIZE: 0,65536",
    "AT+QFTPSIZE=\"f\"",
    "+QFTPGET'x: 605,0",
    "-rw-r--r-- 1 ftp ftp 10 Nov 03 10:00 ../../etc",
    "AT+QFTPLIST=\".\",\"COM:\"",
    "+QFTPMDTM: 609,0",
    "AT#$%\"",
    "AT+QFTPCLOSE",
];

const PREFIXES: &[&str] = &[
    "",
    ">> ",
    "<< ",
    "TX: ",
    "RX: ",
    "[10:00:00.000] ",
    "D (12) tag: ",
    "> ",
    "< ",
    "DEBUG modem: write ",
    "[D/AT] sendline: ",
    "\x1b[32m",
    "12:00:00.000 -> ",
    "#! ",
];

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (proptest::sample::select(PREFIXES), proptest::sample::select(PIECES))
            .prop_map(|(p, t)| format!("{p}{t}")),
        2 => (proptest::sample::select(PREFIXES), proptest::sample::select(PIECES))
            .prop_map(|(p, t)| format!("{p}b'{}\\r\\n'", t.replace('\'', "\\'"))),
        1 => proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(|b| b.iter().map(|x| format!("{x:02x} ")).collect::<String>()),
        2 => proptest::collection::vec(any::<char>(), 0..60).prop_map(|c| c.into_iter().collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_log_imports_to_a_loadable_scenario(lines in proptest::collection::vec(line(), 0..40)) {
        let text = lines.join("\n");
        let out = bg95_emu::import::import(&text, "hostile.log");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("ftp-root")).unwrap();
        for (rel, bytes) in &out.data_files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        let path = dir.path().join("s.toml");
        if let Err(e) = bg95_emu::scenario::Scenario::parse(&path, &out.toml) {
            panic!("{e}\n{}\n---\n{text}", out.toml);
        }
    }
}
