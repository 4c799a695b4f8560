//! The canvas: paints on animation frames, zoom with the wheel, pan by
//! dragging the background, drag a node to pin it, double-click to fit.
//! It picks the renderer once (the view's `?renderer=`, else the default):
//! WebGL2 paints on a canvas under the input canvas, which then holds only
//! the labels; Canvas 2D and the raster renderer (shapes rasterised in
//! WASM, [`crate::raster`]) paint everything on the input canvas through
//! the scene cache ([`crate::scene_cache`]: a cached picture moved while
//! panning and zooming, repainted in time slices), WebGL2 paints every
//! changed frame in full.

use leptos::prelude::*;

use super::{now_ms, wall_us, Ctx};
use crate::geometry::{pick, radii, Point};
use crate::render::{draw, paint_labels, RasterCanvas};
use crate::render_gl::Backend;
use crate::scene::{Frame, Scene, DARK, LIGHT};
use crate::scene_cache::SceneCache;
use crate::session::{Drag, NodeRow, Session};
use crate::view_state::Renderer;

/// Layout ticks per animation frame at most (the model's layout is
/// incremental, so a frame's budget stays small).
pub const STEPS_PER_FRAME: usize = 2;

/// Milliseconds of an animation frame a refresh of the map (new entries)
/// may take; it stops after the slice that crosses it, and the layout
/// ticks get the rest of [`FRAME_BUDGET_MS`] (or, while the layout runs,
/// the next frame: [`Session::frame_plan`]).
pub const WORK_BUDGET_MS: f64 = 6.0;

/// Milliseconds of an animation frame for the map computation and layout
/// ticks together (painting has its own budget in the scene cache). The
/// map of a view the user just changed (filter, grouping, settings) takes
/// all of it, and the layout of the map it replaces waits: the new map is
/// shown in about half the frames it took when the two shared the budget.
pub const FRAME_BUDGET_MS: f64 = 12.0;

fn prefers_dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

/// The renderer, opened on the first frame (the canvases exist by then).
type BackendSlot = StoredValue<Option<Backend>, LocalStorage>;
/// The Canvas 2D renderer's cached picture.
type CacheSlot = StoredValue<SceneCache, LocalStorage>;

fn device_pixel_ratio() -> f64 {
    web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
}

/// Calls `paint` with the session's frame at size `w` × `h` (CSS px).
fn with_frame<R>(s: &Session, w: f64, h: f64, dpr: f64, paint: impl FnOnce(&Frame<'_>) -> R) -> R {
    let positions = s.positions();
    let selected = s.selected.as_ref().and_then(|k| s.graph.node_index(k));
    paint(&Frame {
        graph: &s.graph,
        positions: &positions,
        camera: &s.camera,
        view: &s.view,
        width: w,
        height: h,
        dpr,
        theme: if prefers_dark() { DARK } else { LIGHT },
        selected,
    })
}

fn context_2d(canvas: &web_sys::HtmlCanvasElement) -> Option<web_sys::CanvasRenderingContext2d> {
    let obj = canvas.get_context("2d").ok().flatten()?;
    wasm_bindgen::JsCast::dyn_into::<web_sys::CanvasRenderingContext2d>(obj).ok()
}

/// The whole map painted at once (never a cached or partial picture) on
/// a new canvas the size of the visible one: what "Export PNG" saves with
/// Canvas 2D and the raster renderer (each paints it its own way).
pub fn full_render(ctx: Ctx) -> Option<web_sys::HtmlCanvasElement> {
    let canvas = ctx.canvas.get_untracked()?;
    let doc = web_sys::window()?.document()?;
    let out: web_sys::HtmlCanvasElement =
        wasm_bindgen::JsCast::dyn_into(doc.create_element("canvas").ok()?).ok()?;
    out.set_width(canvas.width());
    out.set_height(canvas.height());
    let c2d = context_2d(&out)?;
    let dpr = device_pixel_ratio();
    ctx.with_session(|s| {
        let (w, h) = s.viewport;
        let raster = s.view.renderer() == Renderer::Raster;
        with_frame(s, w, h, dpr, |f| {
            if raster {
                RasterCanvas::default().draw(&c2d, f);
            } else {
                draw(&c2d, f);
            }
        });
    });
    Some(out)
}

fn size_canvas(canvas: &web_sys::HtmlCanvasElement, pw: u32, ph: u32) -> bool {
    let resized = canvas.width() != pw || canvas.height() != ph;
    if resized {
        canvas.set_width(pw);
        canvas.set_height(ph);
    }
    resized
}

/// Opens the renderer the view asks for; the WebGL canvas stays hidden
/// unless WebGL2 runs.
fn open_backend(ctx: Ctx, canvas: &web_sys::HtmlCanvasElement) -> Option<Backend> {
    let gl_canvas = ctx.gl_canvas.get_untracked()?;
    let choice = ctx.with_session(|s| s.view.renderer());
    let backend = Backend::open(choice, &gl_canvas);
    gl_canvas.set_hidden(!matches!(backend, Backend::WebGl2(_)));
    let _ = canvas.set_attribute("data-renderer", backend.renderer().code());
    Some(backend)
}

fn paint_frame(ctx: Ctx, slot: BackendSlot, cache: CacheSlot) {
    let Some(canvas) = ctx.canvas.get_untracked() else {
        return;
    };
    if slot.with_value(Option::is_none) {
        let Some(b) = open_backend(ctx, &canvas) else {
            return;
        };
        let raster = matches!(b, Backend::Raster);
        cache.update_value(|c| {
            c.set_raster(raster);
            c.use_worker(true);
        });
        slot.set_value(Some(b));
    }
    // A lost WebGL context: Canvas 2D from now on.
    let lost = slot.with_value(|b| matches!(b, Some(Backend::WebGl2(r)) if r.is_lost()));
    if lost {
        web_sys::console::warn_1(
            &"wiremap: the WebGL2 context was lost; drawing with Canvas 2D".into(),
        );
        if let Some(c) = ctx.gl_canvas.get_untracked() {
            c.set_hidden(true);
        }
        let _ = canvas.set_attribute("data-renderer", Renderer::Canvas2d.code());
        slot.set_value(Some(Backend::Canvas2d));
        cache.update_value(SceneCache::clear);
        ctx.with_session(|s| s.dirty = true);
    }
    let dpr = device_pixel_ratio();
    let (w, h) = (
        f64::from(canvas.client_width().max(1)),
        f64::from(canvas.client_height().max(1)),
    );
    let (pw, ph) = ((w * dpr).round() as u32, (h * dpr).round() as u32);
    let mut resized = size_canvas(&canvas, pw, ph);
    if let Some(gl_canvas) = ctx.gl_canvas.get_untracked().filter(|c| !c.hidden()) {
        resized |= size_canvas(&gl_canvas, pw, ph);
    }
    // How big pictures are painted (the raster worker's start), for
    // tests and for anyone who inspects the page.
    let worker_use = cache.with_value(SceneCache::worker_use);
    if canvas.get_attribute("data-raster-worker").as_deref() != Some(worker_use) {
        let _ = canvas.set_attribute("data-raster-worker", worker_use);
    }
    // A picture in progress, or a camera that just stopped, needs frames
    // of its own.
    let busy = cache.with_value(SceneCache::needs_frame);
    // A map being computed gets a slice of this frame, all of it for a
    // view the user is waiting for; a new map goes to the table, legend
    // and status.
    let t0 = now_ms();
    let waited_for = ctx.with_session(|s| s.view_change_pending());
    let plan = ctx.with_session(Session::frame_plan);
    let budget = if waited_for {
        FRAME_BUDGET_MS
    } else {
        WORK_BUDGET_MS
    };
    if plan.work && ctx.with_session(|s| s.work(wall_us(), &mut || now_ms() - t0 >= budget)) {
        ctx.publish();
    }
    ctx.with_session(|s| {
        s.viewport = (w, h);
        // Layout ticks while the frame's budget lasts: at least one (none
        // in a frame given to a new view's map or, while they take turns,
        // to a refresh), at most STEPS_PER_FRAME, a next one only if it
        // fits (its cost guessed from the last).
        let ticks = s.layout.ticks();
        let mut last_ms = 0.0;
        let steps = if plan.ticks { STEPS_PER_FRAME } else { 0 };
        for k in 0..steps {
            if k > 0 && now_ms() - t0 + last_ms > FRAME_BUDGET_MS {
                break;
            }
            let t = now_ms();
            let running = s.step_layout(1);
            last_ms = now_ms() - t;
            if !running {
                break;
            }
        }
        let moved = s.layout.ticks() != ticks;
        if s.auto_fit && (moved || s.dirty || resized) {
            s.fit_beside(w, h, legend_cover(&canvas));
        }
        if !(moved || s.dirty || resized || busy) {
            return;
        }
        s.dirty = false;
        let Some(c2d) = context_2d(&canvas) else {
            return;
        };
        let revision = s.graph_revision();
        with_frame(s, w, h, dpr, |frame| {
            slot.update_value(|b| match b {
                Some(Backend::WebGl2(gl)) => {
                    let scene = Scene::build(frame);
                    gl.paint(frame, &scene);
                    paint_labels(&c2d, frame, &scene);
                }
                _ => cache.update_value(|c| {
                    // What the map computation and layout left of the
                    // frame's time.
                    c.frame_after(&c2d, frame, revision, now_ms() - t0);
                }),
            });
        });
    });
}

/// The legend's box over the canvas (canvas px, with a gap around it), if
/// it shows: a fitted map goes beside it.
fn legend_cover(canvas: &web_sys::HtmlCanvasElement) -> Option<(Point, Point)> {
    const GAP: f64 = 8.0;
    let legend = web_sys::window()?.document()?.get_element_by_id("legend")?;
    let r = legend.get_bounding_client_rect();
    if r.width() <= 0.0 || r.height() <= 0.0 {
        return None;
    }
    let c = canvas.get_bounding_client_rect();
    Some((
        Point {
            x: r.left() - c.left() - GAP,
            y: r.top() - c.top() - GAP,
        },
        Point {
            x: r.right() - c.left() + GAP,
            y: r.bottom() - c.top() + GAP,
        },
    ))
}

fn frame_loop(ctx: Ctx, slot: BackendSlot, cache: CacheSlot) {
    request_animation_frame(move || {
        paint_frame(ctx, slot, cache);
        frame_loop(ctx, slot, cache);
    });
}

fn local(e: &web_sys::MouseEvent) -> Point {
    Point {
        x: f64::from(e.offset_x()),
        y: f64::from(e.offset_y()),
    }
}

#[component]
pub fn MapCanvas(ctx: Ctx) -> impl IntoView {
    let slot: BackendSlot = StoredValue::new_local(None);
    let cache: CacheSlot = StoredValue::new_local(SceneCache::default());
    frame_loop(ctx, slot, cache);
    let down = move |e: web_sys::MouseEvent| {
        let p = local(&e);
        let row = ctx.with_session(|s| {
            let (w, h) = s.viewport;
            let world = s.camera.to_world(p, w, h);
            let pos = s.positions();
            let hit = pick(&pos, &radii(&s.graph), world, 4.0 / s.camera.scale);
            s.dirty = true;
            match hit.and_then(|i| s.graph.nodes.get(i)) {
                Some(n) => {
                    s.drag = Drag::Node { key: n.key.clone() };
                    s.selected = Some(n.key.clone());
                    Some(NodeRow::of(n))
                }
                None => {
                    s.drag = Drag::Pan { last: p };
                    s.selected = None;
                    None
                }
            }
        });
        ctx.selected.set(row);
    };
    let moved = move |e: web_sys::MouseEvent| {
        let p = local(&e);
        ctx.with_session(|s| {
            let (w, h) = s.viewport;
            match s.drag.clone() {
                Drag::None => {}
                Drag::Pan { last } => {
                    s.camera.pan(p.x - last.x, p.y - last.y);
                    s.drag = Drag::Pan { last: p };
                    s.auto_fit = false;
                    s.dirty = true;
                }
                Drag::Node { key } => {
                    let world = s.camera.to_world(p, w, h);
                    if s.layout.pin(&key, world.x, world.y).is_ok() {
                        s.auto_fit = false;
                        s.dirty = true;
                    }
                }
            }
        });
    };
    // A drag that pinned a node puts the pins into the view (and the URL).
    let up = move |_| {
        let pins = ctx.with_session(|s| {
            let was_node = matches!(s.drag, Drag::Node { .. });
            s.drag = Drag::None;
            let pins = s.layout.pins();
            (was_node && pins != s.view.pins).then_some(pins)
        });
        if let Some(pins) = pins {
            ctx.view.update(|v| v.pins = pins);
        }
    };
    let wheel = move |e: web_sys::WheelEvent| {
        e.prevent_default();
        let p = Point {
            x: f64::from(e.offset_x()),
            y: f64::from(e.offset_y()),
        };
        ctx.with_session(|s| {
            let (w, h) = s.viewport;
            s.camera.zoom_at((-e.delta_y() * 0.0015).exp(), p, w, h);
            s.auto_fit = false;
            s.dirty = true;
        });
    };
    let dbl = move |_| {
        ctx.with_session(|s| {
            s.auto_fit = true;
            s.dirty = true;
        })
    };
    let key = move |e: web_sys::KeyboardEvent| {
        ctx.with_session(|s| {
            let (w, h) = s.viewport;
            let c = Point {
                x: w / 2.0,
                y: h / 2.0,
            };
            match e.key().as_str() {
                "+" | "=" => s.camera.zoom_at(1.2, c, w, h),
                "-" => s.camera.zoom_at(1.0 / 1.2, c, w, h),
                "ArrowLeft" => s.camera.pan(40.0, 0.0),
                "ArrowRight" => s.camera.pan(-40.0, 0.0),
                "ArrowUp" => s.camera.pan(0.0, 40.0),
                "ArrowDown" => s.camera.pan(0.0, -40.0),
                "f" | "0" => s.auto_fit = true,
                "u" => s.unpin_all(),
                _ => return,
            }
            if !matches!(e.key().as_str(), "f" | "0") {
                s.auto_fit = false;
            }
            s.dirty = true;
        })
    };
    view! {
        // WebGL draws the map here; the canvas above takes the input and,
        // with WebGL, draws only the labels (both are sized alike).
        <canvas id="map-gl" node_ref=ctx.gl_canvas aria-hidden="true" hidden=true></canvas>
        <canvas
            id="map-canvas"
            node_ref=ctx.canvas
            tabindex="0"
            role="img"
            aria-label="Workload map; the table view lists the same nodes and edges"
            on:mousedown=down
            on:mousemove=moved
            on:mouseup=up
            on:mouseleave=up
            on:wheel=wheel
            on:dblclick=dbl
            on:keydown=key
        ></canvas>
    }
}
