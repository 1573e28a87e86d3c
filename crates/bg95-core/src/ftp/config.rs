//! AT+QFTPCFG (application note 2.1) and AT+QSSLCFG (companion-commands.md §2): the
//! settings a session is opened with. Bad values answer `+CME ERROR: 610`.

use bg95_at::{Arg, FinalResult, Form, Invocation};

use crate::error::FtpError;
use crate::module::Outcome;

/// The QFTPCFG settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpConfig {
    pub user: String,
    pub password: String,
    /// 0 binary, 1 ASCII.
    pub filetype: u8,
    /// 0 active, 1 passive.
    pub transmode: u8,
    pub contextid: u8,
    /// Seconds, 20–180.
    pub rsptimeout: u16,
    /// 0 FTP, 1 implicit FTPS, 2 explicit FTPS.
    pub ssltype: u8,
    pub sslctxid: u8,
    pub data_sslctxid: u8,
    /// 0 the server's PASV address, 1 the control connection's address.
    pub data_address: u8,
}

impl Default for FtpConfig {
    fn default() -> Self {
        FtpConfig {
            user: String::new(),
            password: String::new(),
            filetype: 0,
            transmode: 1,
            contextid: 1,
            rsptimeout: 90,
            ssltype: 0,
            sslctxid: 0,
            data_sslctxid: 1,
            data_address: 0,
        }
    }
}

const QFTPCFG_TEST: [&str; 9] = [
    "+QFTPCFG: \"account\",<username>,<password>",
    "+QFTPCFG: \"filetype\",(0,1)",
    "+QFTPCFG: \"transmode\",(0,1)",
    "+QFTPCFG: \"contextid\",(1-16)",
    "+QFTPCFG: \"rsptimeout\",(20-180)",
    "+QFTPCFG: \"ssltype\",(0-2)",
    "+QFTPCFG: \"sslctxid\",(0-5)",
    "+QFTPCFG: \"data_sslctxid\",(0-5)",
    "+QFTPCFG: \"data_address\",(0,1)",
];

fn bad() -> Outcome {
    FtpError::InvalidParameter.into()
}

/// The range of each numeric QFTPCFG item (section 2.1).
fn numeric_range(item: &str) -> Option<(u64, u64)> {
    Some(match item {
        "filetype" | "transmode" | "data_address" => (0, 1),
        "contextid" => (1, 16),
        "rsptimeout" => (20, 180),
        "ssltype" => (0, 2),
        "sslctxid" | "data_sslctxid" => (0, 5),
        _ => return None,
    })
}

/// A single integer value in `lo..=hi`.
fn value(args: &[Arg], lo: u64, hi: u64) -> Option<u64> {
    if args.len() != 2 {
        return None;
    }
    args[1].as_u64().filter(|v| (lo..=hi).contains(v))
}

impl FtpConfig {
    /// Handle AT+QFTPCFG. Information lines go to `info`.
    pub(crate) fn command(&mut self, inv: &Invocation, info: &mut Vec<String>) -> Outcome {
        let args = match &inv.form {
            Form::Test => {
                info.extend(QFTPCFG_TEST.iter().map(|s| s.to_string()));
                return Outcome::Ok;
            }
            Form::Write(args) => args,
            _ => return Outcome::Fail(FinalResult::Error),
        };
        let Some(item) = args.first().and_then(Arg::as_text) else {
            return bad();
        };
        let item = item.to_ascii_lowercase();
        if args.len() == 1 {
            let line = match item.as_str() {
                "account" => format!(
                    "+QFTPCFG: \"account\",\"{}\",\"{}\"",
                    self.user,
                    "*".repeat(self.password.chars().count())
                ),
                _ => match self.numeric(&item) {
                    Some(v) => format!("+QFTPCFG: \"{item}\",{v}"),
                    None => return bad(),
                },
            };
            info.push(line);
            return Outcome::Ok;
        }
        match item.as_str() {
            "account" => {
                let (Some(user), Some(pass)) = (
                    args.get(1).and_then(Arg::as_text),
                    args.get(2).and_then(Arg::as_text),
                ) else {
                    return bad();
                };
                if args.len() != 3 || user.len() > 255 || pass.len() > 255 {
                    return bad();
                }
                self.user = user.to_string();
                self.password = pass.to_string();
            }
            _ => {
                let Some(v) = numeric_range(&item).and_then(|(lo, hi)| value(args, lo, hi)) else {
                    return bad();
                };
                self.set_numeric(&item, v);
            }
        }
        Outcome::Ok
    }

    fn set_numeric(&mut self, item: &str, v: u64) {
        match item {
            "filetype" => self.filetype = v as u8,
            "transmode" => self.transmode = v as u8,
            "contextid" => self.contextid = v as u8,
            "rsptimeout" => self.rsptimeout = v as u16,
            "ssltype" => self.ssltype = v as u8,
            "sslctxid" => self.sslctxid = v as u8,
            "data_sslctxid" => self.data_sslctxid = v as u8,
            "data_address" => self.data_address = v as u8,
            _ => {}
        }
    }

    fn numeric(&self, item: &str) -> Option<u64> {
        Some(match item {
            "filetype" => self.filetype.into(),
            "transmode" => self.transmode.into(),
            "contextid" => self.contextid.into(),
            "rsptimeout" => self.rsptimeout.into(),
            "ssltype" => self.ssltype.into(),
            "sslctxid" => self.sslctxid.into(),
            "data_sslctxid" => self.data_sslctxid.into(),
            "data_address" => self.data_address.into(),
            _ => return None,
        })
    }
}

/// One SSL context of AT+QSSLCFG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslContext {
    pub sslversion: u8,
    pub ciphersuite: u16,
    pub cacert: String,
    pub clientcert: String,
    pub clientkey: String,
    pub seclevel: u8,
    pub ignorelocaltime: u8,
    pub negotiatetime: u16,
    pub sni: u8,
    pub checkhost: u8,
}

impl Default for SslContext {
    fn default() -> Self {
        SslContext {
            sslversion: 4,
            ciphersuite: 0xFFFF,
            cacert: String::new(),
            clientcert: String::new(),
            clientkey: String::new(),
            seclevel: 0,
            ignorelocaltime: 1,
            negotiatetime: 300,
            sni: 0,
            checkhost: 0,
        }
    }
}

pub const SSL_CONTEXTS: usize = 6;

/// Cipher suites AT+QSSLCFG accepts: of the module's list (the BG96 list in the test
/// response), the ones the emulator's TLS stack (rustls) really has, so that a suite that
/// is set is also the suite the handshake uses. rustls has no CBC, RC4 or 3DES suites and no
/// RSA key exchange: 0X0035, 0X002F, 0X0005, 0X0004, 0X000A, 0X003D, 0XC011, 0XC012, 0XC013,
/// 0XC014, 0XC027 and 0XC028 answer `ERROR` (docs/ftp.md). 0XFFFF = all.
pub const CIPHERSUITES: [u16; 2] = [0xC02F, 0xFFFF];

const QSSLCFG_TEST: [&str; 10] = [
    "+QSSLCFG: \"sslversion\",(0-5),(0-4)",
    "+QSSLCFG: \"ciphersuite\",(0-5),(0X0035,0X002F,0X0005,0X0004,0X000A,0X003D,0XC011,0XC012,0XC013,0XC014,0XC027,0XC028,0XC02F,0XFFFF)",
    "+QSSLCFG: \"cacert\",(0-5),<cacertpath>",
    "+QSSLCFG: \"clientcert\",(0-5),<client_cert_path>",
    "+QSSLCFG: \"clientkey\",(0-5),<client_key_path>",
    "+QSSLCFG: \"seclevel\",(0-5),(0-2)",
    "+QSSLCFG: \"sni\",(0-5),(0,1)",
    "+QSSLCFG: \"checkhost\",(0-5),(0,1)",
    "+QSSLCFG: \"ignorelocaltime\",(0-5),(0,1)",
    "+QSSLCFG: \"negotiatetime\",(0-5),(10-300)",
];

fn parse_hex(s: &str) -> Option<u16> {
    let digits = s.strip_prefix("0X").or_else(|| s.strip_prefix("0x"))?;
    u16::from_str_radix(digits, 16).ok()
}

/// Handle AT+QSSLCFG over all contexts. Invalid values answer `ERROR` (the SSL note gives
/// no CME code for them).
pub(crate) fn qsslcfg(
    ctxs: &mut [SslContext; SSL_CONTEXTS],
    inv: &Invocation,
    info: &mut Vec<String>,
) -> Outcome {
    let args = match &inv.form {
        Form::Test => {
            info.extend(QSSLCFG_TEST.iter().map(|s| s.to_string()));
            return Outcome::Ok;
        }
        Form::Write(args) => args,
        _ => return Outcome::Fail(FinalResult::Error),
    };
    let err = || Outcome::Fail(FinalResult::Error);
    let (Some(item), Some(id)) = (
        args.first().and_then(Arg::as_text),
        args.get(1).and_then(Arg::as_u64),
    ) else {
        return err();
    };
    let Some(ctx) = ctxs.get_mut(id as usize) else {
        return err();
    };
    let item = item.to_ascii_lowercase();
    if args.len() == 2 {
        let v = match item.as_str() {
            "sslversion" => ctx.sslversion.to_string(),
            "ciphersuite" => format!("0X{:04X}", ctx.ciphersuite),
            "cacert" => format!("\"{}\"", ctx.cacert),
            "clientcert" => format!("\"{}\"", ctx.clientcert),
            "clientkey" => format!("\"{}\"", ctx.clientkey),
            "seclevel" => ctx.seclevel.to_string(),
            "ignorelocaltime" => ctx.ignorelocaltime.to_string(),
            "negotiatetime" => ctx.negotiatetime.to_string(),
            "sni" => ctx.sni.to_string(),
            "checkhost" => ctx.checkhost.to_string(),
            _ => return err(),
        };
        info.push(format!("+QSSLCFG: \"{item}\",{id},{v}"));
        return Outcome::Ok;
    }
    if args.len() != 3 {
        return err();
    }
    let num = |lo: u64, hi: u64| args[2].as_u64().filter(|v| (lo..=hi).contains(v));
    // A certificate path is stored and echoed as given (`"/security/cacert.pem"`, `"UFS:ca.pem"`);
    // the 80-byte limit is UFS's, on the path without its `UFS:` prefix and leading `/`.
    let text = || {
        args[2]
            .as_text()
            .filter(|s| crate::ufs::strip_ufs_root(s).len() <= crate::ufs::MAX_NAME)
            .map(str::to_string)
    };
    let ok = match item.as_str() {
        "sslversion" => num(0, 4).map(|v| ctx.sslversion = v as u8),
        "ciphersuite" => args[2]
            .as_text()
            .and_then(parse_hex)
            .filter(|c| CIPHERSUITES.contains(c))
            .map(|c| ctx.ciphersuite = c),
        "cacert" => text().map(|s| ctx.cacert = s),
        "clientcert" => text().map(|s| ctx.clientcert = s),
        "clientkey" => text().map(|s| ctx.clientkey = s),
        "seclevel" => num(0, 2).map(|v| ctx.seclevel = v as u8),
        "ignorelocaltime" => num(0, 1).map(|v| ctx.ignorelocaltime = v as u8),
        "negotiatetime" => num(10, 300).map(|v| ctx.negotiatetime = v as u16),
        "sni" => num(0, 1).map(|v| ctx.sni = v as u8),
        "checkhost" => num(0, 1).map(|v| ctx.checkhost = v as u8),
        _ => None,
    };
    match ok {
        Some(()) => Outcome::Ok,
        None => err(),
    }
}
