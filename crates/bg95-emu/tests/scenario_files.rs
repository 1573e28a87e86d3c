//! Scenario files are untrusted (they arrive attached to bug reports): every rule of
//! docs/scenarios.md "Untrusted files" as a `bg95-emu run`/`serve` exit code and message.
//! Nothing here may read outside the scenario's folder, hang on a FIFO, or allocate a huge
//! size: each case is a bad file → exit 2 with `FILE:LINE: key: message`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bg95(args: &[&str]) -> Output {
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

/// `run FILE` (and `serve --scenario FILE`) with `extra` flags exit 2 and the first line
/// of stderr is `FILE:<want>`.
fn bad(file: &Path, extra: &[&str], want: &str) {
    let f = file.to_str().unwrap();
    for mut args in [vec!["run", f], vec!["serve", "--scenario", f]] {
        args.extend_from_slice(extra);
        let out = bg95(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let first = err.lines().next().unwrap_or("");
        assert!(
            first.starts_with(&format!("{f}{want}")),
            "{args:?}: {first:?}, want {want:?}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// A scenario that passes when it runs: one AT, one OK.
const STEPS: &str = "[[step]]\nline = \"AT\"\n[[step]]\nexpect = \"OK\"\n";

#[test]
fn paths_stay_inside_the_scenario_folder_unless_allowed() {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("case");
    std::fs::create_dir(&dir).unwrap();
    std::fs::create_dir(dir.join("root")).unwrap();
    write(outer.path(), "secret.txt", "not yours");
    std::fs::create_dir(outer.path().join("x")).unwrap();
    let ufs = write(
        &dir,
        "ufs.toml",
        &format!("[module.ufs]\n\"x\" = {{ path = \"../secret.txt\" }}\n{STEPS}"),
    );
    bad(
        &ufs,
        &[],
        &format!(
            ":2: module.ufs.x.path: {}/../secret.txt is outside the scenario's folder (pass --allow-paths-outside to allow it)",
            dir.display()
        ),
    );
    let out = bg95(&["run", "--allow-paths-outside", ufs.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let served = write(
        &dir,
        "served.toml",
        "[ftp_server]\nroot = \"root\"\n[ftp_server.files]\n\"s\" = { path = \"/etc/passwd\" }\n",
    );
    bad(
        &served,
        &[],
        ":4: ftp_server.files.\"s\".path: /etc/passwd is outside the scenario's folder",
    );
    let root = write(&dir, "root.toml", "[ftp_server]\nroot = \"../x\"\n");
    bad(
        &root,
        &[],
        &format!(
            ":2: ftp_server.root: {}/../x is outside the scenario's folder",
            dir.display()
        ),
    );
}

#[test]
fn a_symlink_in_the_root_that_leads_out_is_refused() {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("case");
    std::fs::create_dir_all(dir.join("root/sub")).unwrap();
    write(outer.path(), "shadow", "secret");
    std::os::unix::fs::symlink(outer.path().join("shadow"), dir.join("root/sub/link")).unwrap();
    // A symlink inside the root to a file inside it is fine.
    write(&dir.join("root"), "a.txt", "a");
    std::os::unix::fs::symlink(dir.join("root/a.txt"), dir.join("root/b.txt")).unwrap();
    let file = write(
        &dir,
        "s.toml",
        &format!("[ftp_server]\nroot = \"root\"\n{STEPS}"),
    );
    bad(
        &file,
        &[],
        &format!(
            ":2: ftp_server.root: {}/sub/link is a symlink to {}/shadow, outside the server's root",
            dir.join("root").canonicalize().unwrap().display(),
            outer.path().canonicalize().unwrap().display()
        ),
    );
    std::fs::remove_file(dir.join("root/sub/link")).unwrap();
    // A folder symlink could loop (a copy would follow it until the disk is full).
    std::os::unix::fs::symlink(dir.join("root"), dir.join("root/sub/loop")).unwrap();
    bad(
        &file,
        &["--allow-paths-outside"],
        &format!(
            ":2: ftp_server.root: {}/sub/loop is a symlink to a folder (not served: a link could loop; copy the folder)",
            dir.join("root").canonicalize().unwrap().display()
        ),
    );
    std::fs::remove_file(dir.join("root/sub/loop")).unwrap();
    let out = bg95(&["run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn fifos_and_devices_are_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    nix::unistd::mkfifo(&d.join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    std::fs::create_dir(d.join("root")).unwrap();
    nix::unistd::mkfifo(&d.join("root/pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let fifo = write(
        d,
        "fifo.toml",
        "[module.ufs]\n\"f\" = { path = \"fifo\" }\n",
    );
    bad(
        &fifo,
        &[],
        &format!(
            ":2: module.ufs.f.path: {}/fifo is not a regular file (a FIFO, a device or a folder is never read)",
            d.display()
        ),
    );
    let zero = write(
        d,
        "zero.toml",
        "[module.ufs]\n\"z\" = { path = \"/dev/zero\" }\n",
    );
    bad(
        &zero,
        &["--allow-paths-outside"],
        ":2: module.ufs.z.path: /dev/zero is not a regular file",
    );
    let root = write(d, "root.toml", "[ftp_server]\nroot = \"root\"\n");
    bad(
        &root,
        &[],
        &format!(
            ":2: ftp_server.root: {}/pipe is not a regular file or a folder (a FIFO or a device is never served)",
            d.join("root").canonicalize().unwrap().display()
        ),
    );
    // The scenario file itself.
    let out = bg95(&["run", d.join("fifo").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":0: file: not a regular file"));
}

#[test]
fn a_root_entry_that_cannot_be_copied_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("root")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", dir.path().join("root/dangling")).unwrap();
    let file = write(dir.path(), "s.toml", "[ftp_server]\nroot = \"root\"\n");
    let dangling = dir
        .path()
        .join("root")
        .canonicalize()
        .unwrap()
        .join("dangling");
    bad(
        &file,
        &[],
        &format!(
            ":2: ftp_server.root: {}: a symlink that leads nowhere",
            dangling.display()
        ),
    );
    bad(
        &file,
        &["--allow-paths-outside"],
        &format!(":2: ftp_server.root: {}: No such file", dangling.display()),
    );
}

#[test]
fn huge_sizes_are_refused_before_anything_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("root")).unwrap();
    let tib4 = 4u64 << 40;
    let ufs = write(
        d,
        "ufs.toml",
        &format!("[module.ufs]\n\"big\" = {{ size = {tib4} }}\n"),
    );
    bad(
        &ufs,
        &[],
        &format!(":2: module.ufs.big.size: {tib4} bytes is more than the limit of 2097152"),
    );
    let srv = write(
        d,
        "srv.toml",
        &format!(
            "[ftp_server]\nroot = \"root\"\n[ftp_server.files]\n\"big\" = {{ size = {tib4} }}\n"
        ),
    );
    bad(
        &srv,
        &[],
        &format!(
            ":4: ftp_server.files.\"big\".size: {tib4} bytes is more than the limit of 268435456"
        ),
    );
    let many = write(
        d,
        "many.toml",
        "[ftp_server]\nroot = \"root\"\n[ftp_server.files]\n\"f{1..3000}\" = { size = 200000000 }\n",
    );
    bad(
        &many,
        &[],
        ":4: ftp_server.files.\"f{1..3000}\": the server's files take more than the limit of 536870912 bytes",
    );
    let send = write(d, "send.toml", &format!("[[step]]\nsend_size = {tib4}\n"));
    bad(
        &send,
        &[],
        &format!(":1: step.send_size: {tib4} bytes is more than the limit of 268435456"),
    );
}

#[test]
fn empty_garbage_typos_and_oversized_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let empty = write(d, "empty.toml", "");
    let out = bg95(&["run", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "{}:1: step: no [[step]] and no [[fault]]: nothing to run\n",
            empty.display()
        )
    );
    let typo = write(
        d,
        "typo.toml",
        "[ftp_server]\nroot = \".\"\n[[step]]\nline = \"AT+QFTPOPEN=\\\"${ftp_hst}\\\",${ftp_port}\"\n",
    );
    bad(
        &typo,
        &[],
        ":3: step.line: ${ftp_hst} is not a variable (${ftp_port}, ${ftp_host})",
    );
    let no_server = write(d, "noserver.toml", "[[step]]\nexpect = \"${ftp_port}\"\n");
    bad(
        &no_server,
        &[],
        ":1: step.expect: ${ftp_port}: no variables without an [ftp_server]",
    );
    let p = d.join("garbage.toml");
    std::fs::write(&p, b"name = \"x\"\n\x7fELF\x02\x01\x01\x00\xff\xfe").unwrap();
    bad(
        &p,
        &[],
        ":2: file: binary data: byte 0x7f at byte offset 11",
    );
    std::fs::write(&p, b"name = \"x\"\n\xff\xfe").unwrap();
    bad(
        &p,
        &[],
        ":2: file: not UTF-8 text: byte 0xff at byte offset 11",
    );
    let big = d.join("big.toml");
    std::fs::write(&big, "[[step]]\nline = \"AT\"\n".repeat(60_000)).unwrap();
    bad(
        &big,
        &[],
        ":0: file: more than 1048576 bytes (the limit of a scenario file)",
    );
    let pattern = write(
        d,
        "pattern.toml",
        "[ftp_server]\nroot = \".\"\n[ftp_server.files]\n\"a{1..}\" = { size = 1 }\n",
    );
    bad(
        &pattern,
        &[],
        ":4: ftp_server.files.\"a{1..}\": \"a{1..}\": {1..}: write {A..B} with numbers",
    );
}

#[test]
fn replay_of_an_empty_or_truncated_transcript_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "empty.txt",
            "",
            ":1: an empty transcript: no `>` or `<` line to replay",
        ),
        (
            "cut.txt",
            "#! boot\n@+10ms\n> AT\\r\n< AT\\r\\r\\nO",
            ":4: a truncated transcript: the last line has no line end",
        ),
    ];
    for (name, text, want) in cases {
        let p = write(dir.path(), name, text);
        let out = bg95(&["replay", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("{}{want}\n", p.display())
        );
    }
}
