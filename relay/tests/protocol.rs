//! Bad input, authentication and capture filters over real sockets.

mod common;

use awc::ws::Message;
use bytes::Bytes;
use common::*;
use futures_util::SinkExt;
use wiremap_wire::{decode, encode, CaptureFilter, Frame, RelayNotice};

fn filter_frame(re: &str, ns: &[&str]) -> Bytes {
    encode(&Frame::CaptureFilter(CaptureFilter {
        pod_regex: re.into(),
        namespaces: ns.iter().map(|s| s.to_string()).collect(),
        exclude_namespaces: vec![],
        revision: 0,
    }))
    .unwrap()
    .into()
}

#[actix_web::test]
async fn malformed_and_oversize_frames_close_only_the_offender() {
    let mut c = config();
    c.max_frame_bytes = 64 << 10;
    let relay = start(c);
    let mut viewer = connect_viewer(&relay).await;
    wait_metric(&relay, "wiremap_relay_viewers", |v| v == 1).await;
    let mut good = connect_probe(&relay, "good").await;
    wait_metric(&relay, "wiremap_relay_probes", |v| v == 1).await;

    let cases: Vec<(&str, Message, u16)> = vec![
        (
            "bad magic",
            Message::Binary(Bytes::from_static(b"XYZW....")),
            1002,
        ),
        (
            "unknown version",
            Message::Binary(Bytes::from_static(&[0x57, 9, 3, 0, 0])),
            1002,
        ),
        (
            "unknown kind",
            Message::Binary(Bytes::from_static(&[0x57, 1, 99, 0])),
            1002,
        ),
        (
            "short",
            Message::Binary(Bytes::from_static(&[0x57, 1])),
            1002,
        ),
        (
            "relay notice from a probe",
            Message::Binary(Bytes::from_static(&[0x57, 1, 7, 0])),
            1002,
        ),
        ("text", Message::Text("hello".into()), 1003),
        ("oversize", Message::Binary(l7("big", 0, 70 << 10)), 1009),
    ];
    for (name, msg, code) in cases {
        let mut bad = connect_probe(&relay, name).await;
        bad.send(msg).await.unwrap();
        assert_eq!(recv_close(&mut bad).await, code, "{name}");
        // the good probe still reaches the viewer
        let f = l7("good", 1, 0);
        good.send(Message::Binary(f.clone())).await.unwrap();
        assert_eq!(recv_data(&mut viewer).await, f, "after {name}");
    }
    // a probe whose first frame is not a Hello
    let (_, mut no_hello) = client()
        .ws(ws_url(&relay, "/ws/probe"))
        .connect()
        .await
        .unwrap();
    no_hello.send(Message::Binary(l7("x", 0, 0))).await.unwrap();
    assert_eq!(recv_close(&mut no_hello).await, 1002);
    // a viewer may only send capture filters
    let mut bad_viewer = connect_viewer(&relay).await;
    bad_viewer
        .send(Message::Binary(l7("x", 0, 0)))
        .await
        .unwrap();
    assert_eq!(recv_close(&mut bad_viewer).await, 1002);

    assert_eq!(
        metric(
            &relay,
            "wiremap_relay_closed_total{endpoint=\"probe\",reason=\"protocol_error\"}"
        ),
        6
    );
    assert_eq!(
        metric(
            &relay,
            "wiremap_relay_closed_total{endpoint=\"probe\",reason=\"too_big\"}"
        ),
        1
    );
    assert_eq!(
        metric(
            &relay,
            "wiremap_relay_closed_total{endpoint=\"probe\",reason=\"not_binary\"}"
        ),
        1
    );
    assert_eq!(
        metric(
            &relay,
            "wiremap_relay_closed_total{endpoint=\"viewer\",reason=\"protocol_error\"}"
        ),
        1
    );
    let f = l7("good", 2, 0);
    good.send(Message::Binary(f.clone())).await.unwrap();
    assert_eq!(recv_data(&mut viewer).await, f);
    relay.stop().await;
}

#[actix_web::test]
async fn wrong_or_missing_tokens_get_401() {
    let mut c = config();
    c.insecure_no_auth = false;
    c.token = Some("probe-secret".into());
    c.viewer_token = Some("viewer-secret".into());
    let relay = start(c);
    let probe_url = ws_url(&relay, "/ws/probe");
    for req in [
        client().ws(&probe_url),
        client().ws(&probe_url).bearer_auth("nope"),
        client().ws(&probe_url).bearer_auth("probe-secret2"),
    ] {
        match req.connect().await {
            Err(awc::error::WsClientError::InvalidResponseStatus(s)) => assert_eq!(s.as_u16(), 401),
            other => panic!("expected 401, got {:?}", other.map(|(r, _)| r.status())),
        }
    }
    let (resp, _probe) = client()
        .ws(&probe_url)
        .bearer_auth("probe-secret")
        .connect()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 101);

    for url in [ws_url(&relay, "/ws"), ws_url(&relay, "/ws?token=bad")] {
        match client().ws(url).connect().await {
            Err(awc::error::WsClientError::InvalidResponseStatus(s)) => assert_eq!(s.as_u16(), 401),
            other => panic!("expected 401, got {:?}", other.map(|(r, _)| r.status())),
        }
    }
    client()
        .ws(ws_url(&relay, "/ws?token=viewer-secret"))
        .connect()
        .await
        .unwrap();
    client()
        .ws(ws_url(&relay, "/ws"))
        .bearer_auth("viewer-secret")
        .connect()
        .await
        .unwrap();
    assert_eq!(
        metric(
            &relay,
            "wiremap_relay_refused_total{endpoint=\"probe\",reason=\"unauthorized\"}"
        ),
        3
    );
    assert_eq!(
        metric(
            &relay,
            "wiremap_relay_refused_total{endpoint=\"viewer\",reason=\"unauthorized\"}"
        ),
        2
    );
    relay.stop().await;
}

async fn recv_filter(conn: &mut Conn) -> CaptureFilter {
    loop {
        if let Frame::CaptureFilter(f) = decode(&recv_binary(conn).await).unwrap() {
            return f;
        }
    }
}

#[actix_web::test]
async fn capture_filter_reaches_probes_now_and_later_and_every_viewer_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("relay-state.json");
    let mut c = config();
    c.state_file = Some(state.clone());
    let relay = start(c.clone());
    let mut p1 = connect_probe(&relay, "n1").await;
    let mut v1 = connect_viewer(&relay).await;
    let mut v2 = connect_viewer(&relay).await;
    wait_metric(&relay, "wiremap_relay_viewers", |v| v == 2).await;
    wait_metric(&relay, "wiremap_relay_probes", |v| v == 1).await;

    v1.send(Message::Binary(filter_frame("^api-", &["shop"])))
        .await
        .unwrap();
    for conn in [&mut p1, &mut v1, &mut v2] {
        let f = recv_filter(conn).await;
        assert_eq!((f.pod_regex.as_str(), f.revision), ("^api-", 1));
        assert_eq!(f.namespaces, vec!["shop".to_string()]);
    }
    let mut p2 = connect_probe(&relay, "n2").await;
    assert_eq!(recv_filter(&mut p2).await.revision, 1);
    let mut v3 = connect_viewer(&relay).await;
    assert_eq!(recv_filter(&mut v3).await.pod_regex, "^api-");

    // a bad one is refused to its sender only; the current one stays
    v2.send(Message::Binary(filter_frame("(unclosed", &[])))
        .await
        .unwrap();
    let reason = loop {
        if let Frame::RelayNotice(RelayNotice::Rejected { reason }) =
            decode(&recv_binary(&mut v2).await).unwrap()
        {
            break reason;
        }
    };
    assert!(reason.contains("regex"), "{reason}");
    assert_eq!(metric(&relay, "wiremap_relay_capture_filter_revision"), 1);
    let saved: CaptureFilter =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!((saved.pod_regex.as_str(), saved.revision), ("^api-", 1));
    relay.stop().await;

    // a restarted relay loads it and hands it to new probes and viewers
    let relay = start(c);
    let mut p = connect_probe(&relay, "n1").await;
    assert_eq!(recv_filter(&mut p).await.revision, 1);
    let mut v = connect_viewer(&relay).await;
    let f = recv_filter(&mut v).await;
    assert_eq!((f.pod_regex.as_str(), f.revision), ("^api-", 1));
    v.send(Message::Binary(filter_frame("^web-", &[])))
        .await
        .unwrap();
    assert_eq!(recv_filter(&mut p).await.revision, 2);
    relay.stop().await;
}
