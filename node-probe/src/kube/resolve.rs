//! From cached API objects to an [`IdentityMap`]: a pure function of the
//! reflectors' contents, so the rules are tested without any server.
//!
//! * node InternalIP / ExternalIP → the node;
//! * ClusterIP(s) → the service;
//! * pod IP(s) → the pod: name, namespace, node, labels, its service (from
//!   EndpointSlices, else from service selectors) and its owner workload
//!   (a ReplicaSet named `<deployment>-<pod-template-hash>` is its
//!   Deployment; StatefulSet, DaemonSet, Job as they are);
//! * host-network pods → their node;
//! * an EndpointSlice address that is none of the above (a service without
//!   a selector) → external, tagged with that service;
//! * anything else → external (the map does not hold it).
//!
//! Two pods can claim one IP for a while (the old one terminating, or a
//! finished pod still listing its IP): finished pods (`Succeeded`,
//! `Failed`) never own an address, a pod not being deleted beats one that
//! is, and then the newest wins.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use wiremap_wire::{Identity, IdentityKind, NodeInfo};

use super::trim::SERVICE_NAME_LABEL;
use crate::identity::IdentityMap;

/// The label a Deployment's ReplicaSets and pods carry.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

fn name(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    m.name.as_deref().unwrap_or("")
}

fn namespace(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    m.namespace.as_deref().unwrap_or("")
}

/// The workload (kind, name) that owns `pod`, empty when it has no
/// controller.
pub fn owner_workload(pod: &Pod) -> (String, String) {
    let Some(owner) = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
    else {
        return (String::new(), String::new());
    };
    if owner.kind == "ReplicaSet" {
        let hash = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(POD_TEMPLATE_HASH))
            .filter(|h| !h.is_empty());
        if let Some(base) = hash
            .and_then(|h| owner.name.strip_suffix(h.as_str()))
            .and_then(|b| b.strip_suffix('-'))
            .filter(|b| !b.is_empty())
        {
            return ("Deployment".into(), base.into());
        }
    }
    (owner.kind.clone(), owner.name.clone())
}

/// Every IP of a pod (`status.podIPs`, and `status.podIP` if not listed).
pub fn pod_ips(pod: &Pod) -> Vec<IpAddr> {
    let Some(st) = &pod.status else {
        return Vec::new();
    };
    let mut ips: Vec<IpAddr> = st
        .pod_ips
        .iter()
        .flatten()
        .filter_map(|p| p.ip.parse().ok())
        .collect();
    if let Some(ip) = st.pod_ip.as_deref().and_then(|s| s.parse().ok()) {
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    ips
}

fn finished(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

fn host_network(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false)
}

fn node_name(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

/// Whether `a` should own an address both claim, over `b`.
fn outranks(a: &Pod, b: &Pod) -> bool {
    let key = |p: &Pod| {
        (
            p.metadata.deletion_timestamp.is_none(),
            p.metadata.creation_timestamp.as_ref().map(|t| t.0),
            // Deterministic last resort.
            std::cmp::Reverse((
                namespace(&p.metadata).to_string(),
                name(&p.metadata).to_string(),
            )),
        )
    };
    key(a) > key(b)
}

fn selects(selector: &BTreeMap<String, String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    !selector.is_empty()
        && labels.is_some_and(|l| selector.iter().all(|(k, v)| l.get(k) == Some(v)))
}

/// The one node all of a service's endpoints run on; empty when they span
/// several (or none is known).
fn single_node(nodes: Option<&BTreeSet<&str>>) -> String {
    match nodes {
        Some(n) if n.len() == 1 => n.iter().next().map(|s| s.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// Builds the identity map from the cached objects.
pub fn identities(
    pods: &[Arc<Pod>],
    services: &[Arc<Service>],
    slices: &[Arc<EndpointSlice>],
    nodes: &[Arc<Node>],
) -> IdentityMap {
    let mut map = IdentityMap::new();

    // Nodes.
    let mut nodes: Vec<&Node> = nodes.iter().map(|n| n.as_ref()).collect();
    nodes.sort_by(|a, b| name(&a.metadata).cmp(name(&b.metadata)));
    for n in nodes {
        let node = name(&n.metadata).to_string();
        let mut ips: Vec<IpAddr> = Vec::new();
        for a in n.status.iter().flat_map(|s| s.addresses.iter().flatten()) {
            if a.type_ != "InternalIP" && a.type_ != "ExternalIP" {
                continue;
            }
            let Ok(ip) = a.address.parse::<IpAddr>() else {
                continue;
            };
            if ips.contains(&ip) {
                continue;
            }
            ips.push(ip);
            let mut id = Identity::external(ip);
            id.kind = IdentityKind::NODE;
            id.name = node.clone();
            id.node = node.clone();
            map.insert(id);
        }
        map.add_node(NodeInfo { name: node, ips });
    }

    // The nodes each service's endpoints run on (EndpointSlice `nodeName`).
    let mut service_nodes: HashMap<(&str, &str), BTreeSet<&str>> = HashMap::new();
    for sl in slices {
        let Some(svc) = sl
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))
        else {
            continue;
        };
        let nodes = service_nodes
            .entry((namespace(&sl.metadata), svc.as_str()))
            .or_default();
        nodes.extend(sl.endpoints.iter().filter_map(|ep| ep.node_name.as_deref()));
    }

    // Services by ClusterIP.
    let mut services: Vec<&Service> = services.iter().map(|s| s.as_ref()).collect();
    services.sort_by(|a, b| {
        (namespace(&a.metadata), name(&a.metadata))
            .cmp(&(namespace(&b.metadata), name(&b.metadata)))
    });
    for s in &services {
        let Some(spec) = &s.spec else { continue };
        let mut ips: Vec<&str> = spec
            .cluster_ips
            .iter()
            .flatten()
            .map(|s| s.as_str())
            .collect();
        if let Some(ip) = spec.cluster_ip.as_deref() {
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        for ip in ips.iter().filter_map(|s| s.parse::<IpAddr>().ok()) {
            let mut id = Identity::external(ip);
            id.kind = IdentityKind::SERVICE;
            id.name = name(&s.metadata).into();
            id.namespace = namespace(&s.metadata).into();
            id.service = id.name.clone();
            id.service_namespace = id.namespace.clone();
            id.node = single_node(service_nodes.get(&(id.namespace.as_str(), id.name.as_str())));
            map.insert(id);
        }
    }

    // Which service each pod backs, from EndpointSlices; addresses of
    // selector-less services.
    let mut pod_service: HashMap<(&str, &str), &str> = HashMap::new();
    let mut other_endpoints: Vec<(IpAddr, &str, &str)> = Vec::new();
    for sl in slices {
        let Some(svc) = sl
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))
        else {
            continue;
        };
        let ns = namespace(&sl.metadata);
        for ep in &sl.endpoints {
            let pod = ep
                .target_ref
                .as_ref()
                .filter(|t| t.kind.as_deref() == Some("Pod"))
                .and_then(|t| t.name.as_deref());
            match pod {
                Some(pod) => {
                    let pod_ns = ep
                        .target_ref
                        .as_ref()
                        .and_then(|t| t.namespace.as_deref())
                        .unwrap_or(ns);
                    let e = pod_service.entry((pod_ns, pod)).or_insert(svc.as_str());
                    if svc.as_str() < *e {
                        *e = svc.as_str();
                    }
                }
                None => {
                    for ip in ep.addresses.iter().filter_map(|a| a.parse().ok()) {
                        other_endpoints.push((ip, ns, svc.as_str()));
                    }
                }
            }
        }
    }

    // Pods: one owner per address.
    let mut owner_of_ip: HashMap<IpAddr, &Pod> = HashMap::new();
    let mut host_pods: Vec<&Pod> = Vec::new();
    let mut pods: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
    pods.sort_by(|a, b| {
        (namespace(&a.metadata), name(&a.metadata))
            .cmp(&(namespace(&b.metadata), name(&b.metadata)))
    });
    for p in &pods {
        if finished(p) {
            continue;
        }
        if host_network(p) {
            host_pods.push(p);
            continue;
        }
        for ip in pod_ips(p) {
            match owner_of_ip.get(&ip) {
                Some(cur) if !outranks(p, cur) => {}
                _ => {
                    owner_of_ip.insert(ip, p);
                }
            }
        }
    }
    for p in &pods {
        let ips: Vec<IpAddr> = pod_ips(p)
            .into_iter()
            .filter(|ip| owner_of_ip.get(ip).is_some_and(|o| std::ptr::eq(*o, *p)))
            .collect();
        if ips.is_empty() {
            continue;
        }
        let ns = namespace(&p.metadata);
        let pname = name(&p.metadata);
        let service = pod_service.get(&(ns, pname)).copied().or_else(|| {
            services
                .iter()
                .find(|s| {
                    namespace(&s.metadata) == ns
                        && s.spec
                            .as_ref()
                            .and_then(|sp| sp.selector.as_ref())
                            .is_some_and(|sel| selects(sel, p.metadata.labels.as_ref()))
                })
                .map(|s| name(&s.metadata))
        });
        let (workload_kind, workload) = owner_workload(p);
        let labels: Vec<(String, String)> = p
            .metadata
            .labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for ip in ips {
            map.insert(Identity {
                kind: IdentityKind::POD,
                ip,
                name: pname.into(),
                namespace: ns.into(),
                node: node_name(p).into(),
                service: service.unwrap_or("").into(),
                service_namespace: if service.is_some() {
                    ns.into()
                } else {
                    String::new()
                },
                workload: workload.clone(),
                workload_kind: workload_kind.clone(),
                labels: labels.clone(),
                dns: String::new(),
            });
        }
    }

    // Host-network pods share their node's addresses; a node not (yet)
    // listed is still known by name this way.
    for p in host_pods {
        let node = node_name(p);
        if node.is_empty() {
            continue;
        }
        for ip in pod_ips(p) {
            if map.get(ip).is_none() {
                let mut id = Identity::external(ip);
                id.kind = IdentityKind::NODE;
                id.name = node.into();
                id.node = node.into();
                map.insert(id);
            }
        }
    }

    // Endpoints of services without a selector: outside the cluster, but
    // worth naming.
    for (ip, ns, svc) in other_endpoints {
        if map.get(ip).is_none() {
            let mut id = Identity::external(ip);
            id.service = svc.into();
            id.service_namespace = ns.into();
            map.insert(id);
        }
    }
    map
}
