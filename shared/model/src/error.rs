//! The crate's error type.

use thiserror::Error;

/// Why the model refused an input. Refusals are counted by their owners too.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// An L4 snapshot older than (or equal to) one already applied.
    #[error("stale L4 snapshot from {node}: epoch {epoch} seq {seq} (have epoch {have_epoch} seq {have_seq})")]
    StaleSnapshot {
        node: String,
        epoch: u64,
        seq: u64,
        have_epoch: u64,
        have_seq: u64,
    },
    /// A snapshot from a new probe when `cap` probes are already tracked.
    #[error("too many probes: {cap} are tracked already")]
    TooManyProbes { cap: usize },
    /// More than `cap` pins.
    #[error("too many pins: at most {cap}")]
    TooManyPins { cap: usize },
    /// A pin with a coordinate that is NaN or infinite.
    #[error("pin for {key:?} has a non-finite coordinate")]
    NonFinitePin { key: String },
}
