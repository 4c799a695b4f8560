//! Draws a [`MapGraph`] on a Canvas 2D context: the only file that paints.
//! Geometry comes from [`crate::geometry`]; this file only issues calls.

use web_sys::CanvasRenderingContext2d;

use wiremap_model::MapGraph;

use crate::camera::Camera;
use crate::geometry::{bends, curve, radii, width, Point, ARROW_LEN};
use crate::palette::{namespace_colour, protocol_colour, NEUTRAL_EDGE};
use crate::view_state::ViewState;

/// Edge labels are drawn only below this many edges …
pub const EDGE_LABEL_MAX_EDGES: usize = 4_000;
/// … and at or above this zoom.
pub const EDGE_LABEL_MIN_SCALE: f64 = 0.45;
/// Node labels need this zoom when there are many nodes.
pub const NODE_LABEL_MIN_SCALE: f64 = 0.35;
/// Below this many nodes, labels are always drawn.
pub const NODE_LABEL_ALWAYS: usize = 150;

/// Colours of the page theme.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub background: &'static str,
    pub text: &'static str,
    pub halo: &'static str,
    pub node_stroke: &'static str,
}

pub const LIGHT: Theme = Theme {
    background: "#ffffff",
    text: "#1d2433",
    halo: "rgba(255,255,255,0.85)",
    node_stroke: "#2b2f38",
};
pub const DARK: Theme = Theme {
    background: "#12151c",
    text: "#e3e7ef",
    halo: "rgba(18,21,28,0.85)",
    node_stroke: "#d0d5de",
};

/// Everything one frame needs.
#[derive(Debug)]
pub struct Frame<'a> {
    pub graph: &'a MapGraph,
    pub positions: &'a [Point],
    pub camera: &'a Camera,
    pub view: &'a ViewState,
    /// Canvas size in CSS pixels and the device pixel ratio.
    pub width: f64,
    pub height: f64,
    pub dpr: f64,
    pub theme: Theme,
    pub selected: Option<usize>,
}

/// Paints one frame.
pub fn draw(ctx: &CanvasRenderingContext2d, f: &Frame<'_>) {
    let _ = ctx.set_transform(f.dpr, 0.0, 0.0, f.dpr, 0.0, 0.0);
    ctx.set_fill_style_str(f.theme.background);
    ctx.fill_rect(0.0, 0.0, f.width, f.height);
    let g = f.graph;
    if g.nodes.is_empty() {
        ctx.set_fill_style_str(f.theme.text);
        ctx.set_font("15px system-ui, sans-serif");
        ctx.set_text_align("center");
        let _ = ctx.fill_text("Waiting for traffic…", f.width / 2.0, f.height / 2.0);
        return;
    }
    let s = f.camera.scale;
    let screen: Vec<Point> = f
        .positions
        .iter()
        .map(|p| f.camera.to_screen(*p, f.width, f.height))
        .collect();
    let r: Vec<f64> = radii(g).iter().map(|r| (r * s).max(2.0)).collect();
    let max_v = g.edges.iter().map(|e| e.value).fold(0.0, f64::max);
    let bend = bends(&g.edges);
    let visible = |p: Point, pad: f64| {
        p.x > -pad && p.y > -pad && p.x < f.width + pad && p.y < f.height + pad
    };
    let labels =
        g.edges.len() <= EDGE_LABEL_MAX_EDGES && s >= EDGE_LABEL_MIN_SCALE && f.view.show_bandwidth;
    let mut label_jobs: Vec<(Point, String)> = Vec::new();
    for (i, e) in g.edges.iter().enumerate() {
        let (Some(&a), Some(&b)) = (screen.get(e.source), screen.get(e.target)) else {
            continue;
        };
        if !visible(a, 400.0) && !visible(b, 400.0) {
            continue;
        }
        let colour = e.protocol.map_or(NEUTRAL_EDGE, protocol_colour);
        let w = if f.view.show_bandwidth {
            width(e.value, max_v)
        } else {
            1.5
        } * s.clamp(0.3, 2.0);
        let ra = r.get(e.source).copied().unwrap_or(4.0);
        let rb = r.get(e.target).copied().unwrap_or(4.0);
        ctx.set_stroke_style_str(colour);
        ctx.set_fill_style_str(colour);
        ctx.set_line_width(w);
        if e.source == e.target {
            ctx.begin_path();
            let _ = ctx.arc(a.x + ra, a.y - ra, ra * 0.9, 0.0, std::f64::consts::TAU);
            ctx.stroke();
            continue;
        }
        let c = curve(
            a,
            b,
            ra,
            rb + ARROW_LEN * 0.6,
            bend.get(i).copied().unwrap_or(0.12),
        );
        ctx.begin_path();
        ctx.move_to(c.start.x, c.start.y);
        ctx.quadratic_curve_to(c.ctrl.x, c.ctrl.y, c.end.x, c.end.y);
        ctx.stroke();
        // Arrow head from the curve end to the node rim.
        let al = ARROW_LEN + w * 1.2;
        let tip = Point {
            x: c.end.x + c.dir.x * ARROW_LEN * 0.6,
            y: c.end.y + c.dir.y * ARROW_LEN * 0.6,
        };
        let base = Point {
            x: tip.x - c.dir.x * al,
            y: tip.y - c.dir.y * al,
        };
        let half = al * 0.45;
        ctx.begin_path();
        ctx.move_to(tip.x, tip.y);
        ctx.line_to(base.x - c.dir.y * half, base.y + c.dir.x * half);
        ctx.line_to(base.x + c.dir.y * half, base.y - c.dir.x * half);
        ctx.close_path();
        ctx.fill();
        if labels && visible(c.mid, 0.0) {
            label_jobs.push((c.mid, f.view.settings.format_value(e.value)));
        }
    }
    ctx.set_line_width(1.5);
    for (i, n) in g.nodes.iter().enumerate() {
        let (Some(&p), Some(&rad)) = (screen.get(i), r.get(i)) else {
            continue;
        };
        if !visible(p, rad) {
            continue;
        }
        ctx.begin_path();
        let _ = ctx.arc(p.x, p.y, rad, 0.0, std::f64::consts::TAU);
        ctx.set_fill_style_str(namespace_colour(&n.namespace));
        ctx.fill();
        ctx.set_stroke_style_str(f.theme.node_stroke);
        ctx.set_line_width(if f.selected == Some(i) { 3.0 } else { 1.2 });
        ctx.stroke();
    }
    ctx.set_text_align("center");
    ctx.set_text_baseline("middle");
    ctx.set_font("bold 12px system-ui, sans-serif");
    for (p, text) in &label_jobs {
        halo_text(ctx, f.theme, text, p.x, p.y);
    }
    if g.nodes.len() <= NODE_LABEL_ALWAYS || s >= NODE_LABEL_MIN_SCALE {
        ctx.set_font("13px system-ui, sans-serif");
        ctx.set_text_baseline("top");
        for (i, n) in g.nodes.iter().enumerate() {
            let (Some(&p), Some(&rad)) = (screen.get(i), r.get(i)) else {
                continue;
            };
            if visible(p, 100.0) {
                halo_text(ctx, f.theme, &n.label, p.x, p.y + rad + 4.0);
            }
        }
    }
}

fn halo_text(ctx: &CanvasRenderingContext2d, theme: Theme, text: &str, x: f64, y: f64) {
    ctx.set_line_width(4.0);
    ctx.set_stroke_style_str(theme.halo);
    let _ = ctx.stroke_text(text, x, y);
    ctx.set_fill_style_str(theme.text);
    let _ = ctx.fill_text(text, x, y);
}
