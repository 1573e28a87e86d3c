//! AT+QFTPCFG (application note 2.1) and AT+QSSLCFG (companion-commands.md §2): the
//! settings a session is opened with. Bad values answer `+CME ERROR: 610`.

use bg95_at::Arg;

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

/// A QFTPCFG item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CfgItem {
    Account,
    Filetype,
    Transmode,
    Contextid,
    Rsptimeout,
    Ssltype,
    Sslctxid,
    DataSslctxid,
    DataAddress,
}

/// One QFTPCFG item: its name, its Test line (section 2.1) and, for a number, its range.
pub(crate) struct CfgRow {
    pub name: &'static str,
    pub item: CfgItem,
    pub test: &'static str,
    range: Option<(u64, u64)>,
}

/// Every QFTPCFG item, in the order of the Test response.
pub(crate) const CFG_ITEMS: &[CfgRow] = &[
    CfgRow {
        name: "account",
        item: CfgItem::Account,
        test: "+QFTPCFG: \"account\",<username>,<password>",
        range: None,
    },
    CfgRow {
        name: "filetype",
        item: CfgItem::Filetype,
        test: "+QFTPCFG: \"filetype\",(0,1)",
        range: Some((0, 1)),
    },
    CfgRow {
        name: "transmode",
        item: CfgItem::Transmode,
        test: "+QFTPCFG: \"transmode\",(0,1)",
        range: Some((0, 1)),
    },
    CfgRow {
        name: "contextid",
        item: CfgItem::Contextid,
        test: "+QFTPCFG: \"contextid\",(1-16)",
        range: Some((1, 16)),
    },
    CfgRow {
        name: "rsptimeout",
        item: CfgItem::Rsptimeout,
        test: "+QFTPCFG: \"rsptimeout\",(20-180)",
        range: Some((20, 180)),
    },
    CfgRow {
        name: "ssltype",
        item: CfgItem::Ssltype,
        test: "+QFTPCFG: \"ssltype\",(0-2)",
        range: Some((0, 2)),
    },
    CfgRow {
        name: "sslctxid",
        item: CfgItem::Sslctxid,
        test: "+QFTPCFG: \"sslctxid\",(0-5)",
        range: Some((0, 5)),
    },
    CfgRow {
        name: "data_sslctxid",
        item: CfgItem::DataSslctxid,
        test: "+QFTPCFG: \"data_sslctxid\",(0-5)",
        range: Some((0, 5)),
    },
    CfgRow {
        name: "data_address",
        item: CfgItem::DataAddress,
        test: "+QFTPCFG: \"data_address\",(0,1)",
        range: Some((0, 1)),
    },
];

/// An AT+QFTPCFG line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CfgCommand {
    /// `AT+QFTPCFG="<item>"`: print the item.
    Query(&'static CfgRow),
    SetAccount {
        user: String,
        password: String,
    },
    Set(CfgItem, u64),
}

impl PartialEq for CfgRow {
    fn eq(&self, other: &Self) -> bool {
        self.item == other.item
    }
}

impl Eq for CfgRow {}

impl std::fmt::Debug for CfgRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Parse AT+QFTPCFG's Write form; `None` is a bad parameter (610).
pub(crate) fn parse_qftpcfg(args: &[Arg]) -> Option<CfgCommand> {
    let item = args.first().and_then(Arg::as_text)?.to_ascii_lowercase();
    let row = CFG_ITEMS.iter().find(|r| r.name == item)?;
    if args.len() == 1 {
        return Some(CfgCommand::Query(row));
    }
    match row.range {
        None => {
            let user = args.get(1).and_then(Arg::as_text)?;
            let password = args.get(2).and_then(Arg::as_text)?;
            (args.len() == 3 && user.len() <= 255 && password.len() <= 255).then(|| {
                CfgCommand::SetAccount {
                    user: user.to_string(),
                    password: password.to_string(),
                }
            })
        }
        Some((lo, hi)) => {
            let v = (args.len() == 2).then(|| args[1].as_u64()).flatten()?;
            (lo..=hi)
                .contains(&v)
                .then_some(CfgCommand::Set(row.item, v))
        }
    }
}

impl FtpConfig {
    /// Run a parsed AT+QFTPCFG; information lines (prefixed `name`) go to `info`.
    pub(crate) fn run(&mut self, name: &str, cmd: CfgCommand, info: &mut Vec<String>) {
        match cmd {
            CfgCommand::Query(row) => info.push(match row.item {
                CfgItem::Account => format!(
                    "{name}: \"account\",\"{}\",\"{}\"",
                    self.user,
                    "*".repeat(self.password.chars().count())
                ),
                item => format!("{name}: \"{}\",{}", row.name, self.numeric(item)),
            }),
            CfgCommand::SetAccount { user, password } => {
                self.user = user;
                self.password = password;
            }
            CfgCommand::Set(item, v) => self.set_numeric(item, v),
        }
    }

    fn set_numeric(&mut self, item: CfgItem, v: u64) {
        match item {
            CfgItem::Filetype => self.filetype = v as u8,
            CfgItem::Transmode => self.transmode = v as u8,
            CfgItem::Contextid => self.contextid = v as u8,
            CfgItem::Rsptimeout => self.rsptimeout = v as u16,
            CfgItem::Ssltype => self.ssltype = v as u8,
            CfgItem::Sslctxid => self.sslctxid = v as u8,
            CfgItem::DataSslctxid => self.data_sslctxid = v as u8,
            CfgItem::DataAddress => self.data_address = v as u8,
            CfgItem::Account => {}
        }
    }

    fn numeric(&self, item: CfgItem) -> u64 {
        match item {
            CfgItem::Filetype => self.filetype.into(),
            CfgItem::Transmode => self.transmode.into(),
            CfgItem::Contextid => self.contextid.into(),
            CfgItem::Rsptimeout => self.rsptimeout.into(),
            CfgItem::Ssltype => self.ssltype.into(),
            CfgItem::Sslctxid => self.sslctxid.into(),
            CfgItem::DataSslctxid => self.data_sslctxid.into(),
            CfgItem::DataAddress => self.data_address.into(),
            CfgItem::Account => 0,
        }
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
    /// `"session"`, 0/1: stored and read back; no effect on FTP(S) (docs/ftp.md).
    pub session: u8,
    /// `"dtls"`, 0/1: stored and read back; FTP(S) runs over TCP, so DTLS never applies.
    pub dtls: u8,
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
            session: 0,
            dtls: 0,
        }
    }
}

pub const SSL_CONTEXTS: usize = 6;

/// Cipher suites AT+QSSLCFG accepts: the module's list, as its test response gives it
/// (companion-commands.md §2); 0XFFFF = all. The suite selected is the only one the
/// handshake offers. Of these, rustls can complete a handshake only with 0XC02F; with any
/// other code the ClientHello still offers exactly that code, and the handshake fails (631)
/// whether or not the server has the suite (docs/ftp.md, `bg95_emu::ftp::tls`).
pub const CIPHERSUITES: [u16; 14] = [
    0x0035, 0x002F, 0x0005, 0x0004, 0x000A, 0x003D, 0xC011, 0xC012, 0xC013, 0xC014, 0xC027, 0xC028,
    0xC02F, 0xFFFF,
];

/// A QSSLCFG item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslItem {
    Sslversion,
    Ciphersuite,
    Cacert,
    Clientcert,
    Clientkey,
    Seclevel,
    Sni,
    Checkhost,
    Ignorelocaltime,
    Negotiatetime,
    Session,
    Dtls,
}

/// What values an item takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslValues {
    Number(u64, u64),
    /// A hex cipher suite of [`CIPHERSUITES`].
    Suite,
    /// A UFS path (at most [`crate::ufs::MAX_NAME`] bytes without its `UFS:` root).
    Path,
}

/// One QSSLCFG item: its name, its Test line (companion-commands.md §2) and its values.
pub(crate) struct SslRow {
    pub name: &'static str,
    pub item: SslItem,
    pub test: &'static str,
    values: SslValues,
}

const fn ssl(name: &'static str, item: SslItem, test: &'static str, values: SslValues) -> SslRow {
    SslRow {
        name,
        item,
        test,
        values,
    }
}

/// Every QSSLCFG item, in the order of the Test response.
pub(crate) const SSL_ITEMS: &[SslRow] = &[
    ssl("sslversion", SslItem::Sslversion, "+QSSLCFG: \"sslversion\",(0-5),(0-4)", SslValues::Number(0, 4)),
    ssl("ciphersuite", SslItem::Ciphersuite, "+QSSLCFG: \"ciphersuite\",(0-5),(0X0035,0X002F,0X0005,0X0004,0X000A,0X003D,0XC011,0XC012,0XC013,0XC014,0XC027,0XC028,0XC02F,0XFFFF)", SslValues::Suite),
    ssl("cacert", SslItem::Cacert, "+QSSLCFG: \"cacert\",(0-5),<cacertpath>", SslValues::Path),
    ssl("clientcert", SslItem::Clientcert, "+QSSLCFG: \"clientcert\",(0-5),<client_cert_path>", SslValues::Path),
    ssl("clientkey", SslItem::Clientkey, "+QSSLCFG: \"clientkey\",(0-5),<client_key_path>", SslValues::Path),
    ssl("seclevel", SslItem::Seclevel, "+QSSLCFG: \"seclevel\",(0-5),(0-2)", SslValues::Number(0, 2)),
    ssl("sni", SslItem::Sni, "+QSSLCFG: \"sni\",(0-5),(0,1)", SslValues::Number(0, 1)),
    ssl("checkhost", SslItem::Checkhost, "+QSSLCFG: \"checkhost\",(0-5),(0,1)", SslValues::Number(0, 1)),
    ssl("ignorelocaltime", SslItem::Ignorelocaltime, "+QSSLCFG: \"ignorelocaltime\",(0-5),(0,1)", SslValues::Number(0, 1)),
    ssl("negotiatetime", SslItem::Negotiatetime, "+QSSLCFG: \"negotiatetime\",(0-5),(10-300)", SslValues::Number(10, 300)),
    // BG95 items (observed-behaviour.md, "SSL") absent from the BG96 capture; their ranges
    // are the 0/1 switches of the spec's sources (docs/ftp.md).
    ssl("session", SslItem::Session, "+QSSLCFG: \"session\",(0-5),(0,1)", SslValues::Number(0, 1)),
    ssl("dtls", SslItem::Dtls, "+QSSLCFG: \"dtls\",(0-5),(0,1)", SslValues::Number(0, 1)),
];

/// A value for a QSSLCFG item, checked against the item's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SslValue {
    Number(u64),
    Text(String),
}

/// An AT+QSSLCFG line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SslCommand {
    Query {
        ctx: usize,
        item: SslItem,
        name: &'static str,
    },
    Set {
        ctx: usize,
        item: SslItem,
        value: SslValue,
    },
}

/// A cipher suite code: `0X` or `0x`, then one to four hex digits in either case.
fn parse_hex(s: &str) -> Option<u16> {
    let digits = s.strip_prefix("0X").or_else(|| s.strip_prefix("0x"))?;
    // from_str_radix alone would also take a sign (`0X+35`).
    let hex = (1..=4).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_hexdigit());
    hex.then(|| u16::from_str_radix(digits, 16).ok()).flatten()
}

/// Parse AT+QSSLCFG's Write form; `None` answers `ERROR` (the SSL note gives no CME code
/// for a bad value).
pub(crate) fn parse_qsslcfg(args: &[Arg]) -> Option<SslCommand> {
    let item = args.first().and_then(Arg::as_text)?.to_ascii_lowercase();
    let ctx = usize::try_from(args.get(1).and_then(Arg::as_u64)?).ok()?;
    if ctx >= SSL_CONTEXTS {
        return None;
    }
    let row = SSL_ITEMS.iter().find(|r| r.name == item)?;
    if args.len() == 2 {
        return Some(SslCommand::Query {
            ctx,
            item: row.item,
            name: row.name,
        });
    }
    if args.len() != 3 {
        return None;
    }
    let value = match row.values {
        SslValues::Number(lo, hi) => {
            SslValue::Number(args[2].as_u64().filter(|v| (lo..=hi).contains(v))?)
        }
        SslValues::Suite => SslValue::Number(
            args[2]
                .as_text()
                .and_then(parse_hex)
                .filter(|c| CIPHERSUITES.contains(c))?
                .into(),
        ),
        // A certificate path is stored and echoed as given (`"/security/cacert.pem"`,
        // `"UFS:ca.pem"`); the 80-byte limit is UFS's, on the path without its `UFS:` prefix
        // and leading `/`.
        SslValues::Path => SslValue::Text(
            args[2]
                .as_text()
                .filter(|s| crate::ufs::strip_ufs_root(s).len() <= crate::ufs::MAX_NAME)?
                .to_string(),
        ),
    };
    Some(SslCommand::Set {
        ctx,
        item: row.item,
        value,
    })
}

/// Run a parsed AT+QSSLCFG over all contexts; information lines (prefixed `name`) go to
/// `info`.
pub(crate) fn run_qsslcfg(
    ctxs: &mut [SslContext; SSL_CONTEXTS],
    name: &str,
    cmd: SslCommand,
    info: &mut Vec<String>,
) {
    match cmd {
        SslCommand::Query {
            ctx,
            item,
            name: item_name,
        } => {
            let c = &ctxs[ctx];
            let v = match item {
                SslItem::Sslversion => c.sslversion.to_string(),
                SslItem::Ciphersuite => format!("0X{:04X}", c.ciphersuite),
                SslItem::Cacert => format!("\"{}\"", c.cacert),
                SslItem::Clientcert => format!("\"{}\"", c.clientcert),
                SslItem::Clientkey => format!("\"{}\"", c.clientkey),
                SslItem::Seclevel => c.seclevel.to_string(),
                SslItem::Ignorelocaltime => c.ignorelocaltime.to_string(),
                SslItem::Negotiatetime => c.negotiatetime.to_string(),
                SslItem::Sni => c.sni.to_string(),
                SslItem::Checkhost => c.checkhost.to_string(),
                SslItem::Session => c.session.to_string(),
                SslItem::Dtls => c.dtls.to_string(),
            };
            info.push(format!("{name}: \"{item_name}\",{ctx},{v}"));
        }
        SslCommand::Set { ctx, item, value } => {
            let c = &mut ctxs[ctx];
            match (item, value) {
                (SslItem::Cacert, SslValue::Text(s)) => c.cacert = s,
                (SslItem::Clientcert, SslValue::Text(s)) => c.clientcert = s,
                (SslItem::Clientkey, SslValue::Text(s)) => c.clientkey = s,
                (SslItem::Sslversion, SslValue::Number(v)) => c.sslversion = v as u8,
                (SslItem::Ciphersuite, SslValue::Number(v)) => c.ciphersuite = v as u16,
                (SslItem::Seclevel, SslValue::Number(v)) => c.seclevel = v as u8,
                (SslItem::Ignorelocaltime, SslValue::Number(v)) => c.ignorelocaltime = v as u8,
                (SslItem::Negotiatetime, SslValue::Number(v)) => c.negotiatetime = v as u16,
                (SslItem::Sni, SslValue::Number(v)) => c.sni = v as u8,
                (SslItem::Checkhost, SslValue::Number(v)) => c.checkhost = v as u8,
                (SslItem::Session, SslValue::Number(v)) => c.session = v as u8,
                (SslItem::Dtls, SslValue::Number(v)) => c.dtls = v as u8,
                // parse_qsslcfg pairs every item with its kind of value.
                _ => {}
            }
        }
    }
}
