//! The session drives the model's layout: positions stay finite and apart,
//! stay put when the data grows, pins hold and live in the view (URL).

mod fixtures;

use fixtures::*;
use wasm_bindgen_test::*;
use wiremap_model::{Grouping, Pin};
use wiremap_web::session::{ConnState, Session};
use wiremap_web::view_state::ViewState;
use wiremap_wire::Protocol;

wasm_bindgen_test_configure!(run_in_browser);

const WALL: i64 = 1_800_000_000_000_000;

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
    s.feed
        .ingest_bytes(&l7_frame("node-a", 1, ids, entries), WALL);
    s.set_view(ViewState::default(), WALL);
    s
}

fn settle(s: &mut Session) {
    for _ in 0..5_000 {
        if !s.step_layout(5) {
            break;
        }
    }
}

#[wasm_bindgen_test]
fn layout_settles_spreads_nodes_and_keeps_them_finite() {
    let mut s = busy_session(30);
    settle(&mut s);
    let pos = s.positions();
    assert_eq!(pos.len(), 30);
    assert!(pos.iter().all(|p| p.x.is_finite() && p.y.is_finite()));
    let mut min_d = f64::MAX;
    for (i, a) in pos.iter().enumerate() {
        for b in &pos[i + 1..] {
            min_d = min_d.min(((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt());
        }
    }
    assert!(min_d > 10.0, "nodes overlap: {min_d}");
}

#[wasm_bindgen_test]
fn existing_nodes_keep_their_place_when_data_grows() {
    let mut s = busy_session(6);
    settle(&mut s);
    let before = s.positions();
    // The same nodes again: recomputing must not move anything by itself.
    s.tick(1_000.0, WALL + 1_000);
    settle(&mut s);
    assert_eq!(s.positions(), before);
}

#[wasm_bindgen_test]
fn pins_from_the_view_hold_nodes() {
    let mut s = busy_session(5);
    let v = ViewState {
        pins: vec![Pin {
            key: "even/p0".into(),
            x: 999.0,
            y: -999.0,
        }],
        ..ViewState::default()
    };
    s.set_view(v.clone(), WALL);
    s.layout.reheat(1.0);
    settle(&mut s);
    let i = s.graph.node_index("even/p0").expect("p0");
    assert_eq!((s.positions()[i].x, s.positions()[i].y), (999.0, -999.0));
    // The pins survive the URL.
    assert_eq!(ViewState::from_query(&v.to_query()).pins, v.pins);
    s.unpin_all();
    assert!(s.layout.pins().is_empty());
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
    assert_eq!(st.stored, 4);
    assert_eq!(st.probes, ["node-a"]);
    let ns: Vec<String> = s.legend().namespaces.into_iter().map(|l| l.name).collect();
    assert_eq!(ns, ["even", "odd"]);
    // Regrouping by namespace: two nodes.
    let mut v = ViewState::default();
    v.settings.grouping = Grouping::Namespace;
    s.set_view(v, WALL);
    assert_eq!(s.table().nodes.len(), 2);
}

#[wasm_bindgen_test]
fn exported_json_lists_the_graph() {
    let s = busy_session(3);
    let v: serde_json::Value =
        serde_json::from_str(&wiremap_web::export::graph_json(&s.graph, "l7")).expect("valid JSON");
    assert_eq!(v["map"], "l7");
    assert_eq!(v["nodes"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["edges"][0]["bytes"], 30);
    assert_eq!(v["edges"][0]["protocol"], "HTTP");
}
