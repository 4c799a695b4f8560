//! What the user chose to see: map type, metric, grouping, toggles, filter,
//! hidden legend items. It lives in the URL so a link or an iframe
//! reproduces the view.

use std::collections::BTreeSet;

use crate::query;

/// Which map is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapType {
    /// Cluster-wide L4 connectivity from the probes' flow tables.
    L4,
    /// Targeted workloads: dissected L7 entries.
    L7,
}

/// What edge width and labels measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Bytes (per second unless cumulative).
    Bandwidth,
    /// Entries (L7) or packets (L4) per second.
    Throughput,
}

/// What one node of the map stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grouping {
    Namespace,
    Node,
    PodService,
    Workload,
}

impl MapType {
    pub const ALL: [MapType; 2] = [MapType::L4, MapType::L7];
    pub fn code(self) -> &'static str {
        match self {
            MapType::L4 => "l4",
            MapType::L7 => "l7",
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            MapType::L4 => "Cluster-wide L4 Connectivity",
            MapType::L7 => "Targeted Workloads Only (L7)",
        }
    }
}

impl Metric {
    pub const ALL: [Metric; 2] = [Metric::Bandwidth, Metric::Throughput];
    pub fn code(self) -> &'static str {
        match self {
            Metric::Bandwidth => "bandwidth",
            Metric::Throughput => "throughput",
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            Metric::Bandwidth => "Bandwidth",
            Metric::Throughput => "Throughput",
        }
    }
}

impl Grouping {
    pub const ALL: [Grouping; 4] = [
        Grouping::Namespace,
        Grouping::Node,
        Grouping::PodService,
        Grouping::Workload,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Grouping::Namespace => "namespace",
            Grouping::Node => "node",
            Grouping::PodService => "pod",
            Grouping::Workload => "workload",
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            Grouping::Namespace => "Namespace",
            Grouping::Node => "Node",
            Grouping::PodService => "Pod / Service",
            Grouping::Workload => "Workload",
        }
    }
}

fn from_code<T: Copy>(all: &[T], code: &str, f: impl Fn(T) -> &'static str) -> Option<T> {
    all.iter().copied().find(|v| f(*v) == code)
}

/// The whole view a tab shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewState {
    pub map: MapType,
    pub metric: Metric,
    pub grouping: Grouping,
    /// Edge labels and widths show bandwidth at all.
    pub show_bandwidth: bool,
    /// Totals since the tab connected instead of rates.
    pub cumulative: bool,
    pub include_request: bool,
    pub include_response: bool,
    /// The applied KFL2 display filter (L7 only).
    pub filter: String,
    pub hidden_namespaces: BTreeSet<String>,
    pub hidden_nodes: BTreeSet<String>,
    pub hidden_protocols: BTreeSet<String>,
    /// Only the map, for iframes in portals.
    pub embed: bool,
    /// The `?relay=` override, carried along unchanged.
    pub relay: Option<String>,
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            map: MapType::L7,
            metric: Metric::Bandwidth,
            grouping: Grouping::PodService,
            show_bandwidth: true,
            cumulative: false,
            include_request: true,
            include_response: true,
            filter: String::new(),
            hidden_namespaces: BTreeSet::new(),
            hidden_nodes: BTreeSet::new(),
            hidden_protocols: BTreeSet::new(),
            embed: false,
            relay: None,
        }
    }
}

fn flag(v: &str) -> bool {
    matches!(v, "1" | "true" | "yes" | "on")
}

fn list(v: &str) -> BTreeSet<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl ViewState {
    /// The view a query string describes; unknown keys and bad values are
    /// ignored (the default stays).
    pub fn from_query(q: &str) -> ViewState {
        let mut s = ViewState::default();
        for (k, v) in query::parse(q) {
            match k.as_str() {
                "map" => s.map = from_code(&MapType::ALL, &v, MapType::code).unwrap_or(s.map),
                "metric" => {
                    s.metric = from_code(&Metric::ALL, &v, Metric::code).unwrap_or(s.metric)
                }
                "group" => {
                    s.grouping = from_code(&Grouping::ALL, &v, Grouping::code).unwrap_or(s.grouping)
                }
                "bw" => s.show_bandwidth = flag(&v),
                "cumulative" => s.cumulative = flag(&v),
                "req" => s.include_request = flag(&v),
                "resp" => s.include_response = flag(&v),
                "filter" => s.filter = v,
                "hide_ns" => s.hidden_namespaces = list(&v),
                "hide_node" => s.hidden_nodes = list(&v),
                "hide_proto" => s.hidden_protocols = list(&v),
                "embed" => s.embed = flag(&v),
                "relay" => s.relay = Some(v).filter(|r| !r.is_empty()),
                _ => {}
            }
        }
        s
    }

    /// The query string (without `?`) for this view; defaults are left out.
    pub fn to_query(&self) -> String {
        let d = ViewState::default();
        let mut p: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| p.push((k.to_string(), v));
        let b = |v: bool| if v { "1".to_string() } else { "0".to_string() };
        if self.map != d.map {
            put("map", self.map.code().into());
        }
        if self.metric != d.metric {
            put("metric", self.metric.code().into());
        }
        if self.grouping != d.grouping {
            put("group", self.grouping.code().into());
        }
        if self.show_bandwidth != d.show_bandwidth {
            put("bw", b(self.show_bandwidth));
        }
        if self.cumulative != d.cumulative {
            put("cumulative", b(self.cumulative));
        }
        if self.include_request != d.include_request {
            put("req", b(self.include_request));
        }
        if self.include_response != d.include_response {
            put("resp", b(self.include_response));
        }
        if !self.filter.is_empty() {
            put("filter", self.filter.clone());
        }
        let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
        if !self.hidden_namespaces.is_empty() {
            put("hide_ns", join(&self.hidden_namespaces));
        }
        if !self.hidden_nodes.is_empty() {
            put("hide_node", join(&self.hidden_nodes));
        }
        if !self.hidden_protocols.is_empty() {
            put("hide_proto", join(&self.hidden_protocols));
        }
        if self.embed {
            put("embed", "1".into());
        }
        if let Some(r) = &self.relay {
            put("relay", r.clone());
        }
        query::write(&p)
    }

    /// Legend "Reset": everything visible again.
    pub fn show_all(&mut self) {
        self.hidden_namespaces.clear();
        self.hidden_nodes.clear();
        self.hidden_protocols.clear();
    }
}

/// Flips membership of `item` in `set` (legend click).
pub fn toggle(set: &mut BTreeSet<String>, item: &str) {
    if !set.remove(item) {
        set.insert(item.to_string());
    }
}

/// The three kinds of legend items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegendKind {
    Namespace,
    Node,
    Protocol,
}

impl LegendKind {
    pub fn code(self) -> &'static str {
        match self {
            LegendKind::Namespace => "namespace",
            LegendKind::Node => "node",
            LegendKind::Protocol => "protocol",
        }
    }
}

impl ViewState {
    /// The hidden items of one legend kind.
    pub fn hidden(&self, k: LegendKind) -> &BTreeSet<String> {
        match k {
            LegendKind::Namespace => &self.hidden_namespaces,
            LegendKind::Node => &self.hidden_nodes,
            LegendKind::Protocol => &self.hidden_protocols,
        }
    }

    pub fn hidden_mut(&mut self, k: LegendKind) -> &mut BTreeSet<String> {
        match k {
            LegendKind::Namespace => &mut self.hidden_namespaces,
            LegendKind::Node => &mut self.hidden_nodes,
            LegendKind::Protocol => &mut self.hidden_protocols,
        }
    }
}
