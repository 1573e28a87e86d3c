//! Replaying a recorded transcript for a diff (`bg95-emu replay`): instead of stopping at the
//! first mismatch, the module's answers are written out in the recording's own shape so the
//! two texts can be compared line by line.
//!
//! Both sides are written the same way: each host input (`>`) and each event (`!`) line,
//! then everything the module said and asked for up to the next one — its output as `<`
//! lines split after each `\n`, then its effects as `=` lines. Time lines move the clock but
//! are not written: output that a timeout produced lands in the same block on both sides
//! whatever the rounding of the recorded times.

use super::{escape, event_line, redacted_line, Harness, Line, Step};

/// The recording and the replay, written the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub recorded: String,
    pub replayed: String,
}

impl Comparison {
    pub fn identical(&self) -> bool {
        self.recorded == self.replayed
    }
}

/// What the module said between two inputs.
#[derive(Default)]
struct Block {
    output: Vec<u8>,
    effects: Vec<String>,
}

/// What stands for the checksum of `+QFUPL: <size>,<checksum>` after a redacted upload on
/// both sides: the replay sent filler, so its checksum cannot be the recording's.
pub const MASKED_CHECKSUM: &str = "<masked>";

/// After a redacted upload (`>key`): the checksum of the first `+QFUPL: <size>,<checksum>`
/// in `output` becomes [`MASKED_CHECKSUM`]; every other byte stays.
pub fn mask_upload_checksum(output: &mut Vec<u8>) {
    const PREFIX: &[u8] = b"+QFUPL: ";
    let Some(at) = output.windows(PREFIX.len()).position(|w| w == PREFIX) else {
        return;
    };
    let count = |from: usize, hex: bool| {
        output[from..]
            .iter()
            .take_while(|b| {
                if hex {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .count()
    };
    let size_start = at + PREFIX.len();
    let size_len = count(size_start, false);
    let comma = size_start + size_len;
    if size_len == 0 || output.get(comma) != Some(&b',') {
        return;
    }
    // The checksum is hex (`+QFUPL: 3,262`).
    let sum_len = count(comma + 1, true);
    if sum_len > 0 {
        output.splice(comma + 1..comma + 1 + sum_len, MASKED_CHECKSUM.bytes());
    }
}

impl Block {
    fn mask_upload_checksum(&mut self) {
        mask_upload_checksum(&mut self.output);
    }

    fn write_to(&mut self, text: &mut String) {
        for piece in self.output.split_inclusive(|&b| b == b'\n') {
            text.push_str("< ");
            text.push_str(&escape(piece));
            text.push('\n');
        }
        for e in &self.effects {
            text.push_str("= ");
            text.push_str(e);
            text.push('\n');
        }
        *self = Block::default();
    }
}

impl Harness {
    /// Everything the module has said and asked for so far.
    fn drain_into(&mut self, block: &mut Block) {
        block.output.append(&mut self.take_output());
        block.effects.append(&mut self.take_effect_lines());
    }

    /// Play the host side and the events of `lines`, and write both the recording and the
    /// module's answers (module doc). Never stops early.
    pub fn compare(&mut self, lines: &[Line]) -> Comparison {
        let mut out = Comparison {
            recorded: String::new(),
            replayed: String::new(),
        };
        let (mut recorded, mut replayed) = (Block::default(), Block::default());
        // The block being collected follows a redacted upload.
        let mut after_redacted = false;
        for l in lines {
            let input = match &l.step {
                Step::Send(bytes) => format!("> {}\n", escape(bytes)),
                Step::SendRedacted { len, fnv } => format!("{}\n", redacted_line(*len, *fnv)),
                Step::Event(ev) => format!("! {}\n", event_line(ev)),
                Step::Wait(d) => {
                    self.advance(*d);
                    continue;
                }
                Step::Expect(bytes) => {
                    recorded.output.extend_from_slice(bytes);
                    continue;
                }
                Step::Effect(e) => {
                    recorded.effects.push(e.clone());
                    continue;
                }
                // Not compared (a replay fires no faults of its own); the hook may apply it.
                Step::Fault(text) => {
                    if let Some(hook) = self.fault_hook.as_mut() {
                        hook(&mut self.module, text);
                    }
                    continue;
                }
            };
            self.drain_into(&mut replayed);
            if after_redacted {
                recorded.mask_upload_checksum();
                replayed.mask_upload_checksum();
            }
            recorded.write_to(&mut out.recorded);
            replayed.write_to(&mut out.replayed);
            out.recorded.push_str(&input);
            out.replayed.push_str(&input);
            after_redacted = matches!(l.step, Step::SendRedacted { .. });
            match &l.step {
                Step::Send(bytes) => self.send(bytes),
                Step::SendRedacted { len, .. } => self.send_redacted(*len),
                Step::Event(ev) => self.feed(ev.clone()),
                _ => {}
            }
        }
        self.drain_into(&mut replayed);
        if after_redacted {
            recorded.mask_upload_checksum();
            replayed.mask_upload_checksum();
        }
        recorded.write_to(&mut out.recorded);
        replayed.write_to(&mut out.replayed);
        out
    }
}
