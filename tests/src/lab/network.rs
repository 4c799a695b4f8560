//! The lab's network: a bridge per node in the root namespace, a namespace
//! per pod joined to its node's bridge by a veth pair, and one router
//! namespace with a leg on every bridge that forwards between the nodes'
//! pod networks (forwarding is switched on only inside that namespace, never
//! in the root namespace). A ClusterIP is a secondary address of the pod
//! behind the service, routed by the router to that pod.
//!
//! [`setup_steps`] turns the plan into a list of steps (pure, tested);
//! [`apply`] runs them; [`teardown`] removes everything whose name starts
//! with the lab's prefix, so it also cleans up after a crashed run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::error::LabError;
use super::plan::{Plan, CLUSTER_DOMAIN, PREFIX, ROUTER_NETNS};

/// Where `ip netns exec` finds per-namespace files (`resolv.conf`).
const ETC_NETNS: &str = "/etc/netns";
/// How long processes of a namespace get to exit after SIGTERM.
const TERM_GRACE: Duration = Duration::from_secs(3);

/// One step of the network set-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `ip ARGS…`
    Ip(Vec<String>),
    /// Write `value` to `/proc/sys/KEY` inside `netns` (root namespace when None).
    Sysctl {
        netns: Option<String>,
        key: String,
        value: String,
    },
    /// Segmentation and receive offloads off on `dev` (in `netns`), so
    /// captured frames are wire-sized.
    OffloadsOff { netns: Option<String>, dev: String },
    /// Write a file (creating its directory).
    File { path: PathBuf, contents: String },
}

fn ip<S: AsRef<str>>(args: &[S]) -> Step {
    Step::Ip(args.iter().map(|a| a.as_ref().to_string()).collect())
}

fn sysctl(netns: Option<&str>, key: &str, value: &str) -> Step {
    Step::Sysctl {
        netns: netns.map(str::to_string),
        key: key.to_string(),
        value: value.to_string(),
    }
}

/// The steps that build the plan's network, in order.
pub fn setup_steps(plan: &Plan) -> Vec<Step> {
    let mut s = Vec::new();
    let r = ROUTER_NETNS;
    s.push(ip(&["netns", "add", r]));
    for (k, v) in [
        ("net/ipv6/conf/all/disable_ipv6", "1"),
        ("net/ipv6/conf/default/disable_ipv6", "1"),
        ("net/ipv4/ip_forward", "1"),
        ("net/ipv4/conf/all/rp_filter", "0"),
        ("net/ipv4/conf/default/rp_filter", "0"),
        ("net/ipv4/conf/all/send_redirects", "0"),
        ("net/ipv4/conf/default/send_redirects", "0"),
    ] {
        s.push(sysctl(Some(r), k, v));
    }
    s.push(ip(&["-n", r, "link", "set", "lo", "up"]));
    for n in &plan.nodes {
        let br = n.bridge();
        s.push(ip(&["link", "add", &br, "type", "bridge"]));
        s.push(sysctl(
            None,
            &format!("net/ipv6/conf/{br}/disable_ipv6"),
            "1",
        ));
        s.push(ip(&["link", "set", &br, "up"]));
        let port = n.router_port();
        let leg = n.router_leg();
        s.push(ip(&[
            "link", "add", &port, "type", "veth", "peer", "name", &leg, "netns", r,
        ]));
        s.push(sysctl(
            None,
            &format!("net/ipv6/conf/{port}/disable_ipv6"),
            "1",
        ));
        s.push(Step::OffloadsOff {
            netns: None,
            dev: port.clone(),
        });
        s.push(Step::OffloadsOff {
            netns: Some(r.to_string()),
            dev: leg.clone(),
        });
        s.push(ip(&["link", "set", &port, "master", &br]));
        s.push(ip(&["link", "set", &port, "up"]));
        s.push(ip(&[
            "-n",
            r,
            "addr",
            "add",
            &format!("{}/24", n.gateway()),
            "dev",
            &leg,
        ]));
        s.push(ip(&["-n", r, "link", "set", &leg, "up"]));
    }
    for p in &plan.pods {
        // Plan::validate guarantees the node exists; skip defensively.
        let Some(node) = plan.nodes.iter().find(|n| n.name == p.node) else {
            continue;
        };
        let ns = p.netns();
        s.push(ip(&["netns", "add", &ns]));
        s.push(sysctl(Some(&ns), "net/ipv6/conf/all/disable_ipv6", "1"));
        s.push(sysctl(Some(&ns), "net/ipv6/conf/default/disable_ipv6", "1"));
        s.push(ip(&["-n", &ns, "link", "set", "lo", "up"]));
        s.push(ip(&[
            "link", "add", &p.host_if, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ]));
        s.push(sysctl(
            None,
            &format!("net/ipv6/conf/{}/disable_ipv6", p.host_if),
            "1",
        ));
        s.push(Step::OffloadsOff {
            netns: None,
            dev: p.host_if.clone(),
        });
        s.push(Step::OffloadsOff {
            netns: Some(ns.clone()),
            dev: "eth0".into(),
        });
        s.push(ip(&["link", "set", &p.host_if, "master", &node.bridge()]));
        s.push(ip(&["link", "set", &p.host_if, "up"]));
        s.push(ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{}/24", p.ip),
            "dev",
            "eth0",
        ]));
        s.push(ip(&["-n", &ns, "link", "set", "eth0", "up"]));
        s.push(ip(&[
            "-n",
            &ns,
            "route",
            "add",
            "default",
            "via",
            &node.gateway().to_string(),
        ]));
        s.push(Step::File {
            path: Path::new(ETC_NETNS).join(&ns).join("resolv.conf"),
            contents: resolv_conf(plan, &p.namespace),
        });
    }
    for svc in &plan.services {
        let Ok(pod) = plan.backend(svc) else { continue };
        s.push(ip(&[
            "-n",
            &pod.netns(),
            "addr",
            "add",
            &format!("{}/32", svc.ip),
            "dev",
            "eth0",
        ]));
        s.push(ip(&[
            "-n",
            r,
            "route",
            "add",
            &format!("{}/32", svc.ip),
            "via",
            &pod.ip.to_string(),
        ]));
    }
    s
}

/// A pod's resolv.conf: the cluster DNS and Kubernetes' search path.
pub fn resolv_conf(plan: &Plan, namespace: &str) -> String {
    let dns = plan
        .services
        .iter()
        .find(|s| s.name == "kube-dns")
        .map(|s| s.ip.to_string())
        .unwrap_or_default();
    format!(
        "nameserver {dns}\nsearch {namespace}.svc.{CLUSTER_DOMAIN} svc.{CLUSTER_DOMAIN} {CLUSTER_DOMAIN}\noptions ndots:5 timeout:1 attempts:2\n"
    )
}

/// Runs the steps in order; stops at the first failure.
pub fn apply(steps: &[Step]) -> Result<(), LabError> {
    for step in steps {
        match step {
            Step::Ip(args) => run("ip", args)?,
            Step::Sysctl { netns, key, value } => {
                let path = format!("/proc/sys/{key}");
                match netns {
                    None => std::fs::write(&path, value).map_err(|e| LabError::io(&path, e))?,
                    Some(ns) => run(
                        "ip",
                        &[
                            "netns",
                            "exec",
                            ns,
                            "sh",
                            "-c",
                            &format!("echo {value} > {path}"),
                        ],
                    )?,
                }
            }
            Step::OffloadsOff { netns, dev } => {
                let mut args: Vec<&str> = Vec::new();
                if let Some(ns) = netns {
                    args.extend(["netns", "exec", ns, "ethtool"]);
                }
                args.extend(["-K", dev, "tso", "off", "gso", "off", "gro", "off"]);
                // Best effort: a missing offload is not an error.
                let program = if netns.is_some() { "ip" } else { "ethtool" };
                let _ = run(program, &args);
            }
            Step::File { path, contents } => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| LabError::io(dir, e))?;
                }
                std::fs::write(path, contents).map_err(|e| LabError::io(path, e))?;
            }
        }
    }
    Ok(())
}

/// Runs `program args…`; an error carries the command line and its stderr.
pub fn run<S: AsRef<str>>(program: &str, args: &[S]) -> Result<(), LabError> {
    output(program, args).map(|_| ())
}

/// Runs `program args…` and returns its stdout.
pub fn output<S: AsRef<str>>(program: &str, args: &[S]) -> Result<String, LabError> {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::Command {
            command: command.clone(),
            detail: e.to_string(),
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError::Command {
            command,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// The lab's namespaces now on the machine (from `ip netns list` output).
pub fn lab_namespaces(list: &str) -> Vec<String> {
    list.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(PREFIX))
        .map(str::to_string)
        .collect()
}

/// The lab's links in the root namespace (from `ip -o link show` output:
/// `7: wml-a0@if2: <…>`).
pub fn lab_links(list: &str) -> Vec<String> {
    list.lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
        .filter(|n| n.starts_with(PREFIX))
        .collect()
}

/// Process ids from `ip netns pids` output.
pub fn parse_pids(list: &str) -> Vec<u32> {
    list.split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// What [`teardown`] removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removed {
    pub processes: usize,
    pub namespaces: usize,
    pub links: usize,
}

/// Removes every process, namespace, link and `/etc/netns` entry of the lab
/// (found by name prefix). Idempotent; best effort on each item, so one
/// stuck item does not keep the rest.
pub fn teardown() -> Removed {
    let mut removed = Removed::default();
    let namespaces = output("ip", &["netns", "list"])
        .map(|l| lab_namespaces(&l))
        .unwrap_or_default();
    let mut pids = Vec::new();
    for ns in &namespaces {
        pids.extend(
            output("ip", &["netns", "pids", ns])
                .map(|l| parse_pids(&l))
                .unwrap_or_default(),
        );
    }
    removed.processes = pids.len();
    signal(&pids, "TERM");
    let deadline = Instant::now() + TERM_GRACE;
    while Instant::now() < deadline && pids.iter().any(|p| alive(*p)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<u32> = pids.into_iter().filter(|p| alive(*p)).collect();
    signal(&left, "KILL");
    for ns in &namespaces {
        if run("ip", &["netns", "del", ns]).is_ok() {
            removed.namespaces += 1;
        }
        let _ = std::fs::remove_dir_all(Path::new(ETC_NETNS).join(ns));
    }
    let links = output("ip", &["-o", "link", "show"])
        .map(|l| lab_links(&l))
        .unwrap_or_default();
    for link in links {
        if run("ip", &["link", "del", &link]).is_ok() {
            removed.links += 1;
        }
    }
    // A crash between writing /etc/netns/<ns> and creating <ns> leaves a file.
    if let Ok(dir) = std::fs::read_dir(ETC_NETNS) {
        for e in dir.flatten() {
            if e.file_name().to_string_lossy().starts_with(PREFIX) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    removed
}

fn signal(pids: &[u32], sig: &str) {
    if pids.is_empty() {
        return;
    }
    let mut args = vec![format!("-{sig}")];
    args.extend(pids.iter().map(u32::to_string));
    let _ = Command::new("kill")
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn alive(pid: u32) -> bool {
    // A zombie still has /proc/PID; its state is 'Z'.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z")
        })
        .unwrap_or(false)
}

/// Whether the lab's router namespace exists (the lab is up).
pub fn is_up() -> bool {
    output("ip", &["netns", "list"])
        .map(|l| lab_namespaces(&l).iter().any(|n| n == ROUTER_NETNS))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::plan::Role;

    fn ip_lines(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Ip(a) => Some(a.join(" ")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn steps_wire_each_pod_to_its_node_bridge() {
        let plan = Plan::standard();
        let lines = ip_lines(&setup_steps(&plan));
        for p in &plan.pods {
            let br = plan.node(&p.node).unwrap().bridge();
            assert!(
                lines.contains(&format!("link set {} master {br}", p.host_if)),
                "{}",
                p.name
            );
            assert!(lines.contains(&format!("-n {} addr add {}/24 dev eth0", p.netns(), p.ip)));
        }
    }

    #[test]
    fn every_link_is_created_before_it_is_used() {
        let lines = ip_lines(&setup_steps(&Plan::standard()));
        let pos = |needle: &str| lines.iter().position(|l| l.starts_with(needle));
        for (i, l) in lines.iter().enumerate() {
            if let Some(rest) = l.strip_prefix("link set ") {
                let dev = rest.split_whitespace().next().unwrap();
                let created = pos(&format!("link add {dev} ")).unwrap();
                assert!(created < i, "{l}");
            }
        }
    }

    #[test]
    fn cluster_ips_live_on_their_backend_and_are_routed() {
        let plan = Plan::standard();
        let lines = ip_lines(&setup_steps(&plan));
        let web = plan.service("shop", "web").unwrap();
        let pod = plan.pod(Role::Web).unwrap();
        assert!(lines.contains(&format!(
            "-n {} addr add {}/32 dev eth0",
            pod.netns(),
            web.ip
        )));
        assert!(lines.contains(&format!(
            "-n {ROUTER_NETNS} route add {}/32 via {}",
            web.ip, pod.ip
        )));
    }

    #[test]
    fn forwarding_is_enabled_only_in_the_router() {
        let steps = setup_steps(&Plan::standard());
        let fwd: Vec<_> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Sysctl { netns, key, .. } if key.contains("forward") => Some(netns.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(fwd, vec![Some(ROUTER_NETNS.to_string())]);
    }

    #[test]
    fn resolv_conf_points_at_kube_dns_with_search_path() {
        let plan = Plan::standard();
        let r = resolv_conf(&plan, "shop");
        assert!(r.starts_with("nameserver 10.96.0.10\n"), "{r}");
        assert!(r.contains("search shop.svc.cluster.local svc.cluster.local cluster.local"));
    }

    #[test]
    fn leftovers_are_found_by_prefix_only() {
        let netns = "wml-router (id: 3)\nwml-shop-web-1\nwm-e2e-skel\nother\n";
        assert_eq!(lab_namespaces(netns), vec!["wml-router", "wml-shop-web-1"]);
        let links = "1: lo: <LOOPBACK,UP>\n7: wml-a0@if2: <BROADCAST>\n8: wml-br-a: <BROADCAST>\n9: wmskel0@if3: <X>\n";
        assert_eq!(lab_links(links), vec!["wml-a0", "wml-br-a"]);
        assert_eq!(parse_pids("12\n345\n\nx\n"), vec![12, 345]);
    }
}
