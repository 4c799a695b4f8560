//! Why a dissector stopped following a connection. Errors are values: the
//! engine counts them and marks the connection, it never panics.

use thiserror::Error;

/// A reason to stop parsing one connection (or one datagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DissectError {
    /// The bytes do not follow the protocol.
    #[error("malformed {0} message")]
    Malformed(&'static str),
    /// A named bound was exceeded (buffer, header count, pending table…).
    #[error("cap exceeded: {0}")]
    Cap(&'static str),
    /// A gap in the byte stream that the dissector cannot resynchronise from.
    #[error("unrecoverable gap in {0} stream")]
    Gap(&'static str),
}
