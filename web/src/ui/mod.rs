//! Leptos components. They only wire signals to the plain types in the
//! crate root; every decision lives there.

mod app;
mod capture;
mod filter_bar;
mod legend;
mod map_canvas;
mod settings;
mod status;
mod table;

pub use app::App;

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;

use crate::connection::Connection;
use crate::session::{LegendView, NodeRow, Session, StatusView, TableView};
use crate::view_state::ViewState;

/// The session, shared by the connection, the timers and the handlers.
pub type Shared = Rc<RefCell<Session>>;

/// Handles every component gets (all `Copy`).
#[derive(Clone, Copy)]
pub struct Ctx {
    pub session: StoredValue<Shared, LocalStorage>,
    pub conn: StoredValue<Option<Connection>, LocalStorage>,
    pub view: RwSignal<ViewState>,
    pub status: RwSignal<StatusView>,
    pub table: RwSignal<TableView>,
    pub legend: RwSignal<LegendView>,
    pub selected: RwSignal<Option<NodeRow>>,
    pub show_settings: RwSignal<bool>,
    pub show_legend: RwSignal<bool>,
    pub show_table: RwSignal<bool>,
    pub show_capture: RwSignal<bool>,
    pub canvas: NodeRef<leptos::html::Canvas>,
    /// The WebGL layer under `canvas` (hidden unless WebGL2 draws).
    pub gl_canvas: NodeRef<leptos::html::Canvas>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").finish_non_exhaustive()
    }
}

impl Ctx {
    /// Runs `f` on the session.
    pub fn with_session<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        self.session.with_value(|s| f(&mut s.borrow_mut()))
    }

    /// Copies the session's snapshots into the signals that changed.
    pub fn publish(&self) {
        let (st, tb, lg) = self.with_session(|s| (s.status(), s.table(), s.legend()));
        if self.status.with_untracked(|v| v != &st) {
            self.status.set(st);
        }
        if self.table.with_untracked(|v| v != &tb) {
            self.table.set(tb);
        }
        if self.legend.with_untracked(|v| v != &lg) {
            self.legend.set(lg);
        }
    }
}

/// Milliseconds from the page's monotonic clock.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// Wall-clock µs since the Unix epoch (KFL2's `now()`).
pub fn wall_us() -> i64 {
    (js_sys::Date::now() * 1000.0) as i64
}
