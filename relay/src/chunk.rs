//! L7 batches framed once for every viewer (sans-IO).
//!
//! Server-to-client WebSocket frames are not masked, so a batch's bytes on
//! the wire are the same for every viewer. The hub therefore appends each
//! L7 batch, WebSocket header and payload, to one open buffer; when the
//! buffer is sealed (after the linger time, when it is full, or before any
//! other frame so order is kept) every viewer queues the same [`Chunk`]: one
//! reference count per viewer per chunk instead of one per batch, and the
//! socket write copies one contiguous run of frames.

use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};

/// Appends the header of an unfragmented, unmasked binary frame carrying
/// `len` bytes (RFC 6455 section 5.2).
pub fn binary_header(dst: &mut BytesMut, len: usize) {
    const FIN_BINARY: u8 = 0x80 | 0x2;
    if len < 126 {
        dst.put_slice(&[FIN_BINARY, len as u8]);
    } else if let Ok(len) = u16::try_from(len) {
        dst.put_slice(&[FIN_BINARY, 126]);
        dst.put_u16(len);
    } else {
        dst.put_slice(&[FIN_BINARY, 127]);
        dst.put_u64(len as u64);
    }
}

/// Bytes of a server frame header for a payload of `len` bytes.
pub fn header_len(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=65_535 => 4,
        _ => 10,
    }
}

/// A sealed run of complete binary WebSocket frames, each one L7 batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The frames as they go on the wire.
    pub bytes: Bytes,
    /// Number of batches (frames) in it.
    pub batches: u32,
    /// Payload bytes of all batches (headers not counted).
    pub len: usize,
}

/// The open chunk L7 batches are appended to.
#[derive(Debug)]
pub struct ChunkBuilder {
    buf: BytesMut,
    batches: u32,
    len: usize,
    opened_at: Option<Instant>,
    /// Payload bytes at which the chunk is full.
    max: usize,
    /// Wire size of the last sealed chunk: the next one reserves about that
    /// much, so a chunk does not pin much more memory than it holds.
    last_wire: usize,
}

impl ChunkBuilder {
    /// A builder whose chunks are full at `max` payload bytes (a single
    /// larger batch still makes a chunk of its own).
    pub fn new(max: usize) -> Self {
        ChunkBuilder {
            buf: BytesMut::new(),
            batches: 0,
            len: 0,
            opened_at: None,
            max: max.max(1),
            last_wire: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.batches == 0
    }

    /// When the first batch of the open chunk arrived.
    pub fn opened_at(&self) -> Option<Instant> {
        self.opened_at
    }

    /// Whether the open chunk has reached its size.
    pub fn is_full(&self) -> bool {
        self.len >= self.max
    }

    /// Appends one batch as a binary frame.
    pub fn push(&mut self, payload: &[u8], now: Instant) {
        let wire = header_len(payload.len()) + payload.len();
        if self.batches == 0 {
            self.opened_at = Some(now);
            let guess = self.last_wire + self.last_wire / 4;
            self.buf.reserve(guess.max(wire));
        }
        binary_header(&mut self.buf, payload.len());
        self.buf.extend_from_slice(payload);
        self.batches += 1;
        self.len += payload.len();
    }

    /// Closes the open chunk; `None` when it holds nothing.
    pub fn seal(&mut self) -> Option<Chunk> {
        if self.batches == 0 {
            return None;
        }
        let bytes = self.buf.split().freeze();
        self.last_wire = bytes.len();
        let chunk = Chunk {
            bytes,
            batches: self.batches,
            len: self.len,
        };
        self.batches = 0;
        self.len = 0;
        self.opened_at = None;
        // a fresh allocation per chunk: the sealed one is shared by viewers
        self.buf = BytesMut::new();
        Some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a run of unmasked server frames into (opcode byte, payload).
    fn frames(mut wire: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        while !wire.is_empty() {
            let (len, at) = match wire[1] {
                126 => (u16::from_be_bytes([wire[2], wire[3]]) as usize, 4),
                127 => (
                    u64::from_be_bytes(wire[2..10].try_into().unwrap()) as usize,
                    10,
                ),
                n => (n as usize, 2),
            };
            out.push((wire[0], wire[at..at + len].to_vec()));
            wire = &wire[at + len..];
        }
        out
    }

    #[test]
    fn header_lengths_follow_the_length_classes() {
        for len in [0usize, 1, 125, 126, 127, 65_535, 65_536, 70_000] {
            let mut b = BytesMut::new();
            binary_header(&mut b, len);
            assert_eq!(b.len(), header_len(len), "payload of {len} bytes");
            assert_eq!(b[0], 0x82);
        }
    }

    #[test]
    fn a_chunk_is_a_run_of_complete_frames_in_push_order() {
        let t0 = Instant::now();
        let mut c = ChunkBuilder::new(1 << 20);
        assert!(c.is_empty() && c.seal().is_none() && c.opened_at().is_none());
        let payloads = [vec![1u8; 3], vec![2u8; 300], vec![3u8; 70_000], vec![]];
        for (i, p) in payloads.iter().enumerate() {
            c.push(p, t0 + std::time::Duration::from_millis(i as u64));
        }
        assert_eq!(c.opened_at(), Some(t0), "the first batch opens the chunk");
        let chunk = c.seal().unwrap();
        assert_eq!(chunk.batches, 4);
        assert_eq!(chunk.len, 3 + 300 + 70_000);
        assert_eq!(chunk.bytes.len(), 2 + 3 + 4 + 300 + 10 + 70_000 + 2);
        let got = frames(&chunk.bytes);
        assert_eq!(
            got,
            payloads
                .iter()
                .map(|p| (0x82, p.clone()))
                .collect::<Vec<_>>()
        );
        // sealing empties the builder; the next chunk starts fresh
        assert!(c.is_empty() && c.seal().is_none() && c.opened_at().is_none());
        c.push(b"x", t0);
        assert_eq!(
            frames(&c.seal().unwrap().bytes),
            vec![(0x82, b"x".to_vec())]
        );
        assert_eq!(
            &chunk.bytes[..2],
            &[0x82, 3],
            "a sealed chunk never changes"
        );
    }

    #[test]
    fn full_at_max_payload_bytes_and_one_big_batch_is_a_chunk_alone() {
        let now = Instant::now();
        let mut c = ChunkBuilder::new(1000);
        c.push(&[0u8; 600], now);
        assert!(!c.is_full());
        c.push(&[0u8; 400], now);
        assert!(c.is_full());
        c.seal();
        c.push(&[0u8; 5000], now);
        assert!(c.is_full());
        let chunk = c.seal().unwrap();
        assert_eq!((chunk.batches, chunk.len), (1, 5000));
    }
}
