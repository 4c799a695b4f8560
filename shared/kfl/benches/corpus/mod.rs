//! The benchmark corpus: a deterministic mix of entries (HTTP, gRPC, DNS,
//! Redis, Kafka, TCP) between a pool of pods, the same on every run and on
//! every target (the native bench and the WASM bench both include this
//! file; the tests take its `Rng`), plus the benchmark expressions.

use std::net::IpAddr;

use wiremap_wire::{
    Detail, Dns, Entry, EntryBlock, EntryView, Grpc, Http, Identity, IdentityKind, Kafka, Peer,
    Protocol, Redis,
};

/// The benchmark expressions: (name, source).
pub const EXPRESSIONS: [(&str, &str); 2] = [
    (
        "simple",
        r#"http && status_code >= 400 && dst.pod.namespace == "prod""#,
    ),
    (
        "complex",
        r#"(http && (status_code >= 500 || elapsed_time > 200000) && path.startsWith("/api")) || (dns && status_code != 0) || (redis && src.pod.namespace in ["prod", "staging"])"#,
    ),
];

pub const NAMESPACES: [&str; 6] = [
    "prod",
    "staging",
    "dev",
    "kube-system",
    "default",
    "payments",
];
const PATHS: [&str; 8] = [
    "/api/v1/users",
    "/api/v2/orders/42",
    "/health",
    "/metrics",
    "/static/app.js",
    "/api/v1/payments",
    "/login",
    "/apix",
];
const STATUSES: [i32; 12] = [200, 200, 200, 200, 200, 201, 204, 301, 400, 404, 500, 503];
const METHODS: [&str; 4] = ["GET", "GET", "POST", "PUT"];

/// splitmix64: small, deterministic, identical on every target.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    /// True `percent` times in 100 (the tests' draws).
    #[allow(dead_code)]
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Entries with their identities held by index into a shared pool.
#[derive(Debug)]
pub struct Corpus {
    pub identities: Vec<Identity>,
    pub entries: Vec<(Entry, u16, u16)>,
    pub node: String,
}

impl Corpus {
    pub fn view(&self, i: usize) -> EntryView<'_> {
        let (e, s, d) = &self.entries[i];
        EntryView {
            entry: e,
            src: &self.identities[usize::from(*s)],
            dst: &self.identities[usize::from(*d)],
            node: &self.node,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Entries `at..at + n` as a block whose views are made on demand
    /// (what the web app hands the filter from its store).
    pub fn block(&self, at: usize, n: usize) -> Block<'_> {
        Block {
            corpus: self,
            entries: &self.entries[at..at + n],
            at,
        }
    }
}

/// A run of the corpus for [`wiremap_kfl::Filter::matches_block`].
pub struct Block<'a> {
    corpus: &'a Corpus,
    entries: &'a [(Entry, u16, u16)],
    at: usize,
}

impl EntryBlock for Block<'_> {
    fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    fn entry(&self, i: usize) -> &Entry {
        &self.entries[i].0
    }

    #[inline]
    fn view(&self, i: usize) -> EntryView<'_> {
        self.corpus.view(self.at + i)
    }
}

fn pool(rng: &mut Rng) -> Vec<Identity> {
    (0..96u8)
        .map(|i| {
            let ip = IpAddr::from([10, 1, i / 32, i]);
            let mut id = Identity::external(ip);
            if i % 8 == 7 {
                return id; // an external peer: empty namespace
            }
            let ns = rng.pick(&NAMESPACES);
            id.kind = IdentityKind::POD;
            id.name = format!("app-{i}-7d9f");
            id.namespace = ns.to_string();
            id.node = format!("node-{}", i % 3);
            id.service = format!("svc-{}", i / 4);
            id.service_namespace = ns.to_string();
            id
        })
        .collect()
}

/// `n` entries from `seed`.
pub fn generate(n: usize, seed: u64) -> Corpus {
    let mut rng = Rng(seed);
    let identities = pool(&mut rng);
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let s = rng.below(identities.len()) as u16;
        let d = rng.below(identities.len()) as u16;
        let kind = rng.below(100);
        let (protocol, status, detail) = match kind {
            0..=54 => {
                let grpc = kind >= 45;
                let path = rng.pick(&PATHS);
                let status = if grpc { 200 } else { rng.pick(&STATUSES) };
                let http = Http {
                    method: rng.pick(&METHODS).to_string(),
                    url: path.to_string(),
                    path: path.to_string(),
                    http_version: if grpc { "HTTP/2" } else { "HTTP/1.1" }.to_string(),
                    grpc: grpc.then(|| Grpc {
                        service: "pkg.Svc".to_string(),
                        method: "Get".to_string(),
                        status: (rng.below(10) == 0) as i32 * 14,
                    }),
                    response_body_size: rng.below(10_000) as u64,
                    ..Http::default()
                };
                let p = if grpc { Protocol::GRPC } else { Protocol::HTTP };
                (p, status, Detail::Http(Box::new(http)))
            }
            55..=74 => {
                let rcode = if rng.below(8) == 0 { 3 } else { 0 };
                let dns = Dns {
                    questions: vec![format!("svc-{}.prod.svc.cluster.local", rng.below(20))],
                    question_types: vec!["A".to_string()],
                    request: true,
                    response: true,
                    rcode,
                    ..Dns::default()
                };
                (Protocol::DNS, i32::from(rcode), Detail::Dns(Box::new(dns)))
            }
            75..=89 => {
                let key = format!("session:{}", rng.below(1000));
                let redis = Redis {
                    command_type: "GET".to_string(),
                    command: format!("GET {key}"),
                    key,
                    error_reply: false,
                };
                (Protocol::REDIS, 0, Detail::Redis(Box::new(redis)))
            }
            90..=94 => {
                let kafka = Kafka {
                    api_key: rng.below(2) as i16,
                    request_summary: "orders".to_string(),
                    request: true,
                    response: true,
                    ..Kafka::default()
                };
                (Protocol::KAFKA, 0, Detail::Kafka(Box::new(kafka)))
            }
            _ => (Protocol::TCP, 0, Detail::None),
        };
        let elapsed = (rng.next() % 400_000) as i64;
        let entry = Entry {
            id: i as u64,
            timestamp_us: 1_700_000_000_000_000 + i as i64 * 1000,
            elapsed_us: elapsed,
            protocol,
            src: Peer {
                ip: identities[usize::from(s)].ip,
                port: 40_000 + (i % 20_000) as u16,
                identity: 0,
            },
            dst: Peer {
                ip: identities[usize::from(d)].ip,
                port: 8080,
                identity: 1,
            },
            conn_id: (i / 4) as u64,
            transport_udp: protocol == Protocol::DNS,
            request_size: 100,
            response_size: 200,
            status_code: status,
            error: status >= 500,
            has_response: true,
            detail,
        };
        entries.push((entry, s, d));
    }
    Corpus {
        identities,
        entries,
        node: "node-0".to_string(),
    }
}
