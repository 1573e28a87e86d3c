//! `bg95-emu`: a virtual Quectel BG95 on a PTY.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use bg95_emu::emulator::{run, Config};
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
    /// What the embedded FTP server serves; default: a temporary copy of fixtures/ftp-root.
    #[arg(long, value_name = "DIR")]
    ftp_root: Option<PathBuf>,
    /// A scenario file (faults, personality overrides).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Record the session as a golden transcript.
    #[arg(long, value_name = "FILE")]
    transcript: Option<PathBuf>,
    /// Pace module→host bytes at N baud (10 bits per byte); 0 = unpaced.
    #[arg(long, value_name = "N", default_value_t = 0)]
    baud: u32,
}

fn main() -> ExitCode {
    use tracing_subscriber::prelude::*;
    let env =
        tracing_subscriber::EnvFilter::try_from_env("BG95_LOG").unwrap_or_else(|_| "warn".into());
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
    let Command::Serve(args) = Cli::parse().command;
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bg95-emu: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    if let Some(s) = &args.scenario {
        return Err(format!(
            "--scenario {}: scenario files are not yet supported",
            s.display()
        ));
    }
    let ftp_server = match args.ftp_server.as_str() {
        "off" => None,
        a => Some(
            a.parse::<SocketAddr>()
                .map_err(|e| format!("--ftp-server {a}: {e} (expected HOST:PORT or off)"))?,
        ),
    };
    let config = Config {
        ufs_dir: args.ufs_dir,
        ftp_server,
        ftp_root: args.ftp_root,
        baud: args.baud,
        transcript: args.transcript,
        tty_link: args.tty_link,
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
                if let Some(addr) = started.ftp_addr {
                    println!("ftp: ftp://test:test@{addr}/");
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
