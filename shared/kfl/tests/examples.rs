//! Every example filter of KFL2.md, each with an entry that makes it match
//! and one that does not; plus the KFL2-specific semantics (zero values,
//! grpc_status -1, missing-key errors absorbed by `&&`/`||`).

mod common;

use common::{base, pod, service, Owned};
use wiremap_kfl::{EvalError, Filter};
use wiremap_wire::{Detail, Dns, Grpc, Http, Kafka, Protocol, Redis};

const NOW_US: i64 = 1_700_000_100_000_000;

fn http(method: &str, path: &str, status: i32) -> Owned {
    let mut o = base(Protocol::HTTP);
    o.entry.status_code = status;
    o.entry.detail = Detail::Http(Box::new(Http {
        method: method.into(),
        url: path.into(),
        path: path.split('?').next().unwrap_or("").into(),
        http_version: "HTTP/1.1".into(),
        request_headers: vec![("content-type".into(), "application/json".into())],
        ..Http::default()
    }));
    o
}

fn with_http(mut o: Owned, f: impl FnOnce(&mut Http)) -> Owned {
    if let Detail::Http(h) = &mut o.entry.detail {
        f(h);
    }
    o
}

fn grpc(status: i32) -> Owned {
    let mut o = http("POST", "/pkg.Svc/Get", 200);
    o.entry.protocol = Protocol::GRPC;
    with_http(o, |h| {
        h.grpc = Some(Grpc {
            service: "pkg.Svc".into(),
            method: "Get".into(),
            status,
        });
    })
}

fn dns(questions: &[&str], response: bool, rcode: i32) -> Owned {
    let mut o = base(Protocol::DNS);
    o.entry.status_code = rcode;
    o.entry.detail = Detail::Dns(Box::new(Dns {
        questions: questions.iter().map(|s| s.to_string()).collect(),
        question_types: vec!["A".into()],
        request: true,
        response,
        rcode: rcode as u8,
        ..Dns::default()
    }));
    o
}

fn redis(key: &str) -> Owned {
    let mut o = base(Protocol::REDIS);
    o.entry.detail = Detail::Redis(Box::new(Redis {
        command_type: "GET".into(),
        command: format!("GET {key}"),
        key: key.into(),
        error_reply: false,
    }));
    o
}

fn kafka(api_key: i16, topics: &str) -> Owned {
    let mut o = base(Protocol::KAFKA);
    o.entry.detail = Detail::Kafka(Box::new(Kafka {
        api_key,
        request_summary: topics.into(),
        request: true,
        response: true,
        ..Kafka::default()
    }));
    o
}

fn check(src: &str, yes: &[Owned], no: &[Owned]) {
    let f = Filter::compile(src, NOW_US).unwrap_or_else(|e| panic!("{src} does not compile:\n{e}"));
    for (i, o) in yes.iter().enumerate() {
        assert_eq!(
            f.matches(&o.view()),
            Ok(true),
            "{src} should match entry #{i}: {o:?}"
        );
    }
    for (i, o) in no.iter().enumerate() {
        assert_eq!(
            f.matches(&o.view()),
            Ok(false),
            "{src} should not match entry #{i}: {o:?}"
        );
    }
}

#[test]
fn doc_examples() {
    check(
        r#"http && method == "GET" && status_code >= 400"#,
        &[http("GET", "/x", 404), http("GET", "/x", 500)],
        &[
            http("GET", "/x", 200),
            http("POST", "/x", 500),
            dns(&["a.com"], true, 5),
        ],
    );
    let mut prod = http("GET", "/", 200);
    prod.dst = pod("10.0.0.2", "api-1", "production", "node-b");
    check(
        r#"dst.pod.namespace == "production""#,
        &[prod.clone()],
        &[http("GET", "/", 200)],
    );
    check(
        r#"dns && "google.com" in dns_questions"#,
        &[dns(&["google.com"], true, 0)],
        &[
            dns(&["google.co"], true, 0),
            http("GET", "/google.com", 200),
        ],
    );
    check(
        "grpc && grpc_status != 0",
        &[grpc(14)],
        &[grpc(0), http("GET", "/", 500)],
    );
    let mut slow = http("GET", "/", 200);
    slow.entry.elapsed_us = 6_000_000;
    check(
        "http && elapsed_time > 5000000",
        &[slow],
        &[http("GET", "/", 200)],
    );
    let mut old = http("GET", "/", 200);
    old.entry.timestamp_us = NOW_US - 600_000_000;
    let mut recent = http("GET", "/", 200);
    recent.entry.timestamp_us = NOW_US - 60_000_000;
    check(r#"timestamp > now() - duration("5m")"#, &[recent], &[old]);
    let mut p8500 = http("GET", "/", 200);
    p8500.entry.dst.port = 8500;
    let mut p80 = http("GET", "/", 200);
    p80.entry.dst.port = 80;
    check("dst.port >= 8000 && dst.port <= 9000", &[p8500], &[p80]);
    let mut lan = http("GET", "/", 200);
    lan.entry.src.ip = common::ip("192.168.1.9");
    check(
        r#"src.ip.startsWith("192.168.")"#,
        &[lan],
        &[http("GET", "/", 200)],
    );
    check(
        r#""production" in namespaces"#,
        &[prod.clone()],
        &[http("GET", "/", 200)],
    );
    let mut labelled = http("GET", "/", 200);
    labelled.src.labels = vec![("app".into(), "payments".into())];
    check(
        r#"map_get(local_labels, "app", "") == "payments""#,
        &[labelled],
        &[http("GET", "/", 200)],
    );
    let authed = with_http(http("GET", "/", 200), |h| {
        h.request_headers
            .push(("authorization".into(), "Bearer x".into()))
    });
    check(
        r#"http && "authorization" in request.headers"#,
        &[authed],
        &[http("GET", "/", 200)],
    );
    let plain = with_http(http("GET", "/", 200), |h| {
        h.request_headers = vec![("content-type".into(), "text/plain".into())]
    });
    check(
        r#"http && request.headers["content-type"] == "application/json""#,
        &[http("GET", "/", 200)],
        &[plain, dns(&["a.com"], true, 0)],
    );
    check(
        r#"http && url.matches(".*/api/v[0-9]+/.*")"#,
        &[
            http("GET", "/api/v2/users", 200),
            http("GET", "/x/api/v10/y?q=1", 200),
        ],
        &[
            http("GET", "/api/vx/users", 200),
            http("GET", "/api/v1", 200),
        ],
    );
    check(
        "dns && dns_response && status_code != 0",
        &[dns(&["x.com"], true, 3)],
        &[
            dns(&["x.com"], true, 0),
            dns(&["x.com"], false, 3),
            http("GET", "/", 500),
        ],
    );
    check(
        r#"dns && dns_questions.exists(q, q.contains("minexmr"))"#,
        &[dns(&["a.com", "pool.minexmr.com"], true, 0)],
        &[dns(&["a.com"], true, 0)],
    );
    check(
        r#"redis && redis_key.startsWith("session:")"#,
        &[redis("session:42")],
        &[redis("user:42"), http("GET", "/session:", 200)],
    );
    check(
        r#"kafka && kafka_api_key_name == "PRODUCE""#,
        &[kafka(0, "orders")],
        &[kafka(1, "orders"), http("GET", "/", 200)],
    );
    check(
        r#"kafka && kafka_request_summary.contains("orders")"#,
        &[kafka(0, "orders,payments")],
        &[kafka(0, "payments")],
    );
    let mut kube = http("GET", "/", 200);
    kube.src = pod("10.0.0.1", "coredns", "kube-system", "node-a");
    check(
        r#"!(src.pod.namespace == "kube-system")"#,
        &[http("GET", "/", 200)],
        &[kube],
    );
    check(
        r#"http && !path.contains("/health")"#,
        &[http("GET", "/api", 200)],
        &[http("GET", "/healthz/health", 200), redis("x")],
    );
    let mut svc = http("GET", "/", 200);
    svc.src = service("10.0.0.1", "a", "ns1");
    svc.dst = service("10.0.0.2", "b", "ns2");
    let mut same_ns = http("GET", "/", 200);
    same_ns.src = service("10.0.0.1", "a", "ns1");
    same_ns.dst = service("10.0.0.2", "b", "ns1");
    check(
        "src.service.namespace != dst.service.namespace",
        &[svc],
        &[same_ns],
    );
    check(
        r#"http && status_code >= 500 || (tcp && tcp_error_type != "")"#,
        &[http("GET", "/", 503)],
        &[http("GET", "/", 200), base(Protocol::TCP)],
    );
    let big = with_http(http("GET", "/", 200), |h| h.response_body_size = 5000);
    let big_err = with_http(http("GET", "/", 500), |h| h.response_body_size = 5000);
    check(
        "response_body_size > 2300 && status_code == 200",
        &[big],
        &[http("GET", "/", 200), big_err],
    );
}

#[test]
fn absent_fields_read_as_zero_values() {
    let d = dns(&["a.com"], true, 0);
    check("status_code >= 400", &[], std::slice::from_ref(&d));
    check(
        "status_code != 200",
        std::slice::from_ref(&d),
        &[http("GET", "/", 200)],
    );
    check(
        r#"method == """#,
        std::slice::from_ref(&d),
        &[http("GET", "/", 200)],
    );
    check(
        "size(request.headers) == 0 && size(dns_answers) == 0",
        std::slice::from_ref(&d),
        &[http("GET", "/", 200)],
    );
    check("grpc_status == -1", &[d, http("GET", "/", 200)], &[grpc(0)]);
    check("grpc_status == 0", &[grpc(0)], &[grpc(2)]);
}

#[test]
fn missing_key_is_an_error_unless_absorbed() {
    let f = Filter::compile(r#"request.headers["x-missing"] == "1""#, NOW_US).expect("compiles");
    assert!(matches!(
        f.matches(&http("GET", "/", 200).view()),
        Err(EvalError::NoSuchKey(_))
    ));
    // `&&` with a false side decides: the error is absorbed, on either side.
    check(
        r#"dns && request.headers["x-missing"] == "1""#,
        &[],
        &[http("GET", "/", 200)],
    );
    check(
        r#"request.headers["x-missing"] == "1" && dns"#,
        &[],
        &[http("GET", "/", 200)],
    );
    // `||` with a true side decides.
    check(
        r#"request.headers["x-missing"] == "1" || http"#,
        &[http("GET", "/", 200)],
        &[],
    );
    let f =
        Filter::compile(r#"request.headers["x-missing"] == "1" || dns"#, NOW_US).expect("compiles");
    assert!(f.matches(&http("GET", "/", 200).view()).is_err());
    check(
        r#"map_get(request.headers, "x-missing", "none") == "none""#,
        &[http("GET", "/", 200)],
        &[],
    );
    check(
        r#"has(request.headers.authorization)"#,
        &[],
        &[http("GET", "/", 200)],
    );
}

#[test]
fn empty_filter_matches_everything() {
    for src in ["", "   ", "\n\t"] {
        let f = Filter::compile(src, NOW_US).expect("empty compiles");
        assert_eq!(f.matches(&base(Protocol::TCP).view()), Ok(true));
        assert!(f.fields().is_empty());
    }
}

#[test]
fn fields_lists_what_the_filter_reads() {
    let f = Filter::compile(
        r#"http && status_code >= 400 && dst.pod.namespace == "prod" && http"#,
        NOW_US,
    )
    .expect("compiles");
    assert_eq!(f.fields(), &["http", "status_code", "dst.pod.namespace"]);
    let f = Filter::compile(r#"dns_questions.exists(q, q == src.name)"#, NOW_US).expect("compiles");
    assert_eq!(f.fields(), &["dns_questions", "src.name"]);
}

#[test]
fn identity_variables() {
    let mut o = http("GET", "/", 200);
    o.src = service("10.0.0.1", "frontend", "web");
    o.src.node = "node-a".into();
    o.dst.dns = "server.example".into();
    check(
        r#"src.pod.name == "frontend" && src.pod.namespace == "web" && src.name == "frontend" && src.namespace == "web""#,
        &[o.clone()],
        &[http("GET", "/", 200)],
    );
    check(
        r#"dst.name == "server-5c4b" && dst.dns == "server.example" && "server-5c4b" in pods && services == ["frontend"]"#,
        &[o.clone()],
        &[],
    );
    check(
        r#"node_name == "node-a" && node["name"] == "node-a" && local_node_name == "node-a" && remote_node_name == "node-b""#,
        &[o.clone()],
        &[],
    );
    check(
        r#"protocol == "HTTP" && src.port == 43210 && dst.ip == "10.0.0.2""#,
        &[o],
        &[grpc(0)],
    );
}

#[test]
fn unsupported_protocol_flags_type_check_and_are_false() {
    for flag in [
        "tls",
        "amqp",
        "ldap",
        "ws",
        "gql",
        "mongodb",
        "mysql",
        "postgresql",
        "conn",
        "flow",
        "tlsx",
    ] {
        check(flag, &[], &[http("GET", "/", 200), base(Protocol::TCP)]);
    }
}
