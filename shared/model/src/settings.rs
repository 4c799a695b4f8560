//! What the settings dialog controls: grouping, metric, rate or cumulative,
//! which sizes count, external collapsing and the legend's hidden items.

use crate::grouping::Grouping;
use crate::legend::LegendFilter;
use crate::units::{human_bytes, human_count_rate, human_rate};

/// Default sliding window for rates: 10 s.
pub const DEFAULT_WINDOW_US: i64 = 10_000_000;

/// What an edge's displayed value measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Metric {
    /// Bytes (cumulative) or bytes/s (rate).
    #[default]
    Bandwidth,
    /// Entries (L7) or packets (L4), total or per second.
    Throughput,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Bandwidth => "bandwidth",
            Metric::Throughput => "throughput",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        [Metric::Bandwidth, Metric::Throughput]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

/// Everything that changes how the map is computed from the same data.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewSettings {
    pub grouping: Grouping,
    pub metric: Metric,
    /// true: totals over everything held; false: rates over `window_us`.
    pub cumulative: bool,
    /// Count request bytes (L7 request sizes; L4 client → server bytes).
    pub include_request: bool,
    /// Count response bytes (L7 response sizes; L4 server → client bytes).
    pub include_response: bool,
    /// Sliding window for L7 rates, µs (clamped to at least 1 ms).
    pub window_us: i64,
    /// Show every unresolved external peer as one "external" node.
    pub collapse_external: bool,
    /// Legend: hidden namespaces, nodes and protocols.
    pub hidden: LegendFilter,
}

impl Default for ViewSettings {
    fn default() -> Self {
        ViewSettings {
            grouping: Grouping::default(),
            metric: Metric::default(),
            cumulative: false,
            include_request: true,
            include_response: true,
            window_us: DEFAULT_WINDOW_US,
            collapse_external: false,
            hidden: LegendFilter::default(),
        }
    }
}

impl ViewSettings {
    /// The window in seconds, never below 1 ms.
    pub fn window_s(&self) -> f64 {
        self.window_us.max(1000) as f64 / 1e6
    }

    /// An edge's or node's displayed value as text: "52.00 kB/s",
    /// "1.20 MB", "12.50/s" or "340".
    pub fn format_value(&self, value: f64) -> String {
        match (self.metric, self.cumulative) {
            (Metric::Bandwidth, false) => human_rate(value),
            (Metric::Bandwidth, true) => human_bytes(value),
            (Metric::Throughput, false) => human_count_rate(value),
            (Metric::Throughput, true) => format!("{}", value.max(0.0).round()),
        }
    }

    /// Bytes that count for an edge under the include settings.
    #[inline]
    pub fn counted_bytes(&self, request: u64, response: u64) -> u64 {
        let mut b = 0u64;
        if self.include_request {
            b = b.saturating_add(request);
        }
        if self.include_response {
            b = b.saturating_add(response);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_format_per_metric() {
        let mut s = ViewSettings::default();
        assert_eq!(s.format_value(52_000.0), "52.00 kB/s");
        s.cumulative = true;
        assert_eq!(s.format_value(1_200_000.0), "1.20 MB");
        s.metric = Metric::Throughput;
        assert_eq!(s.format_value(340.0), "340");
        s.cumulative = false;
        assert_eq!(s.format_value(12.5), "12.50/s");
        assert_eq!(Metric::from_name("throughput"), Some(Metric::Throughput));
        assert_eq!(
            crate::Grouping::from_name("workload"),
            Some(crate::Grouping::Workload)
        );
    }
}
