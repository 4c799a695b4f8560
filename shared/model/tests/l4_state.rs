//! L4 state: rates from cumulative snapshots, restarts, stale snapshots.

mod scene;

use proptest::prelude::*;
use scene::*;
use wiremap_model::{Grouping, L4Aggregation, L4State, MapGraph, Metric, ModelError, ViewSettings};
use wiremap_wire::Protocol;

fn edge<'a>(g: &'a MapGraph, src: &str, dst: &str) -> &'a wiremap_model::MapEdge {
    g.edges
        .iter()
        .find(|e| g.nodes[e.source].key == src && g.nodes[e.target].key == dst)
        .unwrap_or_else(|| panic!("no edge {src} -> {dst} in {:?}", g.edges))
}

#[test]
fn golden_rates_and_totals() {
    let mut l4 = L4State::new();
    l4.ingest(snapshot(
        "node-a",
        7,
        1,
        100,
        scene_identities(),
        vec![counter(0, 2, 1000, 5000, 10), counter(3, 4, 100, 100, 1)],
    ))
    .unwrap();
    let g = l4.graph(&ViewSettings::default());
    // One snapshot: totals, no rate yet.
    assert_eq!(edge(&g, "shop/web-1", "shop/db-0").bytes_rate, 0.0);
    l4.ingest(snapshot(
        "node-a",
        7,
        2,
        102,
        scene_identities(),
        vec![counter(0, 2, 3000, 9000, 30), counter(3, 4, 100, 100, 1)],
    ))
    .unwrap();
    let mut s = ViewSettings::default();
    let g = l4.graph(&s);
    let e = edge(&g, "shop/web-1", "shop/db-0");
    assert_eq!(e.protocol, Some(Protocol::TCP));
    assert_eq!(
        (
            e.request_bytes,
            e.response_bytes,
            e.packets_to_server,
            e.packets_to_client
        ),
        (3000, 9000, 30, 30)
    );
    assert_eq!(e.bytes_rate, 3000.0); // (2000 + 4000) / 2 s
    assert_eq!(e.value, 3000.0);
    assert_eq!(e.throughput, 20.0); // (20 + 20) / 2 s
    assert_eq!(e.key, "shop/web-1|shop/db-0|TCP");
    let web = &g.nodes[g.node_index("shop/web-1").unwrap()];
    assert_eq!(
        (web.out_rate, web.in_rate, web.out_pps, web.in_pps),
        (1000.0, 2000.0, 10.0, 10.0)
    );
    assert_eq!((web.out_bytes, web.in_bytes), (3000, 9000));
    assert_eq!(edge(&g, "pay/api-1", "external/8.8.8.8").bytes_rate, 0.0);

    s.metric = Metric::Throughput;
    s.cumulative = true;
    let g = l4.graph(&s);
    assert_eq!(edge(&g, "shop/web-1", "shop/db-0").value, 60.0);
    s.grouping = Grouping::Namespace;
    s.metric = Metric::Bandwidth;
    s.include_response = false;
    let g = l4.graph(&s);
    assert_eq!(edge(&g, "ns/shop", "ns/shop").value, 3000.0);
}

#[test]
fn restart_neither_double_counts_nor_goes_negative() {
    let mut l4 = L4State::new();
    l4.ingest(snapshot(
        "a",
        1,
        1,
        10,
        scene_identities(),
        vec![counter(0, 2, 1000, 0, 1)],
    ))
    .unwrap();
    l4.ingest(snapshot(
        "a",
        1,
        2,
        11,
        scene_identities(),
        vec![counter(0, 2, 5000, 0, 1)],
    ))
    .unwrap();
    // Restart: counters start from zero again.
    l4.ingest(snapshot(
        "a",
        2,
        1,
        12,
        scene_identities(),
        vec![counter(0, 2, 300, 0, 1)],
    ))
    .unwrap();
    let s = ViewSettings {
        cumulative: true,
        ..Default::default()
    };
    let g = l4.graph(&s);
    assert_eq!(edge(&g, "shop/web-1", "shop/db-0").request_bytes, 5300);
    let g = l4.graph(&ViewSettings::default());
    assert_eq!(edge(&g, "shop/web-1", "shop/db-0").bytes_rate, 0.0);
    l4.ingest(snapshot(
        "a",
        2,
        2,
        13,
        scene_identities(),
        vec![counter(0, 2, 700, 0, 1)],
    ))
    .unwrap();
    let g = l4.graph(&ViewSettings::default());
    assert_eq!(edge(&g, "shop/web-1", "shop/db-0").bytes_rate, 400.0);
    assert_eq!(l4.stats().restarts, 1);
    // A late snapshot of the old epoch is refused.
    let late = l4.ingest(snapshot(
        "a",
        1,
        3,
        12,
        scene_identities(),
        vec![counter(0, 2, 9999, 0, 1)],
    ));
    assert!(matches!(late, Err(ModelError::StaleSnapshot { .. })));
    let dup = l4.ingest(snapshot("a", 2, 2, 13, scene_identities(), vec![]));
    assert!(dup.is_err());
    assert_eq!(l4.stats().stale, 2);
    // Removing the probe keeps its totals.
    l4.remove_probe("a");
    let g = l4.graph(&s);
    assert_eq!(edge(&g, "shop/web-1", "shop/db-0").request_bytes, 5700);
}

#[test]
fn lost_snapshot_loses_nothing_and_bad_indices_are_counted() {
    let mut l4 = L4State::new();
    l4.ingest(snapshot(
        "a",
        1,
        1,
        10,
        scene_identities(),
        vec![counter(0, 2, 100, 0, 1)],
    ))
    .unwrap();
    // seq 2 lost; seq 3 four seconds later.
    l4.ingest(snapshot(
        "a",
        1,
        3,
        14,
        scene_identities(),
        vec![counter(0, 2, 900, 0, 1), counter(0, 77, 5, 5, 1)],
    ))
    .unwrap();
    let g = l4.graph(&ViewSettings::default());
    assert_eq!(edge(&g, "shop/web-1", "shop/db-0").bytes_rate, 200.0); // 800 B over 4 s
    assert_eq!(l4.stats().bad_identity_refs, 1);
    assert!(g.nodes.iter().any(|n| n.key == "external/0.0.0.0"));
}

#[test]
fn two_probes_add_up_and_legend_hides() {
    let mut l4 = L4State::new();
    l4.ingest(snapshot(
        "a",
        1,
        1,
        10,
        scene_identities(),
        vec![counter(0, 2, 100, 10, 1)],
    ))
    .unwrap();
    l4.ingest(snapshot(
        "b",
        1,
        1,
        10,
        scene_identities(),
        vec![counter(1, 2, 200, 20, 1), counter(3, 0, 1, 1, 1)],
    ))
    .unwrap();
    let mut s = ViewSettings {
        cumulative: true,
        grouping: Grouping::Workload,
        ..Default::default()
    };
    let g = l4.graph(&s);
    assert_eq!(edge(&g, "shop/web", "shop/db-0").value, 330.0);
    s.hidden.toggle_node("node-b");
    let g = l4.graph(&s);
    assert_eq!(g.edges.len(), 1);
    assert_eq!(g.hidden.entries, 2);
    assert_eq!(g.hidden.bytes, 330);
    assert_eq!(g.legend.hidden_nodes(), 1);
}

/// One client talking TCP and UDP to the same server gets one edge per
/// transport; other IP protocols get an edge without one; the legend lists
/// the transports and hiding one hides its edges only.
#[test]
fn transports_make_separate_edges_and_hide_like_protocols() {
    let mut l4 = L4State::new();
    let with_proto = |ip_proto, to_server| {
        let mut c = counter(0, 2, to_server, 10, 1);
        c.ip_proto = ip_proto;
        c
    };
    l4.ingest(snapshot(
        "node-a",
        1,
        1,
        10,
        scene_identities(),
        vec![
            with_proto(6, 1000),
            with_proto(17, 200),
            with_proto(132, 30),
        ],
    ))
    .unwrap();
    let mut s = ViewSettings {
        cumulative: true,
        ..Default::default()
    };
    let g = l4.graph(&s);
    let found: Vec<(String, Option<Protocol>, u64)> = g
        .edges
        .iter()
        .map(|e| (e.key.clone(), e.protocol, e.request_bytes))
        .collect();
    assert_eq!(
        found,
        vec![
            ("shop/web-1|shop/db-0|-".to_string(), None, 30),
            (
                "shop/web-1|shop/db-0|TCP".to_string(),
                Some(Protocol::TCP),
                1000
            ),
            (
                "shop/web-1|shop/db-0|UDP".to_string(),
                Some(Protocol::UDP),
                200
            ),
        ]
    );
    let listed: Vec<Protocol> = g.legend.protocols.iter().map(|(p, _)| *p).collect();
    assert_eq!(listed, vec![Protocol::TCP, Protocol::UDP]);
    s.hidden.toggle_protocol(Protocol::UDP);
    let g = l4.graph(&s);
    assert_eq!(g.edges.len(), 2);
    assert!(g.edges.iter().all(|e| e.protocol != Some(Protocol::UDP)));
    assert_eq!(
        (g.hidden.edges, g.hidden.entries, g.hidden.bytes),
        (1, 1, 210)
    );
    assert_eq!(g.legend.hidden_protocols(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary snapshot sequences (restarts, regressions, gaps, duplicates):
    /// rates are never negative or infinite, and totals only shrink when a
    /// counter of the same epoch is reported lower (never across restarts).
    #[test]
    fn rates_never_negative_and_totals_never_shrink(
        steps in prop::collection::vec((0u64..3, 0u64..4, 0i64..5, prop::collection::vec((0u32..7, 0u32..7, 0u64..1_000_000, 0u64..1_000_000, 0u64..1000), 0..6)), 1..30)
    ) {
        let mut l4 = L4State::new();
        let (mut epoch, mut seq, mut at) = (1u64, 0u64, 0i64);
        let mut last_total = 0u64;
        let mut last_counters: Vec<(u32, u32, u64, u64, u64)> = Vec::new();
        let s = ViewSettings { cumulative: true, ..Default::default() };
        for (restart, seq_step, dt, counters) in steps {
            if restart == 0 { epoch += 1; }
            seq += seq_step;
            at += dt;
            let cs = counters.iter().map(|&(c, sv, a, b, p)| counter(c, sv, a, b, p)).collect();
            let _ = l4.ingest(snapshot("a", epoch, seq, at, scene_identities(), cs));
            let rate = l4.graph(&ViewSettings::default());
            for e in &rate.edges {
                prop_assert!(e.bytes_rate >= 0.0 && e.throughput >= 0.0 && e.bytes_rate.is_finite());
            }
            for n in &rate.nodes {
                prop_assert!(n.out_rate >= 0.0 && n.in_rate >= 0.0 && n.out_pps >= 0.0 && n.in_pps >= 0.0);
            }
            let total: u64 = l4.graph(&s).edges.iter().map(|e| e.bytes).sum();
            // A restart retires the old epoch's counters: the total grows by
            // exactly the new epoch's first counters.
            if restart == 0 {
                let added: u64 = counters.iter().map(|c| c.2 + c.3).sum();
                prop_assert_eq!(total, last_total + added, "{:?} -> {:?}", last_counters, counters);
            }
            last_total = total;
            last_counters = counters;
        }
    }

    /// With monotone counters, the cumulative total after a restart equals
    /// the old epoch's last value plus the new epoch's value.
    #[test]
    fn totals_survive_restarts(values in prop::collection::vec((1u64..1_000_000, any::<bool>()), 1..20)) {
        let mut l4 = L4State::new();
        let (mut epoch, mut seq, mut current, mut retired) = (1u64, 0u64, 0u64, 0u64);
        for (i, (inc, restart)) in values.into_iter().enumerate() {
            if restart && i > 0 {
                epoch += 1;
                retired += current;
                current = 0;
            }
            seq += 1;
            current += inc;
            l4.ingest(snapshot("a", epoch, seq, i as i64, scene_identities(), vec![counter(0, 2, current, 0, 1)])).unwrap();
            let g = l4.graph(&ViewSettings { cumulative: true, ..Default::default() });
            prop_assert_eq!(g.edges[0].request_bytes, retired + current);
            let r = l4.graph(&ViewSettings::default());
            prop_assert!(r.edges[0].bytes_rate >= 0.0);
            if !restart && i > 0 {
                prop_assert_eq!(r.edges[0].bytes_rate, inc as f64);
            }
        }
    }

    /// The map computed in steps of any size equals the map computed at
    /// once, for any grouping and setting, with probes, restarts and
    /// removed probes; a state that changes under a computation makes it
    /// start over.
    #[test]
    fn stepped_l4_map_equals_the_map_at_once(
        snaps in prop::collection::vec((0u8..3, 1u64..3, prop::collection::vec((0u32..7, 0u32..7, 0u8..4, 0u64..1_000_000, 0u64..1000), 0..12), any::<bool>()), 1..10),
        step in 1usize..40,
        grouping in prop::sample::select(vec![Grouping::PodService, Grouping::Namespace, Grouping::Node, Grouping::Workload]),
        cumulative in any::<bool>(),
        hide_udp in any::<bool>(),
    ) {
        let mut l4 = L4State::new();
        for (seq, (probe, epoch, counters, remove)) in snaps.into_iter().enumerate() {
            let node = format!("probe-{probe}");
            let cs = counters
                .iter()
                .map(|&(c, s, p, b, k)| {
                    let mut x = counter(c, s, b, b / 2, k);
                    x.ip_proto = [6, 17, 1, 132][usize::from(p)];
                    x
                })
                .collect();
            let _ = l4.ingest(snapshot(&node, epoch, seq as u64 + 1, seq as i64, scene_identities(), cs));
            if remove {
                l4.remove_probe(&node);
            }
        }
        let mut s = ViewSettings { grouping, cumulative, ..Default::default() };
        if hide_udp {
            s.hidden.toggle_protocol(wiremap_wire::Protocol::UDP);
        }
        let whole = l4.graph(&s);
        let mut run = L4Aggregation::new(&l4, &s);
        let mut calls = 0;
        let stepped = loop {
            calls += 1;
            prop_assert!(calls < 10_000, "no progress");
            if let Some(g) = run.advance(&l4, step) {
                break g;
            }
        };
        prop_assert_eq!(&stepped, &whole);
        // Spent: the next computation starts over and gives the same map.
        let again = loop {
            if let Some(g) = run.advance(&l4, step) {
                break g;
            }
        };
        prop_assert_eq!(&again, &whole);
        // A snapshot arriving mid-way: the map is the new state's.
        let mut run = L4Aggregation::new(&l4, &s);
        let _ = run.advance(&l4, 1);
        l4.ingest(snapshot("late", 1, 1, 99, scene_identities(), vec![counter(0, 1, 5, 5, 1)])).unwrap();
        let after = loop {
            if let Some(g) = run.advance(&l4, step) {
                break g;
            }
        };
        prop_assert_eq!(after, l4.graph(&s));
    }
}

/// A probe's identities are looked for where they were in its last
/// snapshot: whether they come in the same order, reversed, or change
/// between snapshots, and across identity compactions, the map is the one
/// of the same counters with identities in a fixed order.
#[test]
fn identity_order_and_compaction_do_not_change_the_map() {
    let ids = scene_identities();
    let n = ids.len() as u32;
    let mut fixed = L4State::with_identity_cap(8);
    let mut shuffled = L4State::with_identity_cap(8);
    for seq in 1..=12u64 {
        let counters: Vec<(u32, u32, u64)> = (0..n)
            .map(|i| (i, (i + seq as u32) % n, 100 * seq + u64::from(i)))
            .collect();
        fixed
            .ingest(snapshot(
                "a",
                1,
                seq,
                seq as i64,
                ids.clone(),
                counters
                    .iter()
                    .map(|&(c, s, b)| counter(c, s, b, b, 1))
                    .collect(),
            ))
            .unwrap();
        // Every other snapshot lists the identities reversed.
        let flip = |i: u32| if seq % 2 == 0 { n - 1 - i } else { i };
        let mut order: Vec<_> = ids.clone();
        if seq % 2 == 0 {
            order.reverse();
        }
        shuffled
            .ingest(snapshot(
                "a",
                1,
                seq,
                seq as i64,
                order,
                counters
                    .iter()
                    .map(|&(c, s, b)| counter(flip(c), flip(s), b, b, 1))
                    .collect(),
            ))
            .unwrap();
        for cumulative in [false, true] {
            let s = ViewSettings {
                cumulative,
                ..Default::default()
            };
            assert_eq!(fixed.graph(&s), shuffled.graph(&s), "snapshot {seq}");
        }
    }
}
