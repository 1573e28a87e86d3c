//! The host end of the virtual tty, opened as a driver opens it and read on a thread into a
//! channel, so the caller can wait for bytes with a deadline (`bg95-emu run` plays a
//! scenario's steps through it, `replay --live` a recording's host side).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

pub(crate) struct HostTty {
    /// Write the host's bytes here.
    pub tty: File,
    /// What the module wrote, in the pieces the tty gave.
    pub rx: mpsc::Receiver<Vec<u8>>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl HostTty {
    pub fn open(path: &Path) -> Result<HostTty, String> {
        let tty = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| format!("open {}: {e}", path.display()))?;
        let mut reader = tty.try_clone().map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            // Poll with a short timeout so the thread sees `stop` when the tty stays quiet.
            while !stopped.load(Ordering::Acquire) {
                let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::from(20u8)) {
                    Ok(0) => continue,
                    Ok(_) => {}
                    Err(_) => break,
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) if tx.send(buf[..n].to_vec()).is_err() => break,
                    Ok(_) => {}
                }
            }
        });
        Ok(HostTty {
            tty,
            rx,
            stop,
            reader: Some(reader),
        })
    }
}

impl Drop for HostTty {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}
