//! Workload identity from the Kubernetes API: the [`IdentitySource`] a probe
//! uses inside a cluster (the topology file is the other one).
//!
//! Four reflectors (Pods, Services, EndpointSlices, Nodes, cluster-wide)
//! run on one current-thread tokio runtime in a thread of their own; every
//! object is trimmed ([`trim`]) before its reflector caches it. When any
//! store changed, at most once per [`KubeOptions::rebuild_interval`], the
//! thread rebuilds the whole [`IdentityMap`] with [`resolve::identities`]
//! (a pure function) and leaves it for [`IdentitySource::poll`] — the
//! capture loop never waits on the API. Watch expiry (410 Gone), dropped
//! connections and errors are handled by `kube`'s watcher (re-list, back
//! off); the last map stays in use meanwhile.
//!
//! Not done here: reverse DNS, CronJob owners of Jobs, ReplicaSets not
//! owned by a Deployment with a different naming (they stay ReplicaSets).

pub mod error;
pub mod resolve;
pub mod trim;

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ::kube::config::{KubeConfigOptions, Kubeconfig};
use ::kube::runtime::reflector::{self, Store};
use ::kube::runtime::watcher::{self, Event};
use ::kube::runtime::WatchStreamExt;
use ::kube::{Api, Client, Config};
use futures_util::stream::{select_all, Stream, StreamExt};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use tracing::{debug, info, warn};

pub use error::KubeError;

use crate::identity::{IdentityMap, IdentitySource};

/// The kinds watched, in the order of [`Status::synced`].
pub const KINDS: [&str; 4] = ["pods", "services", "endpointslices", "nodes"];

/// How to reach the API server.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// A kubeconfig file; `None` = `$KUBECONFIG` or `~/.kube/config`, then
    /// the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    pub context: Option<String>,
    /// Least time between two rebuilds of the identity map.
    pub rebuild_interval: Duration,
}

impl Default for KubeOptions {
    fn default() -> Self {
        KubeOptions {
            kubeconfig: None,
            context: None,
            rebuild_interval: Duration::from_millis(250),
        }
    }
}

#[derive(Debug, Default)]
struct Status {
    latest: Option<IdentityMap>,
    /// A first map was built (every kind listed once).
    ready: bool,
    synced: [bool; 4],
    last_error: Option<String>,
    errors: u64,
    rebuilds: u64,
    events: u64,
    identities: u64,
    /// The watcher thread ended, and why.
    stopped: Option<String>,
}

#[derive(Debug, Default)]
struct Shared {
    status: Mutex<Status>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Status> {
        // A panic elsewhere never leaves the status half-written: recover.
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Identities from the Kubernetes API, kept current by watches.
#[derive(Debug)]
pub struct KubeSource {
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

async fn load_config(opts: &KubeOptions) -> Result<Config, KubeError> {
    let kc_opts = KubeConfigOptions {
        context: opts.context.clone(),
        ..KubeConfigOptions::default()
    };
    match (&opts.kubeconfig, &opts.context) {
        (Some(path), _) => {
            let kc = Kubeconfig::read_from(path).map_err(|e| {
                KubeError::Config(format!("reading kubeconfig {}: {e}", path.display()))
            })?;
            Config::from_custom_kubeconfig(kc, &kc_opts)
                .await
                .map_err(|e| KubeError::Config(format!("kubeconfig {}: {e}", path.display())))
        }
        (None, Some(ctx)) => Config::from_kubeconfig(&kc_opts)
            .await
            .map_err(|e| KubeError::Config(format!("kubeconfig context {ctx:?}: {e}"))),
        (None, None) => Config::infer().await.map_err(|e| {
            KubeError::Config(format!(
                "no kubeconfig ($KUBECONFIG, ~/.kube/config) and not inside a cluster \
                 (no service account environment): {e}"
            ))
        }),
    }
}

/// One watched kind's events, tagged with its index in [`KINDS`]: whether
/// a (re)list completed, or the error the watcher met.
type Tagged = Pin<Box<dyn Stream<Item = (usize, Result<bool, String>)> + Send>>;

fn tagged<K>(
    idx: usize,
    api: Api<K>,
    trim: fn(&mut K),
    writer: reflector::store::Writer<K>,
) -> Tagged
where
    K: kube::Resource
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default,
{
    watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(trim)
        .reflect(writer)
        .map(move |r| {
            (
                idx,
                r.map(|e| matches!(e, Event::InitDone))
                    .map_err(|e| e.to_string()),
            )
        })
        .boxed()
}

struct Stores {
    pods: Store<Pod>,
    services: Store<Service>,
    slices: Store<EndpointSlice>,
    nodes: Store<Node>,
}

impl Stores {
    fn build(&self) -> IdentityMap {
        resolve::identities(
            &self.pods.state(),
            &self.services.state(),
            &self.slices.state(),
            &self.nodes.state(),
        )
    }
}

async fn run(
    client: Client,
    shared: Arc<Shared>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
    every: Duration,
) -> String {
    let (pods, pods_w) = reflector::store::<Pod>();
    let (services, services_w) = reflector::store::<Service>();
    let (slices, slices_w) = reflector::store::<EndpointSlice>();
    let (nodes, nodes_w) = reflector::store::<Node>();
    let stores = Stores {
        pods,
        services,
        slices,
        nodes,
    };
    let mut events = select_all([
        tagged(0, Api::<Pod>::all(client.clone()), trim::pod, pods_w),
        tagged(
            1,
            Api::<Service>::all(client.clone()),
            trim::service,
            services_w,
        ),
        tagged(
            2,
            Api::<EndpointSlice>::all(client.clone()),
            trim::endpoint_slice,
            slices_w,
        ),
        tagged(3, Api::<Node>::all(client), trim::node, nodes_w),
    ]);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut synced = [false; 4];
    let mut dirty = false;
    loop {
        tokio::select! {
            _ = &mut stop => return "stopped".into(),
            ev = events.next() => match ev {
                None => return "every watch stream ended".into(),
                Some((i, Ok(init_done))) => {
                    dirty = true;
                    if init_done && !synced[i] {
                        synced[i] = true;
                        debug!(kind = KINDS[i], "first list done");
                    }
                    let mut st = shared.lock();
                    st.events += 1;
                    st.synced = synced;
                }
                Some((i, Err(e))) => {
                    warn!(kind = KINDS[i], "Kubernetes watch: {e}");
                    let mut st = shared.lock();
                    st.errors += 1;
                    st.last_error = Some(format!("{}: {e}", KINDS[i]));
                    shared.changed.notify_all();
                }
            },
            _ = tick.tick() => {
                if dirty && synced.iter().all(|s| *s) {
                    dirty = false;
                    let map = stores.build();
                    let mut st = shared.lock();
                    if !st.ready {
                        info!(identities = map.len(), nodes = map.nodes().len(), "Kubernetes identities ready");
                    }
                    st.identities = map.len() as u64;
                    st.latest = Some(map);
                    st.ready = true;
                    st.rebuilds += 1;
                    shared.changed.notify_all();
                }
            }
        }
    }
}

impl KubeSource {
    /// Loads the configuration, builds the client and starts the watches.
    /// Fails at once when there is no usable configuration; an unreachable
    /// or refusing server shows in [`KubeSource::wait_ready`].
    pub fn start(opts: &KubeOptions) -> Result<Self, KubeError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let config = rt.block_on(load_config(opts))?;
        let server = config.cluster_url.to_string();
        let client = {
            let _in_runtime = rt.enter();
            Client::try_from(config).map_err(|e| KubeError::Client(e.to_string()))?
        };
        info!(%server, "watching pods, services, endpointslices and nodes");
        let shared = Arc::new(Shared::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let every = opts.rebuild_interval.max(Duration::from_millis(10));
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("kube-watch".into())
            .spawn(move || {
                let why = rt.block_on(run(client, sh.clone(), stop_rx, every));
                let mut st = sh.lock();
                st.stopped = Some(why);
                sh.changed.notify_all();
            })?;
        Ok(KubeSource {
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Waits for the first complete map (every kind listed once), up to
    /// `timeout`. The error names the kinds still missing and the last
    /// error the watches met (unreachable server, 403 Forbidden, …).
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<IdentityMap, KubeError> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if st.ready {
                if let Some(map) = st.latest.take() {
                    return Ok(map);
                }
            }
            let now = Instant::now();
            if now >= deadline || st.stopped.is_some() {
                let missing: Vec<&str> = KINDS
                    .iter()
                    .zip(st.synced)
                    .filter(|(_, s)| !s)
                    .map(|(k, _)| *k)
                    .collect();
                return Err(KubeError::NotReady {
                    waited: timeout,
                    missing: if missing.is_empty() {
                        "all kinds (not yet merged)".into()
                    } else {
                        missing.join(", ")
                    },
                    last_error: st.last_error.clone().or_else(|| st.stopped.clone()),
                });
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Counters for the probe's stats and metrics.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let st = self.shared.lock();
        vec![
            ("kube_watch_events".into(), st.events),
            ("kube_watch_errors".into(), st.errors),
            ("kube_identity_rebuilds".into(), st.rebuilds),
            ("kube_identities".into(), st.identities),
        ]
    }
}

impl IdentitySource for KubeSource {
    fn poll(&mut self) -> Option<IdentityMap> {
        self.shared.lock().latest.take()
    }
}

impl Drop for KubeSource {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
