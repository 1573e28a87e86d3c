//! `[serial]` impairments of the module→host byte stream, applied before the writer (which
//! paces at the baud rate): output cut into chunks with pauses, one byte dropped, one byte
//! flipped. For testing a driver's robustness against a noisy UART.

use std::time::Duration;

use super::SerialSetup;

/// What the writer gets: bytes, or a pause before the next bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Bytes(Vec<u8>),
    Pause(Duration),
}

/// The impairment state: how many bytes of the stream have gone by.
#[derive(Debug, Clone)]
pub struct SerialImpairment {
    setup: SerialSetup,
    /// Offset in the stream of the next byte the module produces.
    offset: u64,
}

impl SerialImpairment {
    pub fn new(setup: SerialSetup) -> Self {
        SerialImpairment { setup, offset: 0 }
    }

    /// The pieces to write for `bytes`, the next output of the module.
    pub fn apply(&mut self, bytes: Vec<u8>) -> Vec<Piece> {
        let start = self.offset;
        self.offset += bytes.len() as u64;
        let mut data = bytes;
        if let Some(at) = self.setup.flip_byte_at {
            if (start..self.offset).contains(&at) {
                let i = (at - start) as usize;
                data[i] ^= self.setup.flip_mask;
                tracing::info!(target: "bg95::fault", "serial: byte {at} flipped with mask {:#04x}", self.setup.flip_mask);
            }
        }
        if let Some(at) = self.setup.drop_byte_at {
            if (start..self.offset).contains(&at) {
                data.remove((at - start) as usize);
                tracing::info!(target: "bg95::fault", "serial: byte {at} dropped");
            }
        }
        let Some(chunk) = self.setup.chunk else {
            return if data.is_empty() {
                Vec::new()
            } else {
                vec![Piece::Bytes(data)]
            };
        };
        let mut out = Vec::new();
        for c in data.chunks(chunk.max(1)) {
            out.push(Piece::Bytes(c.to_vec()));
            if !self.setup.chunk_delay.is_zero() {
                out.push(Piece::Pause(self.setup.chunk_delay));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(pieces: &[Piece]) -> Vec<u8> {
        pieces
            .iter()
            .flat_map(|p| match p {
                Piece::Bytes(b) => b.clone(),
                Piece::Pause(_) => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn drop_and_flip_at_stream_offsets_across_writes() {
        let mut s = SerialImpairment::new(SerialSetup {
            drop_byte_at: Some(6),
            flip_byte_at: Some(2),
            flip_mask: 0x20,
            ..Default::default()
        });
        assert_eq!(bytes(&s.apply(b"\r\nOK\r\n".to_vec())), b"\r\noK\r\n");
        // Offset 6 is the first byte of the next write.
        assert_eq!(bytes(&s.apply(b"\r\nRDY\r\n".to_vec())), b"\nRDY\r\n");
        assert_eq!(bytes(&s.apply(b"AB".to_vec())), b"AB");
    }

    #[test]
    fn chunks_with_pauses() {
        let d = Duration::from_millis(5);
        let mut s = SerialImpairment::new(SerialSetup {
            chunk: Some(2),
            chunk_delay: d,
            ..Default::default()
        });
        assert_eq!(
            s.apply(b"OK\r".to_vec()),
            vec![
                Piece::Bytes(b"OK".to_vec()),
                Piece::Pause(d),
                Piece::Bytes(b"\r".to_vec()),
                Piece::Pause(d)
            ]
        );
    }
}
