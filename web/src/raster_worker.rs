//! Rasterising on the second core: a Web Worker paints bands of a
//! picture while the page's thread paints the others (or answers input).
//!
//! The worker runs this same WASM module: the page posts its
//! `WebAssembly.Module` once, and the worker instantiates it with stand-in
//! imports (the rasteriser calls none of them) and calls two plain exports,
//! [`wiremap_raster_alloc`] and [`wiremap_raster_paint`]. A job is the
//! picture's shapes in a compact binary form ([`encode_job`]): what the
//! rasteriser reads of a [`Scene`], the palette, the buffer's size and the
//! bands to paint; the answer is those rows' pixels, transferred back.
//! So no second build, and no shared memory (which would need a
//! cross-origin-isolated page, and that conflicts with embedding).
//!
//! The worker's script is a file served next to the app
//! (`web/raster-worker.js`, copied by Trunk), which a policy of
//! `worker-src 'self'` allows; where it does not load, the same text is
//! started from a `blob:` URL; where neither may start (an `error` event,
//! or no word from the script in time), the page paints alone, told at
//! once rather than after a job's timeout, and never tries again.
//!
//! Decoding is bounds-checked: a malformed job is refused with an error,
//! never a panic (a fuzz-style test feeds it arbitrary bytes).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::geometry::Point;
use crate::raster::{paint_steps, Bins, Colour, Palette, Pixmap, BAND_ROWS};
use crate::scene::{Arrow, BatchKey, EdgePath, EdgeShape, NodeShape, Scene};

/// First bytes of a job (and its format's version).
const MAGIC: &[u8; 4] = b"WMR1";
/// Largest buffer side a job may ask for (device px).
pub const MAX_SIDE: usize = 16_384;

/// Why a job was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// Not a job of this format.
    Magic,
    /// The bytes end before the job does.
    Truncated,
    /// A field out of range (named).
    Invalid(&'static str),
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Magic => write!(f, "not a raster job"),
            JobError::Truncated => write!(f, "raster job truncated"),
            JobError::Invalid(what) => write!(f, "raster job: bad {what}"),
        }
    }
}

/// The job of painting `bands` (of [`BAND_ROWS`] rows) of `scene`'s
/// picture on a `width` × `height` buffer at `dpr`, with `pal`.
pub fn encode_job(
    scene: &Scene,
    pal: &Palette,
    dpr: f64,
    (width, height): (usize, usize),
    bands: Range<usize>,
) -> Vec<u8> {
    let mut b = Vec::with_capacity(64 + scene.edges.len() * 80 + scene.nodes.len() * 40);
    b.extend_from_slice(MAGIC);
    for v in [width, height, bands.start, bands.end] {
        b.extend_from_slice(&(v as u32).to_le_bytes());
    }
    b.extend_from_slice(&dpr.to_le_bytes());
    let colours = |b: &mut Vec<u8>, cs: &[Colour]| {
        b.extend_from_slice(&(cs.len() as u32).to_le_bytes());
        for c in cs {
            b.extend_from_slice(&c.0.to_le_bytes());
        }
    };
    colours(&mut b, &pal.edges);
    colours(&mut b, &pal.nodes);
    colours(&mut b, &[pal.outline, pal.background]);
    let point = |b: &mut Vec<u8>, p: Point| {
        b.extend_from_slice(&p.x.to_le_bytes());
        b.extend_from_slice(&p.y.to_le_bytes());
    };
    b.extend_from_slice(&(scene.edges.len() as u32).to_le_bytes());
    for e in &scene.edges {
        match e.path {
            EdgePath::Curve { start, ctrl, end } => {
                b.push(0);
                point(&mut b, start);
                point(&mut b, ctrl);
                point(&mut b, end);
            }
            EdgePath::Straight { start, end } => {
                b.push(1);
                point(&mut b, start);
                point(&mut b, end);
            }
            EdgePath::Loop { centre, radius } => {
                b.push(2);
                point(&mut b, centre);
                b.extend_from_slice(&radius.to_le_bytes());
            }
        }
        b.push(e.key.colour);
        b.extend_from_slice(&e.key.width.to_le_bytes());
        match e.arrow {
            Some(a) => {
                b.push(1);
                point(&mut b, a.tip);
                point(&mut b, a.dir);
                b.extend_from_slice(&a.len.to_le_bytes());
            }
            None => b.push(0),
        }
    }
    b.extend_from_slice(&(scene.nodes.len() as u32).to_le_bytes());
    for n in &scene.nodes {
        point(&mut b, n.centre);
        b.extend_from_slice(&n.radius.to_le_bytes());
        b.push(n.colour);
        b.extend_from_slice(&n.outline.to_le_bytes());
    }
    b
}

/// A decoded job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub width: usize,
    pub height: usize,
    pub bands: Range<usize>,
    pub dpr: f64,
    pub palette: Palette,
    pub scene: Scene,
}

impl Job {
    /// The rows the job paints.
    pub fn rows(&self) -> Range<usize> {
        let y0 = (self.bands.start * BAND_ROWS).min(self.height);
        y0..(self.bands.end * BAND_ROWS).clamp(y0, self.height)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], JobError> {
        let end = self.at.checked_add(n).ok_or(JobError::Truncated)?;
        let s = self.bytes.get(self.at..end).ok_or(JobError::Truncated)?;
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, JobError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, JobError> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, JobError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn f64(&mut self, what: &'static str) -> Result<f64, JobError> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        let v = f64::from_le_bytes(a);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(JobError::Invalid(what))
        }
    }
    fn point(&mut self) -> Result<Point, JobError> {
        Ok(Point {
            x: self.f64("coordinate")?,
            y: self.f64("coordinate")?,
        })
    }
    /// A count of items at least `item_bytes` long each: never more than
    /// the bytes left could hold.
    fn count(&mut self, item_bytes: usize) -> Result<usize, JobError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(item_bytes) > self.bytes.len() - self.at {
            return Err(JobError::Truncated);
        }
        Ok(n)
    }
    fn colours(&mut self) -> Result<Vec<Colour>, JobError> {
        let n = self.count(4)?;
        (0..n).map(|_| self.u32().map(Colour)).collect()
    }
}

/// Decodes a job made by [`encode_job`].
pub fn decode_job(bytes: &[u8]) -> Result<Job, JobError> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(4).map_err(|_| JobError::Magic)? != MAGIC {
        return Err(JobError::Magic);
    }
    let (width, height) = (r.u32()? as usize, r.u32()? as usize);
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(JobError::Invalid("size"));
    }
    let bands = r.u32()? as usize..r.u32()? as usize;
    if bands.start > bands.end || bands.end > height.div_ceil(BAND_ROWS) {
        return Err(JobError::Invalid("bands"));
    }
    let dpr = r.f64("dpr")?;
    if !(dpr > 0.0 && dpr <= 16.0) {
        return Err(JobError::Invalid("dpr"));
    }
    let edges = r.colours()?;
    let nodes = r.colours()?;
    let [outline, background] = r.colours()?[..] else {
        return Err(JobError::Invalid("palette"));
    };
    let palette = Palette {
        edges,
        nodes,
        outline,
        background,
    };
    let mut scene = Scene::default();
    let n = r.count(1 + 32 + 3 + 1)?;
    scene.edges.reserve(n);
    for edge in 0..n {
        let path = match r.u8()? {
            0 => EdgePath::Curve {
                start: r.point()?,
                ctrl: r.point()?,
                end: r.point()?,
            },
            1 => EdgePath::Straight {
                start: r.point()?,
                end: r.point()?,
            },
            2 => EdgePath::Loop {
                centre: r.point()?,
                radius: r.f64("radius")?,
            },
            _ => return Err(JobError::Invalid("edge path")),
        };
        let key = BatchKey {
            colour: r.u8()?,
            width: r.u16()?,
        };
        let arrow = match r.u8()? {
            0 => None,
            1 => Some(Arrow {
                tip: r.point()?,
                dir: r.point()?,
                len: r.f64("arrow")?,
            }),
            _ => return Err(JobError::Invalid("arrow")),
        };
        scene.edges.push(EdgeShape {
            edge,
            path,
            key,
            arrow,
            mid: Point { x: 0.0, y: 0.0 },
        });
    }
    let n = r.count(16 + 8 + 1 + 8)?;
    scene.nodes.reserve(n);
    for node in 0..n {
        scene.nodes.push(NodeShape {
            node,
            centre: r.point()?,
            radius: r.f64("radius")?,
            colour: r.u8()?,
            outline: r.f64("outline")?,
        });
    }
    if r.at != bytes.len() {
        return Err(JobError::Invalid("length"));
    }
    Ok(Job {
        width,
        height,
        bands,
        dpr,
        palette,
        scene,
    })
}

/// The first band of the worker's share of a picture of `bands` bands:
/// the last bands, holding as near `share` of the steps as band borders
/// allow (`bands`: none).
pub fn split_band(bins: &Bins, bands: usize, share: f64) -> usize {
    let want = share * bins.steps() as f64;
    (0..=bands)
        .min_by(|&a, &b| {
            let off = |k: usize| (bins.band_steps(k..bands).len() as f64 - want).abs();
            off(a).total_cmp(&off(b))
        })
        .unwrap_or(bands)
}

/// Paints `job` into `pm` (sized to the job's buffer, the background filled
/// first); returns the rows it painted. The pixels of those rows are the
/// ones painting the whole picture at once gives.
pub fn paint_job(job: &Job, pm: &mut Pixmap) -> Range<usize> {
    if pm.width() != job.width || pm.height() != job.height {
        pm.resize(job.width, job.height);
    }
    pm.fill(job.palette.background);
    let bins = Bins::of_bands(&job.scene, job.dpr, job.height, job.bands.clone());
    let steps = bins.band_steps(job.bands.clone());
    paint_steps(pm, &job.scene, &job.palette, job.dpr, &bins, steps);
    job.rows()
}

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)] // the worker's two exports: raw pointers into its memory
mod exports {
    use std::cell::RefCell;

    use super::{decode_job, paint_job};
    use crate::raster::Pixmap;

    thread_local! {
        /// The worker's picture buffer (its rows stay valid until the next job).
        static BUFFER: RefCell<Pixmap> = RefCell::new(Pixmap::default());
    }

    /// Worker side: room for a job of `len` bytes in this instance's memory.
    #[no_mangle]
    pub extern "C" fn wiremap_raster_alloc(len: usize) -> *mut u8 {
        Box::into_raw(vec![0u8; len].into_boxed_slice()).cast::<u8>()
    }

    /// Worker side: paints the job at `ptr` (`len` bytes, from
    /// [`wiremap_raster_alloc`], freed here). Returns where the painted
    /// rows' pixels are (`rows × width` × 4 bytes, valid until the next
    /// job), or 0 for a malformed job.
    ///
    /// # Safety
    /// `ptr` must come from `wiremap_raster_alloc(len)` with `len` bytes
    /// written.
    #[no_mangle]
    pub unsafe extern "C" fn wiremap_raster_paint(ptr: *mut u8, len: usize) -> *const u8 {
        // SAFETY: the caller's contract above: a boxed slice of `len`
        // bytes made by wiremap_raster_alloc, given back once.
        let bytes = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) };
        let Ok(job) = decode_job(&bytes) else {
            return std::ptr::null();
        };
        BUFFER.with_borrow_mut(|pm| {
            let rows = paint_job(&job, pm);
            let start = rows.start * job.width;
            pm.linear()[start..].as_ptr().cast::<u8>()
        })
    }
}

/// The worker's script (`web/raster-worker.js`, which Trunk copies next to
/// the app): instantiates the module it is sent with stand-in imports,
/// paints each job and transfers the rows back. It says `{ ready: true }`
/// once it runs.
pub const WORKER_JS: &str = include_str!("../raster-worker.js");

/// Where the app serves the worker's script, relative to the page.
pub const WORKER_URL: &str = "raster-worker.js";

/// A way to start the worker, tried in order ([`RasterWorker::start`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A script at this URL (same origin: `worker-src 'self'` allows it).
    Url(String),
    /// This script's text, from a `blob:` URL (`worker-src blob:`).
    Blob(String),
}

impl Source {
    /// The word for it in the map canvas's `data-raster-worker`.
    pub fn code(&self) -> &'static str {
        match self {
            Source::Url(_) => "script",
            Source::Blob(_) => "blob",
        }
    }
}

/// Where a worker is in its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerState {
    /// Its script is loading: no job is sent yet (the page paints alone).
    Starting,
    /// It runs, started from this source.
    Ready(&'static str),
    /// No way to start it worked (why, for the console).
    Failed(String),
}

/// What came back for a job: the rows' pixels, or why not.
pub type Answer = Result<Vec<u8>, String>;

/// Answers received (with when, `performance.now()` ms), how many
/// jobs are out, and what the worker said of itself.
#[derive(Debug, Default)]
struct Inbox {
    answers: HashMap<u32, (Answer, f64)>,
    out: usize,
    ready: bool,
    /// The worker's `error` event (its script did not load, a policy
    /// refused it, or it threw outside a job).
    failed: Option<String>,
}

/// One started worker and its handlers.
struct Running {
    worker: web_sys::Worker,
    source: &'static str,
    inbox: Rc<RefCell<Inbox>>,
    started_at: f64,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Running {
    fn start(source: &Source) -> Result<Running, String> {
        let worker = match source {
            Source::Url(url) => web_sys::Worker::new(url),
            Source::Blob(script) => blob_worker(script),
        }
        // Older browsers throw when a policy refuses the worker; newer
        // ones fire `error` (below).
        .map_err(|e| format!("{} worker: {}", source.code(), js_text(&e)))?;
        let inbox: Rc<RefCell<Inbox>> = Rc::default();
        let into = inbox.clone();
        let code = source.code();
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                let d = e.data();
                let get = |k: &str| js_sys::Reflect::get(&d, &JsValue::from_str(k)).ok();
                if get("ready").and_then(|v| v.as_bool()) == Some(true) {
                    into.borrow_mut().ready = true;
                    return;
                }
                if let Some(why) = get("failed").and_then(|v| v.as_string()) {
                    into.borrow_mut().failed = Some(format!("{code} worker: {why}"));
                    return;
                }
                let Some(id) = get("id").and_then(|v| v.as_f64()) else {
                    return;
                };
                let answer = match get("pixels").filter(|p| !p.is_undefined()) {
                    Some(p) => Ok(js_sys::Uint8Array::new(&p).to_vec()),
                    None => Err(get("error")
                        .and_then(|e| e.as_string())
                        .unwrap_or_else(|| "the raster worker failed".into())),
                };
                let arrived = crate::ui::now_ms();
                let mut inbox = into.borrow_mut();
                inbox.out = inbox.out.saturating_sub(1);
                inbox.answers.insert(id as u32, (answer, arrived));
            });
        let into = inbox.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let message = js_sys::Reflect::get(&e, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "its script did not load or was refused".into());
            into.borrow_mut().failed = Some(format!("{code} worker: {message}"));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Running {
            worker,
            source: code,
            inbox,
            started_at: crate::ui::now_ms(),
            _on_message: on_message,
            _on_error: on_error,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

/// A worker running `script` from a `blob:` URL.
fn blob_worker(script: &str) -> Result<web_sys::Worker, JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(script));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let worker = web_sys::Worker::new(&url);
    let _ = web_sys::Url::revoke_object_url(&url);
    worker
}

/// A JS error as text.
fn js_text(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            js_sys::Reflect::get(e, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Page side: one worker painting jobs for this page, one at a time. It
/// is started from the first of its [`Source`]s that works: a failed
/// start (an `error` event, or no `ready` in time) moves on to the next,
/// and jobs wait until one runs, so none is lost to a worker that never
/// started.
pub struct RasterWorker {
    running: Option<Running>,
    /// The sources not tried yet, and why the last one failed.
    rest: std::collections::VecDeque<Source>,
    failed: Option<String>,
    sent_module: bool,
    next_id: u32,
}

impl std::fmt::Debug for RasterWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RasterWorker")
            .field("source", &self.running.as_ref().map(|r| r.source))
            .field("next_id", &self.next_id)
            .field("failed", &self.failed)
            .finish()
    }
}

impl RasterWorker {
    /// Starts the worker from the app's own script ([`WORKER_URL`]), or
    /// else from a `blob:` URL of the same text ([`WORKER_JS`]).
    pub fn start() -> RasterWorker {
        RasterWorker::from_sources(vec![
            Source::Url(WORKER_URL.into()),
            Source::Blob(WORKER_JS.into()),
        ])
    }

    /// A worker running `script` from a `blob:` URL (tests use it for
    /// workers that fail, never answer or never start).
    pub fn with_script(script: &str) -> RasterWorker {
        RasterWorker::from_sources(vec![Source::Blob(script.into())])
    }

    /// A worker started from the first of `sources` that works.
    pub fn from_sources(sources: Vec<Source>) -> RasterWorker {
        let mut w = RasterWorker {
            running: None,
            rest: sources.into(),
            failed: None,
            sent_module: false,
            next_id: 0,
        };
        w.next_source();
        w
    }

    /// Starts the next source (after a failed one); none left: failed.
    fn next_source(&mut self) {
        self.running = None;
        while let Some(source) = self.rest.pop_front() {
            match Running::start(&source) {
                Ok(r) => {
                    self.running = Some(r);
                    return;
                }
                Err(why) => self.failed = Some(why),
            }
        }
        if self.failed.is_none() {
            self.failed = Some("no way to start a worker".into());
        }
    }

    /// Where the start is, at `now` (`performance.now()` ms): a source
    /// that failed, or said nothing for `timeout_ms`, is replaced by the
    /// next one.
    pub fn poll(&mut self, now: f64, timeout_ms: f64) -> WorkerState {
        loop {
            let Some(r) = self.running.as_ref() else {
                let why = self.failed.clone().unwrap_or_default();
                return WorkerState::Failed(why);
            };
            let inbox = r.inbox.borrow();
            if let Some(why) = inbox.failed.clone() {
                // A worker that ran and then broke is not replaced.
                let ran = inbox.ready;
                drop(inbox);
                self.failed = Some(why);
                if ran {
                    self.rest.clear();
                }
                self.next_source();
                continue;
            }
            if inbox.ready {
                let source = r.source;
                drop(inbox);
                if !self.sent_module {
                    // The module now, so the first job finds it ready.
                    self.post_module();
                }
                return WorkerState::Ready(source);
            }
            if now - r.started_at > timeout_ms {
                drop(inbox);
                self.failed = Some(format!("{} worker: it did not start in time", r.source));
                self.next_source();
                continue;
            }
            return WorkerState::Starting;
        }
    }

    /// Sends the module (the worker instantiates it, or says `failed`).
    fn post_module(&mut self) {
        let Some(r) = self.running.as_ref() else {
            return;
        };
        let msg = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&msg, &JsValue::from_str("module"), &wasm_bindgen::module());
        match r.worker.post_message(&msg) {
            Ok(()) => self.sent_module = true,
            Err(e) => {
                r.inbox.borrow_mut().failed = Some(format!("{} worker: {}", r.source, js_text(&e)))
            }
        }
    }

    /// It runs and takes jobs.
    pub fn ready(&self) -> bool {
        self.running.as_ref().is_some_and(|r| {
            let inbox = r.inbox.borrow();
            inbox.ready && inbox.failed.is_none()
        })
    }

    /// A job is out (its answer has not come yet).
    pub fn busy(&self) -> bool {
        self.running
            .as_ref()
            .is_some_and(|r| r.inbox.borrow().out > 0)
    }

    /// Sends a job (from [`encode_job`]) whose answer is `bytes` long;
    /// returns its id. Answers to earlier jobs not taken yet are dropped.
    /// An error before the worker is [`RasterWorker::ready`].
    pub fn send(&mut self, job: Vec<u8>, bytes: usize) -> Result<u32, JsValue> {
        let r = match self.running.as_ref() {
            Some(r) if self.ready() => r,
            _ => return Err(JsValue::from_str("the raster worker is not running")),
        };
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let msg = js_sys::Object::new();
        let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&msg, &JsValue::from_str(k), v);
        if !self.sent_module {
            set("module", &wasm_bindgen::module())?;
        }
        let buf = js_sys::Uint8Array::from(&job[..]).buffer();
        set("job", &buf)?;
        set("id", &JsValue::from(id))?;
        set("bytes", &JsValue::from(bytes as u32))?;
        r.worker
            .post_message_with_transfer(&msg, &js_sys::Array::of1(&buf))?;
        self.sent_module = true;
        let mut inbox = r.inbox.borrow_mut();
        inbox.answers.clear();
        inbox.out += 1;
        Ok(id)
    }

    /// The answer to job `id`, once it came.
    pub fn take(&self, id: u32) -> Option<Answer> {
        self.take_timed(id).map(|(answer, _)| answer)
    }

    /// The same with the time it came (`performance.now()`, ms), which
    /// may be a slice of the page before it is taken.
    pub fn take_timed(&self, id: u32) -> Option<(Answer, f64)> {
        self.running
            .as_ref()?
            .inbox
            .borrow_mut()
            .answers
            .remove(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene() -> Scene {
        let p = |x: f64, y: f64| Point { x, y };
        let mut s = Scene::default();
        s.edges.push(EdgeShape {
            edge: 0,
            path: EdgePath::Curve {
                start: p(10.0, 10.0),
                ctrl: p(150.0, 40.0),
                end: p(290.0, 250.0),
            },
            key: BatchKey {
                colour: 2,
                width: 8,
            },
            arrow: Some(Arrow {
                tip: p(290.0, 250.0),
                dir: p(0.6, 0.8),
                len: 9.0,
            }),
            mid: p(0.0, 0.0),
        });
        s.edges.push(EdgeShape {
            edge: 1,
            path: EdgePath::Straight {
                start: p(300.0, 5.0),
                end: p(20.0, 290.0),
            },
            key: BatchKey {
                colour: 1,
                width: 4,
            },
            arrow: None,
            mid: p(0.0, 0.0),
        });
        s.edges.push(EdgeShape {
            edge: 2,
            path: EdgePath::Loop {
                centre: p(60.0, 200.0),
                radius: 12.0,
            },
            key: BatchKey {
                colour: 0,
                width: 6,
            },
            arrow: None,
            mid: p(0.0, 0.0),
        });
        for (i, (x, y)) in [(10.0, 10.0), (290.0, 250.0), (150.0, 140.0)]
            .iter()
            .enumerate()
        {
            s.nodes.push(NodeShape {
                node: i,
                centre: p(*x, *y),
                radius: 8.0 + i as f64,
                colour: i as u8,
                outline: 1.2,
            });
        }
        s
    }

    fn palette() -> Palette {
        Palette::of(&crate::scene::LIGHT)
    }

    #[test]
    fn a_job_round_trips() {
        let s = scene();
        let bytes = encode_job(&s, &palette(), 1.5, (480, 450), 1..3);
        let job = decode_job(&bytes).expect("valid");
        assert_eq!(
            (job.width, job.height, job.bands.clone(), job.dpr),
            (480, 450, 1..3, 1.5)
        );
        assert_eq!(job.palette, palette());
        assert_eq!(job.scene.nodes, s.nodes);
        let paths: Vec<_> = job
            .scene
            .edges
            .iter()
            .map(|e| (e.path, e.key, e.arrow))
            .collect();
        let want: Vec<_> = s.edges.iter().map(|e| (e.path, e.key, e.arrow)).collect();
        assert_eq!(paths, want);
        assert_eq!(job.rows(), 128..384);
    }

    #[test]
    fn bands_painted_apart_equal_the_picture_painted_at_once() {
        let s = scene();
        let (w, h, dpr) = (330, 300, 1.0);
        let mut whole = Pixmap::new(w, h);
        crate::raster::paint_scene(&mut whole, &s, &crate::scene::LIGHT, dpr);
        let bands = h.div_ceil(BAND_ROWS);
        let mut joined = vec![0u32; w * h];
        for split in [0..1, 1..bands] {
            let job = decode_job(&encode_job(&s, &palette(), dpr, (w, h), split)).expect("valid");
            let mut pm = Pixmap::default();
            let rows = paint_job(&job, &mut pm);
            joined[rows.start * w..rows.end * w]
                .copy_from_slice(&pm.linear()[rows.start * w..rows.end * w]);
        }
        assert_eq!(joined, whole.linear());
    }

    #[test]
    fn malformed_jobs_are_refused_never_panic() {
        let good = encode_job(&scene(), &palette(), 1.0, (330, 300), 0..3);
        assert!(decode_job(&good).is_ok());
        assert_eq!(decode_job(b"nope"), Err(JobError::Magic));
        assert_eq!(decode_job(&[]), Err(JobError::Magic));
        // Every truncation and a trailing byte.
        for n in 4..good.len() {
            assert!(decode_job(&good[..n]).is_err(), "{n} bytes accepted");
        }
        let mut long = good.clone();
        long.push(0);
        assert_eq!(decode_job(&long), Err(JobError::Invalid("length")));
        // Bad size, bands, dpr, counts.
        let mut bad = good.clone();
        bad[4..8].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(decode_job(&bad), Err(JobError::Invalid("size")));
        let mut bad = good.clone();
        bad[16..20].copy_from_slice(&9u32.to_le_bytes());
        assert_eq!(decode_job(&bad), Err(JobError::Invalid("bands")));
        let mut bad = good.clone();
        bad[20..28].copy_from_slice(&f64::NAN.to_le_bytes());
        assert_eq!(decode_job(&bad), Err(JobError::Invalid("dpr")));
        let mut bad = good.clone();
        bad[28..32].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_job(&bad), Err(JobError::Truncated));
        // Arbitrary bytes after a valid header: errors or jobs, no panic.
        let mut z = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2_000 {
            let mut b = good.clone();
            for _ in 0..4 {
                z ^= z << 13;
                z ^= z >> 7;
                z ^= z << 17;
                let i = (z % b.len() as u64) as usize;
                b[i] = (z >> 32) as u8;
            }
            if let Some(job) = decode_job(&b)
                .ok()
                .filter(|j| j.width * j.height <= 1 << 20)
            {
                let mut pm = Pixmap::default();
                let rows = paint_job(&job, &mut pm);
                assert!(rows.end <= job.height);
            }
        }
    }
}
