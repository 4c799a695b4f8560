//! Browser benchmark of the web app's hot paths, in headless Chromium:
//! frame time for pan/zoom at 1k and 10k nodes (50k edges) with the three
//! renderers (batched Canvas 2D, WebGL2 with its Canvas 2D label layer, and
//! shapes rasterised in WASM put as one image with Canvas 2D labels),
//! interactive pan/zoom through the scene cache with Canvas 2D and with
//! the raster renderer (the per-frame
//! path of the app: cached picture moved, labels fresh, repaint in slices),
//! ingest throughput (decode + KFL2 filter + aggregate), the time from
//! a display-filter change to the redrawn map with 300,000 stored entries,
//! and the cluster-wide L4 map of 10,000 pods and 50,000 flows.
//!
//! Run one test at a time (see docs/bench/web.md):
//! `WASM_BINDGEN_TEST_TIMEOUT=300 CHROMEDRIVER=/usr/bin/chromedriver cargo test --release -p wiremap-web --target wasm32-unknown-unknown --bench web -- --nocapture TEST`
//!
//! It prints figures and asserts nothing about time.

use std::net::{IpAddr, Ipv4Addr};

#[path = "../tests/common/mod.rs"]
mod common;

use wasm_bindgen_test::*;
use wiremap_model::{aggregate_l7, Grouping, ViewSettings};
use wiremap_web::camera::Camera;
use wiremap_web::feed::Feed;
use wiremap_web::raster::{paint_scene, Pixmap};
use wiremap_web::render::{paint, paint_labels, Frame, RasterCanvas, LIGHT};
use wiremap_web::render_gl::GlRenderer;
use wiremap_web::scene::Scene;
use wiremap_web::scene_cache::{SceneCache, SLICE_BUDGET_MS};
use wiremap_web::session::Session;
use wiremap_web::view_state::{MapType, Renderer, ViewState};
use wiremap_wire::{
    encode, Detail, Entry, Frame as WireFrame, Identity, IdentityKind, L4Counter, L4Snapshot,
    L7Batch, Peer, Protocol,
};

wasm_bindgen_test_configure!(run_in_browser);

const W: f64 = 1280.0;
const H: f64 = 800.0;
const T0: i64 = 1_700_000_000_000_000;

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn pod(i: u32) -> Identity {
    let ip = IpAddr::V4(Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8));
    let mut id = Identity::external(ip);
    id.kind = IdentityKind::POD;
    id.name = format!("pod-{i}");
    id.namespace = format!("ns-{}", i % 20);
    id.node = format!("node-{}", i % 8);
    id.workload = format!("wl-{}", i / 3);
    id
}

const PROTOCOLS: [Protocol; 6] = [
    Protocol::HTTP,
    Protocol::HTTP2,
    Protocol::GRPC,
    Protocol::DNS,
    Protocol::REDIS,
    Protocol::KAFKA,
];

/// `count` entries between `nodes` pods; pair choice from `rng`.
fn entries(rng: &mut Rng, nodes: u32, count: usize, first_id: u64) -> Vec<Entry> {
    (0..count)
        .map(|k| {
            let s = rng.below(u64::from(nodes)) as u32;
            let d = rng.below(u64::from(nodes)) as u32;
            let p = PROTOCOLS[rng.below(6) as usize];
            Entry {
                id: first_id + k as u64,
                timestamp_us: T0 + (first_id + k as u64) as i64 * 10,
                elapsed_us: 100 + rng.below(5_000) as i64,
                protocol: p,
                src: Peer {
                    ip: pod(s).ip,
                    port: 40_000,
                    identity: s,
                },
                dst: Peer {
                    ip: pod(d).ip,
                    port: 80,
                    identity: d,
                },
                conn_id: k as u64,
                transport_udp: p == Protocol::DNS,
                request_size: 100 + rng.below(2_000),
                response_size: 100 + rng.below(20_000),
                status_code: if rng.below(10) == 0 { 500 } else { 200 },
                error: false,
                has_response: true,
                detail: Detail::None,
            }
        })
        .collect()
}

fn batch(ids: &[Identity], entries: Vec<Entry>, seq: u64) -> L7Batch {
    L7Batch {
        node: "node-0".into(),
        epoch: 1,
        seq,
        identities: ids.to_vec(),
        entries,
    }
}

fn canvas() -> web_sys::CanvasRenderingContext2d {
    common::context_2d(&common::canvas_sized(W, H))
}

/// A store whose pod grouping gives `nodes` nodes and about `edges` edges
/// (one entry per edge, a 50/50 mix of protocols).
fn graph_session(nodes: u32, edges: usize) -> Session {
    let mut rng = Rng(7);
    let ids: Vec<Identity> = (0..nodes).map(pod).collect();
    let mut feed = Feed::with_store_cap(edges + 1);
    let mut all = Vec::with_capacity(edges);
    // Every node gets an edge, then random pairs.
    for i in 0..nodes.min(edges as u32) {
        let mut e = entries(&mut rng, nodes, 1, u64::from(i)).remove(0);
        e.src.identity = i;
        e.dst.identity = (i + 1) % nodes;
        all.push(e);
    }
    all.extend(entries(&mut rng, nodes, edges - all.len(), 1_000_000));
    feed.l7.ingest(batch(&ids, all, 1));
    let mut v = ViewState::default();
    v.settings.cumulative = true;
    let mut s = Session::with_feed(feed, ViewState::default(), String::new());
    s.set_view(v, T0);
    s
}

fn gl_canvas() -> web_sys::HtmlCanvasElement {
    common::canvas_sized(W, H)
}

/// Frames per renderer and camera (each run must stay well under the
/// browser driver's 300 s limit for one synchronous test).
const FRAMES: u32 = 10;

/// The cameras of a run: fit view, then 2.5x zoomed in; panned a little
/// every frame.
fn camera(base: Camera, zoom: f64, f: u32) -> Camera {
    let mut cam = base;
    cam.zoom_at(
        zoom,
        wiremap_web::geometry::Point {
            x: W / 2.0,
            y: H / 2.0,
        },
        W,
        H,
    );
    cam.pan(f64::from(f) * 7.0, f64::from(f) * -3.0);
    cam
}

fn frame_bench(nodes: u32, edges: usize) {
    let t = now_ms();
    let mut s = graph_session(nodes, edges);
    let setup = now_ms() - t;
    // Some layout so nodes are spread as a user would see them.
    let t = now_ms();
    let mut ticks = 0;
    while ticks < 30 && s.step_layout(1) {
        ticks += 1;
    }
    let layout_tick = (now_ms() - t) / f64::from(ticks.max(1));
    s.fit(W, H);
    let positions = s.positions();
    let ctx = canvas();
    // WebGL2: its own canvas plus a Canvas 2D label layer, as in the app.
    let mut gl = GlRenderer::new(&gl_canvas()).expect("WebGL2 (see web/webdriver.json)");
    let labels = canvas();
    let mut raster = RasterCanvas::default();
    let base = s.camera;
    // Pan and zoom: a frame per camera, fit view and 2.5x zoomed in; the
    // three renderers on the same graph and cameras.
    for (name, zoom) in [("fit", 1.0), ("zoomed", 2.5)] {
        for renderer in [Renderer::Canvas2d, Renderer::WebGl2, Renderer::Raster] {
            let mut times = Vec::new();
            let mut shown = (0, 0, 0);
            for f in 0..FRAMES {
                let cam = camera(base, zoom, f);
                let frame = view_frame(&s, &positions, &cam);
                let t = now_ms();
                let scene = Scene::build(&frame);
                match renderer {
                    Renderer::Canvas2d => {
                        paint(&ctx, &frame, &scene);
                        // Reading a pixel forces the canvas to rasterise.
                        let _ = ctx.get_image_data(0.0, 0.0, 1.0, 1.0);
                    }
                    Renderer::WebGl2 => {
                        gl.paint(&frame, &scene);
                        paint_labels(&labels, &frame, &scene);
                        // readPixels waits for the GPU (SwiftShader) to finish.
                        let _ = gl.read_pixel(0.0, 0.0, 1.0);
                        let _ = labels.get_image_data(0.0, 0.0, 1.0, 1.0);
                    }
                    Renderer::Raster => {
                        raster.paint(&ctx, &frame, &scene);
                        let _ = ctx.get_image_data(0.0, 0.0, 1.0, 1.0);
                    }
                }
                times.push(now_ms() - t);
                shown = (
                    scene.edges.len(),
                    scene.edges.iter().filter(|e| e.arrow.is_some()).count(),
                    scene.node_labels.len() + scene.edge_labels.len(),
                );
            }
            times.sort_by(f64::total_cmp);
            let mean = times.iter().sum::<f64>() / times.len() as f64;
            console_log!(
                "BENCH frame renderer={} nodes={} edges={} view={} scale={:.3} mean_ms={:.1} p50_ms={:.1} max_ms={:.1} fps={:.1} (visible edges {}, arrows {}, labels {}; setup {:.0} ms, layout tick {:.1} ms)",
                renderer.code(),
                s.graph.nodes.len(),
                s.graph.edges.len(),
                name,
                camera(base, zoom, 0).scale,
                mean,
                times[times.len() / 2],
                times[times.len() - 1],
                1000.0 / mean,
                shown.0,
                shown.1,
                shown.2,
                setup,
                layout_tick
            );
        }
        raster_parts(&s, &positions, camera(base, zoom, 0), name, &mut raster);
    }
}

/// Where the raster renderer's frame goes (mean of `FRAMES` runs each):
/// scene build, rasterising, the `putImageData` of the visible canvas, and
/// the other way to show the pixels (put on an offscreen canvas, then
/// `drawImage`), each forced to complete by a one-pixel read.
fn raster_parts(
    s: &Session,
    positions: &[wiremap_web::geometry::Point],
    cam: Camera,
    name: &str,
    rc: &mut RasterCanvas,
) {
    let ctx = canvas();
    let off = canvas();
    let frame = view_frame(s, positions, &cam);
    let mut t = [0.0f64; 5];
    for _ in 0..FRAMES {
        let t0 = now_ms();
        let scene = Scene::build(&frame);
        let t1 = now_ms();
        rc.pixmap.resize(W as usize, H as usize);
        paint_scene(&mut rc.pixmap, &scene, &LIGHT, 1.0);
        let t2 = now_ms();
        let _ = rc.put(&ctx);
        let _ = ctx.get_image_data(0.0, 0.0, 1.0, 1.0);
        let t3 = now_ms();
        let _ = rc.put(&off);
        if let Some(c) = off.canvas() {
            let _ = ctx.draw_image_with_html_canvas_element(&c, 0.0, 0.0);
        }
        let _ = ctx.get_image_data(0.0, 0.0, 1.0, 1.0);
        let t4 = now_ms();
        wiremap_web::render::paint_labels_over(&ctx, &frame, &scene);
        let _ = ctx.get_image_data(0.0, 0.0, 1.0, 1.0);
        let t5 = now_ms();
        for (acc, d) in t
            .iter_mut()
            .zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4])
        {
            *acc += d / f64::from(FRAMES);
        }
    }
    console_log!(
        "BENCH raster_parts nodes={} edges={} view={} scene_build_ms={:.1} rasterise_ms={:.1} put_ms={:.1} put_offscreen_and_draw_ms={:.1} labels_ms={:.1}",
        s.graph.nodes.len(),
        s.graph.edges.len(),
        name,
        t[0],
        t[1],
        t[2],
        t[3],
        t[4]
    );
}

/// Mean, p50, p95 and max of `times` (ms).
fn stats(times: &[f64]) -> (f64, f64, f64, f64) {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    if t.is_empty() {
        return (0.0, 0.0, 0.0, 0.0);
    }
    let at = |q: f64| t[((t.len() - 1) as f64 * q).round() as usize];
    (
        t.iter().sum::<f64>() / t.len() as f64,
        at(0.5),
        at(0.95),
        t[t.len() - 1],
    )
}

/// What it took to get a sharp picture with the camera still.
struct Settled {
    /// Frames (calls of `SceneCache::frame`) until no picture was in progress.
    frames: usize,
    /// Slices and painting time of the picture that finished (ms).
    slices: u32,
    work_ms: f64,
    /// Wall time of those frames, pixel reads included, and the longest.
    wall_ms: f64,
    max_frame_ms: f64,
    /// p95 of the frames' wall time, and the longest decision + slice
    /// (the part the budget governs; the rest is the compose).
    p95_frame_ms: f64,
    max_slice_ms: f64,
}

/// Frames at one camera until the cache has no picture in progress, each
/// with a pixel read of the visible canvas (forces rasterisation).
fn settle(
    cache: &mut SceneCache,
    out: &web_sys::CanvasRenderingContext2d,
    f: &Frame<'_>,
    revision: u64,
) -> Settled {
    let mut r = Settled {
        frames: 0,
        slices: 0,
        work_ms: 0.0,
        wall_ms: 0.0,
        max_frame_ms: 0.0,
        p95_frame_ms: 0.0,
        max_slice_ms: 0.0,
    };
    let mut times = Vec::new();
    loop {
        let t = now_ms();
        let rep = cache.frame(out, f, revision);
        let _ = out.get_image_data(0.0, 0.0, 1.0, 1.0);
        let dt = now_ms() - t;
        r.frames += 1;
        r.wall_ms += dt;
        r.max_frame_ms = r.max_frame_ms.max(dt);
        r.max_slice_ms = r.max_slice_ms.max(rep.slice_ms);
        times.push(dt);
        if let Some(p) = rep.completed {
            r.slices = p.slices;
            r.work_ms = p.work_ms;
        }
        if !rep.busy || r.frames > 100_000 {
            r.p95_frame_ms = stats(&times).2;
            return r;
        }
    }
}

/// The scripted camera path: 60 changes from `base` (20 pans, 20 zoom-in
/// steps of 6 % around a point off centre, 20 zoom-out steps of 0.5 % with
/// a pan: 2.9x the fit view at the end, where node labels show).
fn pan_zoom_script(base: Camera) -> Vec<Camera> {
    let mut cam = base;
    let at = wiremap_web::geometry::Point { x: 500.0, y: 300.0 };
    let mut out = Vec::with_capacity(60);
    for i in 0..60 {
        match i / 20 {
            0 => cam.pan(12.0, -5.0),
            1 => cam.zoom_at(1.06, at, W, H),
            _ => {
                cam.zoom_at(0.995, at, W, H);
                cam.pan(-8.0, 6.0);
            }
        }
        out.push(cam);
    }
    out
}

/// The session's frame at camera `cam`, W × H at device pixel ratio 1.
fn view_frame<'a>(
    s: &'a Session,
    positions: &'a [wiremap_web::geometry::Point],
    cam: &'a Camera,
) -> Frame<'a> {
    Frame {
        graph: &s.graph,
        positions,
        camera: cam,
        view: &s.view,
        width: W,
        height: H,
        dpr: 1.0,
        theme: LIGHT,
        selected: None,
    }
}

fn pan_zoom_bench(nodes: u32, edges: usize) {
    let mut s = graph_session(nodes, edges);
    let mut ticks = 0;
    while ticks < 30 && s.step_layout(1) {
        ticks += 1;
    }
    s.fit(W, H);
    for raster in [false, true] {
        pan_zoom_run(&s, raster);
    }
}

/// The pan/zoom script through the scene cache, with Canvas 2D or the
/// raster renderer painting its pictures.
fn pan_zoom_run(s: &Session, raster: bool) {
    let name = if raster { "raster-cache" } else { "2d-cache" };
    let positions = s.positions();
    let revision = s.graph_revision();
    let out = canvas();
    let mut cache = if raster {
        SceneCache::new_raster(wiremap_web::scene_cache::SLICE_BUDGET_MS)
    } else {
        SceneCache::default()
    };
    let frame = |cam| view_frame(s, &positions, cam);
    let base = s.camera;
    // What starting a picture costs before any shape is painted.
    let t = now_ms();
    let scene = Scene::build(&frame(&base));
    let build_ms = now_ms() - t;
    let t = now_ms();
    let ops = wiremap_web::render::plan(&scene).len();
    let plan_ms = now_ms() - t;
    let t = now_ms();
    let labels_ms = {
        let _ = Scene::labels(&frame(&base));
        now_ms() - t
    };
    console_log!(
        "BENCH pan_zoom_start renderer={} nodes={} edges={} scene_build_ms={:.1} plan_ms={:.1} ops={} labels_scene_ms={:.1}",
        name,
        s.graph.nodes.len(),
        s.graph.edges.len(),
        build_ms,
        plan_ms,
        ops,
        labels_ms
    );
    let first = settle(&mut cache, &out, &frame(&base), revision);
    let script = pan_zoom_script(base);
    let mut times = Vec::with_capacity(script.len());
    let (mut repaint_frames, mut labels) = (0, 0);
    for cam in &script {
        let f = frame(cam);
        let t = now_ms();
        let rep = cache.frame(&out, &f, revision);
        let _ = out.get_image_data(0.0, 0.0, 1.0, 1.0);
        times.push(now_ms() - t);
        repaint_frames += usize::from(rep.sliced);
        labels = Scene::labels(&f).node_labels.len();
    }
    let (mean, p50, p95, max) = stats(&times);
    let last = script.last().copied().unwrap_or(base);
    let after = settle(&mut cache, &out, &frame(&last), revision);
    console_log!(
        "BENCH pan_zoom renderer={} nodes={} edges={} frames={} mean_ms={:.1} p50_ms={:.1} p95_ms={:.1} max_ms={:.1} fps={:.0} (frames that painted a slice: {}; node labels at the end {}; scale {:.3} -> {:.3})",
        name,
        s.graph.nodes.len(),
        s.graph.edges.len(),
        times.len(),
        mean,
        p50,
        p95,
        max,
        1000.0 / mean,
        repaint_frames,
        labels,
        base.scale,
        last.scale
    );
    for (what, r) in [("first picture", &first), ("after the stop", &after)] {
        console_log!(
            "BENCH pan_zoom_settle renderer={} nodes={} edges={} when={:?} frames={} slices={} paint_ms={:.0} wall_ms={:.0} p95_frame_ms={:.1} max_frame_ms={:.1} max_slice_ms={:.1}",
            name,
            s.graph.nodes.len(),
            s.graph.edges.len(),
            what,
            r.frames,
            r.slices,
            r.work_ms,
            r.wall_ms,
            r.p95_frame_ms,
            r.max_frame_ms,
            r.max_slice_ms
        );
    }
}

#[wasm_bindgen_test]
fn pan_zoom_1k() {
    pan_zoom_bench(1_000, 50_000);
}

#[wasm_bindgen_test]
fn pan_zoom_10k() {
    pan_zoom_bench(10_000, 50_000);
}

#[wasm_bindgen_test]
fn frame_time_1k_nodes() {
    frame_bench(1_000, 50_000);
}

#[wasm_bindgen_test]
fn frame_time_10k_nodes() {
    frame_bench(10_000, 50_000);
}

#[wasm_bindgen_test]
fn ingest_throughput() {
    let mut rng = Rng(11);
    let ids: Vec<Identity> = (0..500).map(pod).collect();
    let frames: Vec<Vec<u8>> = (0..100)
        .map(|b| {
            let e = entries(&mut rng, 500, 1_000, b * 1_000);
            encode(&WireFrame::L7Batch(batch(&ids, e, b + 1))).expect("encodable")
        })
        .collect();
    let total = 100_000.0;
    let mut feed = Feed::new();
    let t = now_ms();
    for f in &frames {
        feed.ingest_bytes(f, T0);
    }
    let decode_ms = now_ms() - t;
    let filter = wiremap_kfl::Filter::compile("http && status_code >= 500", T0).expect("filter");
    let pred = |v: &wiremap_wire::EntryView| filter.matches(v).unwrap_or(false);
    let mut settings = ViewSettings {
        cumulative: true,
        ..ViewSettings::default()
    };
    let t = now_ms();
    let g = aggregate_l7(&feed.l7, &pred, &settings, T0);
    let agg_ms = now_ms() - t;
    settings.grouping = Grouping::Namespace;
    let t = now_ms();
    let g2 = aggregate_l7(&feed.l7, &|_| true, &settings, T0);
    let agg_all_ms = now_ms() - t;
    console_log!(
        "BENCH ingest entries={} decode+store_ms={:.1} ({:.0} entries/s) filter+aggregate_ms={:.1} ({:.0} entries/s, {} matched) unfiltered_aggregate_ms={:.1} end_to_end={:.0} entries/s (edges {} / {})",
        total,
        decode_ms,
        total / decode_ms * 1000.0,
        agg_ms,
        total / agg_ms * 1000.0,
        g.matched,
        agg_all_ms,
        total / (decode_ms + agg_ms) * 1000.0,
        g.edges.len(),
        g2.edges.len()
    );
}

/// Entries over a fixed set of (client, server, protocol) triples, picked
/// with a skew (a few hot edges, a long tail), as a cluster's traffic is: a
/// workload talks to a few others, not to every pod.
fn topology_entries(
    rng: &mut Rng,
    triples: &[(u32, u32, Protocol)],
    count: usize,
    first_id: u64,
) -> Vec<Entry> {
    let n = triples.len() as u64;
    let mut es = entries(rng, 1, count, first_id);
    for e in &mut es {
        let (s, d, p) = triples[(rng.below(n) * rng.below(n) / n) as usize];
        e.protocol = p;
        e.transport_udp = p == Protocol::DNS;
        e.src.identity = s;
        e.src.ip = pod(s).ip;
        e.dst.identity = d;
        e.dst.ip = pod(d).ip;
    }
    es
}

/// 300,000 stored entries between 2,000 pods: over 10,000 distinct
/// (client, server, protocol) edges (`Some`, the scale of the 10k-edge
/// target) or over random pairs (`None`: nearly every entry its own edge,
/// 300k edges, a worst case).
fn feed_300k(edges: Option<usize>) -> Feed {
    let mut rng = Rng(13);
    let ids: Vec<Identity> = (0..2_000).map(pod).collect();
    let triples: Vec<(u32, u32, Protocol)> = (0..edges.unwrap_or(0))
        .map(|_| {
            let s = rng.below(2_000) as u32;
            let d = rng.below(2_000) as u32;
            (s, d, PROTOCOLS[rng.below(6) as usize])
        })
        .collect();
    let mut feed = Feed::new();
    for b in 0..300u64 {
        let e = match edges {
            Some(_) => topology_entries(&mut rng, &triples, 1_000, b * 1_000),
            None => entries(&mut rng, 2_000, 1_000, b * 1_000),
        };
        feed.l7.ingest(batch(&ids, e, b + 1));
    }
    assert_eq!(feed.l7.len(), 300_000);
    feed
}

const FILTERS: [&str; 5] = [
    "http",
    "status_code >= 500",
    "dns || redis",
    "src.namespace == \"ns-3\"",
    "",
];

/// A display-filter change with 300,000 stored entries on a laid-out map,
/// both ways the session can compute: at once (`recompute_ms`, then the redraw with the
/// default renderer, `redrawn_ms` in total), and in time slices as the app
/// does (`slices` frames of at most `WORK_MS` each: how many, the longest
/// and their sum; the map appears after `slices` animation frames, then
/// one redraw).
fn filter_change_run(corpus: &str, feed: Feed) {
    // The app's budget for the map of a changed view (`FRAME_BUDGET_MS`).
    const WORK_MS: f64 = 12.0;
    let mut v = ViewState::default();
    v.settings.cumulative = true;
    let mut s = Session::with_feed(feed, ViewState::default(), String::new());
    s.set_view(v.clone(), T0);
    // The map a user changes the filter on is laid out (the layout's
    // starting pile, at the fit's largest zoom, would draw huge
    // overlapping nodes and thick edges no one sees).
    let (t, mut ticks) = (now_ms(), 0);
    while ticks < 300 && s.step_layout(1) {
        ticks += 1;
    }
    console_log!(
        "BENCH filter_change corpus={} layout: {} ticks in {:.0} ms",
        corpus,
        ticks,
        now_ms() - t
    );
    let ctx = canvas();
    let mut raster = RasterCanvas::default();
    let mut pixmap = Pixmap::new(W as usize, H as usize);
    // ... and on the screen: the renderer has drawn it (its buffers and
    // the canvas's image exist, as in the app before any change).
    s.fit(W, H);
    let positions = s.positions();
    raster.draw(&ctx, &view_frame(&s, &positions, &s.camera));
    for filter in FILTERS {
        v.filter = filter.to_string();
        // At once.
        let t = now_ms();
        s.set_view(v.clone(), T0);
        let computed = now_ms() - t;
        // The app fits the new map to the canvas (auto-fit).
        s.fit(W, H);
        let positions = s.positions();
        let frame = view_frame(&s, &positions, &s.camera);
        let t_draw = now_ms();
        raster.draw(&ctx, &frame);
        let _ = ctx.get_image_data(0.0, 0.0, 1.0, 1.0);
        let draw_ms = now_ms() - t_draw;
        let total = now_ms() - t;
        // Of the draw, the rasterising alone (no image hand-over, no text).
        // The least of three (one when it is slow): the browser's time
        // for the same work moves by up to 2x from run to run here.
        let scene = Scene::build(&frame);
        let mut paint_ms = f64::INFINITY;
        for _ in 0..3 {
            let t_paint = now_ms();
            paint_scene(&mut pixmap, &scene, &LIGHT, 1.0);
            paint_ms = paint_ms.min(now_ms() - t_paint);
            if paint_ms > 500.0 {
                break;
            }
        }
        // In slices: from the unfiltered map to this filter's.
        let mut sliced = Session::with_feed(
            std::mem::take(&mut s.feed),
            ViewState::default(),
            String::new(),
        );
        sliced.set_view(
            ViewState {
                filter: "tcp".into(),
                ..v.clone()
            },
            T0,
        );
        sliced.set_time_slicing(true, T0);
        sliced.set_view(v.clone(), T0);
        let (mut slices, mut longest, mut sum) = (0u32, 0.0f64, 0.0f64);
        loop {
            let t0 = now_ms();
            let done = sliced.work(T0, &mut || now_ms() - t0 >= WORK_MS);
            let dt = now_ms() - t0;
            slices += 1;
            longest = longest.max(dt);
            sum += dt;
            if done {
                break;
            }
        }
        // The replaced map is dropped a piece per frame after that: those
        // calls count for the longest.
        let mut drops = 0u32;
        while sliced.retired_maps() > 0 {
            let t0 = now_ms();
            sliced.work(T0, &mut || now_ms() - t0 >= WORK_MS);
            longest = longest.max(now_ms() - t0);
            drops += 1;
        }
        assert_eq!(sliced.graph, s.graph, "sliced and at-once maps differ");
        s.feed = std::mem::take(&mut sliced.feed);
        console_log!(
            "BENCH filter_change corpus={} stored=300000 filter={:?} matched={} nodes={} edges={} recompute_ms={:.1} draw_ms={:.1} (raster {:.1}) redrawn_ms={:.1} sliced: frames={} longest_ms={:.1} work_ms={:.1} (then {} to drop the old map)",
            corpus,
            filter,
            s.graph.matched,
            s.graph.nodes.len(),
            s.graph.edges.len(),
            computed,
            draw_ms,
            paint_ms,
            total,
            slices,
            longest,
            sum,
            drops
        );
    }
}

#[wasm_bindgen_test]
fn filter_change_to_redrawn_map_300k() {
    filter_change_run("10k-edges", feed_300k(Some(10_000)));
}

#[wasm_bindgen_test]
fn filter_change_worst_case_300k_edges() {
    filter_change_run("random-pairs", feed_300k(None));
}

/// The cluster-wide L4 map of a large cluster: 10,000 pods, 20 probes of
/// 2,500 flows each (50,000 flows, random peers), three snapshots per
/// probe: the longest snapshot's decode and ingest, then the map by pod
/// and by namespace computed at once (`recompute_ms`, layout sync
/// included) and in time slices as the app does (`WORK_MS` per frame: how
/// many frames, the longest call).
#[wasm_bindgen_test]
fn l4_map_10k_nodes_50k_flows() {
    const WORK_MS: f64 = 12.0;
    let (nodes, probes, per_probe) = (10_000u32, 20u32, 2_500u32);
    let ids: Vec<Identity> = (0..nodes).map(pod).collect();
    let mut rng = Rng(3);
    let mut s = Session::new(ViewState::default(), String::new());
    // The app's way: big snapshots are decoded and taken in by slices.
    let mut app = Session::new(ViewState::default(), String::new());
    app.set_time_slicing(true, T0);
    for seq in 1..=3u64 {
        let (mut longest, mut longest_app) = (0.0f64, 0.0f64);
        for p in 0..probes {
            let counters: Vec<L4Counter> = (0..per_probe)
                .map(|i| L4Counter {
                    client: (p * per_probe + i) % nodes,
                    server: rng.below(u64::from(nodes)) as u32,
                    server_port: 80,
                    ip_proto: 6,
                    bytes_to_server: 1_000 * seq,
                    bytes_to_client: 2_000 * seq,
                    packets_to_server: 10 * seq,
                    packets_to_client: 10 * seq,
                    flows: 1,
                    open_flows: 1,
                })
                .collect();
            let frame = encode(&WireFrame::L4Snapshot(L4Snapshot {
                node: format!("node-{p}"),
                epoch: 1,
                seq,
                taken_at_us: T0 + seq as i64 * 1_000_000,
                identities: ids.clone(),
                counters,
            }))
            .expect("encodable");
            let t = now_ms();
            app.receive(frame.clone(), T0);
            longest_app = longest_app.max(now_ms() - t);
            while app.held_frames() > 0 {
                let t = now_ms();
                app.work(T0, &mut || now_ms() - t >= WORK_MS);
                longest_app = longest_app.max(now_ms() - t);
            }
            let t = now_ms();
            s.receive(frame, T0);
            longest = longest.max(now_ms() - t);
        }
        console_log!(
            "BENCH l4_map snapshots={} flows={} longest snapshot decode+ingest_ms={:.1}, in slices longest call {:.1} ms (round {})",
            probes,
            probes * per_probe,
            longest,
            longest_app,
            seq
        );
    }
    for grouping in [Grouping::PodService, Grouping::Namespace] {
        let mut v = ViewState {
            map: MapType::L4,
            ..ViewState::default()
        };
        v.settings.grouping = grouping;
        let t = now_ms();
        s.set_view(v.clone(), T0);
        let at_once = now_ms() - t;
        // In slices: from the map by the other grouping to this one.
        let mut sliced = Session::with_feed(
            std::mem::take(&mut s.feed),
            ViewState::default(),
            String::new(),
        );
        sliced.set_time_slicing(true, T0);
        sliced.set_view(v.clone(), T0);
        let (mut frames, mut longest) = (0u32, 0.0f64);
        loop {
            let t0 = now_ms();
            let done = sliced.work(T0, &mut || now_ms() - t0 >= WORK_MS);
            longest = longest.max(now_ms() - t0);
            frames += 1;
            if done {
                break;
            }
        }
        assert_eq!(sliced.graph, s.graph, "sliced and at-once maps differ");
        s.feed = std::mem::take(&mut sliced.feed);
        console_log!(
            "BENCH l4_map grouping={:?} nodes={} edges={} recompute_ms={:.1} sliced: frames={} longest_ms={:.1}",
            grouping,
            s.graph.nodes.len(),
            s.graph.edges.len(),
            at_once,
            frames,
            longest
        );
        if grouping == Grouping::PodService {
            // The fresh layout of the 10,000-node map: a tick is the
            // layout's indivisible piece of a frame.
            let mut ticks = Vec::new();
            while ticks.len() < 60 {
                let t = now_ms();
                let moving = s.step_layout(1);
                ticks.push(now_ms() - t);
                if !moving {
                    break;
                }
            }
            let (mean, p50, p95, max) = stats(&ticks);
            console_log!(
                "BENCH l4_map layout nodes={} ticks={} first_ms={:.1} mean_ms={:.1} p50_ms={:.1} p95_ms={:.1} max_ms={:.1}",
                s.graph.nodes.len(),
                ticks.len(),
                ticks[0],
                mean,
                p50,
                p95,
                max
            );
        }
    }
}

/// Calls `frame` once per animation frame until it returns the finished
/// picture's progress; then that, the frames and the longest call (ms).
async fn frames_until_done(
    mut frame: impl FnMut() -> Option<wiremap_web::scene_cache::Progress>,
) -> (wiremap_web::scene_cache::Progress, u32, f64) {
    let (mut frames, mut longest) = (0u32, 0.0f64);
    loop {
        let t = now_ms();
        let done = frame();
        longest = longest.max(now_ms() - t);
        frames += 1;
        if let Some(p) = done {
            return (p, frames, longest);
        }
        assert!(frames < 5_000, "the picture never finished");
        next_frame().await;
    }
}

/// Waits until `cache`'s raster worker runs (as the app's, started with
/// its first frame, long before a big picture).
async fn worker_started(cache: &mut SceneCache) {
    for _ in 0..300 {
        cache.poll_worker();
        if cache.worker_use() != "starting" {
            break;
        }
        next_frame().await;
    }
    assert!(
        matches!(cache.worker_use(), "script" | "blob"),
        "the raster worker runs: {}",
        cache.worker_use()
    );
}

/// Waits for the next animation frame.
async fn next_frame() {
    let p = js_sys::Promise::new(&mut |done, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.request_animation_frame(&done);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

/// The app's own path from a display-filter change to the redrawn map
/// (300,000 entries over 10k edges, laid out): every animation frame the
/// map computation gets its 12 ms slice, and once the new map is in, the
/// raster renderer's scene cache paints its picture (8 ms slices on the
/// page), with and without the raster worker painting a share on the
/// other core. Each filter is changed to from `tcp` (not measured), once
/// per cache, three rounds. Wall time includes waiting for frames.
#[wasm_bindgen_test]
async fn filter_change_in_the_app_10k() {
    let mut v = ViewState::default();
    v.settings.cumulative = true;
    let mut s = Session::with_feed(feed_300k(Some(10_000)), ViewState::default(), String::new());
    s.set_view(v.clone(), T0);
    let mut ticks = 0;
    while ticks < 300 && s.step_layout(1) {
        ticks += 1;
    }
    s.set_time_slicing(true, T0);
    let ctx = canvas();
    let mut caches = [
        ("page", SceneCache::new_raster(SLICE_BUDGET_MS)),
        ("worker", SceneCache::new_raster(SLICE_BUDGET_MS)),
    ];
    caches[1].1.use_worker(true);
    worker_started(&mut caches[1].1).await;
    for round in 0..3 {
        for filter in FILTERS {
            for (name, cache) in caches.iter_mut() {
                for (f, measured) in [("tcp", false), (filter, true)] {
                    v.filter = f.to_string();
                    let t0 = now_ms();
                    s.set_view(v.clone(), T0);
                    let (done, frames, longest) = frames_until_done(|| {
                        let tf = now_ms();
                        s.work(T0, &mut || now_ms() - tf >= WORK_MS_APP);
                        if s.computing() {
                            return None;
                        }
                        s.fit(W, H);
                        let positions = s.positions();
                        let frame = view_frame(&s, &positions, &s.camera);
                        let spent = now_ms() - tf;
                        let r = cache.frame_after(&ctx, &frame, s.graph_revision(), spent);
                        r.completed.filter(|_| !r.busy)
                    })
                    .await;
                    if measured {
                        console_log!(
                            "BENCH filter_change_in_the_app round={} cache={} filter={:?} edges={} redrawn_ms={:.1} frames={} longest_frame_ms={:.1} (worker's steps {} of {}; next share {:.2})",
                            round,
                            name,
                            filter,
                            s.graph.edges.len(),
                            now_ms() - t0,
                            frames,
                            longest,
                            done.offloaded,
                            done.offloaded + done.total,
                            cache.share_rates.share()
                        );
                    }
                }
            }
        }
    }
}

/// The app's budget for the map of a changed view (`FRAME_BUDGET_MS`).
const WORK_MS_APP: f64 = 12.0;

/// The sharp picture after the camera stops, in the app's way (one
/// `SceneCache::frame` per animation frame, waiting for frames, so the
/// raster worker's answers can arrive): 10k nodes / 50k edges and 1k /
/// 50k, the camera zoomed in 1.5× around a point off centre, then the
/// time until the new picture is finished, with the page alone and with
/// the worker, alternating, five times each.
#[wasm_bindgen_test]
async fn sharp_repaint_in_the_app() {
    for nodes in [10_000u32, 1_000] {
        let mut s = graph_session(nodes, 50_000);
        let mut ticks = 0;
        while ticks < 30 && s.step_layout(1) {
            ticks += 1;
        }
        s.fit(W, H);
        let positions = s.positions();
        let revision = s.graph_revision();
        let out = canvas();
        let mut caches = [
            ("page", SceneCache::new_raster(SLICE_BUDGET_MS)),
            ("worker", SceneCache::new_raster(SLICE_BUDGET_MS)),
        ];
        caches[1].1.use_worker(true);
        worker_started(&mut caches[1].1).await;
        worker_started(&mut caches[1].1).await;
        let base = s.camera;
        let mut zoomed = base;
        zoomed.zoom_at(
            1.5,
            wiremap_web::geometry::Point { x: 500.0, y: 300.0 },
            W,
            H,
        );
        for round in 0..5 {
            for (name, cache) in caches.iter_mut() {
                for (cam, measured) in [(base, false), (zoomed, true)] {
                    let f = view_frame(&s, &positions, &cam);
                    let t0 = now_ms();
                    let (done, frames, longest) = frames_until_done(|| {
                        let r = cache.frame(&out, &f, revision);
                        r.completed.filter(|_| !r.busy)
                    })
                    .await;
                    if measured {
                        console_log!(
                            "BENCH sharp_repaint round={} nodes={} edges={} cache={} wall_ms={:.1} frames={} longest_frame_ms={:.1} (worker's steps {} of {})",
                            round,
                            s.graph.nodes.len(),
                            s.graph.edges.len(),
                            name,
                            now_ms() - t0,
                            frames,
                            longest,
                            done.offloaded,
                            done.offloaded + done.total
                        );
                    }
                }
            }
        }
    }
}
