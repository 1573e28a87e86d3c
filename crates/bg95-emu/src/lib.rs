//! `bg95-emu`: the virtual BG95 on a PTY. It runs the sans-IO `bg95-core` module against
//! real I/O: the PTY, the FTP(S) driver, UFS on disk, the embedded FTP server.

pub mod control;
pub mod emulator;
pub mod fleet;
pub mod ftp;
mod host_tty;
pub mod import;
pub mod net;
pub mod pacer;
pub mod pki;
pub mod pty;
pub mod replay;
pub mod runtime;
pub mod scenario;
pub mod serial_tcp;
pub mod server;
pub mod time_scale;
pub mod transcript;
pub mod ufs_dir;
pub mod view;

pub use emulator::{Config, Emulator, EmulatorBuilder};
