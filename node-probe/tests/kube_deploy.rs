//! Validates `deploy/` as far as this machine allows (no cluster, no
//! container runtime): every YAML document parses, round-trips through the
//! typed Kubernetes API structs without losing a field (a misspelt field
//! would vanish), and says what it must: read-only RBAC for exactly the
//! resources the probe watches, a hostNetwork DaemonSet with NET_RAW and
//! NET_ADMIN only, arguments the probe binary accepts, a relay whose
//! environment variables the relay reads, and a Dockerfile whose stages and
//! packages exist.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Container, Namespace, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn deploy() -> PathBuf {
    repo().join("deploy")
}

/// Every YAML document of every file in deploy/, with its file name.
fn documents() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy())
        .expect("deploy/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        for doc in serde_norway::Deserializer::from_str(&text) {
            let v = Value::deserialize(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
            if !v.is_null() {
                docs.push((name.clone(), v));
            }
        }
    }
    docs
}

/// Drops nulls, so "absent" and "null" compare equal.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        v => v.clone(),
    }
}

/// Parses `v` as `T` and checks that serializing it back gives `v`: no
/// field unknown to the API (a typo) slips through.
fn typed<T: DeserializeOwned + Serialize>(file: &str, v: &Value) -> T {
    let t: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{file}: {} does not parse: {e}", v["kind"]));
    let back = serde_json::to_value(&t).unwrap();
    assert_eq!(
        normalize(&back),
        normalize(v),
        "{file}: {} has fields the API does not know (or wrong types)",
        v["kind"]
    );
    t
}

fn one<'a>(docs: &'a [(String, Value)], kind: &str) -> Vec<&'a (String, Value)> {
    docs.iter().filter(|(_, v)| v["kind"] == kind).collect()
}

#[test]
fn every_document_is_a_known_kind_and_round_trips() {
    let docs = documents();
    let mut kinds = BTreeSet::new();
    for (file, v) in &docs {
        let kind = v["kind"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: no kind"));
        let api = v["apiVersion"].as_str().unwrap_or("");
        let want = match kind {
            "Namespace" | "ServiceAccount" | "Service" => "v1",
            "ClusterRole" | "ClusterRoleBinding" => "rbac.authorization.k8s.io/v1",
            "DaemonSet" | "Deployment" => "apps/v1",
            "Kustomization" => "kustomize.config.k8s.io/v1beta1",
            other => panic!("{file}: unexpected kind {other}"),
        };
        assert_eq!(api, want, "{file}: apiVersion of {kind}");
        match kind {
            "Namespace" => drop(typed::<Namespace>(file, v)),
            "ServiceAccount" => drop(typed::<ServiceAccount>(file, v)),
            "Service" => drop(typed::<Service>(file, v)),
            "ClusterRole" => drop(typed::<ClusterRole>(file, v)),
            "ClusterRoleBinding" => drop(typed::<ClusterRoleBinding>(file, v)),
            "DaemonSet" => drop(typed::<DaemonSet>(file, v)),
            "Deployment" => drop(typed::<Deployment>(file, v)),
            _ => {}
        }
        if kind != "Kustomization" {
            let name = v["metadata"]["name"].as_str().unwrap_or("");
            assert!(!name.is_empty(), "{file}: {kind} without a name");
            let cluster_scoped = matches!(kind, "Namespace" | "ClusterRole" | "ClusterRoleBinding");
            assert_eq!(
                v["metadata"]["namespace"].as_str().is_some(),
                !cluster_scoped,
                "{file}: {kind} {name} namespace"
            );
            if !cluster_scoped {
                assert_eq!(
                    v["metadata"]["namespace"], "wiremap",
                    "{file}: {kind} {name}"
                );
            }
        }
        kinds.insert(kind.to_string());
    }
    for k in [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "DaemonSet",
        "Deployment",
        "Service",
        "Kustomization",
    ] {
        assert!(kinds.contains(k), "deploy/ has no {k}");
    }

    // The kustomization lists every manifest, and only existing ones.
    let (_, k) = one(&docs, "Kustomization")[0];
    let listed: BTreeSet<String> = k["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let manifests: BTreeSet<String> = docs
        .iter()
        .filter(|(_, v)| v["kind"] != "Kustomization")
        .map(|(f, _)| f.clone())
        .collect();
    assert_eq!(listed, manifests);
}

#[test]
fn rbac_is_read_only_for_what_the_probe_watches() {
    let docs = documents();
    let roles = one(&docs, "ClusterRole");
    assert_eq!(roles.len(), 1);
    let role: ClusterRole = typed(&roles[0].0, &roles[0].1);
    let mut granted = BTreeSet::new();
    for rule in role.rules.iter().flatten() {
        let verbs: BTreeSet<&str> = rule.verbs.iter().map(|v| v.as_str()).collect();
        assert_eq!(verbs, BTreeSet::from(["get", "list", "watch"]), "{rule:?}");
        assert!(rule.non_resource_urls.is_none() && rule.resource_names.is_none());
        for g in rule.api_groups.iter().flatten() {
            for r in rule.resources.iter().flatten() {
                assert!(g != "*" && r != "*", "no wildcards: {rule:?}");
                granted.insert((g.clone(), r.clone()));
            }
        }
    }
    let want: BTreeSet<(String, String)> = [
        ("", "pods"),
        ("", "services"),
        ("", "nodes"),
        ("discovery.k8s.io", "endpointslices"),
    ]
    .into_iter()
    .map(|(g, r)| (g.to_string(), r.to_string()))
    .collect();
    assert_eq!(granted, want);

    // The binding gives that role to the DaemonSet's service account.
    let (bf, bv) = one(&docs, "ClusterRoleBinding")[0];
    let binding: ClusterRoleBinding = typed(bf, bv);
    assert_eq!(binding.role_ref.kind, "ClusterRole");
    assert_eq!(Some(&binding.role_ref.name), role.metadata.name.as_ref());
    let (df, dv) = one(&docs, "DaemonSet")[0];
    let ds: DaemonSet = typed(df, dv);
    let pod = ds.spec.unwrap().template.spec.unwrap();
    let sa = pod.service_account_name.expect("serviceAccountName");
    let subjects = binding.subjects.unwrap();
    assert!(subjects.iter().any(|s| s.kind == "ServiceAccount"
        && s.name == sa
        && s.namespace.as_deref() == ds.metadata.namespace.as_deref()));
    assert!(one(&docs, "ServiceAccount")
        .iter()
        .any(|(_, v)| v["metadata"]["name"] == sa.as_str()));
}

fn probe_container(docs: &[(String, Value)]) -> (DaemonSet, Container) {
    let ds = one(docs, "DaemonSet");
    assert_eq!(ds.len(), 1);
    let ds: DaemonSet = typed(&ds[0].0, &ds[0].1);
    let pod = ds.spec.clone().unwrap().template.spec.unwrap();
    assert_eq!(pod.containers.len(), 1);
    assert!(pod.init_containers.is_none());
    (ds, pod.containers[0].clone())
}

#[test]
fn daemonset_has_host_network_and_only_two_capabilities() {
    let docs = documents();
    let (ds, c) = probe_container(&docs);
    let spec = ds.spec.unwrap();
    let pod = spec.template.spec.unwrap();
    assert_eq!(pod.host_network, Some(true));
    assert_eq!(pod.dns_policy.as_deref(), Some("ClusterFirstWithHostNet"));
    assert!(pod.host_pid.is_none_or(|v| !v) && pod.host_ipc.is_none_or(|v| !v));
    // Selector matches the template.
    let labels = spec.template.metadata.unwrap().labels.unwrap();
    for (k, v) in spec.selector.match_labels.unwrap() {
        assert_eq!(labels.get(&k), Some(&v));
    }
    let sc = c.security_context.expect("securityContext");
    let caps = sc.capabilities.expect("capabilities");
    let add: BTreeSet<&str> = caps.add.iter().flatten().map(|s| s.as_str()).collect();
    assert_eq!(add, BTreeSet::from(["NET_ADMIN", "NET_RAW"]));
    assert_eq!(caps.drop, Some(vec!["ALL".to_string()]));
    assert_ne!(sc.privileged, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    let res = c.resources.expect("resources");
    for key in ["cpu", "memory"] {
        assert!(
            res.requests.as_ref().is_some_and(|r| r.contains_key(key)),
            "request {key}"
        );
    }
    assert!(
        res.limits
            .as_ref()
            .is_some_and(|r| r.contains_key("memory")),
        "memory limit"
    );
    // The node name comes from the downward API.
    let env = c.env.unwrap();
    let node = env
        .iter()
        .find(|e| e.name == "WIREMAP_NODE")
        .expect("WIREMAP_NODE");
    assert_eq!(
        node.value_from
            .as_ref()
            .and_then(|v| v.field_ref.as_ref())
            .map(|f| f.field_path.as_str()),
        Some("spec.nodeName")
    );
    // The image tag is this version.
    assert_eq!(
        c.image.as_deref(),
        Some(format!("wiremap-probe:{}", env!("CARGO_PKG_VERSION")).as_str())
    );
}

#[test]
fn daemonset_args_are_accepted_by_the_probe() {
    let docs = documents();
    let (_, c) = probe_container(&docs);
    assert!(c.command.is_none(), "the image's entrypoint is the probe");
    let args = c.args.unwrap();
    // clap checks every flag and value before it reaches --help.
    let out = Command::new(env!("CARGO_BIN_EXE_wiremap-probe"))
        .args(&args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And a flag the probe does not know is refused the same way (so the
    // check above can fail).
    let out = Command::new(env!("CARGO_BIN_EXE_wiremap-probe"))
        .args(&args)
        .args(["--no-such-flag", "--help"])
        .output()
        .unwrap();
    assert!(!out.status.success());

    let arg = |name: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(&format!("--{name}=")))
            .unwrap_or_else(|| panic!("--{name} in {args:?}"))
            .to_string()
    };
    assert_eq!(arg("identity"), "kubernetes");
    // The relay URL names the relay's Service.
    let svc = one(&docs, "Service")
        .into_iter()
        .find(|(_, v)| v["metadata"]["name"] == "wiremap-relay")
        .expect("relay Service");
    let svc: Service = typed(&svc.0, &svc.1);
    let port = svc.spec.unwrap().ports.unwrap()[0].port;
    assert_eq!(
        arg("relay"),
        format!(
            "ws://{}.{}.svc:{port}/ws/probe",
            svc.metadata.name.unwrap(),
            svc.metadata.namespace.unwrap()
        )
    );
    // The metrics port is the declared container port.
    let metrics_port: i32 = arg("metrics-listen")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(c
        .ports
        .unwrap()
        .iter()
        .any(|p| p.container_port == metrics_port));
}

#[test]
fn relay_reads_its_environment_and_its_service_selects_it() {
    let docs = documents();
    let dep = one(&docs, "Deployment");
    assert_eq!(dep.len(), 1);
    let dep: Deployment = typed(&dep[0].0, &dep[0].1);
    let spec = dep.spec.unwrap();
    let labels = spec.template.metadata.unwrap().labels.unwrap();
    let pod = spec.template.spec.unwrap();
    let c = &pod.containers[0];
    let config = std::fs::read_to_string(repo().join("relay/src/config.rs")).unwrap();
    for e in c.env.iter().flatten() {
        assert!(
            config.contains(&format!("env = \"{}\"", e.name)),
            "the relay reads no {}",
            e.name
        );
    }
    let sc = c.security_context.as_ref().unwrap();
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(
        sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
        Some(vec!["ALL".to_string()])
    );
    assert!(sc.capabilities.as_ref().unwrap().add.is_none());
    assert!(c.resources.as_ref().is_some_and(|r| r.limits.is_some()));
    // Both use the same token Secret.
    let secret_of = |env: &[k8s_openapi::api::core::v1::EnvVar], name: &str| {
        env.iter()
            .find(|e| e.name == name)
            .and_then(|e| e.value_from.as_ref()?.secret_key_ref.clone())
            .map(|s| (s.name, s.key))
    };
    let (_, probe) = probe_container(&docs);
    assert_eq!(
        secret_of(c.env.as_deref().unwrap(), "WIREMAP_RELAY_TOKEN"),
        secret_of(probe.env.as_deref().unwrap(), "WIREMAP_TOKEN")
    );
    assert!(secret_of(c.env.as_deref().unwrap(), "WIREMAP_RELAY_TOKEN").is_some());

    let svc = one(&docs, "Service")[0];
    let svc: Service = typed(&svc.0, &svc.1);
    let s = svc.spec.unwrap();
    for (k, v) in s.selector.unwrap() {
        assert_eq!(
            labels.get(&k),
            Some(&v),
            "the relay Service selects the relay"
        );
    }
    let port_names: Vec<String> = c
        .ports
        .iter()
        .flatten()
        .filter_map(|p| p.name.clone())
        .collect();
    for p in s.ports.unwrap() {
        if let Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(n)) =
            p.target_port
        {
            assert!(port_names.contains(&n), "targetPort {n}");
        }
    }
}

#[test]
fn dockerfile_stages_and_packages_exist() {
    let text = std::fs::read_to_string(deploy().join("Dockerfile")).unwrap();
    let mut stages = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("FROM ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            assert!(
                words.len() == 3 && words[1].eq_ignore_ascii_case("AS"),
                "{line}"
            );
            stages.push(words[2].to_string());
        }
        if let Some(pos) = line.find("--from=") {
            let stage = line[pos + 7..].split_whitespace().next().unwrap();
            assert!(
                stages.iter().any(|s| s == stage),
                "COPY from unknown stage {stage}"
            );
        }
    }
    for s in ["builder", "probe", "relay"] {
        assert!(stages.iter().any(|x| x == s), "stage {s}");
    }
    // The packages built exist, with those binaries.
    for (pkg, manifest, bin) in [
        ("wiremap-probe", "node-probe/Cargo.toml", "wiremap-probe"),
        ("wiremap-relay", "relay/Cargo.toml", "wiremap-relay"),
    ] {
        assert!(text.contains(&format!("-p {pkg}")), "builds {pkg}");
        assert!(
            text.contains(&format!("target/release/{bin}")),
            "copies {bin}"
        );
        let m = std::fs::read_to_string(repo().join(manifest)).unwrap();
        assert!(
            m.contains(&format!("name = \"{pkg}\"")),
            "{manifest} is {pkg}"
        );
    }
    // Pinned tools as TOOLCHAIN.md says, and no OpenSSL anywhere.
    assert!(text.contains("trunk@0.21.14"));
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).unwrap();
    assert!(text.contains("wasm-bindgen-cli --version 0.2.130"));
    assert!(lock.contains("name = \"wasm-bindgen\"\nversion = \"0.2.130\""));
    assert!(
        !lock.contains("name = \"openssl-sys\""),
        "OpenSSL crept into the lockfile"
    );
}
