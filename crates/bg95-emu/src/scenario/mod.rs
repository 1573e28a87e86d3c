//! Scenario files: a field failure reproduced from a TOML file (docs/scenarios.md).
//!
//! - [`Scenario::load`] reads and checks a file; every problem is a [`ScenarioError`]
//!   `FILE:LINE: key: message` (exit code 2 in the CLI), never a panic.
//! - [`FaultEngine`] decides when declared faults fire and implements
//!   [`crate::net::FaultSeam`] for the driver-level actions; module-level actions come out
//!   as [`ModuleFault`]s for the core's entry points.
//! - [`SerialImpairment`] changes the module→host byte stream (chunks, a dropped or
//!   flipped byte); [`FullStore`] makes UFS report no space.
//! - [`runner`] drives a module through its `[[step]]`s (`bg95-emu run`).

mod duration;
mod engine;
mod error;
mod expect;
mod fault;
mod kinds;
mod live;
mod load;
mod paths;
mod pattern;
mod raw;
pub mod runner;
mod serial;
mod start;
mod steps;
mod ufs;
mod watch;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bg95_core::Personality;

pub use duration::parse_duration;
pub use engine::{same_command, EngineOutput, FaultEngine, SeededRng};
pub use error::ScenarioError;
pub use fault::{
    Action, AnswerOverride, DataAction, FaultSpec, FiredFault, ModuleFault, Times, Trigger,
    TriggerEvent,
};
pub use live::{apply_module_fault, module_fault_event, override_answer, ScenarioLoop};
pub(crate) use load::filler;
pub use paths::{LoadOptions, MAX_DATA_BYTES, MAX_SCENARIO_FILE, MAX_SERVER_BYTES};
pub use serial::{Piece, SerialImpairment};
pub use start::StartState;
pub use ufs::FullStore;
pub use watch::AtWatcher;

/// A checked scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it was read from (relative paths in it are relative to its folder).
    pub path: PathBuf,
    /// `name`, or the file's stem.
    pub name: String,
    pub description: Option<String>,
    /// `seed` (the CLI's `--seed` overrides it); draws of `probability` come from it.
    pub seed: u64,
    /// `time_scale` (the CLI's `--time-scale` overrides it): module and scenario time run
    /// this many times faster than real time.
    pub time_scale: crate::time_scale::TimeScale,
    pub module: ModuleSetup,
    pub network: NetworkSetup,
    pub serial: SerialSetup,
    pub ftp_server: Option<FtpServerSetup>,
    /// Declared faults, plus those `[network] registration` and `regain_after` imply.
    pub faults: Vec<FaultSpec>,
    /// `[[setup]]`: steps that bring the module to the start state before `steps`; what the
    /// module says during them is not part of what the steps compare.
    pub setup: Vec<Step>,
    pub steps: Vec<Step>,
}

/// `[module]`.
#[derive(Debug, Clone, Default)]
pub struct ModuleSetup {
    pub personality: Personality,
    /// UFS files present at boot.
    pub ufs_files: Vec<(String, Vec<u8>)>,
}

/// `[network]`.
#[derive(Debug, Clone, Default)]
pub struct NetworkSetup {
    /// Registration changes over time (also in `faults`, as time-triggered module faults).
    pub registration: Vec<RegistrationChange>,
    /// The address each PDP context gets when activated.
    pub pdp: BTreeMap<u8, Ipv4Addr>,
    /// `[network.dns]`: lower-case name → addresses.
    pub dns: HashMap<String, Vec<IpAddr>>,
    pub dns_exclusive: bool,
    /// `[network] pasv_same_host`: see [`crate::emulator::Config::pasv_same_host`].
    pub pasv_same_host: bool,
}

/// One entry of `[network] registration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationChange {
    pub at: Duration,
    /// CREG/CEREG `<stat>`.
    pub stat: u8,
    /// `<AcT>`.
    pub act: u8,
}

/// `[serial]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SerialSetup {
    pub baud: Option<u32>,
    /// Module output is written in pieces of at most this many bytes…
    pub chunk: Option<usize>,
    /// …with this pause after each piece.
    pub chunk_delay: Duration,
    /// The byte at this offset of the module→host stream (from 0, boot URCs included)
    /// never arrives.
    pub drop_byte_at: Option<u64>,
    /// The byte at this offset arrives XORed with `flip_mask`.
    pub flip_byte_at: Option<u64>,
    pub flip_mask: u8,
}

impl SerialSetup {
    /// Whether any impairment is set (baud is the writer's business).
    pub fn impaired(&self) -> bool {
        self.chunk.is_some() || self.drop_byte_at.is_some() || self.flip_byte_at.is_some()
    }
}

/// `[ftp_server]`: an embedded server just for this scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpServerSetup {
    /// Absolute (resolved against the scenario's folder).
    pub root: PathBuf,
    /// 0 = a free port (steps write `${ftp_port}`).
    pub port: u16,
    /// (user, password); default `test`/`test`.
    pub users: Vec<(String, String)>,
    /// Parsed; not yet wired (the server is plain FTP).
    pub tls: bool,
    /// Files added to the server's copy of `root`: path relative to it → content.
    pub files: Vec<(String, Vec<u8>)>,
}

/// One `[[step]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub line: usize,
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// Send these bytes.
    Send(Vec<u8>),
    /// Wait for what `expect` says, within `timeout`, and not before `not_before`.
    Expect(Expectation),
    /// Nothing arrives from the module for this long.
    ExpectSilence(Duration),
    /// A file of the scenario's FTP server (its copy of the root) is as described.
    ExpectServerFile(FileCheck),
    /// A UFS file is as described.
    ExpectUfsFile(FileCheck),
    Wait(Duration),
    /// Close the tty and open it again.
    Reopen,
    /// `repeat = N` with its `steps`: the group runs `times` times, one copy in memory
    /// (a log of millions of identical cycles imports to one such group, docs/scenarios.md).
    Repeat {
        times: u64,
        steps: Vec<Step>,
    },
}

/// An expectation step: what, how long it may take, and how soon it may come at the
/// earliest (counted from the start of the step).
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub expect: Expect,
    pub timeout: Duration,
    pub not_before: Option<Duration>,
}

/// What an expectation waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// A line equal to this (other lines before it are skipped; a final result that
    /// conflicts with it fails at once).
    Line(String),
    /// A line matching this regex (other lines before it are skipped).
    Regex(RegexText),
    /// One line equal to any of these.
    Any(Vec<String>),
    /// Every one of these lines, in any order (other lines between them skipped).
    Unordered(Vec<String>),
    /// The next bytes are exactly these.
    Bytes(Vec<u8>),
}

/// `expect_server_file` / `expect_ufs_file`: a file by name and what it must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// Relative to the server's root, or a UFS name.
    pub name: String,
    pub size: Option<u64>,
    /// Lower-case hex.
    pub sha256: Option<String>,
    pub text: Option<String>,
    /// The file must not exist.
    pub absent: bool,
    /// How long the check may wait for the file to become so.
    pub timeout: Duration,
}

/// A regex with equality by its text (so steps compare in tests).
#[derive(Debug, Clone)]
pub struct RegexText(pub regex::Regex);

impl PartialEq for RegexText {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// How long an expectation waits when the step gives no `timeout`.
pub const DEFAULT_EXPECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Scenario {
    /// Read and check a scenario file; the paths it names must stay inside its folder.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::load_with(path, LoadOptions::default())
    }

    /// Read and check a scenario file with `options`. The file is untrusted: only a
    /// regular file of at most [`MAX_SCENARIO_FILE`] bytes of UTF-8 text is read.
    pub fn load_with(path: &Path, options: LoadOptions) -> Result<Scenario, ScenarioError> {
        let text = load::read_text(path)?;
        load::parse(path, &text, options)
    }

    /// Check scenario `text` as if read from `path` (relative paths resolve against its
    /// folder and must stay inside it).
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        load::parse(path, text, LoadOptions::default())
    }

    /// Whether `bg95-emu run` has anything to do: steps, or faults whose firing it checks.
    pub fn runs_anything(&self) -> bool {
        !self.steps.is_empty() || self.faults.iter().any(|f| !f.optional)
    }

    /// The module the scenario runs: `[module]`, the `[network.pdp]` addresses, and no SIM
    /// when a `sim_removed` fault fires at boot (`on = "time"`, `after = "0s"`): a module
    /// powered on without a SIM says so in its boot URCs, rather than announcing a SIM and
    /// losing it a moment later.
    pub fn personality(&self) -> Personality {
        let mut p = self.module.personality.clone();
        p.pdp_addresses = self.network.pdp.clone();
        p.sim_inserted = !self.faults.iter().any(|f| {
            f.action == Action::Module(ModuleFault::SimRemoved)
                && f.probability.is_none()
                && f.trigger.nth == 1
                && matches!(f.trigger.event, TriggerEvent::Time { after } if after.is_zero())
        });
        p
    }

    /// The folder relative paths resolve against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}
