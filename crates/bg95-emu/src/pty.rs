//! The virtual serial port: a PTY whose slave is what the host opens.
//!
//! The slave is made raw before anyone can open it (no echo, no CR/LF translation: the
//! module does its own echo), and the emulator keeps its own slave descriptor open for its
//! whole life so a host can close the tty and open it again without the master seeing EIO
//! (../shared/notes/pty.md).

use std::os::fd::AsFd;
use std::path::PathBuf;

use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};

/// An open PTY pair: the master for the emulator, the slave kept open, its path for hosts.
pub struct VirtualPort {
    pub master: pty_process::Pty,
    /// Held so the port survives hosts closing it; never read or written.
    pub slave: pty_process::Pts,
    pub path: PathBuf,
}

impl VirtualPort {
    pub fn open() -> std::io::Result<VirtualPort> {
        let (master, slave) = pty_process::open().map_err(std::io::Error::other)?;
        let fd = slave.as_fd();
        let mut t = tcgetattr(fd).map_err(std::io::Error::from)?;
        cfmakeraw(&mut t);
        tcsetattr(fd, SetArg::TCSANOW, &t).map_err(std::io::Error::from)?;
        let path = nix::unistd::ttyname(fd).map_err(std::io::Error::from)?;
        Ok(VirtualPort {
            master,
            slave,
            path,
        })
    }
}
