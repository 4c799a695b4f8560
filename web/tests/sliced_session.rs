//! Maps computed in time slices (the app's mode): a view change starts a
//! computation that `Session::work` advances a slice at a time, the old map
//! stays until the new one is complete, the result equals the map computed
//! at once, and frames received meanwhile are held back, then taken in.

mod fixtures;

use fixtures::*;
use wasm_bindgen_test::*;
use wiremap_model::Grouping;
use wiremap_web::session::{
    Session, DECODE_STEP_ITEMS, SLICE_ENTRIES, SLICE_FRAME_BYTES, SYNC_AT_ONCE_NODES,
};
use wiremap_web::view_state::{MapType, ViewState};
use wiremap_wire::Protocol;

wasm_bindgen_test_configure!(run_in_browser);

const WALL: i64 = 1_800_000_000_000_000;
const BATCHES: u64 = 20;
const PER_BATCH: u64 = 1_000;

/// 20,000 entries between 40 pods of four namespaces.
fn frames() -> Vec<Vec<u8>> {
    let ids: Vec<_> = (0..40u8)
        .map(|i| {
            pod(
                &format!("pod-{i}"),
                &format!("ns-{}", i % 4),
                "node-a",
                i + 1,
            )
        })
        .collect();
    let protocols = [
        Protocol::HTTP,
        Protocol::DNS,
        Protocol::REDIS,
        Protocol::GRPC,
    ];
    (0..BATCHES)
        .map(|b| {
            let entries = (0..PER_BATCH)
                .map(|k| {
                    let n = b * PER_BATCH + k;
                    let p = protocols[(n % 4) as usize];
                    entry(
                        n,
                        (n % 40) as u32,
                        ((n / 40) % 40) as u32,
                        p,
                        n % 900,
                        n % 7_000,
                    )
                })
                .collect();
            l7_frame("node-a", b + 1, ids.clone(), entries)
        })
        .collect()
}

fn view(filter: &str) -> ViewState {
    let mut v = ViewState::default();
    v.settings.cumulative = true;
    v.filter = filter.to_string();
    v
}

fn loaded(sliced: bool) -> Session {
    let mut s = Session::new(ViewState::default(), "ws://t/ws".into());
    s.set_time_slicing(sliced, WALL);
    for f in frames() {
        s.receive(f, WALL);
    }
    s
}

#[wasm_bindgen_test]
fn a_sliced_map_equals_the_map_computed_at_once() {
    for filter in ["", "http || dns", "src.namespace == \"ns-1\""] {
        let mut at_once = loaded(false);
        at_once.set_view(view(filter), WALL);
        assert!(!at_once.computing());

        let mut s = loaded(true);
        s.set_view(view("redis"), WALL);
        s.finish_work(WALL);
        let before = s.graph.clone();
        s.set_view(view(filter), WALL);
        // Nothing computed yet: the old map stays until the new one is done.
        assert!(s.computing());
        assert_eq!(s.graph, before);
        let mut slices = 1;
        while !s.work(WALL, &mut || true) {
            slices += 1;
            assert!(s.computing());
            assert!(slices < 1_000, "no progress");
        }
        assert!(!s.computing());
        // A slice reads SLICE_ENTRIES entries; then the latencies are
        // sorted (two counting sorts: each latency counted and placed
        // twice, at a quarter of an entry's cost: as many slices as
        // reading them, one more at most), the edges ordered (three sorts,
        // within a slice here) and built (one counting as 8 entries); one
        // more slice builds the layout's links (fewer than SLICE_LINKS
        // here) and shows the map (the layout's sync with a few nodes).
        let reading = (BATCHES * PER_BATCH).div_ceil(SLICE_ENTRIES as u64);
        let latencies = s.graph.edges.iter().filter(|e| e.latency.is_some());
        let responses: u64 = latencies.map(|e| e.entries).sum();
        let sorting = responses.div_ceil(SLICE_ENTRIES as u64) + 1;
        let building = (s.graph.edges.len() as u64).div_ceil(SLICE_ENTRIES as u64 / 8);
        assert!(
            (reading + 2..=reading + sorting + building + 3).contains(&slices),
            "{filter}: {slices} slices, {reading} to read, {sorting} to sort, {building} to build"
        );
        assert_eq!(s.graph, at_once.graph, "{filter}");
        assert!(s.graph.matched > 0, "{filter}");
        // The replaced map is dropped by the next slices, which leave the
        // new one as it is.
        assert_eq!(s.retired_maps(), 1);
        while s.retired_maps() > 0 {
            assert!(!s.work(WALL, &mut || true));
        }
        assert_eq!(s.graph, at_once.graph, "{filter}");
    }
}

#[wasm_bindgen_test]
fn frames_received_during_a_computation_wait_for_it() {
    let mut s = loaded(true);
    s.set_view(view(""), WALL);
    assert!(s.computing());
    assert!(!s.work(WALL, &mut || true));
    let stored = s.feed.l7.len();
    // A frame arrives in the middle: held, the store unchanged.
    let late = l7_frame(
        "node-b",
        1,
        vec![
            pod("late", "ns-9", "node-b", 200),
            pod("later", "ns-9", "node-b", 201),
        ],
        vec![entry(1, 0, 1, Protocol::HTTP, 10, 20)],
    );
    s.receive(late, WALL);
    assert_eq!(s.held_frames(), 1);
    assert_eq!(s.feed.l7.len(), stored);
    assert!(s.finish_work(WALL));
    // The map is the one of the store as it was; the frame is in now.
    assert_eq!(s.graph.matched, BATCHES * PER_BATCH);
    assert_eq!(s.held_frames(), 0);
    assert_eq!(s.feed.l7.len(), stored + 1);
    // The next recompute (a tick) shows it.
    s.tick(1_000.0, WALL);
    s.finish_work(WALL);
    assert_eq!(s.graph.matched, BATCHES * PER_BATCH + 1);
    assert!(s.graph.nodes.iter().any(|n| n.key.contains("late")));
}

#[wasm_bindgen_test]
fn a_view_change_during_a_computation_starts_the_new_one() {
    let mut s = loaded(true);
    s.set_view(view("http"), WALL);
    assert!(!s.work(WALL, &mut || true));
    let mut v = view("dns");
    v.settings.grouping = Grouping::Namespace;
    s.set_view(v.clone(), WALL);
    s.finish_work(WALL);
    let mut at_once = loaded(false);
    at_once.set_view(v, WALL);
    assert_eq!(s.graph, at_once.graph);
    assert_eq!(s.graph.matched, BATCHES * PER_BATCH / 4);
}

/// A computation for a view the user just changed is told apart from a
/// refresh of the map shown (the app gives the first its whole frame).
#[wasm_bindgen_test]
fn a_changed_view_is_waited_for_a_refresh_is_not() {
    let mut s = loaded(true);
    // The first map: nothing shown yet, someone waits.
    s.set_view(view(""), WALL);
    assert!(s.computing() && s.view_change_pending());
    s.finish_work(WALL);
    assert!(!s.computing() && !s.view_change_pending());
    // New entries and a tick: the same view again, a refresh.
    s.receive(frames().remove(0), WALL);
    s.tick(1_000.0, WALL);
    assert!(s.computing(), "new data is recomputed");
    assert!(!s.view_change_pending());
    // A filter typed meanwhile: a new view, waited for.
    s.set_view(view("dns"), WALL);
    assert!(s.computing() && s.view_change_pending());
    s.finish_work(WALL);
    assert!(!s.view_change_pending());
}

/// The cluster-wide L4 map is computed in slices too (a busy cluster's
/// counters are tens of thousands), and equals the map computed at once.
#[wasm_bindgen_test]
fn a_sliced_l4_map_equals_the_map_computed_at_once() {
    let ids: Vec<_> = (0..200u8)
        .map(|i| pod(&format!("pod-{i}"), &format!("ns-{}", i % 5), "node-a", i))
        .collect();
    let snapshots: Vec<Vec<u8>> = (0..4u32)
        .map(|p| {
            let counters = (0..3_000u32)
                .map(|k| counter((p * 7 + k) % 200, (k * 13 + p) % 200, u64::from(k), 7))
                .collect();
            l4_frame(&format!("node-{p}"), 1, ids.clone(), counters)
        })
        .collect();
    let l4 = |grouping| {
        let mut v = view("");
        v.map = MapType::L4;
        v.settings.grouping = grouping;
        v
    };
    for grouping in [Grouping::PodService, Grouping::Namespace] {
        let mut at_once = Session::new(ViewState::default(), "ws://t/ws".into());
        let mut s = Session::new(ViewState::default(), "ws://t/ws".into());
        s.set_time_slicing(true, WALL);
        for f in &snapshots {
            at_once.receive(f.clone(), WALL);
            s.receive(f.clone(), WALL);
        }
        at_once.set_view(l4(grouping), WALL);
        s.set_view(l4(grouping), WALL);
        let mut slices = 1;
        while !s.work(WALL, &mut || true) {
            slices += 1;
            assert!(slices < 1_000, "no progress");
        }
        // 12,000 counters, SLICE_ENTRIES a slice.
        assert!(slices > 12_000 / SLICE_ENTRIES, "{slices} slices");
        assert_eq!(s.graph, at_once.graph, "{grouping:?}");
        assert!(!s.graph.edges.is_empty());
    }
}

/// `pods` pods in namespaces `ns-0`..`ns-3`, each calling the next one once.
fn ring_of_pods(pods: u32) -> Vec<u8> {
    let ids: Vec<_> = (0..pods)
        .map(|i| pod(&format!("pod-{i}"), &format!("ns-{}", i % 4), "node-a", 1))
        .collect();
    let entries = (0..pods)
        .map(|i| entry(u64::from(i), i, (i + 1) % pods, Protocol::HTTP, 100, 200))
        .collect();
    l7_frame("node-a", 1, ids, entries)
}

#[wasm_bindgen_test]
fn a_small_map_is_shown_in_the_slice_that_finished_it_a_big_ones_sync_waits() {
    // A map of 40 pods whose nodes differ from the map shown: computed,
    // linked and shown in one call when time allows.
    let mut s = loaded(true);
    s.set_view(view("redis"), WALL);
    s.finish_work(WALL);
    s.set_view(
        view("src.namespace == \"ns-1\" && dst.namespace == \"ns-1\""),
        WALL,
    );
    let keys = |s: &Session| {
        s.graph
            .nodes
            .iter()
            .map(|n| n.key.clone())
            .collect::<Vec<_>>()
    };
    let before = keys(&s);
    assert!(s.work(WALL, &mut || false));
    assert!(!s.computing());
    assert_ne!(keys(&s), before);

    // Past SYNC_AT_ONCE_NODES nodes new to the layout, the sync (placing
    // them) starts a call of its own.
    let pods = SYNC_AT_ONCE_NODES as u32 + 1_000;
    let mut s = Session::new(ViewState::default(), "ws://t/ws".into());
    s.set_time_slicing(true, WALL);
    s.receive(ring_of_pods(pods), WALL);
    s.set_view(view("src.namespace == \"ns-1\""), WALL);
    s.finish_work(WALL);
    let quarter = s.graph.nodes.len();
    s.set_view(view(""), WALL);
    assert!(!s.work(WALL, &mut || false), "the sync waits for a call");
    assert!(s.computing());
    assert_eq!(s.graph.nodes.len(), quarter, "the old map is still shown");
    assert!(s.work(WALL, &mut || false));
    assert_eq!(s.graph.nodes.len(), pods as usize);
    // The same map again (same nodes): only links change, shown at once.
    s.set_view(view("http"), WALL);
    assert!(s.work(WALL, &mut || false));
    assert_eq!(s.graph.nodes.len(), pods as usize);
}

/// An L4 snapshot of `pods` pods (bigger than `SLICE_FRAME_BYTES` from
/// about 4,000 pods on).
fn big_snapshot(node: &str, seq: u64, pods: u32) -> Vec<u8> {
    let ids = (0..pods)
        .map(|i| pod(&format!("pod-{i}"), &format!("ns-{}", i % 4), node, 1))
        .collect();
    let counters = (0..pods)
        .map(|i| counter(i, (i + 1) % pods, 100, 200))
        .collect();
    l4_frame(node, seq, ids, counters)
}

#[wasm_bindgen_test]
fn a_big_frame_is_decoded_in_pieces_and_taken_in_by_a_slice_of_its_own_in_order() {
    let big = big_snapshot("node-a", 1, 10_000);
    assert!(big.len() >= SLICE_FRAME_BYTES, "{} bytes", big.len());
    let small = l4_frame(
        "node-b",
        1,
        vec![
            pod("b-0", "ns-0", "node-b", 1),
            pod("b-1", "ns-0", "node-b", 2),
        ],
        vec![counter(0, 1, 10, 20)],
    );
    let mut s = Session::new(ViewState::default(), "ws://t/ws".into());
    s.set_time_slicing(true, WALL);
    s.finish_work(WALL);
    let frames = |s: &Session| s.feed.counters().frames;
    let snapshots = |s: &Session| s.feed.counters().l4_snapshots;
    // Not taken in by the message handler; a small frame after it waits
    // behind it.
    s.receive(big.clone(), WALL);
    s.receive(small.clone(), WALL);
    assert_eq!((frames(&s), s.held_frames()), (0, 2));
    // Slices decode it DECODE_STEP_ITEMS identities and counters at a
    // time (20,000 of them), the next applies it, the one after that the
    // small frame (each slice out of time after one piece).
    let pieces = 20_000usize.div_ceil(DECODE_STEP_ITEMS);
    assert!(pieces > 4, "{pieces}");
    for _ in 1..pieces {
        assert!(!s.work(WALL, &mut || true));
        assert_eq!((frames(&s), snapshots(&s), s.held_frames()), (0, 0, 2));
    }
    assert!(!s.work(WALL, &mut || true));
    assert_eq!((frames(&s), snapshots(&s), s.held_frames()), (1, 0, 2));
    assert!(!s.work(WALL, &mut || true));
    assert_eq!((snapshots(&s), s.held_frames()), (1, 1));
    assert!(!s.work(WALL, &mut || true));
    assert_eq!((frames(&s), snapshots(&s), s.held_frames()), (2, 2, 0));
    // With time to spare, one call decodes a big frame; taking it in is
    // the first piece of the next call, then the frames behind it.
    let mut roomy = Session::new(ViewState::default(), "ws://t/ws".into());
    roomy.set_time_slicing(true, WALL);
    roomy.finish_work(WALL);
    roomy.receive(big.clone(), WALL);
    roomy.receive(small.clone(), WALL);
    assert!(!roomy.work(WALL, &mut || false));
    assert_eq!(
        (frames(&roomy), snapshots(&roomy), roomy.held_frames()),
        (1, 0, 2)
    );
    assert!(!roomy.work(WALL, &mut || false));
    assert_eq!(
        (frames(&roomy), snapshots(&roomy), roomy.held_frames()),
        (2, 2, 0)
    );
    // The same as taking both in at once.
    let mut at_once = Session::new(ViewState::default(), "ws://t/ws".into());
    at_once.receive(big.clone(), WALL);
    at_once.receive(small.clone(), WALL);
    let mut l4 = view("");
    l4.map = MapType::L4;
    for x in [&mut s, &mut at_once] {
        x.set_view(l4.clone(), WALL);
        x.finish_work(WALL);
    }
    assert_eq!(s.graph, at_once.graph);
    assert_eq!(s.graph.nodes.len(), 10_002);
    // A bad big frame is counted as one, and loses nothing else.
    let mut bad = big_snapshot("node-c", 1, 10_000);
    bad.truncate(bad.len() - 7);
    s.receive(bad, WALL);
    s.receive(big_snapshot("node-a", 2, 10_000), WALL);
    s.finish_work(WALL);
    assert_eq!(s.feed.counters().decode_errors, 1);
    assert_eq!((frames(&s), snapshots(&s), s.held_frames()), (4, 3, 0));
}

#[wasm_bindgen_test]
fn a_refresh_and_the_running_layout_take_turns_a_changed_view_takes_the_frame() {
    use wiremap_web::session::FramePlan;
    let both = FramePlan {
        work: true,
        ticks: true,
    };
    let work_only = FramePlan {
        work: true,
        ticks: false,
    };
    let ticks_only = FramePlan {
        work: false,
        ticks: true,
    };
    let mut s = loaded(true);
    // A view the user changed: the frame is the computation's.
    s.set_view(view(""), WALL);
    assert_eq!(s.frame_plan(), work_only);
    s.finish_work(WALL);
    assert!(s.layout.is_running(), "a new map's layout runs");
    // Nothing to compute: both.
    assert_eq!(s.frame_plan(), both);
    // A refresh (new data) while the layout runs: a frame each.
    s.receive(
        l7_frame(
            "node-b",
            1,
            vec![
                pod("x", "ns-9", "node-b", 9),
                pod("y", "ns-9", "node-b", 10),
            ],
            vec![entry(7, 0, 1, Protocol::HTTP, 1, 2)],
        ),
        WALL,
    );
    s.tick(1_000.0, WALL);
    assert!(s.computing() && !s.view_change_pending());
    let plans: Vec<FramePlan> = (0..4).map(|_| s.frame_plan()).collect();
    assert_eq!(plans, [ticks_only, work_only, ticks_only, work_only]);
    // Once the layout stops, the refresh and ticks share frames again.
    while s.step_layout(50) {}
    assert_eq!(s.frame_plan(), both);
    s.finish_work(WALL);
    assert_eq!(s.frame_plan(), both);
}
