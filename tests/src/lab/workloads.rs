//! What runs in each pod: the command line of every server and client, and
//! the configuration files they read (nginx.conf, the web content, dnsmasq's
//! records). Pure: paths come in, argument vectors and file contents go out.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::plan::{Plan, Pod, Role, CLUSTER_DOMAIN};

/// Where the installed tools are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolPaths {
    /// The Python with grpcio (the system one, from apt).
    pub python: PathBuf,
    /// The Tansu broker binary.
    pub tansu: PathBuf,
    /// The `kafkajs` package folder.
    pub kafkajs: PathBuf,
    pub node: PathBuf,
}

/// Where the lab's own files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePaths {
    pub root: PathBuf,
}

impl StatePaths {
    pub fn scripts(&self) -> PathBuf {
        self.root.join("scripts")
    }
    /// Python modules generated from catalog.proto.
    pub fn generated(&self) -> PathBuf {
        self.root.join("gen")
    }
    pub fn www(&self) -> PathBuf {
        self.root.join("www")
    }
    pub fn web(&self) -> PathBuf {
        self.root.join("web")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn topology(&self) -> PathBuf {
        self.root.join("topology.yaml")
    }
    fn script(&self, name: &str) -> String {
        self.scripts().join(name).display().to_string()
    }
}

/// The Kafka topic the shop's checkout produces to.
pub const ORDERS_TOPIC: &str = "orders";
/// The Kafka topic scripted traffic produces to.
pub const SCRIPTED_TOPIC: &str = "qa-orders";

/// One process to start in a pod's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub pod: String,
    pub netns: String,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Log file name under the logs folder.
    pub log: String,
    /// A server (started first, waited for) rather than a client loop.
    pub server: bool,
}

fn s<T: AsRef<std::ffi::OsStr> + ?Sized>(p: &T) -> String {
    Path::new(p).display().to_string()
}

fn service_ip(plan: &Plan, name: &str) -> String {
    plan.services
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.ip.to_string())
        .unwrap_or_default()
}

/// The process a pod runs, if any (the tester idles until scripted traffic).
pub fn launch(plan: &Plan, pod: &Pod, tools: &ToolPaths, state: &StatePaths) -> Option<Launch> {
    let py = s(&tools.python);
    let gen = s(&state.generated());
    let kafka = format!("{}:9092", service_ip(plan, "kafka"));
    let node = s(&tools.node);
    let (argv, server): (Vec<String>, bool) = match pod.role {
        Role::Web => (
            vec![
                "nginx".into(),
                "-c".into(),
                s(&state.web().join("nginx.conf")),
            ],
            true,
        ),
        Role::Catalog => (
            vec![py, state.script("catalog_server.py"), gen, "50051".into()],
            true,
        ),
        Role::Cart => (
            vec![
                py,
                state.script("workload.py"),
                "cart".into(),
                gen,
                "8080".into(),
            ],
            true,
        ),
        Role::Dns => (dnsmasq_args(plan, pod, state), true),
        Role::Redis => (
            [
                "redis-server",
                "--bind",
                "0.0.0.0",
                "--port",
                "6379",
                "--protected-mode",
                "no",
            ]
            .iter()
            .map(|a| a.to_string())
            .chain(
                ["--save", "", "--appendonly", "no", "--daemonize", "no"]
                    .iter()
                    .map(|a| a.to_string()),
            )
            .collect(),
            true,
        ),
        Role::Kafka => (
            vec![
                s(&tools.tansu),
                "broker".into(),
                "--listener-url".into(),
                "tcp://0.0.0.0:9092".into(),
                "--advertised-listener-url".into(),
                format!("tcp://{kafka}"),
                "--storage-engine".into(),
                "memory://tansu/".into(),
            ],
            true,
        ),
        Role::Frontend => (
            vec![py, state.script("workload.py"), "frontend".into(), gen],
            false,
        ),
        Role::Recommendation => (
            vec![
                py,
                state.script("workload.py"),
                "recommendation".into(),
                gen,
            ],
            false,
        ),
        Role::Checkout => (
            vec![
                node,
                state.script("kafka.js"),
                "produce".into(),
                kafka,
                ORDERS_TOPIC.into(),
            ],
            false,
        ),
        Role::Shipping | Role::Analytics => (
            vec![
                node,
                state.script("kafka.js"),
                "consume".into(),
                kafka,
                ORDERS_TOPIC.into(),
                pod.owner_name.clone(),
            ],
            false,
        ),
        Role::Tester => return None,
    };
    Some(Launch {
        pod: pod.name.clone(),
        netns: pod.netns(),
        argv,
        env: vec![("KAFKAJS".into(), s(&tools.kafkajs))],
        log: format!("{}.{}.log", pod.namespace, pod.name),
        server,
    })
}

/// dnsmasq as the cluster DNS: a record per service, NXDOMAIN for every
/// other name in the cluster domain and outside it; no upstream servers.
pub fn dnsmasq_args(plan: &Plan, pod: &Pod, state: &StatePaths) -> Vec<String> {
    let mut a: Vec<String> = [
        "dnsmasq",
        "--keep-in-foreground",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--user=root",
        "--cache-size=1000",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    // An empty file of our own rather than /dev/null: every option is on
    // the command line, and a broken /dev/null cannot feed it options.
    a.push(format!(
        "--conf-file={}",
        state.web().join("dnsmasq.conf").display()
    ));
    a.push(format!(
        "--pid-file={}",
        state.root.join("dnsmasq.pid").display()
    ));
    a.push(format!("--listen-address={}", pod.ip));
    for svc in &plan.services {
        if plan.backend(svc).is_ok_and(|b| b.name == pod.name) {
            a.push(format!("--listen-address={}", svc.ip));
        }
    }
    a.push(format!("--local=/{CLUSTER_DOMAIN}/"));
    a.push("--address=/#/".into());
    for svc in &plan.services {
        a.push(format!("--host-record={},{}", svc.fqdn(), svc.ip));
    }
    a
}

/// nginx: HTTP/1.1 on 80 and HTTP/2 without TLS (prior knowledge) on 8080,
/// with locations that fail on purpose.
pub fn nginx_conf(state: &StatePaths) -> String {
    let web = state.web();
    let www = state.www();
    let mut c = String::new();
    let _ = writeln!(c, "user root;\nworker_processes 1;\ndaemon off;");
    let _ = writeln!(c, "pid {};", web.join("nginx.pid").display());
    let _ = writeln!(c, "error_log {} warn;", web.join("error.log").display());
    let _ = writeln!(c, "events {{ worker_connections 1024; }}");
    let _ = writeln!(
        c,
        "http {{\n  access_log off;\n  log_not_found off;\n  keepalive_requests 100000;"
    );
    let _ = writeln!(c, "  default_type application/octet-stream;");
    let _ = writeln!(c, "  types {{ text/html html; application/json json; }}");
    for (dir, name) in [
        ("client_body_temp_path", "body"),
        ("proxy_temp_path", "proxy"),
        ("fastcgi_temp_path", "fastcgi"),
        ("uwsgi_temp_path", "uwsgi"),
        ("scgi_temp_path", "scgi"),
    ] {
        let _ = writeln!(c, "  {dir} {};", web.join("tmp").join(name).display());
    }
    for listen in ["80", "8080 http2"] {
        let _ = writeln!(
            c,
            "  server {{\n    listen {listen};\n    root {};",
            www.display()
        );
        let _ = writeln!(
            c,
            "    location = /api/fail {{ return 500 \"upstream failed\\n\"; }}"
        );
        let _ = writeln!(
            c,
            "    location = /api/unavailable {{ return 503 \"try again later\\n\"; }}"
        );
        let _ = writeln!(c, "    location = /old {{ return 302 /index.html; }}\n  }}");
    }
    c.push_str("}\n");
    c
}

/// The web content: (path under www, bytes). Deterministic.
pub fn web_content() -> Vec<(&'static str, Vec<u8>)> {
    let mut products = String::from("[");
    for i in 0..12 {
        if i > 0 {
            products.push(',');
        }
        let _ = write!(
            products,
            "{{\"id\":{i},\"name\":\"product-{i}\",\"price_cents\":{}}}",
            199 + i * 37
        );
    }
    products.push_str("]\n");
    let mut index = String::from("<!doctype html><html><head><title>shop</title></head><body>\n");
    for i in 0..60 {
        let _ = writeln!(index, "<p>item {i}: a fine thing for a fair price</p>");
    }
    index.push_str("</body></html>\n");
    vec![
        ("index.html", index.into_bytes()),
        ("api/products.json", products.into_bytes()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> (ToolPaths, StatePaths) {
        (
            ToolPaths {
                python: "py".into(),
                tansu: "cache/tansu".into(),
                kafkajs: "cache/kafkajs".into(),
                node: "node".into(),
            },
            StatePaths {
                root: "state".into(),
            },
        )
    }

    #[test]
    fn every_pod_but_the_tester_runs_something() {
        let plan = Plan::standard();
        let (t, st) = paths();
        for p in &plan.pods {
            let l = launch(&plan, p, &t, &st);
            assert_eq!(l.is_none(), p.role == Role::Tester, "{}", p.name);
            if let Some(l) = l {
                assert_eq!(l.netns, p.netns());
                assert!(!l.argv.is_empty());
            }
        }
    }

    #[test]
    fn servers_are_the_pods_behind_services() {
        let plan = Plan::standard();
        let (t, st) = paths();
        for svc in &plan.services {
            let pod = plan.backend(svc).unwrap();
            assert!(launch(&plan, pod, &t, &st).unwrap().server, "{}", svc.name);
        }
    }

    #[test]
    fn dnsmasq_knows_every_service_and_listens_on_the_cluster_ip() {
        let plan = Plan::standard();
        let (_, st) = paths();
        let pod = plan.pod(Role::Dns).unwrap();
        let args = dnsmasq_args(&plan, pod, &st);
        assert!(args.contains(&"--listen-address=10.96.0.10".to_string()));
        assert!(args.contains(&format!("--listen-address={}", pod.ip)));
        for svc in &plan.services {
            assert!(args.contains(&format!("--host-record={},{}", svc.fqdn(), svc.ip)));
        }
        assert!(args.contains(&"--local=/cluster.local/".to_string()));
    }

    #[test]
    fn kafka_advertises_its_cluster_ip() {
        let plan = Plan::standard();
        let (t, st) = paths();
        let l = launch(&plan, plan.pod(Role::Kafka).unwrap(), &t, &st).unwrap();
        let kafka = plan.service("data", "kafka").unwrap();
        assert!(l.argv.contains(&format!("tcp://{}:9092", kafka.ip)));
    }

    #[test]
    fn nginx_serves_h1_and_h2c_with_failing_locations() {
        let c = nginx_conf(&StatePaths {
            root: "state".into(),
        });
        assert!(c.contains("listen 80;"));
        assert!(c.contains("listen 8080 http2;"));
        assert_eq!(c.matches("return 500").count(), 2);
        assert_eq!(c.matches("return 503").count(), 2);
        assert_eq!(c.matches('{').count(), c.matches('}').count());
    }
}
