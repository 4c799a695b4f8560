//! Hostile or extreme input never panics: out-of-range identity indices,
//! extreme timestamps, sizes and settings, identity floods.

mod scene;

use proptest::prelude::*;
use scene::*;
use wiremap_model::{aggregate_l7, Grouping, L4State, L7Store, Layout, Metric, ViewSettings};
use wiremap_wire::{EntryView, Protocol};

fn settings_strategy() -> impl Strategy<Value = ViewSettings> {
    (
        0usize..4,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<i64>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(g, thr, cum, rq, rs, window, collapse, hide)| {
            let mut s = ViewSettings {
                grouping: Grouping::ALL[g],
                metric: if thr {
                    Metric::Throughput
                } else {
                    Metric::Bandwidth
                },
                cumulative: cum,
                include_request: rq,
                include_response: rs,
                window_us: window,
                collapse_external: collapse,
                ..Default::default()
            };
            if hide {
                s.hidden.toggle_namespace("shop");
                s.hidden.toggle_protocol(Protocol(200));
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn l7_never_panics(
        raw in prop::collection::vec((any::<u32>(), any::<u32>(), any::<u8>(), any::<u64>(), any::<u64>(), any::<i64>(), any::<i64>(), any::<bool>()), 0..100),
        cap in 1usize..50,
        identity_cap in 1usize..20,
        settings in settings_strategy(),
        now in any::<i64>(),
    ) {
        let mut store = L7Store::with_identity_cap(cap, identity_cap);
        for (k, chunk) in raw.chunks(7).enumerate() {
            let entries = chunk
                .iter()
                .map(|&(s, d, p, rq, rs, ts, lat, err)| entry(k as u64, ts, Protocol(p), s % 12, d % 12, rq, rs, lat, err))
                .collect();
            store.ingest(batch("n", k as u64, scene_identities(), entries));
        }
        prop_assert!(store.len() <= cap);
        prop_assert!(store.identity_count() <= identity_cap + 1);
        let g = aggregate_l7(&store, &|_: &EntryView| true, &settings, now);
        for e in &g.edges {
            prop_assert!(e.source < g.nodes.len() && e.target < g.nodes.len());
            prop_assert!(e.value.is_finite() && e.value >= 0.0);
        }
    }

    #[test]
    fn l4_never_panics(
        snaps in prop::collection::vec((any::<u64>(), any::<u64>(), any::<i64>(), prop::collection::vec((any::<u32>(), any::<u32>(), any::<u64>(), any::<u64>(), any::<u64>()), 0..8)), 0..20),
        settings in settings_strategy(),
    ) {
        let mut l4 = L4State::with_identity_cap(5);
        for (epoch, seq, at, counters) in snaps {
            let cs = counters.iter().map(|&(c, s, a, b, p)| counter(c % 10, s % 10, a, b, p)).collect();
            let mut snap = snapshot("a", epoch, seq, 0, scene_identities(), cs);
            snap.taken_at_us = at;
            let _ = l4.ingest(snap);
        }
        let g = l4.graph(&settings);
        for e in &g.edges {
            prop_assert!(e.bytes_rate >= 0.0 && e.throughput >= 0.0);
        }
    }

    #[test]
    fn layout_never_panics_on_extreme_pins(xs in prop::collection::vec(-1e300f64..1e300, 1..10), steps in 1usize..50) {
        let store = {
            let mut s = L7Store::new(100);
            let es = (0..6).map(|i| entry(i, 0, Protocol::HTTP, i as u32, (i as u32 + 1) % 7, 1, 1, 1, false)).collect();
            s.ingest(batch("n", 0, scene_identities(), es));
            s
        };
        let g = aggregate_l7(&store, &|_: &EntryView| true, &ViewSettings { cumulative: true, ..Default::default() }, 0);
        let mut l = Layout::new(1);
        for (i, x) in xs.iter().enumerate() {
            let key = g.nodes[i % g.nodes.len()].key.clone();
            l.pin(&key, *x, -*x).unwrap();
        }
        l.sync(&g);
        l.step(steps);
    }
}
