//! Certificates made at run time with rcgen, for the embedded server's FTPS (`serve
//! --ftp-tls`) and for tests: a CA, a server certificate it signs for `127.0.0.1` and
//! `localhost`, and a client certificate it signs. No private key is ever checked in.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

/// Why certificates could not be made.
#[derive(Debug, thiserror::Error)]
#[error("certificate generation: {0}")]
pub struct PkiError(#[from] rcgen::Error);

/// A certificate and its private key, both PEM.
#[derive(Clone)]
pub struct CertKey {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for CertKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("CertKey").finish_non_exhaustive()
    }
}

/// A CA with a server certificate and a client certificate it signed.
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca_pem: String,
    /// For the names given to [`Pki::generate`].
    pub server: CertKey,
    /// For `bg95-client` (seclevel 2).
    pub client: CertKey,
}

fn make_ca(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>, PkiError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(CertifiedIssuer::self_signed(params, KeyPair::generate()?)?)
}

fn leaf(
    names: &[&str],
    ca: &CertifiedIssuer<'static, KeyPair>,
    edit: impl FnOnce(&mut CertificateParams),
) -> Result<CertKey, PkiError> {
    let key = KeyPair::generate()?;
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(names.clone())?;
    if let Some(cn) = names.first() {
        params
            .distinguished_name
            .push(DnType::CommonName, cn.as_str());
    }
    edit(&mut params);
    let cert = params.signed_by(&key, ca)?;
    Ok(CertKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

impl Pki {
    /// A fresh CA named `ca_name`, a server certificate for `server_names` and a client
    /// certificate, all valid from a day ago for a year (rcgen's defaults otherwise).
    pub fn generate(ca_name: &str, server_names: &[&str]) -> Result<Pki, PkiError> {
        Pki::generate_with(ca_name, server_names, |_| {})
    }

    /// As [`Pki::generate`], with a chance to change the server certificate's parameters
    /// (tests make expired certificates this way).
    pub fn generate_with(
        ca_name: &str,
        server_names: &[&str],
        edit_server: impl FnOnce(&mut CertificateParams),
    ) -> Result<Pki, PkiError> {
        let ca = make_ca(ca_name)?;
        let server = leaf(server_names, &ca, edit_server)?;
        let client = leaf(&["bg95-client"], &ca, |_| {})?;
        Ok(Pki {
            ca_pem: ca.pem(),
            server,
            client,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_pem_texts() {
        let pki = Pki::generate("bg95-emu FTPS CA", &["127.0.0.1", "localhost"]).unwrap();
        assert!(pki.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki
            .server
            .cert_pem
            .starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki.server.key_pem.contains("PRIVATE KEY"));
        assert_ne!(pki.server.cert_pem, pki.client.cert_pem);
        assert!(!format!("{:?}", pki.server).contains("PRIVATE"));
    }
}
