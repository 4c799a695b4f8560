//! `cargo xtask demo`: the lab (three simulated nodes of real services in
//! network namespaces) with one probe per node, the relay and the web app;
//! or, without root, a capture replayed in real time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::step::{self, Step};
use crate::tools::{self, Need};
use crate::workspace;

/// The sample capture in the repository (real traffic from the lab servers).
const SAMPLE_PCAP: &str = "tests/captures/mixed-small.pcap.xz";

#[derive(Debug)]
struct Options {
    pcap: Option<PathBuf>,
    port: u16,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        pcap: None,
        port: 8080,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--pcap" => {
                let v = it.next().ok_or("--pcap needs a file")?;
                o.pcap = Some(PathBuf::from(v));
            }
            "--port" => {
                let v = it.next().ok_or("--port needs a number")?;
                o.port = v
                    .parse()
                    .map_err(|_| format!("--port: `{v}` is not a port number"))?;
            }
            other => return Err(format!("unknown option `{other}` for `demo`")),
        }
    }
    Ok(o)
}

/// A command for one of the demo's long-running children: `setpriv
/// --pdeathsig TERM` (util-linux) makes the kernel send it SIGTERM when the
/// demo dies, even by SIGKILL, so a killed demo leaves no relay holding the
/// port and no probe behind for the next run.
fn tied(program: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--pdeathsig", "TERM", "--"]).arg(program);
    c
}

/// Processes and the lab, stopped in reverse order on drop (also on error).
#[derive(Debug, Default)]
struct Running {
    children: Vec<(String, Child)>,
    lab: Option<PathBuf>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.children.is_empty() && self.lab.is_none() {
            return;
        }
        let s = Step::start("stopping the demo");
        for (_, child) in self.children.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        for (name, child) in self.children.iter_mut().rev() {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if matches!(child.try_wait(), Ok(None)) {
                eprintln!("    {name} did not stop in 5 s; killing it");
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        if let Some(lab) = self.lab.take() {
            let _ = step::run(Command::new(lab).arg("down"));
        }
        s.done();
    }
}

impl Running {
    fn spawn(&mut self, name: &str, cmd: &mut Command) -> Result<(), String> {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start {name}: {e}"))?;
        self.children.push((name.to_string(), child));
        Ok(())
    }

    /// An error if any child has exited.
    fn check(&mut self) -> Result<(), String> {
        for (name, child) in &mut self.children {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("{name} exited unexpectedly ({status})"));
            }
        }
        Ok(())
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let opts = parse(args)?;
    let root = workspace::root();
    if opts.pcap.is_none() && !workspace::is_root() {
        return Err(format!(
            "the live demo needs root to create network namespaces; run it as root, \
             or replay a capture without root: cargo xtask demo --pcap {SAMPLE_PCAP}"
        ));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .map_err(|e| format!("could not install the Ctrl-C handler: {e}"))?;

    tools::ensure_all(Need {
        web_build: true,
        browser: false,
    })?;
    let s = Step::start("building the web app (trunk build --release)");
    crate::test::build_web(&root)?;
    s.done();
    let s = Step::start("building wiremap-relay, wiremap-probe and wiremap-lab (release)");
    step::run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .args([
                "build",
                "--release",
                "-p",
                "wiremap-relay",
                "-p",
                "wiremap-probe",
                "-p",
                "wiremap-e2e",
                "--bins",
            ]),
    )?;
    s.done();
    let bin = workspace::target_dir().join("release");

    let mut running = Running::default();
    let relay_addr = format!("127.0.0.1:{}", opts.port);
    running.spawn(
        "wiremap-relay",
        tied(&bin.join("wiremap-relay"))
            .args([
                "--listen",
                &relay_addr,
                "--insecure-no-auth",
                "--static-dir",
            ])
            .arg(root.join("web").join("dist"))
            .stdout(Stdio::null()),
    )?;
    let probe_url = format!("ws://{relay_addr}/ws/probe");

    match &opts.pcap {
        Some(pcap) => start_replay(&mut running, &bin, pcap, &probe_url)?,
        None => start_lab(&mut running, &bin, &probe_url)?,
    }

    eprintln!("\n    wiremap is running: open http://{relay_addr}/ in a browser");
    eprintln!("    (Ctrl-C stops everything and removes what the demo created)\n");
    while !stop.load(Ordering::SeqCst) {
        running.check()?;
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

fn start_lab(running: &mut Running, bin: &Path, probe_url: &str) -> Result<(), String> {
    let lab = bin.join("wiremap-lab");
    let s = Step::start("cleaning up after any earlier lab run");
    step::run(Command::new(&lab).arg("down"))?;
    s.done();
    let s = Step::start("bringing up the lab: 3 nodes, real servers and clients");
    running.lab = Some(lab.clone());
    let out = Command::new(&lab)
        .arg("up")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run wiremap-lab: {e}"))?;
    if !out.status.success() {
        return Err(format!("wiremap-lab up failed ({})", out.status));
    }
    s.done();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut topology = None;
    let mut nodes = Vec::new();
    for line in text.lines() {
        if let Some((key, value)) = line.split_once(": ") {
            if key == "topology" {
                topology = Some(value.trim().to_string());
            } else {
                nodes.push((key.to_string(), value.trim().to_string()));
            }
        }
    }
    let topology = topology.ok_or("wiremap-lab up printed no topology path")?;
    for (node, interfaces) in nodes {
        let mut cmd = tied(&bin.join("wiremap-probe"));
        cmd.args([
            "--node",
            &node,
            "--topology",
            &topology,
            "--relay",
            probe_url,
        ]);
        for i in interfaces.split(',').filter(|i| !i.is_empty()) {
            cmd.args(["--interface", i]);
        }
        running.spawn(&format!("wiremap-probe ({node})"), &mut cmd)?;
    }
    Ok(())
}

fn start_replay(
    running: &mut Running,
    bin: &Path,
    pcap: &Path,
    probe_url: &str,
) -> Result<(), String> {
    let mut path = pcap.to_path_buf();
    if path.extension().is_some_and(|e| e == "xz") {
        let plain = workspace::target_dir().join("demo-replay.pcap");
        let s = Step::start(format!("decompressing {}", pcap.display()));
        let out = Command::new("xz")
            .arg("-dc")
            .arg(pcap)
            .output()
            .map_err(|e| format!("could not run xz: {e}"))?;
        if !out.status.success() {
            return Err(format!("xz could not decompress {}", pcap.display()));
        }
        std::fs::write(&plain, out.stdout).map_err(|e| e.to_string())?;
        s.done();
        path = plain;
    }
    running.spawn(
        "wiremap-probe (replay)",
        tied(&bin.join("wiremap-probe"))
            .args(["--node", "replay", "--pcap"])
            .arg(&path)
            .args(["--pcap-realtime", "--pcap-loop", "--relay", probe_url]),
    )
}
