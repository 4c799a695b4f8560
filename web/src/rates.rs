//! Rates from cumulative totals: the difference over a short sliding window
//! of samples, per edge key. A total that goes down (a probe restarted, a
//! filter changed) restarts that key's history instead of going negative.

use std::collections::{HashMap, VecDeque};

/// Samples older than this are dropped (ms).
pub const RATE_WINDOW_MS: f64 = 5_000.0;
/// A new key's first total is spread over this span (ms).
pub const NEW_KEY_SPAN_MS: f64 = 1_000.0;
/// Samples kept per key.
pub const MAX_SAMPLES_PER_KEY: usize = 64;
/// Keys tracked; beyond it new keys report a rate of 0.
pub const MAX_RATE_KEYS: usize = 200_000;

/// Sliding-window rate per key.
#[derive(Debug, Default)]
pub struct RateTracker {
    series: HashMap<String, VecDeque<(f64, f64)>>,
    seen: HashMap<String, bool>,
    pub overflow: u64,
}

impl RateTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `total` for `key` at `now_ms`; returns the rate per second
    /// over the window (0 until there are two samples).
    pub fn observe(&mut self, key: &str, now_ms: f64, total: f64) -> f64 {
        if !self.series.contains_key(key) && self.series.len() >= MAX_RATE_KEYS {
            self.overflow += 1;
            return 0.0;
        }
        let s = self.series.entry(key.to_string()).or_default();
        self.seen.insert(key.to_string(), true);
        if s.back().is_some_and(|&(t, v)| total < v || now_ms < t) {
            s.clear();
        }
        if s.is_empty() {
            // A new key's total arrived since the previous sample.
            s.push_back((now_ms - NEW_KEY_SPAN_MS, 0.0));
        }
        if s.back().is_some_and(|&(t, _)| t == now_ms) {
            s.pop_back();
        }
        s.push_back((now_ms, total));
        // Keep one sample at or before the window start, so a constant
        // total reads as zero and a burst spreads over the window.
        while s.len() > 2 && s.get(1).is_some_and(|&(t, _)| now_ms - t >= RATE_WINDOW_MS) {
            s.pop_front();
        }
        while s.len() > MAX_SAMPLES_PER_KEY {
            s.pop_front();
        }
        match (s.front(), s.back()) {
            (Some(&(t0, v0)), Some(&(t1, v1))) if t1 > t0 => (v1 - v0) / ((t1 - t0) / 1000.0),
            _ => 0.0,
        }
    }

    /// Forgets keys not observed since the previous call.
    pub fn sweep(&mut self) {
        let seen = std::mem::take(&mut self.seen);
        self.series.retain(|k, _| seen.contains_key(k));
    }
}
