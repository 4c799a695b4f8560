//! The Canvas 2D scene cache in the browser: a cached picture moved by a
//! pan shows each node at its new place before anything is repainted; a
//! picture painted in many small slices ends with the same pixels as a
//! full render; a new graph replaces the cached picture; a picture scaled
//! by the camera is filtered while it moves, not while it is repainted.

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use wiremap_web::geometry::Point;
use wiremap_web::palette::namespace_colour;
use wiremap_web::render::draw;
use wiremap_web::scene::LIGHT;
use wiremap_web::scene_cache::{Progress, SceneCache};

wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::{
    busy_map, context_2d, expect_colour, new_canvas, node, pixel_2d as pixel, two_nodes, Map, H, W,
};

fn new_context() -> web_sys::CanvasRenderingContext2d {
    context_2d(&new_canvas())
}

fn settle(
    cache: &mut SceneCache,
    out: &web_sys::CanvasRenderingContext2d,
    m: &Map,
) -> Option<Progress> {
    let mut done = None;
    for _ in 0..10_000 {
        let r = cache.frame(out, &m.frame(LIGHT, 1.0), m.revision);
        done = r.completed.or(done);
        if !r.busy {
            return done;
        }
    }
    panic!("the picture never finished");
}

#[wasm_bindgen_test]
fn a_cached_pan_moves_the_picture_before_any_repaint() {
    let mut m = two_nodes();
    let out = new_context();
    // No time budget: the cache never repaints while the camera moves.
    let mut cache = SceneCache::new(0.0);
    assert!(settle(&mut cache, &out, &m).is_some());
    let before = m.screen(0);
    expect_colour(pixel(&out, before), namespace_colour("shop"), "node before");
    let (dx, dy) = (60.0, 35.0);
    m.camera.pan(dx, dy);
    let after = m.screen(0);
    assert_eq!((after.x - before.x, after.y - before.y), (dx, dy));
    let r = cache.frame(&out, &m.frame(LIGHT, 1.0), m.revision);
    assert!(!r.started && !r.sliced, "moved, not repainted: {r:?}");
    assert!(!r.busy && cache.needs_frame(), "the repaint is still due");
    expect_colour(pixel(&out, after), namespace_colour("shop"), "node moved");
    expect_colour(pixel(&out, before), LIGHT.background, "where it was");
    // The camera stays: the next frame starts the sharp repaint.
    let r = cache.frame(&out, &m.frame(LIGHT, 1.0), m.revision);
    assert!(r.started);
    settle(&mut cache, &out, &m);
    assert!(!cache.needs_frame());
    expect_colour(pixel(&out, after), namespace_colour("shop"), "repainted");
}

#[wasm_bindgen_test]
fn slices_end_with_the_pixels_of_a_full_render() {
    let m = busy_map();
    let out = new_context();
    let mut cache = SceneCache::new(0.0);
    let p = settle(&mut cache, &out, &m).expect("finished");
    assert!(p.slices > 1, "painted in slices: {p:?}");
    assert_eq!(p.done, p.total);
    assert!(p.total > 600);
    let full = new_context();
    draw(&full, &m.frame(LIGHT, 1.0));
    let a = out.get_image_data(0.0, 0.0, W, H).expect("pixels").data();
    let b = full.get_image_data(0.0, 0.0, W, H).expect("pixels").data();
    assert_eq!(a.len(), b.len());
    let differ = a
        .chunks(4)
        .zip(b.chunks(4))
        .filter(|(x, y)| x.iter().zip(y.iter()).any(|(p, q)| p.abs_diff(*q) > 2))
        .count();
    assert_eq!(differ, 0, "pixels that differ from a full render");
    // Something was drawn: not all background.
    let bg = a
        .chunks(4)
        .filter(|p| p[0] == 255 && p[1] == 255 && p[2] == 255)
        .count();
    assert!(bg < a.len() / 4 - 1_000);
}

#[wasm_bindgen_test]
fn a_new_graph_replaces_the_cached_picture() {
    let mut m = two_nodes();
    let out = new_context();
    let mut cache = SceneCache::default();
    settle(&mut cache, &out, &m);
    let at = Point { x: 0.0, y: 60.0 };
    let spot = m.camera.to_screen(at, W, H);
    expect_colour(pixel(&out, spot), LIGHT.background, "empty before");
    m.graph.nodes.push(node("c/cache", "cache"));
    m.positions.push(at);
    m.revision += 1;
    let r = cache.frame(&out, &m.frame(LIGHT, 1.0), m.revision);
    assert!(r.started);
    settle(&mut cache, &out, &m);
    expect_colour(pixel(&out, spot), namespace_colour("cache"), "new node");
}

#[wasm_bindgen_test]
fn the_selection_is_drawn_over_the_picture_not_into_it() {
    let m = two_nodes();
    let out = new_context();
    let mut cache = SceneCache::default();
    settle(&mut cache, &out, &m);
    let front = cache
        .front_canvas()
        .expect("a picture")
        .get_context("2d")
        .ok()
        .flatten()
        .expect("2d")
        .dyn_into::<web_sys::CanvasRenderingContext2d>()
        .expect("2d");
    let before = front.get_image_data(0.0, 0.0, W, H).expect("px").data();
    let mut f = m.frame(LIGHT, 1.0);
    f.selected = Some(0);
    let r = cache.frame(&out, &f, m.revision);
    assert!(!r.started, "selecting does not repaint the picture");
    let after = front.get_image_data(0.0, 0.0, W, H).expect("px").data();
    assert!(before == after);
    // The visible canvas shows the thick outline: the node's rim is dark.
    let c = m.screen(0);
    let shape = wiremap_web::scene::Scene::selected(&f).expect("selected");
    let rim = Point {
        x: c.x + shape.radius,
        y: c.y,
    };
    expect_colour(pixel(&out, rim), LIGHT.node_stroke, "outline");
}

/// Colour changes between neighbouring pixels of row `y`, `x0..x1`.
fn changes(out: &web_sys::CanvasRenderingContext2d, y: f64, x0: f64, x1: f64) -> usize {
    let px = out
        .get_image_data(x0, y, x1 - x0, 1.0)
        .expect("pixels")
        .data()
        .0;
    px.chunks(4)
        .zip(px.chunks(4).skip(1))
        .filter(|(a, b)| a.iter().zip(b.iter()).any(|(p, q)| p.abs_diff(*q) > 2))
        .count()
}

/// The cached picture moved by a zoom is filtered while the camera moves
/// (no slice in the frame), and not in the frames that also paint the new
/// picture's slices (filtering a scaled picture costs a software canvas
/// about 5 ms at the frame's end): across the rim of a node zoomed 6×,
/// filtered pixels change colour at nearly every step, unfiltered ones
/// only every 6 pixels.
#[wasm_bindgen_test]
fn a_scaled_picture_is_smooth_while_moving_and_blocky_while_repainting() {
    let mut m = two_nodes();
    let out = new_context();
    let mut cache = SceneCache::new_raster(0.0);
    assert!(settle(&mut cache, &out, &m).is_some());
    let c = m.screen(0);
    m.camera.zoom_at(6.0, c, W, H);
    let radius = wiremap_web::scene::Scene::build(&m.frame(LIGHT, 1.0))
        .nodes
        .iter()
        .find(|n| n.node == 0)
        .expect("the node")
        .radius;
    // A window across the node's right rim.
    let (y, x0, x1) = (
        c.y.round(),
        (c.x + radius - 30.0).round(),
        (c.x + radius + 30.0).round(),
    );
    let moving = cache.frame(&out, &m.frame(LIGHT, 1.0), m.revision);
    assert!(
        !moving.sliced,
        "the first frame moves the picture: {moving:?}"
    );
    let smooth = changes(&out, y, x0, x1);
    let repainting = cache.frame(&out, &m.frame(LIGHT, 1.0), m.revision);
    assert!(repainting.sliced && repainting.busy, "{repainting:?}");
    let blocky = changes(&out, y, x0, x1);
    assert!(smooth >= 9, "filtered: {smooth} changes");
    assert!(blocky <= 5, "unfiltered: {blocky} changes");
    // The sharp picture replaces it.
    assert!(settle(&mut cache, &out, &m).is_some());
}
