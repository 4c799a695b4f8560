//! Layout stability and the session's snapshots (table, status, legend).

mod fixtures;

use fixtures::*;
use wasm_bindgen_test::*;
use wiremap_web::layout::{Layout, Point};
use wiremap_web::session::{ConnState, Session};
use wiremap_web::view_state::{Grouping, ViewState};
use wiremap_wire::Protocol;

wasm_bindgen_test_configure!(run_in_browser);

fn busy_session(n: u8) -> Session {
    let mut s = Session::new(ViewState::default(), "ws://test/ws".into());
    let ids: Vec<_> = (0..n)
        .map(|i| {
            pod(
                &format!("p{i}"),
                if i % 2 == 0 { "even" } else { "odd" },
                "node-a",
                i,
            )
        })
        .collect();
    let entries = (0..u32::from(n))
        .map(|i| {
            entry(
                u64::from(i),
                i,
                (i + 1) % u32::from(n),
                Protocol::HTTP,
                10,
                20,
            )
        })
        .collect();
    s.store.ingest_bytes(&l7_frame("node-a", 1, ids, entries));
    s.tick(0.0);
    s
}

#[wasm_bindgen_test]
fn layout_settles_spreads_nodes_and_keeps_them_finite() {
    let mut s = busy_session(30);
    for _ in 0..2_000 {
        if !s.step_layout(1) {
            break;
        }
    }
    let pos = s.layout.positions(&s.graph);
    assert_eq!(pos.len(), 30);
    assert!(pos.iter().all(|p| p.x.is_finite() && p.y.is_finite()));
    let mut min_d = f64::MAX;
    for (i, a) in pos.iter().enumerate() {
        for b in &pos[i + 1..] {
            min_d = min_d.min(((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt());
        }
    }
    assert!(min_d > 20.0, "nodes overlap: {min_d}");
}

#[wasm_bindgen_test]
fn existing_nodes_keep_their_place_when_data_grows() {
    let mut s = busy_session(6);
    for _ in 0..500 {
        s.step_layout(1);
    }
    let before = s.layout.positions(&s.graph);
    // Same nodes again: the rebuild must not move anything by itself.
    s.tick(1_000.0);
    assert_eq!(s.layout.positions(&s.graph), before);
}

#[wasm_bindgen_test]
fn pinned_nodes_stay_put() {
    let mut s = busy_session(5);
    s.layout.pin(
        "p0",
        Point {
            x: 999.0,
            y: -999.0,
        },
    );
    s.layout.reheat(1.0);
    for _ in 0..50 {
        s.step_layout(1);
    }
    let i = s
        .graph
        .nodes
        .iter()
        .position(|n| n.label == "p0")
        .expect("p0");
    assert_eq!(
        s.layout.positions(&s.graph)[i],
        Point {
            x: 999.0,
            y: -999.0
        }
    );
    let mut l = Layout::new();
    l.pin("absent", Point::default());
    assert!(l.positions(&s.graph).iter().all(|p| *p == Point::default()));
}

#[wasm_bindgen_test]
fn table_status_and_legend_describe_the_graph() {
    let mut s = busy_session(4);
    s.conn = ConnState::Connected;
    let t = s.table();
    assert_eq!(t.nodes.len(), 4);
    assert_eq!(t.edges.len(), 4);
    let e = t.edges.iter().find(|e| e.src == "p0").expect("p0 edge");
    assert_eq!(
        (e.dst.as_str(), e.protocol.as_str(), e.bytes, e.entries),
        ("p1", "HTTP", 30, 1)
    );
    let st = s.status();
    assert_eq!(st.state.as_str(), "connected");
    assert_eq!(st.entries, 4);
    assert_eq!(st.probes, ["node-a"]);
    assert_eq!(s.legend().namespaces, ["even", "odd"]);
    // Pause freezes the graph while entries keep arriving.
    s.paused = true;
    s.store.ingest_bytes(&l7_frame(
        "node-a",
        2,
        vec![
            pod("late", "odd", "node-a", 99),
            pod("p0", "even", "node-a", 0),
        ],
        vec![entry(50, 0, 1, Protocol::HTTP, 1, 1)],
    ));
    s.tick(500.0);
    assert_eq!(s.table().nodes.len(), 4);
    assert_eq!(s.status().entries, 5);
    s.paused = false;
    s.tick(1_000.0);
    assert_eq!(s.table().nodes.len(), 5);
    // Regrouping by namespace: two nodes.
    let v = ViewState {
        grouping: Grouping::Namespace,
        ..ViewState::default()
    };
    s.set_view(v, 1_500.0);
    assert_eq!(s.table().nodes.len(), 2);
}

#[wasm_bindgen_test]
fn exported_json_lists_the_graph() {
    let s = busy_session(3);
    let v: serde_json::Value =
        serde_json::from_str(&wiremap_web::export::graph_json(&s.graph)).expect("valid JSON");
    assert_eq!(v["map"], "l7");
    assert_eq!(v["nodes"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["edges"][0]["bytes"], 30);
    assert_eq!(v["edges"][0]["protocol"], "HTTP");
}
