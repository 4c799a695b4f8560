//! Reconnect delays: exponential backoff with a cap, reset on success.

/// First retry delay.
pub const BACKOFF_MIN_MS: u32 = 250;
/// Longest retry delay.
pub const BACKOFF_MAX_MS: u32 = 10_000;

/// Exponential backoff state for the relay connection.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// The delay before the next attempt; each call doubles the next one,
    /// up to [`BACKOFF_MAX_MS`].
    pub fn next_delay_ms(&mut self) -> u32 {
        let shift = self.attempt.min(16);
        self.attempt = self.attempt.saturating_add(1);
        BACKOFF_MIN_MS
            .saturating_mul(1u32 << shift)
            .min(BACKOFF_MAX_MS)
    }

    /// A connection succeeded: start again from the shortest delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Failed attempts since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}
