//! Helpers shared by the browser pixel tests: a test graph node, a canvas
//! in the page, one pixel read back, colour comparison with a tolerance.
#![allow(dead_code)]

use wasm_bindgen::JsCast;
use wiremap_model::{MapEdge, MapGraph, MapNode, NodeKind};
use wiremap_web::camera::Camera;
use wiremap_web::geometry::Point;
use wiremap_web::palette::rgba;
use wiremap_web::scene::{Frame, Theme};
use wiremap_web::view_state::ViewState;
use wiremap_wire::Protocol;

pub const W: f64 = 600.0;
pub const H: f64 = 400.0;

pub fn node(key: &str, ns: &str) -> MapNode {
    MapNode::new(key.to_string(), key.to_string(), NodeKind::Pod).in_namespace(ns.to_string())
}

/// A `W` × `H` canvas in the page.
pub fn new_canvas() -> web_sys::HtmlCanvasElement {
    canvas_sized(W, H)
}

/// A `w` × `h` canvas in the page.
pub fn canvas_sized(w: f64, h: f64) -> web_sys::HtmlCanvasElement {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .expect("document");
    let c: web_sys::HtmlCanvasElement = doc
        .create_element("canvas")
        .expect("canvas")
        .dyn_into()
        .expect("canvas element");
    c.set_width(w as u32);
    c.set_height(h as u32);
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

/// Two pods in different namespaces ("shop", "data") and one HTTP edge
/// from the first to the second.
pub fn two_pods() -> MapGraph {
    let mut graph = MapGraph::default();
    graph.nodes.push(node("a/web", "shop"));
    graph.nodes.push(node("b/db", "data"));
    let mut e = MapEdge::new("a/web|b/db|http".into(), 0, 1);
    e.protocol = Some(Protocol::HTTP);
    e.value = 100.0;
    graph.edges.push(e);
    graph
}

/// 30 pods on a circle (radius 160) and 300 edges of mixed protocols and
/// widths between them: hundreds of shapes. The graph and the positions.
pub fn busy_graph() -> (MapGraph, Vec<Point>) {
    let mut graph = MapGraph::default();
    let n = 30;
    for i in 0..n {
        graph
            .nodes
            .push(node(&format!("p{i}"), &format!("ns-{}", i % 5)));
    }
    let protocols = [
        Protocol::HTTP,
        Protocol::DNS,
        Protocol::REDIS,
        Protocol::KAFKA,
    ];
    for k in 0..300usize {
        let s = (k * 7) % n;
        let t = (k * 13 + 1 + k / n) % n;
        let mut e = MapEdge::new(format!("e{k}"), s, t);
        e.protocol = Some(protocols[k % protocols.len()]);
        e.value = 1.0 + (k % 17) as f64;
        graph.edges.push(e);
    }
    let positions = (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            Point {
                x: a.cos() * 160.0,
                y: a.sin() * 160.0,
            }
        })
        .collect();
    (graph, positions)
}

/// A graph with its positions, camera and view: what a test frame needs
/// (`revision` is what the scene cache is told).
pub struct Map {
    pub graph: MapGraph,
    pub positions: Vec<Point>,
    pub camera: Camera,
    pub view: ViewState,
    pub revision: u64,
}

impl Map {
    /// The frame at W × H in `theme` at device pixel ratio `dpr`.
    pub fn frame(&self, theme: Theme, dpr: f64) -> Frame<'_> {
        Frame {
            graph: &self.graph,
            positions: &self.positions,
            camera: &self.camera,
            view: &self.view,
            width: W,
            height: H,
            dpr,
            theme,
            selected: None,
        }
    }

    /// Node `i`'s centre on the screen.
    pub fn screen(&self, i: usize) -> Point {
        self.camera.to_screen(self.positions[i], W, H)
    }
}

/// [`two_pods`] 160 px apart, zoomed in (scale 2), edge labels off so the
/// edge's colour shows at its midpoint.
pub fn two_nodes() -> Map {
    Map {
        graph: two_pods(),
        positions: vec![Point { x: -80.0, y: 0.0 }, Point { x: 80.0, y: 0.0 }],
        camera: Camera {
            center: Point::default(),
            scale: 2.0,
        },
        view: ViewState {
            show_bandwidth: false,
            ..ViewState::default()
        },
        revision: 1,
    }
}

/// [`busy_graph`] at the default camera and view.
pub fn busy_map() -> Map {
    let (graph, positions) = busy_graph();
    Map {
        graph,
        positions,
        camera: Camera::default(),
        view: ViewState::default(),
        revision: 1,
    }
}
