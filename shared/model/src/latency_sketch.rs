//! Log buckets of latency: exact below 16 µs, then 8 buckets per power of
//! two (relative error ≤ 12.5 %). The aggregation lists each edge's
//! buckets, sorts them by bucket and edge, and takes p50/p95/p99 by rank
//! ([`percentiles_of_sorted`]); [`LatencySketch`], the counting form it
//! used before, stays as the tests' reference.

/// Values below this get one bucket each.
const LINEAR: u64 = 16;
/// Sub-buckets per power of two (3 bits of mantissa).
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;

/// Counts of latencies in logarithmic buckets. Grows only as far as the
/// largest bucket used. The reference [`percentiles_of_sorted`] is tested
/// against.
#[cfg(test)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencySketch {
    counts: Vec<u32>,
    total: u64,
}

/// p50, p95 and p99 in microseconds (bucket midpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
}

pub(crate) fn bucket_of(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // ≥ 4
    let sub = (v >> (exp - SUB_BITS)) & (SUB - 1);
    (LINEAR + u64::from(exp - 4) * SUB + sub) as usize
}

/// Lowest and highest value of a bucket.
fn bucket_bounds(b: usize) -> (u64, u64) {
    let b = b as u64;
    if b < LINEAR {
        return (b, b);
    }
    let exp = (b - LINEAR) / SUB + 4;
    let sub = (b - LINEAR) % SUB;
    let width = 1u64 << (exp - u64::from(SUB_BITS));
    let lo = (1u64 << exp) + sub * width;
    (lo, lo.saturating_add(width - 1))
}

#[cfg(test)]
impl LatencySketch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one latency; negative values count as 0.
    #[inline]
    pub fn record(&mut self, latency_us: i64) {
        let b = bucket_of(latency_us.max(0) as u64);
        if b >= self.counts.len() {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] = self.counts[b].saturating_add(1);
        self.total += 1;
    }

    /// Adds another sketch's counts to this one.
    pub fn merge(&mut self, other: &LatencySketch) {
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a = a.saturating_add(*b);
        }
        self.total += other.total;
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The `q`-quantile (0 ≤ q ≤ 1) as its bucket's midpoint; None when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0u64;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                let (lo, hi) = bucket_bounds(b);
                return Some(lo + (hi - lo) / 2);
            }
        }
        None
    }

    /// p50, p95, p99 (the same as three [`LatencySketch::quantile`]
    /// calls, in one scan of the buckets); None when empty.
    pub fn percentiles(&self) -> Option<Percentiles> {
        if self.total == 0 {
            return None;
        }
        let rank = |q: f64| ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let ranks = [rank(0.50), rank(0.95), rank(0.99)];
        let mut out = [0u64; 3];
        let (mut next, mut seen) = (0, 0u64);
        for (b, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            while next < 3 && seen >= ranks[next] {
                let (lo, hi) = bucket_bounds(b);
                out[next] = lo + (hi - lo) / 2;
                next += 1;
            }
            if next == 3 {
                break;
            }
        }
        (next == 3).then_some(Percentiles {
            p50_us: out[0],
            p95_us: out[1],
            p99_us: out[2],
        })
    }
}

/// The bucket of a latency (negative counts as 0), small enough for a
/// `u16`: what [`percentiles_of_sorted`] takes.
#[inline]
pub(crate) fn latency_bucket(latency_us: i64) -> u16 {
    bucket_of(latency_us.max(0) as u64) as u16
}

/// Buckets of any `i64` latency ([`latency_bucket`] of `i64::MAX` is the
/// last).
pub(crate) const BUCKETS: usize = (LINEAR + (63 - 4 + 1) * SUB) as usize;

/// p50, p95, p99 of the latencies whose buckets ([`latency_bucket`]) are
/// `buckets`, in ascending order: the same as recording them in a
/// [`LatencySketch`] and asking [`LatencySketch::percentiles`], in three
/// lookups. None when empty. A computation that meets an edge's entries
/// in no particular order lists their buckets in one array and sorts it by
/// bucket and edge at the end, instead of a counter per bucket and edge
/// updated per entry (one cache miss each, most of an aggregation's time).
pub(crate) fn percentiles_of_sorted(buckets: &[u16]) -> Option<Percentiles> {
    if buckets.is_empty() {
        return None;
    }
    debug_assert!(buckets.is_sorted());
    let total = buckets.len() as u64;
    let at = |q: f64| {
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total) as usize - 1;
        let (lo, hi) = bucket_bounds(usize::from(buckets[rank]));
        lo + (hi - lo) / 2
    };
    Some(Percentiles {
        p50_us: at(0.50),
        p95_us: at(0.95),
        p99_us: at(0.99),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sorted buckets give what the sketch gives, on any mix of values.
    #[test]
    fn percentiles_of_sorted_buckets_equal_the_sketch() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        assert_eq!(percentiles_of_sorted(&[]), None);
        for n in [1usize, 2, 3, 7, 20, 99, 100, 101, 1000, 5000] {
            for spread in [4u32, 12, 24, 40, 63] {
                let values: Vec<i64> = (0..n)
                    .map(|_| {
                        (next() >> (64 - spread)) as i64 - if next() % 50 == 0 { 7 } else { 0 }
                    })
                    .collect();
                let mut sketch = LatencySketch::new();
                let mut buckets = Vec::new();
                for &v in &values {
                    sketch.record(v);
                    buckets.push(latency_bucket(v));
                }
                buckets.sort_unstable();
                assert_eq!(
                    percentiles_of_sorted(&buckets),
                    sketch.percentiles(),
                    "{n} values below 2^{spread}"
                );
            }
        }
    }

    #[test]
    fn buckets_cover_values_and_bound_relative_error() {
        for v in (0..100_000u64).chain([u64::MAX / 2, u64::MAX, 1 << 40]) {
            let b = bucket_of(v);
            let (lo, hi) = bucket_bounds(b);
            assert!(lo <= v && v <= hi, "{v} not in bucket {b} [{lo},{hi}]");
            if v >= LINEAR {
                assert!((hi - lo) as f64 <= v as f64 / 8.0 + 1.0);
            }
        }
        assert!(bucket_of(u64::MAX) < 496);
    }

    #[test]
    fn quantiles_of_uniform_values() {
        let mut s = LatencySketch::new();
        for v in 1..=1000 {
            s.record(v);
        }
        let p = s.percentiles().unwrap();
        for (got, want) in [(p.p50_us, 500.0), (p.p95_us, 950.0), (p.p99_us, 990.0)] {
            assert!((got as f64 - want).abs() / want < 0.13, "{got} vs {want}");
        }
        assert_eq!(LatencySketch::new().percentiles(), None);
    }

    #[test]
    fn merge_equals_recording_everything() {
        let (mut a, mut b, mut all) = (
            LatencySketch::new(),
            LatencySketch::new(),
            LatencySketch::new(),
        );
        for v in 0..500 {
            a.record(v * 37);
            all.record(v * 37);
        }
        for v in 0..300 {
            b.record(v * 1013 + 5);
            all.record(v * 1013 + 5);
        }
        a.merge(&b);
        assert_eq!(a.percentiles(), all.percentiles());
        assert_eq!(a.count(), 800);
    }

    /// The one-scan percentiles equal the quantiles one by one, on small
    /// and skewed samples (ranks falling in the same bucket included).
    #[test]
    fn percentiles_equal_three_quantiles() {
        let mut z = 1u64;
        for n in [1usize, 2, 3, 7, 20, 99, 100, 101, 1000] {
            for spread in [1u64, 50, 100_000] {
                let mut s = LatencySketch::new();
                for _ in 0..n {
                    z = z.wrapping_mul(6364136223846793005).wrapping_add(1);
                    s.record(((z >> 33) % spread) as i64);
                }
                let p = s.percentiles().expect("not empty");
                let q = |x| s.quantile(x).expect("not empty");
                assert_eq!(
                    (p.p50_us, p.p95_us, p.p99_us),
                    (q(0.50), q(0.95), q(0.99)),
                    "{n} values spread {spread}"
                );
            }
        }
    }
}
