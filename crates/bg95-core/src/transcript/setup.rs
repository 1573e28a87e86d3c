//! The module a recording started with, as `#!` header lines (docs/transcripts.md): what a
//! replay needs to build the same module — the personality where it differs from the
//! default (a scenario's `[module]`, its PDP addresses, a SIM-less boot) and the UFS files
//! present at power-on (a scenario's preloaded files, `--ftp-tls`'s CA, a `--ufs-dir`).
//!
//! ```text
//! #! module model "BG95-M1"
//! #! module csq_rssi 99
//! #! module sim_inserted false
//! #! module boot_urcs "RDY" "APP RDY"
//! #! module pdp_address 1 10.1.2.3
//! #! ufs "cfg.txt" "a=1\r\n"
//! #! ufs "big.bin" 409600B/fnv=0123456789abcdef
//! ```
//! Golden runners skip these lines (every `#` line is a comment to [`super::parse`]).

use std::time::Duration;

use super::{escape, unescape};
use crate::personality::Personality;

/// UFS files up to this size are written inline (a replay recreates them exactly); larger
/// ones as length and digest.
pub const UFS_INLINE_LIMIT: usize = 64 * 1024;

/// The content of a UFS file as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedFile {
    Bytes(Vec<u8>),
    /// Too large to inline: its length and FNV-1a digest.
    Digest {
        len: u64,
        fnv: u64,
    },
}

/// What a recording's header says about the module it started with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Setup {
    pub personality: Personality,
    pub ufs: Vec<(String, RecordedFile)>,
}

fn q(s: &str) -> String {
    format!("\"{}\"", escape(s.as_bytes()).replace('"', "\\\""))
}

/// The header lines (without the newline) for a module built from `p` with `files` in UFS.
pub fn setup_lines(p: &Personality, files: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut out = module_lines(p);
    for (name, data) in files {
        let file = if data.len() <= UFS_INLINE_LIMIT {
            RecordedFile::Bytes(data.clone())
        } else {
            RecordedFile::Digest {
                len: data.len() as u64,
                fnv: super::effect::fnv1a64(data),
            }
        };
        out.push(ufs_line(name, &file));
    }
    out
}

/// `#! ufs "name" "content"` or `#! ufs "name" <len>B/fnv=<hex>`.
pub fn ufs_line(name: &str, file: &RecordedFile) -> String {
    let value = match file {
        RecordedFile::Bytes(data) => format!("\"{}\"", escape(data).replace('"', "\\\"")),
        RecordedFile::Digest { len, fnv } => format!("{len}B/fnv={fnv:016x}"),
    };
    format!("#! ufs {} {value}", q(name))
}

/// True for a PEM private key (`-----BEGIN … PRIVATE KEY-----`): a transcript records such
/// a file as its size and digest unless asked to include keys (docs/transcripts.md).
pub fn is_private_key(data: &[u8]) -> bool {
    let find = |needle: &[u8]| data.windows(needle.len()).position(|w| w == needle);
    match find(b"-----BEGIN ") {
        Some(at) => data[at..]
            .split(|&b| b == b'\n')
            .next()
            .is_some_and(|l| l.windows(16).any(|w| w == b"PRIVATE KEY-----")),
        None => false,
    }
}

/// An incremental FNV-1a 64 (the digest of `<len>B/fnv=` values), for files read in pieces.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a64 {
    pub hash: u64,
    pub len: u64,
}

impl Default for Fnv1a64 {
    fn default() -> Self {
        Fnv1a64 {
            hash: 0xcbf2_9ce4_8422_2325,
            len: 0,
        }
    }
}

impl Fnv1a64 {
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.len += bytes.len() as u64;
    }
}

/// The `#! module` header lines: the personality where it differs from the default.
pub fn module_lines(p: &Personality) -> Vec<String> {
    // Every field is named here, so a field added to `Personality` fails to compile until
    // it is recorded below (and read back by `parse_setup`).
    let Personality {
        manufacturer: _,
        model: _,
        revision: _,
        imei: _,
        imsi: _,
        iccid: _,
        operator: _,
        csq_rssi: _,
        qcsq: _,
        reg_stat: _,
        tac: _,
        cell_id: _,
        act: _,
        max_line: _,
        power_off_time: _,
        boot_urcs: _,
        ufs_capacity: _,
        max_active_pdp: _,
        qfupl_timeout_reports_size: _,
        info_lines_framed: _,
        sim_inserted: _,
        pdp_addresses: _,
        start_commands: _,
    } = p;
    let d = Personality::default();
    let mut out = Vec::new();
    let mut field = |name: &str, value: String| out.push(format!("#! module {name} {value}"));
    macro_rules! text {
        ($($f:ident),*) => {$( if p.$f != d.$f { field(stringify!($f), q(&p.$f)); } )*};
    }
    macro_rules! plain {
        ($($f:ident),*) => {$( if p.$f != d.$f { field(stringify!($f), p.$f.to_string()); } )*};
    }
    text!(
        manufacturer,
        model,
        revision,
        imei,
        imsi,
        iccid,
        operator,
        qcsq,
        tac,
        cell_id
    );
    plain!(
        csq_rssi,
        reg_stat,
        act,
        max_line,
        ufs_capacity,
        max_active_pdp
    );
    plain!(qfupl_timeout_reports_size, sim_inserted, info_lines_framed);
    if p.power_off_time != d.power_off_time {
        field(
            "power_off_time",
            format!("{}ms", p.power_off_time.as_millis()),
        );
    }
    if p.boot_urcs != d.boot_urcs {
        let urcs: Vec<String> = p.boot_urcs.iter().map(|u| q(u)).collect();
        field("boot_urcs", urcs.join(" "));
    }
    for (cid, ip) in &p.pdp_addresses {
        field("pdp_address", format!("{cid} {ip}"));
    }
    for line in &p.start_commands {
        field("start_command", q(&masked_account(line)));
    }
    out
}

/// A start command with the password of `AT+QFTPCFG="account","<user>","<password>"` as
/// one `*` per character, as the transcript writes the host's own account line.
fn masked_account(line: &str) -> String {
    let upper = line.to_ascii_uppercase();
    if !upper.replace(' ', "").starts_with("AT+QFTPCFG=\"ACCOUNT\"") {
        return line.to_string();
    }
    let mut quotes = 0;
    line.chars()
        .map(|c| {
            if c == '"' {
                quotes += 1;
                c
            } else if quotes == 5 {
                '*'
            } else {
                c
            }
        })
        .collect()
}

/// Split a header value into words; a quoted word is unescaped.
fn words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        if let Some(body) = rest.strip_prefix('"') {
            let mut end = None;
            let mut escaped = false;
            for (i, c) in body.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = Some(i);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let end = end.ok_or("unterminated quote")?;
            let bytes = unescape(&body[..end])?;
            out.push(String::from_utf8_lossy(&bytes).into_owned());
            rest = body[end + 1..].trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    Ok(out)
}

fn one<T: std::str::FromStr>(v: &[String]) -> Result<T, String> {
    match v {
        [w] => w.parse().map_err(|_| format!("bad value {w:?}")),
        _ => Err("expected one value".into()),
    }
}

fn module_field(p: &mut Personality, name: &str, v: &[String]) -> Result<(), String> {
    macro_rules! set {
        ($($f:ident),*) => { match name {
            $( stringify!($f) => p.$f = one(v)?, )*
            "power_off_time" => {
                let ms: String = one(v)?;
                let ms = ms.strip_suffix("ms").ok_or("power_off_time in ms")?;
                p.power_off_time = Duration::from_millis(ms.parse().map_err(|_| "bad ms")?);
            }
            "boot_urcs" => p.boot_urcs = v.to_vec(),
            "start_command" => p.start_commands.push(one(v)?),
            "pdp_address" => match v {
                [cid, ip] => {
                    let cid = cid.parse().map_err(|_| "bad cid")?;
                    p.pdp_addresses.insert(cid, ip.parse().map_err(|_| "bad IPv4 address")?);
                }
                _ => return Err("pdp_address <cid> <ip>".into()),
            },
            other => return Err(format!("unknown module field `{other}`")),
        }};
    }
    set!(
        manufacturer,
        model,
        revision,
        imei,
        imsi,
        iccid,
        operator,
        qcsq,
        tac,
        cell_id,
        csq_rssi,
        reg_stat,
        act,
        max_line,
        ufs_capacity,
        max_active_pdp,
        qfupl_timeout_reports_size,
        sim_inserted,
        info_lines_framed
    );
    Ok(())
}

fn ufs_file(rest: &str) -> Result<(String, RecordedFile), String> {
    let name_and_value = words(rest)?;
    let [name, value] = name_and_value.as_slice() else {
        return Err("`#! ufs \"name\" \"content\"` or `… <len>B/fnv=<hex>`".into());
    };
    let quoted_value = rest.trim_end().ends_with('"');
    let content = if quoted_value {
        // Re-read the raw bytes: `words` went through UTF-8.
        let raw = rest.trim_end();
        let start = raw[..raw.len() - 1].rfind(" \"").ok_or("bad content")?;
        RecordedFile::Bytes(unescape(&raw[start + 2..raw.len() - 1])?)
    } else {
        let (len, fnv) = value
            .split_once("B/fnv=")
            .ok_or("content: \"…\" or <len>B/fnv=<hex>")?;
        RecordedFile::Digest {
            len: len.parse().map_err(|_| "bad length")?,
            fnv: u64::from_str_radix(fnv, 16).map_err(|_| "bad digest")?,
        }
    };
    Ok((name.clone(), content))
}

/// Read the `#! module` and `#! ufs` headers of a transcript's text (other lines are
/// ignored). Errors name the line.
pub fn parse_setup(text: &str) -> Result<Setup, super::ParseError> {
    let mut setup = Setup::default();
    for (idx, line) in text.lines().enumerate() {
        let err = |message: String| super::ParseError {
            line: idx + 1,
            message,
        };
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("#! module ") {
            let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
            let v = words(value).map_err(err)?;
            module_field(&mut setup.personality, name, &v).map_err(err)?;
        } else if let Some(rest) = line.strip_prefix("#! ufs ") {
            setup.ufs.push(ufs_file(rest).map_err(err)?);
        }
    }
    Ok(setup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let mut p = Personality {
            model: "BG95 \"M1\"".into(),
            csq_rssi: 99,
            sim_inserted: false,
            power_off_time: Duration::from_millis(1500),
            boot_urcs: vec!["RDY".into(), "APP RDY".into()],
            qfupl_timeout_reports_size: true,
            info_lines_framed: true,
            ..Personality::default()
        };
        p.pdp_addresses.insert(1, "10.1.2.3".parse().unwrap());
        p.start_commands = vec![
            "AT+QIACT=1".into(),
            "AT+QFTPCFG=\"account\",\"u\",\"p\"".into(),
        ];
        let big = vec![7u8; UFS_INLINE_LIMIT + 1];
        let files = vec![
            ("a b.txt".to_string(), b"x \"y\"\r\n\xff".to_vec()),
            ("big.bin".to_string(), big.clone()),
        ];
        let lines = setup_lines(&p, &files);
        assert!(
            lines.contains(&"#! module csq_rssi 99".to_string()),
            "{lines:?}"
        );
        assert!(lines.contains(&"#! module sim_inserted false".to_string()));
        assert!(
            !lines.iter().any(|l| l.contains("imei")),
            "defaults are left out"
        );
        assert!(
            lines.contains(
                &"#! module start_command \"AT+QFTPCFG=\\\"account\\\",\\\"u\\\",\\\"*\\\"\""
                    .to_string()
            ),
            "the start state's password is masked: {lines:?}"
        );
        let text = lines.join("\n");
        let setup = parse_setup(&text).unwrap();
        p.start_commands[1] = "AT+QFTPCFG=\"account\",\"u\",\"*\"".into();
        assert_eq!(setup.personality, p);
        assert_eq!(
            setup.ufs,
            vec![
                (
                    "a b.txt".to_string(),
                    RecordedFile::Bytes(files[0].1.clone())
                ),
                (
                    "big.bin".to_string(),
                    RecordedFile::Digest {
                        len: big.len() as u64,
                        fnv: super::super::fnv1a64(&big)
                    }
                ),
            ]
        );
        // The golden parser reads them as comments.
        assert!(super::super::parse(&text).unwrap().is_empty());
    }

    #[test]
    fn bad_headers_name_their_line() {
        assert_eq!(parse_setup("\n#! module colour 1\n").unwrap_err().line, 2);
        assert!(parse_setup("#! module csq_rssi loud").is_err());
        assert!(parse_setup("#! ufs \"a\"").is_err());
    }
}
