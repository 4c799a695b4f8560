//! The `/ws` endpoint: one task per browser tab (I/O shell over the hub).
//! The task reads what the tab sends, pings it and closes it; the frames
//! for the tab are pulled from the hub by the response body itself
//! ([`ws_wire::ViewerBody`]).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use actix_http::ws::ProtocolError;
use actix_web::body::MessageBody;
use actix_web::{web, HttpRequest, HttpResponse};
use wiremap_wire::{FrameKind, Header};

use crate::auth;
use crate::close_reason::CloseWhy;
use crate::hub::ViewerId;
use crate::metrics::{Endpoint, RefuseWhy};
use crate::state::{AppState, ViewerSignal};
use crate::ws_session::{shutdown_requested, unless};
use crate::ws_wire::{self, FrameReader, FrameWriter, HubSource, Inbound};

type Reader = FrameReader<web::Payload>;

/// Upgrades a viewer connection.
pub async fn handler(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let source: Option<IpAddr> = req.peer_addr().map(|a| a.ip());
    if let Some(expected) = &state.config.viewer_token {
        let given = auth::query_token(req.query_string()).or_else(|| auth::bearer(req.headers()));
        if !given.is_some_and(|g| auth::token_matches(expected, g)) {
            state.refuse(Endpoint::Viewer, RefuseWhy::Unauthorized, source);
            return Ok(HttpResponse::Unauthorized().body("viewer token required\n"));
        }
    }
    if state.is_shutting_down() {
        state.refuse(Endpoint::Viewer, RefuseWhy::ShuttingDown, source);
        return Ok(HttpResponse::ServiceUnavailable().body("shutting down\n"));
    }
    let mut handshake = actix_http::ws::handshake(req.head())?;
    let (id, signal) = match state.viewer_join() {
        Ok(v) => v,
        Err(e) => {
            state.refuse(Endpoint::Viewer, RefuseWhy::TooMany, source);
            return Ok(HttpResponse::ServiceUnavailable().body(format!("{e}\n")));
        }
    };
    let (writer, out) = ws_wire::channel(HubSource {
        state: state.clone().into_inner(),
        id,
    });
    let reader = FrameReader::new(body, state.config.max_frame_bytes);
    tracing::debug!(viewer = id, ?source, "viewer connected");
    actix_web::rt::spawn(run(state.into_inner(), id, signal, writer, reader));
    Ok(handshake.message_body(out.boxed())?.into())
}

async fn run(
    state: std::sync::Arc<AppState>,
    id: ViewerId,
    signal: std::sync::Arc<ViewerSignal>,
    mut writer: FrameWriter,
    mut reader: Reader,
) {
    let cfg = &state.config;
    let client_timeout = Duration::from_millis(cfg.client_timeout_ms);
    let mut shutdown = state.shutdown.clone();
    let mut tick = tokio::time::interval(Duration::from_millis(cfg.heartbeat_ms.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_seen = Instant::now();

    let why: Option<CloseWhy> = loop {
        tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => break Some(CloseWhy::Shutdown),
            () = signal.kick.notified() => {
                break Some(state.with_hub(|h| h.kicked(id)).unwrap_or(CloseWhy::SlowViewer));
            }
            msg = reader.recv() => {
                last_seen = Instant::now();
                match msg {
                    None | Some(Ok(Inbound::Close)) => break None,
                    Some(Ok(Inbound::Binary(frame))) => {
                        if frame.len() > cfg.max_frame_bytes {
                            break Some(CloseWhy::TooBig);
                        }
                        match Header::peek(&frame) {
                            Ok(h) if h.kind == FrameKind::CaptureFilter => {
                                let accepted = state.with_hub(|hub| {
                                    hub.counters_mut().frame_in(h.kind, frame.len());
                                    hub.set_capture_filter(id, &frame, Instant::now())
                                });
                                match accepted {
                                    Ok(f) => {
                                        tracing::info!(viewer = id, revision = f.revision, pod_regex = %f.pod_regex, "capture filter set");
                                        if let Some(path) = &cfg.state_file {
                                            if let Err(e) = crate::capture_filter::save(path, &f) {
                                                tracing::error!(error = %e, "could not persist the capture filter");
                                            }
                                        }
                                    }
                                    Err(reason) => tracing::info!(viewer = id, %reason, "capture filter rejected"),
                                }
                            }
                            _ => break Some(CloseWhy::Protocol),
                        }
                    }
                    Some(Ok(Inbound::Text)) => break Some(CloseWhy::NotBinary),
                    Some(Ok(Inbound::Ping(p))) => {
                        let _ = writer.pong(&p).await;
                    }
                    Some(Ok(Inbound::Pong)) => {}
                    Some(Err(ProtocolError::Overflow)) => break Some(CloseWhy::TooBig),
                    Some(Err(ProtocolError::Io(_))) => break None,
                    Some(Err(_)) => break Some(CloseWhy::Protocol),
                }
            }
            _ = tick.tick() => {
                if last_seen.elapsed() > client_timeout {
                    break Some(CloseWhy::HeartbeatTimeout);
                }
                state.with_hub(|h| h.sweep(Instant::now()));
                let stop = async {
                    tokio::select! {
                        () = shutdown_requested(&mut shutdown) => CloseWhy::Shutdown,
                        () = signal.kick.notified() => state.with_hub(|h| h.kicked(id)).unwrap_or(CloseWhy::SlowViewer),
                    }
                };
                match unless(writer.ping(b""), stop).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_closed)) => break None,
                    Err(why) => break Some(why),
                }
            }
        }
    };
    state.viewer_leave(id);
    if let Some(why) = why {
        state.with_hub(|h| h.counters_mut().closed(Endpoint::Viewer, why));
        tracing::debug!(viewer = id, reason = why.label(), "closing viewer");
        let wait = match why {
            CloseWhy::Shutdown => Duration::from_secs(cfg.shutdown_timeout_secs),
            _ => client_timeout,
        };
        // A peer that does not read may never make room for the close frame.
        let _ = tokio::time::timeout(wait, writer.close(Some(why.close_reason()))).await;
    }
}
