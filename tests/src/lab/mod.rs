//! The lab: a simulated three-node Kubernetes cluster of real servers and
//! clients in network namespaces on one machine — the demo and the bed of
//! the end-to-end tests. Each node is a bridge in the root namespace; each
//! pod a namespace joined to its node's bridge by a veth pair (the
//! root-namespace end is what that node's probe captures); a router
//! namespace forwards between the nodes' pod networks; ClusterIPs are
//! secondary addresses of the one pod behind each service. The lab writes
//! the topology file the probes read with `--topology`.
//!
//! It does not run probes, the relay or a browser (the tests and `cargo
//! xtask demo` do). Key decision: everything it creates is named with the
//! prefix `wml-`, and teardown finds things by that prefix rather than by
//! memory, so a run after a crash cleans up what the crashed run left.
//!
//! The address plan, topology, network steps, command lines and counts are
//! pure and unit-tested; [`Lab`] is the thin shell that applies them.

pub mod counts;
pub mod error;
pub mod install;
pub mod network;
pub mod plan;
pub mod stack;
pub mod topology;
pub mod workloads;

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

pub use counts::{Counts, Endpoint, PairCount};
pub use error::LabError;
pub use network::Removed;
pub use plan::{Plan, Pod, Role, Service};
pub use stack::{Stack, StackOptions};
use workloads::{Launch, StatePaths, ToolPaths, ORDERS_TOPIC, SCRIPTED_TOPIC};

/// The scripts the workloads run, built into the binary and written into
/// the state folder by `up`.
const SCRIPTS: &[(&str, &str)] = &[
    ("workload.py", include_str!("../../lab/workload.py")),
    (
        "catalog_server.py",
        include_str!("../../lab/catalog_server.py"),
    ),
    ("catalog.proto", include_str!("../../lab/catalog.proto")),
    ("kafka.js", include_str!("../../lab/kafka.js")),
];

/// How long servers get to accept connections after they start.
const READY_SECS: u64 = 30;

/// How to bring the lab up.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Configs, logs and the topology file; wiped by `up`.
    pub state_dir: PathBuf,
    /// Tansu and kafkajs; kept between runs.
    pub cache_dir: PathBuf,
    /// Start the client loops (frontend, recommendation, checkout,
    /// shipping, analytics). Tests that count exactly can leave them off.
    pub steady_traffic: bool,
    /// Print one line per step on stderr.
    pub verbose: bool,
}

impl Default for LabOptions {
    fn default() -> Self {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        LabOptions {
            state_dir: std::env::temp_dir().join("wiremap-lab"),
            cache_dir: cache.join("wiremap-lab"),
            steady_traffic: true,
            verbose: true,
        }
    }
}

/// A running lab. Dropping it tears everything down, unless [`Lab::detach`]
/// was called.
#[derive(Debug)]
pub struct Lab {
    plan: Plan,
    state: StatePaths,
    tools: ToolPaths,
    verbose: bool,
    started: Instant,
    children: Vec<Child>,
    owned: bool,
}

impl Lab {
    /// Builds the cluster: removes leftovers, installs what is missing,
    /// creates the network, starts the servers (and the client loops when
    /// asked) and waits until every service answers.
    pub fn up(opts: LabOptions) -> Result<Lab, LabError> {
        if !crate::netns::is_root() {
            return Err(LabError::NotRoot);
        }
        let plan = Plan::standard();
        plan.validate()?;
        let mut lab = Lab {
            plan,
            state: StatePaths {
                root: opts.state_dir.clone(),
            },
            tools: install::paths(&opts.cache_dir),
            verbose: opts.verbose,
            started: Instant::now(),
            children: Vec::new(),
            owned: true,
        };
        let left = network::teardown();
        if left != Removed::default() {
            lab.say(format!(
                "removed leftovers of an earlier run: {} processes, {} namespaces, {} links",
                left.processes, left.namespaces, left.links
            ));
        }
        let mut say = |m: String| lab_say(opts.verbose, lab.started, m);
        lab.tools = install::ensure(&opts.cache_dir, &mut say)?;
        lab.write_state()?;
        lab.say("state written: scripts, configs, topology".into());
        network::apply(&network::setup_steps(&lab.plan))?;
        lab.say(format!(
            "network up: {} nodes, {} pods, {} services",
            lab.plan.nodes.len(),
            lab.plan.pods.len(),
            lab.plan.services.len()
        ));
        let launches = lab.launches();
        for l in launches.iter().filter(|l| l.server) {
            lab.spawn(l)?;
        }
        lab.wait_ready()?;
        lab.create_topics()?;
        lab.say("servers ready: nginx, gRPC catalog, cart, dnsmasq, redis, Tansu".into());
        if opts.steady_traffic {
            lab.start_steady_traffic()?;
        }
        lab.say(format!(
            "lab up; topology: {}",
            lab.topology_path().display()
        ));
        Ok(lab)
    }

    /// A handle on a lab brought up by another process (for scripted
    /// traffic and status); dropping it tears nothing down.
    pub fn attach(opts: LabOptions) -> Result<Lab, LabError> {
        if !crate::netns::is_root() {
            return Err(LabError::NotRoot);
        }
        if !network::is_up() {
            return Err(LabError::NotUp);
        }
        Ok(Lab {
            plan: Plan::standard(),
            state: StatePaths {
                root: opts.state_dir,
            },
            tools: install::paths(&opts.cache_dir),
            verbose: opts.verbose,
            started: Instant::now(),
            children: Vec::new(),
            owned: false,
        })
    }

    /// Removes every trace of any lab (also one left by a crash); idempotent.
    pub fn teardown_all() -> Result<Removed, LabError> {
        if !crate::netns::is_root() {
            return Err(LabError::NotRoot);
        }
        Ok(network::teardown())
    }

    /// Leaves the lab running when this handle drops.
    pub fn detach(mut self) {
        self.owned = false;
    }

    /// Tears the lab down now.
    pub fn down(mut self) -> Removed {
        self.owned = false;
        self.shutdown()
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The topology file for the probes' `--topology`.
    pub fn topology_path(&self) -> PathBuf {
        self.state.topology()
    }

    /// Where each workload's log is.
    pub fn logs_dir(&self) -> PathBuf {
        self.state.logs()
    }

    pub fn node_names(&self) -> Vec<String> {
        self.plan.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// The interfaces a probe on `node` captures: the root-namespace ends
    /// of that node's pods' veth pairs. Traffic between two pods of one
    /// node would cross two of them (the lab has none: every call crosses
    /// nodes).
    pub fn node_interfaces(&self, node: &str) -> Result<Vec<String>, LabError> {
        self.plan.node(node)?;
        Ok(self.plan.pods_on(node).map(|p| p.host_if.clone()).collect())
    }

    /// The arguments that point a `wiremap-probe` at `node`: `--node`, one
    /// `--interface` per pod veth, `--topology`.
    pub fn probe_args(&self, node: &str) -> Result<Vec<String>, LabError> {
        probe_args(&self.plan, node, &self.topology_path())
    }

    /// The root-namespace end of a pod's veth (its kernel byte counters are
    /// in `/sys/class/net/IF/statistics`).
    pub fn pod_interface(&self, namespace: &str, pod: &str) -> Option<String> {
        self.plan
            .pods
            .iter()
            .find(|p| p.namespace == namespace && p.name == pod)
            .map(|p| p.host_if.clone())
    }

    /// A command that runs `program` inside the pod's network namespace.
    pub fn pod_command(&self, pod: &Pod, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &pod.netns(), program]);
        c
    }

    /// Starts the client loops (if they are not running).
    pub fn start_steady_traffic(&mut self) -> Result<(), LabError> {
        self.stop_steady_traffic();
        for l in self.launches().iter().filter(|l| !l.server) {
            self.spawn(l)?;
        }
        self.say(
            "steady traffic started: frontend, recommendation, checkout, shipping, analytics"
                .into(),
        );
        Ok(())
    }

    /// Stops the client loops; servers keep running.
    pub fn stop_steady_traffic(&mut self) {
        for l in self.launches().iter().filter(|l| !l.server) {
            let pids = network::output("ip", &["netns", "pids", &l.netns])
                .map(|o| network::parse_pids(&o))
                .unwrap_or_default();
            for pid in pids {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
        self.reap();
    }

    /// Runs `count` calls of each protocol from qa/tester (node-c) to web
    /// (HTTP/1.1 and HTTP/2), catalog (gRPC), kube-dns (DNS), redis and
    /// kafka (a message per produce request), and returns what the
    /// clients observed.
    pub fn run_scripted_traffic(&self, count: u32) -> Result<Counts, LabError> {
        let tester = self
            .plan
            .pod(Role::Tester)
            .ok_or_else(|| LabError::Plan("no tester pod".into()))?;
        let ip = |ns: &str, name: &str| {
            self.plan
                .service(ns, name)
                .map(|s| s.ip.to_string())
                .ok_or_else(|| LabError::Plan(format!("no service {ns}/{name}")))
        };
        let n = count.to_string();
        let py = self.pod_output(
            tester,
            &[
                &self.tools.python.display().to_string(),
                &self
                    .state
                    .scripts()
                    .join("workload.py")
                    .display()
                    .to_string(),
                "scripted",
                &self.state.generated().display().to_string(),
                &n,
                &ip("shop", "web")?,
                &ip("shop", "catalog")?,
                &ip("kube-system", "kube-dns")?,
                &ip("data", "redis")?,
            ],
        )?;
        let kafka = self.pod_output(
            tester,
            &[
                &self.tools.node.display().to_string(),
                &self.state.scripts().join("kafka.js").display().to_string(),
                "scripted",
                &format!("{}:9092", ip("data", "kafka")?),
                SCRIPTED_TOPIC,
                &n,
            ],
        )?;
        counts::from_reports(&self.plan, count, last_line(&py), last_line(&kafka))
    }

    /// One line per pod: node, interface, addresses, running processes.
    pub fn status(&self) -> String {
        let mut out = String::new();
        for p in &self.plan.pods {
            let procs = network::output("ip", &["netns", "pids", &p.netns()])
                .map(|o| network::parse_pids(&o).len().to_string())
                .unwrap_or_else(|_| "-".into());
            let svc: Vec<String> = self
                .plan
                .services
                .iter()
                .filter(|s| self.plan.backend(s).is_ok_and(|b| b.name == p.name))
                .map(|s| format!("{} {}", s.name, s.ip))
                .collect();
            out.push_str(&format!(
                "{:<7} {:<7} {:<12} {:<40} {:<12} procs={:<2} {}\n",
                p.node,
                p.host_if,
                p.namespace,
                p.name,
                p.ip,
                procs,
                svc.join(", ")
            ));
        }
        out
    }

    fn pod_output(&self, pod: &Pod, argv: &[&str]) -> Result<String, LabError> {
        let mut args = vec!["netns", "exec", &*pod.netns()]
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
        args.extend(argv.iter().map(|a| a.to_string()));
        let out = Command::new("ip")
            .args(&args)
            .env("KAFKAJS", &self.tools.kafkajs)
            .current_dir(&self.state.root)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| LabError::Command {
                command: args.join(" "),
                detail: e.to_string(),
            })?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(LabError::Command {
                command: args.join(" "),
                detail: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout).trim(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            })
        }
    }

    fn launches(&self) -> Vec<Launch> {
        self.plan
            .pods
            .iter()
            .filter_map(|p| workloads::launch(&self.plan, p, &self.tools, &self.state))
            .collect()
    }

    fn spawn(&mut self, l: &Launch) -> Result<(), LabError> {
        let log_path = self.state.logs().join(&l.log);
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| LabError::io(&log_path, e))?;
        let log2 = log.try_clone().map_err(|e| LabError::io(&log_path, e))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &l.netns])
            .args(&l.argv)
            .envs(l.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.state.root)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            // Own process group: a Ctrl-C meant for the caller does not
            // reach the workloads; teardown ends them by namespace.
            .process_group(0)
            .spawn()
            .map_err(|e| LabError::Command {
                command: l.argv.join(" "),
                detail: e.to_string(),
            })?;
        self.children.push(child);
        Ok(())
    }

    fn write_state(&self) -> Result<(), LabError> {
        let root = &self.state.root;
        if root.exists() {
            std::fs::remove_dir_all(root).map_err(|e| LabError::io(root, e))?;
        }
        for dir in [
            self.state.scripts(),
            self.state.generated(),
            self.state.www().join("api"),
            self.state.web().join("tmp"),
            self.state.logs(),
        ] {
            std::fs::create_dir_all(&dir).map_err(|e| LabError::io(&dir, e))?;
        }
        for (name, text) in SCRIPTS {
            write(&self.state.scripts().join(name), text.as_bytes())?;
        }
        for (path, bytes) in workloads::web_content() {
            write(&self.state.www().join(path), &bytes)?;
        }
        write(
            &self.state.web().join("dnsmasq.conf"),
            b"# options: see the command line\n",
        )?;
        write(
            &self.state.web().join("nginx.conf"),
            workloads::nginx_conf(&self.state).as_bytes(),
        )?;
        write(
            &self.topology_path(),
            topology::to_yaml(&self.plan).as_bytes(),
        )?;
        // protoc resolves the proto path relative to the working folder.
        let scripts = self.state.scripts();
        let out = Command::new(&self.tools.python)
            .current_dir(&scripts)
            .args([
                "-m",
                "grpc_tools.protoc",
                "-I.",
                &format!("--python_out={}", self.state.generated().display()),
                &format!("--grpc_python_out={}", self.state.generated().display()),
                "catalog.proto",
            ])
            .output()
            .map_err(|e| LabError::io(&scripts, e))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(LabError::Command {
                command: "python3 -m grpc_tools.protoc catalog.proto".into(),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }

    fn wait_ready(&self) -> Result<(), LabError> {
        let tester = self
            .plan
            .pod(Role::Tester)
            .ok_or_else(|| LabError::Plan("no tester pod".into()))?;
        let mut argv = vec![
            self.tools.python.display().to_string(),
            self.state
                .scripts()
                .join("workload.py")
                .display()
                .to_string(),
            "wait".into(),
            self.state.generated().display().to_string(),
        ];
        for s in &self.plan.services {
            argv.extend(s.ports.iter().map(|p| format!("{}:{p}", s.ip)));
        }
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.pod_output(tester, &argv)
            .map_err(|e| LabError::NotReady {
                what: "the lab's servers".into(),
                secs: READY_SECS,
                detail: format!("{e}; see the logs in {}", self.state.logs().display()),
            })?;
        Ok(())
    }

    fn create_topics(&self) -> Result<(), LabError> {
        let kafka_pod = self
            .plan
            .pod(Role::Kafka)
            .ok_or_else(|| LabError::Plan("no kafka pod".into()))?;
        let svc = self
            .plan
            .service("data", "kafka")
            .ok_or_else(|| LabError::Plan("no kafka service".into()))?;
        let broker = format!("tcp://{}:9092", svc.ip);
        let tansu = self.tools.tansu.display().to_string();
        for (topic, partitions) in [(ORDERS_TOPIC, "3"), (SCRIPTED_TOPIC, "1")] {
            self.pod_output(
                kafka_pod,
                &[
                    &tansu,
                    "topic",
                    "create",
                    "--broker",
                    &broker,
                    "--partitions",
                    partitions,
                    topic,
                ],
            )?;
        }
        Ok(())
    }

    fn say(&self, m: String) {
        lab_say(self.verbose, self.started, m);
    }

    fn reap(&mut self) {
        self.children
            .retain_mut(|c| matches!(c.try_wait(), Ok(None)));
    }

    fn shutdown(&mut self) -> Removed {
        let removed = network::teardown();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.children.clear();
        removed
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.owned {
            self.shutdown();
        }
    }
}

/// The arguments that point a `wiremap-probe` at `node` of `plan`.
pub fn probe_args(plan: &Plan, node: &str, topology: &Path) -> Result<Vec<String>, LabError> {
    plan.node(node)?;
    let mut args = vec!["--node".to_string(), node.to_string()];
    for p in plan.pods_on(node) {
        args.push("--interface".into());
        args.push(p.host_if.clone());
    }
    args.push("--topology".into());
    args.push(topology.display().to_string());
    Ok(args)
}

fn lab_say(verbose: bool, started: Instant, m: String) {
    if verbose {
        eprintln!("[lab {:>5.1}s] {m}", started.elapsed().as_secs_f64());
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), LabError> {
    std::fs::write(path, bytes).map_err(|e| LabError::io(path, e))
}

fn last_line(s: &str) -> &str {
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_args_name_the_node_its_interfaces_and_the_topology() {
        let plan = Plan::standard();
        let args = probe_args(&plan, "node-b", Path::new("state/topology.yaml")).unwrap();
        assert_eq!(&args[..2], ["--node", "node-b"]);
        assert_eq!(args.iter().filter(|a| *a == "--interface").count(), 4);
        assert!(args.contains(&plan.pod(Role::Web).unwrap().host_if));
        assert!(!args.contains(&plan.pod(Role::Tester).unwrap().host_if));
        assert_eq!(
            &args[args.len() - 2..],
            ["--topology", "state/topology.yaml"]
        );
        assert!(probe_args(&plan, "node-x", Path::new("t")).is_err());
    }

    fn counter(ifname: &str, which: &str) -> u64 {
        std::fs::read_to_string(format!("/sys/class/net/{ifname}/statistics/{which}"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The whole shell against the real system: needs root, installs what is
    /// missing, takes about half a minute. One lab per machine: it removes
    /// any other lab first. Run with `cargo test -p wiremap-e2e --lib -- --ignored`.
    #[test]
    #[ignore = "needs root and installs packages; brings up the real lab"]
    fn lab_serves_every_protocol_across_nodes_and_leaves_nothing() {
        let state = tempfile::tempdir().unwrap();
        let opts = LabOptions {
            state_dir: state.path().join("lab"),
            steady_traffic: false,
            ..LabOptions::default()
        };
        let lab = Lab::up(opts).expect("lab up");
        let topo = std::fs::read_to_string(lab.topology_path()).unwrap();
        assert!(topo.contains("node-c"));
        let tester = lab.plan().pod(Role::Tester).unwrap().clone();
        let web = lab.plan().pod(Role::Web).unwrap().clone();
        let before = (
            counter(&tester.host_if, "rx_bytes"),
            counter(&web.host_if, "tx_bytes"),
        );
        let counts = lab.run_scripted_traffic(25).expect("scripted traffic");
        for pair in &counts.pairs {
            assert_ne!(pair.client.node, pair.server.node, "{}", pair.protocol);
            assert!(
                pair.calls >= 25,
                "{} made {} calls",
                pair.protocol,
                pair.calls
            );
        }
        let h1 = counts.pair("HTTP", "web").unwrap();
        assert_eq!(h1.by.get("200"), Some(&10), "{:?}", h1.by);
        assert_eq!(h1.by.get("404"), Some(&5));
        assert_eq!(counts.pair("HTTP/2", "web").unwrap().by, h1.by);
        assert_eq!(
            counts.pair("DNS", "kube-dns").unwrap().by.get("3"),
            Some(&6)
        );
        assert_eq!(
            counts.pair("Kafka", "kafka").unwrap().by.get("PRODUCE"),
            Some(&25)
        );
        assert_eq!(counts.kafka_messages, 25);
        // The tester (node-c) received the web pod's (node-b) bytes through
        // its own veth: traffic really crossed nodes.
        assert!(counter(&tester.host_if, "rx_bytes") > before.0);
        assert!(counter(&web.host_if, "tx_bytes") > before.1);
        let removed = lab.down();
        assert_eq!(removed.namespaces, lab_pods_plus_router());
        assert!(!network::is_up());
        let links = network::output("ip", &["-o", "link", "show"]).unwrap();
        assert!(network::lab_links(&links).is_empty(), "{links}");
        let netns = network::output("ip", &["netns", "list"]).unwrap();
        assert!(network::lab_namespaces(&netns).is_empty(), "{netns}");
    }

    fn lab_pods_plus_router() -> usize {
        Plan::standard().pods.len() + 1
    }
}
