//! The relay's error type.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong in the relay outside a single connection.
#[derive(Debug, Error)]
pub enum RelayError {
    #[error(
        "no probe token configured: pass --token (or WIREMAP_RELAY_TOKEN), or --insecure-no-auth"
    )]
    NoToken,
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("could not bind {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not read the state file {path}: {source}")]
    StateRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the state file {path} is not valid: {reason}")]
    StateInvalid { path: PathBuf, reason: String },
    #[error("could not write the state file {path}: {source}")]
    StateWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Why the hub refused a connection or a frame (a value, never a panic).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HubError {
    #[error("too many probes (limit {0})")]
    TooManyProbes(usize),
    #[error("too many viewers (limit {0})")]
    TooManyViewers(usize),
    #[error("unknown connection {0}")]
    UnknownConnection(u64),
    #[error("a probe may not send {0} frames")]
    UnexpectedKind(&'static str),
}
