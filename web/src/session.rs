//! Everything one tab knows, without the DOM: the store, the chosen view,
//! the graph built from them, its layout, the camera, pause and the
//! connection state. The shell feeds it bytes and clock readings and reads
//! plain snapshots (status, table, legend) back.

use std::cell::Cell;
use std::rc::Rc;

use crate::camera::Camera;
use crate::graph::{build, GraphView};
use crate::layout::{bounds, Layout, Point};
use crate::rates::RateTracker;
use crate::store::Store;
use crate::units::{human_bytes, metric_label};
use crate::view_state::ViewState;

/// Rows in the table view; beyond it the table says how many are left out.
pub const TABLE_MAX_ROWS: usize = 5_000;

/// Where the relay connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnState {
    #[default]
    Connecting,
    Connected,
    Closed,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Connected => "connected",
            ConnState::Closed => "closed",
        }
    }
}

/// What the status area shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusView {
    pub state: ConnState,
    pub relay_url: String,
    pub probes: Vec<String>,
    pub entries: u64,
    pub entries_per_s: f64,
    pub dropped_batches: u64,
    pub dropped_bytes: u64,
    pub decode_errors: u64,
    pub overflow: u64,
    pub last_error: Option<String>,
    pub nodes: usize,
    pub edges: usize,
    pub paused: bool,
    pub filter_error: Option<String>,
    pub filter_eval_errors: u64,
    pub entries_shown: u64,
    pub retry_in_ms: Option<u32>,
}

/// One node row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    pub label: String,
    pub kind: String,
    pub namespace: String,
    pub node: String,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub entries: u64,
}

/// One edge row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRow {
    pub src: String,
    pub dst: String,
    pub protocol: String,
    pub bytes: u64,
    pub entries: u64,
    pub errors: u64,
    /// The label drawn on the map ("52.00 kB/s").
    pub shown: String,
    pub bytes_text: String,
}

/// The table view of the graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableView {
    pub nodes: Vec<NodeRow>,
    pub edges: Vec<EdgeRow>,
    pub left_out: usize,
}

/// Legend items present in the data (before hiding).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegendView {
    pub namespaces: Vec<String>,
    pub nodes: Vec<String>,
    pub protocols: Vec<String>,
}

/// What a pointer drag is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum Drag {
    None,
    Pan { last: Point },
    Node { label: String },
}

/// One tab's state.
#[derive(Debug)]
pub struct Session {
    pub store: Store,
    pub view: ViewState,
    pub graph: GraphView,
    pub layout: Layout,
    pub camera: Camera,
    pub paused: bool,
    /// Wall clock (µs since the Unix epoch) for KFL2's `now()`.
    pub wall_us: i64,
    /// Why the view's filter did not compile (then nothing is filtered).
    pub filter_error: Option<String>,
    /// Entries whose filter evaluation failed (counted as no match).
    pub filter_eval_errors: Rc<Cell<u64>>,
    pub conn: ConnState,
    pub relay_url: String,
    pub retry_in_ms: Option<u32>,
    /// Fit the camera to the graph until the user moves it.
    pub auto_fit: bool,
    pub drag: Drag,
    /// Canvas size in CSS pixels, as last painted.
    pub viewport: (f64, f64),
    pub selected: Option<String>,
    /// Something visible changed since the last paint.
    pub dirty: bool,
    first_view: bool,
    rates: RateTracker,
    entry_rate: RateTracker,
    entries_per_s: f64,
}

impl Session {
    pub fn new(view: ViewState, relay_url: String) -> Self {
        Session {
            store: Store::new(),
            view,
            graph: GraphView::default(),
            layout: Layout::new(),
            camera: Camera::default(),
            paused: false,
            wall_us: 0,
            filter_error: None,
            filter_eval_errors: Rc::new(Cell::new(0)),
            conn: ConnState::Connecting,
            relay_url,
            retry_in_ms: None,
            auto_fit: true,
            drag: Drag::None,
            viewport: (800.0, 600.0),
            selected: None,
            dirty: true,
            first_view: true,
            rates: RateTracker::new(),
            entry_rate: RateTracker::new(),
            entries_per_s: 0.0,
        }
    }

    /// Takes a new view; a new map type or grouping starts a fresh layout.
    pub fn set_view(&mut self, v: ViewState, now_ms: f64) {
        if v.map != self.view.map || v.grouping != self.view.grouping {
            self.layout.clear();
            self.auto_fit = true;
        }
        let refilter = v.filter != self.view.filter || self.first_view;
        self.first_view = false;
        self.view = v;
        if refilter {
            self.apply_filter();
        }
        self.rebuild(now_ms);
    }

    /// Rebuilds the graph from the store (unless paused) and syncs the layout.
    pub fn tick(&mut self, now_ms: f64) {
        self.entries_per_s = self.entry_rate.observe(
            "entries",
            now_ms,
            self.store.counters().entries_received as f64,
        );
        if !self.paused {
            self.rebuild(now_ms);
        }
    }

    /// Compiles the view's filter and re-filters the retained entries.
    fn apply_filter(&mut self) {
        let src = self.view.filter.trim().to_string();
        if src.is_empty() {
            self.filter_error = None;
            self.store.set_filter(None);
            return;
        }
        match wiremap_kfl::Filter::compile(&src, self.wall_us) {
            Ok(f) => {
                self.filter_error = None;
                let errors = self.filter_eval_errors.clone();
                self.store.set_filter(Some(Box::new(move |v| {
                    f.matches(v).unwrap_or_else(|_| {
                        errors.set(errors.get() + 1);
                        false
                    })
                })));
            }
            Err(e) => {
                self.filter_error = Some(e.to_string());
                self.store.set_filter(None);
            }
        }
    }

    fn rebuild(&mut self, now_ms: f64) {
        self.graph = build(&self.store, &self.view, &mut self.rates, now_ms);
        self.layout.sync(&self.graph);
        self.dirty = true;
    }

    /// Advances the layout `steps` times; true when anything moved.
    pub fn step_layout(&mut self, steps: usize) -> bool {
        let mut moved = false;
        for _ in 0..steps {
            if !self.layout.is_running() {
                break;
            }
            moved |= self.layout.step(&self.graph) > 0.0;
        }
        moved
    }

    /// Fits the camera to the graph in a `w` × `h` viewport.
    pub fn fit(&mut self, w: f64, h: f64) {
        if let Some((lo, hi)) = bounds(&self.layout.positions(&self.graph)) {
            self.camera.fit(lo, hi, w, h, 70.0);
        }
    }

    pub fn status(&self) -> StatusView {
        let c = self.store.counters();
        StatusView {
            state: self.conn,
            relay_url: self.relay_url.clone(),
            probes: self.store.probes().iter().cloned().collect(),
            entries: c.entries_received,
            entries_per_s: self.entries_per_s,
            dropped_batches: c.relay_dropped_batches,
            dropped_bytes: c.relay_dropped_bytes,
            decode_errors: c.decode_errors,
            overflow: c.identity_overflow + c.pair_overflow + c.probe_overflow + c.bad_peer_index,
            last_error: self.store.last_error().map(str::to_string),
            nodes: self.graph.nodes.len(),
            edges: self.graph.edges.len(),
            paused: self.paused,
            filter_error: self.filter_error.clone(),
            filter_eval_errors: self.filter_eval_errors.get(),
            entries_shown: c.entries_shown,
            retry_in_ms: self.retry_in_ms,
        }
    }

    pub fn table(&self) -> TableView {
        let g = &self.graph;
        let name = |i: usize| g.nodes.get(i).map(|n| n.label.clone()).unwrap_or_default();
        let cumulative = self.view.cumulative;
        let nodes: Vec<NodeRow> = g
            .nodes
            .iter()
            .take(TABLE_MAX_ROWS)
            .map(|n| NodeRow {
                label: n.label.clone(),
                kind: n.kind.clone(),
                namespace: n.namespace.clone(),
                node: n.node.clone(),
                bytes_in: n.bytes_in,
                bytes_out: n.bytes_out,
                entries: n.entries,
            })
            .collect();
        let edges: Vec<EdgeRow> = g
            .edges
            .iter()
            .take(TABLE_MAX_ROWS)
            .map(|e| EdgeRow {
                src: name(e.src),
                dst: name(e.dst),
                protocol: e.protocol.name().to_string(),
                bytes: e.bytes,
                entries: e.entries,
                errors: e.errors,
                shown: metric_label(
                    e.value(cumulative),
                    self.view.metric,
                    self.view.map,
                    cumulative,
                ),
                bytes_text: human_bytes(e.bytes as f64),
            })
            .collect();
        let left_out = g.nodes.len().saturating_sub(TABLE_MAX_ROWS)
            + g.edges.len().saturating_sub(TABLE_MAX_ROWS);
        TableView {
            nodes,
            edges,
            left_out,
        }
    }

    pub fn legend(&self) -> LegendView {
        LegendView {
            namespaces: self.graph.namespaces.clone(),
            nodes: self.graph.node_names.clone(),
            protocols: self
                .graph
                .protocols
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
        }
    }
}
