//! The start state of a scenario (docs/scenarios.md, docs/import.md): contexts already
//! active at boot, QFTPCFG values already set, and `[[setup]]` steps that open an FTP
//! session before the compared steps — the state a field log that starts mid-session needs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bg95(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The module answers from the start state as from state the host had set: AT+CEREG? says
/// roaming at once (no timeline to race), AT+QIACT?
/// shows the address, AT+QFTPCFG queries the values, and the session the setup opened
/// (against the scenario's server, with the account of `[module.qftpcfg]`) takes AT+QFTPPWD
/// and AT+QFTPSIZE. The setup's own answers are not seen by the steps.
#[test]
fn a_scenario_starts_with_contexts_config_and_an_open_session() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("root")).unwrap();
    let file = write(
        dir.path(),
        "s.toml",
        r#"
[module]
active_contexts = { 1 = "10.44.12.7" }
registration = "roaming"
[module.qftpcfg]
account = ["meter", "m3ter"]
rsptimeout = 30
filetype = 1
[ftp_server]
root = "root"
users = [{ user = "meter", password = "m3ter" }]
[ftp_server.files]
"data.bin" = { size = 1234 }

[[setup]]
line = "ATE0"
[[setup]]
line = 'AT+QFTPOPEN="${ftp_host}",${ftp_port}'
[[setup]]
expect = "+QFTPOPEN: 0,0"

[[step]]
line = "AT+CEREG?"
[[step]]
expect_bytes = "\r\n+CEREG: 0,5\r\n\r\nOK\r\n"
[[step]]
line = "AT+QIACT?"
[[step]]
expect_bytes = "\r\n+QIACT: 1,1,1,\"10.44.12.7\"\r\n\r\nOK\r\n"
[[step]]
line = 'AT+QFTPCFG="rsptimeout"'
[[step]]
expect_bytes = "\r\n+QFTPCFG: \"rsptimeout\",30\r\n\r\nOK\r\n"
[[step]]
line = 'AT+QFTPSIZE="data.bin"'
[[step]]
expect_bytes = "\r\nOK\r\n"
[[step]]
expect = "+QFTPSIZE: 0,1234"
"#,
    );
    let out = bg95(&["run".as_ref(), file.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// A setup step that fails names itself; bad start-state values are file errors with their
/// line and key, checked by the core that would run them.
#[test]
fn bad_start_states_are_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[module]\nactive_contexts = { 1 = \"10.1.2\" }\n",
            ":2: module.active_contexts.1: \"10.1.2\" is not an IPv4 address",
        ),
        (
            "[module]\nactive_contexts = { 17 = \"10.1.2.3\" }\n",
            ":2: module.active_contexts.17: \"17\" is not a context id (1-16)",
        ),
        (
            "[module.qftpcfg]\ncontextid = 1\nrsptimout = 30\n",
            ":3: module.qftpcfg.rsptimout: unknown QFTPCFG item `rsptimout`",
        ),
        (
            "[module.qftpcfg]\naccount = \"u\"\n",
            ":2: module.qftpcfg.account: account is [\"user\", \"password\"]",
        ),
        (
            "[module.qftpcfg]\nrsptimeout = 5\n",
            ":1: module: the start state's AT+QFTPCFG=\"rsptimeout\",5 answers +CME ERROR: 610",
        ),
        (
            "[module]\nactive_contexts = { 1 = \"10.1.2.3\" }\n[network.pdp]\n1 = \"10.9.9.9\"\n",
            "module.active_contexts: context 1 is active with 10.1.2.3, but [network.pdp] gives it 10.9.9.9",
        ),
        (
            "[module]\nregistration = \"searching\"\n",
            ":2: module.registration: \"searching\": the module starts registered, \"home\" or \"roaming\"",
        ),
        (
            "[[setup]]\nline = \"AT\"\nexpect = \"OK\"\n",
            ":1: step.expect: one action per step",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let file = write(dir.path(), &format!("bad{i}.toml"), text);
        let out = bg95(&["run".as_ref(), file.as_os_str()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert!(stderr.contains(want), "{text}: want {want:?} in {stderr}");
    }
    let failing = write(
        dir.path(),
        "setup-fails.toml",
        "[[setup]]\nline = \"AT+QFTPCWD=\\\"/x\\\"\"\n[[setup]]\nexpect = \"+QFTPCWD: 0,0\"\ntimeout = \"1s\"\n[[step]]\nline = \"AT\"\n",
    );
    let out = bg95(&["run".as_ref(), failing.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("setup step at line 3: expected line \"+QFTPCWD: 0,0\""),
        "{stdout}"
    );
}
