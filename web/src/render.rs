//! Paints a [`Scene`] on a Canvas 2D context: the Canvas 2D renderer, and
//! the label layer the WebGL renderer draws over its canvas. Shapes, culling
//! and level of detail come from [`crate::scene`]; this file only issues
//! calls, grouped by style: edges sorted by colour and width bucket, arrows
//! and node discs by colour, outlines by width, so each style is set once
//! per group.
//!
//! Key decision: inside a group, each shape is its own small path
//! ([`SHAPES_PER_PATH`]). Measured in headless Chromium (software Skia,
//! 10,000 nodes, 50,000 edges, fit view): stroking the edges one path each
//! took 460–710 ms, 16 per path 1,120 ms, one path per group 1,360 ms — a
//! big path's scan conversion costs more than the calls it saves.

use std::f64::consts::TAU;

use web_sys::CanvasRenderingContext2d;

use crate::palette::{EDGE_COLOURS, NODE_COLOURS};
use crate::scene::{bucket_to_width, EdgePath, Scene, NODE_OUTLINE};

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
    let _ = ctx.set_transform(f.dpr, 0.0, 0.0, f.dpr, 0.0, 0.0);
    ctx.set_fill_style_str(f.theme.background);
    ctx.fill_rect(0.0, 0.0, f.width, f.height);
    paint_edges(ctx, scene);
    paint_nodes(ctx, f, scene);
    paint_text(ctx, f, scene);
}

/// The label layer over a WebGL canvas: clears to transparent, then draws
/// what [`paint`] draws as text (labels, or the empty-map message).
pub fn paint_labels(ctx: &CanvasRenderingContext2d, f: &Frame<'_>, scene: &Scene) {
    let _ = ctx.set_transform(f.dpr, 0.0, 0.0, f.dpr, 0.0, 0.0);
    ctx.clear_rect(0.0, 0.0, f.width, f.height);
    paint_text(ctx, f, scene);
}

fn paint_edges(ctx: &CanvasRenderingContext2d, scene: &Scene) {
    for (key, members) in scene.batches() {
        ctx.set_stroke_style_str(edge_colour(key.colour));
        ctx.set_line_width(bucket_to_width(key.width));
        for part in members.chunks(SHAPES_PER_PATH) {
            ctx.begin_path();
            for e in part.iter().filter_map(|&i| scene.edges.get(i)) {
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
            }
            ctx.stroke();
        }
    }
    for (colour, members) in scene.arrow_batches() {
        ctx.set_fill_style_str(edge_colour(colour));
        for part in members.chunks(SHAPES_PER_PATH) {
            ctx.begin_path();
            for a in part
                .iter()
                .filter_map(|&i| scene.edges.get(i).and_then(|e| e.arrow))
            {
                let [t, l, r] = a.corners();
                ctx.move_to(t.x, t.y);
                ctx.line_to(l.x, l.y);
                ctx.line_to(r.x, r.y);
                ctx.close_path();
            }
            ctx.fill();
        }
    }
}

fn paint_nodes(ctx: &CanvasRenderingContext2d, f: &Frame<'_>, scene: &Scene) {
    let disc = |n: &crate::scene::NodeShape| {
        ctx.move_to(n.centre.x + n.radius, n.centre.y);
        let _ = ctx.arc(n.centre.x, n.centre.y, n.radius, 0.0, TAU);
    };
    for (colour, members) in scene.node_batches() {
        ctx.set_fill_style_str(node_colour(colour));
        for part in members.chunks(SHAPES_PER_PATH) {
            ctx.begin_path();
            part.iter()
                .filter_map(|&i| scene.nodes.get(i))
                .for_each(disc);
            ctx.fill();
        }
    }
    ctx.set_stroke_style_str(f.theme.node_stroke);
    let mut widths: Vec<f64> = scene.nodes.iter().map(|n| n.outline).collect();
    widths.sort_by(f64::total_cmp);
    widths.dedup();
    for w in widths {
        ctx.set_line_width(w);
        let ring: Vec<&crate::scene::NodeShape> =
            scene.nodes.iter().filter(|n| n.outline == w).collect();
        for part in ring.chunks(SHAPES_PER_PATH) {
            ctx.begin_path();
            part.iter().copied().for_each(disc);
            ctx.stroke();
        }
    }
    ctx.set_line_width(NODE_OUTLINE);
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
