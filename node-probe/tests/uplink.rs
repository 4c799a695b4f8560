//! The uplink against a real WebSocket server on loopback: Hello first,
//! the bearer token, capture filters coming back, and a reconnect that
//! starts over with Hello.

use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tungstenite::handshake::server::{Request, Response};
use tungstenite::Message;
use wiremap_probe::uplink::{Uplink, UplinkConfig};
use wiremap_wire::{decode, encode, CaptureFilter, Frame, Hello, Inventory, ProbeStats};

fn hello() -> Frame {
    Frame::Hello(Hello {
        node: "node-a".into(),
        probe_version: "test".into(),
        epoch: 42,
    })
}

fn inventory() -> Frame {
    Frame::Inventory(Inventory {
        node: "node-a".into(),
        epoch: 42,
        nodes: vec![],
        identities: vec![],
    })
}

fn stats(n: u64) -> Frame {
    Frame::ProbeStats(ProbeStats {
        node: "node-a".into(),
        epoch: 42,
        taken_at_us: 0,
        counters: vec![("n".into(), n)],
    })
}

/// What the fake relay saw on one connection.
#[derive(Debug)]
struct Conn {
    auth: Option<String>,
    frames: Vec<Frame>,
}

/// A relay stand-in: per connection, records the Authorization header,
/// reads `per_conn` frames, sends a capture filter, then hangs up.
#[allow(clippy::result_large_err)] // tungstenite's callback signature fixes the error type
fn relay(per_conn: usize, conns: usize) -> (String, mpsc::Receiver<Conn>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/ws/probe", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().take(conns).enumerate() {
            let stream = stream.unwrap();
            let mut auth = None;
            let mut ws = tungstenite::accept_hdr(stream, |req: &Request, resp: Response| {
                auth = req
                    .headers()
                    .get("authorization")
                    .map(|v| v.to_str().unwrap_or("").to_string());
                Ok(resp)
            })
            .unwrap();
            let mut frames = Vec::new();
            while frames.len() < per_conn {
                match ws.read() {
                    Ok(Message::Binary(b)) => frames.push(decode(&b).expect("probe frames decode")),
                    Ok(_) => {}
                    Err(e) => panic!("relay read: {e}"),
                }
            }
            let f = Frame::CaptureFilter(CaptureFilter {
                pod_regex: "web".into(),
                namespaces: vec![],
                exclude_namespaces: vec![],
                revision: i as u64 + 1,
            });
            ws.send(Message::binary(encode(&f).unwrap())).unwrap();
            tx.send(Conn { auth, frames }).unwrap();
            // Hang up cleanly: the close handshake keeps the filter ahead
            // of the end of the connection.
            let _ = ws.close(None);
            while ws.read().is_ok() {}
        }
    });
    (url, rx)
}

#[test]
fn hello_first_token_filters_and_reconnect() {
    let (url, conns) = relay(4, 2);
    let mut cfg = UplinkConfig::new(url, Some("s3cret".into()), hello(), inventory());
    cfg.backoff_min = Duration::from_millis(20);
    cfg.backoff_max = Duration::from_millis(100);
    let up = Uplink::start(cfg).unwrap();
    up.send(&stats(1));
    up.send(&stats(2));

    let mut filters = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while filters.is_empty() {
        assert!(
            Instant::now() < deadline,
            "no capture filter reached the probe"
        );
        if let Some(f) = up.try_filter() {
            filters.push(f);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(filters[0].pod_regex, "web");

    let first = conns
        .recv_timeout(Duration::from_secs(20))
        .expect("first connection");
    assert_eq!(first.auth.as_deref(), Some("Bearer s3cret"));
    assert_eq!(first.frames[0], hello(), "Hello comes first");
    assert_eq!(first.frames[1], inventory(), "then the inventory");
    assert_eq!(&first.frames[2..], &[stats(1), stats(2)]);

    // The relay hung up: the uplink reconnects and starts over. Frames
    // written into the closing connection are lost (at most once), so keep
    // sending until the new connection has seen some.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 100;
    let second = loop {
        assert!(Instant::now() < deadline, "no reconnection");
        up.send(&stats(n));
        n += 1;
        if let Ok(c) = conns.recv_timeout(Duration::from_millis(20)) {
            break c;
        }
    };
    assert_eq!(second.frames[0], hello());
    assert_eq!(second.frames[1], inventory());
    assert!(
        matches!(&second.frames[2], Frame::ProbeStats(s) if s.counters[0].1 >= 100),
        "{:?}",
        second.frames
    );
    let counters = up.counters();
    let sent = counters
        .iter()
        .find(|(k, _)| k == "uplink.frames_sent")
        .unwrap()
        .1;
    let connects = counters
        .iter()
        .find(|(k, _)| k == "uplink.connects")
        .unwrap()
        .1;
    assert!(sent >= 7, "sent {sent}");
    assert_eq!(connects, 2);
    up.shutdown(Duration::from_secs(2));
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    // Nothing listens on this port: frames pile up in the bounded queue.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/ws/probe", listener.local_addr().unwrap());
    drop(listener);
    let mut cfg = UplinkConfig::new(url, None, hello(), inventory());
    cfg.queue_cap = 4;
    let up = Uplink::start(cfg).unwrap();
    for i in 0..100 {
        up.send(&stats(i));
    }
    let dropped = up
        .counters()
        .into_iter()
        .find(|(k, _)| k == "uplink.frames_dropped_queue_full")
        .unwrap()
        .1;
    assert!(dropped >= 100 - 2 * 4 - 1, "dropped {dropped}");
    up.shutdown(Duration::from_millis(200));
}
