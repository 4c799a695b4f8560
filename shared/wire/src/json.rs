//! The JSON-lines form of entries: one object per entry, fields named as KFL2
//! variables, dotted names nested (`src.pod.name` → `{"src":{"pod":{"name":…}}}`).
//! Written by `wiremap-probe --output jsonl`, read by `kfl filter`.
//!
//! Besides the KFL2 variables, each object carries what is needed to rebuild
//! the entry exactly (`detail`, `src.identity`, raw DNS RCODE, …), so
//! `entry_from_json(&entry_to_json(v))` gives the same entry back. Maps
//! (headers, cookies, labels) are JSON objects: duplicate keys collapse and
//! keys come back sorted. Timestamps are RFC 3339 in UTC.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{json, Map, Value};

use crate::{
    Detail, Dns, Entry, EntryView, Grpc, Http, Identity, IdentityKind, Kafka, Peer, Protocol, Redis,
};

/// An entry read back from JSON, with its peers and capturing node.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonEntry {
    pub entry: Entry,
    pub src: Identity,
    pub dst: Identity,
    pub node: String,
}

impl JsonEntry {
    pub fn view(&self) -> EntryView<'_> {
        EntryView {
            entry: &self.entry,
            src: &self.src,
            dst: &self.dst,
            node: &self.node,
        }
    }
}

/// Why a JSON object is not an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(pub String);

fn pairs(p: &[(String, String)]) -> Value {
    Value::Object(
        p.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn kind_name(k: IdentityKind) -> String {
    match k.name() {
        "unknown" => k.0.to_string(),
        n => n.to_string(),
    }
}

fn peer_json(peer: &Peer, id: &Identity) -> Value {
    let is_pod = id.kind == IdentityKind::POD;
    let (pod_name, pod_ns) = if is_pod {
        (id.name.as_str(), id.namespace.as_str())
    } else {
        (id.service.as_str(), id.service_namespace.as_str())
    };
    let mut o = json!({
        "ip": peer.ip.to_string(),
        "port": peer.port,
        "pod": {"name": pod_name, "namespace": pod_ns},
        "service": {"name": id.service, "namespace": id.service_namespace},
        "name": id.best_name(),
        "namespace": id.best_namespace(),
        "dns": id.dns,
        "node": id.node,
        "workload": id.workload,
        "workload_kind": id.workload_kind,
        "labels": pairs(&id.labels),
        "identity": {
            "index": peer.identity,
            "kind": kind_name(id.kind),
            "name": id.name,
            "namespace": id.namespace,
        },
    });
    if id.ip != peer.ip {
        o["identity"]["ip"] = Value::String(id.ip.to_string());
    }
    o
}

/// The JSON object for one entry (`"kind":"l7"` included).
pub fn entry_to_json(view: &EntryView<'_>) -> Value {
    let e = view.entry;
    let secs = e.timestamp_us.div_euclid(1_000_000);
    let nanos = (e.timestamp_us.rem_euclid(1_000_000) * 1000) as u32;
    let mut o = json!({
        "kind": "l7",
        "id": e.id,
        "timestamp": format_rfc3339(secs, nanos),
        "elapsed_time": e.elapsed_us,
        "protocol": e.protocol.name(),
        "protocol_code": e.protocol.0,
        "transport": if e.transport_udp { "udp" } else { "tcp" },
        "conn_id": e.conn_id,
        "request_size": e.request_size,
        "response_size": e.response_size,
        "status_code": e.status_code,
        "error": e.error,
        "has_response": e.has_response,
        "node_name": view.node,
        "src": peer_json(&e.src, view.src),
        "dst": peer_json(&e.dst, view.dst),
    });
    let Value::Object(m) = &mut o else { return o };
    match &e.detail {
        Detail::None => {
            m.insert("detail".into(), "none".into());
        }
        Detail::Http(h) => {
            m.insert("detail".into(), "http".into());
            m.insert("method".into(), h.method.clone().into());
            m.insert("url".into(), h.url.clone().into());
            m.insert("path".into(), h.path.clone().into());
            m.insert("http_version".into(), h.http_version.clone().into());
            m.insert("query_string".into(), pairs(&h.query_string));
            m.insert(
                "request".into(),
                json!({"headers": pairs(&h.request_headers), "cookies": pairs(&h.request_cookies)}),
            );
            m.insert(
                "response".into(),
                json!({"headers": pairs(&h.response_headers), "cookies": pairs(&h.response_cookies)}),
            );
            m.insert("request_headers_size".into(), h.request_headers_size.into());
            m.insert("request_body_size".into(), h.request_body_size.into());
            m.insert(
                "response_headers_size".into(),
                h.response_headers_size.into(),
            );
            m.insert("response_body_size".into(), h.response_body_size.into());
            if let Some(g) = &h.grpc {
                m.insert("grpc_service".into(), g.service.clone().into());
                m.insert("grpc_method".into(), g.method.clone().into());
                m.insert("grpc_status".into(), g.status.into());
            }
        }
        Detail::Dns(d) => {
            m.insert("detail".into(), "dns".into());
            m.insert("dns_questions".into(), d.questions.clone().into());
            m.insert("dns_question_types".into(), d.question_types.clone().into());
            m.insert("dns_answers".into(), d.answers.clone().into());
            m.insert("dns_request".into(), d.request.into());
            m.insert("dns_response".into(), d.response.into());
            m.insert("dns_rcode".into(), d.rcode.into());
            m.insert("dns_truncated".into(), d.truncated.into());
            m.insert("dns_request_length".into(), d.request_length.into());
            m.insert("dns_response_length".into(), d.response_length.into());
            m.insert(
                "dns_total_size".into(),
                d.request_length.saturating_add(d.response_length).into(),
            );
        }
        Detail::Redis(r) => {
            m.insert("detail".into(), "redis".into());
            m.insert("redis_type".into(), r.command_type.clone().into());
            m.insert("redis_command".into(), r.command.clone().into());
            m.insert("redis_key".into(), r.key.clone().into());
            m.insert("redis_error_reply".into(), r.error_reply.into());
        }
        Detail::Kafka(k) => {
            m.insert("detail".into(), "kafka".into());
            m.insert("kafka_api_key".into(), k.api_key.into());
            m.insert("kafka_api_key_name".into(), k.api_key_name().into());
            m.insert("kafka_api_version".into(), k.api_version.into());
            m.insert("kafka_correlation_id".into(), k.correlation_id.into());
            m.insert("kafka_client_id".into(), k.client_id.clone().into());
            m.insert(
                "kafka_request_summary".into(),
                k.request_summary.clone().into(),
            );
            m.insert("kafka_error_code".into(), k.error_code.into());
            m.insert("kafka_request".into(), k.request.into());
            m.insert("kafka_response".into(), k.response.into());
        }
    }
    o
}

/// Reads an entry from its JSON object; absent fields take zero values.
pub fn entry_from_json(value: &Value) -> Result<JsonEntry, JsonError> {
    let o = Obj::new(value, "entry")?;
    if let Some(k) = o.0.get("kind") {
        if k.as_str() != Some("l7") {
            return Err(JsonError(format!("kind is {k}, expected \"l7\"")));
        }
    }
    let timestamp_us = match o.0.get("timestamp") {
        None | Some(Value::Null) => 0,
        Some(Value::String(s)) => {
            let (secs, nanos) = parse_rfc3339(s)
                .ok_or_else(|| JsonError(format!("timestamp {s:?} is not RFC 3339")))?;
            secs.checked_mul(1_000_000)
                .and_then(|us| us.checked_add(i64::from(nanos / 1000)))
                .ok_or_else(|| JsonError("timestamp out of range".into()))?
        }
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| JsonError("timestamp out of range".into()))?,
        Some(v) => {
            return Err(JsonError(format!(
                "timestamp: expected a string, found {v}"
            )))
        }
    };
    let protocol = match o.0.get("protocol_code") {
        Some(_) => Protocol(o.uint("protocol_code", u8::MAX as u64)? as u8),
        None => {
            let name = o.str("protocol")?;
            if name.is_empty() {
                Protocol(0)
            } else {
                Protocol::from_name(&name)
                    .ok_or_else(|| JsonError(format!("unknown protocol {name:?}")))?
            }
        }
    };
    let (src_peer, src) = peer_from_json(o.0.get("src"), "src")?;
    let (dst_peer, dst) = peer_from_json(o.0.get("dst"), "dst")?;
    let transport_udp = match o.str("transport")?.as_str() {
        "udp" => true,
        "tcp" => false,
        "" => protocol == Protocol::DNS || protocol == Protocol::UDP,
        t => return Err(JsonError(format!("unknown transport {t:?}"))),
    };
    let detail_kind = o.str("detail")?;
    let detail_kind = if detail_kind.is_empty() {
        match protocol {
            p if p.is_http() => "http".to_string(),
            Protocol::DNS => "dns".into(),
            Protocol::REDIS => "redis".into(),
            Protocol::KAFKA => "kafka".into(),
            _ => "none".into(),
        }
    } else {
        detail_kind
    };
    let detail = match detail_kind.as_str() {
        "none" => Detail::None,
        "http" => {
            let req = Obj::opt(o.0.get("request"), "request")?;
            let resp = Obj::opt(o.0.get("response"), "response")?;
            let grpc = if o.0.contains_key("grpc_status") || o.0.contains_key("grpc_method") {
                Some(Grpc {
                    service: o.str("grpc_service")?,
                    method: o.str("grpc_method")?,
                    status: o.int("grpc_status", i32::MIN as i64, i32::MAX as i64)? as i32,
                })
            } else {
                None
            };
            Detail::Http(Box::new(Http {
                method: o.str("method")?,
                url: o.str("url")?,
                path: o.str("path")?,
                http_version: o.str("http_version")?,
                query_string: o.pairs("query_string")?,
                request_headers: req.pairs("headers")?,
                response_headers: resp.pairs("headers")?,
                request_cookies: req.pairs("cookies")?,
                response_cookies: resp.pairs("cookies")?,
                request_headers_size: o.uint("request_headers_size", u64::MAX)?,
                request_body_size: o.uint("request_body_size", u64::MAX)?,
                response_headers_size: o.uint("response_headers_size", u64::MAX)?,
                response_body_size: o.uint("response_body_size", u64::MAX)?,
                grpc,
            }))
        }
        "dns" => Detail::Dns(Box::new(Dns {
            questions: o.strs("dns_questions")?,
            question_types: o.strs("dns_question_types")?,
            answers: o.strs("dns_answers")?,
            request: o.bool("dns_request")?,
            response: o.bool("dns_response")?,
            rcode: o.uint("dns_rcode", u8::MAX as u64)? as u8,
            truncated: o.bool("dns_truncated")?,
            request_length: o.uint("dns_request_length", u64::MAX)?,
            response_length: o.uint("dns_response_length", u64::MAX)?,
        })),
        "redis" => Detail::Redis(Box::new(Redis {
            command_type: o.str("redis_type")?,
            command: o.str("redis_command")?,
            key: o.str("redis_key")?,
            error_reply: o.bool("redis_error_reply")?,
        })),
        "kafka" => Detail::Kafka(Box::new(Kafka {
            api_key: o.int("kafka_api_key", i16::MIN as i64, i16::MAX as i64)? as i16,
            api_version: o.int("kafka_api_version", i16::MIN as i64, i16::MAX as i64)? as i16,
            correlation_id: o.int("kafka_correlation_id", i32::MIN as i64, i32::MAX as i64)? as i32,
            client_id: o.str("kafka_client_id")?,
            request_summary: o.str("kafka_request_summary")?,
            error_code: o.int("kafka_error_code", i16::MIN as i64, i16::MAX as i64)? as i16,
            request: o.bool("kafka_request")?,
            response: o.bool("kafka_response")?,
        })),
        d => return Err(JsonError(format!("unknown detail {d:?}"))),
    };
    let entry = Entry {
        id: o.uint("id", u64::MAX)?,
        timestamp_us,
        elapsed_us: o.int("elapsed_time", i64::MIN, i64::MAX)?,
        protocol,
        src: src_peer,
        dst: dst_peer,
        conn_id: o.uint("conn_id", u64::MAX)?,
        transport_udp,
        request_size: o.uint("request_size", u64::MAX)?,
        response_size: o.uint("response_size", u64::MAX)?,
        status_code: o.int("status_code", i32::MIN as i64, i32::MAX as i64)? as i32,
        error: o.bool("error")?,
        has_response: o.bool("has_response")?,
        detail,
    };
    Ok(JsonEntry {
        entry,
        src,
        dst,
        node: o.str("node_name")?,
    })
}

fn peer_from_json(v: Option<&Value>, what: &str) -> Result<(Peer, Identity), JsonError> {
    let o = Obj::opt(v, what)?;
    let ip_text = o.str("ip")?;
    let ip: IpAddr = if ip_text.is_empty() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        ip_text
            .parse()
            .map_err(|_| JsonError(format!("{what}.ip {ip_text:?} is not an IP address")))?
    };
    let port = o.uint("port", u16::MAX as u64)? as u16;
    let raw = Obj::opt(o.0.get("identity"), "identity")?;
    let pod = Obj::opt(o.0.get("pod"), "pod")?;
    let service = Obj::opt(o.0.get("service"), "service")?;
    let kind_text = raw.str("kind")?;
    let kind = match kind_text.as_str() {
        "external" => IdentityKind::EXTERNAL,
        "pod" => IdentityKind::POD,
        "service" => IdentityKind::SERVICE,
        "node" => IdentityKind::NODE,
        // hand-written lines: a pod name makes it a pod
        "" if !pod.str("name")?.is_empty() && pod.str("name")? != service.str("name")? => {
            IdentityKind::POD
        }
        "" if !service.str("name")?.is_empty() => IdentityKind::SERVICE,
        "" => IdentityKind::EXTERNAL,
        n => IdentityKind(
            n.parse()
                .map_err(|_| JsonError(format!("unknown identity kind {n:?}")))?,
        ),
    };
    let (name, namespace) = if o.0.contains_key("identity") {
        (raw.str("name")?, raw.str("namespace")?)
    } else if kind == IdentityKind::POD {
        (pod.str("name")?, pod.str("namespace")?)
    } else {
        (service.str("name")?, service.str("namespace")?)
    };
    let id_ip_text = raw.str("ip")?;
    let id_ip = if id_ip_text.is_empty() {
        ip
    } else {
        id_ip_text.parse().map_err(|_| {
            JsonError(format!(
                "{what}.identity.ip {id_ip_text:?} is not an IP address"
            ))
        })?
    };
    let identity = Identity {
        kind,
        ip: id_ip,
        name,
        namespace,
        node: o.str("node")?,
        service: service.str("name")?,
        service_namespace: service.str("namespace")?,
        workload: o.str("workload")?,
        workload_kind: o.str("workload_kind")?,
        labels: o.pairs("labels")?,
        dns: o.str("dns")?,
    };
    let peer = Peer {
        ip,
        port,
        identity: raw.uint("index", u32::MAX as u64)? as u32,
    };
    Ok((peer, identity))
}

/// A JSON object (or an absent one, read as empty) with typed field readers.
struct Obj<'v>(&'v Map<String, Value>);

static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();

impl<'v> Obj<'v> {
    fn new(v: &'v Value, what: &str) -> Result<Self, JsonError> {
        match v {
            Value::Object(m) => Ok(Obj(m)),
            other => Err(JsonError(format!(
                "{what}: expected an object, found {}",
                type_name(other)
            ))),
        }
    }

    fn opt(v: Option<&'v Value>, what: &str) -> Result<Self, JsonError> {
        match v {
            None | Some(Value::Null) => Ok(Obj(EMPTY.get_or_init(Map::new))),
            Some(v) => Self::new(v, what),
        }
    }

    fn get(&self, k: &str) -> Option<&'v Value> {
        match self.0.get(k) {
            None | Some(Value::Null) => None,
            v => v,
        }
    }

    fn str(&self, k: &str) -> Result<String, JsonError> {
        match self.get(k) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(JsonError(format!(
                "{k}: expected a string, found {}",
                type_name(v)
            ))),
        }
    }

    fn bool(&self, k: &str) -> Result<bool, JsonError> {
        match self.get(k) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(JsonError(format!(
                "{k}: expected a boolean, found {}",
                type_name(v)
            ))),
        }
    }

    fn uint(&self, k: &str, max: u64) -> Result<u64, JsonError> {
        match self.get(k) {
            None => Ok(0),
            Some(Value::Number(n)) => n
                .as_u64()
                .filter(|v| *v <= max)
                .ok_or_else(|| JsonError(format!("{k}: {n} is not an integer in 0..={max}"))),
            Some(v) => Err(JsonError(format!(
                "{k}: expected a number, found {}",
                type_name(v)
            ))),
        }
    }

    fn int(&self, k: &str, min: i64, max: i64) -> Result<i64, JsonError> {
        match self.get(k) {
            None => Ok(0),
            Some(Value::Number(n)) => n
                .as_i64()
                .filter(|v| (min..=max).contains(v))
                .ok_or_else(|| JsonError(format!("{k}: {n} is not an integer in {min}..={max}"))),
            Some(v) => Err(JsonError(format!(
                "{k}: expected a number, found {}",
                type_name(v)
            ))),
        }
    }

    fn strs(&self, k: &str) -> Result<Vec<String>, JsonError> {
        match self.get(k) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    v => Err(JsonError(format!(
                        "{k}: expected strings, found {}",
                        type_name(v)
                    ))),
                })
                .collect(),
            Some(v) => Err(JsonError(format!(
                "{k}: expected an array, found {}",
                type_name(v)
            ))),
        }
    }

    fn pairs(&self, k: &str) -> Result<Vec<(String, String)>, JsonError> {
        match self.get(k) {
            None => Ok(Vec::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(key, v)| match v {
                    Value::String(s) => Ok((key.clone(), s.clone())),
                    v => Err(JsonError(format!(
                        "{k}.{key}: expected a string, found {}",
                        type_name(v)
                    ))),
                })
                .collect(),
            Some(v) => Err(JsonError(format!(
                "{k}: expected an object, found {}",
                type_name(v)
            ))),
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// RFC 3339 in UTC, fraction digits only as many as needed
/// (`2009-02-13T23:31:30Z`, `…:30.5Z`).
pub fn format_rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parses RFC 3339 (`2009-02-13T23:31:30.123Z`, `…+01:00`) into seconds and
/// nanoseconds since the Unix epoch.
pub fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let dim = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > dim || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 9 {
            return None;
        }
        let digits = &s[start..i];
        nanos = digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32);
    }
    let offset: i64 = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        c @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = i64::from(oh * 3600 + om * 60);
            if *c == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec.min(59)) - offset;
    Some((secs, nanos))
}
