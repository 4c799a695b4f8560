//! The data path: encoded frames → store → graph, as the table shows it.

mod fixtures;

use fixtures::*;
use wasm_bindgen_test::*;
use wiremap_web::graph::{build, GraphView};
use wiremap_web::rates::RateTracker;
use wiremap_web::store::Store;
use wiremap_web::view_state::{Grouping, MapType, Metric, ViewState};
use wiremap_wire::{encode, Frame, Protocol, RelayNotice};

wasm_bindgen_test_configure!(run_in_browser);

fn graph(store: &Store, view: &ViewState) -> GraphView {
    build(store, view, &mut RateTracker::new(), 0.0)
}

fn edge<'a>(
    g: &'a GraphView,
    src: &str,
    dst: &str,
    p: Protocol,
) -> Option<&'a wiremap_web::graph::GraphEdge> {
    g.edges
        .iter()
        .find(|e| g.nodes[e.src].label == src && g.nodes[e.dst].label == dst && e.protocol == p)
}

/// front-end → catalogue (HTTP twice, gRPC once), load-test → front-end.
fn sample_store() -> Store {
    let ids = vec![
        pod("front-end", "sock-shop", "node-a", 1),
        pod("catalogue", "sock-shop", "node-b", 2),
        pod("load-test", "loadtest", "node-a", 3),
    ];
    let mut s = Store::new();
    s.ingest_bytes(&l7_frame(
        "node-a",
        1,
        ids.clone(),
        vec![
            entry(1, 0, 1, Protocol::HTTP, 100, 1_000),
            entry(2, 0, 1, Protocol::HTTP, 50, 500),
            entry(3, 0, 1, Protocol::GRPC, 7, 9),
        ],
    ));
    s.ingest_bytes(&l7_frame(
        "node-a",
        2,
        vec![ids[2].clone(), ids[0].clone()],
        vec![entry(4, 0, 1, Protocol::HTTP, 10, 20)],
    ));
    s
}

#[wasm_bindgen_test]
fn l7_edges_sum_request_and_response_per_protocol() {
    let s = sample_store();
    assert_eq!(s.counters().entries_received, 4);
    let g = graph(&s, &ViewState::default());
    let labels: Vec<&str> = g.nodes.iter().map(|n| n.label.as_str()).collect();
    assert_eq!(labels, ["catalogue", "front-end", "load-test"]);
    let http = edge(&g, "front-end", "catalogue", Protocol::HTTP).expect("http edge");
    assert_eq!(http.bytes, 1_650);
    assert_eq!(http.entries, 2);
    let grpc = edge(&g, "front-end", "catalogue", Protocol::GRPC).expect("grpc edge");
    assert_eq!(grpc.bytes, 16);
    let lt = edge(&g, "load-test", "front-end", Protocol::HTTP).expect("second batch edge");
    assert_eq!(lt.bytes, 30);
    assert_eq!(g.edges.len(), 3);
}

#[wasm_bindgen_test]
fn size_toggles_change_edge_bytes() {
    let s = sample_store();
    let mut v = ViewState {
        include_response: false,
        ..ViewState::default()
    };
    let g = graph(&s, &v);
    assert_eq!(
        edge(&g, "front-end", "catalogue", Protocol::HTTP).map(|e| e.bytes),
        Some(150)
    );
    v.include_response = true;
    v.include_request = false;
    let g = graph(&s, &v);
    assert_eq!(
        edge(&g, "front-end", "catalogue", Protocol::HTTP).map(|e| e.bytes),
        Some(1_500)
    );
}

#[wasm_bindgen_test]
fn grouping_by_namespace_and_node_merges_nodes() {
    let s = sample_store();
    let v = ViewState {
        grouping: Grouping::Namespace,
        ..ViewState::default()
    };
    let g = graph(&s, &v);
    let labels: Vec<&str> = g.nodes.iter().map(|n| n.label.as_str()).collect();
    assert_eq!(labels, ["loadtest", "sock-shop"]);
    // front-end → catalogue became a self-loop of sock-shop.
    let own = edge(&g, "sock-shop", "sock-shop", Protocol::HTTP).expect("self edge");
    assert_eq!(own.bytes, 1_650);
    let v = ViewState {
        grouping: Grouping::Node,
        ..ViewState::default()
    };
    let g = graph(&s, &v);
    let labels: Vec<&str> = g.nodes.iter().map(|n| n.label.as_str()).collect();
    assert_eq!(labels, ["node-a", "node-b"]);
}

#[wasm_bindgen_test]
fn hidden_legend_items_remove_nodes_and_edges() {
    let s = sample_store();
    let mut v = ViewState::default();
    v.hidden_namespaces.insert("loadtest".into());
    let g = graph(&s, &v);
    assert!(g.nodes.iter().all(|n| n.label != "load-test"));
    assert_eq!(g.edges.len(), 2);
    // The legend still lists the hidden namespace.
    assert!(g.namespaces.iter().any(|n| n == "loadtest"));
    v.hidden_protocols.insert("HTTP".into());
    let g = graph(&s, &v);
    assert_eq!(g.edges.len(), 1);
    assert_eq!(g.edges[0].protocol, Protocol::GRPC);
}

#[wasm_bindgen_test]
fn throughput_counts_entries() {
    let s = sample_store();
    let v = ViewState {
        metric: Metric::Throughput,
        cumulative: true,
        ..ViewState::default()
    };
    let g = graph(&s, &v);
    let e = edge(&g, "front-end", "catalogue", Protocol::HTTP).expect("edge");
    assert_eq!(e.value(true), 2.0);
}

#[wasm_bindgen_test]
fn display_filter_recomputes_from_retained_entries() {
    let mut s = sample_store();
    s.set_filter(Some(Box::new(|v| v.entry.protocol == Protocol::GRPC)));
    let g = graph(&s, &ViewState::default());
    assert_eq!(g.edges.len(), 1);
    assert_eq!(s.counters().entries_shown, 1);
    // New entries are filtered as they arrive.
    s.ingest_bytes(&l7_frame(
        "node-b",
        3,
        vec![pod("a", "x", "node-b", 9), pod("b", "x", "node-b", 10)],
        vec![
            entry(9, 0, 1, Protocol::HTTP, 1, 1),
            entry(10, 1, 0, Protocol::GRPC, 5, 5),
        ],
    ));
    let g = graph(&s, &ViewState::default());
    assert_eq!(g.edges.len(), 2);
    s.set_filter(None);
    let g = graph(&s, &ViewState::default());
    assert_eq!(g.edges.len(), 5);
}

#[wasm_bindgen_test]
fn hostile_frames_are_counted_not_fatal() {
    let mut s = Store::new();
    s.ingest_bytes(&[0x57, 1, 3]);
    s.ingest_bytes(b"not a frame at all");
    let mut bad = l7_frame(
        "n",
        1,
        vec![external(1)],
        vec![entry(1, 0, 0, Protocol::DNS, 1, 1)],
    );
    bad.truncate(bad.len() - 3);
    s.ingest_bytes(&bad);
    assert_eq!(s.counters().decode_errors, 3);
    assert!(s.last_error().is_some());
    // Peer index outside the identity table.
    s.ingest_bytes(&l7_frame(
        "n",
        2,
        vec![external(1)],
        vec![entry(1, 0, 7, Protocol::DNS, 1, 1)],
    ));
    assert_eq!(s.counters().bad_peer_index, 1);
    assert_eq!(graph(&s, &ViewState::default()).edges.len(), 0);
}

#[wasm_bindgen_test]
fn relay_drops_accumulate_across_connections() {
    let mut s = Store::new();
    let drop = |b: u64| {
        encode(&Frame::RelayNotice(RelayNotice::Dropped {
            l7_batches: b,
            bytes: b * 100,
        }))
        .expect("encodable")
    };
    s.connection_opened();
    s.ingest_bytes(&drop(3));
    s.ingest_bytes(&drop(5));
    s.connection_opened();
    s.ingest_bytes(&drop(2));
    assert_eq!(s.counters().relay_dropped_batches, 7);
    assert_eq!(s.counters().relay_dropped_bytes, 700);
}

#[wasm_bindgen_test]
fn probes_follow_relay_notices() {
    let mut s = Store::new();
    let f = |n: RelayNotice| encode(&Frame::RelayNotice(n)).expect("encodable");
    s.ingest_bytes(&f(RelayNotice::Status {
        probes: vec!["node-a".into(), "node-b".into()],
        viewers: 1,
        relay_version: "0.1.0".into(),
    }));
    assert_eq!(s.probes().len(), 2);
    s.ingest_bytes(&f(RelayNotice::ProbeDisconnected {
        node: "node-a".into(),
    }));
    assert_eq!(s.probes().iter().collect::<Vec<_>>(), ["node-b"]);
}

#[wasm_bindgen_test]
fn l4_map_uses_latest_snapshot_per_probe() {
    let ids = vec![pod("a", "ns", "n1", 1), pod("b", "ns", "n1", 2)];
    let mut s = Store::new();
    s.ingest_bytes(&l4_frame(
        "n1",
        1,
        ids.clone(),
        vec![counter(0, 1, 100, 1_000)],
    ));
    s.ingest_bytes(&l4_frame(
        "n1",
        2,
        ids.clone(),
        vec![counter(0, 1, 300, 3_000)],
    ));
    s.ingest_bytes(&l4_frame("n2", 1, ids, vec![counter(1, 0, 5, 5)]));
    let v = ViewState {
        map: MapType::L4,
        ..ViewState::default()
    };
    let g = graph(&s, &v);
    assert_eq!(
        edge(&g, "a", "b", Protocol::TCP).map(|e| e.bytes),
        Some(3_300)
    );
    assert_eq!(edge(&g, "b", "a", Protocol::TCP).map(|e| e.bytes), Some(10));
    let t = ViewState {
        metric: Metric::Throughput,
        cumulative: true,
        ..v
    };
    let g = graph(&s, &t);
    assert_eq!(
        edge(&g, "a", "b", Protocol::TCP).map(|e| e.value(true)),
        Some(5.0)
    );
    // The L7 map of the same store is empty.
    assert!(graph(&s, &ViewState::default()).edges.is_empty());
}

#[wasm_bindgen_test]
fn rates_come_from_successive_builds() {
    let ids = vec![pod("a", "ns", "n1", 1), pod("b", "ns", "n1", 2)];
    let mut s = Store::new();
    let mut rates = RateTracker::new();
    let v = ViewState::default();
    s.ingest_bytes(&l7_frame(
        "n1",
        1,
        ids.clone(),
        vec![entry(1, 0, 1, Protocol::HTTP, 500, 500)],
    ));
    build(&s, &v, &mut rates, 10_000.0);
    s.ingest_bytes(&l7_frame(
        "n1",
        2,
        ids,
        vec![entry(2, 0, 1, Protocol::HTTP, 1_000, 1_000)],
    ));
    let g = build(&s, &v, &mut rates, 12_000.0);
    // 3000 bytes over 3 s (the first total counts as arriving over 1 s).
    assert!(
        (g.edges[0].rate - 1_000.0).abs() < 1e-9,
        "rate {}",
        g.edges[0].rate
    );
}
