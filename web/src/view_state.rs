//! What the user chose to see: map type, the model's [`ViewSettings`]
//! (grouping, metric, toggles, hidden legend items), the display filter,
//! pins. It lives in the URL so a link or an iframe reproduces the view.

use wiremap_model::{Grouping, LegendFilter, Metric, Pin, Toggle, ViewSettings, PIN_CAP};
use wiremap_wire::Protocol;

use crate::query;

/// Which map is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapType {
    /// Cluster-wide L4 connectivity from the probes' flow tables.
    L4,
    /// Targeted workloads: dissected L7 entries.
    L7,
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
    pub fn from_code(code: &str) -> Option<MapType> {
        Self::ALL.into_iter().find(|m| m.code() == code)
    }
}

/// Which renderer paints the map (`?renderer=2d`, `?renderer=gl` or
/// `?renderer=raster`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Renderer {
    /// Canvas 2D, batched.
    Canvas2d,
    /// WebGL2 with a Canvas 2D label layer; falls back to Canvas 2D.
    WebGl2,
    /// Shapes rasterised in WASM ([`crate::raster`]), put on the canvas as
    /// one image; labels with Canvas 2D.
    Raster,
}

impl Renderer {
    pub const ALL: [Renderer; 3] = [Renderer::Canvas2d, Renderer::WebGl2, Renderer::Raster];
    /// Used when the URL does not choose: the fastest of the three at
    /// 10,000 nodes and 50,000 edges in headless Chromium without a GPU
    /// (full frame, three runs on a loaded machine: raster 282–380 ms fit /
    /// 1,017–1,223 ms zoomed, Canvas 2D 813–992 / 2,577–3,893 ms, WebGL2 on
    /// SwiftShader 979–1,698 / 3,166–5,801 ms; docs/bench/web.md).
    pub const DEFAULT: Renderer = Renderer::Raster;
    pub fn code(self) -> &'static str {
        match self {
            Renderer::Canvas2d => "2d",
            Renderer::WebGl2 => "gl",
            Renderer::Raster => "raster",
        }
    }
    pub fn from_code(code: &str) -> Option<Renderer> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// Title of a metric in the settings dialog.
pub fn metric_title(m: Metric) -> &'static str {
    match m {
        Metric::Bandwidth => "Bandwidth",
        Metric::Throughput => "Throughput",
    }
}

/// Title of a grouping in the settings dialog.
pub fn grouping_title(g: Grouping) -> &'static str {
    match g {
        Grouping::Namespace => "Namespace",
        Grouping::Node => "Node",
        Grouping::PodService => "Pod / Service",
        Grouping::Workload => "Workload",
    }
}

/// The whole view a tab shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewState {
    pub map: MapType,
    /// What the model computes: grouping, metric, cumulative, sizes, hidden.
    pub settings: ViewSettings,
    /// Edge labels and widths show the metric at all.
    pub show_bandwidth: bool,
    /// The applied KFL2 display filter (L7 only).
    pub filter: String,
    /// Nodes the user dragged into place (by node key).
    pub pins: Vec<Pin>,
    /// Only the map, for iframes in portals.
    pub embed: bool,
    /// The `?relay=` override, carried along unchanged.
    pub relay: Option<String>,
    /// The `?renderer=` choice (None: [`Renderer::DEFAULT`]), read when the
    /// page starts.
    pub renderer: Option<Renderer>,
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            map: MapType::L7,
            settings: ViewSettings::default(),
            show_bandwidth: true,
            filter: String::new(),
            pins: Vec::new(),
            embed: false,
            relay: None,
            renderer: None,
        }
    }
}

fn flag(v: &str) -> bool {
    matches!(v, "1" | "true" | "yes" | "on")
}

/// Marks "every item hidden" in a legend list; the items after it are the
/// ones shown again.
const ALL_HIDDEN: &str = "*";

fn toggle_from_list<K: Ord + Clone>(v: &str, parse: impl Fn(&str) -> Option<K>) -> Toggle<K> {
    let mut items = v.split(',').map(str::trim).filter(|s| !s.is_empty());
    let mut first = items.next();
    let all = first == Some(ALL_HIDDEN);
    if all {
        first = None;
    }
    Toggle::from_parts(all, first.into_iter().chain(items).filter_map(parse))
}

fn toggle_to_list<K: Ord + Clone>(t: &Toggle<K>, show: impl Fn(&K) -> String) -> String {
    let (all, items) = t.parts();
    let mut out: Vec<String> = Vec::new();
    if all {
        out.push(ALL_HIDDEN.to_string());
    }
    out.extend(items.map(show));
    out.join(",")
}

fn protocol_from_name(s: &str) -> Option<Protocol> {
    Protocol::from_name(s).or_else(|| s.parse::<u8>().ok().map(Protocol))
}

fn protocol_name(p: &Protocol) -> String {
    match p.name() {
        "unknown" => p.0.to_string(),
        n => n.to_string(),
    }
}

/// `key@x@y|key@x@y`: keys may hold anything but the separators' last use.
fn pins_from(v: &str) -> Vec<Pin> {
    v.split('|')
        .filter_map(|p| {
            let mut it = p.rsplitn(3, '@');
            let y = it.next()?.parse::<f64>().ok()?;
            let x = it.next()?.parse::<f64>().ok()?;
            let key = it.next()?.to_string();
            (x.is_finite() && y.is_finite() && !key.is_empty()).then_some(Pin { key, x, y })
        })
        .take(PIN_CAP)
        .collect()
}

fn pins_to(pins: &[Pin]) -> String {
    pins.iter()
        .map(|p| format!("{}@{:.1}@{:.1}", p.key, p.x, p.y))
        .collect::<Vec<_>>()
        .join("|")
}

impl ViewState {
    /// The view a query string describes; unknown keys and bad values are
    /// ignored (the default stays).
    pub fn from_query(q: &str) -> ViewState {
        let mut s = ViewState::default();
        for (k, v) in query::parse(q) {
            let set = &mut s.settings;
            match k.as_str() {
                "map" => s.map = MapType::from_code(&v).unwrap_or(s.map),
                "metric" => set.metric = Metric::from_name(&v).unwrap_or(set.metric),
                "group" => set.grouping = Grouping::from_name(&v).unwrap_or(set.grouping),
                "bw" => s.show_bandwidth = flag(&v),
                "cumulative" => set.cumulative = flag(&v),
                "req" => set.include_request = flag(&v),
                "resp" => set.include_response = flag(&v),
                "external" => set.collapse_external = flag(&v),
                "filter" => s.filter = v,
                "hide_ns" => set.hidden.namespaces = toggle_from_list(&v, |x| Some(x.to_string())),
                "hide_node" => set.hidden.nodes = toggle_from_list(&v, |x| Some(x.to_string())),
                "hide_proto" => set.hidden.protocols = toggle_from_list(&v, protocol_from_name),
                "pins" => s.pins = pins_from(&v),
                "embed" => s.embed = flag(&v),
                "relay" => s.relay = Some(v).filter(|r| !r.is_empty()),
                "renderer" => s.renderer = Renderer::from_code(&v).or(s.renderer),
                _ => {}
            }
        }
        s
    }

    /// The query string (without `?`) for this view; defaults are left out.
    pub fn to_query(&self) -> String {
        let d = ViewState::default();
        let (set, ds) = (&self.settings, &d.settings);
        let mut p: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| p.push((k.to_string(), v));
        let b = |v: bool| if v { "1".to_string() } else { "0".to_string() };
        if self.map != d.map {
            put("map", self.map.code().into());
        }
        if set.metric != ds.metric {
            put("metric", set.metric.name().into());
        }
        if set.grouping != ds.grouping {
            put("group", set.grouping.name().into());
        }
        if self.show_bandwidth != d.show_bandwidth {
            put("bw", b(self.show_bandwidth));
        }
        if set.cumulative != ds.cumulative {
            put("cumulative", b(set.cumulative));
        }
        if set.include_request != ds.include_request {
            put("req", b(set.include_request));
        }
        if set.include_response != ds.include_response {
            put("resp", b(set.include_response));
        }
        if set.collapse_external != ds.collapse_external {
            put("external", b(set.collapse_external));
        }
        if !self.filter.is_empty() {
            put("filter", self.filter.clone());
        }
        let h = &set.hidden;
        if !h.namespaces.is_default() {
            put("hide_ns", toggle_to_list(&h.namespaces, String::clone));
        }
        if !h.nodes.is_default() {
            put("hide_node", toggle_to_list(&h.nodes, String::clone));
        }
        if !h.protocols.is_default() {
            put("hide_proto", toggle_to_list(&h.protocols, protocol_name));
        }
        if !self.pins.is_empty() {
            put("pins", pins_to(&self.pins));
        }
        if self.embed {
            put("embed", "1".into());
        }
        if let Some(r) = &self.relay {
            put("relay", r.clone());
        }
        if let Some(r) = self.renderer {
            put("renderer", r.code().into());
        }
        query::write(&p)
    }

    /// The renderer to use: the URL's choice or the default.
    pub fn renderer(&self) -> Renderer {
        self.renderer.unwrap_or(Renderer::DEFAULT)
    }

    /// Legend "Reset": everything visible again.
    pub fn show_all(&mut self) {
        self.settings.hidden = LegendFilter::default();
    }

    /// Legend "Hide all": every namespace, node and protocol, present or future.
    pub fn hide_all(&mut self) {
        self.settings.hidden.hide_all();
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
    /// Is the legend item hidden? Protocol items are KFL2 names or codes.
    pub fn is_hidden(&self, kind: LegendKind, item: &str) -> bool {
        let h = &self.settings.hidden;
        match kind {
            LegendKind::Namespace => h.namespaces.is_hidden(item),
            LegendKind::Node => h.nodes.is_hidden(item),
            LegendKind::Protocol => protocol_from_name(item)
                .or_else(|| item.strip_prefix("protocol ").and_then(protocol_from_name))
                .is_some_and(|p| h.protocols.is_hidden(&p)),
        }
    }

    /// Legend click: flips one item.
    pub fn toggle_hidden(&mut self, kind: LegendKind, item: &str) {
        let h = &mut self.settings.hidden;
        match kind {
            LegendKind::Namespace => h.toggle_namespace(item),
            LegendKind::Node => h.toggle_node(item),
            LegendKind::Protocol => {
                if let Some(p) = protocol_from_name(item)
                    .or_else(|| item.strip_prefix("protocol ").and_then(protocol_from_name))
                {
                    h.toggle_protocol(p);
                }
            }
        }
    }
}
