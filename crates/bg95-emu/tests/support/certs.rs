//! Test certificates made with rcgen: a CA, a server certificate it signs (for `localhost`
//! and `127.0.0.1`), a client certificate it signs, and an unrelated second CA.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

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

fn make_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA cert")
}

/// Generate everything and write the server's files into `dir`.
pub fn generate(dir: &Path) -> TestCerts {
    let ca = make_ca("bg95-emu test CA");
    let other = make_ca("unrelated CA");

    let server_key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("server params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server = params.signed_by(&server_key, &ca).expect("server cert");

    let client_key = KeyPair::generate().expect("client key");
    let mut params =
        CertificateParams::new(vec!["bg95-client".to_string()]).expect("client params");
    params
        .distinguished_name
        .push(DnType::CommonName, "bg95-client");
    let client = params.signed_by(&client_key, &ca).expect("client cert");

    let server_cert_file = dir.join("server.pem");
    let server_key_file = dir.join("server.key");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&server_cert_file, server.pem()).expect("write server cert");
    std::fs::write(&server_key_file, server_key.serialize_pem()).expect("write server key");
    std::fs::write(&ca_file, ca.pem()).expect("write CA");
    TestCerts {
        ca_pem: ca.pem(),
        server_cert_pem: server.pem(),
        server_key_pem: server_key.serialize_pem(),
        client_cert_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
        other_ca_pem: other.pem(),
        server_cert_file,
        server_key_file,
        ca_file,
    }
}
