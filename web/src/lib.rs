//! wiremap's browser app: connects to the relay's WebSocket, decodes wire
//! frames, and lets the map model of `shared/model` (compiled unchanged
//! into this app) store L7 entries and L4 counters, aggregate them under the
//! tab's own view (map type, KFL2 filter, grouping, metric, hidden legend
//! items) and lay the graph out; it paints that graph on a canvas, with a
//! table view of the same graph for screen readers and tests.
//!
//! It does not capture, store history beyond the model's caps, or talk to
//! anything but the relay, and it has no aggregation or layout of its own.
//! Key decision: the browser-side decisions live in plain Rust types
//! (`feed`, `view_state`, `session`, `camera`, `geometry`) that take bytes
//! and clock readings as arguments, and `scene` turns a frame into shapes;
//! only `connection`, `render`, `render_gl`, `scene_cache`, `export`
//! and the `ui` components touch the browser.
//! Unsafe code is denied everywhere but in the two plain exports the
//! raster worker calls (`raster_worker`: a job's bytes in, pixels out).
#![deny(unsafe_code)]

pub mod backoff;
pub mod camera;
pub mod connection;
pub mod error;
pub mod export;
pub mod feed;
pub mod filter_edit;
pub mod geometry;
pub mod palette;
pub mod query;
pub mod raster;
pub mod raster_worker;
pub mod relay_url;
pub mod render;
pub mod render_gl;
pub mod scene;
pub mod scene_cache;
pub mod session;
pub mod ui;
pub mod view_state;

pub use error::WebError;

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use wasm_bindgen::prelude::wasm_bindgen;

/// The element the app mounts into (test pages have none, so tests that
/// link this crate do not start the app).
pub const ROOT_ID: &str = "wiremap-root";

/// Entry point called by the generated JS glue.
#[wasm_bindgen(start)]
pub fn start() {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(ROOT_ID))
    else {
        return;
    };
    let Ok(root) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(root) else {
        return;
    };
    leptos::mount::mount_to(root, ui::App).forget();
}
