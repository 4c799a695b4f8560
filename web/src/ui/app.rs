//! The page: wires the connection, the timers and the panels.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use wiremap_wire::{encode, CaptureFilter, Frame};

use super::{now_ms, wall_us, Ctx, Shared};
use crate::connection::{ConnEvent, Connection};
use crate::export::{download_png, download_text, graph_json};
use crate::relay_url::relay_ws_url;
use crate::session::{ConnState, Session};
use crate::view_state::ViewState;

/// How often the graph is rebuilt and the DOM snapshots refreshed.
pub const TICK: Duration = Duration::from_millis(500);

fn location() -> (String, String, String) {
    let loc = web_sys::window().map(|w| w.location());
    let get = |f: fn(&web_sys::Location) -> Result<String, wasm_bindgen::JsValue>| {
        loc.as_ref().and_then(|l| f(l).ok()).unwrap_or_default()
    };
    (
        get(web_sys::Location::search),
        get(web_sys::Location::protocol),
        get(web_sys::Location::host),
    )
}

fn replace_url(v: &ViewState) {
    let Some(w) = web_sys::window() else { return };
    let path = w.location().pathname().unwrap_or_default();
    let q = v.to_query();
    let url = if q.is_empty() {
        path
    } else {
        format!("{path}?{q}")
    };
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

fn on_conn_event(s: &mut Session, ev: ConnEvent) {
    match ev {
        ConnEvent::Connecting => s.conn = ConnState::Connecting,
        ConnEvent::Open => {
            s.conn = ConnState::Connected;
            s.retry_in_ms = None;
            s.feed.connection_opened();
        }
        ConnEvent::Message(bytes) => s.receive(bytes, wall_us()),
        ConnEvent::Closed { retry_ms, .. } => {
            s.conn = ConnState::Closed;
            s.retry_in_ms = Some(retry_ms);
            s.feed.connection_closed();
        }
    }
}

/// Sends the capture filter to the relay; the answer is the relay's echo.
pub fn send_capture_filter(ctx: Ctx, f: CaptureFilter) -> Result<(), String> {
    let bytes = encode(&Frame::CaptureFilter(f)).map_err(|e| e.to_string())?;
    ctx.conn.with_value(|c| match c {
        Some(c) => c.send(&bytes).map_err(|e| e.to_string()),
        None => Err("not connected".to_string()),
    })
}

#[component]
pub fn App() -> impl IntoView {
    let (search, protocol, host) = location();
    let initial = ViewState::from_query(&search);
    let url = relay_ws_url(&protocol, &host, initial.relay.as_deref());
    let session: Shared = Rc::new(RefCell::new(Session::new(initial.clone(), url.clone())));
    // Maps are computed a slice per animation frame (see MapCanvas), so a
    // recompute over a full store never blocks input.
    session.borrow_mut().set_time_slicing(true, wall_us());
    let ctx = Ctx {
        session: StoredValue::new_local(session.clone()),
        conn: StoredValue::new_local(None),
        view: RwSignal::new(initial.clone()),
        status: RwSignal::new(Default::default()),
        table: RwSignal::new(Default::default()),
        legend: RwSignal::new(Default::default()),
        selected: RwSignal::new(None),
        show_settings: RwSignal::new(false),
        show_legend: RwSignal::new(true),
        show_table: RwSignal::new(false),
        show_capture: RwSignal::new(false),
        canvas: NodeRef::new(),
        gl_canvas: NodeRef::new(),
    };

    let s = session.clone();
    let conn = Connection::start(url, move |ev| on_conn_event(&mut s.borrow_mut(), ev));
    ctx.conn.set_value(Some(conn));

    set_interval(
        move || {
            ctx.with_session(|s| s.tick(now_ms(), wall_us()));
            ctx.publish();
        },
        TICK,
    );

    Effect::new(move |_| {
        let v = ctx.view.get();
        replace_url(&v);
        ctx.with_session(|s| s.set_view(v, wall_us()));
        ctx.publish();
    });

    let embed = initial.embed;
    let paused = move || ctx.status.with(|s| s.paused);
    let toggle_pause = move |_| {
        ctx.with_session(|s| s.paused = !s.paused);
        ctx.publish();
    };
    let fit = move |_| {
        ctx.with_session(|s| {
            s.auto_fit = true;
            s.dirty = true;
        })
    };
    let export_json = move |_| {
        let text = ctx.with_session(|s| graph_json(&s.graph, s.view.map.code()));
        let _ = download_text(&text, "application/json", "wiremap-graph.json");
    };
    let export_png = move |_| {
        let gl = ctx.gl_canvas.get_untracked().filter(|g| !g.hidden());
        let layers: Vec<web_sys::HtmlCanvasElement> = match gl {
            // With WebGL the map is two layers, painted in full every
            // frame: the picture and the labels.
            Some(gl) => std::iter::once(gl)
                .chain(ctx.canvas.get_untracked())
                .collect(),
            // Canvas 2D shows a cached picture, maybe moved or not yet
            // repainted: export a full render instead.
            None => super::map_canvas::full_render(ctx).into_iter().collect(),
        };
        let _ = download_png(&layers, "wiremap-map.png");
    };

    view! {
        <div class="app" class:embed=embed>
            <header class="toolbar" class:gone=embed>
                <span class="brand">"wiremap"</span>
                <button on:click=move |_| ctx.show_settings.update(|v| *v = !*v)>"Settings"</button>
                <button on:click=move |_| ctx.show_legend.update(|v| *v = !*v)>"Legend"</button>
                <button id="pause" on:click=toggle_pause>
                    {move || if paused() { "Resume" } else { "Pause" }}
                </button>
                <button on:click=fit title="Fit the map to the screen">"Fit"</button>
                <button on:click=move |_| ctx.show_table.update(|v| *v = !*v)>"Table"</button>
                <button on:click=move |_| ctx.show_capture.set(true)>"Capture filters"</button>
                <button on:click=export_png>"PNG"</button>
                <button on:click=export_json>"JSON"</button>
                <span class="maptitle">{move || ctx.view.with(|v| v.map.title())}</span>
            </header>
            <super::filter_bar::FilterBar ctx=ctx />
            <main class="stage">
                <super::map_canvas::MapCanvas ctx=ctx />
                <super::settings::Settings ctx=ctx />
                <super::legend::Legend ctx=ctx />
                <super::capture::CaptureDialog ctx=ctx />
                <super::table::Details ctx=ctx />
            </main>
            <super::status::StatusBar ctx=ctx />
            <super::table::MapTable ctx=ctx />
        </div>
    }
}
