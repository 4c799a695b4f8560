//! Small helpers around an actix-ws session shared by both endpoints.

use std::future::Future;
use std::time::Duration;

use actix_ws::Session;
use tokio::sync::watch;

use crate::close_reason::CloseWhy;

/// Sends a close frame with the reason's code; gives up after `wait` (a peer
/// that does not read may never make room for it).
pub async fn close(session: Session, why: CloseWhy, wait: Duration) {
    let _ = tokio::time::timeout(wait, session.close(Some(why.close_reason()))).await;
}

/// Resolves when shutdown has been requested (immediately if it already was).
pub async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    if *rx.borrow() {
        return;
    }
    while rx.changed().await.is_ok() {
        if *rx.borrow() {
            return;
        }
    }
    // sender gone: the server is going away
}

/// Runs `fut` unless `stop` resolves first.
pub async fn unless<F: Future, S: Future<Output = CloseWhy>>(
    fut: F,
    stop: S,
) -> Result<F::Output, CloseWhy> {
    tokio::select! {
        biased;
        why = stop => Err(why),
        out = fut => Ok(out),
    }
}
