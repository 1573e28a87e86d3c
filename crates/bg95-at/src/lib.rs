//! `bg95-at`: bytes ⇄ typed AT commands and responses, with no I/O and no state beyond the
//! line being typed. The module's state (echo, ATV, CMEE, S-registers) is passed in.
//!
//! - [`line`]: byte-by-byte line assembly (S3/S4/S5, echo, `A/`).
//! - [`command`]: the grammar of a line after `AT` (chains, forms, quoted parameters).
//! - [`response`]: framing of information text, URCs and final result codes.

pub mod command;
pub mod line;
pub mod response;

pub use command::{parse_body, parse_body_spanned, Arg, Form, Invocation, SyntaxError};
pub use line::{strip_prefix, LineAssembler, LineEvent, LineSettings};
pub use response::{FinalResult, ResponseFormat};
