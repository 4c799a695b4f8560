//! Force-directed placement as a pure function of the graph and the previous
//! positions: nodes keep their place across updates (no jumps), new nodes
//! start next to a neighbour, pinned nodes stay where the user put them.
//! Repulsion only acts within a cutoff, found through a grid, so one step is
//! linear in nodes + edges.

use std::collections::HashMap;

use crate::graph::GraphView;
use crate::palette::stable_hash;

/// Ideal edge length, world units.
pub const EDGE_LENGTH: f64 = 140.0;
/// Repulsion is ignored beyond this distance.
pub const REPULSION_CUTOFF: f64 = 3.0 * EDGE_LENGTH;
/// Positions remembered for nodes no longer shown (they come back in place).
pub const MAX_REMEMBERED: usize = 50_000;
/// Largest move of one node in one step at full temperature.
pub const MAX_STEP: f64 = 40.0;
/// Movement below which the layout counts as settled.
pub const SETTLED: f64 = 0.5;

/// A point in world coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, Copy)]
struct Body {
    p: Point,
    pinned: bool,
}

/// Positions by node label.
#[derive(Debug, Default)]
pub struct Layout {
    bodies: HashMap<String, Body>,
    temperature: f64,
}

impl Layout {
    pub fn new() -> Self {
        Layout {
            bodies: HashMap::new(),
            temperature: 1.0,
        }
    }

    /// Gives every node of `g` a position (new ones near a placed
    /// neighbour, else on a spiral) and reheats when something new came.
    pub fn sync(&mut self, g: &GraphView) {
        let mut added = false;
        for (i, n) in g.nodes.iter().enumerate() {
            if self.bodies.contains_key(&n.label) {
                continue;
            }
            let neighbour = g.edges.iter().find_map(|e| {
                let other = if e.src == i {
                    e.dst
                } else if e.dst == i {
                    e.src
                } else {
                    return None;
                };
                g.nodes
                    .get(other)
                    .and_then(|o| self.bodies.get(&o.label))
                    .map(|b| b.p)
            });
            let h = stable_hash(&n.label);
            let angle = (h % 3600) as f64 / 3600.0 * std::f64::consts::TAU;
            let p = match neighbour {
                Some(c) => Point {
                    x: c.x + angle.cos() * EDGE_LENGTH,
                    y: c.y + angle.sin() * EDGE_LENGTH,
                },
                None => {
                    let k = self.bodies.len() as f64;
                    let r = EDGE_LENGTH * (1.0 + k.sqrt());
                    Point {
                        x: r * angle.cos(),
                        y: r * angle.sin(),
                    }
                }
            };
            if self.bodies.len() >= MAX_REMEMBERED {
                self.forget_absent(g);
            }
            self.bodies
                .insert(n.label.clone(), Body { p, pinned: false });
            added = true;
        }
        if added {
            self.temperature = self.temperature.max(0.6);
        }
    }

    fn forget_absent(&mut self, g: &GraphView) {
        let present: std::collections::HashSet<&str> =
            g.nodes.iter().map(|n| n.label.as_str()).collect();
        self.bodies.retain(|k, _| present.contains(k.as_str()));
    }

    /// One step of the simulation; returns the largest move.
    pub fn step(&mut self, g: &GraphView) -> f64 {
        let n = g.nodes.len();
        if n == 0 || self.temperature <= 0.0 {
            return 0.0;
        }
        let pos: Vec<Point> = self.positions(g);
        let mut force = vec![Point::default(); n];
        // Repulsion through a grid of cutoff-sized cells.
        let cell = REPULSION_CUTOFF;
        let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
        for (i, p) in pos.iter().enumerate() {
            grid.entry(((p.x / cell).floor() as i64, (p.y / cell).floor() as i64))
                .or_default()
                .push(i);
        }
        let k2 = EDGE_LENGTH * EDGE_LENGTH;
        for (&(cx, cy), members) in &grid {
            for dx in -1..=1 {
                for dy in -1..=1 {
                    let Some(others) = grid.get(&(cx + dx, cy + dy)) else {
                        continue;
                    };
                    for &i in members {
                        for &j in others {
                            if i == j {
                                continue;
                            }
                            let (a, b) = (pos[i], pos[j]);
                            let (mut vx, mut vy) = (a.x - b.x, a.y - b.y);
                            let mut d2 = vx * vx + vy * vy;
                            if d2 < 1e-6 {
                                // Coincident: separate deterministically.
                                let h = (i as f64 - j as f64).signum();
                                vx = h;
                                vy = 0.5 * h;
                                d2 = 1.25;
                            }
                            if d2 > REPULSION_CUTOFF * REPULSION_CUTOFF {
                                continue;
                            }
                            let f = k2 / d2;
                            force[i].x += vx * f * 0.5;
                            force[i].y += vy * f * 0.5;
                        }
                    }
                }
            }
        }
        // Springs.
        for e in &g.edges {
            if e.src == e.dst || e.src >= n || e.dst >= n {
                continue;
            }
            let (a, b) = (pos[e.src], pos[e.dst]);
            let (vx, vy) = (b.x - a.x, b.y - a.y);
            let d = (vx * vx + vy * vy).sqrt().max(1e-3);
            let f = (d - EDGE_LENGTH) / d * 0.3;
            force[e.src].x += vx * f;
            force[e.src].y += vy * f;
            force[e.dst].x -= vx * f;
            force[e.dst].y -= vy * f;
        }
        // Gravity towards the origin keeps components together.
        let mut moved: f64 = 0.0;
        let limit = MAX_STEP * self.temperature;
        for (i, node) in g.nodes.iter().enumerate() {
            let Some(b) = self.bodies.get_mut(&node.label) else {
                continue;
            };
            if b.pinned {
                continue;
            }
            let fx = force[i].x - pos[i].x * 0.01;
            let fy = force[i].y - pos[i].y * 0.01;
            let len = (fx * fx + fy * fy).sqrt();
            if len < 1e-9 {
                continue;
            }
            let s = len.min(limit) / len;
            b.p.x += fx * s;
            b.p.y += fy * s;
            moved = moved.max(len.min(limit));
        }
        self.temperature = (self.temperature * 0.985).max(0.02);
        if moved < SETTLED {
            self.temperature = 0.0;
        }
        moved
    }

    /// True while steps still move nodes.
    pub fn is_running(&self) -> bool {
        self.temperature > 0.0
    }

    /// Wakes the simulation up (after a drag or a new node).
    pub fn reheat(&mut self, t: f64) {
        self.temperature = self.temperature.max(t);
    }

    /// Positions in the order of `g.nodes` (origin for unknown nodes).
    pub fn positions(&self, g: &GraphView) -> Vec<Point> {
        g.nodes
            .iter()
            .map(|n| self.bodies.get(&n.label).map(|b| b.p).unwrap_or_default())
            .collect()
    }

    /// Pins `label` at `p` (drag to pin).
    pub fn pin(&mut self, label: &str, p: Point) {
        if let Some(b) = self.bodies.get_mut(label) {
            b.p = p;
            b.pinned = true;
        }
    }

    /// Unpins every node.
    pub fn unpin_all(&mut self) {
        for b in self.bodies.values_mut() {
            b.pinned = false;
        }
        self.reheat(0.5);
    }

    /// Forgets every position (a new grouping means new nodes).
    pub fn clear(&mut self) {
        self.bodies.clear();
        self.temperature = 1.0;
    }
}

/// Bounding box of points: (min, max); None when empty.
pub fn bounds(points: &[Point]) -> Option<(Point, Point)> {
    let first = *points.first()?;
    Some(points.iter().fold((first, first), |(lo, hi), p| {
        (
            Point {
                x: lo.x.min(p.x),
                y: lo.y.min(p.y),
            },
            Point {
                x: hi.x.max(p.x),
                y: hi.y.max(p.y),
            },
        )
    }))
}
