//! `bg95-emu`: the virtual BG95 on a PTY. It runs the sans-IO `bg95-core` module against
//! real I/O: the PTY, the FTP(S) driver, UFS on disk, the embedded FTP server.

pub mod ftp;
pub mod ufs_dir;
