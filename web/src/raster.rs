//! A software rasteriser for the map's shapes: edges (straight segments,
//! quadratic curves, self-loops) with their widths and colours, arrowheads,
//! node discs and their outlines, anti-aliased, into an RGBA pixel buffer
//! in WASM memory. The raster renderer (`?renderer=raster`) puts that
//! buffer on the canvas in one `putImageData` and draws only the labels
//! with Canvas 2D ([`crate::render::RasterCanvas`]). Plain Rust, no DOM:
//! the tests run natively.
//!
//! How it draws:
//! * A stroke is cut into straight pieces (a curve is flattened into a few
//!   segments, within [`FLATTEN_TOLERANCE`] px of the curve). Each piece is
//!   a convex region scanned one line at a time along its major axis (rows
//!   for a steep piece, columns for a flat one), so a line of any slope
//!   costs its length times its width in pixels, never its bounding box.
//! * Coverage is the box filter of a pixel against the stroke: the overlap
//!   of `[d - 0.5, d + 0.5]` with `[-w/2, w/2]` (`d`: distance of the
//!   pixel's centre from the line), times the same for a butt end. Lines
//!   thinner than a pixel keep their ink (peak coverage = width).
//! * Between the pieces of one curve, each pixel belongs to one piece, so
//!   joints have no seams or double-blended pixels: at a slight turn along
//!   the same major axis (most joints of a flattened curve) the major lines
//!   are split at the joint; otherwise the split is the bisector of the
//!   joint, decided by the pixel's centre. A curve is flattened once per
//!   picture ([`Bins`]), and each band paints only its pieces that reach it.
//! * Pieces are clipped to the buffer (plus a margin) before scanning, so
//!   lines far outside cost nothing and huge coordinates keep their
//!   precision; non-finite coordinates and widths `<= 0` draw nothing.
//! * Blending is source-over with premultiplied alpha, in integers
//!   (two channels per multiply), with no branch on the coverage. The
//!   middle of a piece (away from its ends) is scanned in 16.16 fixed
//!   point, and the fully covered middle of a wide stroke or a disc is
//!   stored without blending.
//! * The buffer is stored row by row (what `ImageData` takes), and a
//!   picture is painted band by band of rows ([`Bins`]), to keep the pixels
//!   being drawn in the cache.
//!
//! Key decision: shapes are painted in the order of the Canvas 2D renderer's
//! layers (all edges, then arrowheads, node discs, node outlines), edges in
//! scene order, and nodes are rasterised too: on a software canvas one
//! `putImageData` of the whole picture is cheaper than thousands of
//! anti-aliased Skia paths. Measured in headless Chromium (docs/bench/web.md),
//! 50,000 edges take a few hundred ms to a second here, not tens of ms:
//! tens of millions of pixels are touched.

use crate::palette::{rgba, EDGE_COLOURS, NEUTRAL_EDGE, NODE_COLOURS, NO_NAMESPACE_COLOUR};
use crate::scene::{EdgePath, Scene, Theme};

/// Largest distance (device px) between a curve and its flattened polyline.
pub const FLATTEN_TOLERANCE: f64 = 0.25;
/// Most segments a curve is flattened into.
pub const MAX_CURVE_SEGMENTS: usize = 128;
/// Joints turning by more than this (cosine of the angle) are not mitred:
/// both pieces end with a butt end instead.
const MITRE_MIN_COS: f64 = 0.5;
/// Stand-in for "no end" in the coverage of a piece's butt ends.
const NO_END: f32 = 1.0e9;

/// A colour with premultiplied alpha, packed as the buffer stores it:
/// memory order R, G, B, A (red in the low byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour(pub u32);

impl Colour {
    /// From straight (not premultiplied) RGBA in 0..=1.
    pub fn from_rgba(c: [f32; 4]) -> Colour {
        let a = c[3].clamp(0.0, 1.0);
        let ch = |v: f32| ((v.clamp(0.0, 1.0) * a * 255.0).round() as u32).min(255);
        let a8 = ((a * 255.0).round() as u32).min(255);
        Colour(ch(c[0]) | (ch(c[1]) << 8) | (ch(c[2]) << 16) | (a8 << 24))
    }

    /// From a CSS colour ([`crate::palette::rgba`]); None if it does not
    /// parse.
    pub fn from_css(css: &str) -> Option<Colour> {
        rgba(css).map(Colour::from_rgba)
    }

    /// Premultiplied bytes R, G, B, A.
    pub fn bytes(self) -> [u8; 4] {
        self.0.to_le_bytes()
    }

    pub fn alpha(self) -> u32 {
        self.0 >> 24
    }
}

/// Source-over of premultiplied `src` with coverage `c` (0..=256) on `dst`.
#[inline(always)]
fn blend(dst: u32, src: u32, c: u32) -> u32 {
    const M: u32 = 0x00ff_00ff;
    let s_rb = (((src & M) * c) >> 8) & M;
    let s_ag = ((((src >> 8) & M) * c) >> 8) & M;
    let inv = 256 - (s_ag >> 16);
    let d_rb = (((dst & M) * inv) >> 8) & M;
    let d_ag = ((((dst >> 8) & M) * inv) >> 8) & M;
    (s_rb + d_rb) | ((s_ag + d_ag) << 8)
}

/// Coverage 0..=1 as the blend's 0..=256.
#[inline(always)]
fn level(cov: f32) -> u32 {
    (cov * 256.0 + 0.5) as u32
}

/// The lesser of two numbers that are not NaN, by one comparison: on
/// wasm32 `f32::min` and `f64::min` are calls (`fminf`, `fmin`) for their
/// NaN rule, measured at 8 % of a frame's rasterising.
#[inline(always)]
fn lesser<T: PartialOrd>(a: T, b: T) -> T {
    if a < b {
        a
    } else {
        b
    }
}

/// The greater of two numbers that are not NaN (see [`lesser`]).
#[inline(always)]
fn greater<T: PartialOrd>(a: T, b: T) -> T {
    if a > b {
        a
    } else {
        b
    }
}

/// The box filter of a pixel whose centre is `d` from the middle of a band
/// `[lo, hi]` (1-D overlap of `[d - 0.5, d + 0.5]` with the band).
#[inline(always)]
fn box_cover(d: f32, lo: f32, hi: f32) -> f32 {
    (lesser(d + 0.5, hi) - greater(d - 0.5, lo)).clamp(0.0, 1.0)
}

/// How a straight piece of a stroke ends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    /// A butt end (anti-aliased).
    Butt,
    /// A joint with the next (or previous) piece: pixels whose centre is
    /// on this side of the line through the joint with this unit normal
    /// (pointing along the path) belong to this piece.
    Cut(f64, f64),
    /// A joint with the next (or previous) piece running the same way
    /// along the same major axis at a slight angle: the major lines are
    /// split at the joint (each line belongs to one piece, which paints
    /// its whole width there), so every line is scanned in the fast
    /// middle path; the pieces' bands meet within a small fraction of a
    /// pixel.
    Open,
}

/// Joints of a polyline turning by less than this (cosine of the angle:
/// about 8°) between pieces along the same major axis are [`End::Open`].
const OPEN_MIN_COS: f64 = 0.99;

/// One linear constraint `k * s + q0 + q1 * r > 0` on a pixel centre, `s`
/// along the minor axis and `r` along the major axis (relative to an
/// origin).
#[derive(Debug, Clone, Copy)]
struct Constraint {
    k: f32,
    inv_k: f32,
    q0: f32,
    q1: f32,
}

impl Constraint {
    fn new(k: f32, q0: f32, q1: f32) -> Constraint {
        let k = if k.abs() < 1e-7 { 0.0 } else { k };
        Constraint {
            k,
            inv_k: if k == 0.0 { 0.0 } else { 1.0 / k },
            q0,
            q1,
        }
    }

    /// Narrows `(lo, hi)` (values of `s`) for major coordinate `r`; false
    /// when no `s` fits.
    #[inline(always)]
    fn apply(&self, r: f32, lo: &mut f32, hi: &mut f32) -> bool {
        let q = self.q0 + self.q1 * r;
        if self.k == 0.0 {
            return q > 0.0;
        }
        let b = -q * self.inv_k;
        if self.k > 0.0 {
            *lo = greater(*lo, b);
        } else {
            *hi = lesser(*hi, b);
        }
        true
    }
}

/// The pixel indices `[lo, hi)` along the minor axis whose centres lie in
/// `(origin + s_lo, origin + s_hi)`, clamped to `0..size`.
#[inline(always)]
fn span(origin: f32, s_lo: f32, s_hi: f32, size: usize) -> (usize, usize) {
    if s_lo.is_nan() || s_hi.is_nan() || s_lo >= s_hi {
        return (0, 0);
    }
    let lo = greater((origin + s_lo - 0.5).ceil(), 0.0);
    let hi = lesser((origin + s_hi - 0.5).ceil(), size as f32);
    if hi <= lo {
        return (0, 0);
    }
    (lo as usize, hi as usize)
}

/// A straight piece of a stroke prepared for scanning, in (major, minor)
/// coordinates with `um > 0` (see `Pixmap::piece`).
#[derive(Debug, Clone, Copy)]
struct Scan {
    /// Major lines are rows (else columns).
    rows: bool,
    stride: usize,
    /// Pixels along the minor axis: `minor_lo..minor_hi`.
    minor_lo: usize,
    minor_hi: usize,
    /// Unit direction (major, minor) and 1 / um.
    um: f32,
    un: f32,
    inv_um: f32,
    /// Half width, and the band's reach (half width + half a pixel).
    hw: f32,
    h: f32,
    /// Start point (major, minor).
    a_maj: f32,
    a_min: f32,
    /// The ends' constraints, and their coverage offsets (start: `t +
    /// cap0`, end: `cap1 - t`; [`NO_END`] for joints).
    ends: [Constraint; 2],
    cap0: f32,
    cap1: f32,
    colour: u32,
    /// The same start point, direction and half widths in f64, for the
    /// fixed-point setup of [`Scan::middle`].
    exact: [f64; 5],
}

/// 1.0 in the 16.16 fixed point of [`Scan::middle`].
const FX: i64 = 1 << 16;

impl Scan {
    /// Paints major lines `ma..mb`, all in the middle of the piece (no end
    /// reaches them): 16.16 fixed point, the span moved by a constant step
    /// per line, integer coverage. Most of a stroke's pixels are painted
    /// here; the per-line float setup of [`Scan::row`] cost as much as the
    /// pixels of a thin line.
    #[inline(never)]
    fn middle(&self, data: &mut [u32], ma: usize, mb: usize) {
        if ma >= mb {
            return;
        }
        let [a_maj, a_min, um, un, h] = self.exact;
        let hw = h - 0.5;
        let fx = |v: f64| (v * FX as f64).round_ties_even() as i64;
        let r0 = ma as f64 + 0.5 - a_maj;
        // Pixel j is in the band when its centre's s = j + 0.5 - a_min is
        // in ((un r - h) / um, (un r + h) / um): j from ceil(xl) to
        // ceil(xl + width) (exclusive).
        let mut xl = fx(a_min + (un * r0 - h) / um - 0.5);
        let step = fx(un / um);
        let width = fx(2.0 * h / um);
        // d of pixel 0 of the line; d grows by um per pixel.
        let mut d_row = fx(-un * r0 + um * (0.5 - a_min));
        let d_step = fx(-un);
        let (umx, hwx, half) = (fx(um), fx(hw), FX / 2);
        // Pixels whose d is within hw - 0.5 of the middle are fully
        // covered: from 1 / um past the band's start to 1 / um before its
        // end. An opaque colour is stored there without blending (a wide
        // stroke is mostly such pixels).
        let inset = fx(1.0 / um);
        let (lo, hi) = (self.minor_lo as i64, self.minor_hi as i64);
        let colour = self.colour;
        // Only for wide strokes: on a thin one the three runs per line
        // cost more than they save (measured: the 10k fit frame, strokes
        // 0.3–2.7 px wide, went from 380 to 584 ms with them).
        let wide = colour >> 24 == 255 && hw >= 1.5;
        let (rows, stride) = (self.rows, self.stride);
        #[inline(always)]
        fn run(
            data: &mut [u32],
            (rows, stride): (bool, usize),
            m: usize,
            j0: i64,
            j1: i64,
            f: impl FnMut(&mut u32),
        ) {
            if j0 < j1 {
                if rows {
                    row_span(data, stride, m, j0 as usize, j1 as usize, f);
                } else {
                    column_span(data, stride, m, j0 as usize, j1 as usize, f);
                }
            }
        }
        let geo = (rows, stride);
        // The pixels of the band on the line whose band starts at `x`.
        let span = |x: i64| {
            (
                ((x + FX - 1) >> 16).max(lo),
                ((x + width + FX - 1) >> 16).min(hi),
            )
        };
        // Blends pixels `j0..j1` of line `m`, the first at distance `d`.
        let aa = |data: &mut [u32], m: usize, j0: i64, j1: i64, mut d: i64| {
            run(data, geo, m, j0, j1, |p: &mut u32| {
                *p = blend(*p, colour, band_level(d, half, hwx));
                d += umx;
            });
        };
        let mut ma = ma;
        if !wide {
            // Thin strokes, four pixels of a row at a time (one 128-bit
            // vector in WASM with simd128): the coverage formula is zero
            // outside the band, so pixels past a line's span are blended
            // with coverage 0, which leaves them as they are.
            let (halfq, hwq) = (half as i32, hwx as i32);
            if rows {
                // A steep piece: each row's span, in quads from its start.
                for m in ma..mb {
                    let (j0, j1) = span(xl);
                    let (mut j, mut d) = (j0, d_row + umx * j0);
                    while j < j1 {
                        let n = (j1 - j).min(4);
                        let at = index_of(stride, j as usize, m);
                        let lanes = std::array::from_fn(|k| {
                            if (k as i64) < n {
                                (d + umx * k as i64) as i32
                            } else {
                                OUTSIDE
                            }
                        });
                        if !quad(data, at, lanes, halfq, hwq, colour) {
                            // The buffer's last pixels: one at a time.
                            aa(data, m, j, j1, d);
                            break;
                        }
                        j += 4;
                        d += 4 * umx;
                    }
                    xl += step;
                    d_row += d_step;
                }
                return;
            }
            // A flat piece: four columns at once, down the rows any of
            // them covers (their spans shift by less than a pixel per
            // column).
            while ma + 4 <= mb {
                let (mut y0, mut y1) = (i64::MAX, i64::MIN);
                for k in 0..4 {
                    let (a, b) = span(xl + k * step);
                    if a < b {
                        y0 = y0.min(a);
                        y1 = y1.max(b);
                    }
                }
                if y0 < y1 {
                    let mut lanes: [i32; 4] =
                        std::array::from_fn(|k| (d_row + d_step * k as i64 + umx * y0) as i32);
                    for y in y0..y1 {
                        // Columns ma..ma + 4 of a row inside the buffer:
                        // always in it.
                        let at = index_of(stride, ma, y as usize);
                        let painted = quad(data, at, lanes, halfq, hwq, colour);
                        debug_assert!(painted);
                        for l in &mut lanes {
                            *l += umx as i32;
                        }
                    }
                }
                xl += 4 * step;
                d_row += 4 * d_step;
                ma += 4;
            }
        }
        for m in ma..mb {
            let (j0, j1) = span(xl);
            if j0 < j1 && !wide {
                aa(data, m, j0, j1, d_row + umx * j0);
            } else if j0 < j1 {
                let s0 = ((xl + inset + FX - 1) >> 16).clamp(j0, j1);
                let s1 = ((xl + width - inset + FX - 1) >> 16).clamp(s0, j1);
                aa(data, m, j0, s0, d_row + umx * j0);
                run(data, geo, m, s0, s1, |p: &mut u32| *p = colour);
                aa(data, m, s1, j1, d_row + umx * s1);
            }
            xl += step;
            d_row += d_step;
        }
    }

    /// Paints major line `m` near an end: the ends are tested and
    /// filtered (floating point).
    fn row(&self, data: &mut [u32], m: usize) {
        let r = m as f32 + 0.5 - self.a_maj;
        // Band |d| < h: s in ((un r - h) / um, (un r + h) / um).
        let mut lo = (self.un * r - self.h) * self.inv_um;
        let mut hi = (self.un * r + self.h) * self.inv_um;
        if !self.ends.iter().all(|c| c.apply(r, &mut lo, &mut hi)) {
            return;
        }
        let (j0, j1) = span(self.a_min, lo, hi, self.minor_hi);
        let j0 = j0.max(self.minor_lo);
        if j0 >= j1 {
            return;
        }
        let s0 = j0 as f32 + 0.5 - self.a_min;
        let mut d = -self.un * r + self.um * s0;
        let mut t = self.um * r + self.un * s0;
        let (um, un, hw) = (self.um, self.un, self.hw);
        let (cap0, cap1, colour) = (self.cap0, self.cap1, self.colour);
        let px = |p: &mut u32| {
            let cov =
                box_cover(d, -hw, hw) * (t + cap0).clamp(0.0, 1.0) * (cap1 - t).clamp(0.0, 1.0);
            t += un;
            d += um;
            // No branch on the coverage: it changes from pixel to pixel,
            // and a mispredicted branch cost more than the blend (natively
            // a third of the time went there).
            *p = blend(*p, colour, level(cov));
        };
        if self.rows {
            row_span(data, self.stride, m, j0, j1, px);
        } else {
            column_span(data, self.stride, m, j0, j1, px);
        }
    }
}

/// The blend level (0..=256) of a pixel whose centre is `d` from the
/// middle of a band `hw` wide on each side, 16.16 fixed point (`half`:
/// half a pixel): the box filter, as [`box_cover`].
#[inline(always)]
fn band_level(d: i64, half: i64, hw: i64) -> u32 {
    let c = ((d + half).min(hw) - (d - half).max(-hw)).clamp(0, FX);
    ((c + 128) >> 8) as u32
}

/// A lane of [`quad`] that covers nothing.
const OUTSIDE: i32 = i32::MAX / 2;

/// Blends `colour` into the four pixels from `data[at]`, each with the
/// coverage of a thin band at distance `d[k]` (16.16 fixed point; `half`
/// and `hw`: half a pixel and the half width). False, painting nothing,
/// when the four are not all in the buffer. Written for the compiler to
/// vectorise (one 128-bit vector per step in WASM with simd128).
#[inline(always)]
fn quad(data: &mut [u32], at: usize, d: [i32; 4], half: i32, hw: i32, colour: u32) -> bool {
    let Some(q) = data.get_mut(at..at + 4) else {
        return false;
    };
    let mut out = [0u32; 4];
    for k in 0..4 {
        let c = (lesser(d[k] + half, hw) - greater(d[k] - half, -hw)).clamp(0, FX as i32);
        out[k] = blend(q[k], colour, ((c + 128) >> 8) as u32);
    }
    q.copy_from_slice(&out);
    true
}

/// Index of pixel `(x, y)` in rows of `stride` pixels.
#[inline(always)]
fn index_of(stride: usize, x: usize, y: usize) -> usize {
    y * stride + x
}

/// Calls `f` on pixels `x0..x1` of row `y`, in order.
#[inline(always)]
fn row_span(
    data: &mut [u32],
    stride: usize,
    y: usize,
    x0: usize,
    x1: usize,
    f: impl FnMut(&mut u32),
) {
    let i = index_of(stride, x0, y);
    if let Some(run) = data.get_mut(i..i + x1.saturating_sub(x0)) {
        run.iter_mut().for_each(f);
    }
}

/// Calls `f` on pixels `y0..y1` of column `x`, in order.
#[inline(always)]
fn column_span(
    data: &mut [u32],
    stride: usize,
    x: usize,
    y0: usize,
    y1: usize,
    mut f: impl FnMut(&mut u32),
) {
    if y1 <= y0 {
        return;
    }
    let i = index_of(stride, x, y0);
    // The column's pixels are `stride` apart: the first of each
    // stride-long chunk from `i`.
    if let Some(run) = data.get_mut(i..i + (y1 - y0 - 1) * stride + 1) {
        run.chunks_mut(stride).for_each(|c| f(&mut c[0]));
    }
}

/// An RGBA pixel buffer with premultiplied alpha, one `u32` per pixel in
/// memory order R, G, B, A (what `ImageData` holds when every pixel is
/// opaque; see [`Pixmap::straighten`]).
///
/// Stored row by row. (It was stored in 32 × 32 tiles, so that a steep
/// line touched few memory pages; since pictures are painted band by band
/// of rows, which stay in the cache, plain rows measured 5–8 % faster in
/// Chromium and save the copy into rows before each `putImageData`.)
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pixmap {
    width: usize,
    height: usize,
    stride: usize,
    data: Vec<u32>,
    /// Every pixel is opaque (the last fill was): source-over keeps it so.
    opaque: bool,
    /// Rows drawn into (`band.0..band.1`), see [`Pixmap::set_band`].
    band: (usize, usize),
    /// Points of the curve being flattened (kept to save allocations).
    scratch: Vec<(f64, f64)>,
}

impl Pixmap {
    /// A transparent `width` × `height` buffer.
    pub fn new(width: usize, height: usize) -> Pixmap {
        let mut p = Pixmap::default();
        p.resize(width, height);
        p
    }

    /// Sets the size; the pixels are then undefined until a fill.
    pub fn resize(&mut self, width: usize, height: usize) {
        self.width = width;
        self.height = height;
        self.stride = width;
        self.data.resize(width.saturating_mul(height), 0);
        self.opaque = false;
        self.band = (0, height);
    }

    /// Draw only into rows `y0..y1` (clamped to the buffer) from now on.
    /// Drawing a picture band by band, each band's rows staying in the
    /// processor's cache, gives the same pixels as drawing it at once.
    pub fn set_band(&mut self, y0: usize, y1: usize) {
        let y1 = y1.min(self.height);
        self.band = (y0.min(y1), y1);
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixels, row by row (`width` × `height`).
    pub fn linear(&self) -> &[u32] {
        &self.data
    }

    /// Rows from `y0` on set to `bytes` (whole rows, four bytes a pixel as
    /// [`Pixmap::pixel`] gives them: what another buffer of the same width
    /// painted); rows past the buffer are left out.
    pub fn set_rows(&mut self, y0: usize, bytes: &[u8]) {
        let start = (y0 * self.width).min(self.data.len());
        for (p, b) in self.data[start..].iter_mut().zip(bytes.chunks_exact(4)) {
            *p = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }

    /// Every pixel `c`.
    pub fn fill(&mut self, c: Colour) {
        self.data.fill(c.0);
        self.opaque = c.alpha() == 255;
    }

    /// The premultiplied bytes of pixel `(x, y)`; None outside.
    pub fn pixel(&self, x: usize, y: usize) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        self.data
            .get(index_of(self.stride, x, y))
            .map(|p| p.to_le_bytes())
    }

    /// Turns premultiplied pixels into straight alpha (what `ImageData`
    /// wants) where they are not opaque; nothing to do after an opaque
    /// fill. Blend nothing more afterwards.
    pub fn straighten(&mut self) {
        if self.opaque {
            return;
        }
        for p in &mut self.data {
            let a = *p >> 24;
            if a == 0 || a == 255 {
                continue;
            }
            let [r, g, b, _] = p.to_le_bytes();
            let un = |c: u8| ((u32::from(c) * 255 + a / 2) / a).min(255);
            *p = un(r) | (un(g) << 8) | (un(b) << 16) | (a << 24);
        }
    }

    /// Strokes the segment `a`–`b` with butt ends, `width` px wide.
    pub fn stroke_line(&mut self, a: (f64, f64), b: (f64, f64), width: f64, c: Colour) {
        if !(finite(a) && finite(b) && width.is_finite() && width > 0.0) {
            return;
        }
        self.piece(a, b, width / 2.0, End::Butt, End::Butt, c);
    }

    /// Strokes the quadratic curve `start` → `ctrl` → `end` with butt ends.
    pub fn stroke_quad(
        &mut self,
        start: (f64, f64),
        ctrl: (f64, f64),
        end: (f64, f64),
        width: f64,
        c: Colour,
    ) {
        if !(finite(start) && finite(ctrl) && finite(end) && width.is_finite() && width > 0.0) {
            return;
        }
        // Off the buffer altogether (the curve lies in its control triangle).
        let pad = width / 2.0 + 2.0;
        let lo = (
            start.0.min(ctrl.0).min(end.0),
            start.1.min(ctrl.1).min(end.1),
        );
        let hi = (
            start.0.max(ctrl.0).max(end.0),
            start.1.max(ctrl.1).max(end.1),
        );
        if hi.0 < -pad
            || hi.1 < self.band.0 as f64 - pad
            || lo.0 > self.width as f64 + pad
            || lo.1 > self.band.1 as f64 + pad
            || self.band.0 >= self.band.1
        {
            return;
        }
        let mut pts = std::mem::take(&mut self.scratch);
        flatten(start, ctrl, end, &mut pts);
        self.polyline(&pts, width / 2.0, c);
        self.scratch = pts;
    }

    /// Strokes a curve already flattened by [`flatten`] (the bins keep
    /// each curve's points for all the bands it is painted in).
    fn stroke_flat(&mut self, pts: &[(f64, f64)], width: f64, c: Colour) {
        if width.is_finite() && width > 0.0 {
            self.polyline(pts, width / 2.0, c);
        }
    }

    /// Strokes the open polyline `pts` (no two equal in a row), `hw` half
    /// width: butt ends, joints split by major line (slight turns) or
    /// mitred (bisector-split).
    fn polyline(&mut self, pts: &[(f64, f64)], hw: f64, c: Colour) {
        let dir = |i: usize| -> Option<(f64, f64)> {
            let (a, b) = (pts.get(i)?, pts.get(i + 1)?);
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let l = (dx * dx + dy * dy).sqrt();
            (l > 0.0 && l.is_finite()).then(|| (dx / l, dy / l))
        };
        // The joint at point i (between pieces i - 1 and i).
        let joint = |i: usize| -> End {
            // Major axis and direction along it, as `piece` finds them.
            let way = |u: (f64, f64)| {
                if u.1.abs() >= u.0.abs() {
                    (true, u.1 > 0.0)
                } else {
                    (false, u.0 > 0.0)
                }
            };
            match (i.checked_sub(1).and_then(dir), dir(i)) {
                (Some(u), Some(v)) if u.0 * v.0 + u.1 * v.1 > OPEN_MIN_COS && way(u) == way(v) => {
                    End::Open
                }
                (Some(u), Some(v)) if u.0 * v.0 + u.1 * v.1 > MITRE_MIN_COS => {
                    let (x, y) = (u.0 + v.0, u.1 + v.1);
                    let l = (x * x + y * y).sqrt();
                    End::Cut(x / l, y / l)
                }
                _ => End::Butt,
            }
        };
        // Rows a piece can reach past its end points: the half width, a
        // mitre (see `piece`), the filter, and a margin.
        let reach = hw + 0.6 * (hw + 0.5) + 2.5;
        let (top, bottom) = (self.band.0 as f64 - reach, self.band.1 as f64 + reach);
        let last = pts.len().saturating_sub(1);
        for i in 0..last {
            let (a, b) = (pts[i], pts[i + 1]);
            // Pieces outside the band being painted cost two comparisons
            // (a long curve is painted once per band it crosses).
            if greater(a.1, b.1) < top || lesser(a.1, b.1) > bottom {
                continue;
            }
            let start = if i > 0 { joint(i) } else { End::Butt };
            let end = if i + 1 < last {
                joint(i + 1)
            } else {
                End::Butt
            };
            self.piece(a, b, hw, start, end, c);
        }
    }

    /// One straight piece `a`–`b` of a stroke, half width `hw`.
    fn piece(&mut self, a: (f64, f64), b: (f64, f64), hw: f64, start: End, end: End, c: Colour) {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = (dx * dx + dy * dy).sqrt();
        if !(len > 0.0 && len.is_finite()) || self.data.is_empty() {
            return;
        }
        let u = (dx / len, dy / len);
        // Clip to the buffer grown by more than the stroke reaches past a
        // butt end: an end moved by the clip is off the buffer, so it may
        // become a butt end.
        let pad = hw + 2.0;
        let Some((t0, t1)) = clip(
            a,
            (dx, dy),
            (-pad, self.band.0 as f64 - pad),
            (self.width as f64 + pad, self.band.1 as f64 + pad),
        ) else {
            return;
        };
        let (start, a2) = if t0 > 0.0 {
            (End::Butt, (a.0 + t0 * dx, a.1 + t0 * dy))
        } else {
            (start, a)
        };
        let end = if t1 < 1.0 { End::Butt } else { end };
        let len = (t1 - greater(t0, 0.0)) * len;
        if len <= 0.0 {
            return;
        }
        // Major axis: rows for a steep piece, columns for a flat one.
        let rows = u.1.abs() >= u.0.abs();
        let sw = |p: (f64, f64)| if rows { (p.1, p.0) } else { p };
        // Run along the major axis in increasing order: reverse the piece
        // if needed (its ends swap; a joint's normal still points along
        // the path).
        // An open end's split line: the first major line whose centre is
        // at or past the joint (from the joint's own coordinates, so the
        // two pieces meeting there split at the same line).
        let split = |p: (f64, f64)| (sw(p).0 - 0.5).ceil();
        let (open_lo, open_hi) = if sw(u).0 < 0.0 {
            (split(b), split(a))
        } else {
            (split(a), split(b))
        };
        let (a2, u, start, end) = if sw(u).0 < 0.0 {
            let flip = |e: End| match e {
                End::Butt => End::Butt,
                End::Cut(x, y) => End::Cut(-x, -y),
                End::Open => End::Open,
            };
            (
                (a2.0 + len * u.0, a2.1 + len * u.1),
                (-u.0, -u.1),
                flip(end),
                flip(start),
            )
        } else {
            (a2, u, start, end)
        };
        let (a_maj, a_min) = sw(a2);
        let (u_maj, u_min) = sw(u);
        // Pixels along each axis: the band's rows, all columns.
        let ((maj_lo, maj_hi), (min_lo, min_hi)) = if rows {
            (self.band, (0, self.width))
        } else {
            ((0, self.width), self.band)
        };
        let h = hw + 0.5;
        // How far past its end (along the piece) an end reaches: the
        // butt end's filter, or the mitre (at most tan(30°) of the half
        // width, see MITRE_MIN_COS).
        let ext = |e: End| match e {
            End::Butt => 0.5,
            End::Cut(..) => 0.5 + 0.6 * h,
            End::Open => 0.0,
        };
        let (e0, e1) = (ext(start), ext(end));
        // Rows (major lines) the piece reaches; u_maj > 0, so the extremes
        // are the start's and the end's corners.
        let spread = u_min.abs() * h;
        let first = a_maj - e0 * u_maj - spread;
        let last = a_maj + (len + e1) * u_maj + spread;
        let mut m_lo = ((first - 0.5).floor().max(0.0) as usize).max(maj_lo);
        let mut m_hi = (((last - 0.5).ceil() + 1.0).clamp(0.0, maj_hi as f64) as usize).min(maj_hi);
        // Open ends: the lines from (start) or before (end) the split.
        if start == End::Open {
            m_lo = m_lo.max(open_lo.clamp(0.0, maj_hi as f64) as usize);
        }
        if end == End::Open {
            m_hi = m_hi.min(open_hi.clamp(0.0, maj_hi as f64) as usize);
        }
        if m_lo >= m_hi {
            return;
        }
        // The middle rows: every pixel of the band is past both ends'
        // reach, so the end tests and the end coverage are skipped. At
        // major coordinate r (relative to a2) the band's pixels have
        // t in (r - |u_min| h, r + |u_min| h) / u_maj. An open end does
        // not limit them.
        let ma = if start == End::Open {
            m_lo
        } else {
            let mid_lo = a_maj + e0 * u_maj + spread;
            ((mid_lo - 0.5).ceil().max(0.0) as usize).clamp(m_lo, m_hi)
        };
        let mb = if end == End::Open {
            m_hi
        } else {
            let mid_hi = a_maj + (len - e1) * u_maj - spread;
            (((mid_hi - 0.5).floor() + 1.0).max(0.0) as usize).clamp(ma, m_hi)
        };
        // Constraints on the pixel centre (r, s) relative to a2:
        // d = -u_min * r + u_maj * s, t = u_maj * r + u_min * s.
        let end_constraint = |e: End, at_start: bool| -> Constraint {
            match (e, at_start) {
                // t + 0.5 > 0
                (End::Butt, true) => Constraint::new(u_min as f32, 0.5, u_maj as f32),
                // len + 0.5 - t > 0
                (End::Butt, false) => {
                    Constraint::new(-u_min as f32, (len + 0.5) as f32, -u_maj as f32)
                }
                (End::Cut(x, y), true) => {
                    let (c_maj, c_min) = sw((x, y));
                    Constraint::new(c_min as f32, 0.0, c_maj as f32)
                }
                (End::Cut(x, y), false) => {
                    let (c_maj, c_min) = sw((x, y));
                    let cu = len * (c_maj * u_maj + c_min * u_min);
                    Constraint::new(-c_min as f32, cu as f32, -c_maj as f32)
                }
                // Always true: the split is in the line range.
                (End::Open, _) => Constraint::new(0.0, 1.0, 0.0),
            }
        };
        let g = Scan {
            rows,
            stride: self.stride,
            minor_lo: min_lo,
            minor_hi: min_hi,
            um: u_maj as f32,
            un: u_min as f32,
            inv_um: (1.0 / u_maj) as f32,
            hw: hw as f32,
            h: h as f32,
            a_maj: a_maj as f32,
            a_min: a_min as f32,
            ends: [end_constraint(start, true), end_constraint(end, false)],
            cap0: if start == End::Butt { 0.5 } else { NO_END },
            cap1: if end == End::Butt {
                len as f32 + 0.5
            } else {
                NO_END
            },
            colour: c.0,
            exact: [a_maj, a_min, u_maj, u_min, h],
        };
        for m in m_lo..ma {
            g.row(&mut self.data, m);
        }
        g.middle(&mut self.data, ma, mb);
        for m in mb..m_hi {
            g.row(&mut self.data, m);
        }
    }

    /// The pixels between `r0` and `r1` (device px) from `centre`,
    /// anti-aliased: a disc when `r0` is `-inf`, a ring otherwise.
    fn annulus(&mut self, centre: (f64, f64), r0: f64, r1: f64, c: Colour) {
        if !(finite(centre) && r1.is_finite() && r1 > 0.0 && !r0.is_nan() && r0 < r1) {
            return;
        }
        let outer = r1 + 0.5;
        let inner = r0 - 0.5;
        let (w, h) = (self.width as f64, self.height as f64);
        if centre.0 + outer < 0.0
            || centre.1 + outer < 0.0
            || centre.0 - outer > w
            || centre.1 - outer > h
        {
            return;
        }
        let y0 = ((centre.1 - outer - 0.5).floor().max(0.0) as usize).max(self.band.0);
        let y1 = ((centre.1 + outer + 0.5).ceil().clamp(0.0, h) as usize).min(self.band.1);
        let (cx, cy) = (centre.0 as f32, centre.1 as f32);
        let (r0, r1, outer, inner) = (r0 as f32, r1 as f32, outer as f32, inner as f32);
        let colour = c.0;
        let (disc, opaque) = (r0 == f32::NEG_INFINITY, c.alpha() == 255);
        let (width, stride) = (self.width, self.stride);
        for y in y0..y1 {
            let dy = y as f32 + 0.5 - cy;
            let xo2 = outer * outer - dy * dy;
            if xo2 <= 0.0 {
                continue;
            }
            let xo = xo2.sqrt();
            // Pixels closer than `inner` are not covered.
            let xi = if inner > 0.0 && inner > dy.abs() {
                (inner * inner - dy * dy).sqrt()
            } else {
                0.0
            };
            // A disc's pixels within r1 - 0.5 of the centre are fully
            // covered: an opaque colour is stored there.
            let solid = if disc && opaque && (r1 - 0.5) > dy.abs() {
                let xs = ((r1 - 0.5) * (r1 - 0.5) - dy * dy).sqrt();
                span(cx, -xs, xs, width)
            } else {
                (0, 0)
            };
            let spans = if xi > 0.0 {
                [span(cx, -xo, -xi, width), span(cx, xi, xo, width)]
            } else if solid.0 < solid.1 {
                let (o0, o1) = span(cx, -xo, xo, width);
                let (s0, s1) = (solid.0.max(o0), solid.1.min(o1));
                row_span(&mut self.data, stride, y, s0, s1, |p| *p = colour);
                [(o0, s0), (s1.max(s0), o1)]
            } else {
                [span(cx, -xo, xo, width), (0, 0)]
            };
            for (j0, j1) in spans {
                let mut dx = j0 as f32 + 0.5 - cx;
                row_span(&mut self.data, stride, y, j0, j1, |p| {
                    let d = (dx * dx + dy * dy).sqrt();
                    *p = blend(*p, colour, level(box_cover(d, r0, r1)));
                    dx += 1.0;
                });
            }
        }
    }

    /// A filled disc.
    pub fn fill_circle(&mut self, centre: (f64, f64), radius: f64, c: Colour) {
        self.annulus(centre, f64::NEG_INFINITY, radius, c);
    }

    /// A circle stroked `width` px wide (centred on the radius).
    pub fn stroke_circle(&mut self, centre: (f64, f64), radius: f64, width: f64, c: Colour) {
        if !(width.is_finite() && width > 0.0) {
            return;
        }
        self.annulus(centre, radius - width / 2.0, radius + width / 2.0, c);
    }

    /// A filled triangle (either winding).
    pub fn fill_triangle(&mut self, p: [(f64, f64); 3], c: Colour) {
        if !p.iter().all(|q| finite(*q)) {
            return;
        }
        let area2 = (p[1].0 - p[0].0) * (p[2].1 - p[0].1) - (p[1].1 - p[0].1) * (p[2].0 - p[0].0);
        if area2 == 0.0 || !area2.is_finite() {
            return;
        }
        let sign = area2.signum();
        // Inward unit normals and offsets: e(p) = nx * x + ny * y + k,
        // positive inside, in px.
        let mut edges = [(0.0f64, 0.0f64, 0.0f64); 3];
        for (i, e) in edges.iter_mut().enumerate() {
            let (a, b) = (p[i], p[(i + 1) % 3]);
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let l = (dx * dx + dy * dy).sqrt();
            if l == 0.0 {
                return;
            }
            let (nx, ny) = (-dy * sign / l, dx * sign / l);
            *e = (nx, ny, -(nx * a.0 + ny * a.1));
        }
        let (w, h) = (self.width as f64, self.height as f64);
        let lo_y = p[0].1.min(p[1].1).min(p[2].1);
        let hi_y = p[0].1.max(p[1].1).max(p[2].1);
        let lo_x = p[0].0.min(p[1].0).min(p[2].0);
        let hi_x = p[0].0.max(p[1].0).max(p[2].0);
        if hi_x < -1.0 || hi_y < -1.0 || lo_x > w + 1.0 || lo_y > h + 1.0 {
            return;
        }
        let y0 = ((lo_y - 1.0).floor().max(0.0) as usize).max(self.band.0);
        let y1 = ((hi_y + 1.0).ceil().clamp(0.0, h) as usize).min(self.band.1);
        // Coverage: min over the edges of e + 0.5, clamped; nonzero where
        // every e > -0.5.
        let cs = edges.map(|(nx, ny, k)| Constraint::new(nx as f32, (k + 0.5) as f32, ny as f32));
        let e32 = edges.map(|(nx, ny, k)| (nx as f32, ny as f32, k as f32));
        let (colour, width, stride) = (c.0, self.width, self.stride);
        for y in y0..y1 {
            let yc = y as f32 + 0.5;
            let (mut lo, mut hi) = (f32::NEG_INFINITY, f32::INFINITY);
            if !cs.iter().all(|c| c.apply(yc, &mut lo, &mut hi)) {
                continue;
            }
            let (j0, j1) = span(0.0, lo, hi, width);
            let x0 = j0 as f32 + 0.5;
            let mut e = e32.map(|(nx, ny, k)| nx * x0 + ny * yc + k);
            row_span(&mut self.data, stride, y, j0, j1, |px| {
                let cov = (lesser(lesser(e[0], e[1]), e[2]) + 0.5).clamp(0.0, 1.0);
                *px = blend(*px, colour, level(cov));
                for (v, (nx, _, _)) in e.iter_mut().zip(e32.iter()) {
                    *v += nx;
                }
            });
        }
    }
}

fn finite(p: (f64, f64)) -> bool {
    p.0.is_finite() && p.1.is_finite()
}

/// Segments a curve is flattened into: its polyline then departs from it
/// by at most [`FLATTEN_TOLERANCE`] (the error of `n` uniform segments is
/// `|start - 2 ctrl + end| / (8 n²)`).
pub fn curve_segments(start: (f64, f64), ctrl: (f64, f64), end: (f64, f64)) -> usize {
    let (x, y) = (
        start.0 - 2.0 * ctrl.0 + end.0,
        start.1 - 2.0 * ctrl.1 + end.1,
    );
    let dd = (x * x + y * y).sqrt();
    let n = (dd / (8.0 * FLATTEN_TOLERANCE)).sqrt().ceil();
    if n.is_finite() {
        (n as usize).clamp(1, MAX_CURVE_SEGMENTS)
    } else {
        MAX_CURVE_SEGMENTS
    }
}

/// The points of curve `start` → `ctrl` → `end` flattened into
/// [`curve_segments`] pieces (no two equal in a row), into `out`.
fn flatten(start: (f64, f64), ctrl: (f64, f64), end: (f64, f64), out: &mut Vec<(f64, f64)>) {
    out.clear();
    let n = curve_segments(start, ctrl, end);
    for i in 0..=n {
        let t = i as f64 / n as f64;
        let (u, v, w) = ((1.0 - t) * (1.0 - t), 2.0 * (1.0 - t) * t, t * t);
        let p = (
            u * start.0 + v * ctrl.0 + w * end.0,
            u * start.1 + v * ctrl.1 + w * end.1,
        );
        if out
            .last()
            .is_none_or(|q: &(f64, f64)| (p.0 - q.0).abs() > 1e-6 || (p.1 - q.1).abs() > 1e-6)
        {
            out.push(p);
        }
    }
}

/// Liang–Barsky: the parameter range of `a + t d`, `t` in 0..=1, inside the
/// box `lo..hi`; None when it misses.
fn clip(a: (f64, f64), d: (f64, f64), lo: (f64, f64), hi: (f64, f64)) -> Option<(f64, f64)> {
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-d.0, a.0 - lo.0),
        (d.0, hi.0 - a.0),
        (-d.1, a.1 - lo.1),
        (d.1, hi.1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if !r.is_finite() {
                return None;
            }
            if p < 0.0 {
                t0 = greater(t0, r);
            } else {
                t1 = lesser(t1, r);
            }
        }
    }
    (t0 < t1).then_some((t0, t1))
}

/// The colours of a frame, packed for the buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    pub edges: Vec<Colour>,
    pub nodes: Vec<Colour>,
    pub outline: Colour,
    pub background: Colour,
}

impl Palette {
    pub fn of(theme: &Theme) -> Palette {
        let grey = Colour::from_rgba([0.5, 0.5, 0.5, 1.0]);
        let c = |css: &str| Colour::from_css(css).unwrap_or(grey);
        Palette {
            edges: EDGE_COLOURS.iter().map(|s| c(s)).collect(),
            nodes: NODE_COLOURS.iter().map(|s| c(s)).collect(),
            outline: c(theme.node_stroke),
            background: c(theme.background),
        }
    }

    fn edge(&self, i: u8) -> Colour {
        self.edges
            .get(usize::from(i))
            .copied()
            .unwrap_or_else(|| Colour::from_css(NEUTRAL_EDGE).unwrap_or(self.outline))
    }

    fn node(&self, i: u8) -> Colour {
        self.nodes
            .get(usize::from(i))
            .copied()
            .unwrap_or_else(|| Colour::from_css(NO_NAMESPACE_COLOUR).unwrap_or(self.outline))
    }
}

/// Shapes of a scene's picture, in painting order: each edge's line, each
/// edge's arrowhead (nothing for edges without one), each node's disc,
/// each node's outline — the layers of the Canvas 2D renderer.
pub fn shapes(scene: &Scene) -> usize {
    2 * scene.edges.len() + 2 * scene.nodes.len()
}

/// Rows of a band (see [`Bins`]). 128 rather than 64: with curves
/// flattened once per picture, fewer bands meant 10 % less rasterising of
/// the 10k-edge map in Chromium (256–512 were no better within the noise).
pub const BAND_ROWS: usize = 128;

/// The painting order of a picture, band by band: for each band of
/// [`BAND_ROWS`] rows, the shapes that reach into it, in layer order. A
/// pixel lies in one band, so it sees its shapes in layer order as if the
/// picture were painted at once; meanwhile the band's rows (640 KiB at 1280
/// px wide) stay in the processor's cache. Painting shape by shape over the
/// whole buffer reads and writes a new cache line for nearly every pixel of
/// a steep line, and measured natively that was about a fifth of the time.
/// Shapes entirely outside the buffer get no entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bins {
    /// Shape indices, band after band.
    order: Vec<u32>,
    /// Where each band starts in `order` (and the end).
    starts: Vec<usize>,
    /// The points of every visible curved edge, flattened once (device
    /// px) for all the bands it crosses, and each edge's range in it
    /// (empty for other edges).
    points: Vec<(f64, f64)>,
    curves: Vec<(u32, u32)>,
    /// Steps (of `order`) whose curves are flattened.
    flat: usize,
}

impl Bins {
    /// The bins of `scene` (CSS px, scaled by `dpr`) on a buffer `height`
    /// device pixels high.
    pub fn of(scene: &Scene, dpr: f64, height: usize) -> Bins {
        Bins::of_bands(scene, dpr, height, 0..usize::MAX)
    }

    /// The bins of bands `only` of the picture (the others empty): what
    /// painting those bands needs, curves flattened only if they reach
    /// them.
    pub fn of_bands(scene: &Scene, dpr: f64, height: usize, only: std::ops::Range<usize>) -> Bins {
        let mut bins = Bins::binned(scene, dpr, height, only);
        bins.flatten(scene, dpr, usize::MAX, usize::MAX);
        bins
    }

    /// [`Bins::of_bands`] with no curve flattened yet: [`Bins::flatten`]
    /// does that in pieces (the whole flattening of 50,000 long curves is
    /// tens of ms). [`BinBuild`] bins in pieces too.
    pub fn binned(scene: &Scene, dpr: f64, height: usize, only: std::ops::Range<usize>) -> Bins {
        let mut b = BinBuild::new(scene, height, only);
        b.step(scene, dpr, usize::MAX);
        b.finish()
    }

    /// Flattens the curves of the next steps, at most `max` steps and none
    /// at or past step `until` (a step must be flattened before it is
    /// painted). True when every step before `until` is.
    pub fn flatten(&mut self, scene: &Scene, dpr: f64, until: usize, max: usize) -> bool {
        let until = until.min(self.order.len());
        let end = until.min(self.flat.saturating_add(max)).max(self.flat);
        let at = |p: crate::geometry::Point| (p.x * dpr, p.y * dpr);
        let mut one = Vec::new();
        for &k in &self.order[self.flat..end] {
            let k = k as usize;
            let Some(e) = scene.edges.get(k) else {
                continue;
            };
            if let (EdgePath::Curve { start, ctrl, end }, (0, 0)) = (e.path, self.curves[k]) {
                flatten(at(start), at(ctrl), at(end), &mut one);
                let from = self.points.len() as u32;
                self.points.extend_from_slice(&one);
                self.curves[k] = (from, self.points.len() as u32);
            }
        }
        self.flat = end;
        self.flattened(until)
    }

    /// Every step before `until` is flattened.
    pub fn flattened(&self, until: usize) -> bool {
        self.flat >= until.min(self.order.len())
    }

    /// Edge `k`'s flattened curve, if it is a visible curve.
    fn curve(&self, k: usize) -> Option<&[(f64, f64)]> {
        let &(from, to) = self.curves.get(k)?;
        self.points
            .get(from as usize..to as usize)
            .filter(|p| !p.is_empty())
    }

    /// Steps of the picture: (band, shape) pairs.
    pub fn steps(&self) -> usize {
        self.order.len()
    }

    /// The steps of bands `bands` (of [`BAND_ROWS`] rows).
    pub fn band_steps(&self, bands: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let at = |b: usize| self.starts.get(b).copied().unwrap_or(self.order.len());
        let start = at(bands.start);
        start..at(bands.end).max(start)
    }
}

/// [`Bins::binned`] a number of shapes at a time: binning the 120,000
/// shapes of a 50,000-edge picture is several milliseconds, too long for
/// the start of a picture's first slice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BinBuild {
    /// Each band's shapes so far.
    per: Vec<Vec<u32>>,
    /// The next shape to bin, of `shapes`.
    next: usize,
    shapes: usize,
    edges: usize,
    height: usize,
    only: std::ops::Range<usize>,
}

impl BinBuild {
    /// Binning of `scene`'s shapes on a buffer `height` device pixels
    /// high, bands `only`; nothing binned yet.
    pub fn new(scene: &Scene, height: usize, only: std::ops::Range<usize>) -> BinBuild {
        BinBuild {
            per: vec![Vec::new(); height.div_ceil(BAND_ROWS)],
            next: 0,
            shapes: shapes(scene),
            edges: scene.edges.len(),
            height,
            only,
        }
    }

    /// Bins up to `max` more shapes of `scene` (the scene it was made
    /// for, scaled by `dpr`). True when every shape is binned.
    pub fn step(&mut self, scene: &Scene, dpr: f64, max: usize) -> bool {
        let (ne, nn) = (scene.edges.len(), scene.nodes.len());
        let (height, bands) = (self.height, self.per.len());
        let end = self.shapes.min(self.next.saturating_add(max));
        for k in self.next..end {
            let Some((lo, hi)) = shape_rows(scene, k, ne, nn) else {
                continue;
            };
            let (lo, hi) = (lo * dpr - 2.0, hi * dpr + 2.0);
            if !(lo.is_finite() && hi.is_finite()) || hi < 0.0 || lo >= height as f64 {
                continue;
            }
            let b0 = ((lo.max(0.0) as usize) / BAND_ROWS).max(self.only.start);
            let b1 = ((hi.min(height as f64 - 1.0).max(0.0) as usize) / BAND_ROWS)
                .min(bands.saturating_sub(1))
                .min(self.only.end.saturating_sub(1));
            if b0 > b1 {
                continue;
            }
            for band in self.per.iter_mut().take(b1 + 1).skip(b0) {
                band.push(k as u32);
            }
        }
        self.next = end;
        self.is_done()
    }

    /// Every shape is binned.
    pub fn is_done(&self) -> bool {
        self.next >= self.shapes
    }

    /// The bins (of the shapes binned so far: all once [`BinBuild::step`]
    /// said so).
    pub fn finish(self) -> Bins {
        let mut starts = Vec::with_capacity(self.per.len() + 1);
        let mut order = Vec::with_capacity(self.per.iter().map(Vec::len).sum());
        for band in self.per {
            starts.push(order.len());
            order.extend(band);
        }
        starts.push(order.len());
        Bins {
            order,
            starts,
            points: Vec::new(),
            curves: vec![(0, 0); self.edges],
            flat: 0,
        }
    }
}

/// Rows (CSS px, before the margin for anti-aliasing) shape `k` reaches.
fn shape_rows(scene: &Scene, k: usize, ne: usize, nn: usize) -> Option<(f64, f64)> {
    let span = |ys: &[f64], pad: f64| {
        let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((lo - pad, hi + pad))
    };
    if k < ne {
        let e = scene.edges.get(k)?;
        let w = e.width() / 2.0;
        match e.path {
            EdgePath::Curve { start, ctrl, end } => span(&[start.y, ctrl.y, end.y], w),
            EdgePath::Straight { start, end } => span(&[start.y, end.y], w),
            EdgePath::Loop { centre, radius } => span(&[centre.y], radius + w),
        }
    } else if k < 2 * ne {
        let a = scene.edges.get(k - ne)?.arrow?;
        let [p, q, r] = a.corners();
        span(&[p.y, q.y, r.y], 0.0)
    } else if k < 2 * ne + nn {
        let n = scene.nodes.get(k - 2 * ne)?;
        span(&[n.centre.y], n.radius)
    } else {
        let n = scene.nodes.get(k - 2 * ne - nn)?;
        span(&[n.centre.y], n.radius + n.outline / 2.0)
    }
}

/// Paints shape `k` (see [`shapes`]) of `scene`.
/// `flat`: the edge's curve already flattened (device px), if it is one.
fn paint_shape(
    pm: &mut Pixmap,
    scene: &Scene,
    pal: &Palette,
    dpr: f64,
    k: usize,
    flat: Option<&[(f64, f64)]>,
) {
    let ne = scene.edges.len();
    let nn = scene.nodes.len();
    let at = |p: crate::geometry::Point| (p.x * dpr, p.y * dpr);
    if k < ne {
        let Some(e) = scene.edges.get(k) else {
            return;
        };
        let (w, c) = (e.width() * dpr, pal.edge(e.key.colour));
        match e.path {
            EdgePath::Curve { start, ctrl, end } => match flat {
                Some(pts) => pm.stroke_flat(pts, w, c),
                None => pm.stroke_quad(at(start), at(ctrl), at(end), w, c),
            },
            EdgePath::Straight { start, end } => pm.stroke_line(at(start), at(end), w, c),
            EdgePath::Loop { centre, radius } => pm.stroke_circle(at(centre), radius * dpr, w, c),
        }
    } else if k < 2 * ne {
        if let Some(a) = scene
            .edges
            .get(k - ne)
            .and_then(|e| e.arrow.map(|a| (a, e)))
        {
            pm.fill_triangle(a.0.corners().map(at), pal.edge(a.1.key.colour));
        }
    } else if k < 2 * ne + nn {
        if let Some(n) = scene.nodes.get(k - 2 * ne) {
            pm.fill_circle(at(n.centre), n.radius * dpr, pal.node(n.colour));
        }
    } else if let Some(n) = scene.nodes.get(k - 2 * ne - nn) {
        pm.stroke_circle(at(n.centre), n.radius * dpr, n.outline * dpr, pal.outline);
    }
}

/// Paints steps `range` of `bins` (made for this scene, `dpr` and the
/// buffer's height). Painting the steps in pieces, in order, gives the
/// same pixels as painting them at once.
pub fn paint_steps(
    pm: &mut Pixmap,
    scene: &Scene,
    pal: &Palette,
    dpr: f64,
    bins: &Bins,
    range: std::ops::Range<usize>,
) {
    let end = range.end.min(bins.order.len());
    let mut i = range.start;
    // The band of step i: the last start at or before it.
    let mut band = bins.starts.partition_point(|&s| s <= i).saturating_sub(1);
    while i < end {
        while bins.starts.get(band + 1).is_some_and(|&s| s <= i) {
            band += 1;
        }
        let band_end = bins.starts.get(band + 1).copied().unwrap_or(end).min(end);
        pm.set_band(band * BAND_ROWS, (band + 1) * BAND_ROWS);
        for &k in bins.order.get(i..band_end).unwrap_or(&[]) {
            paint_shape(pm, scene, pal, dpr, k as usize, bins.curve(k as usize));
        }
        i = band_end.max(i + 1);
    }
    pm.set_band(0, usize::MAX);
}

/// The whole picture of `scene` (no text): the theme's background, then
/// every step.
pub fn paint_scene(pm: &mut Pixmap, scene: &Scene, theme: &Theme, dpr: f64) {
    let pal = Palette::of(theme);
    pm.fill(pal.background);
    let bins = Bins::of(scene, dpr, pm.height());
    paint_steps(pm, scene, &pal, dpr, &bins, 0..bins.steps());
}

#[cfg(test)]
mod tests {
    use super::*;
    // Native `cargo test` and the browser runner both run these.
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test;

    const WHITE: Colour = Colour(0xffff_ffff);
    const RED: Colour = Colour(0xff00_00ff);

    fn canvas(w: usize, h: usize) -> Pixmap {
        let mut p = Pixmap::new(w, h);
        p.fill(WHITE);
        p
    }

    /// How much of `c` the pixel shows over white (0 = white, 1 = all `c`),
    /// from the green channel for red.
    fn redness(p: &Pixmap, x: usize, y: usize) -> f32 {
        let px = p.pixel(x, y).expect("inside");
        1.0 - f32::from(px[1]) / 255.0
    }

    fn lit(p: &Pixmap) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        for y in 0..p.height() {
            for x in 0..p.width() {
                if p.pixel(x, y) != Some(WHITE.bytes()) {
                    v.push((x, y));
                }
            }
        }
        v
    }

    fn ink(p: &Pixmap) -> f32 {
        (0..p.height())
            .flat_map(|y| (0..p.width()).map(move |x| (x, y)))
            .map(|(x, y)| redness(p, x, y))
            .sum()
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn blend_arithmetic() {
        // Full coverage of an opaque colour replaces the pixel.
        assert_eq!(blend(WHITE.0, RED.0, 256), RED.0);
        // No coverage keeps it, bit for bit, whatever the colours.
        for d in [0x1234_5678u32, 0, u32::MAX, 0x80ff_00ff, 0x00ff_ff00] {
            for src in [RED.0, WHITE.0, 0x8000_4080, u32::MAX] {
                assert_eq!(blend(d, src, 0), d);
            }
        }
        // Half red over white: R stays 255, G and B about half, opaque.
        let [r, g, b, a] = blend(WHITE.0, RED.0, 128).to_le_bytes();
        assert_eq!((r, a), (255, 255));
        assert!((127..=129).contains(&g) && g == b, "{g} {b}");
        // 50 % transparent blue (premultiplied) over opaque white.
        let blue = Colour::from_rgba([0.0, 0.0, 1.0, 0.5]);
        assert_eq!(blue.bytes(), [0, 0, 128, 128]);
        let [r, g, b, a] = blend(WHITE.0, blue.0, 256).to_le_bytes();
        assert_eq!(a, 255);
        assert!((126..=128).contains(&r) && r == g, "{r}");
        assert_eq!(b, 255);
        // Over transparent: the premultiplied source itself.
        assert_eq!(blend(0, blue.0, 256), blue.0);
        // Every channel is src × c + dst × (1 - src alpha × c), within
        // rounding, and never spills into its neighbour.
        for c in [0u32, 1, 64, 128, 255, 256] {
            for src in [0xffff_ffffu32, 0x8000_4080, RED.0, 0] {
                for d in [0u32, 0xffff_ffff, 0x80ff_00ff, 0x7f7f_7f7f] {
                    let out = blend(d, src, c).to_le_bytes();
                    let (s, db) = (src.to_le_bytes(), d.to_le_bytes());
                    let k = c as f32 / 256.0;
                    let sa = f32::from(s[3]) * k;
                    for i in 0..4 {
                        let want = f32::from(s[i]) * k + f32::from(db[i]) * (1.0 - sa / 256.0);
                        assert!(
                            (f32::from(out[i]) - want).abs() <= 2.0,
                            "c {c} src {src:#x} dst {d:#x}: {out:?}"
                        );
                    }
                }
            }
        }
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn straighten_undoes_premultiplication() {
        let mut p = Pixmap::new(2, 1);
        p.fill(Colour(0));
        p.fill_circle((1.0, 0.5), 3.0, Colour::from_rgba([1.0, 0.0, 0.0, 0.5]));
        assert_eq!(p.pixel(0, 0), Some([128, 0, 0, 128]));
        p.straighten();
        assert_eq!(p.pixel(0, 0), Some([255, 0, 0, 128]));
        // Opaque after an opaque fill: nothing changes.
        let mut q = canvas(4, 4);
        q.stroke_line((0.0, 2.0), (4.0, 2.0), 1.0, RED);
        let before = q.clone();
        q.straighten();
        assert_eq!(q, before);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_horizontal_line_on_a_pixel_row_lights_that_row() {
        let mut p = canvas(20, 10);
        // Centred on row 4 (y 4..5), from x 2 to 12, 1 px wide.
        p.stroke_line((2.0, 4.5), (12.0, 4.5), 1.0, RED);
        for x in 2..12 {
            assert_eq!(p.pixel(x, 4), Some(RED.bytes()), "x {x}");
            assert_eq!(p.pixel(x, 3), Some(WHITE.bytes()));
            assert_eq!(p.pixel(x, 5), Some(WHITE.bytes()));
        }
        // Butt ends: nothing before 2 or from 12 on.
        assert_eq!(p.pixel(1, 4), Some(WHITE.bytes()));
        assert_eq!(p.pixel(12, 4), Some(WHITE.bytes()));
        assert_eq!(lit(&p).len(), 10);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_line_between_rows_shares_its_ink() {
        let mut p = canvas(20, 10);
        // On the boundary between rows 3 and 4: half each.
        p.stroke_line((2.0, 4.0), (12.0, 4.0), 1.0, RED);
        for x in 2..12 {
            assert!((redness(&p, x, 3) - 0.5).abs() < 0.01);
            assert!((redness(&p, x, 4) - 0.5).abs() < 0.01);
        }
        assert!((ink(&p) - 10.0).abs() < 0.1);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_vertical_line_lights_its_column_with_its_width() {
        let mut p = canvas(10, 20);
        // 3 px wide around x = 5: columns 4, 5, 6, from y 3 to 15.
        p.stroke_line((5.5, 3.0), (5.5, 15.0), 3.0, RED);
        for y in 3..15 {
            for x in 4..=6 {
                assert_eq!(p.pixel(x, y), Some(RED.bytes()), "{x},{y}");
            }
            assert_eq!(p.pixel(3, y), Some(WHITE.bytes()));
            assert_eq!(p.pixel(7, y), Some(WHITE.bytes()));
        }
        assert_eq!(lit(&p).len(), 3 * 12);
        // Drawn upwards: the same pixels.
        let mut q = canvas(10, 20);
        q.stroke_line((5.5, 15.0), (5.5, 3.0), 3.0, RED);
        assert_eq!(p, q);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_diagonal_line_lights_the_diagonal_with_the_right_ink() {
        let mut p = canvas(40, 40);
        p.stroke_line((5.0, 5.0), (35.0, 35.0), 2.0, RED);
        // The diagonal pixels are fully covered …
        for i in 7..33 {
            assert!(redness(&p, i, i) > 0.99, "{i}");
        }
        // … pixels far from it untouched …
        assert_eq!(p.pixel(20, 10), Some(WHITE.bytes()));
        assert_eq!(p.pixel(10, 20), Some(WHITE.bytes()));
        // … a pixel half a diagonal off is partly covered.
        let side = redness(&p, 21, 20);
        assert!(side > 0.2 && side < 1.0, "{side}");
        // Ink: length × width (30√2 × 2), give or take the ends' filter.
        let want = 30.0 * std::f32::consts::SQRT_2 * 2.0;
        assert!(
            (ink(&p) - want).abs() < want * 0.05,
            "{} vs {want}",
            ink(&p)
        );
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_thin_line_keeps_its_ink() {
        let mut p = canvas(40, 10);
        p.stroke_line((2.0, 5.5), (32.0, 5.5), 0.25, RED);
        assert!((redness(&p, 10, 5) - 0.25).abs() < 0.01);
        assert!((ink(&p) - 30.0 * 0.25).abs() < 0.1);
        let mut q = canvas(40, 40);
        q.stroke_line((3.0, 2.0), (33.0, 37.0), 0.5, RED);
        let len = (30.0f32 * 30.0 + 35.0 * 35.0).sqrt();
        assert!(
            (ink(&q) - len * 0.5).abs() < len * 0.5 * 0.06,
            "{}",
            ink(&q)
        );
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn lines_far_outside_are_clipped_quickly_and_safely() {
        let mut p = canvas(50, 30);
        // Entirely outside, in every direction, some astronomically long.
        p.stroke_line((-1e9, -5.0), (1e9, -5.0), 2.0, RED);
        p.stroke_line((60.0, -1e12), (60.0, 1e12), 2.0, RED);
        p.stroke_line((-1e300, 1e300), (-1e299, 1e300), 5.0, RED);
        p.stroke_quad((-1e6, -1e6), (-2e6, 5e5), (-1e6, 2e6), 3.0, RED);
        assert!(lit(&p).is_empty());
        // Crossing the buffer from far away: exactly the row, as a short line.
        p.stroke_line((-1e9, 10.5), (1e9, 10.5), 1.0, RED);
        for x in 0..50 {
            assert_eq!(p.pixel(x, 10), Some(RED.bytes()), "{x}");
        }
        assert_eq!(lit(&p).len(), 50);
        // Diagonal through from far away.
        let mut q = canvas(50, 30);
        q.stroke_line((-1e7, -1e7), (1e7, 1e7), 1.0, RED);
        assert!(redness(&q, 20, 20) > 0.5);
        // Overflowing differences draw nothing rather than panic.
        q.stroke_line((-f64::MAX, 0.0), (f64::MAX, 0.0), 1.0, RED);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn degenerate_input_draws_nothing() {
        let mut p = canvas(20, 20);
        let nan = f64::NAN;
        let inf = f64::INFINITY;
        p.stroke_line((5.0, 5.0), (5.0, 5.0), 3.0, RED);
        p.stroke_line((nan, 5.0), (10.0, 5.0), 3.0, RED);
        p.stroke_line((1.0, 5.0), (inf, 5.0), 3.0, RED);
        p.stroke_line((1.0, 5.0), (10.0, 5.0), 0.0, RED);
        p.stroke_line((1.0, 5.0), (10.0, 5.0), -2.0, RED);
        p.stroke_line((1.0, 5.0), (10.0, 5.0), nan, RED);
        p.stroke_line((1.0, 5.0), (10.0, 5.0), inf, RED);
        p.stroke_quad((1.0, 1.0), (nan, 3.0), (9.0, 9.0), 2.0, RED);
        p.stroke_quad((4.0, 4.0), (4.0, 4.0), (4.0, 4.0), 2.0, RED);
        p.stroke_circle((nan, 3.0), 3.0, 1.0, RED);
        p.stroke_circle((10.0, 10.0), 3.0, 0.0, RED);
        p.fill_circle((10.0, 10.0), nan, RED);
        p.fill_circle((10.0, 10.0), -1.0, RED);
        p.fill_circle((10.0, inf), 4.0, RED);
        p.fill_triangle([(1.0, 1.0), (5.0, 5.0), (9.0, 9.0)], RED);
        p.fill_triangle([(1.0, 1.0), (nan, 5.0), (9.0, 1.0)], RED);
        assert!(lit(&p).is_empty());
        // An empty buffer takes anything.
        let mut e = Pixmap::new(0, 0);
        e.stroke_line((0.0, 0.0), (10.0, 10.0), 2.0, RED);
        e.fill_circle((0.0, 0.0), 5.0, RED);
        e.fill_triangle([(0.0, 0.0), (5.0, 0.0), (0.0, 5.0)], RED);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_curve_follows_its_points_without_seams() {
        let mut p = canvas(100, 60);
        let (s, c, e) = ((10.0, 50.0), (50.0, -30.0), (90.0, 50.0));
        assert!(curve_segments(s, c, e) > 4);
        p.stroke_quad(s, c, e, 2.0, RED);
        // Points on the curve are covered, the control point is not.
        for i in 1..10 {
            let t = f64::from(i) / 10.0;
            let x = (1.0 - t) * (1.0 - t) * s.0 + 2.0 * (1.0 - t) * t * c.0 + t * t * e.0;
            let y = (1.0 - t) * (1.0 - t) * s.1 + 2.0 * (1.0 - t) * t * c.1 + t * t * e.1;
            assert!(redness(&p, x as usize, y as usize) > 0.4, "t {t}");
        }
        assert_eq!(p.pixel(50, 5), Some(WHITE.bytes()));
        // Joints neither gap nor double (a missing or doubled pixel
        // moves a column's ink by about 1): each column's ink is the
        // width across the slope of the flattened piece there,
        // w * sqrt(1 + slope²), between the two pieces' at a joint.
        let mut pts = Vec::new();
        flatten(s, c, e, &mut pts);
        let ink_at = |x: f64| {
            let i = pts
                .iter()
                .rposition(|q| q.0 <= x)
                .unwrap_or(0)
                .min(pts.len() - 2);
            let (a, b) = (pts[i], pts[i + 1]);
            let slope = (b.1 - a.1) / (b.0 - a.0);
            (2.0 * (1.0 + slope * slope).sqrt()) as f32
        };
        for x in 14..87 {
            let col: f32 = (0..60).map(|y| redness(&p, x, y)).sum();
            let (u, v) = (ink_at(x as f64), ink_at(x as f64 + 1.0));
            assert!(
                col > u.min(v) - 0.2 && col < u.max(v) + 0.2,
                "column {x}: {col} (want {u}..{v})"
            );
        }
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_polyline_of_collinear_pieces_equals_one_line() {
        let mut a = canvas(40, 10);
        a.polyline(
            &[(2.0, 4.3), (11.7, 4.3), (20.2, 4.3), (33.0, 4.3)],
            1.0,
            RED,
        );
        let mut b = canvas(40, 10);
        b.stroke_line((2.0, 4.3), (33.0, 4.3), 2.0, RED);
        for y in 0..10 {
            for x in 0..40 {
                let (pa, pb) = (a.pixel(x, y).unwrap(), b.pixel(x, y).unwrap());
                assert!(
                    pa.iter().zip(pb.iter()).all(|(p, q)| p.abs_diff(*q) <= 1),
                    "{x},{y}: {pa:?} {pb:?}"
                );
            }
        }
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn discs_rings_and_triangles() {
        let mut p = canvas(40, 40);
        p.fill_circle((20.0, 20.0), 8.0, RED);
        assert_eq!(p.pixel(20, 20), Some(RED.bytes()));
        assert_eq!(p.pixel(20, 13), Some(RED.bytes()));
        assert_eq!(p.pixel(20, 10), Some(WHITE.bytes()));
        let area = std::f32::consts::PI * 64.0;
        assert!((ink(&p) - area).abs() < area * 0.02, "{}", ink(&p));
        let mut r = canvas(40, 40);
        r.stroke_circle((20.0, 20.0), 10.0, 2.0, RED);
        assert_eq!(r.pixel(20, 20), Some(WHITE.bytes()), "hole");
        assert!(redness(&r, 30, 20) > 0.9 && redness(&r, 20, 9) > 0.9);
        let ring = std::f32::consts::PI * (121.0 - 81.0);
        assert!((ink(&r) - ring).abs() < ring * 0.03, "{}", ink(&r));
        let mut t = canvas(40, 40);
        t.fill_triangle([(5.0, 5.0), (35.0, 5.0), (5.0, 35.0)], RED);
        assert_eq!(t.pixel(10, 10), Some(RED.bytes()));
        assert_eq!(t.pixel(30, 30), Some(WHITE.bytes()));
        assert!((ink(&t) - 450.0).abs() < 10.0, "{}", ink(&t));
        let mut u = canvas(40, 40);
        u.fill_triangle([(5.0, 5.0), (5.0, 35.0), (35.0, 5.0)], RED);
        assert_eq!(t, u, "winding does not matter");
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn binning_in_pieces_gives_the_bins_of_binning_at_once() {
        use crate::geometry::Point;
        use crate::scene::{Arrow, BatchKey, EdgeShape, NodeShape};
        let mut state = 0x853c_49e6_748f_ea9b_u64;
        let mut next = move |max: f64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 10_000) as f64 / 10_000.0 * max - 20.0
        };
        let mut pt = |max| Point {
            x: next(max),
            y: next(max),
        };
        let edges = (0..300)
            .map(|i| EdgeShape {
                edge: i,
                path: match i % 3 {
                    0 => EdgePath::Straight {
                        start: pt(400.0),
                        end: pt(400.0),
                    },
                    1 => EdgePath::Curve {
                        start: pt(400.0),
                        ctrl: pt(400.0),
                        end: pt(400.0),
                    },
                    _ => EdgePath::Loop {
                        centre: pt(400.0),
                        radius: 6.0,
                    },
                },
                key: BatchKey {
                    colour: 1,
                    width: 4,
                },
                arrow: (i % 2 == 0).then(|| Arrow {
                    tip: pt(400.0),
                    dir: Point { x: 0.6, y: 0.8 },
                    len: 8.0,
                }),
                mid: Point { x: 0.0, y: 0.0 },
            })
            .collect();
        let nodes = (0..80)
            .map(|i| NodeShape {
                node: i,
                centre: pt(400.0),
                radius: 5.0,
                colour: 2,
                outline: 1.0,
            })
            .collect();
        let scene = Scene {
            edges,
            nodes,
            ..Scene::default()
        };
        let (dpr, h) = (2.0, 600);
        for only in [0..usize::MAX, 1..3, 4..4] {
            let at_once = Bins::binned(&scene, dpr, h, only.clone());
            for max in [1, 7, 50, 10_000] {
                let mut b = BinBuild::new(&scene, h, only.clone());
                let mut steps = 1;
                while !b.step(&scene, dpr, max) {
                    steps += 1;
                }
                assert_eq!(
                    steps,
                    shapes(&scene).div_ceil(max).max(1),
                    "{only:?} by {max}"
                );
                assert_eq!(b.finish(), at_once, "{only:?} by {max}");
            }
            if only.is_empty() {
                assert_eq!(at_once.steps(), 0);
            } else {
                assert!(at_once.steps() > 100, "{only:?}: {}", at_once.steps());
            }
        }
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_scene_paints_in_steps_the_same_as_at_once() {
        use crate::geometry::Point;
        use crate::scene::{Arrow, BatchKey, EdgeShape, NodeShape, LIGHT};
        let pt = |x, y| Point { x, y };
        let edge = |path, arrow| EdgeShape {
            edge: 0,
            path,
            key: BatchKey {
                colour: 1,
                width: 8,
            },
            arrow,
            mid: pt(0.0, 0.0),
        };
        let scene = Scene {
            edges: vec![
                edge(
                    EdgePath::Straight {
                        start: pt(5.0, 5.0),
                        end: pt(60.0, 40.0),
                    },
                    Some(Arrow {
                        tip: pt(66.0, 44.0),
                        dir: pt(0.8, 0.6),
                        len: 10.0,
                    }),
                ),
                edge(
                    EdgePath::Curve {
                        start: pt(5.0, 40.0),
                        ctrl: pt(30.0, 0.0),
                        end: pt(70.0, 30.0),
                    },
                    None,
                ),
                edge(
                    EdgePath::Loop {
                        centre: pt(20.0, 20.0),
                        radius: 6.0,
                    },
                    None,
                ),
            ],
            nodes: vec![NodeShape {
                node: 0,
                centre: pt(40.0, 25.0),
                radius: 5.0,
                colour: 2,
                outline: 1.2,
            }],
            ..Scene::default()
        };
        // At dpr 4 the picture (up to 45 CSS px down) crosses the first
        // band's end.
        let (dpr, w, h) = (4.0, 320, 200);
        assert!(45.0 * dpr > BAND_ROWS as f64 && h < 2 * BAND_ROWS);
        let mut all = Pixmap::new(w, h);
        paint_scene(&mut all, &scene, &LIGHT, dpr);
        let pal = Palette::of(&LIGHT);
        let bins = Bins::of(&scene, dpr, h);
        assert_eq!(shapes(&scene), 8);
        // Every shape with something to paint in some band, and some in
        // both bands.
        let mut distinct = bins.order.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 6, "{bins:?}");
        assert!(bins.steps() > distinct.len(), "{bins:?}");
        let mut parts = Pixmap::new(w, h);
        parts.fill(pal.background);
        for k in 0..bins.steps() {
            paint_steps(&mut parts, &scene, &pal, dpr, &bins, k..k + 1);
        }
        assert_eq!(all, parts);
        // Shape by shape over the whole buffer, without bands: the same
        // picture (give or take a level where a band cut a line).
        let mut whole = Pixmap::new(w, h);
        whole.fill(pal.background);
        for k in 0..shapes(&scene) {
            paint_shape(&mut whole, &scene, &pal, dpr, k, None);
        }
        for y in 0..h {
            for x in 0..w {
                let (a, b) = (all.pixel(x, y).unwrap(), whole.pixel(x, y).unwrap());
                assert!(
                    a.iter().zip(b.iter()).all(|(p, q)| p.abs_diff(*q) <= 2),
                    "{x},{y}: {a:?} {b:?}"
                );
            }
        }
        // The node's disc is on top, at its place scaled by dpr.
        assert_eq!(all.pixel(160, 100), Some(pal.nodes[2].bytes()));
        // Background where nothing is.
        assert_eq!(all.pixel(310, 195), Some(pal.background.bytes()));
        // The straight edge, 2 px wide × dpr 4, at its midpoint.
        assert_eq!(all.pixel(130, 90), Some(pal.edges[1].bytes()));
    }
}
