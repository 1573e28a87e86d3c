//! `bg95-emu`: a virtual Quectel BG95 on a PTY.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use bg95_emu::emulator::{ftps_setup_commands, run, Config, FTPS_CA_UFS_NAME};
use bg95_emu::scenario::{runner, LoadOptions, Scenario};
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
    /// Replace FILE.toml if it exists (never the log itself).
    #[arg(long)]
    force: bool,
    /// Exit 1 when a line of the log could not be placed.
    #[arg(long)]
    strict: bool,
    /// Read the log in this format (transcript, python-repr, hexdump, marked, terminal)
    /// instead of the best-scoring one.
    #[arg(long, value_name = "NAME")]
    format: Option<String>,
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
    /// Let the scenario files read paths outside their own folder (`path`, `root`, and
    /// symlinks in the root): only for files you trust.
    #[arg(long)]
    allow_paths_outside: bool,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Create PATH as a symlink to the tty once the module takes AT input (removed on exit
    /// if it still leads to this tty). A PATH that already leads to an existing tty (another
    /// emulator) is refused; a dangling one is replaced.
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
    /// Let the scenario file read paths outside its own folder (`path`, `root`, and
    /// symlinks in the root): only for a file you trust.
    #[arg(long, requires = "scenario")]
    allow_paths_outside: bool,
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
    /// Connect data connections to the control connection's host whatever address a PASV
    /// reply names (a real module follows PASV; docs/ftp.md says what this protects from).
    #[arg(long)]
    pasv_same_host: bool,
    /// With --transcript: include PEM private keys in clear, those found in UFS (the
    /// `#! ufs` header) and those uploaded with AT+QFUPL/AT+QFWRITE (for local debugging;
    /// by default a key is recorded as its size and digest).
    #[arg(long)]
    transcript_keys: bool,
    /// Serve the control API (HTTP + JSON, docs/control-api.md) on HOST:PORT (port 0: a
    /// free one, printed as `control: http://…`) or a unix socket; loopback only unless
    /// --control-token is given.
    #[arg(long, value_name = "ADDR|unix:PATH")]
    control: Option<bg95_emu::control::ControlAddr>,
    /// Require `Authorization: Bearer TOKEN` on every control API request (and allow a
    /// non-loopback --control address). Also read from BG95_CONTROL_TOKEN.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "BG95_CONTROL_TOKEN",
        requires = "control"
    )]
    control_token: Option<String>,
    /// Also serve the serial port as raw bytes over TCP on HOST:PORT (pyserial
    /// `socket://`, QEMU `-serial tcp:`); one host at a time, a reconnect is a tty reopen.
    #[arg(long, value_name = "ADDR")]
    tcp: Option<SocketAddr>,
    /// Also serve the serial port over telnet RFC 2217 on HOST:PORT (pyserial `rfc2217://`):
    /// baud changes pace the line, a DTR drop leaves data mode as AT&D says.
    #[arg(long, value_name = "ADDR")]
    rfc2217: Option<SocketAddr>,
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
    let options = LoadOptions {
        allow_paths_outside: args.allow_paths_outside,
    };
    let load = |p: &std::path::Path| Scenario::load_with(p, options);
    let scenario = match args.scenario.as_deref().map(load).transpose() {
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

/// `bg95-emu import` (docs/import.md).
fn import(args: &ImportArgs) -> ExitCode {
    ExitCode::from(bg95_emu::import::cli::run(
        &bg95_emu::import::cli::ImportCommand {
            log: args.log.clone(),
            output: args.output.clone(),
            force: args.force,
            strict: args.strict,
            format: args.format.clone(),
        },
    ))
}

/// `bg95-emu run`: every file is checked before any runs (a bad file → exit 2).
fn run_scenarios(args: RunArgs) -> ExitCode {
    let mut scenarios = Vec::new();
    let mut bad = false;
    let options = LoadOptions {
        allow_paths_outside: args.allow_paths_outside,
    };
    for f in &args.files {
        match Scenario::load_with(f, options) {
            // Nothing to run would pass without testing anything: an empty or truncated
            // file, most likely.
            Ok(s) if !s.runs_anything() => {
                eprintln!(
                    "{}:1: step: no [[step]] and no [[fault]]: nothing to run",
                    f.display()
                );
                bad = true;
            }
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
    if let Err(e) = listen_for_interrupts() {
        eprintln!("bg95-emu: signals: {e}");
        return ExitCode::FAILURE;
    }
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
    if let Some(sig) = runner::interrupted() {
        let not_run = scenarios.len() - outcomes.len();
        eprintln!("bg95-emu: interrupted by signal {sig}; {not_run} scenario(s) not run");
        // The shell's convention for a run stopped by the user (128 + SIGINT), whatever
        // the signal: CI tells an interrupted run from a failed one.
        return ExitCode::from(130);
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The signals that stop `run` and `serve` cleanly (the default action would kill the
/// process and leave its tty link and temporary folders behind).
const STOP_SIGNALS: [i32; 4] = [
    nix::libc::SIGINT,
    nix::libc::SIGTERM,
    nix::libc::SIGHUP,
    nix::libc::SIGQUIT,
];

/// Resolves with the first of [`STOP_SIGNALS`] to arrive; the handlers are installed when
/// this is called (so call it before anything needs cleaning up).
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = i32>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut streams = Vec::new();
    for sig in STOP_SIGNALS {
        streams.push((sig, signal(SignalKind::from_raw(sig))?));
    }
    Ok(async move {
        let waits = streams.iter_mut().map(|(sig, s)| {
            let sig = *sig;
            Box::pin(async move {
                s.recv().await;
                sig
            })
        });
        futures_select_all(waits).await
    })
}

/// The first of several futures to finish.
async fn futures_select_all<F: std::future::Future<Output = i32> + Unpin>(
    futs: impl Iterator<Item = F>,
) -> i32 {
    let mut futs: Vec<F> = futs.collect();
    std::future::poll_fn(move |cx| {
        for f in futs.iter_mut() {
            if let std::task::Poll::Ready(v) = std::pin::Pin::new(f).poll(cx) {
                return std::task::Poll::Ready(v);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// `run`: a thread that turns the first stop signal into [`runner::interrupt`]; the
/// scenarios then end, their emulators clean up, and the JUnit of what ran is written.
fn listen_for_interrupts() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Installed here, before any scenario starts.
    let stop = rt.block_on(async { stop_signal() })?;
    std::thread::spawn(move || {
        let sig = rt.block_on(stop);
        runner::interrupt(sig);
    });
    Ok(())
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
    // The account shown with the server's address (a scenario's first user). A configured
    // password is never printed; the built-in `test`/`test` is documented anyway.
    let user = match scenario.as_ref().and_then(|s| s.ftp_server.as_ref()) {
        Some(f) => f
            .users
            .first()
            .map(|(u, _)| format!("{u}:***"))
            .unwrap_or_default(),
        None => "test:test".to_string(),
    };
    let control = args.control.map(|addr| bg95_emu::control::ControlConfig {
        addr,
        token: args.control_token,
    });
    if let Some(c) = &control {
        c.check()?;
    }
    use bg95_emu::serial_tcp::SerialProtocol;
    let serial_tcp = [
        (SerialProtocol::Raw, args.tcp),
        (SerialProtocol::Rfc2217, args.rfc2217),
    ]
    .into_iter()
    .filter_map(|(p, a)| a.map(|a| (p, a)))
    .collect();
    let config = Config {
        control,
        serial_tcp,
        ufs_dir: args.ufs_dir,
        ftp_server,
        ftp_root: args.ftp_root,
        ftp_tls: args.ftp_tls,
        baud: args.baud,
        transcript: args.transcript,
        tty_link: args.tty_link,
        pasv_same_host: args.pasv_same_host,
        transcript_keys: args.transcript_keys,
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
        // Before anything needs cleaning up: a signal then stops the emulator, which removes
        // its tty link and temporary folders.
        let stop = stop_signal().map_err(|e| e.to_string())?;
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
                // Last, so the lines before them stay where scripts read them.
                if let Some(addr) = &started.control {
                    println!("control: {addr}");
                }
                for (protocol, addr) in &started.serial_tcp {
                    match protocol {
                        bg95_emu::serial_tcp::SerialProtocol::Raw => {
                            println!("tcp: socket://{addr}")
                        }
                        bg95_emu::serial_tcp::SerialProtocol::Rfc2217 => {
                            println!("rfc2217: rfc2217://{addr}")
                        }
                    }
                }
            }
        });
        let mut emulator = emulator;
        tokio::select! {
            r = &mut emulator => return r.map_err(|e| e.to_string())?.map_err(|e| e.to_string()),
            sig = stop => tracing::info!(target: "bg95::emu", "signal {sig}: stopping"),
        }
        let _ = shutdown_tx.send(true);
        emulator
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    })
}
