//! Every error of the probe's library, as values.

use thiserror::Error;

/// What went wrong in the probe's library code.
#[derive(Debug, Error)]
pub enum ProbeError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a pcap or pcapng file (first bytes {0:02x?})")]
    BadMagic([u8; 4]),
    #[error("capture file ends inside a {0}")]
    Truncated(&'static str),
    #[error("capture record of {len} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge { len: usize, max: usize },
    #[error("malformed pcapng block: {0}")]
    BadBlock(String),
    #[error("topology file: {0}")]
    Topology(String),
    #[error("bad regular expression {pattern:?}: {reason}")]
    Regex { pattern: String, reason: String },
    #[error("capture interface: {0}")]
    Interface(String),
    #[error("relay connection: {0}")]
    Relay(String),
}
