//! Trimming API objects before the reflectors cache them: a cached object
//! keeps only the fields [`super::resolve`] reads. A node with thousands of
//! pods then caches a few hundred bytes per pod instead of many kilobytes
//! (managed fields, annotations, container specs and statuses).

use k8s_openapi::api::core::v1::{Node, NodeStatus, Pod, PodSpec, PodStatus, Service, ServiceSpec};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The label an EndpointSlice names its Service with.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Keeps name, namespace, resourceVersion, timestamps; labels and owner
/// references only when asked.
fn trim_meta(m: &mut ObjectMeta, keep_labels: bool, keep_owners: bool) {
    *m = ObjectMeta {
        name: m.name.take(),
        namespace: m.namespace.take(),
        resource_version: m.resource_version.take(),
        uid: m.uid.take(),
        creation_timestamp: m.creation_timestamp.take(),
        deletion_timestamp: m.deletion_timestamp.take(),
        labels: if keep_labels { m.labels.take() } else { None },
        owner_references: if keep_owners {
            m.owner_references.take().map(|refs| {
                refs.into_iter()
                    .filter(|r| r.controller == Some(true))
                    .collect()
            })
        } else {
            None
        },
        ..ObjectMeta::default()
    };
}

/// A pod keeps its labels, controller reference, node, host-network flag,
/// phase and IPs.
pub fn pod(p: &mut Pod) {
    trim_meta(&mut p.metadata, true, true);
    p.spec = p.spec.take().map(|s| PodSpec {
        node_name: s.node_name,
        host_network: s.host_network,
        ..PodSpec::default()
    });
    p.status = p.status.take().map(|s| PodStatus {
        phase: s.phase,
        pod_ip: s.pod_ip,
        pod_ips: s.pod_ips,
        ..PodStatus::default()
    });
}

/// A service keeps its ClusterIPs and selector.
pub fn service(s: &mut Service) {
    trim_meta(&mut s.metadata, false, false);
    s.spec = s.spec.take().map(|sp| ServiceSpec {
        cluster_ip: sp.cluster_ip,
        cluster_ips: sp.cluster_ips,
        selector: sp.selector,
        type_: sp.type_,
        ..ServiceSpec::default()
    });
    s.status = None;
}

/// An EndpointSlice keeps its service-name label and, per endpoint, the
/// addresses and the target reference.
pub fn endpoint_slice(e: &mut EndpointSlice) {
    let service = e
        .metadata
        .labels
        .as_mut()
        .and_then(|l| l.remove(SERVICE_NAME_LABEL));
    trim_meta(&mut e.metadata, false, false);
    if let Some(s) = service {
        e.metadata.labels = Some([(SERVICE_NAME_LABEL.to_string(), s)].into());
    }
    e.ports = None;
    for ep in &mut e.endpoints {
        ep.conditions = None;
        ep.deprecated_topology = None;
        ep.hints = None;
        ep.hostname = None;
        ep.zone = None;
        if let Some(t) = &mut ep.target_ref {
            t.api_version = None;
            t.field_path = None;
            t.resource_version = None;
            t.uid = None;
        }
    }
}

/// A node keeps its name and addresses.
pub fn node(n: &mut Node) {
    trim_meta(&mut n.metadata, false, false);
    n.spec = None;
    n.status = n.status.take().map(|s| NodeStatus {
        addresses: s.addresses,
        ..NodeStatus::default()
    });
}
