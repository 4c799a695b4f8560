//! Decoding a big frame a piece at a time.
//!
//! A browser tab takes in frames on the thread that draws and answers
//! input: an L4 snapshot of 10,000 identities is about 700 kB and takes
//! milliseconds to decode, so it is decoded a bounded number of items per
//! call instead. The result is the same as [`crate::decode`]'s, value or
//! error, for any input (the fuzz target and the tests compare them).
//!
//! Postcard writes a struct's fields one after the other and a sequence
//! as its length (a varint) followed by its items, so the head fields of a
//! snapshot or batch are read as one tuple, then each sequence's length,
//! then its items one by one.

use serde::de::DeserializeOwned;

use crate::{
    decode, Entry, Frame, FrameKind, Header, Identity, L4Counter, L4Snapshot, L7Batch, WireError,
    HEADER_LEN,
};

/// A frame being decoded by [`FrameDecoder::step`]s.
#[derive(Debug)]
pub struct FrameDecoder {
    bytes: Vec<u8>,
    /// Where the next read starts in `bytes`.
    at: usize,
    state: State,
}

#[derive(Debug)]
enum State {
    /// The header is checked by the first step.
    Start,
    /// Kinds without long sequences: decoded at once by the next step.
    Whole,
    L4 {
        head: Option<(String, u64, u64, i64)>,
        identities: Items<Identity>,
        counters: Items<L4Counter>,
    },
    L7 {
        head: Option<(String, u64, u64)>,
        identities: Items<Identity>,
        entries: Items<Entry>,
    },
    /// The result was given.
    Spent,
}

/// A sequence being read: its length once read, and its items so far.
#[derive(Debug)]
struct Items<T> {
    len: Option<usize>,
    got: Vec<T>,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items {
            len: None,
            got: Vec::new(),
        }
    }
}

/// Reads one value at `*at` and moves past it.
fn take<T: DeserializeOwned>(
    bytes: &[u8],
    at: &mut usize,
    kind: FrameKind,
) -> Result<T, WireError> {
    let rest = bytes.get(*at..).unwrap_or(&[]);
    let (value, after) = postcard::take_from_bytes(rest).map_err(|e| WireError::Body {
        kind,
        reason: e.to_string(),
    })?;
    *at += rest.len() - after.len();
    Ok(value)
}

impl<T: DeserializeOwned> Items<T> {
    /// Reads up to `*budget` more items (each costs one). True when the
    /// sequence is complete.
    fn read(
        &mut self,
        bytes: &[u8],
        at: &mut usize,
        budget: &mut usize,
        kind: FrameKind,
    ) -> Result<bool, WireError> {
        let len = match self.len {
            Some(len) => len,
            None => {
                let len: u64 = take(bytes, at, kind)?;
                let len = usize::try_from(len).map_err(|_| WireError::Body {
                    kind,
                    reason: format!("a sequence of {len} items"),
                })?;
                // Every item takes at least a byte: a length beyond the
                // bytes left is refused by the reads, not reserved for.
                self.got.reserve(len.min(bytes.len() - *at));
                self.len = Some(len);
                len
            }
        };
        while self.got.len() < len {
            if *budget == 0 {
                return Ok(false);
            }
            self.got.push(take(bytes, at, kind)?);
            *budget -= 1;
        }
        Ok(true)
    }
}

impl FrameDecoder {
    /// Starts decoding `bytes` (a whole frame, header included); nothing is
    /// read until the first [`FrameDecoder::step`].
    pub fn new(bytes: Vec<u8>) -> FrameDecoder {
        FrameDecoder {
            bytes,
            at: HEADER_LEN,
            state: State::Start,
        }
    }

    /// The frame's size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// A frame without bytes (never a valid one).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Decodes up to `items` more items of the frame's sequences (the
    /// identities, counters and entries of L4 snapshots and L7 batches; at
    /// least one piece of work per call); other kinds are decoded whole.
    /// `Some` with the frame, or the error [`crate::decode`] would give,
    /// when done; `None` while there is more. After `Some`, the decoder
    /// is spent and gives an error.
    pub fn step(&mut self, items: usize) -> Option<Result<Frame, WireError>> {
        let mut budget = items.max(1);
        let started = match self.state {
            State::Start => self.start(),
            _ => Ok(()),
        };
        match started.and_then(|()| self.advance(&mut budget)) {
            Ok(None) => None,
            Ok(Some(frame)) => {
                self.state = State::Spent;
                Some(Ok(frame))
            }
            Err(e) => {
                self.state = State::Spent;
                Some(Err(e))
            }
        }
    }

    /// Checks the header and sets out what is to be read.
    fn start(&mut self) -> Result<(), WireError> {
        self.state = match Header::peek(&self.bytes)?.kind {
            FrameKind::L4Snapshot => State::L4 {
                head: None,
                identities: Items::default(),
                counters: Items::default(),
            },
            FrameKind::L7Batch => State::L7 {
                head: None,
                identities: Items::default(),
                entries: Items::default(),
            },
            _ => State::Whole,
        };
        Ok(())
    }

    fn advance(&mut self, budget: &mut usize) -> Result<Option<Frame>, WireError> {
        let FrameDecoder { bytes, at, state } = self;
        match state {
            State::Start => Ok(None),
            State::Whole => decode(bytes).map(Some),
            State::L4 {
                head,
                identities,
                counters,
            } => {
                let kind = FrameKind::L4Snapshot;
                if head.is_none() {
                    *head = Some(take(bytes, at, kind)?);
                }
                if !identities.read(bytes, at, budget, kind)?
                    || !counters.read(bytes, at, budget, kind)?
                {
                    return Ok(None);
                }
                no_trailing(bytes, *at, kind)?;
                let (node, epoch, seq, taken_at_us) = head.take().unwrap_or_default();
                Ok(Some(Frame::L4Snapshot(L4Snapshot {
                    node,
                    epoch,
                    seq,
                    taken_at_us,
                    identities: std::mem::take(&mut identities.got),
                    counters: std::mem::take(&mut counters.got),
                })))
            }
            State::L7 {
                head,
                identities,
                entries,
            } => {
                let kind = FrameKind::L7Batch;
                if head.is_none() {
                    *head = Some(take(bytes, at, kind)?);
                }
                if !identities.read(bytes, at, budget, kind)?
                    || !entries.read(bytes, at, budget, kind)?
                {
                    return Ok(None);
                }
                no_trailing(bytes, *at, kind)?;
                let (node, epoch, seq) = head.take().unwrap_or_default();
                Ok(Some(Frame::L7Batch(L7Batch {
                    node,
                    epoch,
                    seq,
                    identities: std::mem::take(&mut identities.got),
                    entries: std::mem::take(&mut entries.got),
                })))
            }
            State::Spent => Err(WireError::Body {
                kind: Header::peek(bytes)?.kind,
                reason: "the frame was decoded already".to_string(),
            }),
        }
    }
}

fn no_trailing(bytes: &[u8], at: usize, kind: FrameKind) -> Result<(), WireError> {
    let n = bytes.len().saturating_sub(at);
    if n > 0 {
        return Err(WireError::Body {
            kind,
            reason: format!("{n} trailing bytes after the body"),
        });
    }
    Ok(())
}
