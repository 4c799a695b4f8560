//! The `/ws/probe` endpoint: one task per probe (I/O shell over the hub).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, ProtocolError, Session};
use wiremap_wire::{Frame, Header, Hello};

use crate::auth;
use crate::close_reason::CloseWhy;
use crate::metrics::{Endpoint, RefuseWhy};
use crate::state::AppState;
use crate::ws_session::{close, shutdown_requested};

/// Upgrades a probe connection after checking its token.
pub async fn handler(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let source: Option<IpAddr> = req.peer_addr().map(|a| a.ip());
    if !state.config.insecure_no_auth {
        let expected = state.config.token.as_deref().unwrap_or_default();
        let ok = !expected.is_empty()
            && auth::bearer(req.headers()).is_some_and(|g| auth::token_matches(expected, g));
        if !ok {
            state.refuse(Endpoint::Probe, RefuseWhy::Unauthorized, source);
            return Ok(HttpResponse::Unauthorized().body("probe token required\n"));
        }
    }
    if state.is_shutting_down() {
        state.refuse(Endpoint::Probe, RefuseWhy::ShuttingDown, source);
        return Ok(HttpResponse::ServiceUnavailable().body("shutting down\n"));
    }
    if state.with_hub(|h| h.probe_count() >= h.limits().max_probes) {
        state.refuse(Endpoint::Probe, RefuseWhy::TooMany, source);
        return Ok(HttpResponse::ServiceUnavailable().body("too many probes\n"));
    }
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let max = state.config.max_frame_bytes;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    actix_web::rt::spawn(run(state.into_inner(), source, session, stream));
    Ok(response)
}

/// What the first data frame of a probe connection turned out to be.
async fn read_hello(
    state: &AppState,
    session: &mut Session,
    stream: &mut AggregatedMessageStream,
) -> Result<Hello, Option<CloseWhy>> {
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(state.config.hello_timeout_ms);
    let mut shutdown = state.shutdown.clone();
    loop {
        let msg = tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => return Err(Some(CloseWhy::Shutdown)),
            () = tokio::time::sleep_until(deadline) => return Err(Some(CloseWhy::HelloTimeout)),
            msg = stream.recv() => msg,
        };
        match msg {
            None | Some(Ok(AggregatedMessage::Close(_))) => return Err(None),
            Some(Ok(AggregatedMessage::Ping(p))) => {
                let _ = session.pong(&p).await;
            }
            Some(Ok(AggregatedMessage::Pong(_))) => {}
            Some(Ok(AggregatedMessage::Text(_))) => return Err(Some(CloseWhy::NotBinary)),
            Some(Ok(AggregatedMessage::Binary(frame))) => {
                if frame.len() > state.config.max_frame_bytes {
                    return Err(Some(CloseWhy::TooBig));
                }
                return match wiremap_wire::decode(&frame) {
                    Ok(Frame::Hello(hello)) => {
                        state.with_hub(|h| {
                            h.counters_mut()
                                .frame_in(wiremap_wire::FrameKind::Hello, frame.len())
                        });
                        Ok(hello)
                    }
                    _ => Err(Some(CloseWhy::Protocol)),
                };
            }
            Some(Err(ProtocolError::Overflow)) => return Err(Some(CloseWhy::TooBig)),
            // The peer went away without a close frame: not its protocol's fault.
            Some(Err(ProtocolError::Io(_))) => return Err(None),
            Some(Err(_)) => return Err(Some(CloseWhy::Protocol)),
        }
    }
}

async fn run(
    state: std::sync::Arc<AppState>,
    source: Option<IpAddr>,
    mut session: Session,
    mut stream: AggregatedMessageStream,
) {
    let cfg = &state.config;
    let client_timeout = Duration::from_millis(cfg.client_timeout_ms);
    let finish = |state: &AppState, why: CloseWhy| {
        state.with_hub(|h| h.counters_mut().closed(Endpoint::Probe, why));
    };
    let hello = match read_hello(&state, &mut session, &mut stream).await {
        Ok(h) => h,
        Err(why) => {
            if let Some(why) = why {
                tracing::info!(?source, reason = why.label(), "closing probe before hello");
                finish(&state, why);
                close(session, why, client_timeout).await;
            }
            return;
        }
    };
    let (id, notify) = match state.probe_join(&hello) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(node = %hello.node, error = %e, "probe refused");
            state.refuse(Endpoint::Probe, RefuseWhy::TooMany, source);
            let _ = session
                .close(Some(actix_ws::CloseReason {
                    code: actix_ws::CloseCode::Again,
                    description: Some("too many probes".into()),
                }))
                .await;
            return;
        }
    };
    tracing::info!(node = %hello.node, epoch = hello.epoch, version = %hello.probe_version, ?source, "probe connected");

    let mut shutdown = state.shutdown.clone();
    let mut tick = tokio::time::interval(Duration::from_millis(cfg.heartbeat_ms.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_seen = Instant::now();
    // The open chunk of L7 batches (see hub.rs) is fanned out at its
    // deadline by a probe task: every probe that added to it keeps a timer
    // for it on its own worker thread (the first to fire flushes it).
    let mut flush_at: Option<Instant> = None;
    let flush_timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(flush_timer);
    let why: Option<CloseWhy> = loop {
        tokio::select! {
            biased;
            () = shutdown_requested(&mut shutdown) => break Some(CloseWhy::Shutdown),
            () = &mut flush_timer, if flush_at.is_some() => {
                flush_at = None;
                state.with_hub(|h| h.flush_due(Instant::now()));
            }
            msg = stream.recv() => {
                last_seen = Instant::now();
                match msg {
                    None | Some(Ok(AggregatedMessage::Close(_))) => break None,
                    Some(Ok(AggregatedMessage::Binary(frame))) => {
                        if frame.len() > cfg.max_frame_bytes {
                            break Some(CloseWhy::TooBig);
                        }
                        let Ok(header) = Header::peek(&frame) else {
                            break Some(CloseWhy::Protocol);
                        };
                        let now = Instant::now();
                        let Ok(deadline) = state.with_hub(|h| {
                            h.probe_frame(id, header.kind, frame, now)
                                .map(|()| h.flush_deadline())
                        }) else {
                            break Some(CloseWhy::Protocol);
                        };
                        if deadline.is_some() && deadline != flush_at {
                            flush_at = deadline;
                            if let Some(at) = deadline {
                                flush_timer.as_mut().reset(at.into());
                            }
                        }
                    }
                    Some(Ok(AggregatedMessage::Text(_))) => break Some(CloseWhy::NotBinary),
                    Some(Ok(AggregatedMessage::Ping(p))) => {
                        let _ = session.pong(&p).await;
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => {}
                    Some(Err(ProtocolError::Overflow)) => break Some(CloseWhy::TooBig),
                    Some(Err(ProtocolError::Io(_))) => break None,
                    Some(Err(_)) => break Some(CloseWhy::Protocol),
                }
            }
            () = notify.notified() => {
                if let Some(filter) = state.with_hub(|h| h.probe_take(id)) {
                    if session.binary(filter).await.is_err() {
                        break None;
                    }
                }
            }
            _ = tick.tick() => {
                if last_seen.elapsed() > client_timeout {
                    break Some(CloseWhy::HeartbeatTimeout);
                }
                if session.ping(b"").await.is_err() {
                    break None;
                }
            }
        }
    };
    state.probe_leave(id);
    tracing::info!(node = %hello.node, reason = why.map_or("peer closed", CloseWhy::label), "probe disconnected");
    if let Some(why) = why {
        finish(&state, why);
        let wait = match why {
            CloseWhy::Shutdown => Duration::from_secs(cfg.shutdown_timeout_secs),
            _ => client_timeout,
        };
        close(session, why, wait).await;
    }
}
