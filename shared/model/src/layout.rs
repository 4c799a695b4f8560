//! Stable, incremental force-directed layout (d3-force style: links,
//! Barnes–Hut many-body repulsion, namespace attraction, weak gravity,
//! collision; alpha decays until the simulation stops).
//!
//! Stability rules:
//! * Positions are keyed by node key. A node that leaves the graph is
//!   remembered (bounded) and comes back where it was, frozen, so switching
//!   grouping back and forth restores the picture exactly.
//! * When the simulation stops, overlaps among moving nodes are resolved and
//!   every node is frozen. Nodes that arrive later start next to their
//!   placed neighbours (or their namespace, or on an outer spiral) and only
//!   they move; frozen nodes repel and hold them but never move, so an
//!   unrelated arrival leaves the rest of the picture exactly in place.
//!   [`Layout::reheat`] unfreezes everything (e.g. a "re-layout" button).
//! * Pinned nodes never move; pins are kept by key and can be saved and
//!   restored, also for nodes not (yet) in the graph.
//! * Deterministic: the same seed and the same sequence of calls give the
//!   same positions, bit for bit on one platform.
//!
//! Small graphs are spread out ([`LayoutConfig::max_spread`]): links grow
//! up to 2.5 times longer, with the repulsion scaled to match, so that a
//! dozen workloads fill the screen with room for their labels; from 200
//! nodes on nothing changes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::f64::consts::PI;

use crate::counting_sort::SortInSteps;
use crate::error::ModelError;
use crate::graph::MapGraph;
use crate::quadtree::{ForceInput, QuadTree};

/// Positions of departed nodes remembered at most (then forgotten at once).
pub const REMEMBERED_CAP: usize = 100_000;
/// Pins kept at most.
pub const PIN_CAP: usize = 10_000;
/// Overlap-resolution passes when the simulation stops.
const RESOLVE_PASSES: usize = 300;
const NO_NS: u32 = u32::MAX;
/// New nodes are placed on the spiral (not next to their placed
/// neighbours) when there are more of them than this and than placed ones.
pub const SPIRAL_PLACEMENT_MIN: usize = 64;

/// Force parameters. The defaults suit nodes drawn with radius ≈ 10 px.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutConfig {
    pub node_radius: f64,
    /// Extra gap kept between node circles.
    pub collide_padding: f64,
    pub link_distance: f64,
    /// Many-body strength (negative repels), like d3's `forceManyBody`.
    pub charge: f64,
    /// Barnes–Hut accuracy: cells with size/distance below it are merged
    /// (1.2 as ForceAtlas2; the bench shows no quality loss against 0.9).
    pub theta: f64,
    pub velocity_decay: f64,
    pub alpha_decay: f64,
    pub alpha_min: f64,
    /// Alpha given to a converged layout when nodes arrive.
    pub reheat_alpha: f64,
    /// Pull towards the centre of the node's namespace.
    pub namespace_strength: f64,
    /// Pull towards the origin (keeps components together).
    pub gravity: f64,
    pub collide_strength: f64,
    /// Small graphs are spread out: at one node, links are this many times
    /// `link_distance` (and the repulsion scaled to match); the factor
    /// falls as `sqrt(spread_nodes / n)` to 1 at [`LayoutConfig::spread_nodes`]
    /// nodes and beyond ([`Layout::spread`]). A map of a dozen workloads
    /// then fills the screen at its nodes' drawn size, with room for the
    /// labels, instead of huddling at the fit's highest zoom. 1 turns it
    /// off.
    pub max_spread: f64,
    /// From this many nodes on, the layout is not spread.
    pub spread_nodes: usize,
}

impl Default for LayoutConfig {
    fn default() -> Self {
        LayoutConfig {
            node_radius: 10.0,
            collide_padding: 4.0,
            link_distance: 60.0,
            charge: -120.0,
            theta: 1.2,
            velocity_decay: 0.4,
            alpha_decay: 1.0 - 0.001f64.powf(1.0 / 300.0),
            alpha_min: 0.001,
            reheat_alpha: 0.3,
            namespace_strength: 0.05,
            gravity: 0.02,
            collide_strength: 0.7,
            max_spread: 2.5,
            spread_nodes: 200,
        }
    }
}

/// A saved pin.
#[derive(Debug, Clone, PartialEq)]
pub struct Pin {
    pub key: String,
    pub x: f64,
    pub y: f64,
}

/// The layout state. See the module docs for its stability rules.
#[derive(Debug, Clone)]
pub struct Layout {
    config: LayoutConfig,
    seed: u64,
    keys: Vec<String>,
    xs: Vec<f64>,
    ys: Vec<f64>,
    vxs: Vec<f64>,
    vys: Vec<f64>,
    rs: Vec<f64>,
    ns: Vec<u32>,
    mobile: Vec<bool>,
    pinned: Vec<bool>,
    mobile_count: usize,
    ns_count: usize,
    index: HashMap<String, usize>,
    links: Vec<(u32, u32)>,
    link_strength: Vec<f64>,
    link_bias: Vec<f64>,
    alpha: f64,
    remembered: HashMap<String, (f64, f64)>,
    pins: BTreeMap<String, (f64, f64)>,
    tree: QuadTree,
    near: Vec<u32>,
    pairs: Vec<(u32, u32)>,
    fx: Vec<f64>,
    fy: Vec<f64>,
    /// Per-tick scratch: `[x, y, vx, vy]` per node, namespace centres.
    state: Vec<[f64; 4]>,
    centre: Vec<(f64, f64, usize)>,
    ticks: u64,
    /// [`Layout::spread`] for the current nodes.
    spread: f64,
}

fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn unit(z: u64) -> f64 {
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Pushes candidate pairs `(moving i, j)` that overlap at their predicted
/// positions apart through their velocities (like d3's `forceCollide`).
/// `st[i]` is `[x, y, vx, vy]`.
fn soft_collide(
    st: &mut [[f64; 4]],
    rs: &[f64],
    mobile: &[bool],
    pairs: &[(u32, u32)],
    strength: f64,
    padding: f64,
    seed: u64,
) {
    for (l, &(i, j)) in pairs.iter().enumerate() {
        let (i, j) = (i as usize, j as usize);
        let (pi, pj) = (st[i], st[j]);
        let mut dx = pi[0] + pi[2] - pj[0] - pj[2];
        let mut dy = pi[1] + pi[3] - pj[1] - pj[3];
        let min = rs[i] + rs[j] + padding;
        let mut d2 = dx * dx + dy * dy;
        if d2 >= min * min {
            continue;
        }
        if d2 == 0.0 {
            let a = unit(splitmix(l as u64 ^ seed)) * 2.0 * PI;
            dx = a.cos() * 1e-3;
            dy = a.sin() * 1e-3;
            d2 = 1e-6;
        }
        let d = d2.sqrt();
        let k = (min - d) / d * strength;
        let (mx, my) = (dx * k, dy * k);
        if mobile[j] {
            st[i][2] += mx * 0.5;
            st[i][3] += my * 0.5;
            st[j][2] -= mx * 0.5;
            st[j][3] -= my * 0.5;
        } else {
            st[i][2] += mx;
            st[i][3] += my;
        }
    }
}

/// A graph's layout links (one per pair of nodes joined by an edge either
/// way, sorted) with their strengths, built in steps of at most a given
/// number of edges' worth of work, for [`Layout::sync_with`]: with
/// hundreds of thousands of edges the whole build is tens of ms.
#[derive(Debug, Default)]
pub struct LinkBuild {
    nodes: usize,
    step: u8,
    /// Next edge (step 0) or link (step 4) to take.
    next: usize,
    links: Vec<(u32, u32)>,
    sort: SortInSteps<(u32, u32)>,
    degree: Vec<u32>,
    strength: Vec<f64>,
    bias: Vec<f64>,
    /// Also the nodes' neighbours (steps 5 and 6), for placing new nodes:
    /// node `i`'s are `adj[adj_start[i]..adj_start[i + 1]]`.
    adjacency: bool,
    /// Both directions of every link (step 5), sorted by their first
    /// node in step 6.
    directed: Vec<(u32, u32)>,
    adj_start: Vec<usize>,
    adj: Vec<u32>,
}

impl LinkBuild {
    /// The links of `graph` to be built (by [`LinkBuild::step`] with the
    /// same graph).
    pub fn new(graph: &MapGraph) -> LinkBuild {
        LinkBuild {
            nodes: graph.nodes.len(),
            step: 0,
            next: 0,
            links: Vec::with_capacity(graph.edges.len()),
            sort: SortInSteps::new(graph.nodes.len()),
            degree: Vec::new(),
            strength: Vec::new(),
            bias: Vec::new(),
            adjacency: false,
            directed: Vec::new(),
            adj_start: Vec::new(),
            adj: Vec::new(),
        }
    }

    /// The links of `graph` for `layout`, with the nodes' neighbours if the
    /// layout will have nodes to place (nodes it does not have).
    pub fn for_layout(graph: &MapGraph, layout: &Layout) -> LinkBuild {
        let mut links = LinkBuild::new(graph);
        links.adjacency = !layout.has_nodes_of(graph);
        links
    }

    /// Whether the layout's sync with these links changes its nodes (built
    /// by [`LinkBuild::for_layout`] for a graph whose nodes the layout does
    /// not have exactly): that sync places nodes and costs milliseconds
    /// per thousand; otherwise it only swaps the links.
    pub fn changes_nodes(&self) -> bool {
        self.adjacency
    }

    fn done(&self) -> bool {
        self.step > 6 || (self.step > 4 && !self.adjacency)
    }

    /// Does the next steps while `max_edges` edges' worth of work lasts (at
    /// least one step): the links of the edges, then two counting sorts
    /// (by the second node, then the first) and the duplicates left out,
    /// then the nodes' degrees and the links' strengths (and the nodes'
    /// neighbours if asked for), each a piece at a time. True when all are
    /// built.
    pub fn step(&mut self, graph: &MapGraph, max_edges: usize) -> bool {
        let n = self.nodes;
        let mut budget = max_edges.max(1);
        while budget > 0 {
            let work = match self.step {
                0 => {
                    let to = graph.edges.len().min(self.next.saturating_add(budget));
                    for e in &graph.edges[self.next..to] {
                        if e.source < n && e.target < n && e.source != e.target {
                            let (a, b) = (e.source.min(e.target), e.source.max(e.target));
                            self.links.push((a as u32, b as u32));
                        }
                    }
                    let work = to - self.next;
                    self.next = to;
                    if to == graph.edges.len() {
                        self.step += 1;
                        self.next = 0;
                    }
                    work
                }
                1 | 2 => {
                    let second = self.step == 1;
                    let key = |l: &(u32, u32)| if second { l.1 } else { l.0 } as usize;
                    let (work, done) = self.sort.step(&self.links, key, budget);
                    if done {
                        let sort = std::mem::replace(&mut self.sort, SortInSteps::new(n));
                        self.links = sort.finish().0;
                        self.step += 1;
                    }
                    work
                }
                3 => {
                    self.links.dedup();
                    self.degree = vec![0u32; n];
                    for &(a, b) in &self.links {
                        self.degree[a as usize] += 1;
                        self.degree[b as usize] += 1;
                    }
                    self.strength.reserve_exact(self.links.len());
                    self.bias.reserve_exact(self.links.len());
                    self.step += 1;
                    2 * self.links.len()
                }
                4 => {
                    let to = self.links.len().min(self.next.saturating_add(budget));
                    for &(a, b) in &self.links[self.next..to] {
                        let (da, db) = (
                            f64::from(self.degree[a as usize]),
                            f64::from(self.degree[b as usize]),
                        );
                        self.strength.push(1.0 / da.min(db));
                        self.bias.push(da / (da + db));
                    }
                    let work = to - self.next;
                    self.next = to;
                    if to == self.links.len() {
                        self.step += 1;
                        self.next = 0;
                        self.degree = Vec::new();
                    }
                    work
                }
                5 if self.adjacency => {
                    self.directed = self
                        .links
                        .iter()
                        .flat_map(|&(a, b)| [(a, b), (b, a)])
                        .collect();
                    self.step += 1;
                    self.directed.len()
                }
                6 => {
                    // A node's neighbours in link order: a stable counting
                    // sort of both directions by their first node.
                    let (work, done) = self.sort.step(&self.directed, |l| l.0 as usize, budget);
                    if done {
                        let (sorted, starts) = std::mem::take(&mut self.sort).finish();
                        self.adj = sorted.into_iter().map(|(_, b)| b).collect();
                        self.adj_start = starts;
                        self.directed = Vec::new();
                        self.step += 1;
                    }
                    work
                }
                _ => return true,
            };
            budget = budget.saturating_sub(work);
        }
        self.done()
    }
}

impl Layout {
    /// An empty layout with default forces.
    pub fn new(seed: u64) -> Self {
        Self::with_config(seed, LayoutConfig::default())
    }

    pub fn with_config(seed: u64, config: LayoutConfig) -> Self {
        Layout {
            config,
            seed,
            keys: Vec::new(),
            xs: Vec::new(),
            ys: Vec::new(),
            vxs: Vec::new(),
            vys: Vec::new(),
            rs: Vec::new(),
            ns: Vec::new(),
            mobile: Vec::new(),
            pinned: Vec::new(),
            mobile_count: 0,
            ns_count: 0,
            index: HashMap::new(),
            links: Vec::new(),
            link_strength: Vec::new(),
            link_bias: Vec::new(),
            alpha: 1.0,
            remembered: HashMap::new(),
            pins: BTreeMap::new(),
            tree: QuadTree::default(),
            near: Vec::new(),
            pairs: Vec::new(),
            fx: Vec::new(),
            fy: Vec::new(),
            state: Vec::new(),
            centre: Vec::new(),
            ticks: 0,
            spread: 1.0,
        }
    }

    pub fn config(&self) -> &LayoutConfig {
        &self.config
    }

    /// How far small graphs are spread ([`LayoutConfig::max_spread`]) for
    /// `n` nodes: `sqrt(spread_nodes / n)`, between 1 and the maximum.
    pub fn spread_for(config: &LayoutConfig, n: usize) -> f64 {
        let f = (config.spread_nodes as f64 / n.max(1) as f64).sqrt();
        if f.is_finite() {
            f.clamp(1.0, config.max_spread.max(1.0))
        } else {
            1.0
        }
    }

    /// The nodes' radii as they are drawn (in the order of the graph last
    /// synced; a missing, non-finite or non-positive one stays
    /// [`LayoutConfig::node_radius`]): collisions keep the drawn circles
    /// apart, not circles of one size. Nothing moves until the next tick
    /// of moving nodes.
    pub fn set_radii(&mut self, radii: &[f64]) {
        let default = self.config.node_radius;
        for (i, r) in self.rs.iter_mut().enumerate() {
            *r = radii
                .get(i)
                .copied()
                .filter(|r| r.is_finite() && *r > 0.0)
                .unwrap_or(default);
        }
    }

    /// The current spread: links are `link_distance` times this long.
    pub fn spread(&self) -> f64 {
        self.spread
    }

    /// The distance links settle at (before repulsion and gravity).
    fn link_length(&self) -> f64 {
        self.config.link_distance * self.spread
    }

    /// Deterministic offset of length in `[0.5, 1] · radius` for `key`.
    fn jitter(&self, key: &str, radius: f64) -> (f64, f64) {
        let h = splitmix(fnv1a(key) ^ self.seed);
        let angle = unit(h) * 2.0 * PI;
        let len = radius * (0.5 + 0.5 * unit(splitmix(h)));
        (angle.cos() * len, angle.sin() * len)
    }

    /// Takes the graph's nodes and edges. Known nodes keep their position
    /// and state; departed ones are remembered; new ones are placed next to
    /// their neighbours and set moving (the simulation is reheated).
    pub fn sync(&mut self, graph: &MapGraph) {
        let mut links = LinkBuild::for_layout(graph, self);
        while !links.step(graph, usize::MAX) {}
        self.sync_with(graph, links);
    }

    /// [`Layout::sync`] with the graph's links built beforehand, in steps
    /// ([`LinkBuild`]): the part of a sync that grows with the edges, so
    /// that a UI can spread it over frames. The layout may tick meanwhile;
    /// the nodes are carried over here.
    pub fn sync_with(&mut self, graph: &MapGraph, mut links: LinkBuild) {
        while !links.step(graph, usize::MAX) {}
        let n = graph.nodes.len();
        // Fast path for the common case of a recomputed map with the same
        // nodes: only the links may have changed (and they move nothing).
        if self.has_nodes_of(graph) {
            self.take_links(links);
            return;
        }
        let old_index = std::mem::take(&mut self.index);
        let old_keys = std::mem::take(&mut self.keys);
        let (oxs, oys) = (std::mem::take(&mut self.xs), std::mem::take(&mut self.ys));
        let (ovx, ovy) = (std::mem::take(&mut self.vxs), std::mem::take(&mut self.vys));
        let omobile = std::mem::take(&mut self.mobile);
        self.ns.clear();
        self.rs.clear();
        self.pinned.clear();
        let mut ns_ids: HashMap<&str, u32> = HashMap::new();
        let mut placed = vec![false; n];
        let mut fresh = 0usize;
        for (i, node) in graph.nodes.iter().enumerate() {
            let ns = if node.namespace.is_empty() {
                NO_NS
            } else {
                let next = ns_ids.len() as u32;
                *ns_ids.entry(node.namespace.as_str()).or_insert(next)
            };
            self.ns.push(ns);
            self.rs.push(self.config.node_radius);
            let (mut x, mut y, mut vx, mut vy, mut mobile) = (0.0, 0.0, 0.0, 0.0, true);
            match old_index.get(&node.key) {
                Some(&j) if !self.index.contains_key(&node.key) => {
                    (x, y, vx, vy, mobile) = (oxs[j], oys[j], ovx[j], ovy[j], omobile[j]);
                    placed[i] = true;
                }
                _ => fresh += 1,
            }
            let pinned = match self.pins.get(&node.key) {
                Some(&(px, py)) => {
                    (x, y, vx, vy, mobile) = (px, py, 0.0, 0.0, false);
                    placed[i] = true;
                    true
                }
                None => false,
            };
            self.keys.push(node.key.clone());
            self.xs.push(x);
            self.ys.push(y);
            self.vxs.push(vx);
            self.vys.push(vy);
            self.mobile.push(mobile);
            self.pinned.push(pinned);
            self.index.insert(node.key.clone(), i);
        }
        self.ns_count = ns_ids.len();
        self.spread = Layout::spread_for(&self.config, n);
        for (key, j) in old_keys.iter().zip(0..) {
            if !self.index.contains_key(key) {
                if self.remembered.len() >= REMEMBERED_CAP {
                    self.remembered.clear();
                }
                self.remembered.insert(key.clone(), (oxs[j], oys[j]));
            }
        }
        if !placed.iter().all(|p| *p) && !links.adjacency {
            links.adjacency = true;
            while !links.step(graph, usize::MAX) {}
        }
        let adjacency = (
            std::mem::take(&mut links.adj_start),
            std::mem::take(&mut links.adj),
        );
        self.take_links(links);
        let new = fresh - self.place_new(&mut placed, old_keys.len(), &adjacency.0, &adjacency.1);
        self.mobile_count = self.mobile.iter().filter(|m| **m).count();
        if new > 0 {
            let target = if new == n {
                1.0
            } else {
                self.config.reheat_alpha
            };
            self.alpha = self.alpha.max(target);
        }
    }

    /// Whether the layout's nodes are `graph`'s, in its order (a sync
    /// then only changes the links).
    pub fn has_nodes_of(&self, graph: &MapGraph) -> bool {
        graph.nodes.len() == self.keys.len()
            && graph.nodes.iter().zip(&self.keys).all(|(g, k)| g.key == *k)
    }

    fn take_links(&mut self, links: LinkBuild) {
        self.links = links.links;
        self.link_strength = links.strength;
        self.link_bias = links.bias;
    }

    /// Places unplaced nodes: remembered position, else next to placed
    /// neighbours (breadth-first), else near their namespace, else on an
    /// outer spiral.
    /// Returns how many came back from remembered positions (those stay
    /// frozen).
    fn place_new(
        &mut self,
        placed: &mut [bool],
        previous_count: usize,
        start: &[usize],
        adj: &[u32],
    ) -> usize {
        let n = placed.len();
        let mut restored = 0;
        if placed.iter().all(|p| *p) {
            return restored;
        }
        let mut ns_sum = vec![(0.0f64, 0.0f64, 0usize); self.ns_count];
        let mut queue: VecDeque<usize> = VecDeque::new();
        for (i, done) in placed.iter_mut().enumerate() {
            if !*done {
                if let Some(&(x, y)) = self.remembered.get(&self.keys[i]) {
                    // Back where it was, as settled as it was.
                    self.xs[i] = x;
                    self.ys[i] = y;
                    self.mobile[i] = false;
                    restored += 1;
                    *done = true;
                }
            }
            if *done {
                self.add_ns(&mut ns_sum, i);
                queue.push_back(i);
            }
        }
        let mut spiral = previous_count.max(queue.len());
        // Many new nodes next to few placed ones would pile up around the
        // same spots (the first tick then sorts out millions of
        // overlapping pairs: 154 ms instead of 5 at 10,000 nodes): they go
        // on the spiral instead, in breadth-first order, so that
        // neighbours still start close.
        let on_spiral = n - queue.len() > queue.len().max(SPIRAL_PLACEMENT_MIN);
        let link_distance = self.link_length();
        let spiral_at = |k: usize| {
            let r = link_distance / 3.0 * (0.5 + k as f64).sqrt();
            let a = k as f64 * PI * (3.0 - 5f64.sqrt());
            (r * a.cos(), r * a.sin())
        };
        let mut next_unplaced = 0usize;
        loop {
            while let Some(u) = queue.pop_front() {
                for &v in &adj[start[u]..start[u + 1]] {
                    let v = v as usize;
                    if placed[v] {
                        continue;
                    }
                    if on_spiral {
                        (self.xs[v], self.ys[v]) = spiral_at(spiral);
                        spiral += 1;
                        placed[v] = true;
                        self.add_ns(&mut ns_sum, v);
                        queue.push_back(v);
                        continue;
                    }
                    let (mut sx, mut sy, mut c) = (0.0, 0.0, 0.0);
                    for &w in &adj[start[v]..start[v + 1]] {
                        if placed[w as usize] {
                            sx += self.xs[w as usize];
                            sy += self.ys[w as usize];
                            c += 1.0;
                        }
                    }
                    let (jx, jy) = self.jitter(&self.keys[v], self.link_length());
                    self.xs[v] = sx / c + jx;
                    self.ys[v] = sy / c + jy;
                    placed[v] = true;
                    self.add_ns(&mut ns_sum, v);
                    queue.push_back(v);
                }
            }
            while next_unplaced < n && placed[next_unplaced] {
                next_unplaced += 1;
            }
            if next_unplaced == n {
                break restored;
            }
            let i = next_unplaced;
            let ns = self.ns[i];
            let around = if ns == NO_NS {
                None
            } else {
                Some(ns_sum[ns as usize])
            };
            match around {
                Some((sx, sy, c)) if c > 0 && !on_spiral => {
                    let (jx, jy) = self.jitter(&self.keys[i], 1.5 * self.link_length());
                    self.xs[i] = sx / c as f64 + jx;
                    self.ys[i] = sy / c as f64 + jy;
                }
                _ => {
                    (self.xs[i], self.ys[i]) = spiral_at(spiral);
                    spiral += 1;
                }
            }
            placed[i] = true;
            self.add_ns(&mut ns_sum, i);
            queue.push_back(i);
        }
    }

    fn add_ns(&self, ns_sum: &mut [(f64, f64, usize)], i: usize) {
        if let Some(s) = ns_sum.get_mut(self.ns[i] as usize) {
            s.0 += self.xs[i];
            s.1 += self.ys[i];
            s.2 += 1;
        }
    }

    /// Runs up to `max_iterations` ticks; returns true while still moving.
    /// Call it once per animation frame with a budget that fits the frame.
    pub fn step(&mut self, max_iterations: usize) -> bool {
        for _ in 0..max_iterations {
            if !self.is_running() {
                return false;
            }
            self.tick();
            if self.alpha < self.config.alpha_min {
                self.settle();
                return false;
            }
        }
        self.is_running()
    }

    /// true while some node may still move.
    pub fn is_running(&self) -> bool {
        self.mobile_count > 0 && self.alpha >= self.config.alpha_min
    }

    /// Current alpha (1 at the start, stops below `alpha_min`).
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Ticks run so far.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// Restarts the simulation from given positions, aligned with the nodes
    /// of the last synced graph (entries past the end or non-finite keep the
    /// node's current position; pinned nodes stay at their pin): velocities
    /// are zeroed, every unpinned node moves, alpha is 1. Used to restore a
    /// saved picture and to start every engine of the benchmark from the
    /// same positions.
    pub fn restart_from(&mut self, positions: &[(f64, f64)]) {
        for (i, &(x, y)) in positions.iter().enumerate().take(self.keys.len()) {
            if !self.pinned[i] && x.is_finite() && y.is_finite() {
                self.xs[i] = x;
                self.ys[i] = y;
            }
        }
        for i in 0..self.keys.len() {
            self.vxs[i] = 0.0;
            self.vys[i] = 0.0;
        }
        self.reheat(1.0);
        self.alpha = 1.0;
    }

    /// Unfreezes every unpinned node and raises alpha to at least `alpha`.
    pub fn reheat(&mut self, alpha: f64) {
        for i in 0..self.keys.len() {
            self.mobile[i] = !self.pinned[i];
        }
        self.mobile_count = self.mobile.iter().filter(|m| **m).count();
        if alpha.is_finite() {
            self.alpha = self.alpha.max(alpha.min(1.0));
        }
    }

    fn tick(&mut self) {
        self.ticks += 1;
        let c = self.config.clone();
        let (link_distance, charge) = (self.link_length(), c.charge * self.spread * self.spread);
        self.alpha += (0.0 - self.alpha) * c.alpha_decay;
        let alpha = self.alpha;
        let n = self.keys.len();
        // The hot loops work on one record per node, `[x, y, vx, vy]`: one
        // bounds check and one cache line per node.
        let mut state = std::mem::take(&mut self.state);
        state.clear();
        state.extend(
            self.xs
                .iter()
                .zip(&self.ys)
                .zip(self.vxs.iter().zip(&self.vys))
                .map(|((&x, &y), (&vx, &vy))| [x, y, vx, vy]),
        );
        let mobile = &self.mobile[..n];
        let st = &mut state[..n];

        // Links.
        let link_k = self.link_strength.iter().zip(&self.link_bias);
        for (l, (&(s, t), (&strength, &b))) in self.links.iter().zip(link_k).enumerate() {
            let (s, t) = (s as usize, t as usize);
            let (ms, mt) = (mobile[s], mobile[t]);
            if !ms && !mt {
                continue;
            }
            let (ps, pt) = (st[s], st[t]);
            let mut dx = pt[0] + pt[2] - ps[0] - ps[2];
            let mut dy = pt[1] + pt[3] - ps[1] - ps[3];
            if dx == 0.0 && dy == 0.0 {
                dx = 1e-6 * (1.0 + (l % 7) as f64);
                dy = 1e-6;
            }
            let len = (dx * dx + dy * dy).sqrt();
            let k = (len - link_distance) / len * alpha * strength;
            dx *= k;
            dy *= k;
            match (ms, mt) {
                (true, true) => {
                    st[t][2] -= dx * b;
                    st[t][3] -= dy * b;
                    st[s][2] += dx * (1.0 - b);
                    st[s][3] += dy * (1.0 - b);
                }
                (false, true) => {
                    st[t][2] -= dx;
                    st[t][3] -= dy;
                }
                _ => {
                    st[s][2] += dx;
                    st[s][3] += dy;
                }
            }
        }

        // Many-body (Barnes–Hut) over all nodes, applied to moving ones;
        // the same traversal collects collision candidates.
        self.tree.rebuild(&self.xs, &self.ys, &self.rs);
        let mut pairs = std::mem::take(&mut self.pairs);
        pairs.clear();
        let (mut fx, mut fy) = (std::mem::take(&mut self.fx), std::mem::take(&mut self.fy));
        fx.clear();
        fx.resize(n, 0.0);
        fy.clear();
        fy.resize(n, 0.0);
        let input = ForceInput {
            active: mobile,
            theta2: c.theta * c.theta,
            strength: charge * alpha,
            padding: c.collide_padding,
        };
        self.tree.forces(&input, &mut fx, &mut fy, &mut pairs);
        for (p, (&fx, &fy)) in st.iter_mut().zip(fx.iter().zip(&fy)) {
            p[2] += fx;
            p[3] += fy;
        }
        self.fx = fx;
        self.fy = fy;

        // Namespace attraction and gravity.
        let mut centre = std::mem::take(&mut self.centre);
        centre.clear();
        centre.resize(self.ns_count, (0.0, 0.0, 0));
        if c.namespace_strength > 0.0 {
            for (p, &ns) in st.iter().zip(&self.ns) {
                if let Some(s) = centre.get_mut(ns as usize) {
                    s.0 += p[0];
                    s.1 += p[1];
                    s.2 += 1;
                }
            }
        }
        for ((p, &ns), &m) in st.iter_mut().zip(&self.ns).zip(mobile) {
            if !m {
                continue;
            }
            if let Some(&(sx, sy, cnt)) = centre.get(ns as usize) {
                if cnt > 1 {
                    let k = c.namespace_strength * alpha;
                    p[2] += (sx / cnt as f64 - p[0]) * k;
                    p[3] += (sy / cnt as f64 - p[1]) * k;
                }
            }
            p[2] -= p[0] * c.gravity * alpha;
            p[3] -= p[1] * c.gravity * alpha;
        }
        self.centre = centre;

        // Collision (soft, on predicted positions).
        soft_collide(
            st,
            &self.rs,
            mobile,
            &pairs,
            c.collide_strength,
            c.collide_padding,
            self.seed,
        );
        self.pairs = pairs;

        // Integrate.
        for (p, &m) in st.iter_mut().zip(mobile) {
            if !m {
                continue;
            }
            p[2] *= 1.0 - c.velocity_decay;
            p[3] *= 1.0 - c.velocity_decay;
            let (nx, ny) = (p[0] + p[2], p[1] + p[3]);
            if nx.is_finite() && ny.is_finite() {
                p[0] = nx;
                p[1] = ny;
            } else {
                p[2] = 0.0;
                p[3] = 0.0;
            }
        }
        for (((p, x), y), (vx, vy)) in st
            .iter()
            .zip(&mut self.xs)
            .zip(&mut self.ys)
            .zip(self.vxs.iter_mut().zip(&mut self.vys))
        {
            [*x, *y, *vx, *vy] = *p;
        }
        self.state = state;
    }

    /// One overlap-resolution pass: pairs (at least one moving) closer than
    /// their radii plus half the padding are pushed apart to the full
    /// padding, straight in positions. A pass that finds no such pair moved
    /// nothing. Returns the number of pairs pushed.
    fn resolve_pass(&mut self, padding: f64) -> usize {
        let n = self.keys.len();
        let mut found = 0;
        self.tree.rebuild(&self.xs, &self.ys, &self.rs);
        let mut near = std::mem::take(&mut self.near);
        for i in 0..n {
            if !self.mobile[i] {
                continue;
            }
            near.clear();
            self.tree
                .near(i, self.xs[i], self.ys[i], self.rs[i] + padding, |j| {
                    near.push(j as u32)
                });
            for &j in &near {
                let j = j as usize;
                if self.mobile[j] && j < i {
                    continue;
                }
                let (mut dx, mut dy) = (self.xs[i] - self.xs[j], self.ys[i] - self.ys[j]);
                let min = self.rs[i] + self.rs[j] + padding;
                let act = min - padding / 2.0;
                let mut d2 = dx * dx + dy * dy;
                if d2 >= act * act {
                    continue;
                }
                found += 1;
                if d2 == 0.0 {
                    let h = splitmix((i as u64) << 32 ^ j as u64 ^ self.seed);
                    let a = unit(h) * 2.0 * PI;
                    dx = a.cos() * 1e-3;
                    dy = a.sin() * 1e-3;
                    d2 = dx * dx + dy * dy;
                }
                let d = d2.sqrt();
                let k = (min - d) / d;
                let (mx, my) = (dx * k, dy * k);
                if self.mobile[j] {
                    self.xs[i] += mx * 0.5;
                    self.ys[i] += my * 0.5;
                    self.xs[j] -= mx * 0.5;
                    self.ys[j] -= my * 0.5;
                } else {
                    self.xs[i] += mx;
                    self.ys[i] += my;
                }
            }
        }
        self.near = near;
        found
    }

    /// Ends a run: resolves remaining overlaps of moving nodes, then
    /// freezes every node.
    fn settle(&mut self) {
        let padding = self.config.collide_padding;
        for _ in 0..RESOLVE_PASSES {
            if self.resolve_pass(padding) == 0 {
                break;
            }
        }
        for i in 0..self.keys.len() {
            self.mobile[i] = false;
            self.vxs[i] = 0.0;
            self.vys[i] = 0.0;
        }
        self.mobile_count = 0;
    }

    /// Number of nodes laid out.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Position of the node with `key`.
    pub fn position(&self, key: &str) -> Option<(f64, f64)> {
        self.index.get(key).map(|&i| (self.xs[i], self.ys[i]))
    }

    /// Every node's key and position, in the order of the last synced graph.
    pub fn positions(&self) -> impl Iterator<Item = (&str, f64, f64)> + '_ {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), self.xs[i], self.ys[i]))
    }

    /// Positions aligned with `graph.nodes` (`(0, 0)` for unknown keys).
    pub fn positions_for(&self, graph: &MapGraph) -> Vec<(f64, f64)> {
        graph
            .nodes
            .iter()
            .map(|n| self.position(&n.key).unwrap_or((0.0, 0.0)))
            .collect()
    }

    /// Pins `key` at `(x, y)` (now if present, else when it appears).
    pub fn pin(&mut self, key: &str, x: f64, y: f64) -> Result<(), ModelError> {
        if !x.is_finite() || !y.is_finite() {
            return Err(ModelError::NonFinitePin {
                key: key.to_string(),
            });
        }
        if self.pins.len() >= PIN_CAP && !self.pins.contains_key(key) {
            return Err(ModelError::TooManyPins { cap: PIN_CAP });
        }
        self.pins.insert(key.to_string(), (x, y));
        if let Some(&i) = self.index.get(key) {
            self.xs[i] = x;
            self.ys[i] = y;
            self.vxs[i] = 0.0;
            self.vys[i] = 0.0;
            self.pinned[i] = true;
            if self.mobile[i] {
                self.mobile[i] = false;
                self.mobile_count -= 1;
            }
        }
        Ok(())
    }

    /// Releases a pin; the node stays where it is (frozen until reheated).
    pub fn unpin(&mut self, key: &str) {
        self.pins.remove(key);
        if let Some(&i) = self.index.get(key) {
            self.pinned[i] = false;
        }
    }

    /// Is `key` pinned?
    pub fn is_pinned(&self, key: &str) -> bool {
        self.pins.contains_key(key)
    }

    /// Every pin, sorted by key (save these).
    pub fn pins(&self) -> Vec<Pin> {
        self.pins
            .iter()
            .map(|(k, &(x, y))| Pin {
                key: k.clone(),
                x,
                y,
            })
            .collect()
    }

    /// Replaces all pins with `pins`. On error the pins before the bad one
    /// are applied.
    pub fn restore_pins(&mut self, pins: &[Pin]) -> Result<(), ModelError> {
        let keys: Vec<String> = self.pins.keys().cloned().collect();
        for k in keys {
            self.unpin(&k);
        }
        pins.iter().try_for_each(|p| self.pin(&p.key, p.x, p.y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{MapEdge, MapNode};

    #[test]
    fn links_built_in_steps_of_any_size_are_the_sorted_distinct_pairs() {
        let mut z = 0x9e37_79b9_7f4a_7c15u64;
        for (len, n) in [(0usize, 1usize), (1, 1), (100, 5), (5000, 700)] {
            let graph = MapGraph {
                nodes: (0..n)
                    .map(|i| {
                        MapNode::new(
                            format!("n{i}"),
                            String::new(),
                            crate::grouping::NodeKind::Pod,
                        )
                    })
                    .collect(),
                edges: (0..len)
                    .map(|_| {
                        z ^= z << 13;
                        z ^= z >> 7;
                        z ^= z << 17;
                        // Some endpoints out of range: no link.
                        let (s, t) = (z % (n as u64 + 1), (z >> 32) % (n as u64 + 1));
                        MapEdge::new(String::new(), s as usize, t as usize)
                    })
                    .collect(),
                ..Default::default()
            };
            let mut want: Vec<(u32, u32)> = graph
                .edges
                .iter()
                .filter(|e| e.source < n && e.target < n && e.source != e.target)
                .map(|e| (e.source.min(e.target) as u32, e.source.max(e.target) as u32))
                .collect();
            want.sort_unstable();
            want.dedup();
            let mut degree = vec![0.0f64; n];
            for &(a, b) in &want {
                degree[a as usize] += 1.0;
                degree[b as usize] += 1.0;
            }
            for piece in [1, 7, 1000, usize::MAX] {
                let mut built = LinkBuild::new(&graph);
                let mut calls = 1;
                while !built.step(&graph, piece) {
                    calls += 1;
                }
                assert_eq!(built.links, want, "pieces of {piece}");
                for (l, &(a, b)) in want.iter().enumerate() {
                    let (da, db) = (degree[a as usize], degree[b as usize]);
                    assert_eq!(built.strength[l], 1.0 / da.min(db));
                    assert_eq!(built.bias[l], da / (da + db));
                }
                if piece == 1 {
                    assert!(calls > len, "one edge per call at most");
                }
                // A finished build stays finished.
                assert!(built.step(&graph, 1));
                // With the neighbours: each node's in link order.
                let mut with_adj = LinkBuild::new(&graph);
                with_adj.adjacency = true;
                while !with_adj.step(&graph, piece) {}
                assert_eq!(with_adj.links, want);
                assert_eq!(with_adj.adj_start.len(), n + 1);
                for v in 0..n {
                    let got = &with_adj.adj[with_adj.adj_start[v]..with_adj.adj_start[v + 1]];
                    let expect: Vec<u32> = want
                        .iter()
                        .filter_map(|&(a, b)| match v as u32 {
                            x if x == a => Some(b),
                            x if x == b => Some(a),
                            _ => None,
                        })
                        .collect();
                    assert_eq!(got, &expect[..], "node {v}, pieces of {piece}");
                }
            }
        }
    }

    #[test]
    fn a_sync_with_links_built_in_steps_places_nodes_as_a_sync_does() {
        let (small, big) = (chain(20), chain(60));
        for adjacency_asked in [true, false] {
            let mut at_once = Layout::new(3);
            at_once.sync(&small);
            at_once.step(5);
            let mut stepped = at_once.clone();
            at_once.sync(&big);
            let mut links = if adjacency_asked {
                LinkBuild::for_layout(&big, &stepped)
            } else {
                // Built without the neighbours: the sync builds them.
                LinkBuild::new(&big)
            };
            assert_eq!(links.adjacency, adjacency_asked);
            while !links.step(&big, 3) {}
            stepped.sync_with(&big, links);
            assert_eq!(at_once.positions_for(&big), stepped.positions_for(&big));
            assert_eq!(at_once.links, stepped.links);
        }
        // Same nodes: no neighbours needed.
        let mut l = Layout::new(3);
        l.sync(&big);
        assert!(!LinkBuild::for_layout(&big, &l).adjacency);
    }

    fn chain(n: usize) -> MapGraph {
        let nodes = (0..n)
            .map(|i| {
                MapNode::new(
                    format!("n{i}"),
                    String::new(),
                    crate::grouping::NodeKind::Pod,
                )
                .in_namespace(String::new())
            })
            .collect();
        let edges = (1..n)
            .map(|i| MapEdge::new(String::new(), i - 1, i))
            .collect();
        MapGraph {
            nodes,
            edges,
            ..Default::default()
        }
    }

    #[test]
    fn restart_from_uses_the_positions_keeps_pins_and_is_deterministic() {
        let g = chain(30);
        let start: Vec<(f64, f64)> = (0..30).map(|i| (i as f64 * 5.0, -(i as f64))).collect();
        let mut a = Layout::new(7);
        a.sync(&g);
        a.pin("n3", 1000.0, 1000.0).unwrap();
        a.restart_from(&start);
        assert_eq!(a.position("n0"), Some((0.0, 0.0)));
        assert_eq!(a.position("n29"), Some((145.0, -29.0)));
        assert_eq!(a.position("n3"), Some((1000.0, 1000.0)));
        assert!(a.is_running());
        assert_eq!(a.alpha(), 1.0);
        while a.step(50) {}
        assert_eq!(a.position("n3"), Some((1000.0, 1000.0)));
        let mut b = Layout::new(7);
        b.sync(&g);
        b.pin("n3", 1000.0, 1000.0).unwrap();
        b.restart_from(&start);
        while b.step(7) {}
        let (pa, pb): (Vec<_>, Vec<_>) = (a.positions().collect(), b.positions().collect());
        assert_eq!(pa, pb);
        // Short or non-finite input keeps the current positions.
        let before = a.position("n5");
        a.restart_from(&[(f64::NAN, 0.0)]);
        assert_eq!(a.position("n5"), before);
    }
}
