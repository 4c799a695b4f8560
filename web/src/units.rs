//! Human units for edge labels and the table: "52.00 kB/s", "991.84 B/s".

const STEPS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];

/// Bytes in decimal units with two decimals ("1.10 kB").
pub fn human_bytes(bytes: f64) -> String {
    scaled(bytes, &STEPS)
}

/// A byte rate ("52.00 kB/s").
pub fn human_rate(bytes_per_s: f64) -> String {
    format!("{}/s", human_bytes(bytes_per_s))
}

/// A count with a unit ("12.50 req/s" is `human_count(12.5, "req/s")`);
/// large counts use k, M, G.
pub fn human_count(n: f64, unit: &str) -> String {
    const COUNT: [&str; 4] = ["", "k", "M", "G"];
    let s = scaled(n, &COUNT);
    format!("{s}{unit}")
}

fn scaled(v: f64, steps: &[&str]) -> String {
    let mut v = if v.is_finite() { v.max(0.0) } else { 0.0 };
    let mut i = 0;
    while v >= 1000.0 && i + 1 < steps.len() {
        v /= 1000.0;
        i += 1;
    }
    let unit = steps.get(i).copied().unwrap_or("");
    if unit.is_empty() {
        format!("{v:.2} ")
    } else {
        format!("{v:.2} {unit}")
    }
}

use crate::view_state::{MapType, Metric};

/// The text of an edge label for `value` (a rate, or a total when
/// `cumulative`).
pub fn metric_label(value: f64, metric: Metric, map: MapType, cumulative: bool) -> String {
    match (metric, cumulative) {
        (Metric::Bandwidth, false) => human_rate(value),
        (Metric::Bandwidth, true) => human_bytes(value),
        (Metric::Throughput, c) => {
            let unit = match (map, c) {
                (MapType::L7, false) => "req/s",
                (MapType::L7, true) => "req",
                (MapType::L4, false) => "pkt/s",
                (MapType::L4, true) => "pkt",
            };
            human_count(value, unit)
        }
    }
}
