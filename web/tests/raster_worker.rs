//! The raster worker in headless Chromium: a Web Worker running this same
//! WASM module paints bands of a picture, and the page's bands and the
//! worker's together are pixel for pixel the picture painted at once; a
//! malformed job gets an error back, and the worker keeps working; the
//! scene cache with the worker ends with the pixels of the picture painted
//! on the page alone.

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use wiremap_model::{MapEdge, MapGraph, MapNode, NodeKind};
use wiremap_web::camera::Camera;
use wiremap_web::geometry::Point;
use wiremap_web::raster::{paint_scene, paint_steps, Bins, Palette, Pixmap, BAND_ROWS};
use wiremap_web::raster_worker::{
    encode_job, RasterWorker, Source, WorkerState, WORKER_JS, WORKER_URL,
};
use wiremap_web::scene::{Frame, Scene, LIGHT};
use wiremap_web::scene_cache::SceneCache;
use wiremap_web::view_state::ViewState;

wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::{canvas_sized, context_2d};

/// Waits `ms` milliseconds (the worker answers in its own time).
async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |done, _| {
        let w: web_sys::Window = js_sys::global().unchecked_into();
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&done, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

/// Polls `w` until its start ends: its state then. Only events end a
/// start here (the timeout is infinite).
async fn settled(w: &mut RasterWorker) -> WorkerState {
    for _ in 0..500 {
        let state = w.poll(0.0, f64::INFINITY);
        if state != WorkerState::Starting {
            return state;
        }
        sleep(10).await;
    }
    panic!("the raster worker's start did not end in 5 s");
}

async fn answer(w: &RasterWorker, id: u32) -> Result<Vec<u8>, String> {
    for _ in 0..500 {
        if let Some(a) = w.take(id) {
            return a;
        }
        sleep(10).await;
    }
    panic!("no answer from the raster worker in 5 s");
}

/// A ring of `n` nodes with chords: curves, arrowheads, a loop, nodes.
fn ring(n: usize, w: f64, h: f64) -> (MapGraph, Vec<Point>, Camera) {
    let nodes: Vec<MapNode> = (0..n)
        .map(|i| MapNode::new(format!("n{i}"), format!("n{i}"), NodeKind::Pod))
        .collect();
    let mut edges: Vec<MapEdge> = Vec::new();
    for i in 0..n {
        for k in [1, 7, 23] {
            let mut e = MapEdge::new(format!("e{i}-{k}"), i, (i + k) % n);
            e.value = (1 + i * k) as f64;
            edges.push(e);
        }
    }
    edges.push(MapEdge::new("loop".into(), 3, 3));
    let graph = MapGraph {
        nodes,
        edges,
        ..Default::default()
    };
    let positions: Vec<Point> = (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            Point {
                x: 300.0 * a.cos(),
                y: 260.0 * a.sin(),
            }
        })
        .collect();
    let mut camera = Camera::default();
    camera.fit(
        Point {
            x: -300.0,
            y: -260.0,
        },
        Point { x: 300.0, y: 260.0 },
        w,
        h,
        40.0,
    );
    (graph, positions, camera)
}

fn frame<'a>(
    (graph, positions, camera): &'a (MapGraph, Vec<Point>, Camera),
    view: &'a ViewState,
    w: f64,
    h: f64,
) -> Frame<'a> {
    Frame {
        graph,
        positions,
        camera,
        view,
        width: w,
        height: h,
        dpr: 1.0,
        theme: LIGHT,
        selected: None,
    }
}

fn scene(w: f64, h: f64) -> Scene {
    Scene::build(&frame(&ring(60, w, h), &ViewState::default(), w, h))
}

#[wasm_bindgen_test]
async fn the_pages_bands_and_the_workers_make_the_whole_picture() {
    let (w, h) = (700usize, 600usize);
    let s = scene(w as f64, h as f64);
    assert!(s.edges.len() > 150 && s.edges.iter().any(|e| e.arrow.is_some()));
    let mut whole = Pixmap::new(w, h);
    paint_scene(&mut whole, &s, &LIGHT, 1.0);

    let mut worker = RasterWorker::start();
    assert!(!worker.ready(), "no word from the script yet");
    assert!(
        worker.send(vec![1, 2, 3], 4).is_err(),
        "no job before it runs"
    );
    // The test runner serves the crate's files, `raster-worker.js` among
    // them, as the relay serves the app's.
    assert_eq!(settled(&mut worker).await, WorkerState::Ready("script"));
    let pal = Palette::of(&LIGHT);
    let bands = h.div_ceil(BAND_ROWS);
    let half = bands / 2;
    let rows = half * BAND_ROWS..h;
    let id = worker
        .send(
            encode_job(&s, &pal, 1.0, (w, h), half..bands),
            rows.len() * w * 4,
        )
        .expect("posted");
    assert!(worker.busy());
    // Meanwhile the page paints the first half.
    let mut mine = Pixmap::new(w, h);
    mine.fill(pal.background);
    let bins = Bins::of(&s, 1.0, h);
    paint_steps(&mut mine, &s, &pal, 1.0, &bins, bins.band_steps(0..half));
    let theirs = answer(&worker, id).await.expect("painted");
    assert!(!worker.busy());
    assert_eq!(theirs.len(), rows.len() * w * 4);
    let mut joined: Vec<u32> = mine.linear()[..rows.start * w].to_vec();
    joined.extend(
        theirs
            .chunks_exact(4)
            .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]])),
    );
    assert_eq!(joined, whole.linear(), "joined bands differ from the whole");

    // A second job reuses the instance: the whole picture at once.
    let id = worker
        .send(encode_job(&s, &pal, 1.0, (w, h), 0..bands), w * h * 4)
        .expect("posted");
    let all = answer(&worker, id).await.expect("painted");
    let all: Vec<u32> = all
        .chunks_exact(4)
        .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]))
        .collect();
    assert_eq!(all, whole.linear());

    // A malformed job: an error back, and the worker still works.
    let mut bad = encode_job(&s, &pal, 1.0, (w, h), 0..1);
    bad.truncate(bad.len() - 3);
    let id = worker.send(bad, w * BAND_ROWS * 4).expect("posted");
    let err = answer(&worker, id).await.expect_err("refused");
    assert!(err.contains("malformed"), "{err}");
    let id = worker
        .send(encode_job(&s, &pal, 1.0, (w, h), 0..1), w * BAND_ROWS * 4)
        .expect("posted");
    let first = answer(&worker, id).await.expect("painted after an error");
    assert_eq!(first.len(), w * BAND_ROWS * 4);
}

/// The app's path: the scene cache sends the picture's last bands to the
/// worker and paints the others in slices; the finished picture has the
/// pixels of the one painted on the page alone.
/// Paints `f` through `cache`, one frame every 5 ms; the finished
/// picture's progress and pixels.
async fn cached_picture(
    cache: &mut SceneCache,
    f: &Frame<'_>,
    (w, h): (f64, f64),
) -> (wiremap_web::scene_cache::Progress, Vec<u8>) {
    let ctx = context_2d(&canvas_sized(w, h));
    let mut done = None;
    for _ in 0..1_000 {
        let r = cache.frame(&ctx, f, 1);
        done = r.completed.or(done);
        if !r.busy {
            break;
        }
        sleep(5).await;
    }
    let done = done.expect("the picture finished");
    let fctx = context_2d(cache.front_canvas().expect("a front picture"));
    let got = fctx
        .get_image_data(0.0, 0.0, w, h)
        .expect("pixels")
        .data()
        .0;
    (done, got)
}

/// The picture painted on the page alone, as the cache's pixels.
fn page_picture(f: &Frame<'_>, (w, h): (f64, f64)) -> Vec<u8> {
    let mut want = Pixmap::new(w as usize, h as usize);
    paint_scene(&mut want, &Scene::build(f), &LIGHT, 1.0);
    want.linear().iter().flat_map(|p| p.to_le_bytes()).collect()
}

fn differing(a: &[u8], b: &[u8]) -> usize {
    assert_eq!(a.len(), b.len());
    a.chunks(4).zip(b.chunks(4)).filter(|(x, y)| x != y).count()
}

/// The app's path: the scene cache sends the picture's last bands to the
/// worker and paints the others in slices; the finished picture has the
/// pixels of the one painted on the page alone.
#[wasm_bindgen_test]
async fn the_scene_cache_with_the_worker_paints_the_same_picture() {
    let size = (800.0, 640.0);
    let map = ring(240, size.0, size.1);
    let view = ViewState::default();
    let f = frame(&map, &view, size.0, size.1);
    let mut cache = SceneCache::new_raster(4.0);
    cache.worker_min_steps = 1_000;
    // Running before the picture starts (as the app's worker, started
    // with its first frame, long before a big picture).
    let mut worker = RasterWorker::start();
    assert!(matches!(settled(&mut worker).await, WorkerState::Ready(_)));
    cache.set_worker(worker);
    let (done, got) = cached_picture(&mut cache, &f, size).await;
    assert!(done.offloaded > 0, "the worker painted a share: {done:?}");
    assert!(cache.has_worker());
    assert_eq!(cache.worker_use(), "script");
    assert_eq!(differing(&got, &page_picture(&f, size)), 0);
}

/// A worker that fails, or never answers: the page paints the worker's
/// bands itself, the picture is the same, and the cache stops using it.
#[wasm_bindgen_test]
async fn a_failing_or_silent_worker_leaves_the_picture_to_the_page() {
    let size = (800.0, 640.0);
    let map = ring(240, size.0, size.1);
    let view = ViewState::default();
    let f = frame(&map, &view, size.0, size.1);
    let want = page_picture(&f, size);
    let failing = "onmessage = (e) => postMessage({ id: e.data.id, error: 'broken on purpose' }); postMessage({ ready: true });";
    let silent = "onmessage = () => {}; postMessage({ ready: true });";
    // Never says it runs (the timeout ends its start), or throws as it
    // loads (its `error` event does).
    let mute = "onmessage = () => {};";
    let throws = "throw new Error('broken as it loads');";
    for (script, runs) in [
        (failing, true),
        (silent, true),
        (mute, false),
        (throws, false),
    ] {
        let mut cache = SceneCache::new_raster(4.0);
        cache.worker_min_steps = 1_000;
        cache.worker_timeout_ms = 300.0;
        let mut worker = RasterWorker::with_script(script);
        if runs {
            // Running before the picture starts: it gets a share.
            assert!(matches!(settled(&mut worker).await, WorkerState::Ready(_)));
        }
        cache.set_worker(worker);
        let (done, got) = cached_picture(&mut cache, &f, size).await;
        assert_eq!(done.offloaded, 0, "{script}: the page painted it all");
        assert_eq!(done.done, done.total);
        assert_eq!(differing(&got, &want), 0, "{script}");
        // The worker is dropped (a worker that only never started may
        // outlast a fast picture: its timeout ends it).
        let ctx = context_2d(&canvas_sized(size.0, size.1));
        for _ in 0..200 {
            if !cache.has_worker() {
                break;
            }
            cache.frame(&ctx, &f, 1);
            sleep(5).await;
        }
        assert!(
            !cache.has_worker(),
            "{script}: the worker is dropped ({:?})",
            cache.worker_use()
        );
        assert_eq!(cache.worker_use(), "page", "{script}");
        // And not started again for the next picture.
        let r = cache.frame(&ctx, &f, 2);
        assert!(r.started, "a new graph, a new picture");
        assert!(!cache.has_worker(), "{script}: not started again");
    }
}

/// The worker's start tries its sources in order: a script that does not
/// load (no such file here) is followed by the `blob:` URL; with no source
/// left the start has failed, told by the `error` event (the timeout is
/// infinite). A worker that runs but cannot take the module has failed.
#[wasm_bindgen_test]
async fn a_worker_that_cannot_load_is_replaced_then_given_up() {
    let missing = Source::Url(format!("no-such-{WORKER_URL}"));
    let mut w = RasterWorker::from_sources(vec![missing.clone(), Source::Blob(WORKER_JS.into())]);
    assert_eq!(settled(&mut w).await, WorkerState::Ready("blob"));
    let mut w = RasterWorker::from_sources(vec![missing]);
    match settled(&mut w).await {
        WorkerState::Failed(why) => assert!(why.starts_with("script worker"), "{why}"),
        other => panic!("a worker with no script started: {other:?}"),
    }
    assert!(!w.ready());
    assert!(w.send(vec![0; 8], 4).is_err());
    // A worker that runs but cannot instantiate the module (sent as soon
    // as it runs) fails before any job, and is not replaced.
    let no_wasm = "onmessage = (e) => { if (e.data.module) postMessage({ failed: 'no WebAssembly here' }); }; postMessage({ ready: true });";
    let mut w = RasterWorker::from_sources(vec![
        Source::Blob(no_wasm.into()),
        Source::Blob(WORKER_JS.into()),
    ]);
    assert_eq!(settled(&mut w).await, WorkerState::Ready("blob"));
    let mut state = WorkerState::Starting;
    for _ in 0..500 {
        state = w.poll(0.0, f64::INFINITY);
        if state != WorkerState::Ready("blob") {
            break;
        }
        sleep(10).await;
    }
    assert_eq!(
        state,
        WorkerState::Failed("blob worker: no WebAssembly here".into())
    );
}
