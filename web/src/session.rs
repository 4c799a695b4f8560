//! Everything one tab knows, without the DOM: the received data (the
//! model's store and L4 state), the chosen view, the map the model computed
//! from them, its layout, the camera, pause and the connection state. The
//! shell feeds it bytes and clock readings and reads plain snapshots
//! (status, table, legend) back.

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;

use wiremap_model::{
    human_bytes, L4Aggregation, L7Aggregation, Layout, LinkBuild, MapGraph, MapNode, StoredBlock,
};

use crate::camera::Camera;
use crate::feed::Feed;
use crate::geometry::{bounds, radii, Point};
use crate::view_state::{MapType, ViewState};
use wiremap_wire::{Frame, FrameDecoder};

/// Rows in the table view; beyond it the table says how many are left out.
pub const TABLE_MAX_ROWS: usize = 5_000;
/// Up to this many nodes the layout's collisions use the nodes' drawn
/// radii ([`Layout::set_radii`]); above, one radius for all: at 10,000
/// nodes the drawn radii made a tick 20% slower (mean 7.0 → 8.5 ms in
/// `l4_map_10k_nodes_50k_flows`) for circles a few pixels wide at the
/// fit's zoom.
pub const DRAWN_RADII_MAX_NODES: usize = 2_000;
/// Screen pixels kept free around the map when it is fitted (room for the
/// labels of the outermost nodes).
pub const FIT_MARGIN: f64 = 70.0;
/// Seed of the layout: the same data gives the same picture in every tab.
pub const LAYOUT_SEED: u64 = 0x5eed_f3a9;
/// Stored entries an L7 map computation reads between two looks at the
/// clock when it runs in time slices (a few milliseconds of work).
pub const SLICE_ENTRIES: usize = 4_096;
/// Received bytes held back while a map computation is in progress; past
/// this they are taken in at once, in order (and the computation starts
/// over).
pub const HOLD_CAP_BYTES: usize = 32 << 20;
/// A received frame this big (a large L4 snapshot: 10,000 identities are
/// about 700 kB) is decoded in pieces of [`DECODE_STEP_ITEMS`] items, a
/// piece at a time between looks at the clock, and taken in by a piece of
/// its own, never in the WebSocket's message handler: decoding and
/// interning the first 10,000-identity snapshot of a tab took 14–26 ms in
/// Chromium here, its decoding alone up to 21 ms in one piece.
pub const SLICE_FRAME_BYTES: usize = 256 << 10;
/// Items (identities, counters, entries) of a big frame decoded between
/// two looks at the clock (about a millisecond of work for identities in
/// a tab's first run of the decoder; less later).
pub const DECODE_STEP_ITEMS: usize = 1_024;

/// Layout links ([`LinkBuild`]) a time slice builds between two looks at
/// the clock (a few milliseconds of work).
pub const SLICE_LINKS: usize = 32_768;
/// Edges of a replaced map dropped per time slice (each edge owns a
/// string: dropping 300,000 took about 20 ms at once).
pub const SLICE_DROPS: usize = 32_768;
/// A map with at most this many nodes and [`SLICE_LINKS`] edges is shown
/// in the slice that finished it even when the layout has nodes to place
/// (the sync of the 10k-edge bench map, 2,000 nodes, took 1.2–1.4 ms in
/// Chromium here); a bigger one's sync (placing nodes next to their
/// neighbours walks the links) starts a slice of its own.
pub const SYNC_AT_ONCE_NODES: usize = 4_096;

/// A map being computed in time slices, for this (data, view).
#[derive(Debug)]
struct MapJob {
    stage: Stage,
    key: ((u64, u64), ViewState),
}

/// A map computation of either kind.
#[derive(Debug)]
enum Run {
    L7(Box<L7Aggregation>),
    L4(Box<L4Aggregation>),
}

/// Where a map computation stands.
#[derive(Debug)]
enum Stage {
    /// Reading the entries (L7) or counters (L4) and building the map.
    Aggregate(Run),
    /// The map is computed; its links for the layout are being built.
    Link(MapGraph, LinkBuild),
    /// Both are ready to be shown (a big map's layout sync with new nodes
    /// in a slice of its own, see [`SYNC_AT_ONCE_NODES`]).
    Ready(MapGraph, LinkBuild),
}

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
    pub stored: usize,
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
    /// Entries the display filter accepted in the last computation.
    pub matched: u64,
    pub retry_in_ms: Option<u32>,
    /// Map computations so far (tests wait for a new one after a change).
    pub computed: u64,
}

/// One node row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    pub key: String,
    pub label: String,
    pub kind: String,
    pub namespace: String,
    pub node: String,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub rate_in: f64,
    pub rate_out: f64,
    pub entries: u64,
    pub errors: u64,
}

impl NodeRow {
    pub fn of(n: &MapNode) -> NodeRow {
        NodeRow {
            key: n.key.clone(),
            label: n.label.clone(),
            kind: n.kind.name().to_string(),
            namespace: n.namespace.clone(),
            node: n.node_name.clone(),
            bytes_in: n.in_bytes,
            bytes_out: n.out_bytes,
            rate_in: n.in_rate,
            rate_out: n.out_rate,
            entries: n.entries,
            errors: n.errors,
        }
    }
}

/// One edge row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRow {
    pub key: String,
    pub src: String,
    pub dst: String,
    /// The KFL2 protocol name ("HTTP"); "TCP" or "UDP" on the L4 map ("L4"
    /// for other IP protocols).
    pub protocol: String,
    /// Bytes counted under the size toggles (window, or all when cumulative).
    pub bytes: u64,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub entries: u64,
    pub errors: u64,
    /// What the edge shows per the settings (its width and label).
    pub value: f64,
    /// The label drawn on the map ("52.00 kB/s").
    pub shown: String,
    pub bytes_text: String,
    /// Latency p50 / p95 / p99, µs (L7 entries with a response).
    pub latency_us: Option<(u64, u64, u64)>,
}

/// The table view of the graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableView {
    pub nodes: Vec<NodeRow>,
    pub edges: Vec<EdgeRow>,
    pub left_out: usize,
}

/// One legend line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegendLine {
    pub name: String,
    pub hidden: bool,
}

/// Legend items present in the data (after the filter, before hiding).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegendView {
    pub namespaces: Vec<LegendLine>,
    pub nodes: Vec<LegendLine>,
    pub protocols: Vec<(wiremap_wire::Protocol, LegendLine)>,
}

/// What a pointer drag is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum Drag {
    None,
    Pan { last: Point },
    Node { key: String },
}

/// One tab's state.
#[derive(Debug)]
pub struct Session {
    pub feed: Feed,
    pub view: ViewState,
    pub graph: MapGraph,
    pub layout: Layout,
    pub camera: Camera,
    pub paused: bool,
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
    /// Key of the selected node.
    pub selected: Option<String>,
    /// Something visible changed since the last paint.
    pub dirty: bool,
    filter: Option<wiremap_kfl::Filter>,
    first_view: bool,
    /// (data revision, view) of the last computation, to skip idle ones.
    computed_for: Option<((u64, u64), ViewState)>,
    computed: u64,
    entry_rate: (f64, u64),
    entries_per_s: f64,
    /// Compute maps in time slices ([`Session::work`]) instead of at once.
    sliced: bool,
    job: Option<MapJob>,
    /// Replaced maps, dropped a piece per time slice.
    retired: Vec<MapGraph>,
    /// Frames received during a sliced computation (or big ones, or any
    /// behind them), taken in by the next slices, in order; the first of
    /// them maybe being decoded, or decoded already.
    held: VecDeque<Vec<u8>>,
    held_bytes: usize,
    decoding: Option<FrameDecoder>,
    decoded: Option<Frame>,
    /// Whose animation frame this is while a refresh and the layout
    /// alternate ([`Session::frame_plan`]).
    tick_turn: bool,
}

/// What an animation frame runs besides painting ([`Session::frame_plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePlan {
    /// A slice of the map computation (or of taking in held frames).
    pub work: bool,
    /// Layout ticks.
    pub ticks: bool,
}

impl Session {
    pub fn new(view: ViewState, relay_url: String) -> Self {
        Self::with_feed(Feed::new(), view, relay_url)
    }

    pub fn with_feed(feed: Feed, view: ViewState, relay_url: String) -> Self {
        Session {
            feed,
            view,
            graph: MapGraph::default(),
            layout: Layout::new(LAYOUT_SEED),
            camera: Camera::default(),
            paused: false,
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
            filter: None,
            first_view: true,
            computed_for: None,
            computed: 0,
            entry_rate: (f64::NAN, 0),
            entries_per_s: 0.0,
            sliced: false,
            job: None,
            retired: Vec::new(),
            held: VecDeque::new(),
            held_bytes: 0,
            decoding: None,
            decoded: None,
            tick_turn: false,
        }
    }

    /// In time-slicing mode (the app's), a new L7 map is computed by
    /// [`Session::work`] a slice at a time, and frames received meanwhile
    /// are held back until it is done (the store stays as the computation
    /// started with). Off (the default), every change computes the map at
    /// once.
    pub fn set_time_slicing(&mut self, on: bool, wall_us: i64) {
        self.sliced = on;
        if !on {
            self.finish_work(wall_us);
        }
    }

    /// Takes in one received frame at `wall_us`, or holds it back for
    /// [`Session::work`] while a map computation is in progress (up to
    /// [`HOLD_CAP_BYTES`]), and in time-slicing mode when it is big
    /// ([`SLICE_FRAME_BYTES`]) or frames are held already (order is kept).
    pub fn receive(&mut self, bytes: Vec<u8>, wall_us: i64) {
        let waits = self.job.is_some()
            || (self.sliced
                && (bytes.len() >= SLICE_FRAME_BYTES
                    || !self.held.is_empty()
                    || self.decoding.is_some()
                    || self.decoded.is_some()));
        if waits && self.held_bytes + bytes.len() > HOLD_CAP_BYTES {
            // No frame is taken in before those held (a hidden tab gets no
            // animation frames to take them in by slices).
            self.take_in_held(wall_us, (true, true), &mut || false);
        }
        if waits && self.held_bytes + bytes.len() <= HOLD_CAP_BYTES {
            self.held_bytes += bytes.len();
            self.held.push_back(bytes);
        } else {
            self.feed.ingest_bytes(&bytes, wall_us);
        }
    }

    /// Frames held back, not taken in yet.
    pub fn held_frames(&self) -> usize {
        self.held.len() + usize::from(self.decoding.is_some()) + usize::from(self.decoded.is_some())
    }

    /// A map computation is in progress.
    pub fn computing(&self) -> bool {
        self.job.is_some()
    }

    /// The computation in progress is for a new view (a filter, grouping
    /// or setting the user just changed), not a refresh of the map shown
    /// with new data: someone is waiting for it.
    pub fn view_change_pending(&self) -> bool {
        self.job.as_ref().is_some_and(|job| {
            self.computed_for
                .as_ref()
                .is_none_or(|(_, shown)| *shown != job.key.1)
        })
    }

    /// What this animation frame runs: a view the user just changed gets
    /// all of it (no layout ticks); a refresh being computed while the
    /// layout runs takes turns with it, a frame each (a slice of one and a
    /// tick of the other could each take most of a frame at 10,000 nodes);
    /// otherwise both.
    pub fn frame_plan(&mut self) -> FramePlan {
        if self.view_change_pending() {
            return FramePlan {
                work: true,
                ticks: false,
            };
        }
        if self.computing() && self.layout.is_running() {
            self.tick_turn = !self.tick_turn;
            return FramePlan {
                work: !self.tick_turn,
                ticks: self.tick_turn,
            };
        }
        FramePlan {
            work: true,
            ticks: true,
        }
    }

    /// Advances a map computation in progress, a slice at a time
    /// ([`SLICE_ENTRIES`] entries, then the map's edges and its layout
    /// links a piece at a time), until it is done or `out_of_time` says to
    /// stop (asked after every slice; at least one slice runs). True when
    /// a new map was installed. A replaced map is dropped a piece per call
    /// too; with no computation in progress, held frames are taken in (in
    /// the time left after a map is installed, else at least one).
    pub fn work(&mut self, wall_us: i64, out_of_time: &mut dyn FnMut() -> bool) -> bool {
        self.drop_retired(SLICE_DROPS);
        let Some(mut job) = self.job.take() else {
            self.take_in_held(wall_us, (true, false), out_of_time);
            return false;
        };
        let errors = self.filter_eval_errors.clone();
        loop {
            let done = match &mut job.stage {
                Stage::Aggregate(run) => {
                    let graph = match (run, &self.filter) {
                        (Run::L4(run), _) => run.advance(&self.feed.l4, SLICE_ENTRIES),
                        (Run::L7(run), Some(f)) => {
                            // Blocks of 64 entries per call: the filter's
                            // first tests run over the block without a
                            // branch each, and an entry's peers are looked
                            // up only by a test that reads them.
                            let pred = |block: &StoredBlock| {
                                let (pass, failed) = f.matches_block(block);
                                errors.set(errors.get() + u64::from(failed.count_ones()));
                                pass
                            };
                            run.advance(&self.feed.l7, &pred, SLICE_ENTRIES)
                        }
                        (Run::L7(run), None) => {
                            run.advance(&self.feed.l7, &|_| u64::MAX, SLICE_ENTRIES)
                        }
                    };
                    if let Some(graph) = graph {
                        let links = LinkBuild::for_layout(&graph, &self.layout);
                        job.stage = Stage::Link(graph, links);
                    }
                    false
                }
                Stage::Link(graph, links) => {
                    if links.step(graph, SLICE_LINKS) {
                        let (graph, links) = (std::mem::take(graph), std::mem::take(links));
                        let long_sync = links.changes_nodes()
                            && (graph.nodes.len() > SYNC_AT_ONCE_NODES
                                || graph.edges.len() > SLICE_LINKS);
                        job.stage = Stage::Ready(graph, links);
                        // The layout's sync with thousands of new nodes
                        // takes several ms: it starts a slice of its own.
                        // With the same nodes it only swaps the links, and
                        // a small map's is short: shown in this slice.
                        if long_sync {
                            self.job = Some(job);
                            return false;
                        }
                    }
                    false
                }
                Stage::Ready(..) => true,
            };
            if done {
                break;
            }
            if out_of_time() {
                self.job = Some(job);
                return false;
            }
        }
        if let Stage::Ready(graph, links) = job.stage {
            self.install(graph, links, job.key);
        }
        self.take_in_held(wall_us, (false, false), out_of_time);
        true
    }

    /// Drops up to `max_edges` edges of replaced maps.
    fn drop_retired(&mut self, max_edges: usize) {
        let mut left = max_edges;
        while let Some(old) = self.retired.last_mut() {
            let n = old.edges.len().min(left);
            old.edges.truncate(old.edges.len() - n);
            left -= n;
            if !old.edges.is_empty() {
                return;
            }
            self.retired.pop();
            if left == 0 {
                return;
            }
        }
    }

    /// Runs a map computation in progress to its end (`wall_us`: when, for
    /// the frames held back meanwhile).
    pub fn finish_work(&mut self, wall_us: i64) -> bool {
        let mut installed = false;
        while self.job.is_some() || self.held_frames() > 0 {
            installed |= self.work(wall_us, &mut || false);
        }
        self.drop_retired(usize::MAX);
        installed
    }

    /// Replaced maps still to be dropped by [`Session::work`].
    pub fn retired_maps(&self) -> usize {
        self.retired.len()
    }

    /// Takes in held frames in order until `out_of_time` (asked after each
    /// piece, and before the first unless `first_free`): a small frame is a
    /// piece; a big one is decoded [`DECODE_STEP_ITEMS`] items a piece,
    /// then applied as the first piece of a call (taking in a tab's first
    /// 10,000 identities took up to 14 ms; after decoding pieces it ran a
    /// call to 20 ms). `drain`: everything now, in order.
    fn take_in_held(
        &mut self,
        wall_us: i64,
        (first_free, drain): (bool, bool),
        out_of_time: &mut dyn FnMut() -> bool,
    ) {
        if !first_free && out_of_time() {
            return;
        }
        let mut first = first_free;
        loop {
            if self.decoded.is_some() && !(first || drain) {
                return;
            }
            if let Some(frame) = self.decoded.take() {
                self.feed.apply(frame, wall_us);
            } else if let Some(d) = self.decoding.as_mut() {
                if let Some(result) = d.step(DECODE_STEP_ITEMS) {
                    let len = d.len();
                    self.decoding = None;
                    self.decoded = self.feed.count_decoded(len, result);
                }
            } else if let Some(bytes) = self.held.pop_front() {
                self.held_bytes -= bytes.len();
                if bytes.len() >= SLICE_FRAME_BYTES {
                    // Its first piece is decoded now.
                    self.decoding = Some(FrameDecoder::new(bytes));
                    continue;
                } else {
                    self.feed.ingest_bytes(&bytes, wall_us);
                }
            } else {
                return;
            }
            first = false;
            if out_of_time() {
                return;
            }
        }
    }

    /// Shows `graph`, whose layout links are (being) built in `links`; the
    /// map it replaces is dropped now, or a piece per time slice.
    fn install(&mut self, graph: MapGraph, links: LinkBuild, key: ((u64, u64), ViewState)) {
        self.layout.sync_with(&graph, links);
        if graph.nodes.len() <= DRAWN_RADII_MAX_NODES {
            self.layout.set_radii(&radii(&graph));
        }
        let old = std::mem::replace(&mut self.graph, graph);
        if self.sliced {
            self.retired.push(old);
        }
        self.computed_for = Some(key);
        self.computed += 1;
        self.dirty = true;
    }

    /// Takes a new view at wall time `wall_us`; a new map type or grouping
    /// starts a fresh layout (pins are kept by key).
    pub fn set_view(&mut self, v: ViewState, wall_us: i64) {
        if v.map != self.view.map || v.settings.grouping != self.view.settings.grouping {
            self.layout = Layout::new(LAYOUT_SEED);
            self.auto_fit = true;
        }
        if v.pins != self.layout.pins() {
            let _ = self.layout.restore_pins(&v.pins);
        }
        let refilter = v.filter != self.view.filter || self.first_view;
        self.first_view = false;
        self.view = v;
        if refilter {
            self.compile_filter(wall_us);
        }
        self.recompute(wall_us);
    }

    /// Periodic update at `now_ms` (monotonic) and `wall_us`: the entry
    /// rate, and the map unless paused.
    pub fn tick(&mut self, now_ms: f64, wall_us: i64) {
        let total = self.feed.counters().entries_received;
        let (t0, n0) = self.entry_rate;
        if t0.is_finite() && now_ms > t0 {
            let inst = (total.saturating_sub(n0)) as f64 / ((now_ms - t0) / 1000.0);
            self.entries_per_s = 0.5 * self.entries_per_s + 0.5 * inst;
        }
        self.entry_rate = (now_ms, total);
        if !self.paused {
            self.recompute(wall_us);
        }
    }

    /// Compiles the view's display filter (KFL2 `now()` is `wall_us`).
    fn compile_filter(&mut self, wall_us: i64) {
        let src = self.view.filter.trim();
        self.filter = None;
        self.filter_error = None;
        if src.is_empty() {
            return;
        }
        match wiremap_kfl::Filter::compile(src, wall_us) {
            Ok(f) => self.filter = Some(f),
            Err(e) => self.filter_error = Some(e.to_string()),
        }
    }

    /// Recomputes the map from the data with the model, unless neither the
    /// data nor the view changed and the map does not depend on time. In
    /// time-slicing mode an L7 map is started here and computed by
    /// [`Session::work`]; a computation already in progress for the same
    /// view goes on (a change of view starts over).
    pub fn recompute(&mut self, wall_us: i64) {
        let rev = self.feed.revision();
        let time_dependent = self.view.map == MapType::L7 && !self.view.settings.cumulative;
        if let Some(job) = &self.job {
            if job.key.1 == self.view {
                return;
            }
        }
        if !time_dependent
            && self
                .computed_for
                .as_ref()
                .is_some_and(|(r, v)| *r == rev && *v == self.view)
        {
            return;
        }
        let run = match self.view.map {
            MapType::L7 => {
                let now = self.feed.clock.now(wall_us);
                Run::L7(Box::new(L7Aggregation::new(
                    &self.feed.l7,
                    &self.view.settings,
                    now,
                )))
            }
            MapType::L4 => Run::L4(Box::new(L4Aggregation::new(
                &self.feed.l4,
                &self.view.settings,
            ))),
        };
        self.job = Some(MapJob {
            stage: Stage::Aggregate(run),
            key: (rev, self.view.clone()),
        });
        if !self.sliced {
            self.finish_work(wall_us);
        }
    }

    /// Changes whenever the map is recomputed (a new graph to paint).
    pub fn graph_revision(&self) -> u64 {
        self.computed
    }

    /// Advances the layout by at most `ticks` ticks; true while it moves.
    pub fn step_layout(&mut self, ticks: usize) -> bool {
        self.layout.step(ticks)
    }

    /// Node positions aligned with `graph.nodes`.
    pub fn positions(&self) -> Vec<Point> {
        self.layout
            .positions_for(&self.graph)
            .into_iter()
            .map(Point::from)
            .collect()
    }

    /// Fits the camera to the graph in a `w` × `h` viewport.
    pub fn fit(&mut self, w: f64, h: f64) {
        self.fit_beside(w, h, None);
    }

    /// [`Session::fit`] with a panel over part of the canvas (`cover`,
    /// screen px: the legend): the map goes beside it
    /// ([`crate::camera::Camera::fit_beside`]).
    pub fn fit_beside(&mut self, w: f64, h: f64, cover: Option<(Point, Point)>) {
        if let Some(bbox) = bounds(&self.positions()) {
            self.camera.fit_beside(bbox, w, h, cover, FIT_MARGIN);
        }
    }

    /// Unpins every node and lets the layout move again.
    pub fn unpin_all(&mut self) {
        let _ = self.layout.restore_pins(&[]);
        self.view.pins.clear();
        self.layout.reheat(0.3);
    }

    pub fn status(&self) -> StatusView {
        let c = self.feed.counters();
        StatusView {
            state: self.conn,
            relay_url: self.relay_url.clone(),
            probes: self.feed.probes().iter().cloned().collect(),
            entries: c.entries_received,
            entries_per_s: self.entries_per_s,
            stored: self.feed.l7.len(),
            dropped_batches: c.relay_dropped_batches,
            dropped_bytes: c.relay_dropped_bytes,
            decode_errors: c.decode_errors,
            overflow: self.feed.overflow(),
            last_error: self.feed.last_error().map(str::to_string),
            nodes: self.graph.nodes.len(),
            edges: self.graph.edges.len(),
            paused: self.paused,
            filter_error: self.filter_error.clone(),
            filter_eval_errors: self.filter_eval_errors.get(),
            matched: self.graph.matched,
            retry_in_ms: self.retry_in_ms,
            computed: self.computed,
        }
    }

    pub fn table(&self) -> TableView {
        let g = &self.graph;
        let name = |i: usize| g.nodes.get(i).map(|n| n.label.clone()).unwrap_or_default();
        let nodes: Vec<NodeRow> = g
            .nodes
            .iter()
            .take(TABLE_MAX_ROWS)
            .map(NodeRow::of)
            .collect();
        let edges: Vec<EdgeRow> = g
            .edges
            .iter()
            .take(TABLE_MAX_ROWS)
            .map(|e| EdgeRow {
                key: e.key.clone(),
                src: name(e.source),
                dst: name(e.target),
                protocol: e.protocol.map_or("L4".to_string(), |p| match p.name() {
                    "unknown" => p.0.to_string(),
                    n => n.to_string(),
                }),
                bytes: e.bytes,
                request_bytes: e.request_bytes,
                response_bytes: e.response_bytes,
                entries: e.entries,
                errors: e.errors,
                value: e.value,
                shown: self.view.settings.format_value(e.value),
                bytes_text: human_bytes(e.bytes as f64),
                latency_us: e.latency.map(|l| (l.p50_us, l.p95_us, l.p99_us)),
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
        let l = self.graph.legend();
        let line = |i: &wiremap_model::LegendItem| LegendLine {
            name: i.name.clone(),
            hidden: i.hidden,
        };
        LegendView {
            namespaces: l.namespaces.iter().map(line).collect(),
            nodes: l.nodes.iter().map(line).collect(),
            protocols: l.protocols.iter().map(|(p, i)| (*p, line(i))).collect(),
        }
    }
}
