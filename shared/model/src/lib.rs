//! wiremap's map model: turns L7 entries and L4 snapshots into the plain
//! graph the browser draws, and lays that graph out.
//!
//! It keeps a bounded store of recent L7 entries with one interned identity
//! table ([`L7Store`]), aggregates it per (source group, destination group,
//! protocol) edge under a caller-supplied display filter, grouping, legend
//! filter and rate window ([`aggregate_l7`]), keeps per-probe cumulative L4
//! counters and derives rates and restart-proof totals ([`L4State`]), and
//! runs a stable, incremental Barnes–Hut force layout ([`Layout`]).
//!
//! It does not touch the DOM, clocks, sockets or threads, and it does not
//! know KFL2: filtering is a predicate `&dyn Fn(&EntryView) -> bool` from the
//! caller, and "now" is an argument. It compiles unchanged for
//! `wasm32-unknown-unknown`.
//!
//! Key decision: the map is recomputed from the store whenever the filter,
//! grouping or a setting changes (group keys and legend flags are computed
//! once per identity, not per entry, so a full 300 000-entry store
//! recomputes in tens of milliseconds, see `docs/bench/model.md`), while the layout
//! keeps positions by node key, so a recomputed graph keeps its shape and
//! converged nodes never move unless asked to.
//!
//! ```
//! use wiremap_model::{aggregate_l7, human_rate, L4State, L7Store, Layout, ViewSettings};
//! use wiremap_wire::{EntryView, L7Batch};
//!
//! let mut store = L7Store::new(wiremap_model::DEFAULT_STORE_CAP);
//! let batch = L7Batch { node: "n1".into(), epoch: 1, seq: 1, identities: vec![], entries: vec![] };
//! store.ingest(batch);
//! let mut settings = ViewSettings::default();
//! settings.hidden.toggle_namespace("kube-system");
//! let display_filter = |v: &EntryView| v.entry.status_code >= 400;
//! let now_us = 1_700_000_000_000_000;
//! let graph = aggregate_l7(&store, &display_filter, &settings, now_us);
//!
//! let mut layout = Layout::new(42);
//! layout.sync(&graph);
//! while layout.step(5) { /* draw a frame: layout.position(&node.key) */ }
//! for e in &graph.edges {
//!     let _label = settings.format_value(e.value);
//! }
//! assert_eq!(human_rate(52_000.0), "52.00 kB/s");
//! let l4 = L4State::new(); // l4.ingest(snapshot)?; l4.graph(&settings)
//! assert!(l4.graph(&settings).nodes.is_empty());
//! ```
#![forbid(unsafe_code)]

mod counting_sort;
mod data_clock;
mod error;
mod fx_hash;
mod graph;
mod grouping;
mod identity_table;
mod l4_state;
mod l7_map;
mod latency_sketch;
mod layout;
mod legend;
pub mod quadtree;
mod settings;
mod store;
mod units;

pub use data_clock::DataClock;
pub use error::ModelError;
pub use graph::{HiddenStats, MapEdge, MapGraph, MapNode};
pub use grouping::{Grouping, NodeKind};
pub use l4_state::{
    L4Aggregation, L4State, L4Stats, L4_COUNTER_CAP, L4_IDENTITY_CAP, L4_PROBE_CAP, L4_RETIRED_CAP,
};
pub use l7_map::{aggregate_l7, aggregate_l7_blocks, L7Aggregation, StoredBlock, FILTER_BLOCK};
pub use latency_sketch::Percentiles;
pub use layout::{Layout, LayoutConfig, LinkBuild, Pin, PIN_CAP, REMEMBERED_CAP};
pub use legend::{Legend, LegendFilter, LegendItem, Toggle, LEGEND_TOGGLE_CAP};
pub use settings::{Metric, ViewSettings, DEFAULT_WINDOW_US};
pub use store::{L7Store, StoreStats, DEFAULT_IDENTITY_CAP, DEFAULT_STORE_CAP, NODE_NAME_CAP};
pub use units::{human_bytes, human_count_rate, human_rate};
