pub mod certs;
pub mod vsftpd;
