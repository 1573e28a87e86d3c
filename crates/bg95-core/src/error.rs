//! Every error code the module can report, in one table: the 3GPP general `+CME ERROR`
//! codes, the FILE (UFS) codes 400–426, and the FTP(S) codes 601–631 with their mapping from
//! FTP server reply codes (application note chapters 5 and 6). Every command uses these.

use bg95_at::FinalResult;

macro_rules! codes {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $code:literal, $text:literal;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant = $code,)* }

        impl $name {
            pub fn code(self) -> u16 { self as u16 }

            /// The text AT+CMEE=2 prints.
            pub fn text(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn from_code(code: u16) -> Option<Self> {
                match code { $($code => Some($name::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    /// `+CME ERROR` codes outside FTP: general 3GPP ones and the BG95 FILE table
    /// (companion-commands.md §4.1).
    CmeError {
        OperationNotAllowed = 3, "operation not allowed";
        OperationNotSupported = 4, "operation not supported";
        SimNotInserted = 10, "SIM not inserted";
        NoNetworkService = 30, "no network service";
        IncorrectParameters = 50, "incorrect parameters";
        Unknown = 100, "unknown";
        InvalidInput = 400, "invalid input value";
        LargerThanFile = 401, "larger than the size of the file";
        ReadZeroByte = 402, "read zero byte";
        DriveFull = 403, "drive full";
        FileNotFound = 405, "file not found";
        InvalidFileName = 406, "invalid file name";
        FileExists = 407, "file already existed";
        WriteFailed = 409, "fail to write the file";
        OpenFailed = 410, "fail to open the file";
        ReadFailed = 411, "fail to read the file";
        TooManyOpen = 413, "reach the max number of file allowed to be opened";
        ReadOnly = 414, "the file read-only";
        InvalidHandle = 416, "invalid file descriptor";
        ListFailed = 417, "fail to list the file";
        DeleteFailed = 418, "fail to delete the file";
        DiskInfoFailed = 419, "fail to get disk info";
        NoSpace = 420, "no space";
        TimedOut = 421, "time out";
        FileTooLarge = 423, "file too large";
        InvalidParameter = 425, "invalid parameter";
        AlreadyOpen = 426, "file already opened";
        GnssSessionOngoing = 504, "Session is ongoing";
        GnssSessionNotActive = 505, "Session not active";
        GnssNotFixed = 516, "Not fixed now";
    }
}

codes! {
    /// The FTP(S) `<err>` codes of the application note, chapter 5.
    FtpError {
        Unknown = 601, "unknown error";
        Blocked = 602, "FTP(S) server blocked";
        Busy = 603, "FTP(S) server busy";
        DnsFailed = 604, "DNS parse failed";
        Network = 605, "network error";
        ControlClosed = 606, "control connection closed";
        DataClosed = 607, "data connection closed";
        PeerClosed = 608, "socket closed by peer";
        Timeout = 609, "timeout error";
        InvalidParameter = 610, "invalid parameter";
        FileOpenFailed = 611, "failed to open file";
        FilePosition = 612, "file position invalid";
        FileError = 613, "file error";
        ServiceUnavailable = 614, "service not available, closing control connection";
        DataOpenFailed = 615, "open data connection failed";
        TransferAborted = 616, "connection closed; transfer aborted";
        FileActionNotTaken = 617, "requested file action not taken";
        LocalError = 618, "requested action aborted: local error in processing";
        InsufficientStorage = 619, "requested action not taken: insufficient system storage";
        SyntaxError = 620, "syntax error, command unrecognized";
        ParameterSyntax = 621, "syntax error in parameters or arguments";
        NotImplemented = 622, "command not implemented";
        BadSequence = 623, "bad sequence of commands";
        ParameterNotImplemented = 624, "command parameter not implemented";
        NotLoggedIn = 625, "not logged in";
        NeedAccount = 626, "need account for storing files";
        ActionNotTaken = 627, "requested action not taken";
        PageTypeUnknown = 628, "requested action aborted: page type unknown";
        FileActionAborted = 629, "requested file action aborted";
        FileNameInvalid = 630, "requested file name invalid";
        SslFailed = 631, "SSL authentication failed";
    }
}

codes! {
    /// The TCP/IP `<err>` codes (companion-commands.md, 550–574) that the general commands
    /// report in their URCs (AT+QIDNSGIP, AT+QPING, AT+QNTP) and as `+CME ERROR`.
    TcpError {
        Unknown = 550, "unknown error";
        InvalidParameters = 552, "invalid parameters";
        OpenPdpFailed = 561, "open PDP context failed";
        DnsBusy = 564, "DNS busy";
        DnsParseFailed = 565, "DNS parse failed";
        OperationBusy = 568, "operation busy";
        Timeout = 569, "operation timeout";
        PdpBrokenDown = 570, "PDP context broken down";
        NotAllowed = 572, "operation not allowed";
    }
}

impl FtpError {
    /// The `<err>` a server's negative reply maps to (chapter 6 beside chapter 5).
    pub fn from_reply(reply: u16) -> FtpError {
        match reply {
            421 => FtpError::ServiceUnavailable,
            425 => FtpError::DataOpenFailed,
            426 => FtpError::TransferAborted,
            450 => FtpError::FileActionNotTaken,
            451 => FtpError::LocalError,
            452 => FtpError::InsufficientStorage,
            500 => FtpError::SyntaxError,
            501 => FtpError::ParameterSyntax,
            502 => FtpError::NotImplemented,
            503 => FtpError::BadSequence,
            504 => FtpError::ParameterNotImplemented,
            530 => FtpError::NotLoggedIn,
            532 => FtpError::NeedAccount,
            550 => FtpError::ActionNotTaken,
            551 => FtpError::PageTypeUnknown,
            552 => FtpError::FileActionAborted,
            553 => FtpError::FileNameInvalid,
            _ => FtpError::Unknown,
        }
    }
}

/// The application note's meaning of an `<err>` code, whichever table it is in: the FTP(S)
/// codes 601–631, the TCP/IP codes 550–572, the `+CME ERROR` codes (the ranges do not
/// overlap). For tools that explain a transcript (`bg95-emu view`): one table, the module's.
pub fn meaning(code: u16) -> Option<&'static str> {
    FtpError::from_code(code)
        .map(FtpError::text)
        .or_else(|| TcpError::from_code(code).map(TcpError::text))
        .or_else(|| CmeError::from_code(code).map(CmeError::text))
}

impl From<CmeError> for FinalResult {
    fn from(e: CmeError) -> Self {
        FinalResult::Cme {
            code: e.code(),
            text: e.text(),
        }
    }
}

impl From<TcpError> for FinalResult {
    fn from(e: TcpError) -> Self {
        FinalResult::Cme {
            code: e.code(),
            text: e.text(),
        }
    }
}

impl From<FtpError> for FinalResult {
    fn from(e: FtpError) -> Self {
        FinalResult::Cme {
            code: e.code(),
            text: e.text(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_code_of_chapter_6_maps_to_its_chapter_5_twin() {
        let pairs = [
            (421, 614),
            (425, 615),
            (426, 616),
            (450, 617),
            (451, 618),
            (452, 619),
            (500, 620),
            (501, 621),
            (502, 622),
            (503, 623),
            (504, 624),
            (530, 625),
            (532, 626),
            (550, 627),
            (551, 628),
            (552, 629),
            (553, 630),
        ];
        for (reply, err) in pairs {
            assert_eq!(FtpError::from_reply(reply).code(), err, "reply {reply}");
        }
        assert_eq!(FtpError::from_reply(499), FtpError::Unknown);
    }

    #[test]
    fn meaning_reads_every_table() {
        assert_eq!(meaning(609), Some("timeout error"));
        assert_eq!(meaning(565), Some("DNS parse failed"));
        assert_eq!(meaning(10), Some("SIM not inserted"));
        assert_eq!(meaning(403), Some("drive full"));
        assert_eq!(meaning(0), None);
        assert_eq!(meaning(632), None);
        // The tables do not overlap: each code means one thing.
        for code in 0..1000u16 {
            let found = [
                FtpError::from_code(code).is_some(),
                TcpError::from_code(code).is_some(),
                CmeError::from_code(code).is_some(),
            ];
            assert!(found.iter().filter(|f| **f).count() <= 1, "code {code}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for c in 601..=631 {
            assert_eq!(FtpError::from_code(c).map(FtpError::code), Some(c));
        }
        assert_eq!(CmeError::from_code(405), Some(CmeError::FileNotFound));
        assert_eq!(CmeError::from_code(404), None);
    }
}
