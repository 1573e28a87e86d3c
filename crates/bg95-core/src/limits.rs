//! Every bound on bytes that wait somewhere between the host and the FTP server, in one
//! value. The core owns it (a scenario or a test may change it) and the runtime reads it
//! from [`Module::limits`](crate::Module::limits) when it starts. Memory stays bounded
//! because each queue on the way has one of these limits, and a full queue stops the reader
//! in front of it, down to TCP flow control at the server and a slow PTY read at the host.

/// The backpressure limits. Each field says what it bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Module output not yet written to the host: what the core has queued plus what the
    /// runtime's writer task still has to write (baud pacing, a host that reads slowly).
    /// At or above it the core takes no more download data
    /// ([`Module::wants_data`](crate::Module::wants_data)), so a download goes at the
    /// host's pace; the overshoot is at most one `download_chunk`.
    pub output_high_water: usize,
    /// FTP requests (in practice COM: upload chunks) the runtime holds for the driver task.
    /// While this many wait, the runtime stops reading the PTY, so a host that writes faster
    /// than the server takes is slowed like a UART with flow control.
    pub upload_chunks_waiting: usize,
    /// The largest `UploadData` the core asks for: a UFS file is sent in pieces of this size
    /// (a COM: upload is sent as it arrives, one piece per PTY read).
    pub upload_chunk: usize,
    /// Requests the driver task's channel holds beyond the ones the runtime keeps
    /// (`upload_chunks_waiting`).
    pub driver_requests_waiting: usize,
    /// The largest download chunk the driver reads from a data connection at once.
    pub download_chunk: usize,
    /// Download chunks (driver events) that may wait for the runtime; while they wait, the
    /// driver stops reading the data connection and TCP flow control holds the server.
    pub download_chunks_waiting: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            output_high_water: 64 * 1024,
            upload_chunks_waiting: 8,
            upload_chunk: 16 * 1024,
            driver_requests_waiting: 8,
            download_chunk: 16 * 1024,
            download_chunks_waiting: 2,
        }
    }
}
