//! What the browser needs to window a replayed capture: the store's newest
//! timestamp drives the data clock, and the window follows it.

mod scene;

use scene::*;
use wiremap_model::{aggregate_l7, DataClock, L7Store, ViewSettings};
use wiremap_wire::{EntryView, Protocol};

const S: i64 = 1_000_000;
/// Capture time: long before the wall clock below.
const T0: i64 = 1_000 * S;
const WALL: i64 = 1_800_000_000 * S;

fn all(_: &EntryView) -> bool {
    true
}

#[test]
fn replayed_entries_are_windowed_against_data_time() {
    let mut store = L7Store::new(100);
    assert_eq!(store.newest_timestamp_us(), None);
    store.ingest(batch(
        "node-a",
        1,
        scene_identities(),
        vec![
            entry(1, T0 - 2 * S, Protocol::HTTP, 0, 2, 100, 1000, 2000, false),
            entry(2, T0, Protocol::HTTP, 1, 2, 200, 2000, 4000, false),
            entry(3, T0 - S, Protocol::DNS, 0, 4, 30, 60, 500, false),
        ],
    ));
    assert_eq!(store.newest_timestamp_us(), Some(T0));
    assert_eq!(store.node_names(), ["node-a".to_string()]);

    let settings = ViewSettings::default();
    // Against the wall clock the replay is 57 years old: nothing in the window.
    assert!(aggregate_l7(&store, &all, &settings, WALL).edges.is_empty());

    let mut clock = DataClock::new();
    clock.observe(store.newest_timestamp_us(), WALL);
    let g = aggregate_l7(&store, &all, &settings, clock.now(WALL));
    assert_eq!(g.considered, 3);
    assert_eq!(g.edges.len(), 3);
    // 9.5 s later the oldest entry (T0 - 2 s) has left the 10 s window …
    let g = aggregate_l7(&store, &all, &settings, clock.now(WALL + 8_500_000));
    assert_eq!(g.considered, 2);
    // … and 11 s later the map is empty again: rates decay after traffic stops.
    let g = aggregate_l7(&store, &all, &settings, clock.now(WALL + 11 * S));
    assert!(g.edges.is_empty());
    // Cumulative mode ignores the window.
    let cumulative = ViewSettings {
        cumulative: true,
        ..ViewSettings::default()
    };
    let g = aggregate_l7(&store, &all, &cumulative, clock.now(WALL + 11 * S));
    assert_eq!(g.considered, 3);

    store.clear();
    assert_eq!(store.newest_timestamp_us(), None);
}
