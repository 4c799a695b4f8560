//! The JSON-lines entry form (`wiremap_wire::json`): round trips for every
//! detail kind, field naming as KFL2 variables, and hand-written lines.

mod common;

use common::{base, service};
use serde_json::json;
use wiremap_kfl::Filter;
use wiremap_wire::json::{
    entry_from_json, entry_to_json, format_rfc3339, parse_rfc3339, JsonEntry,
};
use wiremap_wire::{Detail, Dns, Grpc, Http, IdentityKind, Kafka, Protocol, Redis};

fn samples() -> Vec<common::Owned> {
    let mut out = Vec::new();
    let mut h = base(Protocol::HTTP);
    h.entry.status_code = 404;
    h.entry.timestamp_us = 1_700_000_000_123_456;
    h.src.labels = vec![
        ("app".into(), "web".into()),
        ("tier".into(), "front".into()),
    ];
    h.entry.detail = Detail::Http(Box::new(Http {
        method: "GET".into(),
        url: "/api/v1/users?id=7".into(),
        path: "/api/v1/users".into(),
        http_version: "HTTP/1.1".into(),
        query_string: vec![("id".into(), "7".into())],
        request_headers: vec![
            ("accept".into(), "*/*".into()),
            ("host".into(), "api".into()),
        ],
        response_headers: vec![("content-type".into(), "application/json".into())],
        request_cookies: vec![("sid".into(), "abc".into())],
        response_cookies: vec![],
        request_headers_size: 120,
        request_body_size: 0,
        response_headers_size: 80,
        response_body_size: 2400,
        grpc: None,
    }));
    out.push(h.clone());
    let mut g = h.clone();
    g.entry.protocol = Protocol::GRPC;
    g.dst = service("10.96.0.10", "users", "prod");
    g.entry.timestamp_us = -1_500_000; // before the epoch
    if let Detail::Http(x) = &mut g.entry.detail {
        x.grpc = Some(Grpc {
            service: "pkg.Users".into(),
            method: "Get".into(),
            status: 5,
        });
    }
    out.push(g);
    let mut d = base(Protocol::DNS);
    d.entry.status_code = 3;
    d.dst.kind = IdentityKind::EXTERNAL;
    d.dst.dns = "dns.example".into();
    d.entry.detail = Detail::Dns(Box::new(Dns {
        questions: vec!["example.com".into()],
        question_types: vec!["A".into(), "AAAA".into()],
        answers: vec![],
        request: true,
        response: true,
        rcode: 3,
        truncated: true,
        request_length: 40,
        response_length: 90,
    }));
    out.push(d);
    let mut r = base(Protocol::REDIS);
    r.entry.detail = Detail::Redis(Box::new(Redis {
        command_type: "SET".into(),
        command: "SET session:1 x".into(),
        key: "session:1".into(),
        error_reply: true,
    }));
    out.push(r);
    let mut k = base(Protocol::KAFKA);
    k.entry.detail = Detail::Kafka(Box::new(Kafka {
        api_key: 1,
        api_version: 12,
        correlation_id: -3,
        client_id: "consumer-1".into(),
        request_summary: "orders".into(),
        error_code: 6,
        request: true,
        response: false,
    }));
    out.push(k);
    let mut t = base(Protocol::TCP);
    t.entry.src.ip = common::ip("fd00::1");
    t.src.ip = common::ip("fd00::1");
    t.dst.ip = common::ip("10.9.9.9"); // identity IP differs from the peer's
    t.dst.kind = IdentityKind::NODE;
    out.push(t);
    out
}

#[test]
fn round_trip_every_detail_kind() {
    for o in samples() {
        let v = entry_to_json(&o.view());
        let line = serde_json::to_string(&v).expect("serialises");
        let back: serde_json::Value = serde_json::from_str(&line).expect("parses");
        let got = entry_from_json(&back).unwrap_or_else(|e| panic!("{line}: {e}"));
        let want = JsonEntry {
            entry: o.entry.clone(),
            src: o.src.clone(),
            dst: o.dst.clone(),
            node: o.node.clone(),
        };
        assert_eq!(got, want, "round trip of {line}");
    }
}

#[test]
fn fields_are_named_as_kfl2_variables() {
    let o = &samples()[1];
    let v = entry_to_json(&o.view());
    assert_eq!(v["kind"], "l7");
    assert_eq!(v["protocol"], "gRPC");
    assert_eq!(v["src"]["pod"]["name"], "client-7d9f");
    assert_eq!(v["dst"]["pod"]["name"], "users", "service fallback");
    assert_eq!(v["dst"]["service"]["namespace"], "prod");
    assert_eq!(v["request"]["headers"]["host"], "api");
    assert_eq!(v["grpc_status"], 5);
    assert_eq!(v["timestamp"], "1969-12-31T23:59:58.5Z");
    assert_eq!(
        samples()[0].view().entry.timestamp_us,
        1_700_000_000_123_456
    );
    assert_eq!(
        entry_to_json(&samples()[0].view())["timestamp"],
        "2023-11-14T22:13:20.123456Z"
    );
}

#[test]
fn filters_read_json_entries() {
    let line = json!({
        "kind": "l7",
        "protocol": "HTTP",
        "method": "GET",
        "status_code": 503,
        "timestamp": "2024-02-29T12:00:00+01:00",
        "src": {"ip": "10.1.1.1", "port": 5555, "pod": {"name": "web-1", "namespace": "shop"}},
        "dst": {"ip": "10.1.1.2", "port": 80, "service": {"name": "api", "namespace": "shop"}},
        "request": {"headers": {"x-user": "42"}}
    });
    let e = entry_from_json(&line).expect("hand-written line reads");
    assert_eq!(e.entry.timestamp_us, 1_709_204_400_000_000);
    let f = Filter::compile(
        r#"http && status_code >= 500 && src.pod.name == "web-1" && dst.pod.name == "api" && request.headers["x-user"] == "42" && timestamp == timestamp("2024-02-29T11:00:00Z")"#,
        0,
    )
    .expect("compiles");
    assert_eq!(f.matches(&e.view()), Ok(true));
    assert!(entry_from_json(&json!({"kind": "l4"})).is_err());
    assert!(entry_from_json(&json!({"status_code": "x"})).is_err());
    assert!(entry_from_json(&json!([1, 2])).is_err());
    assert!(entry_from_json(&json!({"src": {"ip": "not-an-ip"}})).is_err());
}

#[test]
fn rfc3339_civil_dates() {
    assert_eq!(format_rfc3339(0, 0), "1970-01-01T00:00:00Z");
    assert_eq!(format_rfc3339(951_782_400, 0), "2000-02-29T00:00:00Z");
    assert_eq!(format_rfc3339(-62_135_596_800, 0), "0001-01-01T00:00:00Z");
    assert_eq!(
        format_rfc3339(253_402_300_799, 999_999_999),
        "9999-12-31T23:59:59.999999999Z"
    );
    for secs in [
        -62_135_596_800i64,
        -1,
        0,
        1,
        68_256_000,
        951_868_799,
        1_709_208_000,
        253_402_300_799,
    ] {
        let s = format_rfc3339(secs, 120);
        assert_eq!(parse_rfc3339(&s), Some((secs, 120)), "{s}");
    }
    assert_eq!(parse_rfc3339("2023-02-29T00:00:00Z"), None);
    assert_eq!(parse_rfc3339("2023-01-01T00:00:00"), None);
    assert_eq!(parse_rfc3339("2023-01-01T24:00:00Z"), None);
    assert_eq!(
        parse_rfc3339("2023-01-01T00:00:00-02:30"),
        Some((1_672_540_200, 0))
    );
}
