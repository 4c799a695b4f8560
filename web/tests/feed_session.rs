//! The data path in the browser: encoded frames → the feed (the model's
//! store and L4 state) → the session's map, as the table shows it. The
//! aggregation itself is the model's and is tested natively there; these
//! tests check that the app wires it right.

mod fixtures;

use fixtures::*;
use wasm_bindgen_test::*;
use wiremap_model::{Grouping, Metric};
use wiremap_web::feed::Feed;
use wiremap_web::session::{EdgeRow, Session};
use wiremap_web::view_state::{LegendKind, MapType, ViewState};
use wiremap_wire::{encode, Frame, Protocol, RelayNotice};

wasm_bindgen_test_configure!(run_in_browser);

/// The wall clock of these tests: far from the fixtures' timestamps, as
/// when a capture is replayed.
const WALL: i64 = 1_800_000_000_000_000;

fn edge<'a>(rows: &'a [EdgeRow], src: &str, dst: &str, p: &str) -> Option<&'a EdgeRow> {
    rows.iter()
        .find(|e| e.src == src && e.dst == dst && e.protocol == p)
}

fn session(view: ViewState) -> Session {
    let mut s = Session::new(ViewState::default(), "ws://t/ws".into());
    ingest_sample(&mut s.feed);
    s.set_view(view, WALL);
    s
}

/// front-end → catalogue (HTTP twice, gRPC once), load-test → front-end.
fn ingest_sample(f: &mut Feed) {
    let ids = vec![
        pod("front-end", "sock-shop", "node-a", 1),
        pod("catalogue", "sock-shop", "node-b", 2),
        pod("load-test", "loadtest", "node-a", 3),
    ];
    f.ingest_bytes(
        &l7_frame(
            "node-a",
            1,
            ids.clone(),
            vec![
                entry(1, 0, 1, Protocol::HTTP, 100, 1_000),
                entry(2, 0, 1, Protocol::HTTP, 50, 500),
                entry(3, 0, 1, Protocol::GRPC, 7, 9),
            ],
        ),
        WALL,
    );
    f.ingest_bytes(
        &l7_frame(
            "node-a",
            2,
            vec![ids[2].clone(), ids[0].clone()],
            vec![entry(4, 0, 1, Protocol::HTTP, 10, 20)],
        ),
        WALL,
    );
}

#[wasm_bindgen_test]
fn replayed_entries_show_as_edges_with_the_models_figures() {
    let s = session(ViewState::default());
    assert_eq!(s.feed.counters().entries_received, 4);
    assert_eq!(s.feed.l7.len(), 4);
    let t = s.table();
    assert_eq!(t.nodes.len(), 3);
    assert_eq!(t.edges.len(), 3);
    let http = edge(&t.edges, "front-end", "catalogue", "HTTP").expect("HTTP edge");
    assert_eq!((http.bytes, http.entries), (1_650, 2));
    assert_eq!((http.request_bytes, http.response_bytes), (150, 1_500));
    // The label is the model's rate over its 10 s window.
    assert_eq!(http.shown, "165.00 B/s");
    assert_eq!(
        edge(&t.edges, "load-test", "front-end", "HTTP").map(|e| e.bytes),
        Some(30)
    );
    assert!(http.latency_us.is_some());
}

#[wasm_bindgen_test]
fn settings_reach_the_model() {
    let mut v = ViewState::default();
    v.settings.include_response = false;
    v.settings.cumulative = true;
    let s = session(v.clone());
    let t = s.table();
    let http = edge(&t.edges, "front-end", "catalogue", "HTTP").expect("edge");
    assert_eq!(http.bytes, 150);
    assert_eq!(http.shown, "150.00 B");
    v.settings.metric = Metric::Throughput;
    let s = session(v.clone());
    let http = s
        .table()
        .edges
        .into_iter()
        .find(|e| e.protocol == "HTTP" && e.src == "front-end");
    assert_eq!(http.map(|e| e.value), Some(2.0));
    v.settings.grouping = Grouping::Namespace;
    let s = session(v.clone());
    let names: Vec<String> = s.table().nodes.into_iter().map(|n| n.label).collect();
    assert_eq!(names, ["loadtest", "sock-shop"]);
    v.settings.grouping = Grouping::Node;
    assert_eq!(session(v).table().nodes.len(), 2);
}

#[wasm_bindgen_test]
fn legend_hiding_removes_and_dims() {
    let mut v = ViewState::default();
    v.toggle_hidden(LegendKind::Namespace, "loadtest");
    let s = session(v.clone());
    assert_eq!(s.table().nodes.len(), 2);
    let lg = s.legend();
    let hidden: Vec<(&str, bool)> = lg
        .namespaces
        .iter()
        .map(|l| (l.name.as_str(), l.hidden))
        .collect();
    assert_eq!(hidden, [("loadtest", true), ("sock-shop", false)]);
    v.toggle_hidden(LegendKind::Protocol, "gRPC");
    assert!(v.is_hidden(LegendKind::Protocol, "gRPC"));
    let s = session(v.clone());
    assert_eq!(s.table().edges.len(), 1);
    v.hide_all();
    let s = session(v.clone());
    assert!(s.table().edges.is_empty());
    assert!(s.legend().namespaces.iter().all(|l| l.hidden));
    v.show_all();
    assert_eq!(session(v).table().edges.len(), 3);
}

#[wasm_bindgen_test]
fn the_kfl2_filter_selects_entries_and_bad_filters_are_reported() {
    let mut s = session(ViewState::default());
    let v = ViewState {
        filter: "grpc".into(),
        ..ViewState::default()
    };
    s.set_view(v, WALL);
    assert_eq!(s.table().edges.len(), 1);
    assert_eq!(s.status().matched, 1);
    // New entries are filtered on the next computation.
    s.feed.ingest_bytes(
        &l7_frame(
            "node-b",
            3,
            vec![pod("a", "x", "node-b", 9), pod("b", "x", "node-b", 10)],
            vec![
                entry(9, 0, 1, Protocol::HTTP, 1, 1),
                entry(10, 1, 0, Protocol::GRPC, 5, 5),
            ],
        ),
        WALL,
    );
    s.tick(1.0, WALL);
    assert_eq!(s.table().edges.len(), 2);
    let bad = ViewState {
        filter: "grpc &&".into(),
        ..ViewState::default()
    };
    s.set_view(bad, WALL);
    assert!(s.status().filter_error.is_some());
    assert_eq!(s.table().edges.len(), 5, "a broken filter filters nothing");
}

#[wasm_bindgen_test]
fn pause_freezes_the_map_while_data_arrives() {
    let mut s = session(ViewState::default());
    s.paused = true;
    s.feed.ingest_bytes(
        &l7_frame(
            "node-a",
            9,
            vec![
                pod("late", "odd", "node-a", 99),
                pod("front-end", "sock-shop", "node-a", 1),
            ],
            vec![entry(50, 0, 1, Protocol::HTTP, 1, 1)],
        ),
        WALL,
    );
    s.tick(1.0, WALL);
    assert_eq!(s.table().nodes.len(), 3);
    assert_eq!(s.status().entries, 5);
    s.paused = false;
    s.tick(2.0, WALL);
    assert_eq!(s.table().nodes.len(), 4);
}

#[wasm_bindgen_test]
fn hostile_frames_are_counted_not_fatal() {
    let mut f = Feed::new();
    f.ingest_bytes(&[0x57, 1, 3], WALL);
    f.ingest_bytes(b"not a frame at all", WALL);
    let mut bad = l7_frame(
        "n",
        1,
        vec![external(1)],
        vec![entry(1, 0, 0, Protocol::DNS, 1, 1)],
    );
    bad.truncate(bad.len() - 3);
    f.ingest_bytes(&bad, WALL);
    assert_eq!(f.counters().decode_errors, 3);
    assert!(f.last_error().is_some());
    // Peer index outside the identity table: the model keeps it as its IP.
    f.ingest_bytes(
        &l7_frame(
            "n",
            2,
            vec![external(1)],
            vec![entry(1, 0, 7, Protocol::DNS, 1, 1)],
        ),
        WALL,
    );
    assert_eq!(f.overflow(), 1);
    // A stale L4 snapshot is refused and counted.
    let ids = vec![pod("a", "ns", "n1", 1), pod("b", "ns", "n1", 2)];
    f.ingest_bytes(
        &l4_frame("n1", 2, ids.clone(), vec![counter(0, 1, 1, 1)]),
        WALL,
    );
    f.ingest_bytes(&l4_frame("n1", 1, ids, vec![counter(0, 1, 1, 1)]), WALL);
    assert_eq!(f.counters().l4_refused, 1);
}

#[wasm_bindgen_test]
fn relay_drops_accumulate_across_connections() {
    let mut f = Feed::new();
    let drop = |b: u64| {
        encode(&Frame::RelayNotice(RelayNotice::Dropped {
            l7_batches: b,
            bytes: b * 100,
        }))
        .expect("encodable")
    };
    f.connection_opened();
    f.ingest_bytes(&drop(3), WALL);
    f.ingest_bytes(&drop(5), WALL);
    f.connection_opened();
    f.ingest_bytes(&drop(2), WALL);
    assert_eq!(f.counters().relay_dropped_batches, 7);
    assert_eq!(f.counters().relay_dropped_bytes, 700);
}

#[wasm_bindgen_test]
fn probes_follow_relay_notices() {
    let mut f = Feed::new();
    let n = |n: RelayNotice| encode(&Frame::RelayNotice(n)).expect("encodable");
    f.ingest_bytes(
        &n(RelayNotice::Status {
            probes: vec!["node-a".into(), "node-b".into()],
            viewers: 1,
            relay_version: "0.1.0".into(),
        }),
        WALL,
    );
    assert_eq!(f.probes().len(), 2);
    f.ingest_bytes(
        &n(RelayNotice::ProbeDisconnected {
            node: "node-a".into(),
        }),
        WALL,
    );
    assert_eq!(f.probes().iter().collect::<Vec<_>>(), ["node-b"]);
}

#[wasm_bindgen_test]
fn l4_map_comes_from_the_snapshots() {
    let ids = vec![pod("a", "ns", "n1", 1), pod("b", "ns", "n1", 2)];
    let mut s = Session::new(ViewState::default(), "ws://t/ws".into());
    s.feed.ingest_bytes(
        &l4_frame("n1", 1, ids.clone(), vec![counter(0, 1, 100, 1_000)]),
        WALL,
    );
    s.feed.ingest_bytes(
        &l4_frame("n1", 2, ids.clone(), vec![counter(0, 1, 300, 3_000)]),
        WALL,
    );
    s.feed
        .ingest_bytes(&l4_frame("n2", 1, ids, vec![counter(1, 0, 5, 5)]), WALL);
    let mut v = ViewState {
        map: MapType::L4,
        ..ViewState::default()
    };
    s.set_view(v.clone(), WALL);
    let t = s.table();
    assert_eq!(
        edge(&t.edges, "a", "b", "TCP").map(|e| e.bytes),
        Some(3_300)
    );
    assert_eq!(edge(&t.edges, "b", "a", "TCP").map(|e| e.bytes), Some(10));
    v.settings.metric = Metric::Throughput;
    v.settings.cumulative = true;
    s.set_view(v, WALL);
    assert_eq!(
        edge(&s.table().edges, "a", "b", "TCP").map(|e| e.value),
        Some(5.0)
    );
    // The L7 map of the same data is empty.
    s.set_view(ViewState::default(), WALL);
    assert!(s.table().edges.is_empty());
}
