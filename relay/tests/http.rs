//! Static app, headers, health and metrics endpoints, and shutdown.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

fn app_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>wiremap</title>",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("web-0123456789abcdef.js"),
        "export default 1;",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("web-0123456789abcdef_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("web_bg-0123456789abcdef.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    std::fs::write(dir.path().join("style.css"), "body{}").unwrap();
    dir
}

async fn get(
    r: &wiremap_relay::Running,
    path: &str,
) -> (u16, awc::http::header::HeaderMap, String) {
    let mut res = client()
        .get(format!("http://{}{}", r.addr, path))
        .send()
        .await
        .unwrap();
    let body = res.body().await.unwrap();
    (
        res.status().as_u16(),
        res.headers().clone(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn header<'a>(h: &'a awc::http::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).map_or("", |v| v.to_str().unwrap())
}

#[actix_web::test]
async fn serves_the_app_with_mime_types_cache_policy_and_fallback() {
    let dir = app_dir();
    let mut c = config();
    c.static_dir = dir.path().to_owned();
    let relay = start(c);

    let (status, h, body) = get(&relay, "/").await;
    assert_eq!(status, 200);
    assert!(body.contains("<title>wiremap</title>"));
    assert!(header(&h, "content-type").starts_with("text/html"));
    assert_eq!(header(&h, "cache-control"), "no-cache");
    assert_eq!(
        header(&h, "content-security-policy"),
        "frame-ancestors 'self'"
    );

    let (status, h, _) = get(&relay, "/web-0123456789abcdef.js").await;
    assert_eq!(status, 200);
    assert!(header(&h, "content-type").contains("javascript"), "{h:?}");
    assert_eq!(
        header(&h, "cache-control"),
        "public, max-age=31536000, immutable"
    );

    let (status, h, _) = get(&relay, "/web_bg-0123456789abcdef.wasm").await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), "application/wasm");
    assert_eq!(
        header(&h, "cache-control"),
        "public, max-age=31536000, immutable"
    );

    let (_, h, _) = get(&relay, "/style.css").await;
    assert!(header(&h, "content-type").starts_with("text/css"));
    assert_eq!(header(&h, "cache-control"), "no-cache");

    // client-side routes fall back to index.html; missing assets and API paths do not
    let (status, h, body) = get(&relay, "/map/l7").await;
    assert_eq!(status, 200);
    assert!(body.contains("<title>wiremap</title>"));
    assert_eq!(header(&h, "cache-control"), "no-cache");
    assert_eq!(get(&relay, "/web-ffffffffffffffff.js").await.0, 404);
    assert_eq!(get(&relay, "/api/nothing").await.0, 404);

    let (status, _, body) = get(&relay, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert_eq!(get(&relay, "/readyz").await.0, 200);
    let (status, h, body) = get(&relay, "/metrics").await;
    assert_eq!(status, 200);
    assert!(header(&h, "content-type").starts_with("text/plain"));
    assert_eq!(
        wiremap_relay::metrics::sample(&body, "wiremap_relay_viewers"),
        Some(0)
    );
    assert!(body.contains("wiremap_relay_frames_in_total{kind=\"l7_batch\"} 0"));
    relay.stop().await;
}

#[actix_web::test]
async fn frame_ancestors_is_configurable() {
    let mut c = config();
    c.frame_ancestors = "'self' https://portal.example.com".into();
    let relay = start(c);
    for path in ["/", "/healthz"] {
        let (_, h, _) = get(&relay, path).await;
        assert_eq!(
            header(&h, "content-security-policy"),
            "frame-ancestors 'self' https://portal.example.com"
        );
    }
    relay.stop().await;
    let mut c = config();
    c.frame_ancestors = "bad\nvalue".into();
    assert!(wiremap_relay::start(c).is_err());
}

#[actix_web::test]
async fn stop_closes_every_websocket_with_going_away() {
    let relay = start(config());
    let mut viewer = connect_viewer(&relay).await;
    let mut probe = connect_probe(&relay, "node-a").await;
    wait_metric(&relay, "wiremap_relay_probes", |v| v == 1).await;
    wait_metric(&relay, "wiremap_relay_viewers", |v| v == 1).await;
    let stopping = actix_web::rt::spawn(relay.stop());
    assert_eq!(recv_close(&mut viewer).await, 1001);
    assert_eq!(recv_close(&mut probe).await, 1001);
    stopping.await.unwrap();
}

#[actix_web::test]
async fn the_binary_prints_its_address_and_stops_on_sigterm() {
    let dir = app_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wiremap-relay"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--token",
            "t0k",
            "--shutdown-timeout-secs",
            "2",
            "--static-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
    assert!(!addr.ends_with(":0"), "{addr}");
    let (_, mut viewer) = client()
        .ws(format!("ws://{addr}/ws"))
        .connect()
        .await
        .unwrap();
    let (_, mut probe) = client()
        .ws(format!("ws://{addr}/ws/probe"))
        .bearer_auth("t0k")
        .connect()
        .await
        .unwrap();
    use futures_util::SinkExt;
    probe
        .send(awc::ws::Message::Binary(hello("node-a")))
        .await
        .unwrap();
    // the viewer hears about the probe, so both are registered
    loop {
        if let wiremap_wire::Frame::RelayNotice(wiremap_wire::RelayNotice::ProbeConnected {
            node,
            ..
        }) = wiremap_wire::decode(&recv_binary(&mut viewer).await).unwrap()
        {
            assert_eq!(node, "node-a");
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(recv_close(&mut viewer).await, 1001);
    assert_eq!(recv_close(&mut probe).await, 1001);
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}
