//! Serves the site on 127.0.0.1, starts headless Chromium on the page and
//! collects what the page POSTs (`/result`, `/aggregation`, `/done`,
//! `/error`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Error;

/// Largest request body accepted (a 10k-node result is ≈ 400 kB).
const BODY_CAP: usize = 64 << 20;

#[derive(Debug)]
pub(crate) struct PageRun {
    pub(crate) graph: String,
    pub(crate) engine: String,
    pub(crate) setup_ms: f64,
    pub(crate) run_ms: f64,
    pub(crate) setup_cpu_ms: f64,
    pub(crate) run_cpu_ms: f64,
    pub(crate) iterations: f64,
    pub(crate) totals_ms: Vec<f64>,
    pub(crate) cpus_ms: Vec<f64>,
    pub(crate) xy: Vec<(f64, f64)>,
    pub(crate) note: String,
}

#[derive(Debug)]
pub(crate) struct AggCase {
    pub(crate) name: String,
    pub(crate) edges: f64,
    pub(crate) times_ms: Vec<f64>,
    pub(crate) cpu_ms_per_run: f64,
}

#[derive(Debug)]
pub(crate) struct Aggregation {
    pub(crate) entries: f64,
    pub(crate) fill_ms: f64,
    pub(crate) cases: Vec<AggCase>,
}

#[derive(Debug, Default)]
pub(crate) struct PageOutput {
    pub(crate) runs: Vec<PageRun>,
    pub(crate) aggregation: Option<Aggregation>,
    pub(crate) user_agent: String,
}

enum Msg {
    Post(String, Value),
    Bad(String),
}

fn num(v: &Value, k: &str) -> Result<f64, Error> {
    v[k].as_f64()
        .ok_or(format!("page result without number {k:?}"))
}

fn nums(v: &Value, k: &str) -> Result<Vec<f64>, Error> {
    v[k].as_array()
        .ok_or(format!("page result without array {k:?}"))?
        .iter()
        // JSON has no NaN: a diverged engine's NaN arrives as null.
        .map(|x| Ok(x.as_f64().unwrap_or(f64::NAN)))
        .collect()
}

fn page_run(v: &Value) -> Result<PageRun, Error> {
    let flat = nums(v, "xy")?;
    Ok(PageRun {
        graph: v["graph"].as_str().unwrap_or_default().to_string(),
        engine: v["engine"].as_str().unwrap_or_default().to_string(),
        setup_ms: num(v, "setup_ms")?,
        run_ms: num(v, "run_ms")?,
        setup_cpu_ms: num(v, "setup_cpu_ms")?,
        run_cpu_ms: num(v, "run_cpu_ms")?,
        iterations: num(v, "iterations")?,
        totals_ms: nums(v, "totals_ms")?,
        cpus_ms: nums(v, "cpus_ms")?,
        xy: flat.chunks_exact(2).map(|c| (c[0], c[1])).collect(),
        note: v["note"].as_str().unwrap_or_default().to_string(),
    })
}

fn aggregation(v: &Value) -> Result<Aggregation, Error> {
    let cases = v["cases"]
        .as_array()
        .ok_or("aggregation without cases")?
        .iter()
        .map(|c| {
            Ok(AggCase {
                name: c["name"].as_str().unwrap_or_default().to_string(),
                edges: num(c, "edges")?,
                times_ms: nums(c, "times_ms")?,
                cpu_ms_per_run: num(c, "cpu_ms_per_run")?,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Aggregation {
        entries: num(v, "entries")?,
        fill_ms: num(v, "fill_ms")?,
        cases,
    })
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn respond(s: &mut TcpStream, status: &str, ctype: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}

/// CPU milliseconds (user + system) of every renderer process below the
/// browser process `root`, from /proc (10 ms ticks).
fn renderer_cpu_ms(root: u32) -> f64 {
    let mut procs: Vec<(u32, u32, f64)> = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = after.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
        // After the name: state, ppid, …; utime and stime are at 11 and 12.
        procs.push((pid, num(1) as u32, (num(11) + num(12)) * 10.0));
    }
    let mut family = vec![root];
    loop {
        let before = family.len();
        for &(pid, ppid, _) in &procs {
            if family.contains(&ppid) && !family.contains(&pid) {
                family.push(pid);
            }
        }
        if family.len() == before {
            break;
        }
    }
    procs
        .iter()
        .filter(|(pid, _, _)| *pid != root && family.contains(pid))
        .filter(|(pid, _, _)| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.windows(15).any(|w| w == b"--type=renderer"))
                .unwrap_or(false)
        })
        .map(|p| p.2)
        .sum()
}

fn handle(
    mut s: TcpStream,
    root: &Path,
    tx: &mpsc::Sender<Msg>,
    browser: &AtomicU32,
) -> Result<(), Error> {
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut r = BufReader::new(s.try_clone().map_err(|e| e.to_string())?);
    let mut line = String::new();
    if r.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
        return Ok(()); // a preconnect that never sent a request
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).map_err(|e| e.to_string())? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().map_err(|_| "bad Content-Length")?;
            }
        }
    }
    let path = target.split('?').next().unwrap_or("/");
    match method {
        "GET" if path == "/cpu" => {
            let ms = renderer_cpu_ms(browser.load(Ordering::SeqCst));
            respond(&mut s, "200 OK", "text/plain", ms.to_string().as_bytes());
        }
        "GET" => {
            let rel = path.trim_start_matches('/');
            let rel = if rel.is_empty() { "index.html" } else { rel };
            if rel.split('/').any(|c| c == ".." || c.is_empty()) {
                respond(&mut s, "400 Bad Request", "text/plain", b"bad path");
                return Ok(());
            }
            let file: PathBuf = root.join(rel);
            match std::fs::read(&file) {
                Ok(body) => respond(&mut s, "200 OK", content_type(&file), &body),
                Err(_) => respond(&mut s, "404 Not Found", "text/plain", b"not found"),
            }
        }
        "POST" if length <= BODY_CAP => {
            let mut body = vec![0u8; length];
            r.read_exact(&mut body).map_err(|e| e.to_string())?;
            let msg = match serde_json::from_slice::<Value>(&body) {
                Ok(v) => Msg::Post(path.to_string(), v),
                Err(e) => Msg::Bad(format!("POST {path}: bad JSON: {e}")),
            };
            respond(&mut s, "200 OK", "text/plain", b"ok");
            let _ = tx.send(msg);
        }
        _ => respond(&mut s, "405 Method Not Allowed", "text/plain", b"no"),
    }
    Ok(())
}

/// Kills the browser when the run ends, however it ends.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn run(
    site: &Path,
    chromium: &str,
    graphs: &[&str],
    repeat: usize,
    timeout: Duration,
) -> Result<PageOutput, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let (tx, rx) = mpsc::channel();
    let root = site.to_path_buf();
    let browser_pid = Arc::new(AtomicU32::new(0));
    let pid = browser_pid.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let (root, tx, pid) = (root.clone(), tx.clone(), pid.clone());
            std::thread::spawn(move || {
                if let Err(e) = handle(s, &root, &tx, &pid) {
                    let _ = tx.send(Msg::Bad(e));
                }
            });
        }
    });
    let profile = site.join("chromium-profile");
    let _ = std::fs::remove_dir_all(&profile);
    let url = format!(
        "http://127.0.0.1:{port}/index.html?graphs={}&repeat={repeat}",
        graphs.join(",")
    );
    eprintln!("chromium: {url}");
    let child = Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{chromium}: {e}"))?;
    browser_pid.store(child.id(), Ordering::SeqCst);
    let _browser = Browser(child);
    let deadline = Instant::now() + timeout;
    let mut out = PageOutput::default();
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .ok_or("timed out waiting for the page")?;
        match rx.recv_timeout(left) {
            Ok(Msg::Post(path, v)) => match path.as_str() {
                "/result" => {
                    let r = page_run(&v)?;
                    eprintln!(
                        "chromium: {} {}: {:.0} ms",
                        r.graph,
                        r.engine,
                        r.setup_ms + r.run_ms
                    );
                    out.runs.push(r);
                }
                "/aggregation" => out.aggregation = Some(aggregation(&v)?),
                "/done" => {
                    out.user_agent = v["user_agent"].as_str().unwrap_or_default().to_string();
                    return Ok(out);
                }
                "/error" => {
                    return Err(format!(
                        "the page failed: {}",
                        v["message"].as_str().unwrap_or("?")
                    ))
                }
                other => return Err(format!("unexpected POST {other}")),
            },
            Ok(Msg::Bad(e)) => eprintln!("http: {e}"),
            Err(_) => return Err("timed out waiting for the page".into()),
        }
    }
}
