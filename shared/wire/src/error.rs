use thiserror::Error;

/// Why a frame could not be decoded or encoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum WireError {
    #[error("frame too short: {len} bytes, the header alone is 4")]
    Short { len: usize },
    #[error("bad magic byte 0x{found:02x} (expected 0x{expected:02x}): not a wiremap frame")]
    BadMagic { found: u8, expected: u8 },
    #[error("unsupported protocol version {found} (this build speaks version {supported})")]
    UnsupportedVersion { found: u8, supported: u8 },
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("malformed {kind:?} body: {reason}")]
    Body {
        kind: crate::FrameKind,
        reason: String,
    },
    #[error("could not encode {kind:?} body: {reason}")]
    Encode {
        kind: crate::FrameKind,
        reason: String,
    },
}
