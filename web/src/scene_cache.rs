//! The scene cache of the Canvas 2D renderer: the map's shapes (edges,
//! arrowheads, nodes; not the labels, not the selection) are painted into
//! an offscreen canvas at the camera they were painted for. While the user
//! pans and zooms, each animation frame shows that picture moved and scaled
//! from its camera to the current one (one `drawImage`), then paints the
//! labels (at most 300 of each kind) and the selected node fresh on top: the
//! cost of such a frame does not depend on the number of edges.
//!
//! A new picture (the camera settled, or the graph, the positions, the view,
//! the theme or the canvas size changed) is made in a back buffer in
//! slices: its scene is built in pieces ([`crate::scene::SceneBuilder`]),
//! its plan made in parts, then each animation frame paints shapes in the
//! order of [`crate::render::plan`] for at most [`SLICE_BUDGET_MS`] (measured with
//! `performance.now()`, the canvas forced to rasterise after every chunk),
//! while the front picture keeps being shown; a finished back buffer becomes
//! the front. A picture that took one slice marks the graph as small: then
//! every camera change repaints at once, as without a cache. A picture
//! being painted for a camera far from the current one ([`far_apart`])
//! starts over.
//!
//! The raster renderer uses the same cache ([`SceneCache::new_raster`]):
//! instead of the plan, each slice rasterises the next steps of the
//! picture's [`crate::raster::Bins`] into a pixel buffer in WASM, and the finished
//! buffer is put on the back buffer in one `putImageData`.
//!
//! Key decision: the frame's decisions (is the picture still good, which
//! transform maps it to the current camera, how many shapes fit in the
//! time left) are pure functions and types here ([`next_step`],
//! [`blit_transform`], [`Slicer`], [`Progress`]); [`SceneCache`] is the thin
//! shell that owns the canvases.

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use crate::camera::Camera;
use crate::error::WebError;
use crate::geometry::Point;
use crate::raster::{paint_steps, BinBuild, Bins, Palette, BAND_ROWS};
use crate::raster_worker::{encode_job, split_band, RasterWorker, WorkerState};
use crate::render::{
    paint_background, paint_labels_over, paint_ops, paint_selection, plan_part, Op, RasterCanvas,
    PLAN_PARTS,
};
use crate::scene::{Frame, Scene, SceneBuilder, Theme};
use crate::ui::now_ms;
use crate::view_state::ViewState;
use wiremap_model::MapGraph;

/// Painting time of a back buffer per animation frame (ms), at most: a
/// slice gets less when the frame's compose ([`ComposeCost`]) and other
/// work leave less of [`FRAME_BUDGET_MS`]. 11 rather than 8 since chunks
/// are capped ([`RASTER_CHUNK_MS`]) and the compose is estimated from its
/// labels: the page alone redrew the unfiltered 10k-edge map 98–100 ms
/// after a filter change instead of 135–143 (longest frame 14.0 ms either
/// way, `filter_change_in_the_app_10k`).
pub const SLICE_BUDGET_MS: f64 = 11.0;
/// Canvas 2D's slices keep at most 8 ms: its chunks end with a pixel read
/// and are not capped, and with 11 ms its slices after a pan ran to 27 ms
/// (`pan_zoom_10k`).
pub const SLICE_BUDGET_2D_MS: f64 = 8.0;
/// A frame's rendering work at most, where it can be helped (ms): a slice
/// gets the smaller of its budget and what is left of this after the
/// previous frame's compose (the moved picture, labels, selection).
pub const FRAME_BUDGET_MS: f64 = 14.0;
/// A picture being painted starts over when the zoom changed by more than
/// this factor since it started (either way).
pub const RESTART_ZOOM: f64 = 2.0;
/// Shapes painted in the first chunk, before any cost is measured.
pub const FIRST_CHUNK: usize = 64;
/// Bounds of a chunk (shapes painted between two rasterisations).
pub const MIN_CHUNK: usize = 8;
pub const MAX_CHUNK: usize = 8_192;
/// Edges shaped between two looks at the clock while a picture's scene is
/// built (about 1 ms of work for 4,096 edges in WASM here).
pub const BUILD_CHUNK: usize = 4_096;
/// The raster worker's share of a picture's steps (its bands are the
/// picture's last) until both sides' speeds are known ([`ShareRates`]):
/// it paints without a break while the page paints its share in slices
/// of [`SLICE_BUDGET_MS`] per frame, but it decodes, bins and sends back
/// its part, and shares the machine with the browser's other threads.
pub const WORKER_SHARE: f64 = 0.5;
/// Bounds of the learnt share (neither side is left idle on the strength
/// of one odd picture).
pub const SHARE_BOUNDS: (f64, f64) = (0.2, 0.8);
/// A picture teaches the share only if each side painted at least this
/// many steps (below, fixed costs dominate the times).
pub const LEARN_MIN_STEPS: usize = 2_000;
/// Pictures with fewer steps are painted by the page alone: for them the
/// round trip (a frame or two) costs more than the worker saves (measured
/// in `filter_change_in_the_app_10k`: 2,600 and 13,500 steps were slower
/// with the worker, 18,000–32,000 faster).
pub const WORKER_MIN_STEPS: usize = 15_000;
/// An answer the worker has not sent after this long is given up (the
/// page paints those bands, and stops using the worker); so is a worker
/// whose script has not said it runs (the next way to start it is tried).
pub const WORKER_TIMEOUT_MS: f64 = 3_000.0;
/// A raster worker's job for a scene of at most this many edges is sent
/// in the piece that plans the picture (encoding it takes about 1 ms per
/// 10,000 edges); a bigger one is the first piece of a slice (6–9 ms for
/// 50,000 edges in Chromium here: after another piece it ran slices to
/// 13 ms).
pub const SEND_AT_ONCE_EDGES: usize = 20_000;
/// Steps whose curves are flattened between two looks at the clock.
pub const FLATTEN_CHUNK: usize = 2_048;
/// Shapes binned ([`BinBuild`]) between two looks at the clock.
pub const BIN_CHUNK: usize = 16_384;
/// Part of the remaining budget a chunk is sized to fill (the cost of
/// shapes varies; long edges cost more).
pub const CHUNK_FILL: f64 = 0.75;
/// The most work a chunk of the raster renderer is sized for: a chunk of
/// long zoomed edges can cost twice its estimate (the cost per step is
/// learnt from the chunks before, of other shapes or another picture),
/// which made slices of 8 ms run to 12 and more. Between two chunks
/// there is only a look at the clock. (Canvas 2D's chunks end with a
/// pixel read, which is not cheap: they are not capped.)
pub const RASTER_CHUNK_MS: f64 = 1.5;

/// Where a picture is seen from: camera, canvas size (CSS px) and device
/// pixel ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub camera: Camera,
    pub width: f64,
    pub height: f64,
    pub dpr: f64,
}

impl View {
    pub fn of(f: &Frame<'_>) -> View {
        View {
            camera: *f.camera,
            width: f.width,
            height: f.height,
            dpr: f.dpr,
        }
    }

    /// Canvas size in device pixels.
    pub fn device_size(&self) -> (u32, u32) {
        (
            (self.width * self.dpr).round().max(1.0) as u32,
            (self.height * self.dpr).round().max(1.0) as u32,
        )
    }
}

/// A uniform scale then a translation, in device pixels:
/// `to = from * scale + (tx, ty)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub scale: f64,
    pub tx: f64,
    pub ty: f64,
}

impl Affine {
    pub fn apply(&self, p: Point) -> Point {
        Point {
            x: p.x * self.scale + self.tx,
            y: p.y * self.scale + self.ty,
        }
    }
}

/// The transform that moves a picture painted at `from` to where `to`
/// shows the same world points (device pixels to device pixels).
pub fn blit_transform(from: &View, to: &View) -> Affine {
    // device_from = dpr_f * ((w - c_f) * s_f + V_f / 2), and the same for
    // `to`; eliminate the world point w.
    let k = to.camera.scale / from.camera.scale;
    let scale = to.dpr * k / from.dpr;
    let off = |v_from: f64, c_from: f64, c_to: f64, v_to: f64| {
        to.dpr * (-k * v_from / 2.0 + (c_from - c_to) * to.camera.scale + v_to / 2.0)
    };
    Affine {
        scale,
        tx: off(
            from.width,
            from.camera.center.x,
            to.camera.center.x,
            to.width,
        ),
        ty: off(
            from.height,
            from.camera.center.y,
            to.camera.center.y,
            to.height,
        ),
    }
}

/// Is a picture painted at `a` too far from `b` to be worth finishing:
/// zoom changed by more than [`RESTART_ZOOM`], or moved by more than the
/// canvas size, or another canvas size?
pub fn far_apart(a: &View, b: &View) -> bool {
    let ratio = b.camera.scale / a.camera.scale;
    if !(ratio.is_finite() && (1.0 / RESTART_ZOOM..=RESTART_ZOOM).contains(&ratio)) {
        return true;
    }
    if a.width != b.width || a.height != b.height || a.dpr != b.dpr {
        return true;
    }
    let t = blit_transform(a, b);
    let (w, h) = (a.width * a.dpr, a.height * a.dpr);
    // Where the picture's centre lands, against the canvas size.
    let c = t.apply(Point {
        x: w / 2.0,
        y: h / 2.0,
    });
    (c.x - w / 2.0).abs() > w || (c.y - h / 2.0).abs() > h
}

/// What a frame does about the cached picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Show the front picture (moved to the current camera); paint nothing.
    Idle,
    /// Paint the next slice of the picture in progress.
    Continue,
    /// (Re)start a picture for the current frame, then paint its first slice.
    Start,
}

/// What a frame knows when it decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Situation {
    /// The view of the picture being painted, if any.
    pub job: Option<View>,
    /// The picture in progress cannot be finished: its scene is still
    /// being built and its graph was replaced.
    pub job_stale: bool,
    /// The front picture: does its content (graph, positions, view, theme,
    /// size) match the frame's, and its view.
    pub front: Option<(bool, View)>,
    /// The frame's view.
    pub view: View,
    /// The camera did not move since the previous frame.
    pub settled: bool,
    /// The last picture took one slice: repaint on every camera change.
    pub fast: bool,
}

/// The frame's [`Step`]. A picture in progress is finished unless the
/// camera went far from it or its graph is gone (a content change waits for it: the next
/// picture starts when it is done, so a layout that keeps moving still
/// shows progress). Without one, a new picture starts when the content
/// changed, or the camera changed and either settled or the graph is fast.
pub fn next_step(s: &Situation) -> Step {
    if let Some(job) = s.job {
        return if s.job_stale || far_apart(&job, &s.view) {
            Step::Start
        } else {
            Step::Continue
        };
    }
    match s.front {
        None | Some((false, _)) => Step::Start,
        Some((true, v)) if v != s.view && (s.settled || s.fast) => Step::Start,
        Some(_) => Step::Idle,
    }
}

/// Sizes chunks from the measured cost per shape.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Slicer {
    /// Smoothed milliseconds per shape op (paint and rasterise), once
    /// measured.
    pub ms_per_op: Option<f64>,
    /// How long the raster renderer's last put of a picture took (ms).
    pub put_ms: Option<f64>,
}

impl Slicer {
    /// Shapes to paint next with `remaining_ms` of the slice left.
    pub fn chunk(&self, remaining_ms: f64) -> usize {
        self.chunk_capped(remaining_ms, f64::INFINITY)
    }

    /// [`Slicer::chunk`], sized to at most `cap_ms` of work.
    pub fn chunk_capped(&self, remaining_ms: f64, cap_ms: f64) -> usize {
        match self.ms_per_op {
            None => FIRST_CHUNK,
            Some(c) => {
                let ms = (remaining_ms.max(0.0) * CHUNK_FILL).min(cap_ms);
                let n = (ms / c.max(1e-6)).floor();
                (n.min(MAX_CHUNK as f64) as usize).clamp(MIN_CHUNK, MAX_CHUNK)
            }
        }
    }

    /// `ops` shapes took `ms`.
    pub fn record(&mut self, ops: usize, ms: f64) {
        if ops == 0 {
            return;
        }
        let c = (ms / ops as f64).max(1e-6);
        self.ms_per_op = Some(match self.ms_per_op {
            None => c,
            Some(old) => 0.5 * old + 0.5 * c,
        });
    }
}

/// How fast each side painted its part of the last pictures, in steps per
/// ms of wall time (the page's from the picture's plan to its last step,
/// frames waited for included; the worker's from the job's sending to its
/// answer), and so the worker's share that makes both finish together.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ShareRates {
    pub page: Option<f64>,
    pub worker: Option<f64>,
}

impl ShareRates {
    /// The worker's share of the next picture's steps.
    pub fn share(&self) -> f64 {
        match (self.page, self.worker) {
            (Some(p), Some(w)) if p > 0.0 && w > 0.0 => {
                (w / (p + w)).clamp(SHARE_BOUNDS.0, SHARE_BOUNDS.1)
            }
            _ => WORKER_SHARE,
        }
    }

    /// Learns from a picture whose page painted `page` steps in `page_ms`
    /// and whose worker painted `worker` steps in `worker_ms` (each rate
    /// halfway to the new one).
    pub fn learn(&mut self, (page, page_ms): (usize, f64), (worker, worker_ms): (usize, f64)) {
        if page < LEARN_MIN_STEPS || worker < LEARN_MIN_STEPS || !(page_ms > 0.0 && worker_ms > 0.0)
        {
            return;
        }
        let mix = |old: Option<f64>, new: f64| Some(old.map_or(new, |o| 0.5 * o + 0.5 * new));
        self.page = mix(self.page, page as f64 / page_ms);
        self.worker = mix(self.worker, worker as f64 / worker_ms);
    }
}

/// Texts a frame's labels scene draws.
fn label_count(labels: &Scene) -> usize {
    labels.edge_labels.len() + labels.node_labels.len()
}

/// What composing a frame costs (the picture drawn to the camera, then
/// the labels), learnt from the frames before, so that a frame's slice
/// leaves room for it: its labels are counted first, and the text is most
/// of the cost when a zoom shows hundreds of labels (measured in Chromium
/// here: a compose went from about 3 to 11 ms in the first frame of a
/// 1.5× zoom at 1,000 nodes, after a slice sized for the 3).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ComposeCost {
    /// The last frame's drawing of the picture (ms).
    pub picture_ms: f64,
    /// Smoothed ms per label, once a frame drew labels.
    pub per_label_ms: Option<f64>,
    /// The last frame's text (ms), for when no label was measured yet.
    pub text_ms: f64,
}

impl ComposeCost {
    /// The cost of a frame with `labels` labels (ms).
    pub fn estimate(&self, labels: usize) -> f64 {
        let text = match self.per_label_ms {
            Some(c) => c * labels as f64,
            None => self.text_ms,
        };
        self.picture_ms + text
    }

    /// A frame drew its picture in `picture_ms` and its `labels` labels
    /// in `text_ms`.
    pub fn learn(&mut self, picture_ms: f64, text_ms: f64, labels: usize) {
        self.picture_ms = picture_ms.max(0.0);
        self.text_ms = text_ms.max(0.0);
        if labels > 0 {
            let c = self.text_ms / labels as f64;
            self.per_label_ms = Some(self.per_label_ms.map_or(c, |o| 0.5 * o + 0.5 * c));
        }
    }
}

/// How far a picture is.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
    /// Ops of the plan painted, of `total`.
    pub done: usize,
    pub total: usize,
    /// Slices (animation frames) it took so far.
    pub slices: u32,
    /// Time spent painting it, scene build included (ms).
    pub work_ms: f64,
    /// Steps the raster worker painted (on another core).
    pub offloaded: usize,
}

impl Progress {
    pub fn is_done(&self) -> bool {
        self.done >= self.total
    }

    /// The next `n` ops (never past the end).
    pub fn advance(&mut self, n: usize) -> std::ops::Range<usize> {
        let end = self.done.saturating_add(n).min(self.total);
        let r = self.done..end;
        self.done = end;
        r
    }
}

/// The raster worker failed (`why`): it is dropped, and the page paints
/// every step of the picture (`steps`) and of every picture after it.
fn give_up(why: &str, worker: &mut Option<RasterWorker>, progress: &mut Progress, steps: usize) {
    web_sys::console::warn_1(&format!("wiremap: {why}; painting on the page").into());
    *worker = None;
    progress.total = steps;
    progress.offloaded = 0;
}

/// Paints the picture's next chunks with `paint`, each sized by `slicer`
/// from the time left, until it is done or `deadline` has passed (the
/// first chunk of a slice in which nothing else `worked` is always painted).
fn paint_chunks(
    progress: &mut Progress,
    slicer: &mut Slicer,
    (deadline, cap_ms): (f64, f64),
    worked: &mut bool,
    mut paint: impl FnMut(std::ops::Range<usize>),
) {
    while !progress.is_done() {
        let t = now_ms();
        if *worked && t >= deadline {
            break;
        }
        *worked = true;
        let r = progress.advance(slicer.chunk_capped(deadline - t, cap_ms));
        let n = r.len();
        paint(r);
        slicer.record(n, now_ms() - t);
    }
}

/// The last style op at or before `index` in `ops` (what to apply again
/// when painting resumes after `index`).
pub fn style_before(ops: &[Op], index: usize) -> Option<Op> {
    ops.get(..index.min(ops.len()))?
        .iter()
        .rev()
        .find(|o| o.is_style())
        .copied()
}

/// What a picture shows, to tell whether it still matches a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentKey {
    pub graph_revision: u64,
    pub positions: Vec<Point>,
    pub view: ViewState,
    pub theme: Theme,
    pub size: (f64, f64, f64),
}

impl ContentKey {
    pub fn of(f: &Frame<'_>, graph_revision: u64) -> ContentKey {
        ContentKey {
            graph_revision,
            positions: f.positions.to_vec(),
            view: f.view.clone(),
            theme: f.theme,
            size: (f.width, f.height, f.dpr),
        }
    }

    /// Same content as `f` (compares without copying).
    pub fn matches(&self, f: &Frame<'_>, graph_revision: u64) -> bool {
        self.graph_revision == graph_revision
            && self.size == (f.width, f.height, f.dpr)
            && self.theme == f.theme
            && self.positions.as_slice() == f.positions
            && &self.view == f.view
    }
}

/// What one frame did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameReport {
    /// A new picture was started.
    pub started: bool,
    /// A slice of the picture in progress was painted.
    pub sliced: bool,
    /// The picture finished this frame (and is now the front).
    pub completed: Option<Progress>,
    /// A picture is still in progress (ask for another frame).
    pub busy: bool,
    /// Time spent building or painting the picture in progress (ms).
    pub slice_ms: f64,
    /// Time spent in this frame, slice and compose (ms).
    pub frame_ms: f64,
}

/// An offscreen canvas and its 2D context.
#[derive(Debug)]
struct Surface {
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
}

impl Surface {
    fn new() -> Result<Surface, WebError> {
        let doc = web_sys::window()
            .and_then(|w| w.document())
            .ok_or(WebError::Missing("document"))?;
        let canvas: HtmlCanvasElement = doc
            .create_element("canvas")
            .map_err(|e| WebError::js("createElement", &e))?
            .dyn_into()
            .map_err(|_| WebError::Missing("HTMLCanvasElement"))?;
        let ctx = canvas
            .get_context("2d")
            .map_err(|e| WebError::js("getContext", &e))?
            .ok_or(WebError::Missing("CanvasRenderingContext2D"))?
            .dyn_into()
            .map_err(|_| WebError::Missing("CanvasRenderingContext2D"))?;
        Ok(Surface { canvas, ctx })
    }

    fn resize(&self, (w, h): (u32, u32)) {
        if self.canvas.width() != w || self.canvas.height() != h {
            self.canvas.set_width(w);
            self.canvas.set_height(h);
        }
    }

    /// Makes the canvas rasterise what it recorded (a one-pixel read).
    fn flush(&self) {
        let _ = self.ctx.get_image_data(0.0, 0.0, 1.0, 1.0);
    }
}

/// A finished picture.
#[derive(Debug)]
struct Picture {
    surface: Surface,
    key: ContentKey,
    view: View,
}

/// A picture being painted into the back buffer: first its scene is built
/// (in pieces, from the job's own copy of the positions and view), then its
/// plan is made (in [`PLAN_PARTS`] parts) and painted in chunks.
#[derive(Debug)]
struct Job {
    surface: Surface,
    key: ContentKey,
    view: View,
    theme: Theme,
    /// Some while the scene is being built.
    builder: Option<SceneBuilder>,
    scene: Scene,
    ops: Vec<Op>,
    /// Parts of the plan made (painting starts at [`PLAN_PARTS`]; the
    /// raster renderer has no plan and sets it at once).
    planned: usize,
    progress: Progress,
    /// The raster renderer's buffer (None: Canvas 2D paints the plan).
    raster: Option<RasterCanvas>,
    /// The raster picture was put on the surface.
    shown: bool,
    /// The raster renderer's painting order, being binned (in pieces of
    /// [`BIN_CHUNK`] shapes) until it is made.
    bins: Bins,
    binning: Option<BinBuild>,
    /// The bands the raster worker paints: job id, first row, when sent.
    offload: Option<(u32, usize, f64)>,
    /// The first band of the worker's share, before its job is sent.
    to_send: Option<usize>,
    /// When the raster picture was planned, and how long the page took
    /// to paint its steps (for [`ShareRates`]).
    planned_at: f64,
    page_ms: Option<f64>,
}

impl Job {
    fn is_done(&self) -> bool {
        self.builder.is_none()
            && self.planned >= PLAN_PARTS
            && self.binning.is_none()
            && self.progress.is_done()
            && (self.raster.is_none() || self.shown)
    }

    /// Builds, then paints, until `deadline`; at least one piece of work.
    /// A raster picture's last bands go to `worker` when it is idle (it is
    /// dropped if it fails).
    /// `frame_end`: when the frame's own budget ends (past `deadline`):
    /// the raster picture's put may run to it.
    fn slice(
        &mut self,
        slicer: &mut Slicer,
        (deadline, frame_end): (f64, f64),
        graph: &MapGraph,
        worker: &mut Option<RasterWorker>,
        (worker_min_steps, worker_timeout_ms): (usize, f64),
        rates: &mut ShareRates,
    ) {
        let t0 = now_ms();
        let mut worked = false;
        // At least one piece of work per slice, then until the deadline.
        let stop = |worked: bool| worked && now_ms() >= deadline;
        let Job {
            surface,
            key,
            view,
            theme,
            builder,
            scene,
            ops,
            planned,
            progress,
            raster,
            shown,
            bins,
            binning,
            offload,
            to_send,
            planned_at,
            page_ms,
        } = self;
        if let Some(b) = builder.as_mut() {
            let f = Frame {
                graph,
                positions: &key.positions,
                camera: &view.camera,
                view: &key.view,
                width: view.width,
                height: view.height,
                dpr: view.dpr,
                theme: *theme,
                selected: None,
            };
            while !b.edges_done() && !stop(worked) {
                b.edges(&f, BUILD_CHUNK);
                worked = true;
            }
            if b.edges_done() && !stop(worked) {
                if let Some(b) = builder.take() {
                    *scene = b.finish(&f);
                    worked = true;
                }
            }
        }
        if let (None, Some(rc)) = (builder.as_ref(), raster.as_mut()) {
            // The raster renderer: steps into the buffer, then one put.
            let pal = Palette::of(theme);
            let (w, h) = view.device_size();
            let (w, h) = (w as usize, h as usize);
            let bands = h.div_ceil(BAND_ROWS);
            if *planned < PLAN_PARTS {
                rc.pixmap.resize(w, h);
                rc.pixmap.fill(pal.background);
                *planned = PLAN_PARTS;
                *planned_at = t0;
                *binning = Some(BinBuild::new(scene, h, 0..usize::MAX));
                worked = true;
            }
            let mut binned = false;
            while let Some(b) = binning.as_mut().filter(|_| !stop(worked)) {
                worked = true;
                if b.step(scene, view.dpr, BIN_CHUNK) {
                    *bins = binning.take().unwrap_or_default().finish();
                    binned = true;
                }
            }
            if binning.is_some() {
                progress.slices += 1;
                progress.work_ms += now_ms() - t0;
                return;
            }
            if binned {
                progress.total = bins.steps();
                let k = split_band(bins, bands, rates.share());
                if worker.as_ref().is_some_and(|wk| wk.ready() && !wk.busy())
                    && bins.steps() >= worker_min_steps
                    && k < bands
                {
                    // The worker's bands: the job is made and sent now
                    // (the worker is the long pole) unless it is big
                    // (several ms with 50k edges): then as a piece of its own.
                    *to_send = Some(k);
                    progress.total = bins.band_steps(0..k).end;
                }
            }
            let small = scene.edges.len() <= SEND_AT_ONCE_EDGES;
            if let Some(k) = to_send.filter(|_| small || !worked) {
                *to_send = None;
                worked = true;
                let y0 = k * BAND_ROWS;
                let job = encode_job(scene, &pal, view.dpr, (w, h), k..bands);
                match worker.as_mut().map(|wk| wk.send(job, (h - y0) * w * 4)) {
                    Some(Ok(id)) => {
                        *offload = Some((id, y0, now_ms()));
                        progress.offloaded = bins.steps() - progress.total;
                    }
                    Some(Err(e)) => {
                        let why = format!("the raster worker refused a job ({e:?})");
                        give_up(&why, worker, progress, bins.steps());
                    }
                    None => give_up("no raster worker", worker, progress, bins.steps()),
                }
            }
            // The page's steps' curves flattened first, in pieces.
            let mut flat = bins.flattened(progress.total);
            while !flat && !stop(worked) {
                flat = bins.flatten(scene, view.dpr, progress.total, FLATTEN_CHUNK);
                worked = true;
            }
            if flat {
                let within = (deadline, RASTER_CHUNK_MS);
                paint_chunks(progress, slicer, within, &mut worked, |r| {
                    paint_steps(&mut rc.pixmap, scene, &pal, view.dpr, bins, r)
                });
            }
            if progress.is_done() && page_ms.is_none() {
                *page_ms = Some(now_ms() - *planned_at);
            }
            if let Some((id, y0, sent)) = offload.filter(|_| progress.is_done()) {
                match worker.as_ref().and_then(|wk| wk.take_timed(id)) {
                    Some((Ok(rows), arrived)) => {
                        rc.pixmap.set_rows(y0, &rows);
                        *offload = None;
                        rates.learn(
                            (progress.total, page_ms.unwrap_or(0.0)),
                            (progress.offloaded, arrived - sent),
                        );
                    }
                    Some((Err(e), _)) => {
                        *offload = None;
                        give_up(&e, worker, progress, bins.steps());
                    }
                    None if worker.is_none() || now_ms() - sent > worker_timeout_ms => {
                        *offload = None;
                        give_up(
                            "no answer from the raster worker",
                            worker,
                            progress,
                            bins.steps(),
                        );
                    }
                    None => {}
                }
            }
            // The put (several ms for a whole picture) waits for the next
            // slice unless it fits in this frame.
            let put_fits = !worked || now_ms() + slicer.put_ms.unwrap_or(0.0) <= frame_end;
            if progress.is_done() && offload.is_none() && to_send.is_none() && !*shown && put_fits {
                let tp = now_ms();
                if rc.put(&surface.ctx).is_err() {
                    let _ = surface.ctx.get_image_data(0.0, 0.0, 1.0, 1.0);
                }
                slicer.put_ms = Some(now_ms() - tp);
                *shown = true;
            }
        }
        // Canvas 2D: the plan in parts, then its ops in chunks (the raster
        // renderer painted above, and its progress is its own).
        if raster.is_some() {
            progress.slices += 1;
            progress.work_ms += now_ms() - t0;
            return;
        }
        while builder.is_none() && *planned < PLAN_PARTS && !stop(worked) {
            plan_part(scene, *planned, ops);
            *planned += 1;
            progress.total = ops.len();
            worked = true;
        }
        if builder.is_none() && *planned >= PLAN_PARTS {
            let _ = surface
                .ctx
                .set_transform(view.dpr, 0.0, 0.0, view.dpr, 0.0, 0.0);
            let mut style = style_before(ops, progress.done);
            let within = (deadline, f64::INFINITY);
            paint_chunks(progress, slicer, within, &mut worked, |r| {
                paint_ops(
                    &surface.ctx,
                    scene,
                    theme,
                    ops.get(r).unwrap_or(&[]),
                    style.take(),
                );
                surface.flush();
            });
        }
        progress.slices += 1;
        progress.work_ms += now_ms() - t0;
    }
}

/// Where the raster worker is ([`SceneCache::worker_use`] names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WorkerUse {
    /// None asked for (or not the raster renderer).
    Off,
    /// Its script is loading; the page paints meanwhile.
    Starting,
    /// It runs, started from this source.
    Running(&'static str),
    /// It could not start or failed: the page paints alone, for good.
    Failed,
}

/// The Canvas 2D (or raster) renderer with its scene cache (see the
/// module comment).
#[derive(Debug)]
pub struct SceneCache {
    front: Option<Picture>,
    job: Option<Job>,
    spare: Option<Surface>,
    /// Pictures are rasterised in WASM ([`crate::raster`]) instead of
    /// painted with Canvas 2D; the buffer between pictures.
    raster: bool,
    spare_raster: Option<RasterCanvas>,
    /// Whether the raster renderer may use a worker on another core
    /// ([`SceneCache::use_worker`]), and the worker once started.
    use_worker: bool,
    worker: Option<RasterWorker>,
    /// How pictures are painted, as the map canvas's `data-raster-worker`
    /// says ([`SceneCache::worker_use`]).
    worker_use: WorkerUse,
    /// Pictures with fewer steps than this are painted by the page alone
    /// ([`WORKER_MIN_STEPS`]).
    pub worker_min_steps: usize,
    /// How long an answer may take ([`WORKER_TIMEOUT_MS`]).
    pub worker_timeout_ms: f64,
    /// What the last pictures taught of the worker's share.
    pub share_rates: ShareRates,
    slicer: Slicer,
    last_view: Option<View>,
    fast: bool,
    /// What composing a frame costs.
    compose: ComposeCost,
    /// Painting time of the back buffer per frame (ms).
    pub budget_ms: f64,
}

impl Default for SceneCache {
    fn default() -> Self {
        SceneCache::new(SLICE_BUDGET_MS)
    }
}

impl SceneCache {
    pub fn new(budget_ms: f64) -> SceneCache {
        SceneCache {
            front: None,
            job: None,
            spare: None,
            raster: false,
            spare_raster: None,
            use_worker: false,
            worker: None,
            worker_use: WorkerUse::Off,
            worker_min_steps: WORKER_MIN_STEPS,
            worker_timeout_ms: WORKER_TIMEOUT_MS,
            share_rates: ShareRates::default(),
            slicer: Slicer::default(),
            last_view: None,
            fast: true,
            compose: ComposeCost::default(),
            budget_ms,
        }
    }

    /// The same with pictures rasterised in WASM (the raster renderer).
    pub fn new_raster(budget_ms: f64) -> SceneCache {
        SceneCache {
            raster: true,
            ..SceneCache::new(budget_ms)
        }
    }

    /// Rasterise pictures in WASM (`true`) or paint them with Canvas 2D;
    /// a change forgets every picture.
    pub fn set_raster(&mut self, raster: bool) {
        if self.raster != raster {
            self.raster = raster;
            self.slicer = Slicer::default();
            self.clear();
        }
    }

    /// Let the raster renderer paint a share of each big picture on
    /// another core, in a Web Worker ([`crate::raster_worker`]); off by
    /// default. The worker starts now (its script loads while the first,
    /// small, pictures are painted on the page). If it cannot start or
    /// fails, the page paints everything, as without it, and it is not
    /// tried again.
    pub fn use_worker(&mut self, on: bool) {
        let failed = self.worker_use == WorkerUse::Failed;
        self.use_worker = on && !failed;
        if !self.use_worker {
            self.worker = None;
            if !failed {
                self.worker_use = WorkerUse::Off;
            }
        }
        self.start_worker();
    }

    /// Use `worker` as the raster worker (tests give one that fails).
    pub fn set_worker(&mut self, worker: RasterWorker) {
        self.use_worker = true;
        self.worker = Some(worker);
        self.worker_use = WorkerUse::Starting;
    }

    /// Starts the raster worker if the raster renderer may use one and
    /// none runs.
    fn start_worker(&mut self) {
        if self.raster && self.use_worker && self.worker.is_none() {
            self.worker = Some(RasterWorker::start());
            self.worker_use = WorkerUse::Starting;
        }
    }

    /// Where the worker's start is (see [`RasterWorker::poll`]); one that
    /// failed is dropped, said on the console, and the page paints alone
    /// from now on. Each frame does this first; benchmarks call it to wait
    /// for the start.
    pub fn poll_worker(&mut self) {
        let Some(w) = self.worker.as_mut() else {
            return;
        };
        self.worker_use = match w.poll(now_ms(), self.worker_timeout_ms) {
            WorkerState::Starting => WorkerUse::Starting,
            WorkerState::Ready(source) => WorkerUse::Running(source),
            WorkerState::Failed(why) => {
                web_sys::console::warn_1(
                    &format!("wiremap: no raster worker ({why}); painting on the page").into(),
                );
                self.worker = None;
                self.use_worker = false;
                WorkerUse::Failed
            }
        };
    }

    /// How big pictures are painted: `"off"` (no worker asked for, or not
    /// the raster renderer), `"starting"` (its script is loading; the page
    /// paints meanwhile), `"script"` or `"blob"` (a worker started from the
    /// app's script file or from a `blob:` URL paints a share), `"page"`
    /// (no worker could start, or it failed: the page paints alone).
    pub fn worker_use(&self) -> &'static str {
        match self.worker_use {
            WorkerUse::Off => "off",
            WorkerUse::Starting => "starting",
            WorkerUse::Running(source) => source,
            WorkerUse::Failed => "page",
        }
    }

    /// A raster worker is in use (none before the first raster picture, or
    /// after it failed).
    pub fn has_worker(&self) -> bool {
        self.worker.is_some()
    }

    /// Pictures are rasterised in WASM.
    pub fn is_raster(&self) -> bool {
        self.raster
    }

    /// A picture is in progress: the frame loop must keep calling
    /// [`SceneCache::frame`].
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// The frame loop must call [`SceneCache::frame`] again even if
    /// nothing else changed: a picture is in progress, or the front picture
    /// was made for another camera than the last frame's (the camera has
    /// just stopped; the next frame starts the sharp repaint).
    pub fn needs_frame(&self) -> bool {
        self.busy() || matches!((&self.front, self.last_view), (Some(p), Some(v)) if p.view != v)
    }

    /// The finished picture (for tests and benchmarks).
    pub fn front_canvas(&self) -> Option<&HtmlCanvasElement> {
        self.front.as_ref().map(|p| &p.surface.canvas)
    }

    /// Forgets every picture (the next frame starts a new one).
    pub fn clear(&mut self) {
        self.front = None;
        self.job = None;
    }

    /// One animation frame on `out` (the visible canvas, sized to `f`):
    /// decide, paint a slice if a picture is in progress, show the front
    /// picture at `f`'s camera, then labels and selection on top.
    /// `graph_revision` changes whenever `f.graph` is a new graph.
    pub fn frame(
        &mut self,
        out: &CanvasRenderingContext2d,
        f: &Frame<'_>,
        graph_revision: u64,
    ) -> FrameReport {
        self.frame_after(out, f, graph_revision, 0.0)
    }

    /// [`SceneCache::frame`] in an animation frame that already spent
    /// `spent_ms` on other work (the map computation): the slice gets only
    /// what is left of [`FRAME_BUDGET_MS`] (at least one small chunk).
    pub fn frame_after(
        &mut self,
        out: &CanvasRenderingContext2d,
        f: &Frame<'_>,
        graph_revision: u64,
        spent_ms: f64,
    ) -> FrameReport {
        let t0 = now_ms();
        self.poll_worker();
        let view = View::of(f);
        let settled = self.last_view == Some(view);
        self.last_view = Some(view);
        let situation = Situation {
            job: self.job.as_ref().map(|j| j.view),
            job_stale: self
                .job
                .as_ref()
                .is_some_and(|j| j.builder.is_some() && j.key.graph_revision != graph_revision),
            front: self
                .front
                .as_ref()
                .map(|p| (p.key.matches(f, graph_revision), p.view)),
            view,
            settled,
            fast: self.fast,
        };
        let mut report = FrameReport::default();
        let step = next_step(&situation);
        if step == Step::Start {
            report.started = self.start(f, graph_revision).is_ok();
        }
        // The labels first: how many there are tells what composing this
        // frame will cost (a zoom can bring hundreds more).
        let labels = Scene::labels(f);
        if step != Step::Idle {
            let left = FRAME_BUDGET_MS - self.compose.estimate(label_count(&labels)) - spent_ms;
            let own = if self.raster {
                self.budget_ms
            } else {
                self.budget_ms.min(SLICE_BUDGET_2D_MS)
            };
            let budget = own.min(left).max(0.0);
            self.slice((t0 + budget, t0 + left), f.graph, &mut report);
        }
        report.slice_ms = now_ms() - t0;
        self.compose(out, f, &view, &labels, !report.sliced);
        report.busy = self.busy();
        report.frame_ms = now_ms() - t0;
        report
    }

    fn start(&mut self, f: &Frame<'_>, graph_revision: u64) -> Result<(), WebError> {
        let t0 = now_ms();
        let (surface, raster) = match self.job.take() {
            Some(old) => (old.surface, old.raster),
            None => (
                match self.spare.take() {
                    Some(s) => s,
                    None => Surface::new()?,
                },
                None,
            ),
        };
        let raster = self.raster.then(|| {
            raster
                .or_else(|| self.spare_raster.take())
                .unwrap_or_default()
        });
        let view = View::of(f);
        surface.resize(view.device_size());
        // The selection is drawn on top, never into the picture.
        let plain = Frame {
            selected: None,
            ..*f
        };
        paint_background(&surface.ctx, &plain);
        let builder = SceneBuilder::new(&plain, true);
        let progress = Progress {
            work_ms: now_ms() - t0,
            ..Progress::default()
        };
        self.job = Some(Job {
            surface,
            key: ContentKey::of(f, graph_revision),
            view,
            theme: f.theme,
            builder,
            scene: Scene::default(),
            ops: Vec::new(),
            planned: 0,
            progress,
            raster,
            shown: false,
            bins: Bins::default(),
            binning: None,
            offload: None,
            to_send: None,
            planned_at: 0.0,
            page_ms: None,
        });
        self.start_worker();
        Ok(())
    }

    fn slice(&mut self, ends: (f64, f64), graph: &MapGraph, report: &mut FrameReport) {
        let Some(job) = self.job.as_mut() else {
            return;
        };
        let had_worker = self.worker.is_some();
        job.slice(
            &mut self.slicer,
            ends,
            graph,
            &mut self.worker,
            (self.worker_min_steps, self.worker_timeout_ms),
            &mut self.share_rates,
        );
        report.sliced = true;
        if had_worker && self.worker.is_none() {
            // Given up on (it failed or did not answer): not tried again.
            self.use_worker = false;
            self.worker_use = WorkerUse::Failed;
        }
        if !job.is_done() {
            return;
        }
        let Some(mut job) = self.job.take() else {
            return;
        };
        if let Some(rc) = job.raster.take() {
            self.spare_raster = Some(rc);
        }
        self.fast = job.progress.slices == 1 && job.progress.work_ms < self.budget_ms;
        report.completed = Some(job.progress);
        let old = self.front.replace(Picture {
            surface: job.surface,
            key: job.key,
            view: job.view,
        });
        if let Some(old) = old {
            self.spare = Some(old.surface);
        }
    }

    /// The front picture (or, before there is one, the picture in progress)
    /// moved to `view`, the background around it, then labels and selection.
    /// `smooth`: the moved picture is filtered when scaled; off in frames
    /// that also painted a slice. A software canvas filters a whole
    /// 1280 × 800 picture scaled by the camera in about 5 ms at the end of
    /// the frame, which the slice's budget does not see: frames after the
    /// camera stopped (slice 11 ms) ran to 19–21 ms; unfiltered, 15–16
    /// (`pan_zoom_10k`, a one-pixel read after each frame). The picture is
    /// then shown blocky for the few hundred ms until the sharp one
    /// replaces it; while the camera moves (no slice) it stays smooth.
    fn compose(
        &mut self,
        out: &CanvasRenderingContext2d,
        f: &Frame<'_>,
        view: &View,
        labels: &Scene,
        smooth: bool,
    ) {
        let t0 = now_ms();
        let _ = out.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0);
        out.set_fill_style_str(f.theme.background);
        if let Some(c) = out.canvas() {
            out.fill_rect(0.0, 0.0, f64::from(c.width()), f64::from(c.height()));
        }
        let shown = match (&self.front, &self.job) {
            (Some(p), _) => Some((&p.surface, &p.view)),
            (None, Some(j)) => Some((&j.surface, &j.view)),
            (None, None) => None,
        };
        if let Some((s, from)) = shown {
            let t = blit_transform(from, view);
            let _ = out.set_transform(t.scale, 0.0, 0.0, t.scale, t.tx, t.ty);
            // Smoothing a picture scaled by the camera costs most of the
            // frame's end on a software canvas (below).
            out.set_image_smoothing_enabled(smooth || t.scale == 1.0);
            let _ = out.draw_image_with_html_canvas_element(&s.canvas, 0.0, 0.0);
            out.set_image_smoothing_enabled(true);
        }
        let t1 = now_ms();
        paint_labels_over(out, f, labels);
        if let Some(n) = Scene::selected(f) {
            paint_selection(out, f, &n);
        }
        self.compose
            .learn(t1 - t0, now_ms() - t1, label_count(labels));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn view(cx: f64, cy: f64, scale: f64) -> View {
        View {
            camera: Camera {
                center: Point { x: cx, y: cy },
                scale,
            },
            width: 800.0,
            height: 600.0,
            dpr: 1.0,
        }
    }

    fn close(a: Point, b: Point) -> bool {
        (a.x - b.x).abs() < 1e-9 && (a.y - b.y).abs() < 1e-9
    }

    #[wasm_bindgen_test]
    fn the_blit_maps_each_world_point_to_its_new_screen_point() {
        let mut from = view(10.0, -20.0, 0.7);
        from.dpr = 2.0;
        for to in [
            view(10.0, -20.0, 0.7),
            view(40.0, 5.0, 0.7),
            view(-3.0, 8.0, 1.9),
            View {
                width: 500.0,
                height: 300.0,
                dpr: 1.5,
                ..view(0.0, 0.0, 0.2)
            },
        ] {
            let t = blit_transform(&from, &to);
            for w in [
                Point::default(),
                Point { x: 123.0, y: -45.0 },
                Point {
                    x: -800.0,
                    y: 300.0,
                },
            ] {
                let a = from.camera.to_screen(w, from.width, from.height);
                let a = Point {
                    x: a.x * from.dpr,
                    y: a.y * from.dpr,
                };
                let b = to.camera.to_screen(w, to.width, to.height);
                let b = Point {
                    x: b.x * to.dpr,
                    y: b.y * to.dpr,
                };
                assert!(close(t.apply(a), b), "{w:?}: {:?} vs {b:?}", t.apply(a));
            }
        }
        // The same view: identity.
        let t = blit_transform(&from, &from);
        assert_eq!(
            t,
            Affine {
                scale: 1.0,
                tx: 0.0,
                ty: 0.0
            }
        );
    }

    #[wasm_bindgen_test]
    fn a_pan_is_a_translation_by_the_screen_delta() {
        let from = view(0.0, 0.0, 2.0);
        let mut to = from;
        to.camera.pan(30.0, -12.0);
        let t = blit_transform(&from, &to);
        assert!((t.scale - 1.0).abs() < 1e-12);
        assert!((t.tx - 30.0).abs() < 1e-9 && (t.ty + 12.0).abs() < 1e-9);
    }

    #[wasm_bindgen_test]
    fn far_apart_by_zoom_pan_or_size() {
        let a = view(0.0, 0.0, 1.0);
        assert!(!far_apart(&a, &a));
        assert!(!far_apart(&a, &view(0.0, 0.0, 1.9)));
        assert!(far_apart(&a, &view(0.0, 0.0, 2.1)));
        assert!(far_apart(&a, &view(0.0, 0.0, 0.45)));
        assert!(!far_apart(&a, &view(700.0, 0.0, 1.0)));
        assert!(far_apart(&a, &view(900.0, 0.0, 1.0)));
        assert!(far_apart(&a, &view(0.0, 700.0, 1.0)));
        let mut b = a;
        b.width = 801.0;
        assert!(far_apart(&a, &b));
    }

    fn situation(job: Option<View>, front: Option<(bool, View)>, v: View) -> Situation {
        Situation {
            job,
            job_stale: false,
            front,
            view: v,
            settled: false,
            fast: false,
        }
    }

    #[wasm_bindgen_test]
    fn next_step_decisions() {
        let a = view(0.0, 0.0, 1.0);
        let moved = view(50.0, 0.0, 1.0);
        // Nothing yet: start.
        assert_eq!(next_step(&situation(None, None, a)), Step::Start);
        // Up to date: idle.
        assert_eq!(next_step(&situation(None, Some((true, a)), a)), Step::Idle);
        // Content changed: start even while the camera moves.
        assert_eq!(
            next_step(&situation(None, Some((false, a)), moved)),
            Step::Start
        );
        // Camera moving on a slow graph: show the cached picture.
        let s = situation(None, Some((true, a)), moved);
        assert_eq!(next_step(&s), Step::Idle);
        // … until it settles, or at once on a fast graph.
        assert_eq!(next_step(&Situation { settled: true, ..s }), Step::Start);
        assert_eq!(next_step(&Situation { fast: true, ..s }), Step::Start);
        // A picture in progress continues, also after a content change …
        assert_eq!(
            next_step(&situation(Some(a), Some((false, a)), moved)),
            Step::Continue
        );
        // … unless its graph is gone before its scene was built …
        assert_eq!(
            next_step(&Situation {
                job_stale: true,
                ..situation(Some(a), Some((false, a)), a)
            }),
            Step::Start
        );
        // … or the camera went far from it.
        assert_eq!(
            next_step(&situation(Some(a), None, view(0.0, 0.0, 2.5))),
            Step::Start
        );
    }

    #[wasm_bindgen_test]
    fn slicer_sizes_chunks_from_measured_cost() {
        let mut s = Slicer::default();
        assert_eq!(s.chunk(8.0), FIRST_CHUNK);
        s.record(64, 1.0); // 1/64 ms per op
        assert_eq!(s.chunk(8.0), 384);
        assert_eq!(s.chunk(0.0), MIN_CHUNK);
        assert_eq!(s.chunk(-3.0), MIN_CHUNK);
        assert_eq!(s.chunk(f64::INFINITY), MAX_CHUNK);
        s.record(16, 1.0); // 1/16 ms per op: smoothed to 5/128
        assert_eq!(s.chunk(4.0), 76);
        s.record(0, 5.0);
        assert_eq!(s.chunk(4.0), 76);
        // Capped: 1.5 ms at 5/128 ms per op, whatever the time left.
        assert_eq!(s.chunk_capped(4.0, 1.5), 38);
        assert_eq!(s.chunk_capped(1.0, 1.5), 19);
        assert_eq!(s.chunk_capped(100.0, 0.0), MIN_CHUNK);
    }

    #[wasm_bindgen_test]
    fn compose_cost_grows_with_the_labels() {
        let mut c = ComposeCost::default();
        assert_eq!(c.estimate(500), 0.0);
        // No labels yet: the last text time stands for any count.
        c.learn(2.0, 0.5, 0);
        assert_eq!(c.estimate(500), 2.5);
        // 1/50 ms a label: 500 labels are 10 ms of text.
        c.learn(2.0, 1.0, 50);
        assert!((c.estimate(500) - 12.0).abs() < 1e-9);
        assert!((c.estimate(0) - 2.0).abs() < 1e-9);
        // Smoothed: halfway to 1/25 ms a label; the picture's time is the last.
        c.learn(3.0, 2.0, 50);
        assert!((c.estimate(100) - (3.0 + 100.0 * 0.03)).abs() < 1e-9);
    }

    #[wasm_bindgen_test]
    fn progress_advances_to_the_end_only() {
        let mut p = Progress {
            total: 10,
            ..Progress::default()
        };
        assert_eq!(p.advance(4), 0..4);
        assert!(!p.is_done());
        assert_eq!(p.advance(100), 4..10);
        assert!(p.is_done());
        assert_eq!(p.advance(3), 10..10);
        assert!(Progress::default().is_done());
    }

    #[wasm_bindgen_test]
    fn resuming_applies_the_last_style_again() {
        use crate::scene::BatchKey;
        let k = BatchKey {
            colour: 1,
            width: 4,
        };
        let ops = [
            Op::EdgeStyle(k),
            Op::Edge(0),
            Op::Edge(1),
            Op::NodeFill(3),
            Op::Node(0),
        ];
        assert_eq!(style_before(&ops, 0), None);
        assert_eq!(style_before(&ops, 2), Some(Op::EdgeStyle(k)));
        assert_eq!(style_before(&ops, 3), Some(Op::EdgeStyle(k)));
        assert_eq!(style_before(&ops, 4), Some(Op::NodeFill(3)));
        assert_eq!(style_before(&ops, 99), Some(Op::NodeFill(3)));
    }

    #[wasm_bindgen_test]
    fn the_worker_share_follows_both_sides_speeds() {
        let mut r = ShareRates::default();
        assert_eq!(r.share(), WORKER_SHARE);
        // Too little on one side: nothing learnt.
        r.learn((LEARN_MIN_STEPS - 1, 10.0), (20_000, 50.0));
        r.learn((20_000, 50.0), (10, 1.0));
        r.learn((20_000, 0.0), (20_000, 50.0));
        assert_eq!(r, ShareRates::default());
        // The worker twice as fast as the page: two thirds of the steps.
        r.learn((10_000, 50.0), (20_000, 50.0));
        assert!((r.share() - 2.0 / 3.0).abs() < 1e-9, "{}", r.share());
        // Then as fast: each rate goes halfway (page 200 -> 300 steps/ms).
        r.learn((20_000, 50.0), (20_000, 50.0));
        assert_eq!(r.page, Some(300.0));
        assert_eq!(r.worker, Some(400.0));
        assert!((r.share() - 4.0 / 7.0).abs() < 1e-9);
        // A worker that crawls is still given the lower bound, not nothing.
        for _ in 0..20 {
            r.learn((20_000, 10.0), (2_000, 1_000.0));
        }
        assert_eq!(r.share(), SHARE_BOUNDS.0);
        for _ in 0..40 {
            r.learn((2_000, 1_000.0), (20_000, 10.0));
        }
        assert_eq!(r.share(), SHARE_BOUNDS.1);
    }
}
