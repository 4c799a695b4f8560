//! The clock the L7 rate window reads: "now" on the data's own time line.
//!
//! Entries carry capture timestamps. Live, they track the wall clock; when
//! a capture is replayed they lie in the past. Windowing them against the
//! wall clock would show an empty map for a replay, and windowing against
//! the newest entry alone would freeze rates when traffic stops. This clock
//! does both right: it is the newest entry's timestamp plus the wall time
//! that passed since that entry arrived, so rates decay to zero once
//! traffic stops, whatever the capture's epoch.

/// Maps wall-clock readings to data time. Sans-IO: both clocks are arguments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataClock {
    /// (newest data timestamp seen, wall clock when it was seen), µs.
    anchor: Option<(i64, i64)>,
}

impl DataClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that data up to `newest_us` had arrived at wall time
    /// `wall_us`. An older or equal `newest_us` keeps the earlier anchor, so
    /// the clock never runs backwards while data keeps arriving.
    pub fn observe(&mut self, newest_us: Option<i64>, wall_us: i64) {
        let Some(newest) = newest_us else { return };
        match self.anchor {
            Some((have, _)) if newest <= have => {}
            _ => self.anchor = Some((newest, wall_us)),
        }
    }

    /// Data time at wall time `wall_us`: the wall clock itself before any
    /// data arrived.
    pub fn now(&self, wall_us: i64) -> i64 {
        match self.anchor {
            Some((newest, at)) => newest.saturating_add(wall_us.saturating_sub(at).max(0)),
            None => wall_us,
        }
    }

    /// Forgets the anchor (e.g. the store was cleared).
    pub fn reset(&mut self) {
        self.anchor = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replayed_data_is_windowed_on_its_own_time_line() {
        let mut c = DataClock::new();
        assert_eq!(c.now(5_000), 5_000, "no data yet: the wall clock");
        // A capture from long ago arrives at wall time 1e15.
        c.observe(Some(1_000_000), 1_000_000_000_000_000);
        assert_eq!(c.now(1_000_000_000_000_000), 1_000_000);
        // 3 s later with no new data, data time advanced 3 s: rates decay.
        assert_eq!(c.now(1_000_000_003_000_000), 4_000_000);
        // Newer data re-anchors; older data does not move the clock back.
        c.observe(Some(2_000_000), 1_000_000_003_000_000);
        assert_eq!(c.now(1_000_000_003_000_000), 2_000_000);
        c.observe(Some(1_500_000), 1_000_000_009_000_000);
        assert_eq!(c.now(1_000_000_009_000_000), 8_000_000);
        c.observe(None, 0);
        assert_eq!(c.now(1_000_000_009_000_000), 8_000_000);
        // A wall clock that steps back does not run data time backwards.
        assert_eq!(c.now(0), 2_000_000);
        c.reset();
        assert_eq!(c.now(7), 7);
    }

    #[test]
    fn extreme_values_saturate() {
        let mut c = DataClock::new();
        c.observe(Some(i64::MAX - 1), i64::MIN);
        assert_eq!(c.now(i64::MAX), i64::MAX);
    }
}
