//! Paints a [`Scene`] on a Canvas 2D context: the Canvas 2D renderer, and
//! the label layer the WebGL renderer draws over its canvas. Shapes, culling
//! and level of detail come from [`crate::scene`]; this file only issues
//! calls, grouped by style: edges sorted by colour and width bucket, arrows
//! and node discs by colour, outlines by width, so each style is set once
//! per group. The order is a flat list of [`Op`]s ([`plan`]), so a picture
//! can be painted in pieces ([`crate::scene_cache`]) with the same result.
//!
//! Key decision: inside a group, each shape is its own small path
//! ([`SHAPES_PER_PATH`]). Measured in headless Chromium (software Skia,
//! 10,000 nodes, 50,000 edges, fit view): stroking the edges one path each
//! took 460–710 ms, 16 per path 1,120 ms, one path per group 1,360 ms — a
//! big path's scan conversion costs more than the calls it saves.
//!
//! [`RasterCanvas`] is the raster renderer's side of this: the shapes
//! rasterised in WASM ([`crate::raster`]), put on the canvas as one image,
//! then the same text as here.

use std::f64::consts::TAU;

use web_sys::CanvasRenderingContext2d;

use crate::error::WebError;
use crate::palette::{EDGE_COLOURS, NODE_COLOURS};
use crate::raster::{paint_scene, Pixmap};
use crate::scene::{bucket_to_width, BatchKey, EdgePath, NodeShape, Scene};

pub use crate::scene::{
    Frame, Theme, DARK, EDGE_LABEL_MAX_EDGES, EDGE_LABEL_MIN_SCALE, LIGHT, NODE_LABEL_ALWAYS,
    NODE_LABEL_MIN_SCALE,
};

/// Shapes per path inside a style group (see the module comment).
pub const SHAPES_PER_PATH: usize = 1;

/// Shown on an empty map.
pub const WAITING: &str = "Waiting for traffic…";

fn edge_colour(i: u8) -> &'static str {
    EDGE_COLOURS
        .get(usize::from(i))
        .copied()
        .unwrap_or(crate::palette::NEUTRAL_EDGE)
}

fn node_colour(i: u8) -> &'static str {
    NODE_COLOURS
        .get(usize::from(i))
        .copied()
        .unwrap_or(crate::palette::NO_NAMESPACE_COLOUR)
}

/// Paints one frame (builds its scene first).
pub fn draw(ctx: &CanvasRenderingContext2d, f: &Frame<'_>) {
    paint(ctx, f, &Scene::build(f));
}

/// Paints `scene` (built from `f`): background, edges, arrows, nodes, labels.
pub fn paint(ctx: &CanvasRenderingContext2d, f: &Frame<'_>, scene: &Scene) {
    paint_background(ctx, f);
    paint_ops(ctx, scene, &f.theme, &plan(scene), None);
    paint_text(ctx, f, scene);
}

/// Sets the frame's transform (CSS px, scaled by the device pixel ratio)
/// and fills the whole canvas with the theme's background.
pub fn paint_background(ctx: &CanvasRenderingContext2d, f: &Frame<'_>) {
    let _ = ctx.set_transform(f.dpr, 0.0, 0.0, f.dpr, 0.0, 0.0);
    ctx.set_fill_style_str(f.theme.background);
    ctx.fill_rect(0.0, 0.0, f.width, f.height);
}

/// The label layer over a WebGL canvas: clears to transparent, then draws
/// what [`paint`] draws as text (labels, or the empty-map message).
pub fn paint_labels(ctx: &CanvasRenderingContext2d, f: &Frame<'_>, scene: &Scene) {
    let _ = ctx.set_transform(f.dpr, 0.0, 0.0, f.dpr, 0.0, 0.0);
    ctx.clear_rect(0.0, 0.0, f.width, f.height);
    paint_text(ctx, f, scene);
}

/// Draws what [`paint`] draws as text over what the canvas already shows
/// (the scene cache's overlay), at the frame's transform.
pub fn paint_labels_over(ctx: &CanvasRenderingContext2d, f: &Frame<'_>, scene: &Scene) {
    let _ = ctx.set_transform(f.dpr, 0.0, 0.0, f.dpr, 0.0, 0.0);
    paint_text(ctx, f, scene);
}

/// The selected node drawn on top: its disc and its thick outline.
pub fn paint_selection(ctx: &CanvasRenderingContext2d, f: &Frame<'_>, n: &NodeShape) {
    let _ = ctx.set_transform(f.dpr, 0.0, 0.0, f.dpr, 0.0, 0.0);
    ctx.begin_path();
    ctx.move_to(n.centre.x + n.radius, n.centre.y);
    let _ = ctx.arc(n.centre.x, n.centre.y, n.radius, 0.0, TAU);
    ctx.set_fill_style_str(node_colour(n.colour));
    ctx.fill();
    ctx.set_stroke_style_str(f.theme.node_stroke);
    ctx.set_line_width(n.outline);
    ctx.stroke();
}

/// The canvas size in device pixels of a frame (what the map canvas is
/// sized to).
pub fn device_size(f: &Frame<'_>) -> (u32, u32) {
    (
        (f.width * f.dpr).round().max(1.0) as u32,
        (f.height * f.dpr).round().max(1.0) as u32,
    )
}

/// The raster renderer's output side: a [`Pixmap`] the shapes are
/// rasterised into ([`crate::raster`]) and the JavaScript image it is
/// copied into for `putImageData` (kept between frames of one size, so a
/// frame allocates nothing on either side).
#[derive(Debug, Default)]
pub struct RasterCanvas {
    pub pixmap: Pixmap,
    image: Option<(js_sys::Uint32Array, web_sys::ImageData)>,
}

impl RasterCanvas {
    /// Paints one frame (builds its scene first).
    pub fn draw(&mut self, ctx: &CanvasRenderingContext2d, f: &Frame<'_>) {
        self.paint(ctx, f, &Scene::build(f));
    }

    /// What [`paint`] paints, with the shapes rasterised: background and
    /// shapes as one image at the canvas's device pixels, then the text
    /// with Canvas 2D.
    pub fn paint(&mut self, ctx: &CanvasRenderingContext2d, f: &Frame<'_>, scene: &Scene) {
        let (w, h) = ctx
            .canvas()
            .map(|c| (c.width(), c.height()))
            .unwrap_or_else(|| device_size(f));
        self.pixmap.resize(w as usize, h as usize);
        paint_scene(&mut self.pixmap, scene, &f.theme, f.dpr);
        if self.put(ctx).is_err() {
            // No image (a zero-sized canvas): the plain background.
            paint_background(ctx, f);
        }
        paint_labels_over(ctx, f, scene);
    }

    /// Puts the pixmap on `ctx` at device pixel (0, 0), whatever the
    /// transform (one `putImageData`).
    pub fn put(&mut self, ctx: &CanvasRenderingContext2d) -> Result<(), WebError> {
        let (w, h) = (self.pixmap.width() as u32, self.pixmap.height() as u32);
        if w == 0 || h == 0 {
            return Err(WebError::Missing("pixels"));
        }
        self.pixmap.straighten();
        let fits = |i: &web_sys::ImageData| i.width() == w && i.height() == h;
        let (pixels, image) = match self.image.take() {
            Some((p, i)) if fits(&i) => (p, i),
            _ => {
                let pixels = js_sys::Uint32Array::new_with_length(w * h);
                let bytes = js_sys::Uint8ClampedArray::new_with_byte_offset_and_length(
                    &pixels.buffer(),
                    0,
                    w * h * 4,
                );
                let image = web_sys::ImageData::new_with_js_u8_clamped_array_and_sh(&bytes, w, h)
                    .map_err(|e| WebError::js("ImageData", &e))?;
                (pixels, image)
            }
        };
        pixels.copy_from(self.pixmap.linear());
        let r = ctx
            .put_image_data(&image, 0.0, 0.0)
            .map_err(|e| WebError::js("putImageData", &e));
        self.image = Some((pixels, image));
        r
    }
}

/// One drawing step of a scene's shapes (everything but text). A style op
/// sets the style of the shape ops after it; each shape op is its own path
/// ([`SHAPES_PER_PATH`]). Indices point into [`Scene::edges`] or
/// [`Scene::nodes`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// Stroke colour and width of the edges that follow.
    EdgeStyle(BatchKey),
    Edge(usize),
    /// Fill colour of the arrowheads that follow.
    ArrowStyle(u8),
    Arrow(usize),
    /// Fill colour of the node discs that follow.
    NodeFill(u8),
    Node(usize),
    /// Outline width of the node rings that follow (theme colour).
    RingStyle(f64),
    Ring(usize),
}

impl Op {
    pub fn is_style(&self) -> bool {
        matches!(
            self,
            Op::EdgeStyle(_) | Op::ArrowStyle(_) | Op::NodeFill(_) | Op::RingStyle(_)
        )
    }
}

/// The drawing order of a scene's shapes, grouped by style: edges by
/// colour and width, arrowheads and node discs by colour, rings by width.
/// Painting a prefix of it and then the rest gives the same picture as
/// painting it at once (what the scene cache relies on).
pub fn plan(scene: &Scene) -> Vec<Op> {
    let mut ops = Vec::with_capacity(2 * scene.edges.len() + 2 * scene.nodes.len() + 64);
    for part in 0..PLAN_PARTS {
        plan_part(scene, part, &mut ops);
    }
    ops
}

/// The [`plan`] is made in this many parts (edges, arrowheads, nodes), so
/// the scene cache can spread it over animation frames.
pub const PLAN_PARTS: usize = 3;

/// Appends part `part` (below [`PLAN_PARTS`]) of `scene`'s [`plan`] to
/// `ops`; parts appended in order make the plan.
pub fn plan_part(scene: &Scene, part: usize, ops: &mut Vec<Op>) {
    // Sorting packed integers (style in the high bits, index in the low
    // 32) is several times faster in WASM than sorting (key, index) pairs;
    // the order is the same as `Scene::batches` and friends give.
    fn sorted(mut keys: Vec<u64>) -> Vec<u64> {
        keys.sort_unstable();
        keys
    }
    let low = |k: u64| (k & 0xffff_ffff) as usize;
    match part {
        0 => {
            let edges = sorted(
                scene
                    .edges
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        (u64::from(e.key.colour) << 48) | (u64::from(e.key.width) << 32) | i as u64
                    })
                    .collect(),
            );
            let mut style = None;
            for k in edges {
                if style != Some(k >> 32) {
                    style = Some(k >> 32);
                    ops.push(Op::EdgeStyle(BatchKey {
                        colour: (k >> 48) as u8,
                        width: (k >> 32) as u16,
                    }));
                }
                ops.push(Op::Edge(low(k)));
            }
        }
        1 => {
            let arrows = sorted(
                scene
                    .edges
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.arrow.is_some())
                    .map(|(i, e)| (u64::from(e.key.colour) << 32) | i as u64)
                    .collect(),
            );
            let mut style = None;
            for k in arrows {
                if style != Some(k >> 32) {
                    style = Some(k >> 32);
                    ops.push(Op::ArrowStyle((k >> 32) as u8));
                }
                ops.push(Op::Arrow(low(k)));
            }
        }
        2 => {
            let nodes = sorted(
                scene
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (u64::from(n.colour) << 32) | i as u64)
                    .collect(),
            );
            let mut style = None;
            for k in nodes {
                if style != Some(k >> 32) {
                    style = Some(k >> 32);
                    ops.push(Op::NodeFill((k >> 32) as u8));
                }
                ops.push(Op::Node(low(k)));
            }
            let mut widths: Vec<f64> = scene.nodes.iter().map(|n| n.outline).collect();
            widths.sort_by(f64::total_cmp);
            widths.dedup();
            for w in widths {
                ops.push(Op::RingStyle(w));
                ops.extend(
                    scene
                        .nodes
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| n.outline == w)
                        .map(|(i, _)| Op::Ring(i)),
                );
            }
        }
        _ => {}
    }
}

/// Paints `ops` of `scene`'s [`plan`]. `style` is a style op to apply
/// first (the last one before `ops` when resuming in the middle).
pub fn paint_ops(
    ctx: &CanvasRenderingContext2d,
    scene: &Scene,
    theme: &Theme,
    ops: &[Op],
    style: Option<Op>,
) {
    for op in style.iter().chain(ops) {
        paint_op(ctx, scene, theme, *op);
    }
}

fn disc(ctx: &CanvasRenderingContext2d, n: &NodeShape) {
    ctx.move_to(n.centre.x + n.radius, n.centre.y);
    let _ = ctx.arc(n.centre.x, n.centre.y, n.radius, 0.0, TAU);
}

fn paint_op(ctx: &CanvasRenderingContext2d, scene: &Scene, theme: &Theme, op: Op) {
    match op {
        Op::EdgeStyle(key) => {
            ctx.set_stroke_style_str(edge_colour(key.colour));
            ctx.set_line_width(bucket_to_width(key.width));
        }
        Op::Edge(i) => {
            let Some(e) = scene.edges.get(i) else {
                return;
            };
            ctx.begin_path();
            match e.path {
                EdgePath::Curve { start, ctrl, end } => {
                    ctx.move_to(start.x, start.y);
                    ctx.quadratic_curve_to(ctrl.x, ctrl.y, end.x, end.y);
                }
                EdgePath::Straight { start, end } => {
                    ctx.move_to(start.x, start.y);
                    ctx.line_to(end.x, end.y);
                }
                EdgePath::Loop { centre, radius } => {
                    ctx.move_to(centre.x + radius, centre.y);
                    let _ = ctx.arc(centre.x, centre.y, radius, 0.0, TAU);
                }
            }
            ctx.stroke();
        }
        Op::ArrowStyle(colour) => ctx.set_fill_style_str(edge_colour(colour)),
        Op::Arrow(i) => {
            let Some(a) = scene.edges.get(i).and_then(|e| e.arrow) else {
                return;
            };
            let [t, l, r] = a.corners();
            ctx.begin_path();
            ctx.move_to(t.x, t.y);
            ctx.line_to(l.x, l.y);
            ctx.line_to(r.x, r.y);
            ctx.close_path();
            ctx.fill();
        }
        Op::NodeFill(colour) => ctx.set_fill_style_str(node_colour(colour)),
        Op::Node(i) => {
            if let Some(n) = scene.nodes.get(i) {
                ctx.begin_path();
                disc(ctx, n);
                ctx.fill();
            }
        }
        Op::RingStyle(w) => {
            ctx.set_stroke_style_str(theme.node_stroke);
            ctx.set_line_width(w);
        }
        Op::Ring(i) => {
            if let Some(n) = scene.nodes.get(i) {
                ctx.begin_path();
                disc(ctx, n);
                ctx.stroke();
            }
        }
    }
}

fn paint_text(ctx: &CanvasRenderingContext2d, f: &Frame<'_>, scene: &Scene) {
    let g = f.graph;
    if g.nodes.is_empty() {
        ctx.set_fill_style_str(f.theme.text);
        ctx.set_font("15px system-ui, sans-serif");
        ctx.set_text_align("center");
        ctx.set_text_baseline("alphabetic");
        let _ = ctx.fill_text(WAITING, f.width / 2.0, f.height / 2.0);
        return;
    }
    ctx.set_text_align("center");
    if !scene.edge_labels.is_empty() {
        ctx.set_text_baseline("middle");
        ctx.set_font("bold 12px system-ui, sans-serif");
        let texts: Vec<(f64, f64, String)> = scene
            .edge_labels
            .iter()
            .filter_map(|l| {
                let e = g.edges.get(l.index)?;
                Some((l.at.x, l.at.y, f.view.settings.format_value(e.value)))
            })
            .collect();
        halo_texts(ctx, f, texts.iter().map(|(x, y, t)| (*x, *y, t.as_str())));
    }
    if !scene.node_labels.is_empty() {
        ctx.set_font("13px system-ui, sans-serif");
        ctx.set_text_baseline("top");
        let texts = scene.node_labels.iter().filter_map(|l| {
            let n = g.nodes.get(l.index)?;
            Some((l.at.x, l.at.y, n.label.as_str()))
        });
        halo_texts(ctx, f, texts);
    }
    if let Some(note) = scene.budget.map(budget_note) {
        ctx.set_font("13px system-ui, sans-serif");
        ctx.set_text_align("left");
        ctx.set_text_baseline("bottom");
        halo_texts(
            ctx,
            f,
            std::iter::once((10.0, f.height - 8.0, note.as_str())),
        );
    }
}

/// What the map says when it draws only its heaviest edges
/// ([`crate::scene::EDGE_BUDGET`]).
pub fn budget_note((drawn, edges): (usize, usize)) -> String {
    format!(
        "Drawing the {} heaviest of {} edges: filter the map to see the others (the table lists all).",
        digits(drawn),
        digits(edges)
    )
}

/// `n` with commas between groups of three digits.
fn digits(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Texts with a halo: all halos first, then all texts (two style changes).
fn halo_texts<'t>(
    ctx: &CanvasRenderingContext2d,
    f: &Frame<'_>,
    texts: impl Iterator<Item = (f64, f64, &'t str)> + Clone,
) {
    ctx.set_line_width(4.0);
    ctx.set_stroke_style_str(f.theme.halo);
    for (x, y, t) in texts.clone() {
        let _ = ctx.stroke_text(t, x, y);
    }
    ctx.set_fill_style_str(f.theme.text);
    for (x, y, t) in texts {
        let _ = ctx.fill_text(t, x, y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Point;
    use crate::scene::{Arrow, EdgeShape};
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn the_budget_note_names_both_counts() {
        assert_eq!(
            budget_note((50_000, 298_152)),
            "Drawing the 50,000 heaviest of 298,152 edges: filter the map to see the others (the table lists all)."
        );
        assert_eq!(digits(7), "7");
        assert_eq!(digits(1_000), "1,000");
        assert_eq!(digits(999_999), "999,999");
        assert_eq!(digits(1_234_567), "1,234,567");
    }

    fn edge(colour: u8, width: u16, arrow: bool) -> EdgeShape {
        EdgeShape {
            edge: 0,
            path: EdgePath::Straight {
                start: Point::default(),
                end: Point::default(),
            },
            key: BatchKey { colour, width },
            arrow: arrow.then_some(Arrow {
                tip: Point::default(),
                dir: Point { x: 1.0, y: 0.0 },
                len: 10.0,
            }),
            mid: Point::default(),
        }
    }

    fn node(colour: u8, outline: f64) -> NodeShape {
        NodeShape {
            node: 0,
            centre: Point::default(),
            radius: 5.0,
            colour,
            outline,
        }
    }

    #[wasm_bindgen_test]
    fn the_plan_follows_the_batches_of_the_scene() {
        let scene = Scene {
            edges: vec![
                edge(2, 4, true),
                edge(1, 4, false),
                edge(2, 4, true),
                edge(2, 8, true),
            ],
            nodes: vec![node(3, 1.2), node(1, 3.0), node(3, 1.2)],
            ..Scene::default()
        };
        let k = |colour, width| Op::EdgeStyle(BatchKey { colour, width });
        assert_eq!(
            plan(&scene),
            vec![
                k(1, 4),
                Op::Edge(1),
                k(2, 4),
                Op::Edge(0),
                Op::Edge(2),
                k(2, 8),
                Op::Edge(3),
                Op::ArrowStyle(2),
                Op::Arrow(0),
                Op::Arrow(2),
                Op::Arrow(3),
                Op::NodeFill(1),
                Op::Node(1),
                Op::NodeFill(3),
                Op::Node(0),
                Op::Node(2),
                Op::RingStyle(1.2),
                Op::Ring(0),
                Op::Ring(2),
                Op::RingStyle(3.0),
                Op::Ring(1),
            ]
        );
        // Every shape once, styles counted apart.
        let p = plan(&scene);
        assert_eq!(p.iter().filter(|o| !o.is_style()).count(), 4 + 3 + 3 + 3);
        assert!(plan(&Scene::default()).is_empty());
    }
}
