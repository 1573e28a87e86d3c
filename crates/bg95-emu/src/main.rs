//! `bg95-emu`: a virtual Quectel BG95 on a PTY.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use bg95_emu::emulator::{ftps_setup_commands, run, Config, FTPS_CA_UFS_NAME};
use bg95_emu::scenario::{runner, Scenario};
use bg95_emu::time_scale::TimeScale;
use clap::{Parser, Subcommand};
use tokio::sync::{oneshot, watch};

#[derive(Parser)]
#[command(
    name = "bg95-emu",
    version,
    about = "A virtual Quectel BG95 cellular module on a PTY"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open a PTY and answer AT commands on it like a freshly booted BG95-M3.
    Serve(ServeArgs),
    /// Run scenario files: their steps drive the module through its PTY. Exit 0 when every
    /// scenario passed and every declared fault fired, 1 when not, 2 for a bad file.
    Run(RunArgs),
    /// Replay a recorded transcript (`--transcript`) against a fresh module whose FTP and
    /// network sides answer from the recording: no server, a fake clock (`--live`: against
    /// real servers). Prints a unified diff of what the module said versus the recording;
    /// exit 0 when identical, 1 when not, 2 for a bad file.
    Replay(ReplayArgs),
    /// Turn a log of AT traffic (terminal capture, driver debug log, Python repr, or a
    /// transcript) into a scenario that reproduces it (docs/scenarios.md). Lines that cannot
    /// be placed are listed on stderr with their numbers (and in the file).
    Import(ImportArgs),
    /// Draw a transcript (`--transcript`) as a timeline page: one self-contained HTML file
    /// with three lanes (host, module, FTP server), faults, errors and data bands.
    View(ViewArgs),
    /// Many modules in one process, each with its own PTY, UFS folder, IMEI/ICCID (from its
    /// index) and optional scenario; one embedded FTP server shared, or one each.
    Fleet(FleetArgs),
}

#[derive(clap::Args)]
struct FleetArgs {
    /// How many modules.
    #[arg(long, value_name = "N")]
    count: usize,
    /// The index of the first module (e.g. a job index × N); IMEI, ICCID, `{i}` and UFS
    /// folders use the global index.
    #[arg(long, value_name = "K", default_value_t = 0)]
    first_index: usize,
    /// A symlink per module; `{i}` is replaced by the module's index (e.g. tty/bg95-{i}).
    #[arg(long, value_name = "PATTERN")]
    tty_link: Option<String>,
    /// Keep module i's UFS files in DIR/i; default: temporary folders.
    #[arg(long, value_name = "DIR")]
    ufs_dir: Option<PathBuf>,
    /// Address of the shared embedded FTP server (user test, password test), or `off`.
    #[arg(long, value_name = "ADDR|off", default_value = "127.0.0.1:2121")]
    ftp_server: String,
    /// One embedded server per module (free ports, printed) instead of a shared one.
    #[arg(long, conflicts_with = "ftp_server")]
    server_per_module: bool,
    /// What the embedded server(s) serve; default: a temporary copy of fixtures/ftp-root.
    #[arg(long, value_name = "DIR")]
    ftp_root: Option<PathBuf>,
    /// One scenario for every module.
    #[arg(long, value_name = "FILE", conflicts_with = "scenario_dir")]
    scenario: Option<PathBuf>,
    /// The `.toml` files of DIR, in name order: module n runs file n (cycling when there
    /// are fewer files than modules).
    #[arg(long, value_name = "DIR")]
    scenario_dir: Option<PathBuf>,
    /// Draw fault probabilities from this seed instead of each scenario's `seed`.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Run every module's clocks N times faster than real time (see `serve --time-scale`).
    #[arg(long, value_name = "N")]
    time_scale: Option<TimeScale>,
    /// Pace module→host bytes at N baud (10 bits per byte); 0 = unpaced.
    #[arg(long, value_name = "N", default_value_t = 0)]
    baud: u32,
}

#[derive(clap::Args)]
struct ViewArgs {
    /// A transcript file (docs/transcripts.md).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The page to write.
    #[arg(short, long, value_name = "PAGE.html")]
    output: PathBuf,
    /// Also replay the transcript (as `bg95-emu replay` does) and draw the diff on the page.
    #[arg(long)]
    replay: bool,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The log.
    #[arg(value_name = "LOG")]
    log: PathBuf,
    /// The scenario file to write; its folder gets an `ftp-root` if it has none.
    #[arg(short, long, value_name = "FILE.toml")]
    output: PathBuf,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// A transcript file (docs/transcripts.md).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Replay against real servers: a real emulator's FTP driver talks to the servers the
    /// recording's AT+QFTPOPEN lines name (start them first, or use --ftp-root).
    #[arg(long)]
    live: bool,
    /// With --live: start the embedded FTP server at the recording's `#! server` address,
    /// serving a copy of DIR.
    #[arg(long, value_name = "DIR", requires = "live")]
    ftp_root: Option<PathBuf>,
    /// With --live: the password to send where the recording masks the
    /// AT+QFTPCFG="account" password (a server you started needs the real one).
    #[arg(long, value_name = "PASS", requires = "live")]
    ftp_password: Option<String>,
    /// Also write a timeline page with the diff drawn on it (not with --live).
    #[arg(long, value_name = "PAGE.html", conflicts_with = "live")]
    html: Option<PathBuf>,
    /// With --live: how long, beyond the recorded time, to wait for an answer the module
    /// has not finished giving before the next input goes anyway.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, requires = "live")]
    answer_wait: u64,
    /// With --live: run the live module N times faster than real time; the recording's
    /// gaps (module time) are played N times faster.
    #[arg(long, value_name = "N", requires = "live")]
    time_scale: Option<TimeScale>,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario files (docs/scenarios.md).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "OUT.xml")]
    junit: Option<PathBuf>,
    /// Run up to N scenarios at once, each with its own PTY and ports.
    #[arg(long, value_name = "N", default_value_t = 1)]
    jobs: usize,
    /// Draw fault probabilities from this seed instead of each file's `seed`.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Run the module's and the scenario's clocks N times faster than real time (rsptimeout,
    /// QFUPL/QFOPEN waits, registration timeline, fault times and delays, waits, UART pacing);
    /// overrides the scenario's `time_scale`. Transcripts record module time.
    #[arg(long, value_name = "N")]
    time_scale: Option<TimeScale>,
    /// Record each scenario's session as a transcript (replay: `bg95-emu replay`). A path
    /// with `{name}` (the scenario file's stem), or a folder (an existing one, one ending
    /// in `/`, or any path when several files run) for `<stem>.txt` files, else one file.
    #[arg(long, value_name = "FILE|DIR|PATTERN")]
    transcript: Option<PathBuf>,
    /// Write a timeline page (`<stem>.html`) into DIR for each failed scenario, linked from
    /// the JUnit report.
    #[arg(long, value_name = "DIR")]
    html: Option<PathBuf>,
    /// With --html: a page for every scenario, passed ones too.
    #[arg(long, requires = "html")]
    html_all: bool,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Create PATH as a symlink to the tty once the module takes AT input (removed on exit).
    #[arg(long, value_name = "PATH")]
    tty_link: Option<PathBuf>,
    /// Keep UFS files in DIR (they persist across runs); default: a temporary directory.
    #[arg(long, value_name = "DIR")]
    ufs_dir: Option<PathBuf>,
    /// Address of the embedded FTP server (user test, password test), or `off`.
    #[arg(long, value_name = "ADDR|off", default_value = "127.0.0.1:2121")]
    ftp_server: String,
    /// The embedded FTP server speaks explicit FTPS (TLS required) with a CA made at start;
    /// the CA is placed in UFS and the AT commands that select it are printed.
    #[arg(long)]
    ftp_tls: bool,
    /// What the embedded FTP server serves; default: a temporary copy of fixtures/ftp-root.
    #[arg(long, value_name = "DIR")]
    ftp_root: Option<PathBuf>,
    /// A scenario file (docs/scenarios.md): module, network, serial, FTP server, faults.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Draw fault probabilities from this seed instead of the scenario's `seed`.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Run the module's and the scenario's clocks N times faster than real time (rsptimeout,
    /// QFUPL/QFOPEN waits, registration timeline, fault times and delays, waits, UART pacing);
    /// overrides the scenario's `time_scale`. Transcripts record module time.
    #[arg(long, value_name = "N")]
    time_scale: Option<TimeScale>,
    /// Record the session as a golden transcript.
    #[arg(long, value_name = "FILE")]
    transcript: Option<PathBuf>,
    /// Pace module→host bytes at N baud (10 bits per byte); 0 = unpaced.
    #[arg(long, value_name = "N", default_value_t = 0)]
    baud: u32,
}

fn main() -> ExitCode {
    use tracing_subscriber::prelude::*;
    // By default the module's own warnings only: the embedded server (libunftp) warns about
    // every transfer a fault cuts, which is the scenario working, not a problem. BG95_LOG
    // (e.g. `BG95_LOG=warn` or `libunftp=debug`) shows them.
    let env = tracing_subscriber::EnvFilter::try_from_env("BG95_LOG")
        .unwrap_or_else(|_| "warn,libunftp=off".into());
    // No user filter can show the FTP client's own lines (they carry the password).
    let no_client_logs = tracing_subscriber::filter::filter_fn(bg95_emu::ftp::log_allowed);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(env)
                .with_filter(no_client_logs),
        )
        .init();
    let args = match Cli::parse().command {
        Command::Run(args) => return run_scenarios(args),
        Command::Replay(args) => return replay(&args),
        Command::Import(args) => return import(&args),
        Command::View(args) => return view(&args),
        Command::Fleet(args) => return fleet(args),
        Command::Serve(args) => args,
    };
    let scenario = match args.scenario.as_deref().map(Scenario::load).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match serve(args, scenario) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bg95-emu: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The scenarios of `fleet --scenario`/`--scenario-dir` (a bad file: its message, exit 2).
fn fleet_scenarios(args: &FleetArgs) -> Result<Vec<Scenario>, String> {
    let files = match (&args.scenario, &args.scenario_dir) {
        (Some(f), _) => vec![f.clone()],
        (None, Some(dir)) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| format!("--scenario-dir {}: {e}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(format!("--scenario-dir {}: no .toml files", dir.display()));
            }
            files
        }
        (None, None) => Vec::new(),
    };
    files
        .iter()
        .map(|f| Scenario::load(f).map_err(|e| e.to_string()))
        .collect()
}

/// `bg95-emu fleet`.
fn fleet(args: FleetArgs) -> ExitCode {
    use bg95_emu::fleet::{serve_fleet, FleetConfig, FleetServer};
    if args.count == 0 {
        eprintln!("bg95-emu: --count must be at least 1");
        return ExitCode::from(2);
    }
    // Several modules on one link would replace each other's.
    if let Some(p) = args.tty_link.as_deref().filter(|p| !p.contains("{i}")) {
        if args.count > 1 {
            eprintln!(
                "bg95-emu: --tty-link {p}: needs `{{i}}` (the module's index) with --count > 1"
            );
            return ExitCode::from(2);
        }
    }
    let scenarios = match fleet_scenarios(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let server = match (args.server_per_module, args.ftp_server.as_str()) {
        (true, _) => FleetServer::PerModule,
        (false, "off") => FleetServer::Off,
        (false, a) => match a.parse::<SocketAddr>() {
            Ok(addr) => FleetServer::Shared(addr),
            Err(e) => {
                eprintln!("bg95-emu: --ftp-server {a}: {e} (expected HOST:PORT or off)");
                return ExitCode::from(2);
            }
        },
    };
    let cfg = FleetConfig {
        count: args.count,
        first_index: args.first_index,
        base: Config {
            ftp_root: args.ftp_root,
            baud: args.baud,
            seed: args.seed,
            time_scale: args.time_scale,
            ..Config::default()
        },
        tty_link: args.tty_link,
        ufs_root: args.ufs_dir,
        scenarios,
        server,
    };
    match serve_fleet(cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bg95-emu: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `bg95-emu replay`: the diff on stdout, the verdict on stderr.
fn replay(args: &ReplayArgs) -> ExitCode {
    let outcome = if args.live {
        let options = bg95_emu::replay::live::LiveOptions {
            ftp_root: args.ftp_root.clone(),
            password: args.ftp_password.clone(),
            answer_wait: std::time::Duration::from_secs(args.answer_wait),
            time_scale: args.time_scale.unwrap_or_default(),
        };
        bg95_emu::replay::live::replay_live_file(&args.file, &options)
    } else {
        bg95_emu::replay::replay_file(&args.file)
    };
    if let Ok(out) = &outcome {
        for note in &out.notes {
            eprintln!("{}: note: {note}", args.file.display());
        }
        if let Some(page) = &args.html {
            if let Err(e) = bg95_emu::view::replay_page(&args.file, &out.comparison, page) {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        }
    }
    match outcome {
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
        Ok(out) if out.identical() => {
            eprintln!("{}: replay identical", args.file.display());
            ExitCode::SUCCESS
        }
        Ok(out) => {
            print!("{}", out.diff);
            eprintln!("{}: the module answered differently", args.file.display());
            ExitCode::FAILURE
        }
    }
}

/// `bg95-emu view`: exit 0 page written (with --replay: and the replay identical), 1 the
/// replay differs, 2 a bad file.
fn view(args: &ViewArgs) -> ExitCode {
    match bg95_emu::view::view_file(&args.file, &args.output, args.replay) {
        Ok(identical) => {
            eprintln!("{} -> {}", args.file.display(), args.output.display());
            if identical {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// `bg95-emu import`.
fn import(args: &ImportArgs) -> ExitCode {
    let text = match std::fs::read(&args.log) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            eprintln!("{}: {e}", args.log.display());
            return ExitCode::from(2);
        }
    };
    let source = args
        .log
        .file_name()
        .map_or("log".into(), |n| n.to_string_lossy().into_owned());
    let out = bg95_emu::import::import(&text, &source);
    for u in &out.unplaced {
        eprintln!("{}:{}: not placed: {}", args.log.display(), u.line, u.text);
    }
    if out.overrides > 0 {
        eprintln!(
            "note: {} fault(s) replace an AT answer (action = \"at_answer\")",
            out.overrides
        );
    }
    let root = args
        .output
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("ftp-root");
    if let Err(e) =
        std::fs::create_dir_all(&root).and_then(|()| std::fs::write(&args.output, &out.toml))
    {
        eprintln!("{}: {e}", args.output.display());
        return ExitCode::FAILURE;
    }
    eprintln!(
        "{}: {:?} log -> {}",
        args.log.display(),
        out.shape,
        args.output.display()
    );
    ExitCode::SUCCESS
}

/// `bg95-emu run`: every file is checked before any runs (a bad file → exit 2).
fn run_scenarios(args: RunArgs) -> ExitCode {
    let mut scenarios = Vec::new();
    let mut bad = false;
    for f in &args.files {
        match Scenario::load(f) {
            Ok(mut s) => {
                if let Some(t) = args.time_scale {
                    s.time_scale = t;
                }
                scenarios.push(s)
            }
            Err(e) => {
                eprintln!("{e}");
                bad = true;
            }
        }
    }
    if bad {
        return ExitCode::from(2);
    }
    let transcript = args
        .transcript
        .as_deref()
        .map(|p| runner::TranscriptTarget::from_arg(p, scenarios.len()));
    let pages = match args
        .html
        .as_deref()
        .map(|dir| bg95_emu::view::run::RunPages::new(dir, args.html_all, transcript.clone()))
    {
        Some(Err(e)) => {
            eprintln!("bg95-emu: --html: {e}");
            return ExitCode::FAILURE;
        }
        Some(Ok(p)) => Some(p),
        None => None,
    };
    let transcript = pages
        .as_ref()
        .map(|p| p.transcript().clone())
        .or(transcript);
    let outcomes = runner::run_all_recorded(
        &scenarios,
        args.jobs,
        args.seed,
        transcript.as_ref(),
        runner::print_outcome,
    );
    let links = pages.map_or_else(Vec::new, |p| p.write(&scenarios, &outcomes));
    if let Some(out) = &args.junit {
        if let Err(e) = std::fs::write(out, runner::junit_linked(&outcomes, &links)) {
            eprintln!("bg95-emu: --junit {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
    }
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    println!("{} passed, {failed} failed", outcomes.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn serve(args: ServeArgs, scenario: Option<Scenario>) -> Result<(), String> {
    let ftp_server = match args.ftp_server.as_str() {
        "off" => None,
        a => Some(
            a.parse::<SocketAddr>()
                .map_err(|e| format!("--ftp-server {a}: {e} (expected HOST:PORT or off)"))?,
        ),
    };
    if args.ftp_tls && ftp_server.is_none() {
        return Err("--ftp-tls needs the embedded FTP server (drop --ftp-server off)".into());
    }
    // The account shown with the server's address (a scenario's first user).
    let user = match scenario.as_ref().and_then(|s| s.ftp_server.as_ref()) {
        Some(f) => f
            .users
            .first()
            .map(|(u, p)| format!("{u}:{p}"))
            .unwrap_or_default(),
        None => "test:test".to_string(),
    };
    let config = Config {
        ufs_dir: args.ufs_dir,
        ftp_server,
        ftp_root: args.ftp_root,
        ftp_tls: args.ftp_tls,
        baud: args.baud,
        transcript: args.transcript,
        tty_link: args.tty_link,
        scenario,
        seed: args.seed,
        time_scale: args.time_scale,
        ..Config::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let emulator = tokio::spawn(run(config, ready_tx, shutdown_rx));
        tokio::spawn(async move {
            if let Ok(started) = ready_rx.await {
                println!("tty: {}", started.tty.display());
                match (started.ftp_addr, &started.ftp_ca_pem) {
                    (Some(addr), None) => println!("ftp: ftp://{user}@{addr}/"),
                    (Some(addr), Some(_)) => {
                        println!("ftps: ftp://{user}@{addr}/ (explicit FTPS, TLS required)");
                        println!("ftps-ca: UFS:{FTPS_CA_UFS_NAME}");
                        for cmd in ftps_setup_commands() {
                            println!("  {cmd}");
                        }
                    }
                    (None, _) => {}
                }
            }
        });
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        let mut emulator = emulator;
        tokio::select! {
            r = &mut emulator => return r.map_err(|e| e.to_string())?.map_err(|e| e.to_string()),
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        let _ = shutdown_tx.send(true);
        emulator
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    })
}
