//! wiremap deployed on a running lab: one relay and one `wiremap-probe` per
//! node, as real child processes that the tests can kill and start again
//! (the faults). Every process ends when the [`Stack`] drops, also when a
//! test fails half-way.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::Lab;
use crate::process::{binary, Proc};

/// How the relay and the probes are started.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The built web app the relay serves (none: the relay serves an empty folder).
    pub web_dist: Option<PathBuf>,
    /// Extra relay flags (queue sizes, stall timeout, …).
    pub relay_args: Vec<String>,
    /// Seconds between a probe's L4 snapshots.
    pub snapshot_interval: f64,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            web_dist: None,
            relay_args: Vec::new(),
            snapshot_interval: 0.5,
        }
    }
}

/// The relay and the probes of one lab.
#[derive(Debug)]
pub struct Stack {
    opts: StackOptions,
    /// `127.0.0.1:PORT`; stays the same across relay restarts.
    addr: String,
    relay: Option<Proc>,
    probes: BTreeMap<String, Proc>,
    probe_args: BTreeMap<String, Vec<String>>,
}

impl Stack {
    /// Starts the relay on a free port and a probe on every node of `lab`.
    pub fn start(lab: &Lab, opts: StackOptions) -> Result<Stack, String> {
        let mut probe_args = BTreeMap::new();
        for node in lab.node_names() {
            let args = lab.probe_args(&node).map_err(|e| e.to_string())?;
            probe_args.insert(node, args);
        }
        let mut stack = Stack {
            opts,
            addr: "127.0.0.1:0".into(),
            relay: None,
            probes: BTreeMap::new(),
            probe_args,
        };
        stack.start_relay()?;
        let nodes: Vec<String> = stack.probe_args.keys().cloned().collect();
        for node in nodes {
            stack.start_probe(&node)?;
        }
        Ok(stack)
    }

    /// `127.0.0.1:PORT` of the relay.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The web app's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The nodes that have a probe configured.
    pub fn nodes(&self) -> Vec<String> {
        self.probe_args.keys().cloned().collect()
    }

    /// Starts the relay (on the port it had before, after a restart).
    pub fn start_relay(&mut self) -> Result<(), String> {
        if self.relay.is_some() {
            return Err("the relay is already running".into());
        }
        let dist = match &self.opts.web_dist {
            Some(d) => d.clone(),
            None => PathBuf::from("."),
        };
        let mut cmd = Command::new(binary("wiremap-relay")?);
        cmd.args(["--listen", &self.addr, "--insecure-no-auth", "--static-dir"])
            .arg(dist)
            .args(["--shutdown-timeout-secs", "1"])
            .args(&self.opts.relay_args);
        // The port can be busy for a moment after a restart (the old
        // process's socket closing); retry a few times.
        let deadline = Instant::now() + Duration::from_secs(10);
        let (proc, url) = loop {
            match Proc::spawn_until_line(
                "relay",
                &mut cmd,
                "wiremap-relay listening on ",
                Duration::from_secs(20),
            ) {
                Ok(ok) => break ok,
                Err(e) if Instant::now() < deadline && self.addr != "127.0.0.1:0" => {
                    eprintln!("relay did not start ({e}); retrying");
                    std::thread::sleep(Duration::from_millis(300));
                }
                Err(e) => return Err(e),
            }
        };
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        if self.addr != "127.0.0.1:0" && addr != self.addr {
            return Err(format!(
                "the relay came back on {addr}, not on {}",
                self.addr
            ));
        }
        self.addr = addr;
        self.relay = Some(proc);
        Ok(())
    }

    /// Kills the relay with SIGKILL (a crash: no goodbye to anyone).
    pub fn kill_relay(&mut self) {
        // Proc's drop kills and reaps.
        self.relay = None;
    }

    /// true while the relay process runs.
    pub fn relay_running(&mut self) -> bool {
        self.relay.as_mut().is_some_and(Proc::running)
    }

    /// Starts the probe of `node`.
    pub fn start_probe(&mut self, node: &str) -> Result<(), String> {
        if self.probes.contains_key(node) {
            return Err(format!("the probe of {node} is already running"));
        }
        let args = self
            .probe_args
            .get(node)
            .ok_or_else(|| format!("no node {node} in the lab"))?;
        let mut cmd = Command::new(binary("wiremap-probe")?);
        cmd.args(args)
            .args(["--relay", &format!("ws://{}/ws/probe", self.addr)])
            .args([
                "--snapshot-interval",
                &self.opts.snapshot_interval.to_string(),
            ]);
        let proc = Proc::spawn(&format!("probe {node}"), &mut cmd)?;
        self.probes.insert(node.to_string(), proc);
        Ok(())
    }

    /// Kills the probe of `node` with SIGKILL (a crash).
    pub fn kill_probe(&mut self, node: &str) -> Result<(), String> {
        self.probes
            .remove(node)
            .map(drop)
            .ok_or_else(|| format!("no probe running on {node}"))
    }

    /// Nodes whose probe has exited by itself.
    pub fn exited_probes(&mut self) -> Vec<String> {
        self.probes
            .iter_mut()
            .filter_map(|(n, p)| (!p.running()).then(|| n.clone()))
            .collect()
    }

    /// Stops every probe with SIGTERM and returns the nodes whose probe did
    /// not exit successfully.
    pub fn stop_probes(&mut self) -> Vec<String> {
        let mut failed = Vec::new();
        for (node, p) in std::mem::take(&mut self.probes) {
            match p.terminate() {
                Ok(s) if s.success() => {}
                _ => failed.push(node),
            }
        }
        failed
    }

    /// The relay's Prometheus metrics text.
    pub fn metrics(&self) -> Result<String, String> {
        http_get(&self.addr, "/metrics")
    }
}

/// The built web app the relay serves: `WIREMAP_WEB_DIST`, else the
/// workspace's `web/dist`. `Ok(None)` when it is not built and
/// `WIREMAP_REQUIRE_WEB=0` (`cargo xtask test --quick` skips the web
/// build): browser tests then skip; otherwise a missing build is an error.
pub fn web_dist() -> Result<Option<PathBuf>, String> {
    let dir = std::env::var_os("WIREMAP_WEB_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::process::workspace_root().join("web").join("dist"));
    if dir.join("index.html").is_file() {
        return Ok(Some(dir));
    }
    if std::env::var("WIREMAP_REQUIRE_WEB").is_ok_and(|v| v == "0") {
        return Ok(None);
    }
    Err(format!(
        "the web app is not built in {} (run `trunk build --release`, or `cargo xtask test`)",
        dir.display()
    ))
}

/// The value of the metric line `name` (with labels, exactly as written),
/// 0 when absent.
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            (k == name).then(|| v.trim().parse().ok()).flatten()
        })
        .unwrap_or(0.0)
}

/// A plain HTTP/1.1 GET; the body.
fn http_get(addr: &str, path: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("GET {path}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("GET {path}: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .map_err(|e| format!("GET {path}: {e}"))?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("GET {path}: no header end"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("GET {path}: {}", head.lines().next().unwrap_or("")));
    }
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Ok(dechunk(body));
    }
    Ok(body.to_string())
}

/// The body of a chunked response (sizes in hex, each chunk on its own).
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_reads_labelled_lines_and_defaults_to_zero() {
        let text = "# HELP x y\nwiremap_relay_viewers 2\n\
                    wiremap_relay_dropped_total{reason=\"queue_full\"} 17\n";
        assert_eq!(metric(text, "wiremap_relay_viewers"), 2.0);
        assert_eq!(
            metric(text, "wiremap_relay_dropped_total{reason=\"queue_full\"}"),
            17.0
        );
        assert_eq!(metric(text, "wiremap_relay_probes"), 0.0);
    }

    #[test]
    fn dechunk_joins_chunks() {
        assert_eq!(dechunk("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), "abcde");
        assert_eq!(dechunk("zz\r\n"), "");
    }
}
