//! `bg95-core`: the virtual BG95 as a sans-IO state machine, in the style of quinn-proto
//! and smoltcp. It owns every decision a real module makes — AT dispatch, PDP contexts,
//! QFTPCFG/QSSLCFG, the FTP session, data mode, timeouts, UFS rules, error codes — and never
//! touches a socket, a file descriptor or a clock: time comes in as an argument.
//!
//! ```text
//! runtime ──handle_input(now, bytes)────────▶ Module ──poll_output()──▶ bytes for the host
//!         ──handle_completion(now, event)──▶        ──poll_effect()──▶ FTP requests, baud
//!         ──handle_timeout(now)────────────▶        ──poll_timeout()─▶ next deadline
//! ```

mod area;
mod basic;
pub mod error;
pub mod escape;
pub mod ftp;
pub mod general;
mod limits;
mod module;
mod params;
pub mod pdp;
pub mod personality;
pub mod redact;
mod settings;
pub mod time;
pub mod transcript;
pub mod ufs;

pub use error::{CmeError, FtpError, TcpError};
pub use general::{NetworkEvent, PingEvent, ResolveFailure};
pub use limits::Limits;
pub use module::{AnswerOverride, FtpStatus, PdpStatus, Status};
pub use module::{Completion, Effect, Module, PowerEvent};
pub use personality::Personality;
pub use settings::Settings;
pub use time::Instant;
pub use ufs::{MemStore, StoreError, UfsStore};
