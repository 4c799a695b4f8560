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
    /// Head (node, epoch, seq, taken_at_us), identities, counters.
    L4(Parts<(String, u64, u64, i64), Identity, L4Counter>),
    /// Head (node, epoch, seq), identities, entries.
    L7(Parts<(String, u64, u64), Identity, Entry>),
    /// The result was given.
    Spent,
}

/// A body of head fields and two sequences, being read.
#[derive(Debug)]
struct Parts<H, A, B> {
    head: Option<H>,
    first: Items<A>,
    second: Items<B>,
}

/// A body read to its end: head fields and the two sequences.
type Whole<H, A, B> = (H, Vec<A>, Vec<B>);

impl<H, A, B> Default for Parts<H, A, B> {
    fn default() -> Self {
        Parts {
            head: None,
            first: Items::default(),
            second: Items::default(),
        }
    }
}

impl<H: DeserializeOwned + Default, A: DeserializeOwned, B: DeserializeOwned> Parts<H, A, B> {
    /// Reads on within the reader's budget; the parts once the body is
    /// read to its end.
    fn read(&mut self, r: &mut Reader<'_>) -> Result<Option<Whole<H, A, B>>, WireError> {
        if self.head.is_none() {
            self.head = Some(r.take()?);
        }
        if !self.first.read(r)? || !self.second.read(r)? {
            return Ok(None);
        }
        r.at_end()?;
        Ok(Some((
            self.head.take().unwrap_or_default(),
            std::mem::take(&mut self.first.got),
            std::mem::take(&mut self.second.got),
        )))
    }
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

impl<T: DeserializeOwned> Items<T> {
    /// Reads items while the reader's budget lasts (each costs one). True
    /// when the sequence is complete.
    fn read(&mut self, r: &mut Reader<'_>) -> Result<bool, WireError> {
        let len = match self.len {
            Some(len) => len,
            None => {
                let len: u64 = r.take()?;
                let len = usize::try_from(len)
                    .map_err(|_| r.error(format!("a sequence of {len} items")))?;
                // Every item takes at least a byte: a length beyond the
                // bytes left is refused by the reads, not reserved for.
                self.got.reserve(len.min(r.left()));
                self.len = Some(len);
                len
            }
        };
        while self.got.len() < len {
            if r.budget == 0 {
                return Ok(false);
            }
            self.got.push(r.take()?);
            r.budget -= 1;
        }
        Ok(true)
    }
}

/// A step's reading: the frame's bytes, where the next read starts, the
/// items it may still read, and the frame's kind (for errors).
struct Reader<'a> {
    bytes: &'a [u8],
    at: &'a mut usize,
    budget: usize,
    kind: FrameKind,
}

impl Reader<'_> {
    fn error(&self, reason: String) -> WireError {
        WireError::Body {
            kind: self.kind,
            reason,
        }
    }

    /// Bytes not read yet.
    fn left(&self) -> usize {
        self.bytes.len().saturating_sub(*self.at)
    }

    /// Reads one value and moves past it.
    fn take<T: DeserializeOwned>(&mut self) -> Result<T, WireError> {
        let rest = self.bytes.get(*self.at..).unwrap_or(&[]);
        let (value, after) =
            postcard::take_from_bytes(rest).map_err(|e| self.error(e.to_string()))?;
        *self.at += rest.len() - after.len();
        Ok(value)
    }

    /// Nothing may follow the body.
    fn at_end(&self) -> Result<(), WireError> {
        match self.left() {
            0 => Ok(()),
            n => Err(self.error(format!("{n} trailing bytes after the body"))),
        }
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
        let budget = items.max(1);
        let started = match self.state {
            State::Start => self.start(),
            _ => Ok(()),
        };
        match started.and_then(|()| self.advance(budget)) {
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
            FrameKind::L4Snapshot => State::L4(Parts::default()),
            FrameKind::L7Batch => State::L7(Parts::default()),
            _ => State::Whole,
        };
        Ok(())
    }

    fn advance(&mut self, budget: usize) -> Result<Option<Frame>, WireError> {
        let FrameDecoder { bytes, at, state } = self;
        let bytes: &[u8] = bytes;
        let kind = match state {
            State::L7(_) => FrameKind::L7Batch,
            _ => FrameKind::L4Snapshot,
        };
        let mut r = Reader {
            bytes,
            at,
            budget,
            kind,
        };
        match state {
            State::Start => Ok(None),
            State::Whole => decode(bytes).map(Some),
            State::L4(parts) => Ok(parts.read(&mut r)?.map(
                |((node, epoch, seq, taken_at_us), identities, counters)| {
                    Frame::L4Snapshot(L4Snapshot {
                        node,
                        epoch,
                        seq,
                        taken_at_us,
                        identities,
                        counters,
                    })
                },
            )),
            State::L7(parts) => {
                Ok(parts
                    .read(&mut r)?
                    .map(|((node, epoch, seq), identities, entries)| {
                        Frame::L7Batch(L7Batch {
                            node,
                            epoch,
                            seq,
                            identities,
                            entries,
                        })
                    }))
            }
            State::Spent => Err(WireError::Body {
                kind: Header::peek(bytes)?.kind,
                reason: "the frame was decoded already".to_string(),
            }),
        }
    }
}
