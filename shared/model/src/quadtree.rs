//! A Barnes–Hut quadtree over the layout's points: centre of mass per cell
//! for approximate many-body repulsion, and the largest radius per cell for
//! collision queries. Rebuilt every tick into reused buffers.
//!
//! Cells are stored in depth-first preorder with a skip index (the first
//! cell after the subtree): children are found without pointers, and a
//! range query ([`QuadTree::near`]) is one loop over the array with no
//! stack. Points are stored in tree order, each leaf's points contiguous.
//! Forces use a dual-tree walk (see [`QuadTree::forces`]), so the upper
//! levels are tested once per target cell instead of once per leaf.
//!
//! The hot sum and the hot test have WASM SIMD versions (`simd128`, two f64
//! lanes, built when that target feature is on) that compute exactly what
//! the scalar versions compute, operation for operation: a layout is the
//! same, bit for bit, with and without SIMD.

/// Below this depth cells split; deeper (coincident points) they stay leaves.
const MAX_DEPTH: u32 = 40;
/// Points a leaf holds before it splits.
const LEAF_CAP: usize = 16;

/// Inputs of one many-body pass (over the points of the last `rebuild`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ForceInput<'a> {
    /// Points that receive forces; the others only exert them.
    pub(crate) active: &'a [bool],
    /// Barnes–Hut θ².
    pub(crate) theta2: f64,
    /// Many-body strength (negative repels), already scaled by alpha.
    pub(crate) strength: f64,
    /// Collision candidates are pairs closer than `r_i + r_j + padding`.
    pub(crate) padding: f64,
}

/// `a` if it is larger, else `b` (no NaN handling: one compare and select,
/// where `f64::max` costs a NaN fix-up, notably in WASM).
#[inline(always)]
fn fmax(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

#[inline(always)]
fn fmin(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

/// The end of [`pull`], shared by both versions: the sources left over
/// after the groups of four go into lane 0, then the lanes are summed in a
/// fixed order (so the scalar and SIMD builds give the same bits).
#[inline(always)]
fn pull_finish(
    mut ax: [f64; 4],
    mut ay: [f64; 4],
    (rx, ry, rm): (&[f64], &[f64], &[f64]),
    x: f64,
    y: f64,
) -> (f64, f64) {
    for ((px, py), pm) in rx.iter().zip(ry).zip(rm) {
        let (dx, dy) = (px - x, py - y);
        let w = pm / fmax(dx * dx + dy * dy, 1.0);
        ax[0] += dx * w;
        ay[0] += dy * w;
    }
    (
        (ax[0] + ax[1]) + (ax[2] + ax[3]),
        (ay[0] + ay[1]) + (ay[2] + ay[3]),
    )
}

/// `Σ m·d / max(|d|², 1)` over the sources `(sx, sy, sm)` (d from `(x, y)`
/// to the source; closer than 1 px is softened like d3's distanceMin; a
/// coincident source adds 0). Four independent accumulators keep the
/// additions out of one dependency chain.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline]
fn pull(sx: &[f64], sy: &[f64], sm: &[f64], x: f64, y: f64) -> (f64, f64) {
    let n = sx.len().min(sy.len()).min(sm.len());
    let (sx, sy, sm) = (&sx[..n], &sy[..n], &sm[..n]);
    let mut ax = [0.0f64; 4];
    let mut ay = [0.0f64; 4];
    let mut cx = sx.chunks_exact(4);
    let mut cy = sy.chunks_exact(4);
    let mut cm = sm.chunks_exact(4);
    for ((px, py), pm) in (&mut cx).zip(&mut cy).zip(&mut cm) {
        for l in 0..4 {
            let (dx, dy) = (px[l] - x, py[l] - y);
            let w = pm[l] / fmax(dx * dx + dy * dy, 1.0);
            ax[l] += dx * w;
            ay[l] += dy * w;
        }
    }
    pull_finish(
        ax,
        ay,
        (cx.remainder(), cy.remainder(), cm.remainder()),
        x,
        y,
    )
}

/// [`pull`] with WASM SIMD: two lanes of f64, two accumulators each (the
/// same lane layout as the scalar version, so the same sums).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn pull(sx: &[f64], sy: &[f64], sm: &[f64], x: f64, y: f64) -> (f64, f64) {
    use core::arch::wasm32::{
        f64x2, f64x2_add, f64x2_div, f64x2_extract_lane, f64x2_mul, f64x2_pmax, f64x2_splat,
        f64x2_sub,
    };
    let n = sx.len().min(sy.len()).min(sm.len());
    let (sx, sy, sm) = (&sx[..n], &sy[..n], &sm[..n]);
    let (vx, vy, one) = (f64x2_splat(x), f64x2_splat(y), f64x2_splat(1.0));
    let zero = f64x2_splat(0.0);
    let (mut ax01, mut ax23, mut ay01, mut ay23) = (zero, zero, zero, zero);
    let mut cx = sx.chunks_exact(4);
    let mut cy = sy.chunks_exact(4);
    let mut cm = sm.chunks_exact(4);
    for ((px, py), pm) in (&mut cx).zip(&mut cy).zip(&mut cm) {
        let dx01 = f64x2_sub(f64x2(px[0], px[1]), vx);
        let dx23 = f64x2_sub(f64x2(px[2], px[3]), vx);
        let dy01 = f64x2_sub(f64x2(py[0], py[1]), vy);
        let dy23 = f64x2_sub(f64x2(py[2], py[3]), vy);
        let d01 = f64x2_add(f64x2_mul(dx01, dx01), f64x2_mul(dy01, dy01));
        let d23 = f64x2_add(f64x2_mul(dx23, dx23), f64x2_mul(dy23, dy23));
        // pmax(d, 1) = if d < 1 { 1 } else { d }, as `fmax(d, 1.0)`.
        let w01 = f64x2_div(f64x2(pm[0], pm[1]), f64x2_pmax(d01, one));
        let w23 = f64x2_div(f64x2(pm[2], pm[3]), f64x2_pmax(d23, one));
        ax01 = f64x2_add(ax01, f64x2_mul(dx01, w01));
        ax23 = f64x2_add(ax23, f64x2_mul(dx23, w23));
        ay01 = f64x2_add(ay01, f64x2_mul(dy01, w01));
        ay23 = f64x2_add(ay23, f64x2_mul(dy23, w23));
    }
    let lane = |v, l| match l {
        0 => f64x2_extract_lane::<0>(v),
        _ => f64x2_extract_lane::<1>(v),
    };
    let ax = [lane(ax01, 0), lane(ax01, 1), lane(ax23, 0), lane(ax23, 1)];
    let ay = [lane(ay01, 0), lane(ay01, 1), lane(ay23, 0), lane(ay23, 1)];
    pull_finish(
        ax,
        ay,
        (cx.remainder(), cy.remainder(), cm.remainder()),
        x,
        y,
    )
}

/// Reused buffers of the traversal.
#[derive(Debug, Clone, Default)]
struct Lists {
    /// Sources of the many-body sum: far cells (centre of mass and mass)
    /// of the target cell and its ancestors, then, at a leaf, the points of
    /// its near leaves (mass 1).
    sx: Vec<f64>,
    sy: Vec<f64>,
    sm: Vec<f64>,
    /// Candidate source cells handed down to each target cell on the path.
    cand: Vec<u32>,
    /// Cells still to test against the current target.
    work: Vec<u32>,
    /// Leaves interacted with exactly by the current target leaf.
    near: Vec<u32>,
    /// Points (tree order) within collision reach of the target leaf.
    close: Vec<u32>,
    /// Cell holds an active point.
    live: Vec<bool>,
}

/// A cell as a source (and its place in the tree): what the walk reads.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Cell {
    /// Centre of mass.
    cx: f64,
    cy: f64,
    mass: f64,
    /// Side of the quadrant, squared (the Barnes–Hut size).
    size2: f64,
    /// Box of the points' circles: the points' box grown by the largest
    /// radius.
    ex0: f64,
    ey0: f64,
    ex1: f64,
    ey1: f64,
    /// First cell after this subtree (`id + 1` for a leaf).
    skip: u32,
    /// Points `start..end` in tree order.
    start: u32,
    end: u32,
}

/// A cell as a target: its points' box and largest radius.
#[derive(Debug, Clone, Copy, Default)]
struct Bounds {
    bx0: f64,
    by0: f64,
    bx1: f64,
    by1: f64,
    max_r: f64,
}

/// A target cell during the walk: its points' box, and that box grown by
/// the largest collision reach of its points (radius plus padding).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Target {
    bx0: f64,
    by0: f64,
    bx1: f64,
    by1: f64,
    hx0: f64,
    hy0: f64,
    hx1: f64,
    hy1: f64,
}

impl Target {
    fn new(b: &Bounds, padding: f64) -> Self {
        let r = b.max_r + padding;
        Target {
            bx0: b.bx0,
            by0: b.by0,
            bx1: b.bx1,
            by1: b.by1,
            hx0: b.bx0 - r,
            hy0: b.by0 - r,
            hx1: b.bx1 + r,
            hy1: b.by1 + r,
        }
    }
}

impl Cell {
    #[inline(always)]
    fn is_leaf(&self, id: usize) -> bool {
        self.skip as usize == id + 1
    }
}

/// Source cell `b` may be approximated by its centre of mass for every
/// point of target `t`: far enough from `t`'s points' box for θ, and no
/// circle of `b` within collision reach of one of `t`'s.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn far(t: &Target, b: &Cell, theta2: f64) -> bool {
    let dx = fmax(fmax(t.bx0 - b.cx, b.cx - t.bx1), 0.0);
    let dy = fmax(fmax(t.by0 - b.cy, b.cy - t.by1), 0.0);
    let touch = (b.ex0 <= t.hx1) & (t.hx0 <= b.ex1) & (b.ey0 <= t.hy1) & (t.hy0 <= b.ey1);
    (b.size2 < theta2 * (dx * dx + dy * dy)) & !touch
}

/// [`far`] with WASM SIMD: x and y in the two lanes.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn far(t: &Target, b: &Cell, theta2: f64) -> bool {
    use core::arch::wasm32::{
        f64x2, f64x2_extract_lane, f64x2_le, f64x2_mul, f64x2_pmax, f64x2_splat, f64x2_sub,
        i64x2_all_true, v128_and,
    };
    let c = f64x2(b.cx, b.cy);
    let d = f64x2_pmax(
        f64x2_pmax(
            f64x2_sub(f64x2(t.bx0, t.by0), c),
            f64x2_sub(c, f64x2(t.bx1, t.by1)),
        ),
        f64x2_splat(0.0),
    );
    let d2 = f64x2_mul(d, d);
    let d2 = f64x2_extract_lane::<0>(d2) + f64x2_extract_lane::<1>(d2);
    let touch = i64x2_all_true(v128_and(
        f64x2_le(f64x2(b.ex0, b.ey0), f64x2(t.hx1, t.hy1)),
        f64x2_le(f64x2(t.hx0, t.hy0), f64x2(b.ex1, b.ey1)),
    ));
    (b.size2 < theta2 * d2) & !touch
}

/// The state of one many-body pass.
struct Pass<'a, 'b> {
    cells: &'a [Cell],
    bounds: &'a [Bounds],
    perm: &'a [u32],
    px: &'a [f64],
    py: &'a [f64],
    pr: &'a [f64],
    pact: &'a [bool],
    inp: &'a ForceInput<'b>,
    l: &'a mut Lists,
    /// Sources in use (`l.sx[..ns]`, …).
    ns: usize,
    fx: &'a mut [f64],
    fy: &'a mut [f64],
    pairs: &'a mut Vec<(u32, u32)>,
}

impl Pass<'_, '_> {
    /// Target cell `a` against the candidates `cand[c0..]` handed down by
    /// its parent: far ones become sources for all of `a`'s points; a
    /// candidate larger than `a` is opened; the others are handed down to
    /// `a`'s children (at a leaf: opened down to leaves, which interact
    /// exactly).
    fn visit(&mut self, a: usize, c0: usize) {
        let cells = self.cells;
        let ca = &cells[a];
        let theta2 = self.inp.theta2;
        let t = Target::new(&self.bounds[a], self.inp.padding);
        let s0 = self.ns;
        let c1 = self.l.cand.len();
        self.l.work.clear();
        self.l.work.extend_from_slice(&self.l.cand[c0..c1]);
        let leaf = ca.is_leaf(a);
        if leaf {
            self.l.near.clear();
        }
        let l = &mut *self.l;
        let mut ns = s0;
        while let Some(b) = l.work.pop() {
            let b = b as usize;
            let cb = &cells[b];
            // Written always, kept if far (the buffers have room for every
            // cell and every point).
            l.sx[ns] = cb.cx;
            l.sy[ns] = cb.cy;
            l.sm[ns] = cb.mass;
            if far(&t, cb, theta2) {
                ns += 1;
            } else if cb.is_leaf(b) {
                if leaf {
                    l.near.push(b as u32);
                } else {
                    l.cand.push(b as u32);
                }
            } else if leaf || cb.size2 > ca.size2 {
                push_children(cells, b, &mut l.work);
            } else {
                l.cand.push(b as u32);
            }
        }
        self.ns = ns;
        if leaf {
            self.leaf(a);
        } else {
            let c2 = self.l.cand.len();
            let (mut ch, end) = (a + 1, ca.skip as usize);
            while ch < end {
                if self.l.live[ch] {
                    self.visit(ch, c1);
                    self.ns = ns;
                    self.l.cand.truncate(c2);
                }
                ch = cells[ch].skip as usize;
            }
        }
        self.ns = s0;
        self.l.cand.truncate(c1);
    }

    /// Forces and collision candidates of leaf `a`'s active points, from
    /// the sources gathered on the way down and the points of `l.near`.
    fn leaf(&mut self, a: usize) {
        let ca = &self.cells[a];
        let (px, py, pr, perm, pact) = (self.px, self.py, self.pr, self.perm, self.pact);
        let t = Target::new(&self.bounds[a], self.inp.padding);
        let (hx0, hy0, hx1, hy1) = (t.hx0, t.hy0, t.hx1, t.hy1);
        let l = &mut *self.l;
        l.close.clear();
        let mut ns = self.ns;
        for &b in &l.near {
            let cb = &self.cells[b as usize];
            let (s, e) = (cb.start as usize, cb.end as usize);
            let len = e - s;
            l.sx[ns..ns + len].copy_from_slice(&px[s..e]);
            l.sy[ns..ns + len].copy_from_slice(&py[s..e]);
            l.sm[ns..ns + len].fill(1.0);
            ns += len;
            if (cb.ex0 <= hx1) & (hx0 <= cb.ex1) & (cb.ey0 <= hy1) & (hy0 <= cb.ey1) {
                for q in s..e {
                    let r = pr[q];
                    if (px[q] + r >= hx0)
                        & (px[q] - r <= hx1)
                        & (py[q] + r >= hy0)
                        & (py[q] - r <= hy1)
                    {
                        l.close.push(q as u32);
                    }
                }
            }
        }
        let (sx, sy, sm) = (&l.sx[..ns], &l.sy[..ns], &l.sm[..ns]);
        let strength = self.inp.strength;
        let padding = self.inp.padding;
        for k in ca.start as usize..ca.end as usize {
            if !pact[k] {
                continue;
            }
            let (x, y) = (px[k], py[k]);
            let (ax, ay) = pull(sx, sy, sm, x, y);
            let i = perm[k];
            self.fx[i as usize] += ax * strength;
            self.fy[i as usize] += ay * strength;
            let ri = pr[k] + padding;
            for &q in &l.close {
                let q = q as usize;
                let j = perm[q];
                if q == k || (pact[q] && j < i) {
                    continue;
                }
                let (dx, dy) = (px[q] - x, py[q] - y);
                let r = ri + pr[q];
                if dx * dx + dy * dy < r * r {
                    self.pairs.push((i, j));
                }
            }
        }
    }
}

/// Points of one tree level, in `src`, go to `dst` sorted by quadrant of
/// `(mx, my)` (stable); returns the count per quadrant.
#[allow(clippy::type_complexity)]
fn partition(
    src: (&[f64], &[f64], &[f64], &[u32]),
    dst: (&mut [f64], &mut [f64], &mut [f64], &mut [u32]),
    quad: &mut [u8],
    mx: f64,
    my: f64,
) -> [usize; 4] {
    let mut counts = [0usize; 4];
    for ((q, &x), &y) in quad.iter_mut().zip(src.0).zip(src.1) {
        *q = u8::from(x >= mx) + 2 * u8::from(y >= my);
        counts[usize::from(*q & 3)] += 1;
    }
    let mut at = [0usize; 4];
    for q in 1..4 {
        at[q] = at[q - 1] + counts[q - 1];
    }
    for (k, &q) in quad.iter().enumerate() {
        let q = usize::from(q & 3);
        let to = at[q];
        at[q] += 1;
        dst.0[to] = src.0[k];
        dst.1[to] = src.1[k];
        dst.2[to] = src.2[k];
        dst.3[to] = src.3[k];
    }
    counts
}

/// Pushes the children of internal cell `b`.
#[inline(always)]
fn push_children(cells: &[Cell], b: usize, work: &mut Vec<u32>) {
    let (mut ch, end) = (b + 1, cells[b].skip as usize);
    while ch < end {
        work.push(ch as u32);
        ch = cells[ch].skip as usize;
    }
}

/// The tree; `rebuild` before each use.
#[derive(Debug, Clone, Default)]
pub(crate) struct QuadTree {
    cells: Vec<Cell>,
    bounds: Vec<Bounds>,
    /// Point index by tree order, and the points' coordinates and radii in
    /// tree order.
    perm: Vec<u32>,
    px: Vec<f64>,
    py: Vec<f64>,
    pr: Vec<f64>,
    /// Active flags in tree order (filled by `forces`).
    pact: Vec<bool>,
    /// The other half of the build's ping-pong buffers (`px`, `py`, `pr`,
    /// `perm`) and each point's quadrant.
    alt: (Vec<f64>, Vec<f64>, Vec<f64>, Vec<u32>),
    quad: Vec<u8>,
    lists: Lists,
}

impl QuadTree {
    /// Rebuilds over points `(xs[i], ys[i])` with radii `rs[i]`.
    pub(crate) fn rebuild(&mut self, xs: &[f64], ys: &[f64], rs: &[f64]) {
        self.cells.clear();
        self.bounds.clear();
        self.perm.clear();
        self.px.clear();
        self.py.clear();
        self.pr.clear();
        let n = xs.len().min(ys.len()).min(rs.len());
        if n == 0 {
            return;
        }
        self.perm.extend(0..n as u32);
        self.px.extend_from_slice(&xs[..n]);
        self.py.extend_from_slice(&ys[..n]);
        self.pr.extend_from_slice(&rs[..n]);
        self.alt.0.resize(n, 0.0);
        self.alt.1.resize(n, 0.0);
        self.alt.2.resize(n, 0.0);
        self.alt.3.resize(n, 0);
        self.quad.resize(n, 0);
        let (mut minx, mut miny, mut maxx, mut maxy) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for i in 0..n {
            minx = fmin(minx, xs[i]);
            maxx = fmax(maxx, xs[i]);
            miny = fmin(miny, ys[i]);
            maxy = fmax(maxy, ys[i]);
        }
        let size = fmax(fmax(maxx - minx, maxy - miny), 1.0) * 1.000_001 + 1e-6;
        self.build(0, n, minx, miny, size, 0, true);
    }

    /// Builds the cell for points `start..end` (tree order) and, below it,
    /// its subtree, in preorder. The points are in `px`, `py`, `pr`, `perm`
    /// if `in_main`, else in `alt`; each split moves them to the other side,
    /// and leaves move them back to the main side.
    #[allow(clippy::too_many_arguments)]
    fn build(
        &mut self,
        start: usize,
        end: usize,
        x0: f64,
        y0: f64,
        size: f64,
        depth: u32,
        in_main: bool,
    ) {
        let id = self.cells.len();
        self.cells.push(Cell {
            cx: 0.0,
            cy: 0.0,
            mass: 0.0,
            size2: size * size,
            ex0: 0.0,
            ey0: 0.0,
            ex1: 0.0,
            ey1: 0.0,
            skip: id as u32 + 1,
            start: start as u32,
            end: end as u32,
        });
        self.bounds.push(Bounds::default());
        if end - start <= LEAF_CAP || depth >= MAX_DEPTH {
            if !in_main {
                let r = start..end;
                self.px[r.clone()].copy_from_slice(&self.alt.0[r.clone()]);
                self.py[r.clone()].copy_from_slice(&self.alt.1[r.clone()]);
                self.pr[r.clone()].copy_from_slice(&self.alt.2[r.clone()]);
                self.perm[r.clone()].copy_from_slice(&self.alt.3[r]);
            }
            let (mut sx, mut sy, mut mr) = (0.0, 0.0, 0.0f64);
            let (mut bx0, mut by0, mut bx1, mut by1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
            for k in start..end {
                let (x, y) = (self.px[k], self.py[k]);
                sx += x;
                sy += y;
                bx0 = fmin(bx0, x);
                bx1 = fmax(bx1, x);
                by0 = fmin(by0, y);
                by1 = fmax(by1, y);
                mr = fmax(mr, self.pr[k]);
            }
            let m = (end - start) as f64;
            let extent = [bx0 - mr, by0 - mr, bx1 + mr, by1 + mr];
            let bounds = Bounds {
                bx0,
                by0,
                bx1,
                by1,
                max_r: mr,
            };
            self.finish_cell(id, (sx, sy, m), extent, bounds);
            return;
        }
        let half = size / 2.0;
        let (mx, my) = (x0 + half, y0 + half);
        let r = start..end;
        let quad = &mut self.quad[r.clone()];
        let counts = if in_main {
            let src = (
                &self.px[r.clone()],
                &self.py[r.clone()],
                &self.pr[r.clone()],
                &self.perm[r.clone()],
            );
            let a = &mut self.alt;
            let dst = (
                &mut a.0[r.clone()],
                &mut a.1[r.clone()],
                &mut a.2[r.clone()],
                &mut a.3[r],
            );
            partition(src, dst, quad, mx, my)
        } else {
            let a = &self.alt;
            let src = (
                &a.0[r.clone()],
                &a.1[r.clone()],
                &a.2[r.clone()],
                &a.3[r.clone()],
            );
            let dst = (
                &mut self.px[r.clone()],
                &mut self.py[r.clone()],
                &mut self.pr[r.clone()],
                &mut self.perm[r],
            );
            partition(src, dst, quad, mx, my)
        };
        let mut bounds = [0usize; 4];
        for q in 1..4 {
            bounds[q] = bounds[q - 1] + counts[q - 1];
        }
        for q in 0..4 {
            if counts[q] == 0 {
                continue;
            }
            let cx0 = if q & 1 == 1 { mx } else { x0 };
            let cy0 = if q & 2 == 2 { my } else { y0 };
            let s = start + bounds[q];
            self.build(s, s + counts[q], cx0, cy0, half, depth + 1, !in_main);
        }
        let skip = self.cells.len();
        let (mut sx, mut sy, mut m, mut mr) = (0.0, 0.0, 0.0, 0.0f64);
        let (mut bx0, mut by0, mut bx1, mut by1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        let (mut ex0, mut ey0, mut ex1, mut ey1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        let mut ch = id + 1;
        while ch < skip {
            let (c, b) = (&self.cells[ch], &self.bounds[ch]);
            sx += c.cx * c.mass;
            sy += c.cy * c.mass;
            m += c.mass;
            mr = fmax(mr, b.max_r);
            bx0 = fmin(bx0, b.bx0);
            by0 = fmin(by0, b.by0);
            bx1 = fmax(bx1, b.bx1);
            by1 = fmax(by1, b.by1);
            ex0 = fmin(ex0, c.ex0);
            ey0 = fmin(ey0, c.ey0);
            ex1 = fmax(ex1, c.ex1);
            ey1 = fmax(ey1, c.ey1);
            ch = c.skip as usize;
        }
        self.cells[id].skip = skip as u32;
        let bounds = Bounds {
            bx0,
            by0,
            bx1,
            by1,
            max_r: mr,
        };
        self.finish_cell(id, (sx, sy, m), [ex0, ey0, ex1, ey1], bounds);
    }

    /// Stores a built cell's centre of mass (from the sums of its points'
    /// coordinates and its mass), its extent and its points' box.
    fn finish_cell(
        &mut self,
        id: usize,
        (sx, sy, m): (f64, f64, f64),
        [ex0, ey0, ex1, ey1]: [f64; 4],
        bounds: Bounds,
    ) {
        let c = &mut self.cells[id];
        c.cx = sx / m;
        c.cy = sy / m;
        c.mass = m;
        (c.ex0, c.ey0, c.ex1, c.ey1) = (ex0, ey0, ex1, ey1);
        self.bounds[id] = bounds;
    }

    /// Barnes–Hut many-body forces on every active point, added to
    /// `fx`/`fy`: `Σ strength·mass·d / |d|²` (d from the point to the source).
    /// A dual-tree walk: a source cell far enough from a target cell's
    /// points' box (so from each of its points) is approximated by its
    /// centre of mass for all of them at once, else the larger of the two is
    /// opened; leaves that stay near interact point by point. Cells within
    /// collision reach are always opened, and pairs closer than their radii
    /// plus padding are pushed to `pairs` (each pair of active points once,
    /// by the lower index). Coincident points exert no force on each other
    /// (the caller's collision step separates them).
    pub(crate) fn forces(
        &mut self,
        inp: &ForceInput<'_>,
        fx: &mut [f64],
        fy: &mut [f64],
        pairs: &mut Vec<(u32, u32)>,
    ) {
        if self.cells.is_empty() {
            return;
        }
        let mut l = std::mem::take(&mut self.lists);
        self.pact.clear();
        self.pact
            .extend(self.perm.iter().map(|&p| inp.active[p as usize]));
        // Which cells hold an active point (children follow their parent).
        let nc = self.cells.len();
        l.live.clear();
        l.live.resize(nc, false);
        for c in (0..nc).rev() {
            let cell = &self.cells[c];
            l.live[c] = if cell.is_leaf(c) {
                self.pact[cell.start as usize..cell.end as usize]
                    .iter()
                    .any(|a| *a)
            } else {
                let (mut ch, mut any) = (c + 1, false);
                while ch < cell.skip as usize {
                    any |= l.live[ch];
                    ch = self.cells[ch].skip as usize;
                }
                any
            };
        }
        if l.live[0] {
            // Room for every cell (far) and every point (near).
            for v in [&mut l.sx, &mut l.sy, &mut l.sm] {
                v.clear();
                v.resize(nc + self.perm.len(), 0.0);
            }
            l.cand.clear();
            l.cand.push(0);
            let mut pass = Pass {
                cells: &self.cells,
                bounds: &self.bounds,
                perm: &self.perm,
                px: &self.px,
                py: &self.py,
                pr: &self.pr,
                pact: &self.pact,
                inp,
                l: &mut l,
                ns: 0,
                fx,
                fy,
                pairs,
            };
            pass.visit(0, 0);
        }
        self.lists = l;
    }

    /// Calls `f(j)` for every point `j ≠ i` whose circle may overlap the circle
    /// of radius `r` at `(x, y)` (a superset; the caller checks distances).
    pub(crate) fn near(&self, i: usize, x: f64, y: f64, r: f64, mut f: impl FnMut(usize)) {
        let nc = self.cells.len();
        let mut c = 0usize;
        while c < nc {
            let cell = &self.cells[c];
            if x + r < cell.ex0 || x - r > cell.ex1 || y + r < cell.ey0 || y - r > cell.ey1 {
                c = cell.skip as usize;
                continue;
            }
            if cell.is_leaf(c) {
                for &p in &self.perm[cell.start as usize..cell.end as usize] {
                    if p as usize != i {
                        f(p as usize);
                    }
                }
            }
            c += 1;
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
        t.rebuild(xs, ys, &rs);
        let active = vec![true; xs.len()];
        let inp = ForceInput {
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
