//! Deterministic benchmark graphs (uniform random and preferential
//! attachment), their shared initial positions, and their JSON form — the
//! one input every engine reads.

use wiremap_model::{MapEdge, MapGraph, MapNode, NodeKind};

/// splitmix64: small, fast, and the same on every platform.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A simple undirected graph (no self-loops, no duplicate edges) with
/// initial positions.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchGraph {
    /// e.g. `random-2k`.
    pub name: String,
    pub nodes: usize,
    pub edges: Vec<(u32, u32)>,
    /// Initial position of every node.
    pub xy: Vec<(f64, f64)>,
}

/// Radius of the disc the initial positions fill, in link lengths: the
/// spread of d3-force's own initial phyllotaxis (radius `10·√n` px with
/// 30 px links). Every engine multiplies the positions by its own natural
/// link length (a uniform scale: the same picture, and the quality figure
/// is scale-free), so none starts far too spread out or too packed for its
/// step-size limits.
fn spread(n: usize) -> f64 {
    (n as f64).sqrt() / 3.0
}

fn initial_positions(n: usize, rng: &mut Rng) -> Vec<(f64, f64)> {
    let r = spread(n);
    (0..n)
        .map(|_| {
            let (a, d) = (rng.unit() * std::f64::consts::TAU, r * rng.unit().sqrt());
            (d * a.cos(), d * a.sin())
        })
        .collect()
}

fn key(a: usize, b: usize) -> (u32, u32) {
    (a.min(b) as u32, a.max(b) as u32)
}

/// `m` distinct edges between uniformly chosen distinct nodes (`G(n, m)`).
/// `m` must be below `n(n-1)/2`.
pub fn random(name: &str, n: usize, m: usize, seed: u64) -> BenchGraph {
    let mut rng = Rng(seed);
    let mut seen = std::collections::HashSet::with_capacity(m);
    let mut edges = Vec::with_capacity(m);
    while edges.len() < m {
        let (a, b) = (rng.below(n), rng.below(n));
        if a != b && seen.insert(key(a, b)) {
            edges.push((a as u32, b as u32));
        }
    }
    let xy = initial_positions(n, &mut rng);
    BenchGraph {
        name: name.to_string(),
        nodes: n,
        edges,
        xy,
    }
}

/// Barabási–Albert preferential attachment with exactly `m` edges: node
/// `v` links to `min(v, m/n)` distinct earlier nodes picked with
/// probability proportional to degree; the last `m - Σ` nodes take one
/// link more so the count is exact.
pub fn preferential(name: &str, n: usize, m: usize, seed: u64) -> BenchGraph {
    let mut rng = Rng(seed);
    let per = (m / n).max(1);
    let base: usize = (1..n).map(|v| v.min(per)).sum();
    let extra = m.saturating_sub(base);
    let mut ends: Vec<u32> = vec![0];
    let mut edges = Vec::with_capacity(m);
    let mut picked: Vec<u32> = Vec::with_capacity(per + 1);
    for v in 1..n {
        let want = (v.min(per) + usize::from(v >= n - extra.min(n - 1))).min(v);
        picked.clear();
        while picked.len() < want {
            let u = ends[rng.below(ends.len())];
            if !picked.contains(&u) {
                picked.push(u);
            }
        }
        for &u in &picked {
            edges.push((v as u32, u));
            ends.push(u);
            ends.push(v as u32);
        }
    }
    let xy = initial_positions(n, &mut rng);
    BenchGraph {
        name: name.to_string(),
        nodes: n,
        edges,
        xy,
    }
}

/// The four graphs of the comparison (`small_only`: the 2k/10k pair).
pub fn suite(small_only: bool) -> Vec<BenchGraph> {
    let mut v = vec![
        random("random-2k", 2_000, 10_000, 7),
        preferential("pa-2k", 2_000, 10_000, 7),
    ];
    if !small_only {
        v.push(random("random-10k", 10_000, 50_000, 7));
        v.push(preferential("pa-10k", 10_000, 50_000, 7));
    }
    v
}

impl BenchGraph {
    /// `{"name":…,"nodes":n,"edges":[s0,t0,s1,t1,…],"xy":[x0,y0,…]}`.
    /// Positions are written with `{:?}` (shortest round-trip form), so
    /// every engine reads bit-identical numbers.
    pub fn to_json(&self) -> String {
        use std::fmt::Write;
        let mut s = String::with_capacity(32 * (self.edges.len() + self.nodes));
        let _ = write!(
            s,
            "{{\"name\":\"{}\",\"nodes\":{},\"edges\":[",
            self.name, self.nodes
        );
        for (i, &(a, b)) in self.edges.iter().enumerate() {
            let _ = write!(s, "{}{a},{b}", if i == 0 { "" } else { "," });
        }
        s.push_str("],\"xy\":[");
        for (i, &(x, y)) in self.xy.iter().enumerate() {
            let _ = write!(s, "{}{x:?},{y:?}", if i == 0 { "" } else { "," });
        }
        s.push_str("]}");
        s
    }

    /// The graph as the model's `MapGraph` (keys `n0…`, no namespaces, so
    /// no namespace attraction: a plain force layout like the peers').
    pub fn to_map_graph(&self) -> MapGraph {
        to_map_graph(self.nodes, &self.edges)
    }
}

/// `MapGraph` with `n` namespace-less nodes and the given edges.
pub fn to_map_graph(n: usize, edges: &[(u32, u32)]) -> MapGraph {
    let nodes = (0..n)
        .map(|i| {
            MapNode::new(format!("n{i}"), String::new(), NodeKind::Pod).in_namespace(String::new())
        })
        .collect();
    let edges = edges
        .iter()
        .map(|&(s, t)| MapEdge::new(String::new(), s as usize, t as usize))
        .collect();
    MapGraph {
        nodes,
        edges,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphs_have_exact_sizes_and_are_simple() {
        for g in [random("r", 500, 2_500, 1), preferential("p", 500, 2_500, 1)] {
            assert_eq!(g.edges.len(), 2_500, "{}", g.name);
            assert_eq!(g.xy.len(), 500);
            let mut set: Vec<(u32, u32)> = g
                .edges
                .iter()
                .map(|&(a, b)| key(a as usize, b as usize))
                .collect();
            set.sort_unstable();
            set.dedup();
            assert_eq!(set.len(), 2_500, "{}: duplicate edges", g.name);
            assert!(g
                .edges
                .iter()
                .all(|&(a, b)| a != b && (a as usize) < 500 && (b as usize) < 500));
        }
        assert_eq!(random("r", 300, 900, 3), random("r", 300, 900, 3));
        assert_ne!(random("r", 300, 900, 3), random("r", 300, 900, 4));
    }

    #[test]
    fn json_round_trips_through_serde() {
        let g = preferential("p", 50, 120, 9);
        let v: serde_json::Value = serde_json::from_str(&g.to_json()).expect("valid JSON");
        let xy = v["xy"].as_array().expect("xy");
        assert_eq!(xy.len(), 100);
        assert_eq!(xy[3].as_f64(), Some(g.xy[1].1));
        assert_eq!(v["edges"].as_array().map(Vec::len), Some(240));
    }
}
