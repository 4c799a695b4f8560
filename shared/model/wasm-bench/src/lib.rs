//! Side-by-side benchmark of wiremap-model's layout and aggregation: the
//! same deterministic graphs (as JSON) and initial positions for every
//! engine — our layout natively and compiled to WASM in headless Chromium,
//! d3-force, ngraph.forcelayout and graphology's ForceAtlas2 in the same
//! Chromium, Graphviz `sfdp` natively — and one quality figure computed the
//! same way from each engine's final positions.
//!
//! This library holds what both sides share: graph generation
//! ([`graphs`]), the quality figure ([`quality`]), the aggregation scenario
//! ([`aggregation`]) and, on wasm32, the exports the page calls. The
//! native driver (`src/main.rs`) serves the page, starts Chromium and
//! prints the tables. It is not part of the product and not a member of
//! the root workspace.
#![forbid(unsafe_code)]

pub mod aggregation;
pub mod graphs;
pub mod quality;
#[cfg(target_arch = "wasm32")]
mod wasm;

use wiremap_model::Layout;

/// Seed of our layout in every run.
pub const LAYOUT_SEED: u64 = 42;

/// Our layout over `n` nodes and `edges`, started from `xy` (in link
/// lengths, scaled by our link distance): the exact setup the native and
/// the WASM runs share.
pub fn start_layout(n: usize, edges: &[(u32, u32)], xy: &[(f64, f64)]) -> Layout {
    let g = graphs::to_map_graph(n, edges);
    let mut layout = Layout::new(LAYOUT_SEED);
    let scale = layout.config().link_distance;
    layout.sync(&g);
    let start: Vec<(f64, f64)> = xy.iter().map(|&(x, y)| (x * scale, y * scale)).collect();
    layout.restart_from(&start);
    layout
}

/// Positions in node order (`n0`, `n1`, …).
pub fn positions(layout: &Layout) -> Vec<(f64, f64)> {
    layout.positions().map(|(_, x, y)| (x, y)).collect()
}
