//! Shapes of the drawing, as numbers: node radii, edge widths, the curve of
//! an edge (both directions bend apart), its arrow and label anchor; and
//! hit-testing. Pure so it is testable without a canvas.

use wiremap_model::{MapEdge, MapGraph, MapNode};

/// A point in world or screen coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl From<(f64, f64)> for Point {
    fn from((x, y): (f64, f64)) -> Self {
        Point { x, y }
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

pub const MIN_RADIUS: f64 = 7.0;
pub const MAX_RADIUS: f64 = 22.0;
pub const MIN_WIDTH: f64 = 1.0;
pub const MAX_WIDTH: f64 = 9.0;
pub const ARROW_LEN: f64 = 10.0;

/// Traffic through a node (bytes in + out).
pub fn node_traffic(n: &MapNode) -> f64 {
    (n.in_bytes as f64) + (n.out_bytes as f64)
}

/// Radius (world units) of a node carrying `t` when the busiest carries `max`.
pub fn radius(t: f64, max: f64) -> f64 {
    if max <= 0.0 {
        return MIN_RADIUS;
    }
    MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * (t / max).clamp(0.0, 1.0).sqrt()
}

/// Line width of an edge with value `v` when the largest is `max`.
pub fn width(v: f64, max: f64) -> f64 {
    if max <= 0.0 {
        return MIN_WIDTH;
    }
    MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * (v / max).clamp(0.0, 1.0).sqrt()
}

/// A drawn edge: quadratic curve start → end through `ctrl`, arrow at `end`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Curve {
    pub start: Point,
    pub ctrl: Point,
    pub end: Point,
    /// Unit direction of the curve at `end`.
    pub dir: Point,
    /// Where the label goes (curve midpoint).
    pub mid: Point,
}

/// The curve from `a` (radius `ra`) to `b` (radius `rb`), bent to the right
/// of its direction by `bend` × length: a → b and b → a never overlap.
pub fn curve(a: Point, b: Point, ra: f64, rb: f64, bend: f64) -> Curve {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let d = (dx * dx + dy * dy).sqrt().max(1e-6);
    let (ux, uy) = (dx / d, dy / d);
    // Right-hand normal (screen y grows downwards).
    let (nx, ny) = (-uy, ux);
    let ctrl = Point {
        x: (a.x + b.x) / 2.0 + nx * bend * d,
        y: (a.y + b.y) / 2.0 + ny * bend * d,
    };
    let towards = |from: Point, to: Point, r: f64| {
        let (vx, vy) = (to.x - from.x, to.y - from.y);
        let l = (vx * vx + vy * vy).sqrt().max(1e-6);
        Point {
            x: from.x + vx / l * r,
            y: from.y + vy / l * r,
        }
    };
    let start = towards(a, ctrl, ra);
    let end = towards(b, ctrl, rb);
    let (ex, ey) = (end.x - ctrl.x, end.y - ctrl.y);
    let el = (ex * ex + ey * ey).sqrt().max(1e-6);
    let mid = Point {
        x: 0.25 * start.x + 0.5 * ctrl.x + 0.25 * end.x,
        y: 0.25 * start.y + 0.5 * ctrl.y + 0.25 * end.y,
    };
    Curve {
        start,
        ctrl,
        end,
        dir: Point {
            x: ex / el,
            y: ey / el,
        },
        mid,
    }
}

/// Bend of a lone edge (its control point's offset, per unit of length).
pub const BEND: f64 = 0.12;
/// How much more each further parallel edge bends: their middles, where
/// the labels go, then lie 18 px apart on a 200 px edge (with 0.1 the
/// labels of HTTP and HTTP/2 between two pods overlapped).
pub const BEND_STEP: f64 = 0.18;

/// Bend of each edge: parallel edges (same endpoints and direction,
/// different protocols) fan out.
pub fn bends(edges: &[MapEdge]) -> Vec<f64> {
    let mut out = Vec::with_capacity(edges.len());
    let mut prev: Option<(usize, usize)> = None;
    let mut k = 0usize;
    for e in edges {
        if prev == Some((e.source, e.target)) {
            k += 1;
        } else {
            k = 0;
        }
        prev = Some((e.source, e.target));
        out.push(BEND + BEND_STEP * k as f64);
    }
    out
}

/// Radii of all nodes (world units).
pub fn radii(g: &MapGraph) -> Vec<f64> {
    let max = g.nodes.iter().map(node_traffic).fold(0.0, f64::max);
    g.nodes
        .iter()
        .map(|n| radius(node_traffic(n), max))
        .collect()
}

/// The node under world point `p`, topmost (last drawn) first.
pub fn pick(positions: &[Point], radii: &[f64], p: Point, slack: f64) -> Option<usize> {
    positions
        .iter()
        .zip(radii)
        .enumerate()
        .rev()
        .find(|(_, (c, r))| {
            let (dx, dy) = (c.x - p.x, c.y - p.y);
            dx * dx + dy * dy <= (*r + slack) * (*r + slack)
        })
        .map(|(i, _)| i)
}
