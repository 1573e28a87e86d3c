//! The settings a host changes with V.250 commands: echo, ATV/ATQ/CMEE, S-registers, &D.
//! AT&F restores the factory values, AT&W stores a copy that ATZ and a reboot restore.

use bg95_at::{LineSettings, ResponseFormat};

/// S-register defaults (V.250 and the BG95 AT manual); S12 is the `+++` guard in 20 ms units.
const FACTORY_SREGS: [u8; 13] = [0, 0, 43, 13, 10, 8, 2, 0, 2, 0, 15, 0, 50];

/// S-registers that exist (S0–S12 minus the unused S1, S9, S11 which read as 0).
pub const SREG_COUNT: usize = FACTORY_SREGS.len();

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub echo: bool,
    pub fmt: ResponseFormat,
    sregs: [u8; SREG_COUNT],
    /// AT&D: 0 ignore DTR, 1 DTR drop → command mode, 2 DTR drop → hang up.
    pub dtr_mode: u8,
    /// AT&C.
    pub dcd_mode: u8,
    pub max_line: usize,
}

impl Settings {
    pub fn factory(max_line: usize) -> Self {
        Settings {
            echo: true,
            fmt: ResponseFormat::default(),
            sregs: FACTORY_SREGS,
            dtr_mode: 1,
            dcd_mode: 1,
            max_line,
        }
    }

    /// The factory settings of a module with this personality (its line limit and how it
    /// frames information lines).
    pub fn factory_for(p: &crate::Personality) -> Self {
        let mut s = Settings::factory(p.max_line);
        s.fmt.frame_each_line = p.info_lines_framed;
        s
    }

    pub fn sreg(&self, n: usize) -> u8 {
        self.sregs.get(n).copied().unwrap_or(0)
    }

    /// Set an S-register; false if it does not exist.
    pub fn set_sreg(&mut self, n: usize, v: u8) -> bool {
        let Some(slot) = self.sregs.get_mut(n) else {
            return false;
        };
        *slot = v;
        self.fmt.s3 = self.sregs[3];
        self.fmt.s4 = self.sregs[4];
        true
    }

    pub fn s4(&self) -> u8 {
        self.sregs[4]
    }

    pub fn line_settings(&self) -> LineSettings {
        LineSettings {
            s3: self.sregs[3],
            s4: self.sregs[4],
            s5: self.sregs[5],
            echo: self.echo,
            max_len: self.max_line,
        }
    }
}
