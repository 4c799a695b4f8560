//! Human-readable byte counts and rates in decimal units, as Kubeshark shows
//! them ("991.84 B/s", "52.00 kB/s").

const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

/// `1234.0` → `"1.23 kB"`. Non-finite or negative values show as `"0.00 B"`.
pub fn human_bytes(bytes: f64) -> String {
    let mut v = if bytes.is_finite() && bytes > 0.0 {
        bytes
    } else {
        0.0
    };
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    // 999.995 rounds to "1000.00": carry into the next unit.
    if format!("{v:.2}") == "1000.00" && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.2} {}", UNITS[unit])
}

/// `52000.0` → `"52.00 kB/s"`.
pub fn human_rate(bytes_per_s: f64) -> String {
    format!("{}/s", human_bytes(bytes_per_s))
}

/// Entries or packets per second: `"12.50/s"`, `"1.20k/s"`.
pub fn human_count_rate(per_s: f64) -> String {
    let s = human_bytes(per_s);
    let (num, unit) = s.split_once(' ').unwrap_or((&s, "B"));
    let prefix = unit.trim_end_matches('B');
    format!("{num}{prefix}/s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeshark_examples() {
        assert_eq!(human_rate(52_000.0), "52.00 kB/s");
        assert_eq!(human_rate(991.84), "991.84 B/s");
        assert_eq!(human_bytes(0.0), "0.00 B");
        assert_eq!(human_bytes(999.999), "1.00 kB");
        assert_eq!(human_bytes(1_500_000.0), "1.50 MB");
        assert_eq!(human_bytes(f64::NAN), "0.00 B");
        assert_eq!(human_bytes(-3.0), "0.00 B");
        assert_eq!(human_bytes(1e30), "1000000000000.00 EB");
        assert_eq!(human_count_rate(12.5), "12.50/s");
        assert_eq!(human_count_rate(1200.0), "1.20k/s");
    }
}
