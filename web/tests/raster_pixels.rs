//! The raster renderer in the browser: a map drawn by rasterising its
//! shapes in WASM (`?renderer=raster`) shows its edges, arrowheads and
//! nodes where the Canvas 2D renderer draws them, in the same colours
//! (compared with a tolerance: the anti-aliasing differs), at device pixel
//! ratio 1 and 2, in both themes, with the selected node's thick outline;
//! through the scene cache its slices end with the pixels of a full render.

use wasm_bindgen_test::*;
use wiremap_web::geometry::Point;
use wiremap_web::palette::{namespace_colour, protocol_colour};
use wiremap_web::render::{draw, RasterCanvas};
use wiremap_web::render_gl::Backend;
use wiremap_web::scene::{EdgePath, Scene, Theme, DARK, LIGHT};
use wiremap_web::scene_cache::SceneCache;
use wiremap_web::view_state::{Renderer, ViewState};
use wiremap_wire::Protocol;

wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::{busy_map, canvas_sized, context_2d, expect_colour, pixel_2d, two_nodes, H, W};

fn pixels(ctx: &web_sys::CanvasRenderingContext2d, w: f64, h: f64) -> Vec<u8> {
    ctx.get_image_data(0.0, 0.0, w, h).expect("pixels").data().0
}

/// Pixels that differ clearly from the background `bg`.
fn mask(px: &[u8], bg: [u8; 4]) -> Vec<bool> {
    px.chunks(4)
        .map(|p| {
            p.iter()
                .zip(bg.iter())
                .take(3)
                .any(|(a, b)| a.abs_diff(*b) > 48)
        })
        .collect()
}

/// Share of the pixels set in `a` that have a set pixel of `b` within one
/// pixel (8-neighbourhood).
fn covered_by(a: &[bool], b: &[bool], w: usize, h: usize) -> f64 {
    let (mut set, mut near) = (0usize, 0usize);
    for y in 0..h {
        for x in 0..w {
            if !a[y * w + x] {
                continue;
            }
            set += 1;
            let hit = (y.saturating_sub(1)..(y + 2).min(h))
                .any(|yy| (x.saturating_sub(1)..(x + 2).min(w)).any(|xx| b[yy * w + xx]));
            near += usize::from(hit);
        }
    }
    if set == 0 {
        1.0
    } else {
        near as f64 / set as f64
    }
}

fn background_bytes(theme: &Theme) -> [u8; 4] {
    let c = wiremap_web::palette::rgba(theme.background).expect("colour");
    [
        (c[0] * 255.0).round() as u8,
        (c[1] * 255.0).round() as u8,
        (c[2] * 255.0).round() as u8,
        255,
    ]
}

/// The busy map drawn by both renderers at `dpr`: the raster's shapes lie
/// where the 2D renderer's do and the other way round.
fn compare_with_2d(theme: Theme, dpr: f64) {
    let m = busy_map();
    let f = m.frame(theme, dpr);
    let scene = Scene::build(&f);
    assert!(scene.edges.iter().any(|e| e.arrow.is_some()));
    assert!(scene
        .edges
        .iter()
        .any(|e| matches!(e.path, EdgePath::Curve { .. })));
    let (w, h) = (W * dpr, H * dpr);
    let a = context_2d(&canvas_sized(w, h));
    draw(&a, &f);
    let b = context_2d(&canvas_sized(w, h));
    RasterCanvas::default().draw(&b, &f);
    let (pa, pb) = (pixels(&a, w, h), pixels(&b, w, h));
    let bg = background_bytes(&theme);
    let (ma, mb) = (mask(&pa, bg), mask(&pb, bg));
    let (wu, hu) = (w as usize, h as usize);
    let drawn = ma.iter().filter(|v| **v).count();
    assert!(drawn > 10_000, "the 2D map draws something: {drawn}");
    let raster_in_2d = covered_by(&mb, &ma, wu, hu);
    let twod_in_raster = covered_by(&ma, &mb, wu, hu);
    assert!(
        raster_in_2d > 0.98 && twod_in_raster > 0.98,
        "masks agree: raster in 2D {raster_in_2d:.4}, 2D in raster {twod_in_raster:.4}"
    );
    // Inside the nodes' discs (opaque, over the edges) the colours agree.
    // (Where translucent edges of several protocols cross, the colour
    // depends on the painting order — by style group in 2D, in scene order
    // in the raster — so edge colours are compared on a lone edge,
    // `raster_paints_the_probes_in_their_colours`. Edge labels, drawn over
    // all by the same Canvas 2D text code in both, once hid those
    // crossings; now they move aside or go.)
    let mut compared = 0;
    let mut off = 0;
    for n in &scene.nodes {
        let (cx, cy, r) = (n.centre.x * dpr, n.centre.y * dpr, (n.radius - 1.5) * dpr);
        for y in (cy - r).ceil() as usize..=(cy + r).floor() as usize {
            for x in (cx - r).ceil() as usize..=(cx + r).floor() as usize {
                let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                if dx * dx + dy * dy > r * r || x >= wu || y >= hu {
                    continue;
                }
                let i = (y * wu + x) * 4;
                compared += 1;
                if (0..3).any(|k| pa[i + k].abs_diff(pb[i + k]) > 40) {
                    off += 1;
                }
            }
        }
    }
    assert!(compared > 1_000, "node pixels compared: {compared}");
    assert!(
        (off as f64) < compared as f64 * 0.05,
        "{off} of {compared} node pixels differ in colour"
    );
}

#[wasm_bindgen_test]
fn raster_edges_lie_where_canvas_2d_draws_them() {
    compare_with_2d(LIGHT, 1.0);
}

#[wasm_bindgen_test]
fn raster_follows_the_device_pixel_ratio_and_the_dark_theme() {
    compare_with_2d(DARK, 2.0);
}

#[wasm_bindgen_test]
fn raster_paints_the_probes_in_their_colours() {
    let m = two_nodes();
    for (theme, dpr) in [(LIGHT, 1.0), (DARK, 2.0)] {
        let f = m.frame(theme, dpr);
        let scene = Scene::build(&f);
        let mid = scene.edges.first().expect("the edge").mid;
        let centre = m.camera.to_screen(m.positions[0], W, H);
        let other = m.camera.to_screen(m.positions[1], W, H);
        let ctx = context_2d(&canvas_sized(W * dpr, H * dpr));
        RasterCanvas::default().draw(&ctx, &f);
        let at = |p: Point| {
            pixel_2d(
                &ctx,
                Point {
                    x: p.x * dpr,
                    y: p.y * dpr,
                },
            )
        };
        expect_colour(at(centre), namespace_colour("shop"), "node centre");
        expect_colour(at(other), namespace_colour("data"), "second node");
        expect_colour(at(mid), protocol_colour(Protocol::HTTP), "edge midpoint");
        expect_colour(at(Point { x: 20.0, y: 20.0 }), theme.background, "empty");
        // The arrowhead: just behind its tip, on the edge's axis.
        let a = scene.edges[0].arrow.expect("an arrowhead");
        let inside = Point {
            x: a.tip.x - a.dir.x * a.len * 0.5,
            y: a.tip.y - a.dir.y * a.len * 0.5,
        };
        expect_colour(at(inside), protocol_colour(Protocol::HTTP), "arrowhead");
    }
}

#[wasm_bindgen_test]
fn raster_draws_the_selected_nodes_thick_outline() {
    let m = two_nodes();
    let mut f = m.frame(LIGHT, 1.0);
    f.selected = Some(0);
    let ctx = context_2d(&canvas_sized(W, H));
    RasterCanvas::default().draw(&ctx, &f);
    let c = m.camera.to_screen(m.positions[0], W, H);
    let shape = Scene::selected(&f).expect("selected");
    let rim = Point {
        x: c.x + shape.radius,
        y: c.y,
    };
    expect_colour(pixel_2d(&ctx, rim), LIGHT.node_stroke, "outline");
    // One pixel outside the rim the thick outline still shows (about half
    // covered); around the unselected node, with its thin outline, it is
    // background.
    let bg = background_bytes(&LIGHT);
    let d = m.camera.to_screen(m.positions[1], W, H);
    let beside = |p: Point| Point {
        x: p.x + shape.radius + 1.0,
        y: p.y,
    };
    let sel = pixel_2d(&ctx, beside(c));
    assert!(
        sel.iter()
            .zip(bg.iter())
            .take(3)
            .any(|(a, b)| a.abs_diff(*b) > 48),
        "thick outline: {sel:?}"
    );
    expect_colour(pixel_2d(&ctx, beside(d)), LIGHT.background, "thin outline");
}

#[wasm_bindgen_test]
fn raster_cache_slices_end_with_the_pixels_of_a_full_raster_render() {
    let m = busy_map();
    let f = m.frame(LIGHT, 1.0);
    let out = context_2d(&canvas_sized(W, H));
    // No time budget: one piece of work per frame, many slices.
    let mut cache = SceneCache::new_raster(0.0);
    assert!(cache.is_raster());
    let mut done = None;
    for _ in 0..10_000 {
        let r = cache.frame(&out, &f, 1);
        done = r.completed.or(done);
        if !r.busy {
            break;
        }
    }
    let p = done.expect("the picture finished");
    assert!(p.slices > 1, "painted in slices: {p:?}");
    assert!(!cache.busy());
    let full = context_2d(&canvas_sized(W, H));
    RasterCanvas::default().draw(&full, &f);
    let (a, b) = (pixels(&out, W, H), pixels(&full, W, H));
    let differ = a
        .chunks(4)
        .zip(b.chunks(4))
        .filter(|(x, y)| x.iter().zip(y.iter()).any(|(p, q)| p.abs_diff(*q) > 2))
        .count();
    assert_eq!(differ, 0, "pixels that differ from a full raster render");
    // A pan moves the cached picture before any repaint.
    let mut m2 = two_nodes();
    let mut cache = SceneCache::new_raster(0.0);
    for _ in 0..1_000 {
        if !cache.frame(&out, &m2.frame(LIGHT, 1.0), 1).busy {
            break;
        }
    }
    let before = m2.camera.to_screen(m2.positions[0], W, H);
    m2.camera.pan(60.0, 35.0);
    let after = m2.camera.to_screen(m2.positions[0], W, H);
    let r = cache.frame(&out, &m2.frame(LIGHT, 1.0), 1);
    assert!(!r.started, "moved, not repainted: {r:?}");
    expect_colour(pixel_2d(&out, after), namespace_colour("shop"), "moved");
    expect_colour(pixel_2d(&out, before), LIGHT.background, "where it was");
}

#[wasm_bindgen_test]
fn the_raster_renderer_is_chosen_by_the_url() {
    let v = ViewState::from_query("?renderer=raster");
    assert_eq!(v.renderer(), Renderer::Raster);
    assert_eq!(Renderer::Raster.code(), "raster");
    let c = canvas_sized(10.0, 10.0);
    let b = Backend::open(Renderer::Raster, &c);
    assert!(matches!(b, Backend::Raster));
    assert_eq!(b.renderer(), Renderer::Raster);
}
