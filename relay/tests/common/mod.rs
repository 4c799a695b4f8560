//! Shared helpers of the relay's socket tests: a relay on 127.0.0.1:0, real
//! WebSocket clients (awc), frame builders, and event waits (no sleeps as
//! assertions: every wait is for an event, with a generous deadline).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use actix_codec::Framed;
use awc::ws::{Codec, Frame as WsFrame, Message};
use awc::BoxedSocket;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use wiremap_relay::{Config, Running};
use wiremap_wire::{encode, Frame, FrameKind, Header, Hello, Inventory, L4Snapshot, L7Batch};

pub type Conn = Framed<BoxedSocket, Codec>;

/// Deadline for anything a test waits on.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn config() -> Config {
    let mut c = Config::for_listen("127.0.0.1:0");
    c.static_dir = "does-not-exist".into();
    c.workers = 2;
    c.shutdown_timeout_secs = 2;
    c
}

pub fn start(c: Config) -> Running {
    wiremap_relay::start(c).expect("relay starts")
}

pub fn ws_url(r: &Running, path: &str) -> String {
    format!("ws://{}{}", r.addr, path)
}

pub fn client() -> awc::Client {
    awc::Client::builder().timeout(PATIENCE).finish()
}

pub async fn connect_viewer(r: &Running) -> Conn {
    let (_, conn) = client()
        .ws(ws_url(r, "/ws"))
        .max_frame_size(16 << 20)
        .connect()
        .await
        .expect("viewer connects");
    conn
}

pub async fn connect_probe(r: &Running, node: &str) -> Conn {
    let (_, mut conn) = client()
        .ws(ws_url(r, "/ws/probe"))
        .max_frame_size(16 << 20)
        .connect()
        .await
        .expect("probe connects");
    conn.send(Message::Binary(hello(node))).await.unwrap();
    conn
}

pub fn hello(node: &str) -> Bytes {
    encode(&Frame::Hello(Hello {
        node: node.into(),
        probe_version: "test".into(),
        epoch: 7,
    }))
    .unwrap()
    .into()
}

/// An L7 batch whose encoding is about `pad` bytes longer than empty.
pub fn l7(node: &str, seq: u64, pad: usize) -> Bytes {
    encode(&Frame::L7Batch(L7Batch {
        node: format!("{node}{}", "x".repeat(pad)),
        epoch: 7,
        seq,
        identities: vec![],
        entries: vec![],
    }))
    .unwrap()
    .into()
}

pub fn l4(node: &str, seq: u64) -> Bytes {
    encode(&Frame::L4Snapshot(L4Snapshot {
        node: node.into(),
        epoch: 7,
        seq,
        taken_at_us: 0,
        identities: vec![],
        counters: vec![],
    }))
    .unwrap()
    .into()
}

pub fn inventory(node: &str) -> Bytes {
    encode(&Frame::Inventory(Inventory {
        node: node.into(),
        epoch: 7,
        nodes: vec![],
        identities: vec![],
    }))
    .unwrap()
    .into()
}

/// The next frame that is not a ping (pings are answered).
pub async fn recv(conn: &mut Conn) -> WsFrame {
    loop {
        let f = tokio::time::timeout(PATIENCE, conn.next())
            .await
            .expect("a frame before the deadline")
            .expect("connection open")
            .expect("valid websocket frame");
        match f {
            WsFrame::Ping(p) => conn.send(Message::Pong(p)).await.unwrap(),
            WsFrame::Pong(_) => {}
            other => return other,
        }
    }
}

/// The next binary frame.
pub async fn recv_binary(conn: &mut Conn) -> Bytes {
    match recv(conn).await {
        WsFrame::Binary(b) => b,
        other => panic!("expected a binary frame, got {other:?}"),
    }
}

/// The next binary frame that is not a relay notice.
pub async fn recv_data(conn: &mut Conn) -> Bytes {
    loop {
        let b = recv_binary(conn).await;
        if Header::peek(&b).unwrap().kind != FrameKind::RelayNotice {
            return b;
        }
    }
}

/// Reads until a close frame arrives and returns its code.
pub async fn recv_close(conn: &mut Conn) -> u16 {
    loop {
        match recv(conn).await {
            WsFrame::Close(reason) => return reason.map_or(1005, |r| u16::from(r.code)),
            WsFrame::Binary(_) | WsFrame::Text(_) | WsFrame::Continuation(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

pub fn metric(r: &Running, series: &str) -> u64 {
    wiremap_relay::metrics::sample(&r.metrics(), series)
        .unwrap_or_else(|| panic!("no metric {series}"))
}

/// Polls the metrics until `pred` holds for `series`.
pub async fn wait_metric(r: &Running, series: &str, pred: impl Fn(u64) -> bool) -> u64 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let v = metric(r, series);
        if pred(v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{series} stuck at {v}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
