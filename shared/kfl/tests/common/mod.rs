//! Entries for tests: a zero entry and builders for each protocol.
#![allow(dead_code)]

use std::net::IpAddr;

use wiremap_wire::{Detail, Entry, EntryView, Identity, IdentityKind, Peer, Protocol};

/// An entry with its two identities and capturing node, owned.
#[derive(Debug, Clone)]
pub struct Owned {
    pub entry: Entry,
    pub src: Identity,
    pub dst: Identity,
    pub node: String,
}

impl Owned {
    pub fn view(&self) -> EntryView<'_> {
        EntryView {
            entry: &self.entry,
            src: &self.src,
            dst: &self.dst,
            node: &self.node,
        }
    }
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test IP parses")
}

pub fn pod(ip_s: &str, name: &str, ns: &str, node: &str) -> Identity {
    let mut id = Identity::external(ip(ip_s));
    id.kind = IdentityKind::POD;
    id.name = name.into();
    id.namespace = ns.into();
    id.node = node.into();
    id
}

pub fn service(ip_s: &str, name: &str, ns: &str) -> Identity {
    let mut id = Identity::external(ip(ip_s));
    id.kind = IdentityKind::SERVICE;
    id.name = name.into();
    id.namespace = ns.into();
    id.service = name.into();
    id.service_namespace = ns.into();
    id
}

/// A TCP entry between two pods with no detail.
pub fn base(protocol: Protocol) -> Owned {
    let src = pod("10.0.0.1", "client-7d9f", "default", "node-a");
    let dst = pod("10.0.0.2", "server-5c4b", "prod", "node-b");
    let entry = Entry {
        id: 42,
        timestamp_us: 1_700_000_000_000_000,
        elapsed_us: 1500,
        protocol,
        src: Peer {
            ip: src.ip,
            port: 43210,
            identity: 0,
        },
        dst: Peer {
            ip: dst.ip,
            port: 8080,
            identity: 1,
        },
        conn_id: 7,
        transport_udp: protocol == Protocol::DNS || protocol == Protocol::UDP,
        request_size: 100,
        response_size: 200,
        status_code: 0,
        error: false,
        has_response: true,
        detail: Detail::None,
    };
    Owned {
        entry,
        src,
        dst,
        node: "node-a".into(),
    }
}

pub fn zero() -> Owned {
    let mut o = base(Protocol(0));
    o.entry.id = 0;
    o
}

/// splitmix64 (the benchmark corpus's): deterministic, so a failure names
/// a reproducible seed.
#[allow(unused_imports)]
pub use corpus::Rng;

#[path = "../../benches/corpus/mod.rs"]
mod corpus;
