//! The shell's shared state: the hub behind one lock, plus the wake-up
//! signals of the connection tasks.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Instant;

use bytes::Bytes;

use tokio::sync::{watch, Notify};
use wiremap_wire::Hello;

use crate::auth::AuthLog;
use crate::config::Config;
use crate::hub::{Hub, Take, ViewerId, Wake};
use crate::metrics::{Endpoint, RefuseWhy};
use crate::viewer_queue::ProbeId;
use crate::HubError;

/// Signals of one viewer task.
#[derive(Debug, Default)]
pub struct ViewerSignal {
    /// The viewer must be closed.
    pub kick: Notify,
}

#[derive(Debug)]
struct ViewerSlot {
    signal: Arc<ViewerSignal>,
    /// The response body waiting for frames ([`AppState::viewer_pull`]).
    body: Option<Waker>,
}

#[derive(Debug)]
struct Core {
    hub: Hub,
    viewers: HashMap<ViewerId, ViewerSlot>,
    probes: HashMap<ProbeId, Arc<Notify>>,
    auth_log: AuthLog,
    wakes: Vec<Wake>,
}

/// Everything the HTTP handlers and connection tasks share.
#[derive(Debug)]
pub struct AppState {
    core: Mutex<Core>,
    pub config: Config,
    pub shutdown: watch::Receiver<bool>,
    shutting_down: AtomicBool,
}

impl AppState {
    pub fn new(config: Config, hub: Hub, shutdown: watch::Receiver<bool>) -> Self {
        AppState {
            core: Mutex::new(Core {
                hub,
                viewers: HashMap::new(),
                probes: HashMap::new(),
                auth_log: AuthLog::default(),
                wakes: Vec::new(),
            }),
            config,
            shutdown,
            shutting_down: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // a panic elsewhere never leaves the hub in a torn state worth refusing
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the hub, then signals every connection it woke.
    pub fn with_hub<R>(&self, f: impl FnOnce(&mut Hub) -> R) -> R {
        let mut core = self.lock();
        let core = &mut *core;
        let r = f(&mut core.hub);
        core.hub.take_wakes(&mut core.wakes);
        for w in core.wakes.drain(..) {
            match w {
                Wake::Viewer(id) => {
                    if let Some(w) = core.viewers.get_mut(&id).and_then(|s| s.body.take()) {
                        w.wake();
                    }
                }
                Wake::Kick(id) => {
                    if let Some(s) = core.viewers.get(&id) {
                        s.signal.kick.notify_one();
                    }
                }
                Wake::Probe(id) => {
                    if let Some(n) = core.probes.get(&id) {
                        n.notify_one();
                    }
                }
            }
        }
        r
    }

    pub fn viewer_join(&self) -> Result<(ViewerId, Arc<ViewerSignal>), HubError> {
        let signal = Arc::new(ViewerSignal::default());
        let id = {
            let mut core = self.lock();
            let id = core.hub.viewer_join(Instant::now())?;
            core.viewers.insert(
                id,
                ViewerSlot {
                    signal: signal.clone(),
                    body: None,
                },
            );
            id
        };
        // deliver the join's other wake-ups (its own frames are pulled by
        // the body's first poll)
        self.with_hub(|_| ());
        Ok((id, signal))
    }

    /// Called by a viewer's response body: appends the viewer's queued
    /// frames, as bytes for the socket, to `out`. When there were none,
    /// `waker` is woken once some are queued. `false` when the viewer is
    /// gone or kicked: nothing more will come.
    pub fn viewer_pull(&self, id: ViewerId, out: &mut Vec<Bytes>, waker: &Waker) -> bool {
        let mut core = self.lock();
        let core = &mut *core;
        match core.hub.viewer_take(id, out) {
            Take::Close(_) => false,
            Take::Frames { .. } => {
                if out.is_empty() {
                    if let Some(slot) = core.viewers.get_mut(&id) {
                        match &slot.body {
                            Some(w) if w.will_wake(waker) => {}
                            _ => slot.body = Some(waker.clone()),
                        }
                    }
                }
                true
            }
        }
    }

    pub fn viewer_leave(&self, id: ViewerId) {
        let mut core = self.lock();
        core.hub.viewer_leave(id);
        core.viewers.remove(&id);
    }

    pub fn probe_join(&self, hello: &Hello) -> Result<(ProbeId, Arc<Notify>), HubError> {
        let notify = Arc::new(Notify::new());
        let id = {
            let mut core = self.lock();
            let id = core.hub.probe_join(hello, Instant::now())?;
            core.probes.insert(id, notify.clone());
            id
        };
        self.with_hub(|_| ());
        if self.with_hub(|h| h.capture_filter().is_some()) {
            notify.notify_one();
        }
        Ok((id, notify))
    }

    pub fn probe_leave(&self, id: ProbeId) {
        self.with_hub(|h| h.probe_leave(id, Instant::now()));
        self.lock().probes.remove(&id);
    }

    /// Counts a refused connection; logs an auth failure once per source.
    pub fn refuse(&self, endpoint: Endpoint, why: RefuseWhy, source: Option<IpAddr>) {
        let mut core = self.lock();
        core.hub.counters_mut().refused(endpoint, why);
        if why == RefuseWhy::Unauthorized {
            if let Some(ip) = source {
                if core.auth_log.first_from(ip) {
                    tracing::warn!(%ip, endpoint = endpoint.label(), "rejected connection: missing or wrong token (further failures from this source are only counted)");
                }
            }
        }
    }

    /// Renders `/metrics`.
    pub fn metrics(&self) -> String {
        let core = self.lock();
        crate::metrics::render(core.hub.counters(), &core.hub.gauges())
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}
