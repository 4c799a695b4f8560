//! What the benchmark page calls.

use wasm_bindgen::prelude::*;
use wiremap_model::Layout;

use crate::aggregation::{batches, AggregationBench};

/// Our layout over one graph.
#[wasm_bindgen]
pub struct WasmLayout {
    layout: Layout,
}

#[wasm_bindgen]
impl WasmLayout {
    /// `edges` = `[s0, t0, s1, t1, …]`, `xy` = `[x0, y0, …]` (one pair per
    /// node). Out-of-range edges are an error, not a panic.
    #[wasm_bindgen(constructor)]
    pub fn new(nodes: usize, edges: &[u32], xy: &[f64]) -> Result<WasmLayout, JsError> {
        if !edges.len().is_multiple_of(2) || xy.len() != 2 * nodes {
            return Err(JsError::new("edges must be pairs and xy one pair per node"));
        }
        if edges.iter().any(|&e| e as usize >= nodes) {
            return Err(JsError::new("edge endpoint out of range"));
        }
        let edges: Vec<(u32, u32)> = edges.chunks_exact(2).map(|c| (c[0], c[1])).collect();
        let xy: Vec<(f64, f64)> = xy.chunks_exact(2).map(|c| (c[0], c[1])).collect();
        Ok(WasmLayout {
            layout: crate::start_layout(nodes, &edges, &xy),
        })
    }

    /// Up to `iterations` ticks; false once the simulation has stopped.
    pub fn step(&mut self, iterations: usize) -> bool {
        self.layout.step(iterations)
    }

    pub fn ticks(&self) -> f64 {
        self.layout.ticks() as f64
    }

    /// `[x0, y0, x1, y1, …]`.
    pub fn positions(&self) -> Vec<f64> {
        crate::positions(&self.layout)
            .into_iter()
            .flat_map(|(x, y)| [x, y])
            .collect()
    }
}

/// The aggregation scenario.
#[wasm_bindgen]
pub struct WasmAggregation {
    bench: AggregationBench,
}

#[wasm_bindgen]
impl WasmAggregation {
    /// Compiles the scenario's KFL2 filters; the store starts empty.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<WasmAggregation, JsError> {
        AggregationBench::new()
            .map(|bench| WasmAggregation { bench })
            .map_err(|e| JsError::new(&e))
    }

    /// Generates and ingests the 300,000 entries.
    pub fn fill(&mut self) {
        self.bench.ingest(batches());
    }

    pub fn entries(&self) -> usize {
        self.bench.len()
    }

    pub fn cases(&self) -> usize {
        self.bench.cases.len()
    }

    pub fn case_name(&self, i: usize) -> String {
        self.bench
            .cases
            .get(i)
            .map(|c| c.name.to_string())
            .unwrap_or_default()
    }

    /// Recomputes case `i`; returns the number of edges (`-1`: no such case).
    pub fn run(&self, i: usize) -> f64 {
        self.bench.run(i).map_or(-1.0, |o| o.edges as f64)
    }
}
