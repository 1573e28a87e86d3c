//! Test certificates, made at run time by `bg95_emu::pki` (rcgen): a CA, a server
//! certificate it signs (for `localhost` and `127.0.0.1`), a client certificate it signs,
//! and an unrelated second CA; plus the files vsftpd reads.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use bg95_emu::pki::Pki;

/// PEM texts and the files vsftpd reads.
pub struct TestCerts {
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
    /// A CA that signed nothing here: verification against it must fail.
    pub other_ca_pem: String,
    pub server_cert_file: PathBuf,
    pub server_key_file: PathBuf,
    pub ca_file: PathBuf,
}

/// Generate everything and write the server's files into `dir`.
pub fn generate(dir: &Path) -> TestCerts {
    generate_with(dir, |_| {})
}

/// As [`generate`], with the server certificate's parameters changed by `edit` (expired
/// certificates, other names).
pub fn generate_with(dir: &Path, edit: impl FnOnce(&mut rcgen::CertificateParams)) -> TestCerts {
    let pki = Pki::generate_with("bg95-emu test CA", &["localhost", "127.0.0.1"], edit)
        .expect("test PKI");
    let other = Pki::generate("unrelated CA", &["localhost"]).expect("second PKI");
    let server_cert_file = dir.join("server.pem");
    let server_key_file = dir.join("server.key");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&server_cert_file, &pki.server.cert_pem).expect("write server cert");
    std::fs::write(&server_key_file, &pki.server.key_pem).expect("write server key");
    std::fs::write(&ca_file, &pki.ca_pem).expect("write CA");
    TestCerts {
        ca_pem: pki.ca_pem,
        server_cert_pem: pki.server.cert_pem,
        server_key_pem: pki.server.key_pem,
        client_cert_pem: pki.client.cert_pem,
        client_key_pem: pki.client.key_pem,
        other_ca_pem: other.ca_pem,
        server_cert_file,
        server_key_file,
        ca_file,
    }
}
