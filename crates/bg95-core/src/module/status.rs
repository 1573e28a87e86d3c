//! What the module is doing, read from outside the AT interface (a control API, a test):
//! the values its own query commands would report, without sending a byte to the host.
//! Also the outside world's hands on UFS (a test putting a certificate in place, reading a
//! downloaded file), with the same rules as the module's own file commands.

use crate::area::{DataMode, Port};
use crate::error::CmeError;
use crate::ftp::{FtpConfig, SslContext};
use crate::module::{Module, Power};
use crate::pdp::CONTEXTS;

/// A snapshot of the module's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// False while the power is off (AT+QPOWD, a power loss).
    pub powered: bool,
    /// Who owns the host's bytes: `command`, `busy` (a command runs and will answer),
    /// `data-ftp` (a COM: transfer), `data-ufs` (QFUPL/QFWRITE).
    pub port: &'static str,
    /// The module→host pace in baud (0 = unpaced).
    pub baud: u32,
    /// AT+CFUN.
    pub cfun: u8,
    pub sim_present: bool,
    /// AT+CEREG `<stat>`.
    pub registration: u8,
    /// AT+CEREG `<AcT>`.
    pub act: u8,
    /// Every defined PDP context.
    pub pdp: Vec<PdpStatus>,
    pub ftp: FtpStatus,
    /// AT+QSSLCFG, contexts 0..=5.
    pub ssl: Vec<SslContext>,
}

/// One PDP context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdpStatus {
    pub cid: u8,
    pub apn: String,
    /// Up (activated by the host, or the default bearer on context 1).
    pub up: bool,
    /// Its address while up.
    pub address: Option<String>,
}

/// The FTP session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpStatus {
    /// AT+QFTPSTAT's `<ftpstat>` (0 opening, 1 idle, 2 transferring, 3 closing, 4 closed).
    pub stat: u8,
    /// The same as a word: `opening`, `idle`, `transferring`, `closing`, `closed`.
    pub state: &'static str,
    /// AT+QFTPCFG; the password is the caller's to mask.
    pub config: FtpConfig,
}

impl Module {
    /// What the module is doing now.
    pub fn status(&self) -> Status {
        let port = match self.port {
            Port::Command => "command",
            Port::Busy => "busy",
            Port::Data(DataMode::Ftp) => "data-ftp",
            Port::Data(DataMode::Ufs) => "data-ufs",
        };
        let pdp = (1..=CONTEXTS as u8)
            .filter_map(|cid| {
                let c = self.pdp.get(cid).filter(|c| c.kind != 0)?;
                Some(PdpStatus {
                    cid,
                    apn: c.apn.clone(),
                    up: self.pdp.is_up(cid),
                    address: self.pdp.address_of(cid),
                })
            })
            .collect();
        let stat = self.ftp.state();
        Status {
            powered: matches!(self.power, Power::On),
            port,
            baud: self.baud,
            cfun: self.basic.net.cfun,
            sim_present: self.general.attach.sim_present,
            registration: self.registration_stat(),
            act: self.current_act(),
            pdp,
            ftp: FtpStatus {
                stat: stat as u8,
                state: stat.word(),
                config: self.ftp.cfg.clone(),
            },
            ssl: self.ftp.ssl.to_vec(),
        }
    }

    /// The host's DTR line changed (a serial transport that carries it: RFC 2217). A drop
    /// with AT&D1 or AT&D2 ends the data mode of a COM: FTP transfer as a guarded `+++`
    /// does (docs/control-api.md says why both); AT&D0 ignores it, and so does every other
    /// state (command mode, QFUPL, a module that is off).
    pub fn handle_dtr(&mut self, now: crate::Instant, on: bool) {
        if on || self.cfg.dtr_mode == 0 || !matches!(self.power, Power::On) {
            return;
        }
        if matches!(self.port, Port::Data(DataMode::Ftp)) {
            self.ftp.ftp_dtr_dropped(&mut ctx!(self, now));
        }
    }

    /// Every UFS file with its size, sorted by name.
    pub fn ufs_list(&self) -> Result<Vec<(String, u64)>, CmeError> {
        self.ufs.list()
    }

    /// A UFS file's content (`FileNotFound` when there is none). Names as the host types
    /// them (`UFS:` and one leading `/` optional).
    pub fn ufs_read(&self, name: &str) -> Result<Vec<u8>, CmeError> {
        let name = crate::ufs::normalize_name(name).ok_or(CmeError::InvalidFileName)?;
        self.ufs.read(name)
    }

    /// Put a file into UFS from outside, as AT+QFUPL would: a valid name (406), capacity
    /// respected (420 no space), not a file the host has open (426).
    pub fn ufs_write(&mut self, name: &str, data: &[u8]) -> Result<(), CmeError> {
        let name = crate::ufs::normalize_name(name).ok_or(CmeError::InvalidFileName)?;
        if self.ufs.is_open(name) {
            return Err(CmeError::AlreadyOpen);
        }
        self.ufs.write(name, data)
    }

    /// Delete a UFS file from outside, as AT+QFDEL would (not a file the host has open).
    pub fn ufs_delete(&mut self, name: &str) -> Result<(), CmeError> {
        let name = crate::ufs::normalize_name(name).ok_or(CmeError::InvalidFileName)?;
        if self.ufs.is_open(name) {
            return Err(CmeError::AlreadyOpen);
        }
        self.ufs.delete(name)
    }
}
