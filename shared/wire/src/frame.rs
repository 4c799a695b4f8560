//! The 4-byte frame header and the body codec.

use serde::{de::DeserializeOwned, Serialize};

use crate::{
    CaptureFilter, Hello, Inventory, L4Snapshot, L7Batch, ProbeStats, RelayNotice, WireError,
};

/// First byte of every frame (`'W'`).
pub const MAGIC: u8 = 0x57;
/// The protocol version this build speaks.
pub const VERSION: u8 = 1;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 4;
/// Largest frame any component accepts by default (header + body).
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// What a frame carries. The discriminants are the on-wire codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum FrameKind {
    /// probe → relay, first frame of a connection.
    Hello = 1,
    /// probe → relay → viewers: cumulative workload-level L4 counters.
    L4Snapshot = 2,
    /// probe → relay → viewers: dissected L7 entries.
    L7Batch = 3,
    /// probe → relay → viewers: pods, services and nodes the probe knows.
    Inventory = 4,
    /// probe → relay → viewers: probe counters (packets, drops, …).
    ProbeStats = 5,
    /// viewer → relay (set), relay → probes and viewers (current value).
    CaptureFilter = 6,
    /// relay → viewer: drops, probe arrivals and departures, status.
    RelayNotice = 7,
}

impl FrameKind {
    /// Every kind, in code order.
    pub const ALL: [FrameKind; 7] = [
        FrameKind::Hello,
        FrameKind::L4Snapshot,
        FrameKind::L7Batch,
        FrameKind::Inventory,
        FrameKind::ProbeStats,
        FrameKind::CaptureFilter,
        FrameKind::RelayNotice,
    ];

    /// The kind for an on-wire code.
    pub fn from_code(code: u8) -> Result<Self, WireError> {
        Self::ALL
            .into_iter()
            .find(|k| *k as u8 == code)
            .ok_or(WireError::UnknownKind(code))
    }

    /// Lower-case name used in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Hello => "hello",
            FrameKind::L4Snapshot => "l4_snapshot",
            FrameKind::L7Batch => "l7_batch",
            FrameKind::Inventory => "inventory",
            FrameKind::ProbeStats => "probe_stats",
            FrameKind::CaptureFilter => "capture_filter",
            FrameKind::RelayNotice => "relay_notice",
        }
    }
}

/// The fixed header: `[MAGIC, VERSION, kind, flags]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub kind: FrameKind,
    /// Reserved; version 1 writes 0 and ignores it on read.
    pub flags: u8,
}

impl Header {
    /// Reads and validates the header of `frame` without touching the body.
    /// This is all the relay does with a frame.
    pub fn peek(frame: &[u8]) -> Result<Header, WireError> {
        if frame.len() > MAX_FRAME_LEN {
            return Err(WireError::TooLarge {
                len: frame.len(),
                max: MAX_FRAME_LEN,
            });
        }
        let [magic, version, kind, flags] = match frame.get(..HEADER_LEN) {
            Some(&[a, b, c, d]) => [a, b, c, d],
            _ => return Err(WireError::Short { len: frame.len() }),
        };
        if magic != MAGIC {
            return Err(WireError::BadMagic {
                found: magic,
                expected: MAGIC,
            });
        }
        if version != VERSION {
            return Err(WireError::UnsupportedVersion {
                found: version,
                supported: VERSION,
            });
        }
        Ok(Header {
            version,
            kind: FrameKind::from_code(kind)?,
            flags,
        })
    }

    fn bytes(kind: FrameKind) -> [u8; HEADER_LEN] {
        [MAGIC, VERSION, kind as u8, 0]
    }
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Hello(Hello),
    L4Snapshot(L4Snapshot),
    L7Batch(L7Batch),
    Inventory(Inventory),
    ProbeStats(ProbeStats),
    CaptureFilter(CaptureFilter),
    RelayNotice(RelayNotice),
}

impl Frame {
    pub fn kind(&self) -> FrameKind {
        match self {
            Frame::Hello(_) => FrameKind::Hello,
            Frame::L4Snapshot(_) => FrameKind::L4Snapshot,
            Frame::L7Batch(_) => FrameKind::L7Batch,
            Frame::Inventory(_) => FrameKind::Inventory,
            Frame::ProbeStats(_) => FrameKind::ProbeStats,
            Frame::CaptureFilter(_) => FrameKind::CaptureFilter,
            Frame::RelayNotice(_) => FrameKind::RelayNotice,
        }
    }
}

fn body<T: Serialize>(kind: FrameKind, value: &T) -> Result<Vec<u8>, WireError> {
    let out = postcard::to_extend(value, Header::bytes(kind).to_vec()).map_err(|e| {
        WireError::Encode {
            kind,
            reason: e.to_string(),
        }
    })?;
    if out.len() > MAX_FRAME_LEN {
        return Err(WireError::TooLarge {
            len: out.len(),
            max: MAX_FRAME_LEN,
        });
    }
    Ok(out)
}

/// Encodes a frame: header followed by the postcard body.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, WireError> {
    match frame {
        Frame::Hello(v) => body(FrameKind::Hello, v),
        Frame::L4Snapshot(v) => body(FrameKind::L4Snapshot, v),
        Frame::L7Batch(v) => body(FrameKind::L7Batch, v),
        Frame::Inventory(v) => body(FrameKind::Inventory, v),
        Frame::ProbeStats(v) => body(FrameKind::ProbeStats, v),
        Frame::CaptureFilter(v) => body(FrameKind::CaptureFilter, v),
        Frame::RelayNotice(v) => body(FrameKind::RelayNotice, v),
    }
}

fn parse<T: DeserializeOwned>(kind: FrameKind, bytes: &[u8]) -> Result<T, WireError> {
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| WireError::Body {
        kind,
        reason: e.to_string(),
    })?;
    if !rest.is_empty() {
        return Err(WireError::Body {
            kind,
            reason: format!("{} trailing bytes after the body", rest.len()),
        });
    }
    Ok(value)
}

/// Decodes a whole frame. Any input gives a value or an error, never a panic.
pub fn decode(frame: &[u8]) -> Result<Frame, WireError> {
    let header = Header::peek(frame)?;
    let b = &frame[HEADER_LEN..];
    Ok(match header.kind {
        FrameKind::Hello => Frame::Hello(parse(header.kind, b)?),
        FrameKind::L4Snapshot => Frame::L4Snapshot(parse(header.kind, b)?),
        FrameKind::L7Batch => Frame::L7Batch(parse(header.kind, b)?),
        FrameKind::Inventory => Frame::Inventory(parse(header.kind, b)?),
        FrameKind::ProbeStats => Frame::ProbeStats(parse(header.kind, b)?),
        FrameKind::CaptureFilter => Frame::CaptureFilter(parse(header.kind, b)?),
        FrameKind::RelayNotice => Frame::RelayNotice(parse(header.kind, b)?),
    })
}
