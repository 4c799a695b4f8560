//! Both renderers paint: a small known graph is drawn with WebGL2 and with
//! the batched Canvas 2D renderer, and pixels are read back at a node's
//! centre (its namespace colour), an empty spot (the background) and the
//! edge's midpoint (its protocol colour). Asking for WebGL2 on a canvas
//! that cannot give it falls back to Canvas 2D.

use wasm_bindgen_test::*;
use wiremap_web::geometry::Point;
use wiremap_web::palette::{namespace_colour, protocol_colour};
use wiremap_web::render::{draw, paint_labels};
use wiremap_web::render_gl::{Backend, GlRenderer};
use wiremap_web::scene::{Scene, DARK, LIGHT};
use wiremap_web::view_state::Renderer;
use wiremap_web::WebError;
use wiremap_wire::Protocol;

wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::{context_2d, expect_colour, new_canvas, pixel_2d, two_nodes, Map, H, W};

/// Screen points: node 0's centre, an empty spot, the edge's midpoint.
fn probes(m: &Map) -> (Point, Point, Point) {
    let scene = Scene::build(&m.frame(LIGHT, 1.0));
    let mid = scene.edges.first().expect("the edge is visible").mid;
    (m.screen(0), Point { x: 20.0, y: 20.0 }, mid)
}

fn gl_renderer(c: &web_sys::HtmlCanvasElement) -> GlRenderer {
    GlRenderer::new(c).unwrap_or_else(|e| panic!("WebGL2 must start in this browser: {e}"))
}

#[wasm_bindgen_test]
fn webgl_paints_nodes_edges_and_background() {
    let fx = two_nodes();
    let (centre, empty, mid) = probes(&fx);
    let canvas = new_canvas();
    let mut gl = gl_renderer(&canvas);
    let frame = fx.frame(LIGHT, 1.0);
    gl.paint(&frame, &Scene::build(&frame));
    let at = |p: Point| gl.read_pixel(p.x, p.y, 1.0).expect("readPixels");
    expect_colour(at(centre), namespace_colour("shop"), "node centre");
    expect_colour(at(empty), LIGHT.background, "empty spot");
    expect_colour(at(mid), protocol_colour(Protocol::HTTP), "edge midpoint");
    // The second node has its own namespace colour.
    let other = fx.camera.to_screen(fx.positions[1], W, H);
    expect_colour(at(other), namespace_colour("data"), "second node");
}

#[wasm_bindgen_test]
fn webgl_follows_the_dark_theme() {
    let fx = two_nodes();
    let (centre, empty, _) = probes(&fx);
    let canvas = new_canvas();
    let mut gl = gl_renderer(&canvas);
    let frame = fx.frame(DARK, 1.0);
    gl.paint(&frame, &Scene::build(&frame));
    let at = |p: Point| gl.read_pixel(p.x, p.y, 1.0).expect("readPixels");
    expect_colour(at(empty), DARK.background, "empty spot");
    expect_colour(at(centre), namespace_colour("shop"), "node centre");
}

#[wasm_bindgen_test]
fn canvas_2d_paints_the_same_colours_at_the_same_places() {
    let fx = two_nodes();
    let (centre, empty, mid) = probes(&fx);
    let canvas = new_canvas();
    let ctx = context_2d(&canvas);
    draw(&ctx, &fx.frame(LIGHT, 1.0));
    expect_colour(
        pixel_2d(&ctx, centre),
        namespace_colour("shop"),
        "node centre",
    );
    expect_colour(pixel_2d(&ctx, empty), LIGHT.background, "empty spot");
    expect_colour(
        pixel_2d(&ctx, mid),
        protocol_colour(Protocol::HTTP),
        "edge midpoint",
    );
}

#[wasm_bindgen_test]
fn both_renderers_agree_pixel_for_pixel_at_the_probes() {
    let fx = two_nodes();
    let (centre, empty, mid) = probes(&fx);
    let c2 = new_canvas();
    let ctx = context_2d(&c2);
    draw(&ctx, &fx.frame(DARK, 1.0));
    let cg = new_canvas();
    let mut gl = gl_renderer(&cg);
    let frame = fx.frame(DARK, 1.0);
    gl.paint(&frame, &Scene::build(&frame));
    for (p, what) in [(centre, "node"), (empty, "background"), (mid, "edge")] {
        let a = pixel_2d(&ctx, p);
        let b = gl.read_pixel(p.x, p.y, 1.0).expect("readPixels");
        for i in 0..3 {
            assert!(
                (i32::from(a[i]) - i32::from(b[i])).abs() <= 8,
                "{what}: 2D {a:?} vs WebGL {b:?}"
            );
        }
    }
}

#[wasm_bindgen_test]
fn the_label_layer_is_transparent_away_from_labels() {
    let fx = two_nodes();
    let (centre, empty, _) = probes(&fx);
    let canvas = new_canvas();
    let ctx = context_2d(&canvas);
    let frame = fx.frame(LIGHT, 1.0);
    let scene = Scene::build(&frame);
    assert_eq!(scene.node_labels.len(), 2, "few nodes: labels drawn");
    paint_labels(&ctx, &frame, &scene);
    assert_eq!(pixel_2d(&ctx, empty)[3], 0);
    assert_eq!(pixel_2d(&ctx, centre)[3], 0);
}

#[wasm_bindgen_test]
fn asking_for_webgl_on_a_2d_canvas_falls_back_to_canvas_2d() {
    let canvas = new_canvas();
    let _ctx = context_2d(&canvas);
    assert!(matches!(GlRenderer::new(&canvas), Err(WebError::WebGl(_))));
    let b = Backend::open(Renderer::WebGl2, &canvas);
    assert!(matches!(b, Backend::Canvas2d));
    assert_eq!(b.renderer(), Renderer::Canvas2d);
}

#[wasm_bindgen_test]
fn asking_for_webgl_on_a_fresh_canvas_gets_webgl() {
    let canvas = new_canvas();
    let b = Backend::open(Renderer::WebGl2, &canvas);
    assert_eq!(b.renderer(), Renderer::WebGl2);
    assert!(matches!(
        Backend::open(Renderer::Canvas2d, &new_canvas()),
        Backend::Canvas2d
    ));
}
