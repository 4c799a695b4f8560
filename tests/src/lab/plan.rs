//! The address plan: which nodes, pods and services exist, where each pod
//! runs, and every name and address derived from that. Pure data — nothing
//! here touches the system, so the whole plan is unit-tested.
//!
//! Placement puts every client on a different node than each server it
//! calls, so every call of the lab crosses nodes (and exercises the rule that
//! only the client's node reports a flow).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use super::error::LabError;

/// Prefix of everything the lab creates on the machine (namespaces, links,
/// `/etc/netns` entries), so a teardown after a crash finds it by name.
pub const PREFIX: &str = "wml-";
/// The network namespace that routes between the nodes' pod networks.
pub const ROUTER_NETNS: &str = "wml-router";
/// The cluster DNS domain.
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// What a pod runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// nginx: HTTP/1.1 on 80, HTTP/2 (h2c) on 8080.
    Web,
    /// Python gRPC server on 50051.
    Catalog,
    /// Python HTTP server on 8080 that keeps carts in Redis.
    Cart,
    /// dnsmasq answering `*.svc.cluster.local`.
    Dns,
    /// redis-server on 6379.
    Redis,
    /// Tansu, a Kafka-protocol broker, on 9092.
    Kafka,
    /// Python loop calling web, catalog and cart.
    Frontend,
    /// Python loop calling catalog (streaming) and Redis.
    Recommendation,
    /// kafkajs producer of orders.
    Checkout,
    /// kafkajs consumer (group `shipping`).
    Shipping,
    /// kafkajs consumer (group `analytics`).
    Analytics,
    /// Idle until scripted traffic runs in it.
    Tester,
}

/// One simulated node: a bridge in the root namespace with its pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    /// 0, 1, 2 … ; the pod CIDR is 10.244.(index+1).0/24.
    pub index: u8,
    /// The letter in link names: `wml-br-a`, `wml-a0`.
    pub letter: char,
}

impl Node {
    /// The pod network of this node (a /24).
    pub fn pod_cidr(&self) -> String {
        format!("10.244.{}.0/24", self.index + 1)
    }
    /// The gateway (the router's leg on this node's bridge); also the
    /// node's own address in the topology.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 244, self.index + 1, 1)
    }
    /// The bridge in the root namespace.
    pub fn bridge(&self) -> String {
        format!("{PREFIX}br-{}", self.letter)
    }
    /// The root-namespace end of the router's leg (a bridge port).
    pub fn router_port(&self) -> String {
        format!("{PREFIX}rt-{}", self.letter)
    }
    /// The router-namespace end of the router's leg.
    pub fn router_leg(&self) -> String {
        format!("leg-{}", self.letter)
    }
}

/// One pod: a network namespace with `eth0`, joined to its node's bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    pub name: String,
    pub namespace: String,
    pub node: String,
    pub ip: Ipv4Addr,
    pub labels: BTreeMap<String, String>,
    pub owner_kind: String,
    pub owner_name: String,
    pub role: Role,
    /// The root-namespace end of the pod's veth (what a probe captures).
    pub host_if: String,
}

impl Pod {
    /// The pod's network namespace.
    pub fn netns(&self) -> String {
        format!("{PREFIX}{}-{}", self.namespace, self.name)
    }
}

/// One service: a ClusterIP held as a secondary address by its only pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub namespace: String,
    pub ip: Ipv4Addr,
    pub selector: BTreeMap<String, String>,
    /// Ports served, for readiness checks.
    pub ports: Vec<u16>,
}

impl Service {
    /// `name.namespace.svc.cluster.local`.
    pub fn fqdn(&self) -> String {
        format!("{}.{}.svc.{CLUSTER_DOMAIN}", self.name, self.namespace)
    }
}

/// The whole cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    pub services: Vec<Service>,
}

/// (namespace, pod, node index, owner kind, owner, labels, role)
type PodRow = (
    &'static str,
    &'static str,
    u8,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Role,
);

const PODS: &[PodRow] = &[
    // node-a
    (
        "shop",
        "frontend-7c9d8-4xk2p",
        0,
        "Deployment",
        "frontend",
        &[("app", "frontend"), ("tier", "web")],
        Role::Frontend,
    ),
    (
        "shop",
        "shipping-5d8f6-k2m9z",
        0,
        "Deployment",
        "shipping",
        &[("app", "shipping"), ("tier", "backend")],
        Role::Shipping,
    ),
    (
        "data",
        "redis-0",
        0,
        "StatefulSet",
        "redis",
        &[("app", "redis"), ("tier", "data")],
        Role::Redis,
    ),
    (
        "data",
        "analytics-6f9c4-t8d2w",
        0,
        "Deployment",
        "analytics",
        &[("app", "analytics"), ("tier", "data")],
        Role::Analytics,
    ),
    // node-b
    (
        "shop",
        "web-6b7f9-h5t2q",
        1,
        "Deployment",
        "web",
        &[("app", "web"), ("tier", "web")],
        Role::Web,
    ),
    (
        "shop",
        "catalog-84c5d-w7r3x",
        1,
        "Deployment",
        "catalog",
        &[("app", "catalog"), ("tier", "backend")],
        Role::Catalog,
    ),
    (
        "data",
        "kafka-0",
        1,
        "StatefulSet",
        "kafka",
        &[("app", "kafka"), ("tier", "data")],
        Role::Kafka,
    ),
    (
        "kube-system",
        "coredns-5d78c-9lqzv",
        1,
        "Deployment",
        "coredns",
        &[("k8s-app", "kube-dns")],
        Role::Dns,
    ),
    // node-c
    (
        "shop",
        "cart-69f4b-p6n8d",
        2,
        "Deployment",
        "cart",
        &[("app", "cart"), ("tier", "backend")],
        Role::Cart,
    ),
    (
        "shop",
        "checkout-7f5c8-b3v6j",
        2,
        "Deployment",
        "checkout",
        &[("app", "checkout"), ("tier", "backend")],
        Role::Checkout,
    ),
    (
        "shop",
        "recommendation-5c7d9-q2x8h",
        2,
        "Deployment",
        "recommendation",
        &[("app", "recommendation"), ("tier", "backend")],
        Role::Recommendation,
    ),
    (
        "qa",
        "tester-66d9f-m4c7s",
        2,
        "Deployment",
        "tester",
        &[("app", "tester")],
        Role::Tester,
    ),
];

/// (namespace, name, ClusterIP last two octets, selector, ports)
type ServiceRow = (
    &'static str,
    &'static str,
    [u8; 2],
    (&'static str, &'static str),
    &'static [u16],
);

const SERVICES: &[ServiceRow] = &[
    (
        "kube-system",
        "kube-dns",
        [0, 10],
        ("k8s-app", "kube-dns"),
        &[53],
    ),
    ("shop", "web", [1, 80], ("app", "web"), &[80, 8080]),
    ("shop", "catalog", [1, 51], ("app", "catalog"), &[50051]),
    ("shop", "cart", [1, 81], ("app", "cart"), &[8080]),
    ("data", "redis", [2, 79], ("app", "redis"), &[6379]),
    ("data", "kafka", [2, 92], ("app", "kafka"), &[9092]),
];

/// The calls the steady client loops make: (client role, service, the
/// protocols they speak to it). The demo's traffic, and what the browser
/// test expects on the L7 map.
pub const STEADY_CALLS: &[(Role, &str, &[&str])] = &[
    (Role::Frontend, "web", &["HTTP", "HTTP/2"]),
    (Role::Frontend, "catalog", &["gRPC"]),
    (Role::Frontend, "cart", &["HTTP"]),
    (Role::Frontend, "kube-dns", &["DNS"]),
    (Role::Cart, "redis", &["Redis"]),
    (Role::Recommendation, "catalog", &["gRPC"]),
    (Role::Recommendation, "redis", &["Redis"]),
    (Role::Checkout, "kafka", &["Kafka"]),
    (Role::Shipping, "kafka", &["Kafka"]),
    (Role::Analytics, "kafka", &["Kafka"]),
];

/// Node names in order.
pub const NODE_NAMES: [&str; 3] = ["node-a", "node-b", "node-c"];

impl Plan {
    /// The lab's cluster: three nodes, twelve workloads in four namespaces.
    pub fn standard() -> Plan {
        let nodes: Vec<Node> = NODE_NAMES
            .iter()
            .zip(0u8..)
            .map(|(name, index)| Node {
                name: name.to_string(),
                index,
                letter: char::from(b'a' + index),
            })
            .collect();
        let mut per_node = [0u8; NODE_NAMES.len()];
        let mut pods = Vec::with_capacity(PODS.len());
        for &(namespace, name, node_index, kind, owner, labels, role) in PODS {
            let node = &nodes[usize::from(node_index)];
            let slot = per_node[usize::from(node_index)];
            per_node[usize::from(node_index)] += 1;
            pods.push(Pod {
                name: name.to_string(),
                namespace: namespace.to_string(),
                node: node.name.clone(),
                ip: Ipv4Addr::new(10, 244, node.index + 1, 10 + slot),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                owner_kind: kind.to_string(),
                owner_name: owner.to_string(),
                role,
                host_if: format!("{PREFIX}{}{slot}", node.letter),
            });
        }
        let services = SERVICES
            .iter()
            .map(|&(namespace, name, [o3, o4], (k, v), ports)| Service {
                name: name.to_string(),
                namespace: namespace.to_string(),
                ip: Ipv4Addr::new(10, 96, o3, o4),
                selector: BTreeMap::from([(k.to_string(), v.to_string())]),
                ports: ports.to_vec(),
            })
            .collect();
        Plan {
            nodes,
            pods,
            services,
        }
    }

    /// The L7 edges the steady traffic draws under workload grouping:
    /// (client workload, service, protocol). Clients call ClusterIPs, so
    /// the server side of an edge is the service.
    pub fn steady_edges(&self) -> BTreeSet<(String, String, &'static str)> {
        let mut out = BTreeSet::new();
        for &(role, service, protocols) in STEADY_CALLS {
            let Some(client) = self.pod(role) else {
                continue;
            };
            for &p in protocols {
                out.insert((client.owner_name.clone(), service.to_string(), p));
            }
        }
        out
    }

    /// The (client node, server node) pairs the steady traffic crosses.
    pub fn steady_node_pairs(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for &(role, service, _) in STEADY_CALLS {
            let client = self.pod(role);
            let server = self
                .services
                .iter()
                .find(|s| s.name == service)
                .and_then(|s| self.backend(s).ok());
            if let (Some(c), Some(s)) = (client, server) {
                out.insert((c.node.clone(), s.node.clone()));
            }
        }
        out
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Result<&Node, LabError> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| LabError::UnknownNode(name.to_string()))
    }

    /// The pods of node `name`.
    pub fn pods_on<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Pod> + 'a {
        self.pods.iter().filter(move |p| p.node == name)
    }

    /// The first pod with `role`.
    pub fn pod(&self, role: Role) -> Option<&Pod> {
        self.pods.iter().find(|p| p.role == role)
    }

    /// The service `namespace/name`.
    pub fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.namespace == namespace && s.name == name)
    }

    /// The pods a service selects (same namespace, every selector label).
    pub fn backends<'a>(&'a self, svc: &'a Service) -> impl Iterator<Item = &'a Pod> + 'a {
        self.pods.iter().filter(move |p| {
            p.namespace == svc.namespace
                && svc.selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
        })
    }

    /// The one pod behind a service (the plan guarantees exactly one).
    pub fn backend<'a>(&'a self, svc: &'a Service) -> Result<&'a Pod, LabError> {
        let mut it = self.backends(svc);
        match (it.next(), it.next()) {
            (Some(p), None) => Ok(p),
            (None, _) => Err(LabError::Plan(format!("service {} selects no pod", svc.name))),
            (Some(_), Some(_)) => Err(LabError::Plan(format!(
                "service {} selects more than one pod (a ClusterIP is a secondary address of one pod)",
                svc.name
            ))),
        }
    }

    /// Checks what the network set-up relies on: unique names, addresses
    /// and interface names (at most 15 bytes, the kernel's limit), one
    /// backend per service, every pod on a known node inside its CIDR.
    pub fn validate(&self) -> Result<(), LabError> {
        let mut ips = std::collections::BTreeSet::new();
        let mut ifs = std::collections::BTreeSet::new();
        let mut netns = std::collections::BTreeSet::new();
        for n in &self.nodes {
            ips.insert(n.gateway());
            for name in [n.bridge(), n.router_port()] {
                check_ifname(&name)?;
                if !ifs.insert(name.clone()) {
                    return Err(LabError::Plan(format!("link {name} twice")));
                }
            }
        }
        for p in &self.pods {
            let node = self.node(&p.node)?;
            if p.ip.octets()[..3] != node.gateway().octets()[..3] {
                return Err(LabError::Plan(format!(
                    "{} outside {}",
                    p.name,
                    node.pod_cidr()
                )));
            }
            if !ips.insert(p.ip) {
                return Err(LabError::Plan(format!("address {} twice", p.ip)));
            }
            check_ifname(&p.host_if)?;
            if !ifs.insert(p.host_if.clone()) {
                return Err(LabError::Plan(format!("link {} twice", p.host_if)));
            }
            if !netns.insert(p.netns()) {
                return Err(LabError::Plan(format!("namespace {} twice", p.netns())));
            }
        }
        for s in &self.services {
            if !ips.insert(s.ip) {
                return Err(LabError::Plan(format!("address {} twice", s.ip)));
            }
            self.backend(s)?;
        }
        Ok(())
    }
}

fn check_ifname(name: &str) -> Result<(), LabError> {
    if name.is_empty() || name.len() > 15 || !name.starts_with(PREFIX) {
        return Err(LabError::Plan(format!(
            "link name `{name}` must start with {PREFIX} and have 1..=15 bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_plan_is_consistent() {
        let plan = Plan::standard();
        plan.validate().unwrap();
        assert_eq!(plan.nodes.len(), 3);
        assert!(plan.pods.len() >= 12);
        let namespaces: std::collections::BTreeSet<_> =
            plan.pods.iter().map(|p| p.namespace.as_str()).collect();
        assert!(namespaces.len() >= 3, "{namespaces:?}");
    }

    #[test]
    fn pod_addresses_follow_their_node() {
        let plan = Plan::standard();
        for p in &plan.pods {
            let node = plan.node(&p.node).unwrap();
            assert_eq!(p.ip.octets()[2], node.index + 1, "{}", p.name);
            assert!(p.host_if.starts_with(&format!("wml-{}", node.letter)));
        }
    }

    /// The calls the workloads make (client role → server service).
    const CALLS: &[(Role, &str)] = &[
        (Role::Frontend, "web"),
        (Role::Frontend, "catalog"),
        (Role::Frontend, "cart"),
        (Role::Frontend, "kube-dns"),
        (Role::Cart, "redis"),
        (Role::Cart, "kube-dns"),
        (Role::Recommendation, "catalog"),
        (Role::Recommendation, "redis"),
        (Role::Checkout, "kafka"),
        (Role::Shipping, "kafka"),
        (Role::Analytics, "kafka"),
        (Role::Tester, "web"),
        (Role::Tester, "catalog"),
        (Role::Tester, "redis"),
        (Role::Tester, "kafka"),
        (Role::Tester, "kube-dns"),
    ];

    #[test]
    fn steady_calls_are_among_the_calls_and_draw_every_protocol() {
        let plan = Plan::standard();
        for &(role, service, _) in STEADY_CALLS {
            assert!(CALLS.contains(&(role, service)), "{role:?} → {service}");
        }
        let edges = plan.steady_edges();
        let protocols: BTreeSet<&str> = edges.iter().map(|e| e.2).collect();
        assert_eq!(protocols.len(), 6, "{protocols:?}");
        assert!(edges.contains(&("frontend".into(), "kube-dns".into(), "DNS")));
        let pairs = plan.steady_node_pairs();
        assert!(pairs.iter().all(|(a, b)| a != b));
        assert!(pairs.contains(&("node-c".into(), "node-a".into())));
    }

    #[test]
    fn every_call_crosses_nodes() {
        let plan = Plan::standard();
        for (role, service) in CALLS {
            let client = plan.pod(*role).unwrap();
            let svc = plan.services.iter().find(|s| s.name == *service).unwrap();
            let server = plan.backend(svc).unwrap();
            assert_ne!(client.node, server.node, "{role:?} → {service}");
        }
    }

    #[test]
    fn validate_rejects_a_second_backend_and_long_names() {
        let mut plan = Plan::standard();
        let mut twin = plan.pod(Role::Web).unwrap().clone();
        twin.name = "web-twin".into();
        twin.ip = Ipv4Addr::new(10, 244, 2, 99);
        twin.host_if = "wml-b9".into();
        plan.pods.push(twin);
        assert!(matches!(plan.validate(), Err(LabError::Plan(m)) if m.contains("more than one")));

        let mut plan = Plan::standard();
        plan.pods[0].host_if = "wml-a-much-too-long".into();
        assert!(matches!(plan.validate(), Err(LabError::Plan(m)) if m.contains("15 bytes")));

        let mut plan = Plan::standard();
        plan.pods[1].ip = plan.pods[0].ip;
        assert!(plan.validate().is_err());
    }

    #[test]
    fn unknown_node_is_an_error() {
        assert!(matches!(
            Plan::standard().node("node-z"),
            Err(LabError::UnknownNode(_))
        ));
    }
}
