//! Bounded ring of recent L7 batches for late joiners (sans-IO).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Keeps the most recent L7 batches within `max_bytes` and `max_age`.
/// A cap of 0 bytes turns it off.
#[derive(Debug)]
pub struct ReplayRing {
    frames: VecDeque<(Instant, Bytes)>,
    bytes: usize,
    max_bytes: usize,
    max_age: Duration,
    evicted: u64,
}

impl ReplayRing {
    pub fn new(max_bytes: usize, max_age: Duration) -> Self {
        ReplayRing {
            frames: VecDeque::new(),
            bytes: 0,
            max_bytes,
            max_age,
            evicted: 0,
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.max_bytes > 0 && !self.max_age.is_zero()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Frames evicted (by size or age) so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Records a batch received at `now`.
    pub fn push(&mut self, now: Instant, frame: Bytes) {
        if !self.is_enabled() || frame.len() > self.max_bytes {
            return;
        }
        self.bytes += frame.len();
        self.frames.push_back((now, frame));
        self.expire(now);
    }

    /// Drops frames that are too old or over the byte cap.
    pub fn expire(&mut self, now: Instant) {
        while let Some((at, frame)) = self.frames.front() {
            let old = now.saturating_duration_since(*at) > self.max_age;
            if !old && self.bytes <= self.max_bytes {
                break;
            }
            self.bytes -= frame.len();
            self.frames.pop_front();
            self.evicted += 1;
        }
    }

    /// Frames younger than the age limit, oldest first.
    pub fn recent(&self, now: Instant) -> impl Iterator<Item = &Bytes> {
        let max_age = self.max_age;
        self.frames
            .iter()
            .filter(move |(at, _)| now.saturating_duration_since(*at) <= max_age)
            .map(|(_, f)| f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_bytes_and_age() {
        let t0 = Instant::now();
        let mut r = ReplayRing::new(300, Duration::from_secs(10));
        for i in 0..5u8 {
            r.push(
                t0 + Duration::from_secs(u64::from(i)),
                Bytes::from(vec![i; 100]),
            );
        }
        assert_eq!(r.bytes(), 300);
        let got: Vec<u8> = r
            .recent(t0 + Duration::from_secs(4))
            .map(|f| f[0])
            .collect();
        assert_eq!(got, vec![2, 3, 4]);
        let got: Vec<u8> = r
            .recent(t0 + Duration::from_secs(13))
            .map(|f| f[0])
            .collect();
        assert_eq!(got, vec![3, 4]);
        r.expire(t0 + Duration::from_secs(100));
        assert_eq!(r.bytes(), 0);
        assert_eq!(r.evicted(), 5);
    }

    #[test]
    fn off_by_default_size() {
        let mut r = ReplayRing::new(0, Duration::from_secs(10));
        r.push(Instant::now(), Bytes::from_static(b"abcd"));
        assert_eq!(r.recent(Instant::now()).count(), 0);
    }
}
