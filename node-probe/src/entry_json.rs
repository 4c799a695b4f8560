//! The JSON line of an L7 entry, written straight into a byte buffer.
//!
//! Byte for byte what `serde_json::to_writer(wiremap_wire::json::entry_to_json(…))`
//! writes (keys in sorted order, maps as objects with sorted unique keys,
//! serde_json's string escaping), without building a `serde_json::Value`
//! tree per entry: `--output jsonl` spent most of its time there. The peers'
//! parts that do not change within a batch are rendered once per identity.
//! The tests hold it to the reference on every entry of a real capture.

use std::collections::BTreeMap;
use std::net::IpAddr;

use wiremap_wire::json::format_rfc3339;
use wiremap_wire::{Detail, Entry, Identity, IdentityKind, L7Batch, Peer};

/// Appends `s` as a JSON string, escaped as serde_json does.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 0xf)]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

fn uint(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
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
        let m: BTreeMap<&str, &str> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        for (i, (k, v)) in m.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
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

/// Appends `,"key":` (or `"key":` right after the opening brace).
fn key(out: &mut Vec<u8>, k: &str) {
    if out.last() != Some(&b'{') {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

fn kind_name(out: &mut Vec<u8>, k: IdentityKind) {
    match k.name() {
        "unknown" => string(out, &k.0.to_string()),
        n => string(out, n),
    }
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
            string(&mut mid, &id.ip.to_string());
        }
        mid.extend_from_slice(b",\"kind\":");
        kind_name(&mut mid, id.kind);
        mid.extend_from_slice(b",\"name\":");
        string(&mut mid, &id.name);
        mid.extend_from_slice(b",\"namespace\":");
        string(&mut mid, &id.namespace);
        mid.extend_from_slice(b"},\"ip\":");
        string(&mut mid, &ip.to_string());
        mid.extend_from_slice(b",\"labels\":");
        pairs(&mut mid, &id.labels);
        mid.extend_from_slice(b",\"name\":");
        string(&mut mid, &id.best_name());
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
    /// The last whole second written and its RFC 3339 form without `Z`.
    second: Option<(i64, String)>,
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

    /// `format_rfc3339` of the entry's time, the date part rendered once
    /// per second.
    fn timestamp(&mut self, out: &mut Vec<u8>, us: i64) {
        let secs = us.div_euclid(1_000_000);
        let micros = us.rem_euclid(1_000_000) as u32;
        let prefix = match &self.second {
            Some((s, p)) if *s == secs => p,
            _ => {
                let mut p = format_rfc3339(secs, 0);
                p.pop(); // the 'Z'
                &self.second.insert((secs, p)).1
            }
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
        out.push(b'{');
        key(out, "conn_id");
        uint(out, e.conn_id);
        key(out, "detail");
        out.extend_from_slice(match &e.detail {
            Detail::None => b"\"none\"",
            Detail::Http(_) => b"\"http\"",
            Detail::Dns(_) => b"\"dns\"",
            Detail::Redis(_) => b"\"redis\"",
            Detail::Kafka(_) => b"\"kafka\"",
        });
        if let Detail::Dns(d) = &e.detail {
            key(out, "dns_answers");
            strings(out, &d.answers);
            key(out, "dns_question_types");
            strings(out, &d.question_types);
            key(out, "dns_questions");
            strings(out, &d.questions);
            key(out, "dns_rcode");
            uint(out, u64::from(d.rcode));
            key(out, "dns_request");
            boolean(out, d.request);
            key(out, "dns_request_length");
            uint(out, d.request_length);
            key(out, "dns_response");
            boolean(out, d.response);
            key(out, "dns_response_length");
            uint(out, d.response_length);
            key(out, "dns_total_size");
            uint(out, d.request_length.saturating_add(d.response_length));
            key(out, "dns_truncated");
            boolean(out, d.truncated);
        }
        key(out, "dst");
        self.peer(out, b, &e.dst);
        key(out, "elapsed_time");
        int(out, e.elapsed_us);
        key(out, "error");
        boolean(out, e.error);
        let http = match &e.detail {
            Detail::Http(h) => Some(h),
            _ => None,
        };
        if let Some(g) = http.and_then(|h| h.grpc.as_ref()) {
            key(out, "grpc_method");
            string(out, &g.method);
            key(out, "grpc_service");
            string(out, &g.service);
            key(out, "grpc_status");
            int(out, i64::from(g.status));
        }
        key(out, "has_response");
        boolean(out, e.has_response);
        if let Some(h) = http {
            key(out, "http_version");
            string(out, &h.http_version);
        }
        key(out, "id");
        uint(out, e.id);
        if let Detail::Kafka(k) = &e.detail {
            key(out, "kafka_api_key");
            int(out, i64::from(k.api_key));
            key(out, "kafka_api_key_name");
            string(out, k.api_key_name());
            key(out, "kafka_api_version");
            int(out, i64::from(k.api_version));
            key(out, "kafka_client_id");
            string(out, &k.client_id);
            key(out, "kafka_correlation_id");
            int(out, i64::from(k.correlation_id));
            key(out, "kafka_error_code");
            int(out, i64::from(k.error_code));
            key(out, "kafka_request");
            boolean(out, k.request);
            key(out, "kafka_request_summary");
            string(out, &k.request_summary);
            key(out, "kafka_response");
            boolean(out, k.response);
        }
        key(out, "kind");
        out.extend_from_slice(b"\"l7\"");
        if let Some(h) = http {
            key(out, "method");
            string(out, &h.method);
        }
        key(out, "node_name");
        string(out, &b.node);
        if let Some(h) = http {
            key(out, "path");
            string(out, &h.path);
        }
        key(out, "protocol");
        string(out, e.protocol.name());
        key(out, "protocol_code");
        uint(out, u64::from(e.protocol.0));
        if let Some(h) = http {
            key(out, "query_string");
            pairs(out, &h.query_string);
        }
        if let Detail::Redis(r) = &e.detail {
            key(out, "redis_command");
            string(out, &r.command);
            key(out, "redis_error_reply");
            boolean(out, r.error_reply);
            key(out, "redis_key");
            string(out, &r.key);
            key(out, "redis_type");
            string(out, &r.command_type);
        }
        if let Some(h) = http {
            key(out, "request");
            out.extend_from_slice(b"{\"cookies\":");
            pairs(out, &h.request_cookies);
            out.extend_from_slice(b",\"headers\":");
            pairs(out, &h.request_headers);
            out.push(b'}');
            key(out, "request_body_size");
            uint(out, h.request_body_size);
            key(out, "request_headers_size");
            uint(out, h.request_headers_size);
        }
        key(out, "request_size");
        uint(out, e.request_size);
        if let Some(h) = http {
            key(out, "response");
            out.extend_from_slice(b"{\"cookies\":");
            pairs(out, &h.response_cookies);
            out.extend_from_slice(b",\"headers\":");
            pairs(out, &h.response_headers);
            out.push(b'}');
            key(out, "response_body_size");
            uint(out, h.response_body_size);
            key(out, "response_headers_size");
            uint(out, h.response_headers_size);
        }
        key(out, "response_size");
        uint(out, e.response_size);
        key(out, "src");
        self.peer(out, b, &e.src);
        key(out, "status_code");
        int(out, i64::from(e.status_code));
        key(out, "timestamp");
        self.timestamp(out, e.timestamp_us);
        key(out, "transport");
        out.extend_from_slice(if e.transport_udp {
            b"\"udp\""
        } else {
            b"\"tcp\""
        });
        if let Some(h) = http {
            key(out, "url");
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
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(String::from_utf8(out).unwrap(), reference(s), "for {s:?}");
        }
    }
}
