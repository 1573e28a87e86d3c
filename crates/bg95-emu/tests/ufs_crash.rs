//! Crash safety of UFS on disk: `kill -9` the `bg95-emu serve` process while files are being
//! uploaded, start it again on the same `--ufs-dir`, and check the store: every file is
//! either absent (old state) or complete (new state), never torn, and no temporary file is
//! left behind.

#![cfg(unix)]

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// A running `bg95-emu serve` and its tty.
struct Emu {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    tty: File,
    rx: Receiver<Vec<u8>>,
    buf: Vec<u8>,
}

impl Emu {
    fn start(dir: &Path) -> Emu {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
            .arg("serve")
            .arg("--ufs-dir")
            .arg(dir)
            .args(["--ftp-server", "off"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn bg95-emu serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let path = loop {
            line.clear();
            let n = stdout
                .read_line(&mut line)
                .expect("read the emulator's stdout");
            assert!(n > 0, "bg95-emu serve exited before printing its tty");
            if let Some(p) = line.trim().strip_prefix("tty: ") {
                break PathBuf::from(p);
            }
        };
        let tty = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .expect("open the tty");
        let mut reader = tty.try_clone().unwrap();
        let (tx, rx) = channel();
        thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                match reader.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if tx.send(chunk[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let mut emu = Emu {
            child,
            _stdout: stdout,
            tty,
            rx,
            buf: Vec::new(),
        };
        emu.send(b"ATE0\r");
        emu.expect_until(b"OK\r\n");
        emu.buf.clear();
        emu
    }

    fn send(&mut self, bytes: &[u8]) {
        self.tty.write_all(bytes).expect("write to the tty");
    }

    /// Read until the buffer contains `needle`; returns everything up to and including it.
    fn expect_until(&mut self, needle: &[u8]) -> Vec<u8> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = self.buf.windows(needle.len()).position(|w| w == needle) {
                let rest = self.buf.split_off(i + needle.len());
                return std::mem::replace(&mut self.buf, rest);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(chunk) => self.buf.extend_from_slice(&chunk),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => panic!(
                    "waited for {:?}, got {:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&self.buf)
                ),
            }
        }
    }

    /// A command with its answer up to the final `OK` (or an error).
    fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r").as_bytes());
        let out = self.expect_until(b"\r\n");
        let mut text = String::from_utf8_lossy(&out).into_owned();
        // Collect lines until a final result.
        while !text.ends_with("OK\r\n") && !text.contains("ERROR") {
            text.push_str(&String::from_utf8_lossy(&self.expect_until(b"\r\n")));
        }
        text
    }

    fn list(&mut self) -> Vec<(String, u64)> {
        self.command("AT+QFLST")
            .lines()
            .filter_map(|l| l.strip_prefix("+QFLST: \""))
            .map(|l| {
                let (name, size) = l.split_once("\",").unwrap();
                (name.to_string(), size.parse().unwrap())
            })
            .collect()
    }

    fn download(&mut self, name: &str) -> Vec<u8> {
        self.send(format!("AT+QFDWL=\"{name}\"\r").as_bytes());
        let head = self.expect_until(b"CONNECT\r\n");
        assert!(
            !String::from_utf8_lossy(&head).contains("ERROR"),
            "{head:?}"
        );
        let body = self.expect_until(b"\r\nOK\r\n");
        let text = String::from_utf8_lossy(&body);
        let at = text.rfind("\r\n+QFDWL: ").expect("+QFDWL line");
        // The data is everything before the +QFDWL line (the byte offsets match: the lossy
        // text is only used to find an ASCII marker from the end).
        let marker = body.len() - (text.len() - at);
        body[..marker].to_vec()
    }

    fn upload(&mut self, name: &str, data: &[u8]) {
        self.send(format!("AT+QFUPL=\"{name}\",{}\r", data.len()).as_bytes());
        self.expect_until(b"CONNECT\r\n");
        self.send(data);
        let out = self.expect_until(b"OK\r\n");
        let want = format!("+QFUPL: {},", data.len());
        assert!(String::from_utf8_lossy(&out).contains(&want), "{out:?}");
    }

    /// `kill -9`.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }
}

fn pattern(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|k| ((k * 31 + seed * 7) % 251) as u8)
        .collect()
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn kill_during_qfupl_leaves_a_consistent_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ufs");
    let old = pattern(1, 4096);

    // Run 1: one complete file, then an upload killed half-way.
    let mut emu = Emu::start(&dir);
    emu.upload("old.bin", &old);
    emu.send(b"AT+QFUPL=\"new.bin\",200000\r");
    emu.expect_until(b"CONNECT\r\n");
    emu.send(&pattern(2, 100_000));
    thread::sleep(Duration::from_millis(300));
    emu.kill();

    // Run 2: the old file is intact; the killed upload is absent (never torn).
    let mut emu = Emu::start(&dir);
    let files = emu.list();
    assert!(files.contains(&("old.bin".to_string(), 4096)), "{files:?}");
    for (name, size) in &files {
        if name == "new.bin" {
            assert_eq!(*size, 200_000, "a torn new.bin");
        }
    }
    assert_eq!(emu.download("old.bin"), old);
    assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));

    // A burst of pipelined uploads, killed at some point in the middle: every file that
    // exists afterwards is complete.
    let size = 20_000;
    let mut burst = Vec::new();
    for i in 0..80 {
        burst.extend_from_slice(format!("AT+QFUPL=\"b{i}\",{size}\r").as_bytes());
        burst.extend_from_slice(&pattern(10 + i, size));
    }
    let mut writer = emu.tty.try_clone().unwrap();
    let sender = thread::spawn(move || {
        for chunk in burst.chunks(4096) {
            if writer.write_all(chunk).is_err() {
                return;
            }
        }
    });
    // Wait until some uploads have completed, then kill.
    emu.expect_until(b"+QFUPL: ");
    thread::sleep(Duration::from_millis(20));
    emu.kill();
    let _ = sender.join();

    // Run 3: old.bin and every complete b<i>; nothing torn, no temporary files.
    let mut emu = Emu::start(&dir);
    assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));
    let files = emu.list();
    assert!(files.contains(&("old.bin".to_string(), 4096)), "{files:?}");
    let mut seen = 0;
    for (name, len) in &files {
        if let Some(i) = name.strip_prefix('b') {
            let i: usize = i.parse().unwrap();
            assert_eq!(*len as usize, size, "{name} is torn");
            let on_disk = std::fs::read(dir.join(name)).unwrap();
            assert_eq!(on_disk, pattern(10 + i, size), "{name} has wrong contents");
            seen += 1;
        }
    }
    eprintln!("{seen} of 80 burst uploads survived the kill");
    assert!(seen >= 1, "no burst upload completed: {files:?}");
    // The store still works after the crash.
    emu.upload("after.bin", b"ok");
    assert_eq!(emu.download("after.bin"), b"ok");
    emu.kill();
}
