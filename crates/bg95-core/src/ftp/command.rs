//! The FTP area's commands, parsed once (as mini-redis parses a frame into `Command`): one
//! table row per command — its name (which is also its URC's name), its Test line and the
//! forms it accepts — and one typed [`FtpCommand`] per line. A bad parameter is always
//! `+CME ERROR: 610` ([`FtpError::InvalidParameter`]): parsing returns a [`Refusal`] and
//! only [`answer_refusal`] turns it into a final result, so no `?` on a parameter helper can
//! turn it into another code. Adding a command means one [`FtpKind`] variant, one row and
//! one arm in [`parse`].

use bg95_at::{Arg, FinalResult, Form};

use super::config::{self, CfgCommand, SslCommand};
use super::{DownloadSource, FtpRequest};
use crate::error::FtpError;
use crate::params::{opt_num, string, BadParam};

/// The longest remote name or path (section 2).
pub(super) const MAX_REMOTE: usize = 255;
/// The longest local name (section 2.5).
pub(super) const MAX_LOCAL: usize = 60;

/// Which FTP command a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FtpKind {
    Cfg,
    SslCfg,
    Open,
    Close,
    Cwd,
    Pwd,
    Size,
    Delete,
    Mkdir,
    Rmdir,
    Mdtm,
    Rename,
    Get,
    List,
    Nlst,
    Mlsd,
    Put,
    Len,
    Stat,
}

/// The forms a command takes besides Test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forms {
    /// Only the Execute form (`AT+QFTPPWD`); a Write form is `ERROR`.
    Exec,
    /// Only the Write form (`AT+QFTPCWD="/"`); an Execute form is `ERROR`.
    Write,
}

/// One command of the FTP area.
pub(crate) struct FtpRow {
    /// The command's name; its URC (`+QFTPCWD: <err>,…`) carries the same name.
    pub name: &'static str,
    pub kind: FtpKind,
    /// The Test form's lines, verbatim from section 2 (empty: a bare `OK`, or the item
    /// table's lines for QFTPCFG/QSSLCFG).
    pub test: &'static [&'static str],
    pub forms: Forms,
    /// What a bad parameter answers: 610 for the QFTP commands; QSSLCFG answers a bare
    /// `ERROR` (the SSL note gives it no CME code).
    pub bad: Bad,
}

/// The error a bad parameter gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bad {
    /// `+CME ERROR: 610`.
    Ftp,
    /// A bare `ERROR`.
    Error,
}

impl FtpRow {
    /// The URC prefix of this command's answer.
    pub fn urc(&self) -> &'static str {
        self.name
    }
}

const fn row(
    name: &'static str,
    kind: FtpKind,
    test: &'static [&'static str],
    forms: Forms,
) -> FtpRow {
    FtpRow {
        name,
        kind,
        test,
        forms,
        bad: Bad::Ftp,
    }
}

/// Every FTP command (application note section 2, and AT+QSSLCFG).
pub(crate) const ROWS: &[FtpRow] = &[
    // QFTPCFG's and QSSLCFG's Test lines come from their item tables (config.rs).
    row("+QFTPCFG", FtpKind::Cfg, &[], Forms::Write),
    FtpRow {
        name: "+QSSLCFG",
        kind: FtpKind::SslCfg,
        test: &[],
        forms: Forms::Write,
        bad: Bad::Error,
    },
    row(
        "+QFTPOPEN",
        FtpKind::Open,
        &["+QFTPOPEN: <hostname>,<port>"],
        Forms::Write,
    ),
    row("+QFTPCLOSE", FtpKind::Close, &[], Forms::Exec),
    row(
        "+QFTPCWD",
        FtpKind::Cwd,
        &["+QFTPCWD: <path_name>"],
        Forms::Write,
    ),
    row("+QFTPPWD", FtpKind::Pwd, &[], Forms::Exec),
    row(
        "+QFTPSIZE",
        FtpKind::Size,
        &["+QFTPSIZE: <file_name>"],
        Forms::Write,
    ),
    row(
        "+QFTPDEL",
        FtpKind::Delete,
        &["+QFTPDEL: <file_name>"],
        Forms::Write,
    ),
    row(
        "+QFTPMKDIR",
        FtpKind::Mkdir,
        &["+QFTPMKDIR: <folder_name>"],
        Forms::Write,
    ),
    row(
        "+QFTPRMDIR",
        FtpKind::Rmdir,
        &["+QFTPRMDIR: <folder_name>"],
        Forms::Write,
    ),
    row(
        "+QFTPMDTM",
        FtpKind::Mdtm,
        &["+QFTPMDTM: <file_name>"],
        Forms::Write,
    ),
    row(
        "+QFTPRENAME",
        FtpKind::Rename,
        &["+QFTPRENAME: <old_name>,<new_name>"],
        Forms::Write,
    ),
    row(
        "+QFTPGET",
        FtpKind::Get,
        &["+QFTPGET: <file_name>,<local_name>,<startpos>,<downloadlen>"],
        Forms::Write,
    ),
    row(
        "+QFTPLIST",
        FtpKind::List,
        &["+QFTPLIST: <dirname>, <local_name>"],
        Forms::Write,
    ),
    row(
        "+QFTPNLST",
        FtpKind::Nlst,
        &["+QFTPNLST: <dirname>,<local_name>"],
        Forms::Write,
    ),
    row(
        "+QFTPMLSD",
        FtpKind::Mlsd,
        &["+QFTPMLSD: <dirname>,<local_name>"],
        Forms::Write,
    ),
    row(
        "+QFTPPUT",
        FtpKind::Put,
        &["+QFTPPUT: <file_name>,<local_name>,<startpos>,<uploadlen>,<beof>"],
        Forms::Write,
    ),
    row("+QFTPLEN", FtpKind::Len, &[], Forms::Exec),
    row("+QFTPSTAT", FtpKind::Stat, &[], Forms::Exec),
];

/// The row named `name`, if it is an FTP command.
pub(crate) fn find(name: &str) -> Option<&'static FtpRow> {
    ROWS.iter().find(|r| r.name == name)
}

/// The row of `kind`.
pub(crate) fn row_of(kind: FtpKind) -> &'static FtpRow {
    ROWS.iter()
        .find(|r| r.kind == kind)
        .expect("every FtpKind has a row")
}

/// Where a transfer's bytes come from or go to (`<local_name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Local {
    /// `COM:`: the serial port, in data mode.
    Com,
    /// A UFS file.
    Ufs(String),
}

impl Local {
    fn parse(local: &str) -> Local {
        if local.eq_ignore_ascii_case("COM:") {
            Local::Com
        } else {
            Local::Ufs(local.to_string())
        }
    }

    pub fn is_com(&self) -> bool {
        *self == Local::Com
    }
}

/// An FTP command line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FtpCommand {
    /// The Test form: the row's lines.
    Test,
    Cfg(CfgCommand),
    SslCfg(SslCommand),
    Open {
        host: String,
        port: u16,
    },
    Close,
    /// CWD, PWD, SIZE, DEL, MKDIR, RMDIR, MDTM, RENAME: one request, one URC.
    Simple(FtpRequest),
    /// QFTPGET/LIST/NLST/MLSD.
    Download {
        source: DownloadSource,
        local: Local,
        startpos: u64,
        limit: Option<u64>,
    },
    /// QFTPPUT. `uploadlen` and `beof` come together, and only for COM:.
    Upload {
        remote: String,
        local: Local,
        startpos: u64,
        uploadlen: Option<u64>,
        beof: Option<u64>,
    },
    Len,
    Stat,
}

/// Why a line could not be turned into an [`FtpCommand`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The command has no such form: a bare `ERROR`.
    Form,
    /// A parameter is bad: the row's error.
    Bad,
}

impl From<BadParam> for Refusal {
    fn from(_: BadParam) -> Self {
        Refusal::Bad
    }
}

/// The final result of a refused line.
pub(crate) fn answer_refusal(row: &FtpRow, r: Refusal) -> FinalResult {
    match (r, row.bad) {
        (Refusal::Bad, Bad::Ftp) => FtpError::InvalidParameter.into(),
        _ => FinalResult::Error,
    }
}

/// Parse one invocation of `row`'s command. `valid_ufs_name` is the UFS area's rule for a
/// local name (passed in: the FTP area does not reach into UFS).
pub(crate) fn parse(
    row: &FtpRow,
    form: &Form,
    valid_ufs_name: fn(&str) -> bool,
) -> Result<FtpCommand, Refusal> {
    let args = match (form, row.forms) {
        (Form::Test, _) => return Ok(FtpCommand::Test),
        (Form::Exec, Forms::Exec) => &[][..],
        (Form::Write(args), Forms::Write) => args.as_slice(),
        _ => return Err(Refusal::Form),
    };
    let path = || -> Result<String, Refusal> {
        let arg = string(args, 0, MAX_REMOTE)?;
        if args.len() != 1 || arg.is_empty() {
            return Err(Refusal::Bad);
        }
        Ok(arg.to_string())
    };
    Ok(match row.kind {
        FtpKind::Cfg => FtpCommand::Cfg(config::parse_qftpcfg(args).ok_or(Refusal::Bad)?),
        FtpKind::SslCfg => FtpCommand::SslCfg(config::parse_qsslcfg(args).ok_or(Refusal::Bad)?),
        FtpKind::Open => parse_open(args)?,
        FtpKind::Close => FtpCommand::Close,
        FtpKind::Pwd => FtpCommand::Simple(FtpRequest::Pwd),
        FtpKind::Len => FtpCommand::Len,
        FtpKind::Stat => FtpCommand::Stat,
        FtpKind::Cwd => FtpCommand::Simple(FtpRequest::Cwd(path()?)),
        FtpKind::Size => FtpCommand::Simple(FtpRequest::Size(path()?)),
        FtpKind::Delete => FtpCommand::Simple(FtpRequest::Delete(path()?)),
        FtpKind::Mkdir => FtpCommand::Simple(FtpRequest::Mkdir(path()?)),
        FtpKind::Rmdir => FtpCommand::Simple(FtpRequest::Rmdir(path()?)),
        FtpKind::Mdtm => FtpCommand::Simple(FtpRequest::Mdtm(path()?)),
        FtpKind::Rename => {
            let (from, to) = (string(args, 0, MAX_REMOTE)?, string(args, 1, MAX_REMOTE)?);
            if args.len() != 2 || from.is_empty() || to.is_empty() {
                return Err(Refusal::Bad);
            }
            FtpCommand::Simple(FtpRequest::Rename {
                from: from.to_string(),
                to: to.to_string(),
            })
        }
        FtpKind::Get | FtpKind::List | FtpKind::Nlst | FtpKind::Mlsd => {
            parse_download(row.kind, args, valid_ufs_name)?
        }
        FtpKind::Put => parse_upload(args, valid_ufs_name)?,
    })
}

fn parse_open(args: &[Arg]) -> Result<FtpCommand, Refusal> {
    let host = string(args, 0, 200)?;
    let port = opt_num(args, 1, 1..=65535)?;
    if host.is_empty() || args.len() > 2 {
        return Err(Refusal::Bad);
    }
    Ok(FtpCommand::Open {
        host: host.to_string(),
        port: port.unwrap_or(21) as u16,
    })
}

/// `<startpos>`, `<downloadlen>`, `<uploadlen>`, `<beof>`.
fn transfer_num(args: &[Arg], i: usize) -> Result<Option<u64>, Refusal> {
    Ok(opt_num(args, i, 0..=u64::from(u32::MAX))?)
}

fn valid_local(local: &Local, valid_ufs_name: fn(&str) -> bool) -> bool {
    match local {
        Local::Com => true,
        Local::Ufs(name) => name.len() <= MAX_LOCAL && valid_ufs_name(name),
    }
}

fn parse_download(
    kind: FtpKind,
    args: &[Arg],
    valid_ufs_name: fn(&str) -> bool,
) -> Result<FtpCommand, Refusal> {
    let get = kind == FtpKind::Get;
    let remote = string(args, 0, MAX_REMOTE)?.to_string();
    let local = match args.get(1).and_then(Arg::as_text) {
        Some(l) => Local::parse(l),
        // LIST/NLST/MLSD without a local name write to the port.
        None if !get && args.len() <= 1 => Local::Com,
        None => return Err(Refusal::Bad),
    };
    let (startpos, limit) = (transfer_num(args, 2)?, transfer_num(args, 3)?);
    let max_args = match (get, local.is_com()) {
        (true, true) => 4,
        (true, false) => 3,
        (false, _) => 2,
    };
    if remote.is_empty()
        || args.len() > max_args
        || limit == Some(0)
        || !valid_local(&local, valid_ufs_name)
    {
        return Err(Refusal::Bad);
    }
    let source = match kind {
        FtpKind::Get => DownloadSource::File(remote),
        FtpKind::List => DownloadSource::List(remote),
        FtpKind::Nlst => DownloadSource::Nlst(remote),
        _ => DownloadSource::Mlsd(remote),
    };
    Ok(FtpCommand::Download {
        source,
        local,
        startpos: startpos.unwrap_or(0),
        limit,
    })
}

fn parse_upload(args: &[Arg], valid_ufs_name: fn(&str) -> bool) -> Result<FtpCommand, Refusal> {
    let remote = string(args, 0, MAX_REMOTE)?.to_string();
    let local = Local::parse(args.get(1).and_then(Arg::as_text).ok_or(Refusal::Bad)?);
    let (startpos, uploadlen, beof) = (
        transfer_num(args, 2)?,
        transfer_num(args, 3)?,
        transfer_num(args, 4)?,
    );
    // <uploadlen> and <beof> come together, and only for COM:.
    let shape_ok = match (local.is_com(), uploadlen, beof) {
        (true, None, None) => args.len() <= 3,
        (true, Some(l), Some(b)) => l > 0 && b <= 1 && args.len() == 5,
        (false, None, None) => args.len() <= 3 && valid_local(&local, valid_ufs_name),
        _ => false,
    };
    if remote.is_empty() || !shape_ok {
        return Err(Refusal::Bad);
    }
    Ok(FtpCommand::Upload {
        remote,
        local,
        startpos: startpos.unwrap_or(0),
        uploadlen,
        beof,
    })
}

/// True if a remote name would put a CR or LF on the control connection: a second command
/// smuggled to the server. The module refuses the request (601) without sending it.
pub(crate) fn smuggles_line(req: &FtpRequest) -> bool {
    let names: &[&str] = match req {
        FtpRequest::Cwd(n)
        | FtpRequest::Size(n)
        | FtpRequest::Delete(n)
        | FtpRequest::Mkdir(n)
        | FtpRequest::Rmdir(n)
        | FtpRequest::Mdtm(n)
        | FtpRequest::Upload { name: n, .. } => &[n.as_str()],
        FtpRequest::Rename { from, to } => &[from.as_str(), to.as_str()],
        FtpRequest::Download { source, .. } => match source {
            DownloadSource::File(n)
            | DownloadSource::List(n)
            | DownloadSource::Nlst(n)
            | DownloadSource::Mlsd(n) => &[n.as_str()],
        },
        _ => &[],
    };
    names.iter().any(|n| n.contains(['\r', '\n']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_row_and_every_name_is_unique() {
        for r in ROWS {
            assert_eq!(row_of(r.kind).name, r.name);
            assert_eq!(ROWS.iter().filter(|o| o.name == r.name).count(), 1);
        }
    }

    #[test]
    fn a_bad_parameter_is_610_whatever_the_helper_failed_on() {
        let row = find("+QFTPGET").unwrap();
        let form = Form::Write(vec![Arg::Bare("x1".into())]);
        let r = parse(row, &form, |_| true).unwrap_err();
        assert_eq!(
            answer_refusal(row, r),
            FinalResult::from(FtpError::InvalidParameter)
        );
    }
}
