//! L7 aggregation: golden scenes, settings, legend, store bounds, properties.

mod scene;

use proptest::prelude::*;
use scene::*;
use wiremap_model::{
    aggregate_l7, aggregate_l7_blocks, human_rate, Grouping, L7Aggregation, L7Store, MapGraph,
    Metric, NodeKind, StoredBlock, ViewSettings,
};
use wiremap_wire::{EntryBlock, EntryView, Protocol};

const S: i64 = 1_000_000;
const NOW: i64 = 1_000 * S;

fn all(_: &EntryView) -> bool {
    true
}

fn scene_store() -> L7Store {
    let mut store = L7Store::new(1000);
    store.ingest(batch(
        "node-a",
        1,
        scene_identities(),
        vec![
            entry(1, NOW - 5 * S, Protocol::HTTP, 0, 2, 100, 1000, 2000, false),
            entry(2, NOW - 4 * S, Protocol::HTTP, 1, 2, 200, 2000, 4000, true),
            entry(3, NOW - 3 * S, Protocol::DNS, 0, 4, 30, 60, 500, false),
            entry(4, NOW - 2 * S, Protocol::GRPC, 3, 0, 50, 70, 1000, false),
            entry(5, NOW - 60 * S, Protocol::HTTP, 3, 5, 999, 999, 100, false),
            entry(6, NOW - S, Protocol::REDIS, 0, 6, 10, 20, 0, false),
        ],
    ));
    store
}

fn edge<'a>(
    g: &'a MapGraph,
    src: &str,
    dst: &str,
    p: Option<Protocol>,
) -> &'a wiremap_model::MapEdge {
    g.edges
        .iter()
        .find(|e| g.nodes[e.source].key == src && g.nodes[e.target].key == dst && e.protocol == p)
        .unwrap_or_else(|| panic!("no edge {src} -> {dst} {p:?} in {:#?}", g.edges))
}

#[test]
fn golden_pod_grouping_rate_window() {
    let g = aggregate_l7(&scene_store(), &all, &ViewSettings::default(), NOW);
    let keys: Vec<&str> = g.nodes.iter().map(|n| n.key.as_str()).collect();
    // Entry 5 (60 s old) is outside the 10 s window.
    assert_eq!(
        keys,
        [
            "external/8.8.8.8",
            "pay/api-1",
            "shop/cache",
            "shop/db-0",
            "shop/web-1",
            "shop/web-2"
        ]
    );
    assert_eq!(g.considered, 5);
    assert_eq!(g.edges.len(), 5);
    let web_db = edge(&g, "shop/web-1", "shop/db-0", Some(Protocol::HTTP));
    assert_eq!(
        (
            web_db.request_bytes,
            web_db.response_bytes,
            web_db.entries,
            web_db.errors
        ),
        (100, 1000, 1, 0)
    );
    assert_eq!(web_db.value, 110.0); // 1100 bytes over 10 s
    assert_eq!(human_rate(web_db.value), "110.00 B/s");
    assert_eq!(web_db.key, "shop/web-1|shop/db-0|HTTP");
    let web2 = edge(&g, "shop/web-2", "shop/db-0", Some(Protocol::HTTP));
    assert_eq!(web2.errors, 1);
    let lat = web2.latency.expect("latency");
    assert!((3500..=4500).contains(&lat.p50_us), "{lat:?}");
    // No response → no latency.
    assert_eq!(
        edge(&g, "shop/web-1", "shop/cache", Some(Protocol::REDIS)).latency,
        None
    );
    let ext = &g.nodes[0];
    assert_eq!(
        (ext.kind, ext.label.as_str(), ext.namespace.as_str()),
        (NodeKind::External, "8.8.8.8", "")
    );
    // web-1: sends 100 + 30 + 10 requests and 70 response bytes (server of api-1).
    let web1 = &g.nodes[g.node_index("shop/web-1").unwrap()];
    assert_eq!(
        (web1.out_bytes, web1.in_bytes, web1.entries),
        (100 + 30 + 10 + 70, 1000 + 60 + 20 + 50, 4)
    );
    assert_eq!(web1.node_name, "node-a");
    let db = &g.nodes[g.node_index("shop/db-0").unwrap()];
    assert_eq!(
        (db.out_bytes, db.in_bytes, db.entries, db.errors),
        (3000, 300, 2, 1)
    );
    assert!((db.out_rate - 300.0).abs() < 1e-9);
}

#[test]
fn golden_namespace_workload_node_groupings() {
    let store = scene_store();
    let mut s = ViewSettings {
        cumulative: true,
        ..Default::default()
    };
    s.grouping = Grouping::Namespace;
    let g = aggregate_l7(&store, &all, &s, NOW);
    let keys: Vec<&str> = g.nodes.iter().map(|n| n.key.as_str()).collect();
    assert_eq!(
        keys,
        ["external/1.1.1.1", "external/8.8.8.8", "ns/pay", "ns/shop"]
    );
    let shop = edge(&g, "ns/shop", "ns/shop", Some(Protocol::HTTP));
    assert_eq!(
        (shop.entries, shop.request_bytes, shop.response_bytes),
        (2, 300, 3000)
    );
    assert_eq!(shop.value, 3300.0);

    s.grouping = Grouping::Workload;
    let g = aggregate_l7(&store, &all, &s, NOW);
    let web_db = edge(&g, "shop/web", "shop/db-0", Some(Protocol::HTTP));
    assert_eq!((web_db.entries, web_db.errors), (2, 1));
    assert_eq!(
        g.nodes[g.node_index("shop/web").unwrap()].kind,
        NodeKind::Workload
    );
    // Replicas on two nodes: the workload node has no single node name.
    assert_eq!(g.nodes[g.node_index("shop/web").unwrap()].node_name, "");

    s.grouping = Grouping::Node;
    s.collapse_external = true;
    let g = aggregate_l7(&store, &all, &s, NOW);
    let keys: Vec<&str> = g.nodes.iter().map(|n| n.key.as_str()).collect();
    assert_eq!(
        keys,
        ["external", "node/node-a", "node/node-b", "shop/cache"]
    );
    assert_eq!(
        edge(&g, "node/node-a", "external", Some(Protocol::HTTP)).entries,
        1
    );
    assert_eq!(
        edge(&g, "node/node-a", "external", Some(Protocol::DNS)).entries,
        1
    );
}

#[test]
fn settings_change_values() {
    let store = scene_store();
    let mut s = ViewSettings {
        include_response: false,
        ..Default::default()
    };
    let g = aggregate_l7(&store, &all, &s, NOW);
    assert_eq!(
        edge(&g, "shop/web-1", "shop/db-0", Some(Protocol::HTTP)).value,
        10.0
    );
    s.include_response = true;
    s.include_request = false;
    s.metric = Metric::Throughput;
    let g = aggregate_l7(&store, &all, &s, NOW);
    assert_eq!(
        edge(&g, "shop/web-1", "shop/db-0", Some(Protocol::HTTP)).value,
        0.1
    );
    s.window_us = 100 * S;
    let g = aggregate_l7(&store, &all, &s, NOW);
    assert_eq!(g.considered, 6);
    s.cumulative = true;
    let g = aggregate_l7(&store, &all, &s, NOW);
    assert_eq!(
        edge(&g, "pay/api-1", "external/1.1.1.1", Some(Protocol::HTTP)).value,
        1.0
    );
    assert_eq!(
        edge(&g, "pay/api-1", "external/1.1.1.1", Some(Protocol::HTTP)).bytes,
        999
    );
}

#[test]
fn display_filter_is_the_callers_predicate() {
    let store = scene_store();
    let only_http = |v: &EntryView| v.entry.protocol == Protocol::HTTP && v.src.namespace == "shop";
    let g = aggregate_l7(&store, &only_http, &ViewSettings::default(), NOW);
    assert_eq!(g.matched, 2);
    assert_eq!(g.edges.len(), 2);
    assert_eq!(g.legend.protocols.len(), 1);
    assert!(g.edges.iter().all(|e| e.protocol == Some(Protocol::HTTP)));
}

#[test]
fn legend_hiding_takes_edges_along() {
    let store = scene_store();
    let mut s = ViewSettings::default();
    s.hidden.toggle_namespace("pay");
    let g = aggregate_l7(&store, &all, &s, NOW);
    assert!(g.node_index("pay/api-1").is_none());
    assert_eq!(g.hidden.entries, 1);
    assert_eq!((g.hidden.nodes, g.hidden.edges), (1, 1));
    assert_eq!(g.legend.hidden_namespaces(), 1);
    let names: Vec<(&str, bool)> = g
        .legend
        .namespaces
        .iter()
        .map(|i| (i.name.as_str(), i.hidden))
        .collect();
    assert_eq!(names, [("pay", true), ("shop", false)]);

    s.hidden.reset();
    s.hidden.toggle_node("node-b");
    s.hidden.toggle_protocol(Protocol::DNS);
    let g = aggregate_l7(&store, &all, &s, NOW);
    // web-2 and db-0 live on node-b; DNS hidden: left are api→web (gRPC), web→cache (Redis).
    let protos: Vec<_> = g.edges.iter().map(|e| e.protocol.unwrap()).collect();
    assert_eq!(protos.len(), 2, "{protos:?}");
    assert!(protos.contains(&Protocol::GRPC) && protos.contains(&Protocol::REDIS));

    s.hidden.hide_all();
    let g = aggregate_l7(&store, &all, &s, NOW);
    assert!(g.edges.is_empty() && g.nodes.is_empty());
    assert_eq!(g.hidden.entries, 5);
    s.hidden.toggle_protocol(Protocol::DNS); // shown again, but web-1's namespace is still hidden
    assert!(aggregate_l7(&store, &all, &s, NOW).edges.is_empty());
    s.hidden.reset();
    assert_eq!(aggregate_l7(&store, &all, &s, NOW).edges.len(), 5);
}

#[test]
fn store_evicts_oldest_and_counts() {
    let mut store = L7Store::new(10);
    for i in 0..25u64 {
        store.ingest(batch(
            "n",
            i,
            scene_identities(),
            vec![entry(i, i as i64 * S, Protocol::HTTP, 0, 2, i, 0, 1, false)],
        ));
    }
    assert_eq!(store.len(), 10);
    assert_eq!(store.stats().evicted, 15);
    let ids: Vec<u64> = store.iter().map(|v| v.entry.id).collect();
    assert_eq!(ids, (15..25).collect::<Vec<_>>());
    // Identities are interned once for the whole store.
    assert_eq!(store.identity_count(), scene_identities().len());
}

#[test]
fn bad_identity_index_becomes_external_peer() {
    let mut store = L7Store::new(10);
    store.ingest(batch(
        "n",
        1,
        scene_identities(),
        vec![entry(1, NOW, Protocol::HTTP, 0, 99, 5, 5, 1, false)],
    ));
    assert_eq!(store.stats().bad_identity_refs, 1);
    let g = aggregate_l7(&store, &all, &ViewSettings::default(), NOW);
    assert!(
        g.node_index("external/10.0.0.201").is_some(),
        "{:?}",
        g.nodes
    );
}

#[test]
fn identity_table_is_bounded_and_compacted() {
    // 5 entries × 2 identities live at most: compaction keeps the table small.
    let mut store = L7Store::with_identity_cap(5, 16);
    for i in 0..200u8 {
        let ids = vec![
            pod("ns", &format!("p{i}"), "n", "", i),
            external(1, 2, 3, i),
        ];
        store.ingest(batch(
            "n",
            u64::from(i),
            ids,
            vec![entry(
                u64::from(i),
                NOW,
                Protocol::HTTP,
                0,
                1,
                1,
                1,
                1,
                false,
            )],
        ));
        assert!(store.identity_count() <= 16);
    }
    assert!(store.stats().identity_compactions > 0);
    assert_eq!(store.stats().identity_overflow, 0);
    let names: Vec<String> = store.iter().map(|v| v.src.name.clone()).collect();
    assert_eq!(names, ["p195", "p196", "p197", "p198", "p199"]);

    // More live identities than the cap: the excess maps to one overflow
    // identity (counted) and the table stays bounded.
    let mut store = L7Store::with_identity_cap(50, 16);
    for i in 0..200u8 {
        let ids = vec![
            pod("ns", &format!("p{i}"), "n", "", i),
            external(1, 2, 3, i),
        ];
        store.ingest(batch(
            "n",
            u64::from(i),
            ids,
            vec![entry(
                u64::from(i),
                NOW,
                Protocol::HTTP,
                0,
                1,
                1,
                1,
                1,
                false,
            )],
        ));
        assert!(store.identity_count() <= 17);
    }
    assert!(store.stats().identity_overflow > 0);
    let g = aggregate_l7(
        &store,
        &all,
        &ViewSettings {
            cumulative: true,
            ..Default::default()
        },
        NOW,
    );
    assert_eq!(g.matched, 50);
    assert_eq!(g.edges.iter().map(|e| e.entries).sum::<u64>(), 50);
}

/// (src, dst, protocol, request, response, latency µs, error, age s).
type RawEntry = (u32, u32, u8, u64, u64, i64, bool, i64);

/// Random entries over the scene's identities.
fn entries_strategy() -> impl Strategy<Value = Vec<RawEntry>> {
    prop::collection::vec(
        (
            0u32..7,
            0u32..7,
            1u8..9,
            0u64..10_000,
            0u64..10_000,
            0i64..50_000,
            any::<bool>(),
            0i64..20,
        ),
        0..200,
    )
}

fn store_of(entries: &[RawEntry], batch_size: usize) -> L7Store {
    let mut store = L7Store::new(10_000);
    for (b, chunk) in entries.chunks(batch_size.max(1)).enumerate() {
        let es = chunk
            .iter()
            .enumerate()
            .map(|(i, &(s, d, p, rq, rs, lat, err, age))| {
                entry(i as u64, NOW - age * S, Protocol(p), s, d, rq, rs, lat, err)
            })
            .collect();
        store.ingest(batch("n", b as u64, scene_identities(), es));
    }
    store
}

fn totals(g: &MapGraph) -> (u64, u64, u64, u64) {
    g.edges.iter().fold((0, 0, 0, 0), |a, e| {
        (
            a.0 + e.request_bytes,
            a.1 + e.response_bytes,
            a.2 + e.entries,
            a.3 + e.errors,
        )
    })
}

/// One entry per batch, between two of 60 pods: (source, destination,
/// protocol, request bytes, latency µs, age s).
type Call = (u8, u8, u8, u64, i64, i64);

/// A store of `cap` entries fed `calls`, one batch each.
fn churned_store(calls: &[Call], cap: usize, identity_cap: usize) -> L7Store {
    let mut store = L7Store::with_identity_cap(cap, identity_cap);
    for (i, &(s, d, p, rq, lat, age)) in calls.iter().enumerate() {
        let ids = vec![
            pod("ns", &format!("p{s}"), "n", "", s),
            pod("ns", &format!("p{d}"), "n", "", d),
        ];
        let e = entry(
            i as u64,
            NOW - age * S,
            Protocol(p),
            0,
            1,
            rq,
            2 * rq,
            lat,
            rq % 7 == 0,
        );
        store.ingest(batch("n", i as u64, ids, vec![e]));
    }
    assert_eq!(store.stats().identity_overflow, 0);
    store
}

/// A store that compacted its identities and its pairs many times maps
/// exactly as a fresh store given only the entries it still holds.
#[test]
fn compactions_change_no_map() {
    let calls: Vec<Call> = (0..3000u64)
        .map(|i| {
            let z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            (
                (z % 60) as u8,
                (z / 60 % 60) as u8,
                (1 + z % 8) as u8,
                z % 5000,
                (z % 900) as i64,
                (z % 20) as i64,
            )
        })
        .collect();
    for identity_cap in [4 * 25 + 8, 10_000] {
        let churned = churned_store(&calls, 25, identity_cap);
        assert!(
            churned.stats().pair_compactions > 10,
            "{:?}",
            churned.stats()
        );
        let fresh = churned_store(&calls[calls.len() - 25..], 25, 10_000);
        assert_eq!(fresh.stats().pair_compactions, 0);
        for grouping in Grouping::ALL {
            let s = ViewSettings {
                grouping,
                cumulative: true,
                ..Default::default()
            };
            assert_eq!(
                aggregate_l7(&churned, &all, &s, NOW),
                aggregate_l7(&fresh, &all, &s, NOW)
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn totals_do_not_depend_on_entry_order(entries in entries_strategy(), seed in any::<u64>(), bs in 1usize..50) {
        let mut shuffled = entries.clone();
        // Deterministic shuffle from the seed.
        let mut z = seed;
        for i in (1..shuffled.len()).rev() {
            z = z.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (z >> 33) as usize % (i + 1));
        }
        let s = ViewSettings::default();
        let a = aggregate_l7(&store_of(&entries, 7), &all, &s, NOW);
        let b = aggregate_l7(&store_of(&shuffled, bs), &all, &s, NOW);
        prop_assert_eq!(&a.nodes, &b.nodes);
        let strip = |g: &MapGraph| g.edges.iter().map(|e| (e.key.clone(), e.request_bytes, e.response_bytes, e.entries, e.errors, e.latency, e.value.to_bits())).collect::<Vec<_>>();
        prop_assert_eq!(strip(&a), strip(&b));
    }

    #[test]
    fn grouping_switches_conserve_bytes(entries in entries_strategy(), collapse in any::<bool>()) {
        let store = store_of(&entries, 16);
        let mut s = ViewSettings { collapse_external: collapse, ..Default::default() };
        let mut seen = Vec::new();
        for grouping in Grouping::ALL {
            s.grouping = grouping;
            let g = aggregate_l7(&store, &all, &s, NOW);
            let out: u64 = g.nodes.iter().map(|n| n.out_bytes).sum();
            let inb: u64 = g.nodes.iter().map(|n| n.in_bytes).sum();
            let t = totals(&g);
            prop_assert_eq!(out, t.0 + t.1);
            prop_assert_eq!(inb, t.0 + t.1);
            seen.push(t);
        }
        prop_assert!(seen.windows(2).all(|w| w[0] == w[1]), "{:?}", seen);
    }

    #[test]
    fn hidden_plus_visible_is_all(entries in entries_strategy(), ns_pick in 0usize..3, node_pick in 0usize..3, proto in 0u8..10, hide_all in any::<bool>()) {
        let store = store_of(&entries, 16);
        let base = ViewSettings::default();
        let full = aggregate_l7(&store, &all, &base, NOW);
        let mut s = base.clone();
        if let Some(ns) = ["shop", "pay"].get(ns_pick) { s.hidden.toggle_namespace(ns); }
        if let Some(n) = ["node-a", "node-b"].get(node_pick) { s.hidden.toggle_node(n); }
        s.hidden.toggle_protocol(Protocol(proto));
        if hide_all { s.hidden.hide_all(); }
        let part = aggregate_l7(&store, &all, &s, NOW);
        let (fv, pv) = (totals(&full), totals(&part));
        let bytes = |g: &MapGraph| g.edges.iter().map(|e| e.bytes).sum::<u64>();
        prop_assert_eq!(pv.2 + part.hidden.entries, fv.2);
        prop_assert_eq!(bytes(&part) + part.hidden.bytes, bytes(&full));
        prop_assert_eq!(part.legend.namespaces.len(), full.legend.namespaces.len());
        prop_assert!(part.nodes.len() + part.hidden.nodes >= full.nodes.len());
        prop_assert!(part.edges.len() + part.hidden.edges <= full.edges.len());
    }

    #[test]
    fn compacted_store_equals_a_fresh_one(
        calls in prop::collection::vec((0u8..60, 0u8..60, 1u8..9, 0u64..5000, 0i64..900, 0i64..20), 1..400),
        cap in 1usize..40,
        small_table in any::<bool>(),
        cumulative in any::<bool>(),
    ) {
        let identity_cap = if small_table { 4 * cap + 8 } else { 10_000 };
        let churned = churned_store(&calls, cap, identity_cap);
        let fresh = churned_store(&calls[calls.len().saturating_sub(cap)..], cap, 10_000);
        for grouping in Grouping::ALL {
            let s = ViewSettings { grouping, cumulative, ..Default::default() };
            prop_assert_eq!(aggregate_l7(&churned, &all, &s, NOW), aggregate_l7(&fresh, &all, &s, NOW));
        }
    }

    #[test]
    fn block_filter_equals_per_entry_filter(entries in entries_strategy(), bs in 1usize..50, cumulative in any::<bool>(), modulus in 1u64..5) {
        let store = store_of(&entries, bs);
        let s = ViewSettings { cumulative, ..Default::default() };
        let keep = |v: &EntryView| !v.entry.request_size.is_multiple_of(modulus);
        let calls = std::cell::Cell::new(0usize);
        let block = |b: &StoredBlock| {
            assert!(!b.is_empty() && b.len() <= wiremap_model::FILTER_BLOCK);
            calls.set(calls.get() + 1);
            let mut m = 0u64;
            for i in 0..b.len() {
                // The entry and its view are the same entry.
                assert!(std::ptr::eq(b.entry(i), b.view(i).entry));
                m |= u64::from(keep(&b.view(i))) << i;
            }
            // Bits past the block's entries must be ignored.
            m | (u64::MAX << (b.len() - 1) << 1)
        };
        let a = aggregate_l7(&store, &keep, &s, NOW);
        let b = aggregate_l7_blocks(&store, &block, &s, NOW);
        prop_assert_eq!(&a, &b);
        // Every entry in the window went through the filter, in blocks.
        prop_assert!(calls.get() as u64 * wiremap_model::FILTER_BLOCK as u64 >= b.considered);
    }

    #[test]
    fn stepped_aggregation_equals_one_pass(entries in entries_strategy(), bs in 1usize..50, step in 1usize..150, cumulative in any::<bool>()) {
        let store = store_of(&entries, bs);
        let s = ViewSettings { cumulative, ..Default::default() };
        let keep = |b: &StoredBlock| {
            let mut m = 0u64;
            for i in 0..b.len() {
                m |= u64::from(b.entry(i).protocol != Protocol::DNS) << i;
            }
            m
        };
        let whole = aggregate_l7_blocks(&store, &keep, &s, NOW);
        let mut run = L7Aggregation::new(&store, &s, NOW);
        let (mut calls, mut finishing) = (0, 0);
        let stepped = loop {
            calls += 1;
            prop_assert!(calls <= 20 + 14 * entries.len(), "no progress");
            let before = run.entries_read();
            if let Some(g) = run.advance(&store, &keep, step) {
                break g;
            }
            // Each call reads at most `step` entries, at least one until
            // all are read (then it builds edges).
            let read = run.entries_read() - before;
            prop_assert!(read <= step as u64, "read {}", read);
            if read == 0 {
                finishing += 1;
                // Then it sorts (each latency and edge is counted and
                // placed in each of five passes, at least one item a
                // call), makes the nodes, and builds edges.
                prop_assert!(finishing <= 16 + 12 * store.len(), "no progress building the map");
            }
        };
        prop_assert_eq!(&stepped, &whole);
        prop_assert_eq!(run.restarts(), 0);
        // Spent: the next call starts over and gives the same map.
        let again = loop {
            if let Some(g) = run.advance(&store, &keep, step) {
                break g;
            }
        };
        prop_assert_eq!(&again, &whole);
    }
}

/// When the store changes under a computation in progress, it starts over
/// on the new store: the map is the new store's, never a mix of the two.
#[test]
fn stepped_aggregation_restarts_when_the_store_changes() {
    let raw: Vec<RawEntry> = (0..300)
        .map(|i| {
            (
                i % 7,
                (i + 1) % 7,
                1 + (i % 8) as u8,
                100,
                200,
                1000,
                false,
                1,
            )
        })
        .collect();
    let mut store = store_of(&raw[..200], 50);
    let s = ViewSettings::default();
    let every = |b: &StoredBlock| u64::MAX >> (64 - b.len());
    let mut run = L7Aggregation::new(&store, &s, NOW);
    assert!(run.advance(&store, &every, 70).is_none());
    assert_eq!(run.entries_read(), 70);
    // 100 more entries arrive.
    let es = raw[200..]
        .iter()
        .enumerate()
        .map(|(i, &(s, d, p, rq, rs, lat, err, age))| {
            entry(
                1000 + i as u64,
                NOW - age * S,
                Protocol(p),
                s,
                d,
                rq,
                rs,
                lat,
                err,
            )
        })
        .collect();
    store.ingest(batch("n", 99, scene_identities(), es));
    let g = loop {
        if let Some(g) = run.advance(&store, &every, 70) {
            break g;
        }
    };
    assert_eq!(run.restarts(), 1);
    assert_eq!(g.matched, 300);
    assert_eq!(g, aggregate_l7_blocks(&store, &every, &s, NOW));
}

/// With tens of thousands of edges, the end of a computation (latencies
/// grouped, nodes, the edges' order, the edges) is spread over calls too:
/// with a small budget no call does more than one of its sorts, and the map
/// is the one computed at once.
#[test]
fn a_large_maps_finish_is_spread_over_calls() {
    let ids: Vec<_> = (0..250u32)
        .map(|i| pod("ns", &format!("p{i}"), "n", "w", (i % 250) as u8))
        .collect();
    let es = (0..40_000u64)
        .map(|i| {
            let (s, d) = ((i % 250) as u32, ((i / 250) % 250) as u32);
            entry(
                i,
                NOW - S,
                Protocol::HTTP,
                s,
                d,
                10,
                20,
                100 + i as i64,
                false,
            )
        })
        .collect();
    let mut store = L7Store::new(100_000);
    store.ingest(batch("n", 1, ids, es));
    let s = ViewSettings::default();
    let every = |b: &StoredBlock| u64::MAX >> (64 - b.len());
    let whole = aggregate_l7_blocks(&store, &every, &s, NOW);
    assert_eq!(whole.edges.len(), 250 * 160);
    let mut run = L7Aggregation::new(&store, &s, NOW);
    let (mut reading, mut finishing) = (0, 0);
    let stepped = loop {
        let before = run.entries_read();
        if let Some(g) = run.advance(&store, &every, 4096) {
            break g;
        }
        if run.entries_read() == before {
            finishing += 1;
        } else {
            reading += 1;
        }
    };
    assert_eq!(stepped, whole);
    assert_eq!(reading, 40_000usize.div_ceil(4096));
    // Six sorting steps of 40,000 items each cost more than a call's budget
    // (40,000 / 4 entries' worth), so each takes a call (the first may
    // share the last reading call, whose budget was not spent); then 512
    // edges per call (8 entries' worth each).
    assert!(
        finishing >= 5 + 40_000 / 512,
        "{finishing} calls after reading"
    );
}
