//! The canvas: paints on animation frames, zoom with the wheel, pan by
//! dragging the background, drag a node to pin it, double-click to fit.

use leptos::prelude::*;

use super::Ctx;
use crate::geometry::{pick, radii, Point};
use crate::render::{draw, Frame, DARK, LIGHT};
use crate::session::{Drag, NodeRow};

/// Layout ticks per animation frame at most (the model's layout is
/// incremental, so a frame's budget stays small).
pub const STEPS_PER_FRAME: usize = 2;

fn prefers_dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

fn paint(ctx: Ctx) {
    let Some(canvas) = ctx.canvas.get_untracked() else {
        return;
    };
    let dpr = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0);
    let (w, h) = (
        f64::from(canvas.client_width().max(1)),
        f64::from(canvas.client_height().max(1)),
    );
    let (pw, ph) = ((w * dpr).round() as u32, (h * dpr).round() as u32);
    let resized = canvas.width() != pw || canvas.height() != ph;
    if resized {
        canvas.set_width(pw);
        canvas.set_height(ph);
    }
    ctx.with_session(|s| {
        s.viewport = (w, h);
        let moved = s.step_layout(STEPS_PER_FRAME);
        if s.auto_fit && (moved || s.dirty || resized) {
            s.fit(w, h);
        }
        if !(moved || s.dirty || resized) {
            return;
        }
        s.dirty = false;
        let Ok(Some(obj)) = canvas.get_context("2d") else {
            return;
        };
        let Ok(c2d) = wasm_bindgen::JsCast::dyn_into::<web_sys::CanvasRenderingContext2d>(obj)
        else {
            return;
        };
        let positions = s.positions();
        let selected = s.selected.as_ref().and_then(|k| s.graph.node_index(k));
        draw(
            &c2d,
            &Frame {
                graph: &s.graph,
                positions: &positions,
                camera: &s.camera,
                view: &s.view,
                width: w,
                height: h,
                dpr,
                theme: if prefers_dark() { DARK } else { LIGHT },
                selected,
            },
        );
    });
}

fn frame_loop(ctx: Ctx) {
    request_animation_frame(move || {
        paint(ctx);
        frame_loop(ctx);
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
    frame_loop(ctx);
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
