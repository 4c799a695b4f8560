//! Block evaluation (`Filter::matches_block`) gives, entry for entry, the
//! same result as `Filter::matches`: match, no match or error. Seeded random
//! boolean filters over protocol flags, int and string comparisons, list
//! membership, map lookups that fail when the key is missing (errors that
//! `&&`/`||` must absorb or keep), negations and nested chains, run on random
//! entries in blocks of every size from 1 to 64.

mod common;

use common::{base, pod, service, Owned, Rng};
use std::cell::Cell;
use wiremap_kfl::Filter;

use wiremap_wire::{Detail, Dns, Entry, EntryBlock, EntryView, Http, Protocol};

const NOW_US: i64 = 1_700_000_000_000_000;

const LEAVES: &[&str] = &[
    "http",
    "dns",
    "redis",
    "grpc",
    "kafka",
    "tcp",
    "status_code >= 400",
    "status_code == 0",
    "500 <= status_code",
    "elapsed_time > 200000",
    "dst.pod.namespace == \"prod\"",
    "src.pod.namespace != \"default\"",
    "src.pod.namespace in [\"prod\", \"staging\"]",
    "path.startsWith(\"/api\")",
    "path.contains(\"health\")",
    "method == \"POST\"",
    "\"x-trace\" in request.headers",
    // Errors when the header is absent (CEL: a missing map key).
    "request.headers[\"x-trace\"] == \"1\"",
    "size(dns_questions) > 1",
    "dns_questions.exists(q, q.endsWith(\".svc\"))",
    "status_code / (elapsed_time - elapsed_time) > 1",
    "true",
    "false",
];

fn random_filter(rng: &mut Rng, depth: u32) -> String {
    if depth == 0 || rng.below(10) < 3 {
        return rng.pick(LEAVES).to_string();
    }
    match rng.below(4) {
        0 => format!("!({})", random_filter(rng, depth - 1)),
        1 | 2 => {
            let op = if rng.below(2) == 0 { " && " } else { " || " };
            let n = 2 + rng.below(3);
            let parts: Vec<String> = (0..n)
                .map(|_| format!("({})", random_filter(rng, depth - 1)))
                .collect();
            parts.join(op)
        }
        _ => format!(
            "({}) ? ({}) : ({})",
            random_filter(rng, depth - 1),
            random_filter(rng, depth - 1),
            random_filter(rng, depth - 1)
        ),
    }
}

fn random_entry(rng: &mut Rng) -> Owned {
    let protocols = [
        Protocol::HTTP,
        Protocol::GRPC,
        Protocol::DNS,
        Protocol::REDIS,
        Protocol::KAFKA,
        Protocol::TCP,
    ];
    let protocol = protocols[rng.below(protocols.len())];
    let mut o = base(protocol);
    o.entry.status_code = [0, 200, 404, 500, 503, 3][rng.below(6)];
    o.entry.elapsed_us = [0, 1500, 200_000, 250_000][rng.below(4)];
    match protocol {
        Protocol::HTTP | Protocol::GRPC => {
            let headers = match rng.below(3) {
                0 => vec![],
                1 => vec![("x-trace".to_string(), "1".to_string())],
                _ => vec![("x-trace".to_string(), "2".to_string())],
            };
            o.entry.detail = Detail::Http(Box::new(Http {
                method: rng.pick(&["GET", "POST"]).into(),
                path: rng.pick(&["/api/v1/users", "/health", ""]).into(),
                request_headers: headers,
                ..Http::default()
            }));
        }
        Protocol::DNS => {
            o.entry.detail = Detail::Dns(Box::new(Dns {
                questions: (0..rng.below(3))
                    .map(|_| rng.pick(&["a.svc", "example.com"]).into())
                    .collect(),
                ..Dns::default()
            }));
        }
        _ => {}
    }
    let ns = ["prod", "staging", "default"];
    o.src = pod("10.0.0.1", "client", ns[rng.below(3)], "node-a");
    o.dst = if rng.below(4) == 0 {
        service("10.0.0.9", "api", ns[rng.below(3)])
    } else {
        pod("10.0.0.2", "server", ns[rng.below(3)], "node-b")
    };
    o
}

/// A block that makes views on demand and counts them.
struct Lazy<'a> {
    entries: &'a [Owned],
    views_made: Cell<usize>,
}

impl<'a> Lazy<'a> {
    fn new(entries: &'a [Owned]) -> Self {
        Lazy {
            entries,
            views_made: Cell::new(0),
        }
    }
}

impl EntryBlock for Lazy<'_> {
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn entry(&self, i: usize) -> &Entry {
        &self.entries[i].entry
    }

    fn view(&self, i: usize) -> EntryView<'_> {
        self.views_made.set(self.views_made.get() + 1);
        self.entries[i].view()
    }
}

#[test]
fn block_results_equal_per_entry_results() {
    let mut rng = Rng(7);
    let entries: Vec<Owned> = (0..500).map(|_| random_entry(&mut rng)).collect();
    let views: Vec<EntryView<'_>> = entries.iter().map(Owned::view).collect();
    let (mut filters, mut matched, mut errored) = (0, 0u64, 0u64);
    for _ in 0..400 {
        let src = random_filter(&mut rng, 4);
        let Ok(f) = Filter::compile(&src, NOW_US) else {
            continue; // e.g. a ternary of mixed types: not this test's subject
        };
        filters += 1;
        let mut at = 0;
        while at < views.len() {
            let n = (1 + rng.below(Filter::BLOCK)).min(views.len() - at);
            let block = &views[at..at + n];
            let (t, e) = f.matches_block(block);
            assert_eq!(
                f.matches_block(&Lazy::new(&entries[at..at + n])),
                (t, e),
                "{src}: views made on demand"
            );
            assert_eq!(t & e, 0, "{src}: an entry both matched and failed");
            let inside = if n == 64 { u64::MAX } else { (1 << n) - 1 };
            assert_eq!(
                (t | e) & !inside,
                0,
                "{src}: bits set past the block's {n} entries"
            );
            for (i, v) in block.iter().enumerate() {
                let want = f.matches(v);
                let got = if e >> i & 1 == 1 {
                    errored += 1;
                    "error"
                } else if t >> i & 1 == 1 {
                    matched += 1;
                    "match"
                } else {
                    "no match"
                };
                let want = match want {
                    Ok(true) => "match",
                    Ok(false) => "no match",
                    Err(_) => "error",
                };
                assert_eq!(got, want, "{src} on entry {} ({:?})", at + i, v.entry);
            }
            at += n;
        }
    }
    // The generator must exercise all three outcomes, or this proves little.
    assert!(filters > 200, "only {filters} filters compiled");
    assert!(matched > 10_000, "only {matched} matches");
    assert!(errored > 1_000, "only {errored} errors");
}

/// Tests of the entry itself (protocol flags, status code, latency) ask the
/// block for no view; a peer's field asks only for the entries still
/// undecided.
#[test]
fn views_are_made_only_for_tests_that_read_peers() {
    let mut rng = Rng(11);
    let entries: Vec<Owned> = (0..64).map(|_| random_entry(&mut rng)).collect();
    let own = Filter::compile("http && status_code >= 400 || elapsed_time > 1000", NOW_US)
        .expect("compiles");
    let lazy = Lazy::new(&entries);
    own.matches_block(&lazy);
    assert_eq!(lazy.views_made.get(), 0);
    let peers = Filter::compile(r#"http && dst.namespace == "prod""#, NOW_US).expect("compiles");
    let lazy = Lazy::new(&entries);
    let http = entries
        .iter()
        .filter(|o| o.entry.protocol.is_http())
        .count();
    peers.matches_block(&lazy);
    assert_eq!(lazy.views_made.get(), http);
    assert!(http > 0 && http < 64);
}

#[test]
fn empty_and_full_blocks() {
    let o = base(Protocol::HTTP);
    let f = Filter::compile("http", NOW_US).expect("compiles");
    assert_eq!(f.matches_block::<[EntryView]>(&[]), (0, 0));
    let views = vec![o.view(); 64];
    assert_eq!(f.matches_block(&views[..]), (u64::MAX, 0));
    let everything = Filter::compile("", NOW_US).expect("empty filter");
    assert_eq!(everything.matches_block(&views[..3]), (0b111, 0));
}

#[test]
#[should_panic(expected = "at most 64 entries")]
fn a_block_of_65_is_refused() {
    let o = base(Protocol::HTTP);
    let f = Filter::compile("http", NOW_US).expect("compiles");
    let views = vec![o.view(); 65];
    let _ = f.matches_block(&views[..]);
}
