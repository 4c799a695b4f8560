//! Faults on the lab, end to end with real processes: a probe killed and
//! started again, the relay killed and started again on the same port, and
//! a viewer that stops reading. What the viewers get is compared with the
//! clients' own counts and the kernel's interface counters, as in `lab.rs`.
//! Needs root (network namespaces) and, for the relay restart, Chromium.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use wiremap_e2e::lab::stack::{metric, web_dist};
use wiremap_e2e::lab::{Counts, Lab, LabOptions, Pod, Role, Stack, StackOptions};
use wiremap_e2e::process::workspace_root;
use wiremap_e2e::viewer::{Delivered, StalledViewer, Viewer};
use wiremap_e2e::webdriver::Browser;
use wiremap_wire::{Frame, L4Snapshot, RelayNotice};

/// One lab per machine: the tests of this file take turns.
static LAB: Mutex<()> = Mutex::new(());

/// A lab, its relay and probes, torn down in this order on drop (also
/// when an assertion fails).
struct Bed {
    stack: Stack,
    lab: Lab,
    tester: Pod,
    _state: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

fn bed(steady_traffic: bool, opts: StackOptions) -> Bed {
    let turn = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let state = tempfile::tempdir().expect("tempdir");
    let lab = Lab::up(LabOptions {
        state_dir: state.path().join("lab"),
        steady_traffic,
        ..LabOptions::default()
    })
    .expect("the lab comes up (needs root)");
    let stack = Stack::start(&lab, opts).expect("relay and probes start");
    let tester = lab.plan().pod(Role::Tester).expect("tester pod").clone();
    Bed {
        stack,
        lab,
        tester,
        _state: state,
        _turn: turn,
    }
}

fn kernel_counter(ifname: &str, which: &str) -> u64 {
    std::fs::read_to_string(format!("/sys/class/net/{ifname}/statistics/{which}"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no kernel counter {which} for {ifname}"))
}

/// (IP bytes, packets) through an interface: the kernel counts whole
/// Ethernet frames, so 14 header bytes per frame come off.
fn kernel_ip_totals(ifname: &str) -> (u64, u64) {
    let packets = kernel_counter(ifname, "rx_packets") + kernel_counter(ifname, "tx_packets");
    let bytes = kernel_counter(ifname, "rx_bytes") + kernel_counter(ifname, "tx_bytes");
    (bytes - 14 * packets, packets)
}

/// (IP bytes, packets) of the flows of `ip` in a snapshot.
fn l4_of(snap: &L4Snapshot, ip: &str) -> (u64, u64) {
    let mut bytes = 0;
    let mut packets = 0;
    for c in &snap.counters {
        let end = |i: u32| {
            usize::try_from(i)
                .ok()
                .and_then(|i| snap.identities.get(i))
                .is_some_and(|id| id.ip.to_string() == ip)
        };
        if end(c.client) || end(c.server) {
            bytes += c.bytes_to_server + c.bytes_to_client;
            packets += c.packets_to_server + c.packets_to_client;
        }
    }
    (bytes, packets)
}

/// The newest snapshot of `node` in `epoch`.
fn latest(viewer: &Viewer, node: &str, epoch: u64) -> Option<L4Snapshot> {
    viewer
        .snapshots()
        .into_iter()
        .rev()
        .find(|s| s.node == node && s.epoch == epoch)
}

/// Entries from index `from` whose client is `ip`.
fn from_client(viewer: &Viewer, from: usize, ip: &str) -> Vec<Delivered> {
    viewer
        .entries()
        .into_iter()
        .skip(from)
        .filter(|d| d.entry.src.ip.to_string() == ip)
        .collect()
}

/// Waits until the entries from index `from` by the tester reach the
/// clients' total, then a little longer (a duplicate would arrive within
/// a few batching intervals), and checks every pair exactly.
fn assert_delivered_exactly(
    viewer: &Viewer,
    from: usize,
    tester: &Pod,
    counts: &Counts,
    what: &str,
) -> Vec<Delivered> {
    let ip = tester.ip.to_string();
    let total: u64 = counts.pairs.iter().map(|p| p.calls).sum();
    let _ = viewer.wait_until(Duration::from_secs(40), what, |e, _| {
        e.iter()
            .skip(from)
            .filter(|d| d.entry.src.ip.to_string() == ip)
            .count() as u64
            >= total
    });
    std::thread::sleep(Duration::from_millis(2500));
    let mine = from_client(viewer, from, &ip);
    let mut got: BTreeMap<(String, String), u64> = BTreeMap::new();
    for d in &mine {
        *got.entry((
            d.entry.protocol.name().to_string(),
            d.entry.dst.ip.to_string(),
        ))
        .or_default() += 1;
    }
    for pair in &counts.pairs {
        let n = got
            .get(&(pair.protocol.clone(), pair.server.ip.clone()))
            .copied()
            .unwrap_or(0);
        assert_eq!(
            n,
            pair.calls,
            "{what}: {} calls to {} — the client counted {}, the viewer got {n}\n{}",
            pair.protocol,
            pair.server.pod,
            pair.calls,
            losses(viewer, &tester.node)
        );
    }
    assert_eq!(mine.len() as u64, total, "{what}: no other entries");
    mine
}

/// Where entries can get lost, for a failure message: the relay's drop
/// notices to this viewer, and the loss counters of the probe of `node`.
fn losses(viewer: &Viewer, node: &str) -> String {
    let mut out = String::new();
    let mut stats = None;
    for f in viewer.other_frames() {
        match f {
            Frame::RelayNotice(n @ RelayNotice::Dropped { .. }) => {
                out.push_str(&format!("relay notice to this viewer: {n:?}\n"));
            }
            Frame::ProbeStats(s) if s.node == node => stats = Some(s),
            _ => {}
        }
    }
    match stats {
        Some(s) => {
            let counters: Vec<String> = s
                .counters
                .iter()
                .filter(|(k, v)| *v > 0 && !k.starts_with("packets") && !k.starts_with("bytes"))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            out.push_str(&format!("probe {node} counters: {}", counters.join(" ")));
        }
        None => out.push_str(&format!("no stats from the probe of {node}")),
    }
    out
}

#[test]
fn a_killed_probe_comes_back_without_double_counting() {
    let mut bed = bed(false, StackOptions::default());
    let viewer = Viewer::connect(bed.stack.addr()).expect("viewer");
    let nodes = bed.stack.nodes();
    viewer
        .wait_until(
            Duration::from_secs(30),
            "snapshots from every node",
            |_, s| {
                nodes
                    .iter()
                    .all(|n| s.iter().filter(|x| &x.node == n).count() >= 2)
            },
        )
        .expect("every probe reports");
    let node = bed.tester.node.clone();
    let ip = bed.tester.ip.to_string();
    let old_epoch = viewer.latest_snapshot(&node).expect("snapshot").epoch;

    // Before the fault: exact counts, and L4 equal to the kernel's counters.
    let kernel_start = kernel_ip_totals(&bed.tester.host_if);
    let from = viewer.entries().len();
    let counts = bed.lab.run_scripted_traffic(10).expect("scripted traffic");
    let before = assert_delivered_exactly(&viewer, from, &bed.tester, &counts, "before the kill");
    assert!(before
        .iter()
        .all(|d| d.epoch == old_epoch && d.node == node));
    std::thread::sleep(Duration::from_millis(1500)); // two snapshot intervals
    let old_l4 = l4_of(&latest(&viewer, &node, old_epoch).unwrap(), &ip);
    let kernel_mid = kernel_ip_totals(&bed.tester.host_if);

    // The fault: SIGKILL, no goodbye; then a new process.
    bed.stack.kill_probe(&node).expect("kill the probe");
    let gone = Instant::now();
    let notices = || {
        viewer
            .other_frames()
            .into_iter()
            .filter_map(|f| match f {
                Frame::RelayNotice(n) => Some(n),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    while !notices()
        .iter()
        .any(|n| matches!(n, RelayNotice::ProbeDisconnected { node: n } if *n == node))
    {
        assert!(
            gone.elapsed() < Duration::from_secs(40),
            "the relay never told the viewer that the probe of {node} left"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    bed.stack.start_probe(&node).expect("start the probe again");
    viewer
        .wait_until(
            Duration::from_secs(30),
            "a snapshot of the new epoch",
            |_, s| {
                s.iter()
                    .filter(|x| x.node == node && x.epoch != old_epoch)
                    .count()
                    >= 2
            },
        )
        .expect("the restarted probe reports");
    let new_epoch = viewer.latest_snapshot(&node).unwrap().epoch;
    assert!(new_epoch > old_epoch, "a restart starts a new epoch");
    let new_l4_start = l4_of(&latest(&viewer, &node, new_epoch).unwrap(), &ip);
    let kernel_restart = kernel_ip_totals(&bed.tester.host_if);

    // After the fault: the node's traffic returns, counted once.
    let from = viewer.entries().len();
    let counts = bed.lab.run_scripted_traffic(10).expect("scripted traffic");
    let after = assert_delivered_exactly(&viewer, from, &bed.tester, &counts, "after the restart");
    assert!(
        after.iter().all(|d| d.epoch == new_epoch && d.node == node),
        "entries after the restart come from the new process"
    );
    std::thread::sleep(Duration::from_millis(1500));
    let new_l4 = l4_of(&latest(&viewer, &node, new_epoch).unwrap(), &ip);
    let kernel_end = kernel_ip_totals(&bed.tester.host_if);

    // L4: the new epoch counts from zero — what crossed the veth since the
    // restart, not that plus the old epoch's total.
    let new_bytes = new_l4.0 - new_l4_start.0;
    let new_packets = new_l4.1 - new_l4_start.1;
    let k_bytes = kernel_end.0 - kernel_restart.0;
    let k_packets = kernel_end.1 - kernel_restart.1;
    println!(
        "old epoch: L4 {old_l4:?}, kernel {:?}; new epoch: L4 {new_l4:?} (+{new_bytes} B, +{new_packets} pkts), kernel +{k_bytes} B, +{k_packets} pkts",
        (kernel_mid.0 - kernel_start.0, kernel_mid.1 - kernel_start.1)
    );
    assert_eq!(
        new_l4_start,
        (0, 0),
        "the new epoch starts from zero, without the old epoch's {old_l4:?}"
    );
    assert!(
        new_packets.abs_diff(k_packets) <= 20,
        "packets since the restart: L4 {new_packets}, kernel {k_packets}"
    );
    assert!(
        new_bytes.abs_diff(k_bytes) <= 20 * 80,
        "bytes since the restart: L4 {new_bytes}, kernel {k_bytes}"
    );
    // Summed per epoch (each epoch's last cumulative value), the whole run
    // equals the kernel's count: nothing counted twice, nothing lost.
    let summed = old_l4.0 + new_l4.0;
    let kernel_all = kernel_end.0 - kernel_start.0;
    assert!(
        summed.abs_diff(kernel_all) <= 40 * 80,
        "epochs summed {summed} B, kernel {kernel_all} B over the run"
    );
    // No other node took over the tester's flows while its probe was away.
    for other in nodes.iter().filter(|n| **n != node) {
        let snap = viewer.latest_snapshot(other).expect("snapshot");
        assert_eq!(l4_of(&snap, &ip), (0, 0), "{other} reports the tester");
    }
    assert_eq!(viewer.undecodable(), 0);
}

#[test]
fn a_restarted_relay_is_found_again_by_probes_and_the_browser() {
    let Some(dist) = web_dist().expect("the built web app") else {
        println!("skipped: the web app is not built (WIREMAP_REQUIRE_WEB=0)");
        return;
    };
    let mut bed = bed(
        true,
        StackOptions {
            web_dist: Some(dist),
            ..StackOptions::default()
        },
    );
    let browser = Browser::start().expect("headless chromium");
    browser.goto(&bed.stack.url()).expect("open the app");
    let state_is = |state: &str, probes: usize| {
        format!(
            "const s = document.getElementById('status'); \
             return !!s && s.dataset.state === '{state}' && Number(s.dataset.probes) >= {probes};"
        )
    };
    browser
        .wait_for(&state_is("connected", 3), Duration::from_secs(30))
        .expect("the app connects and sees three probes");
    browser
        .execute(
            "const s = document.getElementById('grouping'); s.value = 'pod'; \
             s.dispatchEvent(new Event('change', {bubbles: true})); \
             document.querySelector('[data-map=\"l4\"]').click(); return true;",
        )
        .expect("L4 map by pod");
    // The L4 map when all is well: one edge per (client pod, service, transport).
    let edge_set = "return Array.from(document.querySelectorAll('tr[data-edge]'))\
                    .map(r => r.dataset.edge + ' ' + r.dataset.protocol).sort();";
    let want: BTreeSet<String> = bed
        .lab
        .plan()
        .steady_edges()
        .into_iter()
        .filter_map(|(client, service, protocol)| {
            let pod = bed
                .lab
                .plan()
                .pods
                .iter()
                .find(|p| p.owner_name == client)?;
            let t = if protocol == "DNS" { "UDP" } else { "TCP" };
            Some(format!("{} -> {service} {t}", pod.name))
        })
        .collect();
    let has_all = |v: &serde_json::Value| {
        let got: BTreeSet<String> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        want.is_subset(&got)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown = browser.execute(edge_set).unwrap();
        if has_all(&shown) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the L4 map never became whole: want {want:?}, shown {shown}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let viewer = Viewer::connect(bed.stack.addr()).expect("viewer");
    viewer
        .wait_until(Duration::from_secs(10), "snapshots", |_, s| {
            bed.stack
                .nodes()
                .iter()
                .all(|n| s.iter().any(|x| &x.node == n))
        })
        .expect("snapshots before the restart");
    let epochs: BTreeMap<String, u64> = bed
        .stack
        .nodes()
        .into_iter()
        .map(|n| {
            let e = viewer.latest_snapshot(&n).unwrap().epoch;
            (n, e)
        })
        .collect();

    // The fault: the relay dies (SIGKILL) and comes back on the same port.
    bed.stack.kill_relay();
    browser
        .wait_for(
            "const s = document.getElementById('status'); return !!s && s.dataset.state !== 'connected';",
            Duration::from_secs(20),
        )
        .expect("the app notices the relay is gone");
    viewer
        .wait_until(Duration::from_secs(5), "closed", |_, _| !viewer.is_open())
        .ok();
    assert!(!viewer.is_open(), "the raw viewer lost its connection");
    std::thread::sleep(Duration::from_secs(1));
    let back = Instant::now();
    bed.stack
        .start_relay()
        .expect("the relay starts on its old port");
    browser
        .wait_for(&state_is("connected", 3), Duration::from_secs(30))
        .expect("the app reconnects by itself and sees three probes again");
    let reconnected = back.elapsed();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !has_all(&browser.execute(edge_set).unwrap()) {
        assert!(
            Instant::now() < deadline,
            "the L4 map was not whole again within 30 s of the reconnect"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let whole = back.elapsed();
    println!(
        "relay back: browser connected after {:.1} s, L4 map whole after {:.1} s",
        reconnected.as_secs_f64(),
        whole.as_secs_f64()
    );
    // The probes reconnected — the same processes (same epochs), not restarts.
    let viewer = Viewer::connect(bed.stack.addr()).expect("viewer after the restart");
    viewer
        .wait_until(Duration::from_secs(10), "snapshots", |_, s| {
            epochs.keys().all(|n| s.iter().any(|x| &x.node == n))
        })
        .expect("every probe's snapshot reaches a new viewer");
    for (node, epoch) in &epochs {
        assert_eq!(
            viewer.latest_snapshot(node).unwrap().epoch,
            *epoch,
            "the probe of {node} reconnected without restarting"
        );
    }
    assert!(bed.stack.exited_probes().is_empty());
    browser
        .screenshot(
            &workspace_root()
                .join("artifacts")
                .join("lab-relay-restart.png"),
        )
        .expect("screenshot");
}

#[test]
fn a_viewer_that_stops_reading_does_not_hurt_another() {
    // A small queue (yet several of the largest batches, so the healthy
    // viewer's bursts fit) and a short stall limit, so the relay deals with
    // the stalled viewer within the test's time.
    let bed = bed(
        true,
        StackOptions {
            relay_args: [
                "--viewer-queue-bytes",
                "262144",
                "--viewer-stall-ms",
                "3000",
                // Only the queue may end the stalled viewer, not a missed pong.
                "--client-timeout-ms",
                "600000",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            ..StackOptions::default()
        },
    );
    let stalled = StalledViewer::connect(bed.stack.addr()).expect("stalled viewer");
    let viewer = Viewer::connect(bed.stack.addr()).expect("viewer");
    let nodes = bed.stack.nodes();
    viewer
        .wait_until(
            Duration::from_secs(30),
            "snapshots from every node",
            |_, s| nodes.iter().all(|n| s.iter().any(|x| &x.node == n)),
        )
        .expect("every probe reports");
    println!("stalled viewer on local port {:?}", stalled.local_port());

    let metrics = || bed.stack.metrics().expect("relay metrics");
    let handled = |m: &str| {
        metric(
            m,
            "wiremap_relay_dropped_total{reason=\"viewer_queue_full\"}",
        ) + metric(
            m,
            "wiremap_relay_closed_total{endpoint=\"viewer\",reason=\"slow_viewer\"}",
        )
    };
    // Scripted calls, again and again, while the stalled viewer's buffers
    // fill up, until the relay gives up on it (drops its batches or closes
    // it): the healthy viewer gets every call of every run.
    let started = Instant::now();
    let mut runs = 0;
    let mut most_unsent = 0;
    loop {
        let from = viewer.entries().len();
        let counts = bed.lab.run_scripted_traffic(120).expect("scripted traffic");
        runs += 1;
        assert_delivered_exactly(&viewer, from, &bed.tester, &counts, "while a viewer stalls");
        let backlog = stalled.backlog();
        if let Some((_, unsent)) = backlog {
            most_unsent = most_unsent.max(unsent);
        }
        println!(
            "run {runs} at {:.0} s: stalled viewer backlog (unread, relay unsent) {backlog:?}",
            started.elapsed().as_secs_f64()
        );
        if handled(&metrics()) > 0.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the relay never dropped anything for the stalled viewer: {}",
            metrics()
        );
    }
    // And after: the healthy viewer still gets every call.
    let from = viewer.entries().len();
    let counts = bed.lab.run_scripted_traffic(20).expect("scripted traffic");
    assert_delivered_exactly(&viewer, from, &bed.tester, &counts, "after the stall");
    let m = metrics();
    println!("most bytes the relay could not send to the stalled viewer: {most_unsent}");
    println!(
        "relay: viewer batches dropped {} ({} bytes), slow viewers closed {}, viewers now {}",
        metric(
            &m,
            "wiremap_relay_dropped_total{reason=\"viewer_queue_full\"}"
        ),
        metric(
            &m,
            "wiremap_relay_dropped_bytes_total{reason=\"viewer_queue_full\"}"
        ),
        metric(
            &m,
            "wiremap_relay_closed_total{endpoint=\"viewer\",reason=\"slow_viewer\"}"
        ),
        metric(&m, "wiremap_relay_viewers")
    );
    // The healthy viewer was never told it lost anything.
    let dropped: Vec<_> = viewer
        .other_frames()
        .into_iter()
        .filter(|f| matches!(f, Frame::RelayNotice(RelayNotice::Dropped { .. })))
        .collect();
    assert!(
        dropped.is_empty(),
        "the healthy viewer lost frames: {dropped:?}"
    );
    assert!(viewer.is_open());
    assert_eq!(viewer.undecodable(), 0);
    drop(stalled);
}
