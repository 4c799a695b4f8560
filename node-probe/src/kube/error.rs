//! What can go wrong getting identities from the Kubernetes API.

use std::time::Duration;

use thiserror::Error;

/// Errors of the Kubernetes identity source.
#[derive(Debug, Error)]
pub enum KubeError {
    /// No usable client configuration (kubeconfig or in-cluster).
    #[error("Kubernetes configuration: {0}")]
    Config(String),
    /// The client could not be built from the configuration.
    #[error("Kubernetes client: {0}")]
    Client(String),
    /// The async runtime or its thread could not start.
    #[error("Kubernetes watcher runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// The first full list of every watched kind did not arrive in time.
    #[error(
        "the Kubernetes API did not deliver a first list of {missing} within {waited:?}{}",
        last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default()
    )]
    NotReady {
        waited: Duration,
        /// The kinds still missing, comma-separated.
        missing: String,
        last_error: Option<String>,
    },
}
