//! One dissected L7 API call (request paired with its response).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The L7 protocol of an entry. A raw code so unknown protocols pass through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Protocol(pub u8);

impl Protocol {
    pub const HTTP: Protocol = Protocol(1);
    pub const HTTP2: Protocol = Protocol(2);
    pub const GRPC: Protocol = Protocol(3);
    pub const DNS: Protocol = Protocol(4);
    pub const REDIS: Protocol = Protocol(5);
    pub const KAFKA: Protocol = Protocol(6);
    pub const TCP: Protocol = Protocol(7);
    pub const UDP: Protocol = Protocol(8);

    /// Every protocol this version names.
    pub const KNOWN: [Protocol; 8] = [
        Self::HTTP,
        Self::HTTP2,
        Self::GRPC,
        Self::DNS,
        Self::REDIS,
        Self::KAFKA,
        Self::TCP,
        Self::UDP,
    ];

    /// The KFL2 `protocol` string ("HTTP", "HTTP/2", "gRPC", …).
    pub fn name(self) -> &'static str {
        match self {
            Self::HTTP => "HTTP",
            Self::HTTP2 => "HTTP/2",
            Self::GRPC => "gRPC",
            Self::DNS => "DNS",
            Self::REDIS => "Redis",
            Self::KAFKA => "Kafka",
            Self::TCP => "TCP",
            Self::UDP => "UDP",
            _ => "unknown",
        }
    }

    /// The protocol with KFL2 name `name`, if any.
    pub fn from_name(name: &str) -> Option<Protocol> {
        Self::KNOWN.into_iter().find(|p| p.name() == name)
    }

    /// Carried over UDP (DNS over TCP uses [`Entry::transport_udp`] false).
    pub fn is_http(self) -> bool {
        matches!(self, Self::HTTP | Self::HTTP2 | Self::GRPC)
    }
}

/// One side of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Peer {
    pub ip: IpAddr,
    pub port: u16,
    /// Index into the identity table of the batch that carries the entry.
    pub identity: u32,
}

/// One API call. `src` is the client, `dst` the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unique per probe epoch.
    pub id: u64,
    /// Request time, µs since the Unix epoch.
    pub timestamp_us: i64,
    /// Request → response latency in µs (0 when there is no response).
    pub elapsed_us: i64,
    pub protocol: Protocol,
    pub src: Peer,
    pub dst: Peer,
    /// Connection identifier, unique per probe epoch.
    pub conn_id: u64,
    /// true when carried over UDP (DNS), false for TCP.
    pub transport_udp: bool,
    /// Bytes of the request messages on the wire (L7 payload).
    pub request_size: u64,
    /// Bytes of the response messages on the wire (L7 payload).
    pub response_size: u64,
    /// HTTP status, or the DNS RCODE on DNS responses; 0 when none.
    pub status_code: i32,
    /// The protocol says the call failed (HTTP ≥ 500, gRPC status ≠ 0,
    /// DNS RCODE ≠ 0, Redis error reply, Kafka error code ≠ 0).
    pub error: bool,
    /// true when a response was seen.
    pub has_response: bool,
    pub detail: Detail,
}

impl Entry {
    /// An entry with every number zero, no protocol, no detail, both peers
    /// `ip` port 0 identity 0: a starting point for tools and tests.
    pub fn blank(ip: IpAddr) -> Entry {
        let peer = Peer {
            ip,
            port: 0,
            identity: 0,
        };
        Entry {
            id: 0,
            timestamp_us: 0,
            elapsed_us: 0,
            protocol: Protocol(0),
            src: peer,
            dst: peer,
            conn_id: 0,
            transport_udp: false,
            request_size: 0,
            response_size: 0,
            status_code: 0,
            error: false,
            has_response: false,
            detail: Detail::None,
        }
    }
}

/// Protocol-specific fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Detail {
    None,
    Http(Box<Http>),
    Dns(Box<Dns>),
    Redis(Box<Redis>),
    Kafka(Box<Kafka>),
}

/// HTTP/1.x and HTTP/2 (and gRPC, which rides on HTTP/2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Http {
    pub method: String,
    /// Path and query.
    pub url: String,
    pub path: String,
    /// "HTTP/1.1", "HTTP/2", …
    pub http_version: String,
    pub query_string: Vec<(String, String)>,
    /// Header names lower-case.
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    pub request_cookies: Vec<(String, String)>,
    pub response_cookies: Vec<(String, String)>,
    pub request_headers_size: u64,
    pub request_body_size: u64,
    pub response_headers_size: u64,
    pub response_body_size: u64,
    pub grpc: Option<Grpc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grpc {
    /// `pkg.Service` from `/pkg.Service/Method`.
    pub service: String,
    /// `Method` from `/pkg.Service/Method`.
    pub method: String,
    /// `grpc-status` (0 when the trailer is missing).
    pub status: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    pub questions: Vec<String>,
    /// "A", "AAAA", … ; unknown types as their number.
    pub question_types: Vec<String>,
    pub answers: Vec<String>,
    pub request: bool,
    pub response: bool,
    pub rcode: u8,
    pub truncated: bool,
    pub request_length: u64,
    pub response_length: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redis {
    /// Command verb, upper-case ("GET").
    pub command_type: String,
    /// Full command line, bounded.
    pub command: String,
    /// First key, at most 64 bytes.
    pub key: String,
    /// The reply was an error.
    pub error_reply: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kafka {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: String,
    /// Topics named by the request, comma-separated.
    pub request_summary: String,
    /// First non-zero error code in the response, else 0.
    pub error_code: i16,
    pub request: bool,
    pub response: bool,
}

impl Kafka {
    /// "PRODUCE", "FETCH", … for the api key.
    pub fn api_key_name(&self) -> &'static str {
        kafka_api_key_name(self.api_key)
    }
}

/// Kafka's name for an API key, upper-case, as Kubeshark shows it.
pub fn kafka_api_key_name(key: i16) -> &'static str {
    const NAMES: [&str; 75] = [
        "PRODUCE",
        "FETCH",
        "LIST_OFFSETS",
        "METADATA",
        "LEADER_AND_ISR",
        "STOP_REPLICA",
        "UPDATE_METADATA",
        "CONTROLLED_SHUTDOWN",
        "OFFSET_COMMIT",
        "OFFSET_FETCH",
        "FIND_COORDINATOR",
        "JOIN_GROUP",
        "HEARTBEAT",
        "LEAVE_GROUP",
        "SYNC_GROUP",
        "DESCRIBE_GROUPS",
        "LIST_GROUPS",
        "SASL_HANDSHAKE",
        "API_VERSIONS",
        "CREATE_TOPICS",
        "DELETE_TOPICS",
        "DELETE_RECORDS",
        "INIT_PRODUCER_ID",
        "OFFSET_FOR_LEADER_EPOCH",
        "ADD_PARTITIONS_TO_TXN",
        "ADD_OFFSETS_TO_TXN",
        "END_TXN",
        "WRITE_TXN_MARKERS",
        "TXN_OFFSET_COMMIT",
        "DESCRIBE_ACLS",
        "CREATE_ACLS",
        "DELETE_ACLS",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
        "ALTER_REPLICA_LOG_DIRS",
        "DESCRIBE_LOG_DIRS",
        "SASL_AUTHENTICATE",
        "CREATE_PARTITIONS",
        "CREATE_DELEGATION_TOKEN",
        "RENEW_DELEGATION_TOKEN",
        "EXPIRE_DELEGATION_TOKEN",
        "DESCRIBE_DELEGATION_TOKEN",
        "DELETE_GROUPS",
        "ELECT_LEADERS",
        "INCREMENTAL_ALTER_CONFIGS",
        "ALTER_PARTITION_REASSIGNMENTS",
        "LIST_PARTITION_REASSIGNMENTS",
        "OFFSET_DELETE",
        "DESCRIBE_CLIENT_QUOTAS",
        "ALTER_CLIENT_QUOTAS",
        "DESCRIBE_USER_SCRAM_CREDENTIALS",
        "ALTER_USER_SCRAM_CREDENTIALS",
        "VOTE",
        "BEGIN_QUORUM_EPOCH",
        "END_QUORUM_EPOCH",
        "DESCRIBE_QUORUM",
        "ALTER_PARTITION",
        "UPDATE_FEATURES",
        "ENVELOPE",
        "FETCH_SNAPSHOT",
        "DESCRIBE_CLUSTER",
        "DESCRIBE_PRODUCERS",
        "BROKER_REGISTRATION",
        "BROKER_HEARTBEAT",
        "UNREGISTER_BROKER",
        "DESCRIBE_TRANSACTIONS",
        "LIST_TRANSACTIONS",
        "ALLOCATE_PRODUCER_IDS",
        "CONSUMER_GROUP_HEARTBEAT",
        "CONSUMER_GROUP_DESCRIBE",
        "CONTROLLER_REGISTRATION",
        "GET_TELEMETRY_SUBSCRIPTIONS",
        "PUSH_TELEMETRY",
        "ASSIGN_REPLICAS_TO_DIRS",
        "LIST_CLIENT_METRICS_RESOURCES",
    ];
    usize::try_from(key)
        .ok()
        .and_then(|i| NAMES.get(i).copied())
        .unwrap_or("UNKNOWN")
}
