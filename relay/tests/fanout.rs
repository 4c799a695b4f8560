//! Fan-out over real sockets: byte-for-byte delivery, late joiners,
//! backpressure isolation, slow-viewer disconnect.

mod common;

use awc::ws::Message;
use common::*;
use futures_util::SinkExt;
use wiremap_wire::{decode, Frame, FrameKind, Header, RelayNotice};

#[actix_web::test]
async fn every_viewer_receives_every_probe_frame_byte_for_byte() {
    let relay = start(config());
    let mut viewers = Vec::new();
    for _ in 0..3 {
        viewers.push(connect_viewer(&relay).await);
    }
    wait_metric(&relay, "wiremap_relay_viewers", |v| v == 3).await;
    let mut a = connect_probe(&relay, "node-a").await;
    let mut b = connect_probe(&relay, "node-b").await;
    wait_metric(&relay, "wiremap_relay_probes", |v| v == 2).await;

    // Each round: both probes send, every viewer receives both frames
    // (in either interleaving, each probe's frames in order, same bytes).
    for seq in 0..100u64 {
        let fa = l7("node-a", seq, (seq as usize * 37) % 900);
        let fb = if seq % 10 == 0 {
            l4("node-b", seq)
        } else {
            l7("node-b", seq, 10)
        };
        a.send(Message::Binary(fa.clone())).await.unwrap();
        b.send(Message::Binary(fb.clone())).await.unwrap();
        for v in &mut viewers {
            let mut got = vec![recv_data(v).await, recv_data(v).await];
            if got[0] != fa {
                got.swap(0, 1);
            }
            assert_eq!(got, vec![fa.clone(), fb.clone()], "round {seq}");
        }
    }
    assert_eq!(
        metric(&relay, "wiremap_relay_frames_in_total{kind=\"l7_batch\"}"),
        190
    );
    assert_eq!(
        metric(
            &relay,
            "wiremap_relay_dropped_total{reason=\"viewer_queue_full\"}"
        ),
        0
    );
    relay.stop().await;
}

#[actix_web::test]
async fn late_joiner_gets_cached_l4_and_inventory_before_live_frames() {
    let relay = start(config());
    let mut probe = connect_probe(&relay, "node-a").await;
    probe.send(Message::Binary(l4("node-a", 1))).await.unwrap();
    probe
        .send(Message::Binary(inventory("node-a")))
        .await
        .unwrap();
    probe.send(Message::Binary(l4("node-a", 2))).await.unwrap();
    probe
        .send(Message::Binary(l7("node-a", 1, 0)))
        .await
        .unwrap();
    wait_metric(
        &relay,
        "wiremap_relay_frames_in_total{kind=\"l7_batch\"}",
        |v| v == 1,
    )
    .await;

    let mut viewer = connect_viewer(&relay).await;
    let status = decode(&recv_binary(&mut viewer).await).unwrap();
    assert!(
        matches!(&status, Frame::RelayNotice(RelayNotice::Status { probes, viewers: 1, relay_version })
            if probes == &["node-a".to_string()] && relay_version == wiremap_relay::RELAY_VERSION),
        "{status:?}"
    );
    assert!(
        matches!(decode(&recv_binary(&mut viewer).await).unwrap(), Frame::L4Snapshot(s) if s.seq == 2)
    );
    assert!(
        matches!(decode(&recv_binary(&mut viewer).await).unwrap(), Frame::Inventory(i) if i.node == "node-a")
    );
    // then live traffic (the L7 batch from before the join is not replayed by default)
    probe
        .send(Message::Binary(l7("node-a", 2, 0)))
        .await
        .unwrap();
    assert!(
        matches!(decode(&recv_binary(&mut viewer).await).unwrap(), Frame::L7Batch(b) if b.seq == 2)
    );
    relay.stop().await;
}

#[actix_web::test]
async fn replay_ring_gives_a_new_tab_recent_l7_batches() {
    let mut c = config();
    c.replay_bytes = 1 << 20;
    let relay = start(c);
    let mut probe = connect_probe(&relay, "node-a").await;
    for seq in 0..5 {
        probe
            .send(Message::Binary(l7("node-a", seq, 0)))
            .await
            .unwrap();
    }
    wait_metric(
        &relay,
        "wiremap_relay_frames_in_total{kind=\"l7_batch\"}",
        |v| v == 5,
    )
    .await;
    let mut viewer = connect_viewer(&relay).await;
    for seq in 0..5 {
        assert!(
            matches!(decode(&recv_data(&mut viewer).await).unwrap(), Frame::L7Batch(b) if b.seq == seq)
        );
    }
    relay.stop().await;
}

#[actix_web::test]
async fn a_viewer_that_never_reads_does_not_slow_a_fast_one() {
    let mut c = config();
    c.viewer_queue_bytes = 1 << 20;
    c.viewer_stall_ms = 600_000;
    let relay = start(c);
    let mut slow = connect_viewer(&relay).await; // does not read until the end
    let mut fast = connect_viewer(&relay).await;
    wait_metric(&relay, "wiremap_relay_viewers", |v| v == 2).await;
    let mut probe = connect_probe(&relay, "node-a").await;
    wait_metric(&relay, "wiremap_relay_probes", |v| v == 1).await;

    // Keep sending until the slow viewer's socket buffers and queue are full
    // and L7 batches are being dropped for it; the fast viewer reads every
    // chunk before the next one is sent and must miss nothing.
    let mut seq = 0u64;
    let mut chunks_after_drops = 0;
    while chunks_after_drops < 20 {
        for _ in 0..200 {
            probe
                .send(Message::Binary(l7("node-a", seq, 1000)))
                .await
                .unwrap();
            seq += 1;
        }
        for expect in seq - 200..seq {
            let f = recv_data(&mut fast).await;
            assert!(matches!(decode(&f).unwrap(), Frame::L7Batch(b) if b.seq == expect));
        }
        if metric(
            &relay,
            "wiremap_relay_dropped_total{reason=\"viewer_queue_full\"}",
        ) > 0
        {
            chunks_after_drops += 1;
        }
        assert!(seq < 400_000, "no drops after {seq} batches");
        let depth = metric(&relay, "wiremap_relay_viewer_queue_bytes_max");
        assert!(
            depth <= (1 << 20) + (1 << 19),
            "queue depth {depth} above its cap"
        );
    }
    assert_eq!(metric(&relay, "wiremap_relay_viewers"), 2);
    // the slow viewer, reading at last, is told how many batches it lost
    let lost = loop {
        let b = recv_binary(&mut slow).await;
        if Header::peek(&b).unwrap().kind == FrameKind::RelayNotice {
            if let Frame::RelayNotice(RelayNotice::Dropped { l7_batches, .. }) = decode(&b).unwrap()
            {
                break l7_batches;
            }
        }
    };
    assert!(lost > 0 && lost <= seq);
    relay.stop().await;
}

#[actix_web::test]
async fn a_viewer_full_for_too_long_is_closed_with_4001_and_told_about_drops() {
    let mut c = config();
    c.viewer_queue_bytes = 64 << 10;
    c.viewer_stall_ms = 200;
    let relay = start(c);
    let mut slow = connect_viewer(&relay).await;
    wait_metric(&relay, "wiremap_relay_viewers", |v| v == 1).await;
    let mut probe = connect_probe(&relay, "node-a").await;
    let series = "wiremap_relay_closed_total{endpoint=\"viewer\",reason=\"slow_viewer\"}";
    let mut seq = 0u64;
    while metric(&relay, series) == 0 {
        for _ in 0..200 {
            probe
                .send(Message::Binary(l7("node-a", seq, 1000)))
                .await
                .unwrap();
            seq += 1;
        }
        assert!(seq < 2_000_000, "never disconnected");
    }
    // now read what was buffered, then the close frame
    assert_eq!(recv_close(&mut slow).await, 4001);
    assert!(
        metric(
            &relay,
            "wiremap_relay_dropped_total{reason=\"viewer_queue_full\"}"
        ) > 0
    );
    wait_metric(&relay, "wiremap_relay_viewers", |v| v == 0).await;
    relay.stop().await;
}
