//! A vsftpd instance for tests: foreground, generated config, 127.0.0.1 on a free port, its
//! own root directory and passive port range, user `test`/`test`; plain, explicit FTPS or
//! implicit FTPS. Killed (with its session processes) on drop.
//!
//! Needs to run as root with `vsftpd` installed (`apt-get install -y vsftpd`). The system
//! user `test` is created if missing (`useradd --system`), and its password set to `test`.

#![allow(dead_code)]

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::certs::{self, TestCerts};

/// Which FTP flavour the instance speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    /// AUTH TLS on the normal port; TLS required for logins and data.
    Explicit,
    /// TLS from the first byte (`implicit_ssl=YES`).
    Implicit,
}

/// Extra settings.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub mode: Mode,
    /// `idle_session_timeout` in seconds (vsftpd default 300).
    pub idle_timeout: Option<u32>,
}

impl Options {
    pub fn new(mode: Mode) -> Options {
        Options {
            mode,
            idle_timeout: None,
        }
    }
}

pub struct Vsftpd {
    child: Child,
    dir: tempfile::TempDir,
    pub addr: SocketAddr,
    /// The directory served as `/`, writable by user `test`.
    pub root: PathBuf,
    pub certs: Option<TestCerts>,
    log_file: PathBuf,
}

/// Whether vsftpd can run here (installed, running as root).
pub fn available() -> bool {
    let installed = Path::new("/usr/sbin/vsftpd").exists()
        || Command::new("sh")
            .args(["-c", "command -v vsftpd"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    installed && root
}

fn ensure_user() {
    static USER: OnceLock<()> = OnceLock::new();
    USER.get_or_init(|| {
        let exists = Command::new("id")
            .arg("test")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !exists {
            let status = Command::new("useradd")
                .args([
                    "--system",
                    "--home-dir",
                    "/",
                    "--shell",
                    "/bin/bash",
                    "test",
                ])
                .status()
                .expect("run useradd");
            assert!(status.success(), "useradd test failed");
        }
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("run chpasswd");
        chpasswd
            .stdin
            .take()
            .expect("chpasswd stdin")
            .write_all(b"test:test\n")
            .expect("write chpasswd");
        assert!(
            chpasswd.wait().expect("chpasswd").success(),
            "chpasswd failed"
        );
    });
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A passive port range of 40 ports, distinct for every instance of this process (and
/// spread by process id), below the kernel's ephemeral range (32768+).
fn pasv_range() -> (u16, u16) {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 25;
    let base = 20000 + (std::process::id() % 12) as u16 * 1000 + n * 40;
    (base, base + 39)
}

/// TLS variations of an instance.
#[derive(Debug, Clone, Copy, Default)]
struct TlsExtras {
    require_client_cert: bool,
    rsa_self_signed: bool,
}

/// Replace the server's certificate and key with a self-signed RSA pair made by the
/// `openssl` command (rcgen on ring cannot generate RSA keys).
fn rsa_self_signed(cert: &Path, key: &Path) {
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(key)
        .arg("-out")
        .arg(cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl (apt-get install -y openssl)");
    assert!(status.success(), "openssl req failed");
}

impl Vsftpd {
    pub fn start(mode: Mode) -> Vsftpd {
        Vsftpd::start_with(Options::new(mode))
    }

    pub fn start_with(options: Options) -> Vsftpd {
        Vsftpd::start_full(options, TlsExtras::default())
    }

    /// FTPS that requires a client certificate signed by the test CA.
    pub fn start_requiring_client_cert(mode: Mode) -> Vsftpd {
        assert_ne!(mode, Mode::Plain, "client certificates need FTPS");
        let extras = TlsExtras {
            require_client_cert: true,
            ..TlsExtras::default()
        };
        Vsftpd::start_full(Options::new(mode), extras)
    }

    /// FTPS with a self-signed RSA certificate for `127.0.0.1` instead of the test CA's
    /// (ECDSA) one, so that ECDHE_RSA suites can be negotiated, and `debug_ssl=YES`, so the
    /// log names each session's negotiated cipher ([`Vsftpd::log`]). Verify nothing
    /// (seclevel 0) against it.
    pub fn start_rsa(mode: Mode) -> Vsftpd {
        assert_ne!(mode, Mode::Plain, "an RSA certificate needs FTPS");
        let extras = TlsExtras {
            rsa_self_signed: true,
            ..TlsExtras::default()
        };
        Vsftpd::start_full(Options::new(mode), extras)
    }

    fn start_full(options: Options, extras: TlsExtras) -> Vsftpd {
        ensure_user();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod dir");
        let root = dir.path().join("root");
        let empty = dir.path().join("empty");
        std::fs::create_dir(&root).expect("root dir");
        std::fs::create_dir(&empty).expect("empty dir");
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777))
            .expect("chmod root");
        let log_file = dir.path().join("vsftpd.log");
        let certs = (options.mode != Mode::Plain).then(|| certs::generate(dir.path()));
        if let (Some(c), true) = (&certs, extras.rsa_self_signed) {
            rsa_self_signed(&c.server_cert_file, &c.server_key_file);
        }
        let port = free_port();
        let (pasv_min, pasv_max) = pasv_range();
        let mut conf = format!(
            "listen=YES\nlisten_ipv6=NO\nbackground=NO\nlisten_address=127.0.0.1\nlisten_port={port}\n\
             isolate=NO\nisolate_network=NO\nseccomp_sandbox=NO\nsecure_chroot_dir={empty}\n\
             anonymous_enable=NO\nlocal_enable=YES\nwrite_enable=YES\nlocal_umask=022\n\
             pam_service_name=vsftpd\nlocal_root={root}\nchroot_local_user=YES\nallow_writeable_chroot=YES\n\
             pasv_enable=YES\npasv_address=127.0.0.1\npasv_min_port={pasv_min}\npasv_max_port={pasv_max}\n\
             port_enable=YES\nconnect_from_port_20=NO\n\
             xferlog_enable=YES\nxferlog_std_format=NO\nlog_ftp_protocol=YES\nvsftpd_log_file={log}\n\
             max_per_ip=0\nmax_clients=0\n",
            empty = empty.display(),
            root = root.display(),
            log = log_file.display(),
        );
        if let Some(secs) = options.idle_timeout {
            conf.push_str(&format!("idle_session_timeout={secs}\n"));
        }
        if let Some(certs) = &certs {
            conf.push_str(&format!(
                "ssl_enable=YES\nrsa_cert_file={}\nrsa_private_key_file={}\nssl_ciphers=HIGH\n\
                 allow_anon_ssl=NO\nforce_local_data_ssl=YES\nforce_local_logins_ssl=YES\nrequire_ssl_reuse=YES\n",
                certs.server_cert_file.display(),
                certs.server_key_file.display(),
            ));
            if extras.rsa_self_signed {
                conf.push_str("debug_ssl=YES\n");
            }
            if extras.require_client_cert {
                conf.push_str(&format!(
                    "require_cert=YES\nvalidate_cert=YES\nca_certs_file={}\n",
                    certs.ca_file.display()
                ));
            }
            if options.mode == Mode::Implicit {
                conf.push_str("implicit_ssl=YES\n");
            }
        }
        let conf_file = dir.path().join("vsftpd.conf");
        std::fs::write(&conf_file, conf).expect("write vsftpd.conf");
        let out = std::fs::File::create(dir.path().join("vsftpd.out")).expect("vsftpd.out");
        let child = Command::new("vsftpd")
            .arg(&conf_file)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            // Its own process group, so drop can kill the session processes too.
            .process_group(0)
            .spawn()
            .expect("start vsftpd (apt-get install -y vsftpd)");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut server = Vsftpd {
            child,
            dir,
            addr,
            root,
            certs,
            log_file,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("vsftpd status") {
                panic!("vsftpd exited at start ({status}): {}", self.output());
            }
            if TcpStream::connect(self.addr).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "vsftpd did not listen: {}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// vsftpd's stdout/stderr (start-up errors).
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("vsftpd.out")).unwrap_or_default()
    }

    /// The protocol log (`log_ftp_protocol=YES`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// Write a file into the root, writable by user `test`.
    pub fn put(&self, name: &str, bytes: &[u8]) {
        let path = self.root.join(name);
        std::fs::write(&path, bytes).expect("write fixture");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))
            .expect("chmod fixture");
    }
}

impl Drop for Vsftpd {
    fn drop(&mut self) {
        // The whole process group this instance leads: the listener and its sessions.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
