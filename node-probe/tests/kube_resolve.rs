//! The resolver and the trimming on their own: trimming an object before it
//! is cached changes no answer, and keeps a small part of it. The inputs
//! are the recorded-format API lists of `tests/fixtures/k8s/` (no API
//! server can run here; see that folder's README).

mod kube_api;

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::List;
use serde::de::DeserializeOwned;
use wiremap_probe::kube::{resolve, trim};

fn items<T: DeserializeOwned + k8s_openapi::ListableResource>(file: &str) -> Vec<T> {
    serde_json::from_str::<List<T>>(&kube_api::fixture(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .items
}

fn arcs<T>(v: Vec<T>) -> Vec<Arc<T>> {
    v.into_iter().map(Arc::new).collect()
}

fn trimmed<T>(mut v: Vec<T>, f: fn(&mut T)) -> Vec<T> {
    v.iter_mut().for_each(f);
    v
}

#[test]
fn trimming_changes_no_answer() {
    let services: Vec<Service> = items("services-list.json");
    let slices: Vec<EndpointSlice> = items("endpointslices-list.json");
    let nodes: Vec<Node> = items("nodes-list.json");
    for pods_file in ["pods-list-1.json", "pods-list-2.json"] {
        let pods: Vec<Pod> = items(pods_file);
        let full = resolve::identities(
            &arcs(pods.clone()),
            &arcs(services.clone()),
            &arcs(slices.clone()),
            &arcs(nodes.clone()),
        );
        let small = resolve::identities(
            &arcs(trimmed(pods, trim::pod)),
            &arcs(trimmed(services.clone(), trim::service)),
            &arcs(trimmed(slices.clone(), trim::endpoint_slice)),
            &arcs(trimmed(nodes.clone(), trim::node)),
        );
        assert!(full.len() > 10, "{pods_file}: {}", full.len());
        assert_eq!(full, small, "{pods_file}");
    }
}

#[test]
fn trimmed_objects_are_a_small_part_of_the_originals() {
    let pods: Vec<Pod> = items("pods-list-1.json");
    let before = serde_json::to_vec(&pods).unwrap().len();
    let after = serde_json::to_vec(&trimmed(pods, trim::pod)).unwrap().len();
    assert!(after * 4 < before, "pods: {after} of {before} bytes kept");
    let nodes: Vec<Node> = items("nodes-list.json");
    let before = serde_json::to_vec(&nodes).unwrap().len();
    let after = serde_json::to_vec(&trimmed(nodes, trim::node))
        .unwrap()
        .len();
    assert!(after * 4 < before, "nodes: {after} of {before} bytes kept");
}

#[test]
fn owner_workload_rules() {
    let pod = |owner: Option<(&str, &str)>, hash: Option<&str>| {
        let mut v = serde_json::json!({"metadata": {"name": "p", "namespace": "n", "labels": {}}});
        if let Some(h) = hash {
            v["metadata"]["labels"]["pod-template-hash"] = h.into();
        }
        if let Some((kind, name)) = owner {
            v["metadata"]["ownerReferences"] = serde_json::json!([
                {"apiVersion": "apps/v1", "kind": "Pod", "name": "not-the-controller", "uid": "0"},
                {"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": "1", "controller": true}
            ]);
        }
        serde_json::from_value::<Pod>(v).unwrap()
    };
    let o = |k: &str, n: &str| (k.to_string(), n.to_string());
    assert_eq!(
        resolve::owner_workload(&pod(
            Some(("ReplicaSet", "web-7c9d8f5b6d")),
            Some("7c9d8f5b6d")
        )),
        o("Deployment", "web")
    );
    // A hash that is not the suffix, or no hash: the ReplicaSet itself.
    assert_eq!(
        resolve::owner_workload(&pod(Some(("ReplicaSet", "web-abc")), Some("7c9d8f5b6d"))),
        o("ReplicaSet", "web-abc")
    );
    assert_eq!(
        resolve::owner_workload(&pod(Some(("ReplicaSet", "web-abc")), None)),
        o("ReplicaSet", "web-abc")
    );
    // The whole name is the hash: nothing left to be a Deployment name.
    assert_eq!(
        resolve::owner_workload(&pod(Some(("ReplicaSet", "-abc")), Some("abc"))),
        o("ReplicaSet", "-abc")
    );
    for kind in ["StatefulSet", "DaemonSet", "Job"] {
        assert_eq!(
            resolve::owner_workload(&pod(Some((kind, "x")), Some("x"))),
            o(kind, "x")
        );
    }
    assert_eq!(resolve::owner_workload(&pod(None, None)), o("", ""));
}
