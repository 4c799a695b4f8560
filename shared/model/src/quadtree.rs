//! A Barnes–Hut quadtree over the layout's points: centre of mass per cell
//! for approximate many-body repulsion, and the largest radius per cell for
//! collision queries. Rebuilt every tick into reused buffers.

const NONE: u32 = u32::MAX;
/// Below this depth cells split; deeper (coincident points) they stay leaves.
const MAX_DEPTH: u32 = 40;
/// Points a leaf holds before it splits.
const LEAF_CAP: usize = 8;

/// Inputs of one many-body pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ForceInput<'a> {
    pub(crate) xs: &'a [f64],
    pub(crate) ys: &'a [f64],
    pub(crate) rs: &'a [f64],
    /// Points that receive forces; the others only exert them.
    pub(crate) active: &'a [bool],
    /// Barnes–Hut θ².
    pub(crate) theta2: f64,
    /// Many-body strength (negative repels), already scaled by alpha.
    pub(crate) strength: f64,
    /// Collision candidates are pairs closer than `r_i + r_j + padding`.
    pub(crate) padding: f64,
}

/// `Σ mass·d / max(|d|², 1)` over `sources` (d from `(x, y)` to the
/// source; closer than 1 px is softened like d3's distanceMin; a
/// coincident source adds 0). Two independent accumulator pairs keep the
/// additions out of one dependency chain.
#[inline]
fn pull(sources: &[(f64, f64, f64)], x: f64, y: f64) -> (f64, f64) {
    let (mut ax, mut ay, mut bx, mut by) = (0.0, 0.0, 0.0, 0.0);
    let mut pairs = sources.chunks_exact(2);
    for c in &mut pairs {
        let (dx0, dy0) = (c[0].0 - x, c[0].1 - y);
        let (dx1, dy1) = (c[1].0 - x, c[1].1 - y);
        let w0 = c[0].2 / (dx0 * dx0 + dy0 * dy0).max(1.0);
        let w1 = c[1].2 / (dx1 * dx1 + dy1 * dy1).max(1.0);
        ax += dx0 * w0;
        ay += dy0 * w0;
        bx += dx1 * w1;
        by += dy1 * w1;
    }
    if let [(sx, sy, m)] = pairs.remainder() {
        let (dx, dy) = (sx - x, sy - y);
        let w = m / (dx * dx + dy * dy).max(1.0);
        ax += dx * w;
        ay += dy * w;
    }
    (ax + bx, ay + by)
}

/// Reused buffers of the group traversal.
#[derive(Debug, Clone, Default)]
struct Lists {
    /// Approximated cells: (centre of mass x, y, mass).
    far: Vec<(f64, f64, f64)>,
    /// Points interacted with exactly.
    near: Vec<u32>,
    /// Their coordinates, contiguous for the per-point loops.
    near_xy: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Cell {
    x0: f64,
    y0: f64,
    size: f64,
    cx: f64,
    cy: f64,
    mass: f64,
    max_r: f64,
    children: [u32; 4],
    /// Leaf: range of points in `perm`.
    start: u32,
    len: u32,
    leaf: bool,
}

/// The tree; `rebuild` before each use.
#[derive(Debug, Clone, Default)]
pub(crate) struct QuadTree {
    cells: Vec<Cell>,
    perm: Vec<u32>,
    scratch: Vec<u32>,
    stack: Vec<u32>,
    lists: Lists,
}

impl QuadTree {
    /// Rebuilds over points `(xs[i], ys[i])` with radii `rs[i]`.
    pub(crate) fn rebuild(&mut self, xs: &[f64], ys: &[f64], rs: &[f64]) {
        self.cells.clear();
        self.perm.clear();
        let n = xs.len();
        if n == 0 {
            return;
        }
        self.perm.extend(0..n as u32);
        self.scratch.resize(n, 0);
        let (mut minx, mut miny, mut maxx, mut maxy) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for i in 0..n {
            minx = minx.min(xs[i]);
            maxx = maxx.max(xs[i]);
            miny = miny.min(ys[i]);
            maxy = maxy.max(ys[i]);
        }
        let size = (maxx - minx).max(maxy - miny).max(1.0) * 1.000_001 + 1e-6;
        self.build(0, n, minx, miny, size, 0, xs, ys, rs);
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        &mut self,
        start: usize,
        end: usize,
        x0: f64,
        y0: f64,
        size: f64,
        depth: u32,
        xs: &[f64],
        ys: &[f64],
        rs: &[f64],
    ) -> u32 {
        let id = self.cells.len() as u32;
        self.cells.push(Cell {
            x0,
            y0,
            size,
            cx: 0.0,
            cy: 0.0,
            mass: 0.0,
            max_r: 0.0,
            children: [NONE; 4],
            start: start as u32,
            len: (end - start) as u32,
            leaf: true,
        });
        if end - start <= LEAF_CAP || depth >= MAX_DEPTH {
            let (mut sx, mut sy, mut mr) = (0.0, 0.0, 0.0f64);
            for &p in &self.perm[start..end] {
                let p = p as usize;
                sx += xs[p];
                sy += ys[p];
                mr = mr.max(rs[p]);
            }
            let m = (end - start) as f64;
            let c = &mut self.cells[id as usize];
            c.cx = sx / m;
            c.cy = sy / m;
            c.mass = m;
            c.max_r = mr;
            return id;
        }
        let half = size / 2.0;
        let (mx, my) = (x0 + half, y0 + half);
        let quadrant = |p: u32| -> usize {
            usize::from(xs[p as usize] >= mx) + 2 * usize::from(ys[p as usize] >= my)
        };
        let mut counts = [0usize; 4];
        for &p in &self.perm[start..end] {
            counts[quadrant(p)] += 1;
        }
        let mut offsets = [start; 4];
        for q in 1..4 {
            offsets[q] = offsets[q - 1] + counts[q - 1];
        }
        let bounds = offsets;
        for i in start..end {
            let p = self.perm[i];
            let q = quadrant(p);
            self.scratch[offsets[q]] = p;
            offsets[q] += 1;
        }
        self.perm[start..end].copy_from_slice(&self.scratch[start..end]);
        let mut children = [NONE; 4];
        for q in 0..4 {
            if counts[q] == 0 {
                continue;
            }
            let cx0 = if q & 1 == 1 { mx } else { x0 };
            let cy0 = if q & 2 == 2 { my } else { y0 };
            let s = bounds[q];
            children[q] = self.build(s, s + counts[q], cx0, cy0, half, depth + 1, xs, ys, rs);
        }
        let (mut sx, mut sy, mut m, mut mr) = (0.0, 0.0, 0.0, 0.0f64);
        for &ch in children.iter().filter(|c| **c != NONE) {
            let c = &self.cells[ch as usize];
            sx += c.cx * c.mass;
            sy += c.cy * c.mass;
            m += c.mass;
            mr = mr.max(c.max_r);
        }
        let c = &mut self.cells[id as usize];
        c.cx = sx / m;
        c.cy = sy / m;
        c.mass = m;
        c.max_r = mr;
        c.children = children;
        c.leaf = false;
        id
    }

    /// Barnes–Hut many-body forces on every active point, added to
    /// `fx`/`fy`: `Σ strength·mass·d / |d|²` (d from the point to the source).
    /// Points of one leaf share one traversal: a cell is approximated only if
    /// it is far enough from the leaf's whole bounding box (so from each of
    /// its points), else opened. Cells within collision reach are always
    /// opened, and pairs closer than their radii plus padding are pushed to
    /// `pairs` (each pair of active points once, by the lower index).
    /// Coincident points exert no force on each other (the caller's
    /// collision step separates them).
    pub(crate) fn forces(
        &mut self,
        inp: &ForceInput<'_>,
        fx: &mut [f64],
        fy: &mut [f64],
        pairs: &mut Vec<(u32, u32)>,
    ) {
        let mut lists = std::mem::take(&mut self.lists);
        for leaf in 0..self.cells.len() {
            let cell = self.cells[leaf];
            if !cell.leaf || cell.len == 0 {
                continue;
            }
            let pts = &self.perm[cell.start as usize..(cell.start + cell.len) as usize];
            if !pts.iter().any(|&p| inp.active[p as usize]) {
                continue;
            }
            // The leaf's points' bounding box and largest collision reach.
            let (mut gx0, mut gy0, mut gx1, mut gy1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
            let mut reach = 0.0f64;
            for &p in pts {
                let p = p as usize;
                gx0 = gx0.min(inp.xs[p]);
                gx1 = gx1.max(inp.xs[p]);
                gy0 = gy0.min(inp.ys[p]);
                gy1 = gy1.max(inp.ys[p]);
                reach = reach.max(inp.rs[p] + inp.padding);
            }
            lists.far.clear();
            lists.near.clear();
            self.stack.clear();
            self.stack.push(0);
            while let Some(c) = self.stack.pop() {
                let other = &self.cells[c as usize];
                if c as usize == leaf {
                    lists.near.extend_from_slice(pts);
                    continue;
                }
                let dx = (gx0 - other.cx).max(other.cx - gx1).max(0.0);
                let dy = (gy0 - other.cy).max(other.cy - gy1).max(0.0);
                if other.size * other.size < inp.theta2 * (dx * dx + dy * dy) {
                    let bx = (other.x0 - gx1).max(gx0 - other.x0 - other.size).max(0.0);
                    let by = (other.y0 - gy1).max(gy0 - other.y0 - other.size).max(0.0);
                    let r = reach + other.max_r;
                    if bx * bx + by * by > r * r {
                        lists.far.push((other.cx, other.cy, other.mass));
                        continue;
                    }
                }
                if other.leaf {
                    let (s, len) = (other.start as usize, other.len as usize);
                    lists.near.extend_from_slice(&self.perm[s..s + len]);
                } else {
                    for &ch in &other.children {
                        if ch != NONE {
                            self.stack.push(ch);
                        }
                    }
                }
            }
            lists.near_xy.clear();
            lists.near_xy.extend(
                lists
                    .near
                    .iter()
                    .map(|&q| (inp.xs[q as usize], inp.ys[q as usize])),
            );
            // One source list: far cells, then near points with mass 1.
            // Self and coincident points need no test: their d is (0, 0).
            lists
                .far
                .extend(lists.near_xy.iter().map(|&(x, y)| (x, y, 1.0)));
            for &p in pts {
                let i = p as usize;
                if !inp.active[i] {
                    continue;
                }
                let (x, y) = (inp.xs[i], inp.ys[i]);
                let (sx, sy) = pull(&lists.far, x, y);
                fx[i] += sx * inp.strength;
                fy[i] += sy * inp.strength;
                let ri = inp.rs[i] + inp.padding;
                for (&q, &(qx, qy)) in lists.near.iter().zip(&lists.near_xy) {
                    let j = q as usize;
                    if j == i || (inp.active[j] && j < i) {
                        continue;
                    }
                    let (dx, dy) = (qx - x, qy - y);
                    let r = ri + inp.rs[j];
                    if dx * dx + dy * dy < r * r {
                        pairs.push((p, q));
                    }
                }
            }
        }
        self.lists = lists;
    }

    /// Calls `f(j)` for every point `j ≠ i` whose circle may overlap the circle
    /// of radius `r` at `(x, y)` (a superset; the caller checks distances).
    pub(crate) fn near(&mut self, i: usize, x: f64, y: f64, r: f64, mut f: impl FnMut(usize)) {
        if self.cells.is_empty() {
            return;
        }
        self.stack.clear();
        self.stack.push(0);
        while let Some(c) = self.stack.pop() {
            let cell = &self.cells[c as usize];
            let reach = r + cell.max_r;
            if x + reach < cell.x0
                || x - reach > cell.x0 + cell.size
                || y + reach < cell.y0
                || y - reach > cell.y0 + cell.size
            {
                continue;
            }
            if cell.leaf {
                let (s, len) = (cell.start as usize, cell.len as usize);
                for &p in &self.perm[s..s + len] {
                    if p as usize != i {
                        f(p as usize);
                    }
                }
            } else {
                self.stack
                    .extend(cell.children.iter().copied().filter(|ch| *ch != NONE));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(i: usize, xs: &[f64], ys: &[f64], strength: f64) -> (f64, f64) {
        let (mut fx, mut fy) = (0.0, 0.0);
        for j in 0..xs.len() {
            if j == i {
                continue;
            }
            let (dx, dy) = (xs[j] - xs[i], ys[j] - ys[i]);
            let l = dx * dx + dy * dy;
            if l == 0.0 {
                continue;
            }
            let l = l.max(1.0);
            fx += dx * strength / l;
            fy += dy * strength / l;
        }
        (fx, fy)
    }

    fn all_forces(
        t: &mut QuadTree,
        xs: &[f64],
        ys: &[f64],
        theta2: f64,
        reach: f64,
    ) -> (Vec<f64>, Vec<f64>, Vec<(u32, u32)>) {
        let rs = vec![reach / 2.0; xs.len()];
        let active = vec![true; xs.len()];
        let inp = ForceInput {
            xs,
            ys,
            rs: &rs,
            active: &active,
            theta2,
            strength: -30.0,
            padding: 0.0,
        };
        let (mut fx, mut fy, mut pairs) = (vec![0.0; xs.len()], vec![0.0; xs.len()], Vec::new());
        t.forces(&inp, &mut fx, &mut fy, &mut pairs);
        (fx, fy, pairs)
    }

    #[test]
    fn theta_zero_is_exact_and_small_theta_is_close() {
        let n = 300;
        let xs: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 * 0.37).collect();
        let ys: Vec<f64> = (0..n)
            .map(|i| ((i * 104_729) % 997) as f64 * 0.41)
            .collect();
        let rs = vec![1.0; n];
        let mut t = QuadTree::default();
        t.rebuild(&xs, &ys, &rs);
        let (ax, ay, _) = all_forces(&mut t, &xs, &ys, 0.0, 2.0);
        let (bx, by, _) = all_forces(&mut t, &xs, &ys, 0.25, 2.0);
        let (cx, cy, _) = all_forces(&mut t, &xs, &ys, 1.44, 2.0);
        for i in 0..n {
            let (ex, ey) = exact(i, &xs, &ys, -30.0);
            assert!((ex - ax[i]).abs() < 1e-9 && (ey - ay[i]).abs() < 1e-9);
            let mag = (ex * ex + ey * ey).sqrt();
            let err = ((ex - bx[i]).powi(2) + (ey - by[i]).powi(2)).sqrt();
            assert!(
                err <= 0.05 * mag + 1e-6,
                "θ=0.5: error {err} vs magnitude {mag}"
            );
            let err = ((ex - cx[i]).powi(2) + (ey - cy[i]).powi(2)).sqrt();
            assert!(
                err <= 0.5 * mag + 1e-3,
                "θ=1.2: error {err} vs magnitude {mag}"
            );
        }
    }

    #[test]
    fn near_finds_every_overlapping_point() {
        let xs: Vec<f64> = (0..200).map(|i| (i % 20) as f64 * 10.0).collect();
        let ys: Vec<f64> = (0..200).map(|i| (i / 20) as f64 * 10.0).collect();
        let rs = vec![6.0; 200];
        let mut t = QuadTree::default();
        t.rebuild(&xs, &ys, &rs);
        let (_, _, pairs) = all_forces(&mut t, &xs, &ys, 1.44, 12.0);
        for i in 0..200 {
            let mut found = Vec::new();
            t.near(i, xs[i], ys[i], 6.0, |j| found.push(j));
            for j in 0..200 {
                let d = ((xs[i] - xs[j]).powi(2) + (ys[i] - ys[j]).powi(2)).sqrt();
                if j != i && d < 12.0 {
                    assert!(found.contains(&j), "{i} misses {j}");
                    let pair = (i.min(j) as u32, i.max(j) as u32);
                    assert!(pairs.contains(&pair), "forces miss pair {pair:?}");
                }
            }
        }
        assert!(pairs.iter().all(|(a, b)| a < b));
    }

    #[test]
    fn coincident_points_do_not_recurse_forever() {
        let xs = vec![5.0; 1000];
        let ys = vec![5.0; 1000];
        let rs = vec![1.0; 1000];
        let mut t = QuadTree::default();
        t.rebuild(&xs, &ys, &rs);
        let (fx, fy, pairs) = all_forces(&mut t, &xs, &ys, 0.81, 2.0);
        assert!(fx.iter().chain(&fy).all(|f| f.is_finite()));
        assert_eq!(pairs.len(), 1000 * 999 / 2);
    }
}
