//! The JSON line of an L7 entry, written straight into a byte buffer.
//!
//! Byte for byte what `serde_json::to_writer(wiremap_wire::json::entry_to_json(…))`
//! writes (keys in sorted order, maps as objects with sorted unique keys,
//! serde_json's string escaping), without building a `serde_json::Value`
//! tree per entry: `--output jsonl` spent most of its time there. The peers'
//! parts that do not change within a batch are rendered once per identity.
//! The tests hold it to the reference on every entry of a real capture.

use std::net::IpAddr;

use wiremap_wire::json::format_rfc3339;
use wiremap_wire::{Detail, Entry, Identity, IdentityKind, L7Batch, Peer};

use crate::flow::EndReason;
use crate::pipeline::FlowRecord;

/// Bytes that need escaping in a JSON string: 'u' for `\u00XX`, else the
/// letter after the backslash (serde_json's table).
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = b'u';
        c += 1;
    }
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Appends `s` as a JSON string, escaped as serde_json does.
pub fn string(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    // Skip 8 bytes at a time while none of them needs escaping (no byte
    // below 0x20, no '"', no '\\'): most strings have nothing to escape.
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let mut clean = 0;
    for chunk in b.chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(w);
        if x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0
            || has_zero(x ^ (ONES * u64::from(b'"')))
            || has_zero(x ^ (ONES * u64::from(b'\\')))
        {
            break;
        }
        clean += 8;
    }
    let mut start = 0;
    for (i, &c) in b.iter().enumerate().skip(clean) {
        let esc = ESCAPE[usize::from(c)];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&b[start..i]);
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 0xf)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', esc]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

const DIGITS2: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The two digits of `v < 100`.
fn pair(v: u64) -> [u8; 2] {
    let d = v as usize * 2;
    [DIGITS2[d], DIGITS2[d + 1]]
}

fn uint(out: &mut Vec<u8>, v: u64) {
    // Up to six digits (ids, ports, sizes, latencies) as fixed-size
    // appends; longer numbers through a buffer.
    if v < 10 {
        out.push(b'0' + v as u8);
    } else if v < 100 {
        out.extend_from_slice(&pair(v));
    } else if v < 1_000 {
        let [a, b] = pair(v % 100);
        out.extend_from_slice(&[b'0' + (v / 100) as u8, a, b]);
    } else if v < 10_000 {
        let ([a, b], [c, d]) = (pair(v / 100), pair(v % 100));
        out.extend_from_slice(&[a, b, c, d]);
    } else if v < 100_000 {
        let ([b, c], [d, e]) = (pair(v / 100 % 100), pair(v % 100));
        out.extend_from_slice(&[b'0' + (v / 10_000) as u8, b, c, d, e]);
    } else if v < 1_000_000 {
        let ([a, b], [c, d], [e, f]) = (pair(v / 10_000), pair(v / 100 % 100), pair(v % 100));
        out.extend_from_slice(&[a, b, c, d, e, f]);
    } else {
        let mut buf = [0u8; 20];
        let mut at = buf.len();
        let mut v = v;
        while v >= 100 {
            at -= 2;
            buf[at..at + 2].copy_from_slice(&pair(v % 100));
            v /= 100;
        }
        if v >= 10 {
            at -= 2;
            buf[at..at + 2].copy_from_slice(&pair(v));
        } else {
            at -= 1;
            buf[at] = b'0' + v as u8;
        }
        out.extend_from_slice(&buf[at..]);
    }
}

fn int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    uint(out, v.unsigned_abs());
}

fn boolean(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

/// `pairs` as an object: sorted keys, a repeated key keeps its last value.
fn pairs(out: &mut Vec<u8>, p: &[(String, String)]) {
    out.push(b'{');
    if p.windows(2).all(|w| w[0].0 < w[1].0) {
        for (i, (k, v)) in p.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            string(out, k);
            out.push(b':');
            string(out, v);
        }
    } else {
        // As a map would hold them: sorted by key, the last value of a
        // repeated key (a stable sort keeps repeats in their order).
        let mut m: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        m.sort_by(|a, b| a.0.cmp(b.0));
        let mut first = true;
        for (i, (k, v)) in m.iter().enumerate() {
            if m.get(i + 1).is_some_and(|n| n.0 == *k) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            string(out, k);
            out.push(b':');
            string(out, v);
        }
    }
    out.push(b'}');
}

fn strings(out: &mut Vec<u8>, v: &[String]) {
    out.push(b'[');
    for (i, s) in v.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, s);
    }
    out.push(b']');
}

/// Appends `,"key":` as one constant (every key of an entry but the first
/// follows a value).
macro_rules! key {
    ($out:expr, $k:literal) => {
        $out.extend_from_slice(concat!(",\"", $k, "\":").as_bytes())
    };
}

fn kind_name(out: &mut Vec<u8>, k: IdentityKind) {
    match k.name() {
        "unknown" => string(out, &k.0.to_string()),
        n => string(out, n),
    }
}

/// Appends an address as its `Display` text (IPv4 without the formatter).
fn ip_text(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            let [x, y, z, w] = a.octets();
            uint(out, u64::from(x));
            out.push(b'.');
            uint(out, u64::from(y));
            out.push(b'.');
            uint(out, u64::from(z));
            out.push(b'.');
            uint(out, u64::from(w));
        }
        IpAddr::V6(_) => {
            use std::io::Write as _;
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{ip}");
        }
    }
}

/// Appends an address as a JSON string (an address needs no escaping).
fn ip_string(out: &mut Vec<u8>, ip: IpAddr) {
    out.push(b'"');
    ip_text(out, ip);
    out.push(b'"');
}

/// `Identity::best_name` as a JSON string, without building it (the
/// address is the fallback, and an address needs no escaping).
fn best_name(out: &mut Vec<u8>, id: &Identity) {
    if id.kind == IdentityKind::POD && !id.name.is_empty() {
        string(out, &id.name);
    } else if !id.service.is_empty() {
        string(out, &id.service);
    } else if !id.name.is_empty() {
        string(out, &id.name);
    } else if !id.dns.is_empty() {
        string(out, &id.dns);
    } else {
        ip_string(out, id.ip);
    }
}

/// The `end` of a flow line.
pub fn end_name(end: Option<EndReason>) -> &'static str {
    match end {
        Some(EndReason::Idle) => "idle",
        Some(EndReason::Closed) => "closed",
        Some(EndReason::Reused) => "reused",
        Some(EndReason::Evicted) => "evicted",
        Some(EndReason::Drained) | None => "end_of_input",
    }
}

/// One end of a flow line (`client` or `server`), keys in sorted order.
fn flow_end(out: &mut Vec<u8>, port: u16, id: &Identity) {
    out.extend_from_slice(b"{\"ip\":");
    ip_string(out, id.ip);
    out.extend_from_slice(b",\"kind\":");
    string(out, id.kind.name());
    out.extend_from_slice(b",\"labels\":");
    pairs(out, &id.labels);
    out.extend_from_slice(b",\"name\":");
    best_name(out, id);
    out.extend_from_slice(b",\"namespace\":");
    string(out, id.best_namespace());
    out.extend_from_slice(b",\"node\":");
    string(out, &id.node);
    out.extend_from_slice(b",\"pod\":");
    string(
        out,
        if id.kind == IdentityKind::POD {
            id.name.as_str()
        } else {
            ""
        },
    );
    out.extend_from_slice(b",\"port\":");
    uint(out, u64::from(port));
    out.extend_from_slice(b",\"service\":");
    string(out, &id.service);
    out.extend_from_slice(b",\"workload\":");
    string(out, &id.workload);
    out.extend_from_slice(b",\"workload_kind\":");
    string(out, &id.workload_kind);
    out.push(b'}');
}

/// A peer object without its two per-entry numbers: `head` + index +
/// `mid` + port + `tail`.
#[derive(Debug)]
struct PeerParts {
    ip: IpAddr,
    head: Vec<u8>,
    mid: Vec<u8>,
    tail: Vec<u8>,
}

impl PeerParts {
    fn new(ip: IpAddr, id: &Identity) -> Self {
        let is_pod = id.kind == IdentityKind::POD;
        let (pod_name, pod_ns) = if is_pod {
            (id.name.as_str(), id.namespace.as_str())
        } else {
            (id.service.as_str(), id.service_namespace.as_str())
        };
        let mut head = Vec::with_capacity(64);
        head.extend_from_slice(b"{\"dns\":");
        string(&mut head, &id.dns);
        head.extend_from_slice(b",\"identity\":{\"index\":");
        let mut mid = Vec::with_capacity(256);
        if id.ip != ip {
            mid.extend_from_slice(b",\"ip\":");
            ip_string(&mut mid, id.ip);
        }
        mid.extend_from_slice(b",\"kind\":");
        kind_name(&mut mid, id.kind);
        mid.extend_from_slice(b",\"name\":");
        string(&mut mid, &id.name);
        mid.extend_from_slice(b",\"namespace\":");
        string(&mut mid, &id.namespace);
        mid.extend_from_slice(b"},\"ip\":");
        ip_string(&mut mid, ip);
        mid.extend_from_slice(b",\"labels\":");
        pairs(&mut mid, &id.labels);
        mid.extend_from_slice(b",\"name\":");
        best_name(&mut mid, id);
        mid.extend_from_slice(b",\"namespace\":");
        string(&mut mid, id.best_namespace());
        mid.extend_from_slice(b",\"node\":");
        string(&mut mid, &id.node);
        mid.extend_from_slice(b",\"pod\":{\"name\":");
        string(&mut mid, pod_name);
        mid.extend_from_slice(b",\"namespace\":");
        string(&mut mid, pod_ns);
        mid.extend_from_slice(b"},\"port\":");
        let mut tail = Vec::with_capacity(128);
        tail.extend_from_slice(b",\"service\":{\"name\":");
        string(&mut tail, &id.service);
        tail.extend_from_slice(b",\"namespace\":");
        string(&mut tail, &id.service_namespace);
        tail.extend_from_slice(b"},\"workload\":");
        string(&mut tail, &id.workload);
        tail.extend_from_slice(b",\"workload_kind\":");
        string(&mut tail, &id.workload_kind);
        tail.push(b'}');
        PeerParts {
            ip,
            head,
            mid,
            tail,
        }
    }

    fn write(&self, out: &mut Vec<u8>, peer: &Peer) {
        out.extend_from_slice(&self.head);
        uint(out, u64::from(peer.identity));
        out.extend_from_slice(&self.mid);
        uint(out, u64::from(peer.port));
        out.extend_from_slice(&self.tail);
    }
}

/// Writes the entries of L7 batches as JSON lines, keeping the rendered
/// peers of the current batch.
#[derive(Debug, Default)]
pub struct EntryWriter {
    peers: Vec<Option<PeerParts>>,
    /// The last two whole seconds written and their RFC 3339 form without
    /// `Z`, the latest first (a flow line holds two times).
    seconds: [Option<(i64, String)>; 2],
}

impl EntryWriter {
    pub fn new() -> Self {
        EntryWriter::default()
    }

    /// Appends one line per entry of `b` to `out`.
    pub fn write_batch(&mut self, out: &mut Vec<u8>, b: &L7Batch) {
        self.peers.clear();
        for e in &b.entries {
            self.entry(out, b, e);
            out.push(b'\n');
        }
    }

    /// Writes one line per entry of `b` to `w`, through `buf` (cleared
    /// first), handing it over whenever it holds `chunk` bytes: the same
    /// bytes as [`write_batch`](Self::write_batch) then one write, with a
    /// buffer small enough to stay in cache.
    pub fn write_batch_to<W: std::io::Write>(
        &mut self,
        w: &mut W,
        buf: &mut Vec<u8>,
        b: &L7Batch,
        chunk: usize,
    ) -> std::io::Result<()> {
        self.peers.clear();
        buf.clear();
        for e in &b.entries {
            self.entry(buf, b, e);
            buf.push(b'\n');
            if buf.len() >= chunk {
                w.write_all(buf)?;
                buf.clear();
            }
        }
        w.write_all(buf)
    }

    /// Appends the JSON object of an ended flow (no newline): byte for byte
    /// what `serde_json::to_writer` writes for [`crate::jsonl::flow_to_json`]
    /// (keys in sorted order), without building the `Value` tree.
    pub fn write_flow(&mut self, out: &mut Vec<u8>, r: &FlowRecord, node: &str) {
        let f = &r.flow;
        out.extend_from_slice(b"{\"bytes_to_client\":");
        uint(out, f.bytes_to_client);
        out.extend_from_slice(b",\"bytes_to_server\":");
        uint(out, f.bytes_to_server);
        out.extend_from_slice(b",\"client\":");
        flow_end(out, f.client.port, &r.client);
        out.extend_from_slice(b",\"end\":");
        string(out, end_name(f.end));
        out.extend_from_slice(b",\"first_seen\":");
        self.timestamp(out, f.first_us);
        out.extend_from_slice(b",\"kind\":\"l4\",\"last_seen\":");
        self.timestamp(out, f.last_us);
        out.extend_from_slice(b",\"node\":");
        string(out, node);
        out.extend_from_slice(b",\"packets_to_client\":");
        uint(out, f.packets_to_client);
        out.extend_from_slice(b",\"packets_to_server\":");
        uint(out, f.packets_to_server);
        out.extend_from_slice(b",\"proto\":");
        match f.ip_proto {
            6 => out.extend_from_slice(b"\"TCP\""),
            17 => out.extend_from_slice(b"\"UDP\""),
            n => {
                out.push(b'"');
                uint(out, u64::from(n));
                out.push(b'"');
            }
        }
        out.extend_from_slice(b",\"server\":");
        flow_end(out, f.server.port, &r.server);
        out.extend_from_slice(b",\"tcp\":{\"fin\":");
        boolean(out, f.tcp.fin_from_client || f.tcp.fin_from_server);
        out.extend_from_slice(b",\"rst\":");
        boolean(out, f.tcp.rst);
        out.extend_from_slice(b",\"syn\":");
        boolean(out, f.tcp.syn);
        out.extend_from_slice(b",\"syn_ack\":");
        boolean(out, f.tcp.syn_ack);
        out.extend_from_slice(b"}}");
    }

    /// `format_rfc3339` of the entry's time, the date part rendered once
    /// per second.
    fn timestamp(&mut self, out: &mut Vec<u8>, us: i64) {
        let secs = us.div_euclid(1_000_000);
        let micros = us.rem_euclid(1_000_000) as u32;
        let hit = match &self.seconds {
            [Some((s, _)), _] if *s == secs => 0,
            [_, Some((s, _))] if *s == secs => 1,
            _ => {
                let mut p = format_rfc3339(secs, 0);
                p.pop(); // the 'Z'
                self.seconds.swap(0, 1);
                self.seconds[0] = Some((secs, p));
                0
            }
        };
        let Some((_, prefix)) = &self.seconds[hit] else {
            return;
        };
        out.push(b'"');
        out.extend_from_slice(prefix.as_bytes());
        if micros > 0 {
            // Nanoseconds, trailing zeros trimmed (always ≤ 6 digits here).
            let mut digits = [0u8; 9];
            let mut v = micros * 1000;
            for d in digits.iter_mut().rev() {
                *d = b'0' + (v % 10) as u8;
                v /= 10;
            }
            let len = 9 - digits.iter().rev().take_while(|&&d| d == b'0').count();
            out.push(b'.');
            out.extend_from_slice(&digits[..len]);
        }
        out.extend_from_slice(b"Z\"");
    }

    fn peer(&mut self, out: &mut Vec<u8>, b: &L7Batch, p: &Peer) {
        let i = p.identity as usize;
        let cacheable = i < b.identities.len();
        if cacheable {
            if self.peers.len() < b.identities.len() {
                self.peers.resize_with(b.identities.len(), || None);
            }
            if let Some(parts) = &self.peers[i] {
                if parts.ip == p.ip {
                    parts.write(out, p);
                    return;
                }
            }
        }
        let parts = match b.identity(p.identity) {
            Some(id) => PeerParts::new(p.ip, id),
            None => PeerParts::new(p.ip, &Identity::external(p.ip)),
        };
        parts.write(out, p);
        if cacheable && self.peers[i].is_none() {
            self.peers[i] = Some(parts);
        }
    }

    /// One entry's object (no newline), keys in sorted order.
    fn entry(&mut self, out: &mut Vec<u8>, b: &L7Batch, e: &Entry) {
        out.extend_from_slice(b"{\"conn_id\":");
        uint(out, e.conn_id);
        key!(out, "detail");
        out.extend_from_slice(match &e.detail {
            Detail::None => b"\"none\"",
            Detail::Http(_) => b"\"http\"",
            Detail::Dns(_) => b"\"dns\"",
            Detail::Redis(_) => b"\"redis\"",
            Detail::Kafka(_) => b"\"kafka\"",
        });
        if let Detail::Dns(d) = &e.detail {
            key!(out, "dns_answers");
            strings(out, &d.answers);
            key!(out, "dns_question_types");
            strings(out, &d.question_types);
            key!(out, "dns_questions");
            strings(out, &d.questions);
            key!(out, "dns_rcode");
            uint(out, u64::from(d.rcode));
            key!(out, "dns_request");
            boolean(out, d.request);
            key!(out, "dns_request_length");
            uint(out, d.request_length);
            key!(out, "dns_response");
            boolean(out, d.response);
            key!(out, "dns_response_length");
            uint(out, d.response_length);
            key!(out, "dns_total_size");
            uint(out, d.request_length.saturating_add(d.response_length));
            key!(out, "dns_truncated");
            boolean(out, d.truncated);
        }
        key!(out, "dst");
        self.peer(out, b, &e.dst);
        key!(out, "elapsed_time");
        int(out, e.elapsed_us);
        key!(out, "error");
        boolean(out, e.error);
        let http = match &e.detail {
            Detail::Http(h) => Some(h),
            _ => None,
        };
        if let Some(g) = http.and_then(|h| h.grpc.as_ref()) {
            key!(out, "grpc_method");
            string(out, &g.method);
            key!(out, "grpc_service");
            string(out, &g.service);
            key!(out, "grpc_status");
            int(out, i64::from(g.status));
        }
        key!(out, "has_response");
        boolean(out, e.has_response);
        if let Some(h) = http {
            key!(out, "http_version");
            string(out, &h.http_version);
        }
        key!(out, "id");
        uint(out, e.id);
        if let Detail::Kafka(k) = &e.detail {
            key!(out, "kafka_api_key");
            int(out, i64::from(k.api_key));
            key!(out, "kafka_api_key_name");
            string(out, k.api_key_name());
            key!(out, "kafka_api_version");
            int(out, i64::from(k.api_version));
            key!(out, "kafka_client_id");
            string(out, &k.client_id);
            key!(out, "kafka_correlation_id");
            int(out, i64::from(k.correlation_id));
            key!(out, "kafka_error_code");
            int(out, i64::from(k.error_code));
            key!(out, "kafka_request");
            boolean(out, k.request);
            key!(out, "kafka_request_summary");
            string(out, &k.request_summary);
            key!(out, "kafka_response");
            boolean(out, k.response);
        }
        key!(out, "kind");
        out.extend_from_slice(b"\"l7\"");
        if let Some(h) = http {
            key!(out, "method");
            string(out, &h.method);
        }
        key!(out, "node_name");
        string(out, &b.node);
        if let Some(h) = http {
            key!(out, "path");
            string(out, &h.path);
        }
        key!(out, "protocol");
        string(out, e.protocol.name());
        key!(out, "protocol_code");
        uint(out, u64::from(e.protocol.0));
        if let Some(h) = http {
            key!(out, "query_string");
            pairs(out, &h.query_string);
        }
        if let Detail::Redis(r) = &e.detail {
            key!(out, "redis_command");
            string(out, &r.command);
            key!(out, "redis_error_reply");
            boolean(out, r.error_reply);
            key!(out, "redis_key");
            string(out, &r.key);
            key!(out, "redis_type");
            string(out, &r.command_type);
        }
        if let Some(h) = http {
            key!(out, "request");
            out.extend_from_slice(b"{\"cookies\":");
            pairs(out, &h.request_cookies);
            out.extend_from_slice(b",\"headers\":");
            pairs(out, &h.request_headers);
            out.push(b'}');
            key!(out, "request_body_size");
            uint(out, h.request_body_size);
            key!(out, "request_headers_size");
            uint(out, h.request_headers_size);
        }
        key!(out, "request_size");
        uint(out, e.request_size);
        if let Some(h) = http {
            key!(out, "response");
            out.extend_from_slice(b"{\"cookies\":");
            pairs(out, &h.response_cookies);
            out.extend_from_slice(b",\"headers\":");
            pairs(out, &h.response_headers);
            out.push(b'}');
            key!(out, "response_body_size");
            uint(out, h.response_body_size);
            key!(out, "response_headers_size");
            uint(out, h.response_headers_size);
        }
        key!(out, "response_size");
        uint(out, e.response_size);
        key!(out, "src");
        self.peer(out, b, &e.src);
        key!(out, "status_code");
        int(out, i64::from(e.status_code));
        key!(out, "timestamp");
        self.timestamp(out, e.timestamp_us);
        key!(out, "transport");
        out.extend_from_slice(if e.transport_udp {
            b"\"udp\""
        } else {
            b"\"tcp\""
        });
        if let Some(h) = http {
            key!(out, "url");
            string(out, &h.url);
        }
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::{string, EntryWriter};
    use wiremap_wire::json::format_rfc3339;

    #[test]
    fn timestamps_match_the_reference_format() {
        let mut w = EntryWriter::new();
        for us in [
            0i64,
            1,
            999_999,
            1_000_000,
            1_764_000_000_100_000,
            1_764_000_000_123_456,
            1_764_000_000_123_450,
            -1,
            -1_500_000,
        ] {
            let mut out = Vec::new();
            w.timestamp(&mut out, us);
            let secs = us.div_euclid(1_000_000);
            let nanos = (us.rem_euclid(1_000_000) * 1000) as u32;
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("\"{}\"", format_rfc3339(secs, nanos)),
                "for {us}"
            );
        }
    }

    #[test]
    fn random_strings_escape_as_serde_json_does() {
        let mut rng = fastrand::Rng::with_seed(5);
        let alphabet = [
            'a', ' ', '"', '\\', '\n', '\u{1}', '\u{1f}', '\u{7f}', 'é', '✓', '😀',
        ];
        for _ in 0..20_000 {
            let len = rng.usize(0..40);
            let s: String = (0..len)
                .map(|_| {
                    if rng.u8(0..4) == 0 {
                        alphabet[rng.usize(0..alphabet.len())]
                    } else {
                        char::from(rng.u8(0x20..0x7f))
                    }
                })
                .collect();
            let mut out = Vec::new();
            string(&mut out, &s);
            assert_eq!(String::from_utf8(out).unwrap(), reference(&s), "for {s:?}");
        }
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for a in [
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "10.20.30.4",
            "::",
            "::1",
            "fe80::1:2",
            "::ffff:1.2.3.4",
        ] {
            let ip: std::net::IpAddr = a.parse().unwrap();
            let mut out = Vec::new();
            super::ip_string(&mut out, ip);
            assert_eq!(String::from_utf8(out).unwrap(), format!("\"{ip}\""));
        }
    }

    #[test]
    fn pairs_are_written_as_a_sorted_map_of_the_last_values() {
        let p = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        for v in [
            p(&[]),
            p(&[("a", "1")]),
            p(&[("b", "1"), ("a", "2")]),
            p(&[("z", "1"), ("a", "2"), ("z", "3"), ("a", "4"), ("m", "5")]),
            p(&[("k", "1"), ("k", "2"), ("k", "3")]),
            p(&[("a", "1"), ("a", "2")]),
        ] {
            let want: serde_json::Map<String, serde_json::Value> = v
                .iter()
                .map(|(a, b)| (a.clone(), serde_json::Value::String(b.clone())))
                .collect();
            let mut out = Vec::new();
            super::pairs(&mut out, &v);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&want).unwrap()
            );
        }
    }

    #[test]
    fn best_names_are_written_as_best_name_returns_them() {
        use wiremap_wire::{Identity, IdentityKind};
        let ip: std::net::IpAddr = "10.1.2.3".parse().unwrap();
        let mut ids = Vec::new();
        for kind in [
            IdentityKind::POD,
            IdentityKind::SERVICE,
            IdentityKind::EXTERNAL,
        ] {
            for mask in 0..8u8 {
                let mut id = Identity::external(ip);
                id.kind = kind;
                if mask & 1 != 0 {
                    id.name = "pod \"a\"".into();
                }
                if mask & 2 != 0 {
                    id.service = "svc".into();
                }
                if mask & 4 != 0 {
                    id.dns = "a.b.c".into();
                }
                ids.push(id);
            }
        }
        for id in ids {
            let mut out = Vec::new();
            super::best_name(&mut out, &id);
            assert_eq!(String::from_utf8(out).unwrap(), reference(&id.best_name()));
        }
    }

    #[test]
    fn integers_are_written_as_to_string_writes_them() {
        let mut vals: Vec<u64> = vec![0, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, u64::MAX - 1];
        vals.extend((0..20).map(|p| 10u64.pow(p)));
        vals.extend((1..20).map(|p| 10u64.pow(p) - 1));
        vals.extend((0..5000u64).map(|i| i * 7919));
        vals.extend(0..120_000u64);
        vals.extend((0..20_000u64).map(|i| 990_000 + i));
        for v in vals {
            let mut out = Vec::new();
            super::uint(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
        for v in [0i64, -1, -10, i64::MIN, i64::MAX, -123_456] {
            let mut out = Vec::new();
            super::int(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }

    fn reference(s: &str) -> String {
        serde_json::to_string(s).unwrap()
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        for s in [
            "",
            "plain",
            "quote \" and \\ backslash",
            "\u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}",
            "ünïcödé ✓ and 😀",
            "/slash/",
            "\u{1b}[0m \\\" \u{7}",
            "a long plain string of more than eight bytes, ünïcödé too ✓✓✓",
            "eight by",
            "sixteen bytes!!!\"",
            "0123456789abcdef\\0123456789abcdef\n",
            "0123456789abcde\u{1f}",
            "\u{7f}\u{80}\u{ff}\u{100}ÿÿÿÿÿÿÿÿÿÿ",
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(String::from_utf8(out).unwrap(), reference(s), "for {s:?}");
        }
    }
}
