//! The aggregation scenario: a full store (300,000 entries, 2,000
//! identities in 20 namespaces), recomputed through the model's
//! `aggregate_l7` under a compiled KFL2 display filter, a grouping and the
//! 10 s rate window — what a tab does when the user edits the filter.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use wiremap_kfl::Filter;
use wiremap_model::{aggregate_l7, Grouping, L7Store, ViewSettings};
use wiremap_wire::{Detail, Entry, EntryView, Identity, IdentityKind, L7Batch, Peer, Protocol};

use crate::graphs::Rng;

/// Entries in the store (the model's default cap).
pub const ENTRIES: usize = 300_000;
const PER_BATCH: usize = 500;
const IDENTITIES: usize = 2_000;
const TRIPLES: usize = 10_000;
/// "now" of the scenario (µs); every entry is inside the 10 s window.
pub const NOW_US: i64 = 1_000_000_000_000;

fn identities() -> Vec<Identity> {
    (0..IDENTITIES)
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

/// The batches a probe would send: 500 entries each, carrying only the
/// identities they reference; (client, server, protocol) triples picked
/// with a skew so a few edges are hot.
pub fn batches() -> Vec<L7Batch> {
    let ids = identities();
    let mut rng = Rng(1);
    let triples: Vec<(usize, usize, Protocol)> = (0..TRIPLES)
        .map(|_| {
            (
                rng.below(IDENTITIES),
                rng.below(IDENTITIES),
                Protocol::KNOWN[rng.below(6)],
            )
        })
        .collect();
    (0..ENTRIES / PER_BATCH)
        .map(|b| {
            let mut table: Vec<Identity> = Vec::new();
            let mut local: HashMap<usize, u32> = HashMap::new();
            let mut idx = |g: usize, table: &mut Vec<Identity>| -> u32 {
                *local.entry(g).or_insert_with(|| {
                    table.push(ids[g].clone());
                    (table.len() - 1) as u32
                })
            };
            let entries = (0..PER_BATCH)
                .map(|i| {
                    let u = rng.unit();
                    let (s, d, protocol) = triples[((u * u) * TRIPLES as f64) as usize];
                    Entry {
                        id: (b * PER_BATCH + i) as u64,
                        timestamp_us: NOW_US - (rng.below(9_000_000) as i64),
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
                        status_code: if rng.below(50) == 0 { 503 } else { 200 },
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
        .collect()
}

/// One recompute case: a name, view settings and a KFL2 filter source.
#[derive(Debug)]
pub struct Case {
    pub name: &'static str,
    pub filter_source: &'static str,
    settings: ViewSettings,
    filter: Filter,
}

/// The store plus the compiled cases.
#[derive(Debug)]
pub struct AggregationBench {
    store: L7Store,
    pub cases: Vec<Case>,
}

/// What one recompute produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub edges: usize,
    pub nodes: usize,
    pub matched: u64,
}

impl AggregationBench {
    /// An empty store and compiled cases. Fails only if a filter of the
    /// scenario does not compile (a KFL2 regression).
    pub fn new() -> Result<Self, String> {
        let mut hidden = ViewSettings::default();
        hidden.hidden.toggle_namespace("ns-3");
        let specs: Vec<(&'static str, &'static str, ViewSettings)> = vec![
            (
                "pod grouping, 10 s window, `!dns`",
                "!dns",
                ViewSettings::default(),
            ),
            (
                "pod grouping, 10 s window, `!dns && dst.pod.namespace != \"ns-7\"`",
                "!dns && dst.pod.namespace != \"ns-7\"",
                ViewSettings::default(),
            ),
            ("pod grouping, `!dns`, one namespace hidden", "!dns", hidden),
            (
                "namespace grouping, `status_code < 500`",
                "status_code < 500",
                ViewSettings {
                    grouping: Grouping::Namespace,
                    ..Default::default()
                },
            ),
            (
                "workload grouping, cumulative, `!dns`",
                "!dns",
                ViewSettings {
                    grouping: Grouping::Workload,
                    cumulative: true,
                    ..Default::default()
                },
            ),
        ];
        let cases = specs
            .into_iter()
            .map(|(name, src, settings)| {
                Filter::compile(src, NOW_US)
                    .map(|filter| Case {
                        name,
                        filter_source: src,
                        settings,
                        filter,
                    })
                    .map_err(|e| format!("filter {src:?}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(AggregationBench {
            store: L7Store::new(ENTRIES),
            cases,
        })
    }

    /// Ingests the scenario's batches (timed by the caller).
    pub fn ingest(&mut self, batches: Vec<L7Batch>) {
        for b in batches {
            self.store.ingest(b);
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Recomputes the map for case `i` (`None` if there is no such case).
    pub fn run(&self, i: usize) -> Option<Outcome> {
        let case = self.cases.get(i)?;
        let pred = |v: &EntryView| case.filter.matches(v).unwrap_or(false);
        self.run_with(i, &pred)
    }

    /// Case `i`'s settings with another predicate (the reference: a Rust
    /// closure instead of the KFL2 filter).
    pub fn run_with(&self, i: usize, pred: &dyn Fn(&EntryView) -> bool) -> Option<Outcome> {
        let case = self.cases.get(i)?;
        let g = aggregate_l7(&self.store, pred, &case.settings, NOW_US);
        Some(Outcome {
            edges: g.edges.len(),
            nodes: g.nodes.len(),
            matched: g.matched,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_filters_and_groups_something() {
        let mut b = AggregationBench::new().expect("filters compile");
        b.ingest(batches().into_iter().take(20).collect());
        assert_eq!(b.len(), 20 * PER_BATCH);
        for i in 0..b.cases.len() {
            let o = b.run(i).expect("case");
            assert!(o.edges > 0 && o.matched > 0, "{}: {o:?}", b.cases[i].name);
            assert!(
                o.matched < (20 * PER_BATCH) as u64,
                "{}: filter passed everything",
                b.cases[i].name
            );
        }
        assert_eq!(b.run(b.cases.len()), None);
        let not_dns = |v: &EntryView| v.entry.protocol != Protocol::DNS;
        assert_eq!(b.run_with(0, &not_dns), b.run(0));
    }
}
