//! Exact counts of scripted traffic, per (client workload, server workload,
//! protocol), as the clients themselves observed them — an oracle that does
//! not depend on any dissector. Built from the JSON the tester's scripts
//! print (pure; tested with literal reports).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::error::LabError;
use super::plan::{Plan, Pod, Role, Service};

/// One side of a counted pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub namespace: String,
    /// Owner workload name (Deployment, StatefulSet).
    pub workload: String,
    pub workload_kind: String,
    pub pod: String,
    pub node: String,
    /// The pod's address.
    pub pod_ip: String,
    /// The address the client dialled (the ClusterIP for servers).
    pub ip: String,
    /// The service dialled (servers only).
    pub service: Option<String>,
}

/// The calls of one protocol between two workloads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairCount {
    pub client: Endpoint,
    pub server: Endpoint,
    /// The KFL2 protocol name: "HTTP", "HTTP/2", "gRPC", "DNS", "Redis", "Kafka".
    pub protocol: String,
    /// Request/response pairs (one entry each on the wire).
    pub calls: u64,
    /// Calls broken down: HTTP status, gRPC status name, DNS RCODE, Redis
    /// command verb, Kafka API name (as `kafka_api_key_name` spells it).
    pub by: BTreeMap<String, u64>,
    /// Calls the protocol calls failed: HTTP ≥ 500, gRPC status ≠ OK, DNS
    /// RCODE ≠ 0, Redis error replies, Kafka none expected.
    pub errors: u64,
}

/// Everything one scripted run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Calls asked per protocol.
    pub requested: u32,
    pub pairs: Vec<PairCount>,
    /// Kafka messages produced.
    pub kafka_messages: u64,
}

impl Counts {
    /// The pair for `protocol` towards the service called `service`.
    pub fn pair(&self, protocol: &str, service: &str) -> Option<&PairCount> {
        self.pairs
            .iter()
            .find(|p| p.protocol == protocol && p.server.service.as_deref() == Some(service))
    }

    /// As pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn endpoint(pod: &Pod, svc: Option<&Service>) -> Endpoint {
    Endpoint {
        namespace: pod.namespace.clone(),
        workload: pod.owner_name.clone(),
        workload_kind: pod.owner_kind.clone(),
        pod: pod.name.clone(),
        node: pod.node.clone(),
        pod_ip: pod.ip.to_string(),
        ip: svc.map_or(pod.ip, |s| s.ip).to_string(),
        service: svc.map(|s| s.name.clone()),
    }
}

fn map_u64(v: &Value, what: &str) -> Result<BTreeMap<String, u64>, LabError> {
    let obj = v
        .as_object()
        .ok_or_else(|| LabError::Report(format!("{what} is not an object")))?;
    obj.iter()
        .map(|(k, v)| {
            v.as_u64()
                .map(|n| (k.clone(), n))
                .ok_or_else(|| LabError::Report(format!("{what}.{k} is not a count")))
        })
        .collect()
}

fn count(v: &Value, path: &[&str]) -> Result<u64, LabError> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_u64)
        .ok_or_else(|| LabError::Report(format!("{} missing", path.join("."))))
}

fn field<'a>(v: &'a Value, path: &[&str]) -> Result<&'a Value, LabError> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .ok_or_else(|| LabError::Report(format!("{} missing", path.join("."))))
}

/// kafkajs's API name ("ApiVersions") as the wire crate names it ("API_VERSIONS").
pub fn kafka_api_name(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Combines the tester's reports: `python` from workload.py scripted,
/// `kafka` from kafka.js scripted.
pub fn from_reports(
    plan: &Plan,
    requested: u32,
    python: &str,
    kafka: &str,
) -> Result<Counts, LabError> {
    let py: Value = serde_json::from_str(python.trim())
        .map_err(|e| LabError::Report(format!("{e}: {python}")))?;
    let kf: Value = serde_json::from_str(kafka.trim())
        .map_err(|e| LabError::Report(format!("{e}: {kafka}")))?;
    let tester = plan
        .pod(Role::Tester)
        .ok_or_else(|| LabError::Plan("no tester pod".into()))?;
    let client = endpoint(tester, None);
    let server = |ns: &str, name: &str| -> Result<Endpoint, LabError> {
        let svc = plan
            .service(ns, name)
            .ok_or_else(|| LabError::Plan(format!("no service {ns}/{name}")))?;
        Ok(endpoint(plan.backend(svc)?, Some(svc)))
    };
    let status_errors = |by: &BTreeMap<String, u64>| -> u64 {
        by.iter()
            .filter(|(k, _)| k.parse::<u16>().is_ok_and(|c| c >= 500))
            .map(|(_, n)| n)
            .sum()
    };
    let mut pairs = Vec::new();
    for (key, proto) in [("http1", "HTTP"), ("http2", "HTTP/2")] {
        let by = map_u64(field(&py, &[key, "status"])?, key)?;
        pairs.push(PairCount {
            client: client.clone(),
            server: server("shop", "web")?,
            protocol: proto.into(),
            calls: by.values().sum(),
            errors: status_errors(&by),
            by,
        });
    }
    let by = map_u64(field(&py, &["grpc", "status"])?, "grpc")?;
    pairs.push(PairCount {
        client: client.clone(),
        server: server("shop", "catalog")?,
        protocol: "gRPC".into(),
        calls: count(&py, &["grpc", "calls"])?,
        errors: by.iter().filter(|(k, _)| *k != "OK").map(|(_, n)| n).sum(),
        by,
    });
    let by = map_u64(field(&py, &["dns", "rcode"])?, "dns")?;
    pairs.push(PairCount {
        client: client.clone(),
        server: server("kube-system", "kube-dns")?,
        protocol: "DNS".into(),
        // A query without an answer is no entry.
        calls: by
            .iter()
            .filter(|(k, _)| *k != "timeout")
            .map(|(_, n)| n)
            .sum(),
        errors: by
            .iter()
            .filter(|(k, _)| *k != "0" && *k != "timeout")
            .map(|(_, n)| n)
            .sum(),
        by,
    });
    pairs.push(PairCount {
        client: client.clone(),
        server: server("data", "redis")?,
        protocol: "Redis".into(),
        calls: count(&py, &["redis", "commands"])?,
        errors: count(&py, &["redis", "errors"])?,
        by: map_u64(field(&py, &["redis", "by_command"])?, "redis")?,
    });
    let by: BTreeMap<String, u64> = map_u64(field(&kf, &["requests"])?, "kafka")?
        .into_iter()
        .map(|(k, v)| (kafka_api_name(&k), v))
        .collect();
    pairs.push(PairCount {
        client,
        server: server("data", "kafka")?,
        protocol: "Kafka".into(),
        calls: by.values().sum(),
        errors: 0,
        by,
    });
    Ok(Counts {
        requested,
        pairs,
        kafka_messages: count(&kf, &["messages"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY: &str = r#"{"http1": {"requests": 5, "status": {"200": 2, "404": 1, "500": 1, "503": 1}},
        "http2": {"requests": 5, "status": {"200": 2, "404": 1, "500": 1, "503": 1}},
        "grpc": {"calls": 5, "status": {"OK": 4, "NOT_FOUND": 1}},
        "dns": {"queries": 5, "rcode": {"0": 3, "3": 1, "timeout": 1}},
        "redis": {"commands": 5, "by_command": {"SET": 1, "GET": 1, "INCR": 1, "HSET": 1, "LPUSH": 1}, "errors": 1}}"#;
    const KAFKA: &str =
        r#"{"messages": 5, "requests": {"ApiVersions": 2, "Metadata": 1, "Produce": 5}}"#;

    #[test]
    fn reports_become_pairs_with_errors_counted() {
        let c = from_reports(&Plan::standard(), 5, PY, KAFKA).unwrap();
        assert_eq!(c.pairs.len(), 6);
        let h1 = c.pair("HTTP", "web").unwrap();
        assert_eq!((h1.calls, h1.errors), (5, 2));
        assert_eq!(h1.client.workload, "tester");
        assert_eq!(h1.server.workload, "web");
        assert_eq!(h1.server.ip, "10.96.1.80");
        assert_ne!(h1.client.node, h1.server.node);
        let g = c.pair("gRPC", "catalog").unwrap();
        assert_eq!((g.calls, g.errors), (5, 1));
        let d = c.pair("DNS", "kube-dns").unwrap();
        assert_eq!((d.calls, d.errors), (4, 1));
        assert_eq!(c.pair("Redis", "redis").unwrap().errors, 1);
        let k = c.pair("Kafka", "kafka").unwrap();
        assert_eq!(k.calls, 8);
        assert_eq!(k.by.get("API_VERSIONS"), Some(&2));
        assert_eq!(k.by.get("PRODUCE"), Some(&5));
        assert_eq!(c.kafka_messages, 5);
        let json: Value = serde_json::from_str(&c.to_json()).unwrap();
        assert_eq!(json["pairs"][0]["protocol"], "HTTP");
    }

    #[test]
    fn broken_reports_are_errors_not_panics() {
        let plan = Plan::standard();
        assert!(from_reports(&plan, 5, "not json", KAFKA).is_err());
        assert!(from_reports(&plan, 5, "{}", KAFKA).is_err());
        assert!(from_reports(
            &plan,
            5,
            PY,
            r#"{"requests": {"Produce": -1}, "messages": 1}"#
        )
        .is_err());
        assert!(from_reports(&plan, 5, &PY.replace("\"OK\": 4", "\"OK\": \"x\""), KAFKA).is_err());
    }

    #[test]
    fn kafka_names_match_the_wire_spelling() {
        assert_eq!(kafka_api_name("ApiVersions"), "API_VERSIONS");
        assert_eq!(kafka_api_name("Produce"), "PRODUCE");
        assert_eq!(kafka_api_name("InitProducerId"), "INIT_PRODUCER_ID");
        let api_versions = wiremap_wire::Kafka {
            api_key: 18,
            ..Default::default()
        };
        assert_eq!(kafka_api_name("ApiVersions"), api_versions.api_key_name());
    }
}
