//! Heartbeats, the hello deadline, connection limits, the replay ring's
//! default, the metric families and once-per-source logging of bad tokens,
//! over real sockets (and the real binary for the log).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use awc::ws::{Frame as WsFrame, Message};
use common::*;
use futures_util::{SinkExt, StreamExt};
use wiremap_wire::{decode, Frame};

/// Reads frames without answering pings until a close frame; returns its code.
async fn close_code_without_pong(conn: &mut Conn) -> u16 {
    loop {
        let f = tokio::time::timeout(PATIENCE, conn.next())
            .await
            .expect("a frame before the deadline")
            .expect("connection open")
            .expect("valid websocket frame");
        if let WsFrame::Close(reason) = f {
            return reason.map_or(1005, |r| u16::from(r.code));
        }
    }
}

fn status_of(r: Result<(awc::ClientResponse, Conn), awc::error::WsClientError>) -> u16 {
    match r {
        Ok((resp, _)) => resp.status().as_u16(),
        Err(awc::error::WsClientError::InvalidResponseStatus(s)) => s.as_u16(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[actix_web::test]
async fn silent_peers_are_closed_with_heartbeat_timeout_and_late_hello_with_4003() {
    let mut c = config();
    c.heartbeat_ms = 50;
    c.client_timeout_ms = 400;
    c.hello_timeout_ms = 300;
    let relay = start(c);
    // a viewer and a probe that never answer pings
    let mut viewer = connect_viewer(&relay).await;
    let mut probe = connect_probe(&relay, "node-a").await;
    // a probe that never says hello
    let (_, mut mute) = client()
        .ws(ws_url(&relay, "/ws/probe"))
        .connect()
        .await
        .unwrap();
    assert_eq!(close_code_without_pong(&mut mute).await, 4003);
    assert_eq!(close_code_without_pong(&mut viewer).await, 4002);
    assert_eq!(close_code_without_pong(&mut probe).await, 4002);
    for (endpoint, reason, n) in [
        ("probe", "hello_timeout", 1),
        ("probe", "heartbeat_timeout", 1),
        ("viewer", "heartbeat_timeout", 1),
    ] {
        let series =
            format!("wiremap_relay_closed_total{{endpoint=\"{endpoint}\",reason=\"{reason}\"}}");
        wait_metric(&relay, &series, |v| v == n).await;
    }
    wait_metric(&relay, "wiremap_relay_viewers", |v| v == 0).await;
    wait_metric(&relay, "wiremap_relay_probes", |v| v == 0).await;

    // a viewer that answers pings stays connected past several timeouts
    let mut alive = connect_viewer(&relay).await;
    let until = std::time::Instant::now() + std::time::Duration::from_millis(1500);
    while std::time::Instant::now() < until {
        match tokio::time::timeout(std::time::Duration::from_millis(100), alive.next()).await {
            Ok(Some(Ok(WsFrame::Ping(p)))) => alive.send(Message::Pong(p)).await.unwrap(),
            Ok(Some(Ok(WsFrame::Close(r)))) => panic!("answering viewer closed: {r:?}"),
            Ok(Some(Ok(_))) | Err(_) => {}
            Ok(other) => panic!("answering viewer lost: {other:?}"),
        }
    }
    assert_eq!(metric(&relay, "wiremap_relay_viewers"), 1);
    relay.stop().await;
}

#[actix_web::test]
async fn connections_beyond_the_limits_are_refused_with_503_and_counted() {
    let mut c = config();
    c.max_viewers = 2;
    c.max_probes = 1;
    let relay = start(c);
    let _v1 = connect_viewer(&relay).await;
    let _v2 = connect_viewer(&relay).await;
    let _p1 = connect_probe(&relay, "node-a").await;
    wait_metric(&relay, "wiremap_relay_probes", |v| v == 1).await;
    assert_eq!(
        status_of(client().ws(ws_url(&relay, "/ws")).connect().await),
        503
    );
    assert_eq!(
        status_of(client().ws(ws_url(&relay, "/ws/probe")).connect().await),
        503
    );
    assert_eq!(
        metric(
            &relay,
            "wiremap_relay_refused_total{endpoint=\"viewer\",reason=\"too_many\"}"
        ),
        1
    );
    assert_eq!(
        metric(
            &relay,
            "wiremap_relay_refused_total{endpoint=\"probe\",reason=\"too_many\"}"
        ),
        1
    );
    // the connected ones still work
    assert_eq!(metric(&relay, "wiremap_relay_viewers"), 2);
    relay.stop().await;
}

#[actix_web::test]
async fn without_a_replay_ring_a_new_tab_gets_no_old_l7_batches() {
    let c = config();
    assert_eq!(c.replay_bytes, 0, "the replay ring is off by default");
    let relay = start(c);
    let mut probe = connect_probe(&relay, "node-a").await;
    for seq in 0..5 {
        probe
            .send(Message::Binary(l7("node-a", seq, 0)))
            .await
            .unwrap();
    }
    probe.send(Message::Binary(l4("node-a", 1))).await.unwrap();
    wait_metric(
        &relay,
        "wiremap_relay_frames_in_total{kind=\"l4_snapshot\"}",
        |v| v == 1,
    )
    .await;
    let mut viewer = connect_viewer(&relay).await;
    // the cached snapshot comes first, then the next live batch: nothing older
    assert!(matches!(
        decode(&recv_data(&mut viewer).await).unwrap(),
        Frame::L4Snapshot(_)
    ));
    probe
        .send(Message::Binary(l7("node-a", 99, 0)))
        .await
        .unwrap();
    assert!(
        matches!(decode(&recv_data(&mut viewer).await).unwrap(), Frame::L7Batch(b) if b.seq == 99)
    );
    assert_eq!(metric(&relay, "wiremap_relay_replay_bytes"), 0);
    relay.stop().await;
}

#[actix_web::test]
async fn metrics_cover_connections_traffic_by_kind_drops_and_queue_depths() {
    let relay = start(config());
    let mut viewer = connect_viewer(&relay).await;
    let mut probe = connect_probe(&relay, "node-a").await;
    let f = l7("node-a", 1, 100);
    probe.send(Message::Binary(f.clone())).await.unwrap();
    assert_eq!(recv_data(&mut viewer).await, f);
    let text = relay.metrics();
    for series in [
        "wiremap_relay_probes",
        "wiremap_relay_viewers",
        "wiremap_relay_viewer_queue_bytes_max",
        "wiremap_relay_viewer_queue_bytes_sum",
        "wiremap_relay_viewer_queue_frames_sum",
        "wiremap_relay_dropped_total{reason=\"viewer_queue_full\"}",
        "wiremap_relay_dropped_total{reason=\"coalesced\"}",
        "wiremap_relay_dropped_total{reason=\"hard_cap\"}",
        "wiremap_relay_dropped_bytes_total{reason=\"viewer_queue_full\"}",
        "wiremap_relay_probe_frames_in_total{node=\"node-a\"}",
        "wiremap_relay_probe_bytes_in_total{node=\"node-a\"}",
    ] {
        assert!(
            wiremap_relay::metrics::sample(&text, series).is_some(),
            "{series} missing"
        );
    }
    for family in [
        "frames_in_total",
        "bytes_in_total",
        "frames_out_total",
        "bytes_out_total",
    ] {
        for kind in wiremap_wire::FrameKind::ALL {
            let series = format!("wiremap_relay_{family}{{kind=\"{}\"}}", kind.name());
            assert!(
                wiremap_relay::metrics::sample(&text, &series).is_some(),
                "{series} missing"
            );
        }
    }
    assert_eq!(metric(&relay, "wiremap_relay_probes"), 1);
    assert_eq!(
        metric(&relay, "wiremap_relay_bytes_in_total{kind=\"l7_batch\"}"),
        f.len() as u64
    );
    assert_eq!(
        metric(
            &relay,
            "wiremap_relay_probe_frames_in_total{node=\"node-a\"}"
        ),
        1
    );
    wait_metric(
        &relay,
        "wiremap_relay_bytes_out_total{kind=\"l7_batch\"}",
        |v| v == f.len() as u64,
    )
    .await;
    relay.stop().await;
}

#[actix_web::test]
async fn bad_tokens_are_logged_once_per_source_and_all_counted() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wiremap-relay"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--token",
            "probe-secret",
            "--viewer-token",
            "viewer-secret",
            "--shutdown-timeout-secs",
            "2",
            "--static-dir",
            "does-not-exist",
        ])
        .env("RUST_LOG", "info")
        .env_remove("WIREMAP_RELAY_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("wiremap-relay listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    for _ in 0..4 {
        let r = client()
            .ws(format!("ws://{addr}/ws/probe"))
            .bearer_auth("wrong")
            .connect()
            .await;
        assert_eq!(status_of(r), 401);
    }
    for _ in 0..3 {
        assert_eq!(
            status_of(
                client()
                    .ws(format!("ws://{addr}/ws?token=wrong"))
                    .connect()
                    .await
            ),
            401
        );
    }
    let mut res = client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    let text = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    let refused = |ep: &str| {
        wiremap_relay::metrics::sample(
            &text,
            &format!("wiremap_relay_refused_total{{endpoint=\"{ep}\",reason=\"unauthorized\"}}"),
        )
    };
    assert_eq!(refused("probe"), Some(4));
    assert_eq!(refused("viewer"), Some(3));
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(child.wait().unwrap().success());
    let logged: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("missing or wrong token"))
        .collect();
    assert_eq!(logged.len(), 1, "{stderr}");
    assert!(logged[0].contains("127.0.0.1"), "{}", logged[0]);
    assert!(stderr.contains("SIGTERM"), "{stderr}");
}

#[actix_web::test]
async fn with_a_viewer_linger_every_frame_still_arrives_in_order() {
    let mut c = config();
    c.viewer_linger_ms = 20;
    let relay = start(c);
    let mut viewer = connect_viewer(&relay).await;
    let mut probe = connect_probe(&relay, "node-a").await;
    wait_metric(&relay, "wiremap_relay_probes", |v| v == 1).await;
    // bursts and lone frames: the last frame of each burst must not wait
    // for a next one
    let mut seq = 0u64;
    for burst in [1usize, 7, 1, 300, 2] {
        for _ in 0..burst {
            probe
                .send(Message::Binary(l7("node-a", seq, 50)))
                .await
                .unwrap();
            seq += 1;
        }
        for expect in seq - burst as u64..seq {
            assert!(
                matches!(decode(&recv_data(&mut viewer).await).unwrap(), Frame::L7Batch(b) if b.seq == expect)
            );
        }
    }
    relay.stop().await;
}
