//! The shell's shared state: the hub behind one lock, plus the wake-up
//! signals of the connection tasks.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{watch, Notify};
use wiremap_wire::Hello;

use crate::auth::AuthLog;
use crate::config::Config;
use crate::hub::{Hub, ViewerId, Wake};
use crate::metrics::{Endpoint, RefuseWhy};
use crate::viewer_queue::ProbeId;
use crate::HubError;

/// Signals of one viewer task.
#[derive(Debug, Default)]
pub struct ViewerSignal {
    /// Frames are waiting.
    pub data: Notify,
    /// The viewer must be closed.
    pub kick: Notify,
}

#[derive(Debug)]
struct Core {
    hub: Hub,
    viewers: HashMap<ViewerId, Arc<ViewerSignal>>,
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
                    if let Some(s) = core.viewers.get(&id) {
                        s.data.notify_one();
                    }
                }
                Wake::Kick(id) => {
                    if let Some(s) = core.viewers.get(&id) {
                        s.kick.notify_one();
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
            core.viewers.insert(id, signal.clone());
            id
        };
        // deliver the join's own wake-up now that the signal is registered
        self.with_hub(|_| ());
        signal.data.notify_one();
        Ok((id, signal))
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
