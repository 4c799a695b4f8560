//! Helpers shared by the browser pixel tests: a test graph node, a canvas
//! in the page, one pixel read back, colour comparison with a tolerance.
#![allow(dead_code)]

use wasm_bindgen::JsCast;
use wiremap_model::{MapNode, NodeKind};
use wiremap_web::geometry::Point;
use wiremap_web::palette::rgba;

pub const W: f64 = 600.0;
pub const H: f64 = 400.0;

pub fn node(key: &str, ns: &str) -> MapNode {
    MapNode::new(key.to_string(), key.to_string(), NodeKind::Pod).in_namespace(ns.to_string())
}

pub fn new_canvas() -> web_sys::HtmlCanvasElement {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .expect("document");
    let c: web_sys::HtmlCanvasElement = doc
        .create_element("canvas")
        .expect("canvas")
        .dyn_into()
        .expect("canvas element");
    c.set_width(W as u32);
    c.set_height(H as u32);
    doc.body().expect("body").append_child(&c).expect("append");
    c
}

pub fn context_2d(c: &web_sys::HtmlCanvasElement) -> web_sys::CanvasRenderingContext2d {
    c.get_context("2d")
        .ok()
        .flatten()
        .expect("2d context")
        .dyn_into()
        .expect("2d")
}

pub fn pixel_2d(ctx: &web_sys::CanvasRenderingContext2d, p: Point) -> [u8; 4] {
    let d = ctx
        .get_image_data(p.x.floor(), p.y.floor(), 1.0, 1.0)
        .expect("pixel")
        .data();
    [d[0], d[1], d[2], d[3]]
}

pub fn expect_colour(got: [u8; 4], css: &str, what: &str) {
    let want = rgba(css).expect("palette colour");
    for (i, (g, w)) in got.iter().zip(want.iter()).take(3).enumerate() {
        let w = (w * 255.0).round();
        assert!(
            (f32::from(*g) - w).abs() <= 6.0,
            "{what}: channel {i} is {g}, expected {w} (pixel {got:?}, colour {css})"
        );
    }
}
