//! Builds the HTTP server: routes, headers, lifecycle (start, stop).

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::{ServerHandle, Service};
use actix_web::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use actix_web::{web, App, HttpResponse, HttpServer};
use tokio::sync::watch;

use crate::config::Config;
use crate::hub::Hub;
use crate::state::AppState;
use crate::{capture_filter, static_files, ws_probe, ws_viewer, RelayError};

/// The relay's version, reported in Status notices.
pub const RELAY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A started relay.
#[derive(Debug)]
pub struct Running {
    /// The address actually bound (the real port when asked for port 0).
    pub addr: SocketAddr,
    handle: ServerHandle,
    shutdown: watch::Sender<bool>,
    state: web::Data<AppState>,
    server: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The rendered `/metrics` text (without an HTTP round trip).
    pub fn metrics(&self) -> String {
        self.state.metrics()
    }

    /// Graceful stop: every WebSocket gets a going-away close, then the
    /// server stops accepting and waits (up to the shutdown timeout).
    pub async fn stop(self) {
        self.state.begin_shutdown();
        let _ = self.shutdown.send(true);
        self.handle.stop(true).await;
        let _ = self.server.await;
    }

    /// Waits until the server ends on its own.
    pub async fn wait(self) -> std::io::Result<()> {
        self.server.await.unwrap_or(Ok(()))
    }
}

fn headers(frame_ancestors: &str) -> Result<HeaderValue, RelayError> {
    HeaderValue::from_str(&format!("frame-ancestors {frame_ancestors}")).map_err(|_| {
        RelayError::Config(format!(
            "--frame-ancestors {frame_ancestors:?} is not a valid header value"
        ))
    })
}

/// Starts the relay on the current actix runtime. The socket is bound and
/// listening when this returns.
pub fn start(config: Config) -> Result<Running, RelayError> {
    if !config.insecure_no_auth && config.token.as_deref().unwrap_or_default().is_empty() {
        return Err(RelayError::NoToken);
    }
    if config.max_frame_bytes > wiremap_wire::MAX_FRAME_LEN
        || config.max_frame_bytes < wiremap_wire::HEADER_LEN
    {
        return Err(RelayError::Config(format!(
            "--max-frame-bytes must be between {} and {}",
            wiremap_wire::HEADER_LEN,
            wiremap_wire::MAX_FRAME_LEN
        )));
    }
    let csp = headers(&config.frame_ancestors)?;
    let filter = match &config.state_file {
        Some(path) => match capture_filter::load(path) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring the state file");
                None
            }
        },
        None => None,
    };
    if let Some(f) = &filter {
        tracing::info!(
            revision = f.revision,
            "capture filter loaded from the state file"
        );
    }
    let listener =
        std::net::TcpListener::bind(&config.listen).map_err(|source| RelayError::Bind {
            addr: config.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr()?;
    let workers = if config.workers == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        config.workers
    };
    let shutdown_timeout = config.shutdown_timeout_secs;
    let static_dir = config.static_dir.clone();
    let hub = Hub::new(config.hub_limits(), filter, RELAY_VERSION);
    let (tx, rx) = watch::channel(false);
    let state = web::Data::new(AppState::new(config, hub, rx));
    let app_state = state.clone();
    let server = HttpServer::new(move || {
        let csp = csp.clone();
        let static_dir = static_dir.clone();
        App::new()
            .app_data(app_state.clone())
            .wrap_fn(move |req, srv| {
                let cache = (!static_files::is_api_path(req.path()))
                    .then(|| static_files::cache_control(req.path()));
                let fut = srv.call(req);
                let csp = csp.clone();
                async move {
                    let mut res = fut.await?;
                    let h = res.headers_mut();
                    h.insert(CONTENT_SECURITY_POLICY, csp);
                    if let Some(cache) = cache {
                        h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
                    }
                    Ok(res)
                }
            })
            .route("/ws", web::get().to(ws_viewer::handler))
            .route("/ws/probe", web::get().to(ws_probe::handler))
            .route(
                "/healthz",
                web::get().to(|| async { HttpResponse::Ok().body("ok\n") }),
            )
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics))
            .configure(|cfg| static_files::mount(cfg, &static_dir))
    })
    .workers(workers)
    // Frames leave when the hub hands them over (after its linger), not
    // when the peer's delayed ACK releases Nagle's hold (up to 40 ms).
    .tcp_nodelay(true)
    .disable_signals()
    .shutdown_timeout(shutdown_timeout)
    .listen(listener)?
    .run();
    let handle = server.handle();
    let server = actix_web::rt::spawn(server);
    Ok(Running {
        addr,
        handle,
        shutdown: tx,
        state,
        server,
    })
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.is_shutting_down() {
        HttpResponse::ServiceUnavailable().body("shutting down\n")
    } else {
        HttpResponse::Ok().body("ready\n")
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(state.metrics())
}

/// Default wait used by callers that stop the relay.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
