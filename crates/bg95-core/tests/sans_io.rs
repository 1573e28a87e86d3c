//! `bg95-at` and `bg95-core` stay sans-IO: no tokio, no sockets, no files, no clock.
//! (A source scan rather than clippy's disallowed-methods, because the runtime crate and the
//! tests legitimately use those APIs and clippy.toml is workspace-wide.)

use std::path::{Path, PathBuf};

const FORBIDDEN: [&str; 10] = [
    "Instant::now",
    "SystemTime",
    "std::time::Instant",
    "tokio",
    "std::net",
    "std::fs",
    "std::process",
    "std::thread",
    "std::io::stdin",
    "libc::",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn at_and_core_use_no_io_and_no_clock() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut offences = Vec::new();
    for krate in ["bg95-at", "bg95-core"] {
        let manifest = std::fs::read_to_string(crates.join(krate).join("Cargo.toml")).unwrap();
        for dep in ["tokio", "mio", "libc", "nix", "socket2"] {
            if manifest.lines().any(|l| l.trim_start().starts_with(dep)) {
                offences.push(format!("{krate}/Cargo.toml depends on {dep}"));
            }
        }
        let mut files = Vec::new();
        rust_files(&crates.join(krate).join("src"), &mut files);
        assert!(!files.is_empty());
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for bad in FORBIDDEN {
                    if code.contains(bad) {
                        offences.push(format!("{}:{}: {bad}", f.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "sans-IO crates touch I/O or the clock:\n{}",
        offences.join("\n")
    );
}
