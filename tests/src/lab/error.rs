//! What can go wrong while building, driving or tearing down the lab.

use std::path::PathBuf;

/// Every failure of the lab, with the context needed to act on it.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("the lab needs root to create network namespaces; run it with sudo (or use the pcap replay demo)")]
    NotRoot,
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("could not install {what}: {detail}")]
    Install { what: String, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} did not become ready within {secs} s: {detail}")]
    NotReady {
        what: String,
        secs: u64,
        detail: String,
    },
    #[error("the lab is not up (run `wiremap-lab up` first)")]
    NotUp,
    #[error("the address plan is inconsistent: {0}")]
    Plan(String),
    #[error("unknown node `{0}`")]
    UnknownNode(String),
    #[error("scripted traffic reported something unreadable: {0}")]
    Report(String),
}

impl LabError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> LabError {
        LabError::Io {
            path: path.into(),
            source,
        }
    }
}
