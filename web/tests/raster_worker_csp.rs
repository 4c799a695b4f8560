//! The raster worker on a page whose Content-Security-Policy refuses
//! every worker (`worker-src 'none'`), as a strict proxy in front of the
//! relay may set it: neither the app's script nor the `blob:` URL may
//! start. The scene cache learns that from the worker's `error` events —
//! with an infinite timeout, nothing else could end the start — paints
//! every picture on the page, and does not try again. This test binary
//! runs in a page of its own (the policy cannot be taken back). (The
//! same-origin script under `worker-src 'self'` is tested end to end with
//! the relay, `tests/tests/web_csp.rs`: the test runner's page wraps
//! workers in `blob:` URLs of its own.)

use wasm_bindgen_test::*;
use wiremap_model::{MapEdge, MapGraph, MapNode, NodeKind};
use wiremap_web::camera::Camera;
use wiremap_web::geometry::Point;
use wiremap_web::raster::{paint_scene, Pixmap};
use wiremap_web::raster_worker::{RasterWorker, WorkerState};
use wiremap_web::scene::{Frame, Scene, LIGHT};
use wiremap_web::scene_cache::SceneCache;
use wiremap_web::view_state::ViewState;

wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::{canvas_sized, context_2d};

async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |done, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&done, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

/// The page's policy: no workers.
fn forbid_workers() {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let meta = doc.create_element("meta").expect("meta");
    meta.set_attribute("http-equiv", "Content-Security-Policy")
        .expect("attribute");
    meta.set_attribute("content", "worker-src 'none'")
        .expect("attribute");
    doc.head()
        .expect("head")
        .append_child(&meta)
        .expect("added");
}

/// A grid of `n` × `n` nodes, each joined to its right and lower
/// neighbours: enough steps for the worker's share.
fn grid(n: usize, size: f64) -> (MapGraph, Vec<Point>, Camera) {
    let nodes: Vec<MapNode> = (0..n * n)
        .map(|i| MapNode::new(format!("n{i}"), format!("n{i}"), NodeKind::Pod))
        .collect();
    let mut edges = Vec::new();
    for i in 0..n * n {
        for j in [i + 1, i + n] {
            if j < n * n && (j != i + 1 || j % n != 0) {
                let mut e = MapEdge::new(format!("e{i}-{j}"), i, j);
                e.value = (1 + i % 7) as f64;
                edges.push(e);
            }
        }
    }
    let graph = MapGraph {
        nodes,
        edges,
        ..Default::default()
    };
    let step = size / n as f64;
    let positions = (0..n * n)
        .map(|i| Point {
            x: (i % n) as f64 * step,
            y: (i / n) as f64 * step,
        })
        .collect();
    let mut camera = Camera::default();
    camera.fit(
        Point { x: 0.0, y: 0.0 },
        Point { x: size, y: size },
        size,
        size,
        20.0,
    );
    (graph, positions, camera)
}

#[wasm_bindgen_test]
async fn a_policy_that_refuses_the_worker_leaves_every_picture_to_the_page() {
    forbid_workers();
    // The worker alone: both ways to start it fail, by events.
    let mut w = RasterWorker::start();
    let mut state = WorkerState::Starting;
    for _ in 0..500 {
        state = w.poll(0.0, f64::INFINITY);
        if state != WorkerState::Starting {
            break;
        }
        sleep(10).await;
    }
    match &state {
        WorkerState::Failed(why) => assert!(why.starts_with("blob worker"), "{why}"),
        other => panic!("a refused worker started: {other:?}"),
    }

    // The scene cache: asked to use a worker, paints the picture itself.
    let size = 600.0;
    let (graph, positions, camera) = grid(40, size);
    let view = ViewState::default();
    let f = Frame {
        graph: &graph,
        positions: &positions,
        camera: &camera,
        view: &view,
        width: size,
        height: size,
        dpr: 1.0,
        theme: LIGHT,
        selected: None,
    };
    let mut cache = SceneCache::new_raster(4.0);
    cache.worker_min_steps = 500;
    cache.worker_timeout_ms = f64::INFINITY;
    cache.use_worker(true);
    assert_eq!(cache.worker_use(), "starting");
    let ctx = context_2d(&canvas_sized(size, size));
    let mut done = None;
    for _ in 0..1_000 {
        let r = cache.frame(&ctx, &f, 1);
        done = r.completed.or(done);
        if !r.busy && !cache.has_worker() {
            break;
        }
        sleep(5).await;
    }
    let done = done.expect("the picture finished");
    assert_eq!(done.offloaded, 0, "the page painted it all: {done:?}");
    assert_eq!(done.done, done.total);
    assert!(done.total > 500, "a picture big enough for the worker");
    assert!(!cache.has_worker());
    assert_eq!(cache.worker_use(), "page");
    // The same pixels as painting on the page at once.
    let mut want = Pixmap::new(size as usize, size as usize);
    paint_scene(&mut want, &Scene::build(&f), &LIGHT, 1.0);
    let got = context_2d(cache.front_canvas().expect("a front picture"))
        .get_image_data(0.0, 0.0, size, size)
        .expect("pixels")
        .data()
        .0;
    let want: Vec<u8> = want.linear().iter().flat_map(|p| p.to_le_bytes()).collect();
    assert!(got == want, "the picture differs from the page's own");
    // The next picture does not start a worker again.
    cache.use_worker(true);
    let r = cache.frame(&ctx, &f, 2);
    assert!(r.started);
    assert!(!cache.has_worker());
}
