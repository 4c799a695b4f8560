//! The KFL2 variables: name, type, one-line doc and how each is read from an
//! [`EntryView`]. The checker resolves a name to its [`VarDef`] once; the
//! evaluator then calls the typed getter directly (no name lookups per entry).

use std::borrow::Cow;
use std::rc::Rc;

use wiremap_wire::{
    Detail, Dns, EntryView, Grpc, Http, Identity, IdentityKind, Kafka, Protocol, Redis,
};

use crate::types::Type;
use crate::value::{List, Map, Value};

/// One variable for documentation and UI autocompletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarDoc {
    pub name: &'static str,
    /// `string`, `int`, `bool`, `timestamp`, `list(string)`, `map(string, string)`, `bytes`.
    pub ty: &'static str,
    pub doc: &'static str,
}

/// How a variable is read.
#[derive(Clone, Copy)]
pub enum Getter {
    Bool(fn(&EntryView<'_>) -> bool),
    Int(fn(&EntryView<'_>) -> i64),
    Str(for<'a> fn(&EntryView<'a>) -> Cow<'a, str>),
    Bytes(for<'a> fn(&EntryView<'a>) -> Cow<'a, [u8]>),
    /// Nanoseconds since the Unix epoch.
    Time(fn(&EntryView<'_>) -> i128),
    List(for<'a> fn(&EntryView<'a>) -> List<'a>),
    Map(for<'a> fn(&EntryView<'a>) -> Map<'a>),
}

impl std::fmt::Debug for Getter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.type_name())
    }
}

impl Getter {
    pub fn type_name(&self) -> &'static str {
        match self {
            Getter::Bool(_) => "bool",
            Getter::Int(_) => "int",
            Getter::Str(_) => "string",
            Getter::Bytes(_) => "bytes",
            Getter::Time(_) => "timestamp",
            Getter::List(_) => "list(string)",
            Getter::Map(_) => "map(string, string)",
        }
    }

    pub fn ty(&self) -> Type {
        match self {
            Getter::Bool(_) => Type::Bool,
            Getter::Int(_) => Type::Int,
            Getter::Str(_) => Type::String,
            Getter::Bytes(_) => Type::Bytes,
            Getter::Time(_) => Type::Timestamp,
            Getter::List(_) => Type::list(Type::String),
            Getter::Map(_) => Type::map(Type::String, Type::String),
        }
    }

    pub fn read<'a>(&self, v: &EntryView<'a>) -> Value<'a> {
        match self {
            Getter::Bool(f) => Value::Bool(f(v)),
            Getter::Int(f) => Value::Int(f(v)),
            Getter::Str(f) => Value::Str(f(v)),
            Getter::Bytes(f) => Value::Bytes(f(v)),
            Getter::Time(f) => Value::Timestamp(f(v)),
            Getter::List(f) => Value::List(f(v)),
            Getter::Map(f) => Value::Map(f(v)),
        }
    }
}

/// A variable with its reader.
#[derive(Debug)]
pub struct VarDef {
    pub name: &'static str,
    pub doc: &'static str,
    pub get: Getter,
}

fn http<'a>(v: &EntryView<'a>) -> Option<&'a Http> {
    match &v.entry.detail {
        Detail::Http(h) => Some(h),
        _ => None,
    }
}
fn grpc<'a>(v: &EntryView<'a>) -> Option<&'a Grpc> {
    http(v).and_then(|h| h.grpc.as_ref())
}
fn dns<'a>(v: &EntryView<'a>) -> Option<&'a Dns> {
    match &v.entry.detail {
        Detail::Dns(d) => Some(d),
        _ => None,
    }
}
fn redis<'a>(v: &EntryView<'a>) -> Option<&'a Redis> {
    match &v.entry.detail {
        Detail::Redis(r) => Some(r),
        _ => None,
    }
}
fn kafka<'a>(v: &EntryView<'a>) -> Option<&'a Kafka> {
    match &v.entry.detail {
        Detail::Kafka(k) => Some(k),
        _ => None,
    }
}

fn s(x: Option<&str>) -> Cow<'_, str> {
    Cow::Borrowed(x.unwrap_or(""))
}
fn u(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}
fn pairs(x: Option<&[(String, String)]>) -> Map<'_> {
    Map::Pairs(x.unwrap_or(&[]))
}
fn strs(x: Option<&[String]>) -> List<'_> {
    List::Strs(x.unwrap_or(&[]))
}
fn empty_str<'a>(_: &EntryView<'a>) -> Cow<'a, str> {
    Cow::Borrowed("")
}
fn zero(_: &EntryView<'_>) -> i64 {
    0
}
fn no(_: &EntryView<'_>) -> bool {
    false
}
fn no_bytes<'a>(_: &EntryView<'a>) -> Cow<'a, [u8]> {
    Cow::Borrowed(&[])
}
fn no_list<'a>(_: &EntryView<'a>) -> List<'a> {
    List::Strs(&[])
}
fn no_map<'a>(_: &EntryView<'a>) -> Map<'a> {
    Map::Pairs(&[])
}

fn pod_name(i: &Identity) -> &str {
    if i.kind == IdentityKind::POD {
        &i.name
    } else {
        &i.service
    }
}
fn pod_namespace(i: &Identity) -> &str {
    if i.kind == IdentityKind::POD {
        i.best_namespace()
    } else {
        &i.service_namespace
    }
}
/// pod > service > name (node) > dns > ip, as the map labels nodes.
fn best_name(i: &Identity) -> Cow<'_, str> {
    if i.kind == IdentityKind::POD && !i.name.is_empty() {
        Cow::Borrowed(&i.name)
    } else if !i.service.is_empty() {
        Cow::Borrowed(&i.service)
    } else if !i.name.is_empty() {
        Cow::Borrowed(&i.name)
    } else if !i.dns.is_empty() {
        Cow::Borrowed(&i.dns)
    } else {
        Cow::Owned(i.ip.to_string())
    }
}
fn resolution(i: &Identity) -> &'static str {
    match i.kind {
        IdentityKind::EXTERNAL if i.dns.is_empty() => "unresolved",
        IdentityKind::EXTERNAL => "dns",
        _ => "resolved",
    }
}

/// A list of the distinct non-empty strings `f` gives for src and dst.
fn both<'a>(v: &EntryView<'a>, f: fn(&'a Identity) -> &'a str) -> List<'a> {
    let a = f(v.src);
    let b = f(v.dst);
    let mut out = Vec::with_capacity(2);
    if !a.is_empty() {
        out.push(Value::str(a));
    }
    if !b.is_empty() && b != a {
        out.push(Value::str(b));
    }
    List::Vals(Rc::new(out))
}

macro_rules! var {
    ($name:literal, $kind:ident, $doc:literal, $f:expr) => {
        VarDef {
            name: $name,
            doc: $doc,
            get: Getter::$kind($f),
        }
    };
}

/// Every KFL2 variable, in documentation order.
pub static VARS: &[VarDef] = &[
    // Network
    var!("src.ip", Str, "Client IP address", |v| Cow::Owned(
        v.entry.src.ip.to_string()
    )),
    var!("dst.ip", Str, "Server IP address", |v| Cow::Owned(
        v.entry.dst.ip.to_string()
    )),
    var!("src.port", Int, "Client port", |v| i64::from(
        v.entry.src.port
    )),
    var!("dst.port", Int, "Server port", |v| i64::from(
        v.entry.dst.port
    )),
    var!(
        "protocol",
        Str,
        "Protocol name: HTTP, HTTP/2, gRPC, DNS, Redis, Kafka, TCP, UDP",
        |v| { Cow::Borrowed(v.entry.protocol.name()) }
    ),
    // Identity and time
    var!("id", Int, "Entry id, unique per probe epoch", |v| u(v
        .entry
        .id)),
    var!("node_id", Str, "Node whose probe captured the entry", |v| {
        Cow::Borrowed(v.node)
    }),
    var!(
        "index",
        Int,
        "Entry index within its capture (not carried: 0)",
        zero
    ),
    var!("stream", Str, "Stream id (not carried: empty)", empty_str),
    var!("timestamp", Time, "Request time", |v| i128::from(
        v.entry.timestamp_us
    ) * 1000),
    var!(
        "elapsed_time",
        Int,
        "Request to response latency in microseconds",
        |v| v.entry.elapsed_us
    ),
    var!(
        "worker",
        Str,
        "Worker that dissected the entry (not carried: empty)",
        empty_str
    ),
    var!(
        "conn_id",
        Int,
        "Connection id, unique per probe epoch",
        |v| u(v.entry.conn_id)
    ),
    var!("flow_id", Int, "Flow id (not carried: 0)", zero),
    var!(
        "has_pcap",
        Bool,
        "A pcap of the entry is stored (never)",
        no
    ),
    var!("capture_source", Str, "Capture source: af_packet", |_| {
        Cow::Borrowed("af_packet")
    }),
    var!(
        "capture_backend",
        Str,
        "Capture backend (not carried: empty)",
        empty_str
    ),
    var!(
        "capture_source_code",
        Int,
        "Capture source code (not carried: 0)",
        zero
    ),
    var!(
        "capture",
        Map,
        "Capture details (not carried: empty)",
        no_map
    ),
    // Protocol flags
    var!("http", Bool, "HTTP/1.x, HTTP/2 or gRPC entry", |v| v
        .entry
        .protocol
        .is_http()),
    var!("dns", Bool, "DNS entry", |v| v.entry.protocol
        == Protocol::DNS),
    var!("tls", Bool, "TLS entry (not dissected: false)", no),
    var!("tcp", Bool, "Raw TCP payload entry", |v| v.entry.protocol
        == Protocol::TCP),
    var!("udp", Bool, "Raw UDP payload entry", |v| v.entry.protocol
        == Protocol::UDP),
    var!("sctp", Bool, "SCTP entry (not dissected: false)", no),
    var!("icmp", Bool, "ICMP entry (not dissected: false)", no),
    var!("grpc", Bool, "gRPC entry", |v| v.entry.protocol
        == Protocol::GRPC),
    var!("redis", Bool, "Redis entry", |v| v.entry.protocol
        == Protocol::REDIS),
    var!("kafka", Bool, "Kafka entry", |v| v.entry.protocol
        == Protocol::KAFKA),
    var!("amqp", Bool, "AMQP entry (not dissected: false)", no),
    var!("ldap", Bool, "LDAP entry (not dissected: false)", no),
    var!("ws", Bool, "WebSocket entry (not dissected: false)", no),
    var!("gql", Bool, "GraphQL entry (not dissected: false)", no),
    var!("gqlv1", Bool, "GraphQL v1 entry (not dissected: false)", no),
    var!("gqlv2", Bool, "GraphQL v2 entry (not dissected: false)", no),
    var!("mongodb", Bool, "MongoDB entry (not dissected: false)", no),
    var!("mysql", Bool, "MySQL entry (not dissected: false)", no),
    var!(
        "postgresql",
        Bool,
        "PostgreSQL entry (not dissected: false)",
        no
    ),
    var!("radius", Bool, "RADIUS entry (not dissected: false)", no),
    var!(
        "diameter",
        Bool,
        "Diameter entry (not dissected: false)",
        no
    ),
    var!(
        "conn",
        Bool,
        "L4 connection entry (not produced: false)",
        no
    ),
    var!("flow", Bool, "L4 flow entry (not produced: false)", no),
    var!(
        "tcp_conn",
        Bool,
        "TCP connection entry (not produced: false)",
        no
    ),
    var!(
        "udp_conn",
        Bool,
        "UDP connection entry (not produced: false)",
        no
    ),
    var!("tcp_flow", Bool, "TCP flow entry (not produced: false)", no),
    var!("udp_flow", Bool, "UDP flow entry (not produced: false)", no),
    var!(
        "tlsx",
        Bool,
        "TLS handshake entry (not dissected: false)",
        no
    ),
    // HTTP
    var!("method", Str, "HTTP method", |v| s(
        http(v).map(|h| h.method.as_str())
    )),
    var!("url", Str, "HTTP path and query", |v| s(
        http(v).map(|h| h.url.as_str())
    )),
    var!("path", Str, "HTTP path", |v| s(
        http(v).map(|h| h.path.as_str())
    )),
    var!(
        "status_code",
        Int,
        "HTTP status, or DNS RCODE on DNS responses",
        |v| i64::from(v.entry.status_code)
    ),
    var!("http_version", Str, "HTTP/1.1, HTTP/2, …", |v| s(
        http(v).map(|h| h.http_version.as_str())
    )),
    var!("query_string", Map, "HTTP query parameters", |v| pairs(
        http(v).map(|h| h.query_string.as_slice())
    )),
    var!(
        "request.headers",
        Map,
        "HTTP request headers (names lower-case)",
        |v| { pairs(http(v).map(|h| h.request_headers.as_slice())) }
    ),
    var!(
        "response.headers",
        Map,
        "HTTP response headers (names lower-case)",
        |v| { pairs(http(v).map(|h| h.response_headers.as_slice())) }
    ),
    var!("request.cookies", Map, "HTTP request cookies", |v| pairs(
        http(v).map(|h| h.request_cookies.as_slice())
    )),
    var!("response.cookies", Map, "HTTP response cookies", |v| {
        pairs(http(v).map(|h| h.response_cookies.as_slice()))
    }),
    var!(
        "request_headers_size",
        Int,
        "HTTP request header bytes",
        |v| { u(http(v).map_or(0, |h| h.request_headers_size)) }
    ),
    var!("request_body_size", Int, "HTTP request body bytes", |v| u(
        http(v).map_or(0, |h| h.request_body_size)
    )),
    var!(
        "response_headers_size",
        Int,
        "HTTP response header bytes",
        |v| { u(http(v).map_or(0, |h| h.response_headers_size)) }
    ),
    var!("response_body_size", Int, "HTTP response body bytes", |v| {
        u(http(v).map_or(0, |h| h.response_body_size))
    }),
    // gRPC
    var!(
        "grpc_method",
        Str,
        "gRPC method (last segment of /pkg.Service/Method)",
        |v| { s(grpc(v).map(|g| g.method.as_str())) }
    ),
    var!("grpc_status", Int, "gRPC status; -1 when not gRPC", |v| {
        grpc(v).map_or(-1, |g| i64::from(g.status))
    }),
    // DNS
    var!("dns_questions", List, "DNS question names", |v| strs(
        dns(v).map(|d| d.questions.as_slice())
    )),
    var!("dns_answers", List, "DNS answers", |v| strs(
        dns(v).map(|d| d.answers.as_slice())
    )),
    var!(
        "dns_question_types",
        List,
        "DNS question types (A, AAAA, …)",
        |v| { strs(dns(v).map(|d| d.question_types.as_slice())) }
    ),
    var!("dns_request", Bool, "A DNS request was seen", |v| dns(v)
        .is_some_and(|d| d.request)),
    var!("dns_response", Bool, "A DNS response was seen", |v| dns(v)
        .is_some_and(|d| d.response)),
    var!("dns_request_length", Int, "DNS request bytes", |v| u(dns(
        v
    )
    .map_or(0, |d| d.request_length))),
    var!("dns_response_length", Int, "DNS response bytes", |v| u(
        dns(v).map_or(0, |d| d.response_length)
    )),
    var!("dns_total_size", Int, "DNS request + response bytes", |v| {
        u(dns(v).map_or(0, |d| d.request_length.saturating_add(d.response_length)))
    }),
    // Redis
    var!("redis_type", Str, "Redis command verb", |v| s(
        redis(v).map(|r| r.command_type.as_str())
    )),
    var!("redis_command", Str, "Redis full command line", |v| s(
        redis(v).map(|r| r.command.as_str())
    )),
    var!("redis_key", Str, "Redis key (first 64 bytes)", |v| s(
        redis(v).map(|r| r.key.as_str())
    )),
    var!("redis_request_size", Int, "Redis request bytes", |v| {
        if redis(v).is_some() {
            u(v.entry.request_size)
        } else {
            0
        }
    }),
    var!("redis_response_size", Int, "Redis response bytes", |v| {
        if redis(v).is_some() {
            u(v.entry.response_size)
        } else {
            0
        }
    }),
    var!(
        "redis_total_size",
        Int,
        "Redis request + response bytes",
        |v| {
            if redis(v).is_some() {
                u(v.entry.request_size.saturating_add(v.entry.response_size))
            } else {
                0
            }
        }
    ),
    // Kafka
    var!(
        "kafka_api_key",
        Int,
        "Kafka API key (0 Produce, 1 Fetch, …)",
        |v| { kafka(v).map_or(0, |k| i64::from(k.api_key)) }
    ),
    var!(
        "kafka_api_key_name",
        Str,
        "Kafka API name (PRODUCE, FETCH, …)",
        |v| { Cow::Borrowed(kafka(v).map_or("", |k| k.api_key_name())) }
    ),
    var!("kafka_client_id", Str, "Kafka client id", |v| s(
        kafka(v).map(|k| k.client_id.as_str())
    )),
    var!("kafka_size", Int, "Kafka request + response bytes", |v| {
        if kafka(v).is_some() {
            u(v.entry.request_size.saturating_add(v.entry.response_size))
        } else {
            0
        }
    }),
    var!("kafka_request", Bool, "A Kafka request was seen", |v| {
        kafka(v).is_some_and(|k| k.request)
    }),
    var!("kafka_response", Bool, "A Kafka response was seen", |v| {
        kafka(v).is_some_and(|k| k.response)
    }),
    var!(
        "kafka_request_summary",
        Str,
        "Kafka topics of the request",
        |v| { s(kafka(v).map(|k| k.request_summary.as_str())) }
    ),
    var!("kafka_request_size", Int, "Kafka request bytes", |v| {
        if kafka(v).is_some() {
            u(v.entry.request_size)
        } else {
            0
        }
    }),
    var!("kafka_response_size", Int, "Kafka response bytes", |v| {
        if kafka(v).is_some() {
            u(v.entry.response_size)
        } else {
            0
        }
    }),
    // TCP / UDP payload (not carried)
    var!(
        "tcp_method",
        Str,
        "TCP payload method (not carried: empty)",
        empty_str
    ),
    var!(
        "tcp_payload",
        Bytes,
        "TCP payload (not carried: empty)",
        no_bytes
    ),
    var!(
        "tcp_error_type",
        Str,
        "TCP error type (not carried: empty)",
        empty_str
    ),
    var!(
        "tcp_error_message",
        Str,
        "TCP error message (not carried: empty)",
        empty_str
    ),
    var!("udp_length", Int, "UDP length (not carried: 0)", zero),
    var!("udp_checksum", Int, "UDP checksum (not carried: 0)", zero),
    var!(
        "udp_payload",
        Bytes,
        "UDP payload (not carried: empty)",
        no_bytes
    ),
    // L4 connection and flow entries (not produced as entries)
    var!(
        "conn_state",
        Str,
        "Connection state (no connection entries: empty)",
        empty_str
    ),
    var!("conn_local_pkts", Int, "Connection local packets (0)", zero),
    var!("conn_local_bytes", Int, "Connection local bytes (0)", zero),
    var!(
        "conn_remote_pkts",
        Int,
        "Connection remote packets (0)",
        zero
    ),
    var!(
        "conn_remote_bytes",
        Int,
        "Connection remote bytes (0)",
        zero
    ),
    var!(
        "conn_l7_detected",
        List,
        "L7 protocols detected on the connection (empty)",
        no_list
    ),
    var!("conn_group_id", Int, "Connection group id (0)", zero),
    var!(
        "flow_state",
        Str,
        "Flow state (no flow entries: empty)",
        empty_str
    ),
    var!("flow_local_pkts", Int, "Flow local packets (0)", zero),
    var!("flow_local_bytes", Int, "Flow local bytes (0)", zero),
    var!("flow_remote_pkts", Int, "Flow remote packets (0)", zero),
    var!("flow_remote_bytes", Int, "Flow remote bytes (0)", zero),
    var!("flow_local_pps", Int, "Flow local packets/s (0)", zero),
    var!("flow_local_bps", Int, "Flow local bytes/s (0)", zero),
    var!("flow_remote_pps", Int, "Flow remote packets/s (0)", zero),
    var!("flow_remote_bps", Int, "Flow remote bytes/s (0)", zero),
    var!(
        "flow_l7_detected",
        List,
        "L7 protocols detected on the flow (empty)",
        no_list
    ),
    var!("flow_group_id", Int, "Flow group id (0)", zero),
    // Kubernetes, directional
    var!(
        "src.pod.name",
        Str,
        "Client pod name (service name when no pod)",
        |v| Cow::Borrowed(pod_name(v.src))
    ),
    var!(
        "src.pod.namespace",
        Str,
        "Client pod namespace (service's when no pod)",
        |v| { Cow::Borrowed(pod_namespace(v.src)) }
    ),
    var!(
        "dst.pod.name",
        Str,
        "Server pod name (service name when no pod)",
        |v| Cow::Borrowed(pod_name(v.dst))
    ),
    var!(
        "dst.pod.namespace",
        Str,
        "Server pod namespace (service's when no pod)",
        |v| { Cow::Borrowed(pod_namespace(v.dst)) }
    ),
    var!("src.service.name", Str, "Client service name", |v| {
        Cow::Borrowed(v.src.service.as_str())
    }),
    var!(
        "src.service.namespace",
        Str,
        "Client service namespace",
        |v| { Cow::Borrowed(v.src.service_namespace.as_str()) }
    ),
    var!("dst.service.name", Str, "Server service name", |v| {
        Cow::Borrowed(v.dst.service.as_str())
    }),
    var!(
        "dst.service.namespace",
        Str,
        "Server service namespace",
        |v| { Cow::Borrowed(v.dst.service_namespace.as_str()) }
    ),
    var!(
        "src.name",
        Str,
        "Client best name: pod > service > node > dns > ip",
        |v| best_name(v.src)
    ),
    var!(
        "dst.name",
        Str,
        "Server best name: pod > service > node > dns > ip",
        |v| best_name(v.dst)
    ),
    var!(
        "src.namespace",
        Str,
        "Client namespace (service's as fallback)",
        |v| Cow::Borrowed(v.src.best_namespace())
    ),
    var!(
        "dst.namespace",
        Str,
        "Server namespace (service's as fallback)",
        |v| Cow::Borrowed(v.dst.best_namespace())
    ),
    var!(
        "src.dns",
        Str,
        "Reverse-resolved name of the client IP",
        |v| Cow::Borrowed(v.src.dns.as_str())
    ),
    var!(
        "dst.dns",
        Str,
        "Reverse-resolved name of the server IP",
        |v| Cow::Borrowed(v.dst.dns.as_str())
    ),
    // Kubernetes, either side
    var!("namespaces", List, "Namespaces of both peers", |v| both(
        v,
        |i| i.best_namespace()
    )),
    var!("pods", List, "Pod names of both peers", |v| {
        both(v, |i| {
            if i.kind == IdentityKind::POD {
                i.name.as_str()
            } else {
                ""
            }
        })
    }),
    var!("services", List, "Service names of both peers", |v| both(
        v,
        |i| i.service.as_str()
    )),
    var!(
        "dns_resolutions",
        List,
        "Reverse-resolved names of both peers",
        |v| both(v, |i| i.dns.as_str())
    ),
    var!(
        "local_labels",
        Map,
        "Labels of the peer on the capturing node",
        |v| Map::Pairs(&v.local().labels)
    ),
    var!(
        "local_annotations",
        Map,
        "Annotations of the local peer (not carried: empty)",
        no_map
    ),
    var!("remote_labels", Map, "Labels of the other peer", |v| {
        Map::Pairs(&v.remote().labels)
    }),
    var!(
        "remote_annotations",
        Map,
        "Annotations of the remote peer (not carried: empty)",
        no_map
    ),
    var!(
        "local_process_name",
        Str,
        "Process of the local peer (not carried: empty)",
        empty_str
    ),
    var!(
        "remote_process_name",
        Str,
        "Process of the remote peer (not carried: empty)",
        empty_str
    ),
    var!(
        "node",
        Map,
        "Capturing node: node[\"name\"], node[\"ip\"]",
        |v| {
            Map::Vals(Rc::new(vec![
                (Value::str("name"), Value::str(v.node)),
                (Value::str("ip"), Value::str("")),
            ]))
        }
    ),
    var!("node_name", Str, "Name of the capturing node", |v| {
        Cow::Borrowed(v.node)
    }),
    var!(
        "node_ip",
        Str,
        "IP of the capturing node (not carried: empty)",
        empty_str
    ),
    var!("local_node_name", Str, "Node of the local peer", |v| {
        Cow::Borrowed(v.local().node.as_str())
    }),
    var!("remote_node_name", Str, "Node of the remote peer", |v| {
        Cow::Borrowed(v.remote().node.as_str())
    }),
    var!(
        "local_resolution_status",
        Str,
        "resolved, dns or unresolved",
        |v| Cow::Borrowed(resolution(v.local()))
    ),
    var!(
        "remote_resolution_status",
        Str,
        "resolved, dns or unresolved",
        |v| { Cow::Borrowed(resolution(v.remote())) }
    ),
];

/// The variable named `name`, if any.
pub fn lookup(name: &str) -> Option<&'static VarDef> {
    VARS.iter().find(|v| v.name == name)
}

static DOCS: std::sync::OnceLock<Vec<VarDoc>> = std::sync::OnceLock::new();

/// Every variable with its type and doc, for UI autocompletion.
pub fn schema() -> &'static [VarDoc] {
    DOCS.get_or_init(|| {
        VARS.iter()
            .map(|v| VarDoc {
                name: v.name,
                ty: v.get.type_name(),
                doc: v.doc,
            })
            .collect()
    })
}
