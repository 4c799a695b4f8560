//! Bench binary: L7 and L4 aggregation throughput and layout speed and
//! quality.
//! Run: `cargo bench -p wiremap-model --bench model` (`-- l7`, `-- l4` or
//! `-- layout` for one part); results and the
//! side-by-side comparison with other engines are in docs/bench/model.md.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use wiremap_model::{
    aggregate_l7, aggregate_l7_blocks, Grouping, L4Aggregation, L4State, L7Store, Layout,
    LayoutConfig, MapEdge, MapGraph, MapNode, NodeKind, ViewSettings,
};
use wiremap_wire::{
    Detail, Entry, EntryView, Identity, IdentityKind, L4Counter, L4Snapshot, L7Batch, Peer,
    Protocol,
};

/// CPU seconds used by this process (user + system), from /proc: the
/// machine is shared, so wall time overstates our cost.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the name.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn identities(n: usize) -> Vec<Identity> {
    (0..n)
        .map(|i| {
            let mut id = Identity::external(IpAddr::V4(Ipv4Addr::new(
                10,
                (i >> 16) as u8,
                (i >> 8) as u8,
                i as u8,
            )));
            if i % 10 != 9 {
                id.kind = IdentityKind::POD;
                id.namespace = format!("ns-{}", i % 20);
                id.name = format!("pod-{i}");
                id.node = format!("node-{}", i % 50);
                id.workload = format!("deploy-{}", i % 200);
            }
            id
        })
        .collect()
}

fn bench_aggregation() {
    const ENTRIES: usize = 300_000;
    const PER_BATCH: usize = 500;
    const PAIRS: usize = 10_000;
    let ids = identities(2000);
    let mut rng = Rng(1);
    // Communicating (client, server, protocol) triples; entries pick them
    // with a skew (squared uniform), so a few pairs are hot.
    let pairs: Vec<(usize, usize, Protocol)> = (0..PAIRS)
        .map(|_| {
            (
                rng.below(2000),
                rng.below(2000),
                Protocol::KNOWN[rng.below(6)],
            )
        })
        .collect();
    let now = 1_000_000_000_000i64;
    let batches: Vec<L7Batch> = (0..ENTRIES / PER_BATCH)
        .map(|b| {
            // A batch carries only the identities its entries reference.
            let mut table: Vec<Identity> = Vec::new();
            let mut local = std::collections::HashMap::new();
            let mut idx = |g: usize, table: &mut Vec<Identity>| -> u32 {
                *local.entry(g).or_insert_with(|| {
                    table.push(ids[g].clone());
                    (table.len() - 1) as u32
                })
            };
            let entries = (0..PER_BATCH)
                .map(|i| {
                    let u = rng.below(1 << 20) as f64 / (1u64 << 20) as f64;
                    let (s, d, protocol) = pairs[((u * u) * PAIRS as f64) as usize];
                    Entry {
                        id: (b * PER_BATCH + i) as u64,
                        timestamp_us: now - (rng.below(9_000_000) as i64),
                        elapsed_us: rng.below(100_000) as i64,
                        protocol,
                        src: Peer {
                            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                            port: 1,
                            identity: idx(s, &mut table),
                        },
                        dst: Peer {
                            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                            port: 2,
                            identity: idx(d, &mut table),
                        },
                        conn_id: 0,
                        transport_udp: false,
                        request_size: rng.below(5000) as u64,
                        response_size: rng.below(50_000) as u64,
                        status_code: 200,
                        error: rng.below(50) == 0,
                        has_response: true,
                        detail: Detail::None,
                    }
                })
                .collect();
            L7Batch {
                node: format!("node-{}", b % 50),
                epoch: 1,
                seq: b as u64,
                identities: table,
                entries,
            }
        })
        .collect();
    let mut store = L7Store::new(ENTRIES);
    let ingest_start = Instant::now();
    let ingest_cpu = cpu_seconds();
    for batch in batches {
        store.ingest(batch);
    }
    let ingest = ingest_start.elapsed().as_secs_f64();
    let ingest_cpu = cpu_seconds() - ingest_cpu;
    println!("## L7 aggregation ({ENTRIES} entries, 2000 identities, 20 namespaces, {PAIRS} skewed client/server/protocol triples)\n");
    println!(
        "ingest: wall {:.0} ms, CPU {:.0} ms ({:.2} M entries/s by CPU time; batches of {PER_BATCH} entries carrying the identities they reference)\n",
        ingest * 1e3,
        ingest_cpu * 1e3,
        ENTRIES as f64 / ingest_cpu.max(1e-3) / 1e6
    );
    println!("| case | edges | wall ms (best of 10) | CPU ms (mean of 10) | M entries/s (CPU) |\n|---|---:|---:|---:|---:|");
    let not_dns = |v: &EntryView| v.entry.protocol != Protocol::DNS;
    let all = |_: &EntryView| true;
    let mut hidden = ViewSettings::default();
    hidden.hidden.toggle_namespace("ns-3");
    type Filter<'a> = &'a dyn Fn(&EntryView) -> bool;
    let cases: Vec<(&str, ViewSettings, Filter)> = vec![
        (
            "pod grouping, 10 s window, no filter",
            ViewSettings::default(),
            &all,
        ),
        (
            "pod grouping, 10 s window, filter protocol != DNS",
            ViewSettings::default(),
            &not_dns,
        ),
        (
            "pod grouping, filter, one namespace hidden",
            hidden,
            &not_dns,
        ),
        (
            "namespace grouping, filter",
            ViewSettings {
                grouping: Grouping::Namespace,
                ..Default::default()
            },
            &not_dns,
        ),
        (
            "workload grouping, cumulative, filter",
            ViewSettings {
                grouping: Grouping::Workload,
                cumulative: true,
                ..Default::default()
            },
            &not_dns,
        ),
    ];
    let row = |name: &str, run: &dyn Fn() -> usize| {
        let mut best = f64::MAX;
        let mut edges = 0;
        let cpu0 = cpu_seconds();
        for _ in 0..10 {
            let t = Instant::now();
            edges = run();
            best = best.min(t.elapsed().as_secs_f64());
        }
        let cpu = (cpu_seconds() - cpu0) / 10.0;
        println!(
            "| {name} | {edges} | {:.1} | {:.1} | {:.2} |",
            best * 1e3,
            cpu * 1e3,
            ENTRIES as f64 / cpu.max(1e-3) / 1e6
        );
    };
    // What the web app runs with no display filter: a block filter that
    // passes every entry without reading it.
    for (name, cumulative) in [
        ("pod grouping, 10 s window, no filter (block form)", false),
        ("pod grouping, cumulative, no filter (block form)", true),
    ] {
        let settings = ViewSettings {
            cumulative,
            ..Default::default()
        };
        row(name, &|| {
            aggregate_l7_blocks(&store, &|_| u64::MAX, &settings, now)
                .edges
                .len()
        });
    }
    for (name, settings, filter) in cases {
        row(name, &|| {
            aggregate_l7(&store, filter, &settings, now).edges.len()
        });
    }
    println!();
}

fn node(i: usize, rng: &mut Rng) -> MapNode {
    MapNode::new(format!("n{i:06}"), String::new(), NodeKind::Pod)
        .in_namespace(format!("ns-{}", rng.below(20)))
}

fn edge(s: usize, t: usize) -> MapEdge {
    MapEdge::new(String::new(), s, t)
}

fn random_graph(n: usize, m: usize, seed: u64) -> MapGraph {
    let mut rng = Rng(seed);
    let nodes = (0..n).map(|i| node(i, &mut rng)).collect();
    let edges = (0..m).map(|_| edge(rng.below(n), rng.below(n))).collect();
    MapGraph {
        nodes,
        edges,
        ..Default::default()
    }
}

/// Barabási–Albert: each new node links to `m/n` earlier nodes chosen with
/// probability proportional to degree.
fn preferential_graph(n: usize, m: usize, seed: u64) -> MapGraph {
    let mut rng = Rng(seed);
    let per = (m / n).max(1);
    let nodes = (0..n).map(|i| node(i, &mut rng)).collect();
    let mut ends: Vec<usize> = vec![0];
    let mut edges = Vec::with_capacity(m);
    for v in 1..n {
        for _ in 0..per {
            let u = ends[rng.below(ends.len())];
            edges.push(edge(v, u));
            ends.push(u);
            ends.push(v);
        }
    }
    MapGraph {
        nodes,
        edges,
        ..Default::default()
    }
}

fn quality(layout: &Layout, g: &MapGraph) -> f64 {
    let p = layout.positions_for(g);
    let dist = |a: usize, b: usize| ((p[a].0 - p[b].0).powi(2) + (p[a].1 - p[b].1).powi(2)).sqrt();
    let edge_mean = g
        .edges
        .iter()
        .map(|e| dist(e.source, e.target))
        .sum::<f64>()
        / g.edges.len() as f64;
    let mut rng = Rng(99);
    let pairs = 20_000;
    let pair_mean = (0..pairs)
        .map(|_| dist(rng.below(p.len()), rng.below(p.len())))
        .sum::<f64>()
        / pairs as f64;
    edge_mean / pair_mean
}

fn bench_layout() {
    println!("## Layout (300 iterations = one full cooling run, seed 42, same initial positions per graph)\n");
    println!("| graph | nodes | edges | CPU ms/iteration | CPU total to stop (ms) | wall total (ms) | iterations | quality (edge / random pair) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let sizes: &[(usize, usize)] = if std::env::args().any(|a| a == "small") {
        &[(2_000, 10_000)]
    } else {
        &[(2_000, 10_000), (10_000, 50_000)]
    };
    for &(n, m) in sizes {
        for (name, g) in [
            ("random", random_graph(n, m, 7)),
            ("pref. attachment", preferential_graph(n, m, 7)),
        ] {
            let theta = std::env::args()
                .find_map(|a| a.strip_prefix("theta=").and_then(|v| v.parse().ok()))
                .unwrap_or(LayoutConfig::default().theta);
            let mut layout = Layout::with_config(
                42,
                LayoutConfig {
                    theta,
                    ..Default::default()
                },
            );
            let t = Instant::now();
            let cpu0 = cpu_seconds();
            layout.sync(&g);
            let q0 = quality(&layout, &g);
            let mut iterations = 0;
            while layout.step(1) {
                iterations += 1;
            }
            iterations += 1;
            let total = t.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu0;
            println!(
                "| {name} | {n} | {m} | {:.2} | {:.0} | {:.0} | {iterations} | {:.3} (initial {:.3}) |",
                cpu * 1e3 / iterations as f64,
                cpu * 1e3,
                total * 1e3,
                quality(&layout, &g),
                q0
            );
        }
    }
    // Incremental: one unrelated node arrives in a converged 2k graph.
    let g = random_graph(2_000, 10_000, 7);
    let mut layout = Layout::new(42);
    layout.sync(&g);
    while layout.step(50) {}
    let mut g2 = g.clone();
    let mut rng = Rng(5);
    let mut extra = node(999_999, &mut rng);
    extra.key = "zz-new".into();
    g2.nodes.push(extra);
    let cpu0 = cpu_seconds();
    layout.sync(&g2);
    let mut iterations = 0;
    while layout.step(1) {
        iterations += 1;
    }
    println!(
        "\nIncremental: one new node into the converged 2,000/10,000 random graph: CPU {:.0} ms for {} iterations to stop ({:.2} ms/iteration; only the new node moves).\n",
        (cpu_seconds() - cpu0) * 1e3,
        iterations + 1,
        (cpu_seconds() - cpu0) * 1e3 / (iterations + 1) as f64
    );
}

/// The cluster-wide L4 map of 10,000 pods: 20 probes, 2,500 flows each
/// (random peers), two snapshots each (so that rates exist).
fn bench_l4() {
    const PODS: usize = 10_000;
    const PROBES: usize = 20;
    const FLOWS: usize = 2_500;
    let ids = identities(PODS);
    let mut rng = Rng(5);
    let mut state = L4State::new();
    let mut ingest_cpu = 0.0;
    for seq in 1..=2u64 {
        for p in 0..PROBES {
            let counters = (0..FLOWS)
                .map(|i| L4Counter {
                    client: ((p * FLOWS + i) % PODS) as u32,
                    server: rng.below(PODS) as u32,
                    server_port: 80,
                    ip_proto: 6,
                    bytes_to_server: 1_000 * seq,
                    bytes_to_client: 2_000 * seq,
                    packets_to_server: 10 * seq,
                    packets_to_client: 10 * seq,
                    flows: 1,
                    open_flows: 1,
                })
                .collect();
            let snap = L4Snapshot {
                node: format!("node-{p}"),
                epoch: 1,
                seq,
                taken_at_us: seq as i64 * 1_000_000,
                identities: ids.clone(),
                counters,
            };
            let cpu0 = cpu_seconds();
            state.ingest(snap).expect("fresh snapshot");
            ingest_cpu += cpu_seconds() - cpu0;
        }
    }
    println!(
        "## L4 map ({PODS} pods, {PROBES} probes x {FLOWS} flows, two snapshots each)\n\nIngest: {:.1} ms CPU per snapshot (mean of {}).\n",
        ingest_cpu * 1e3 / (2 * PROBES) as f64,
        2 * PROBES
    );
    println!("| grouping | nodes | edges | wall ms (best of 10) | CPU ms (mean of 10) | longest step of 4,096 counters (ms) |\n|---|---:|---:|---:|---:|---:|");
    for grouping in [
        Grouping::PodService,
        Grouping::Workload,
        Grouping::Namespace,
    ] {
        let settings = ViewSettings {
            grouping,
            ..Default::default()
        };
        let (mut best, mut cpu, mut longest) = (f64::INFINITY, 0.0, 0.0f64);
        let mut shape = (0, 0);
        for _ in 0..10 {
            let (t, c) = (Instant::now(), cpu_seconds());
            let g = state.graph(&settings);
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
            cpu += cpu_seconds() - c;
            shape = (g.nodes.len(), g.edges.len());
            let mut run = L4Aggregation::new(&state, &settings);
            loop {
                let t = Instant::now();
                let done = run.advance(&state, 4_096).is_some();
                longest = longest.max(t.elapsed().as_secs_f64() * 1e3);
                if done {
                    break;
                }
            }
        }
        println!(
            "| {grouping:?} | {} | {} | {best:.1} | {:.1} | {longest:.1} |",
            shape.0,
            shape.1,
            cpu * 1e3 / 10.0
        );
    }
    println!();
}

fn main() {
    // `cargo bench … -- l7` or `-- layout` runs one part.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let parts = ["l7", "l4", "layout"];
    let want = |name: &str| {
        !args.iter().any(|a| parts.contains(&a.as_str())) || args.iter().any(|a| a == name)
    };
    if want("l7") {
        bench_aggregation();
    }
    if want("l4") {
        bench_l4();
    }
    if want("layout") {
        bench_layout();
    }
}
