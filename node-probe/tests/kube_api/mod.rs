//! A scripted stand-in for kube-apiserver: a real HTTP/1.1 server on
//! 127.0.0.1:0 that answers list requests with the fixture lists and watch
//! requests with the fixture event streams (chunked, one JSON event per
//! line, as the apiserver streams them), plus a kubeconfig that points a
//! real `kube` client at it.
//!
//! The responses in `tests/fixtures/k8s/` are reconstructions of what
//! kube-apiserver v1.35 sends (field for field, in its order), because no
//! API server can run on this machine; see that folder's README.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The fixture folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k8s")
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// One answer to a list request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this fixture file as the body.
    Ok(&'static str),
    /// This status code with this fixture file (a `Status` object).
    Status(u16, &'static str),
}

/// One piece of a watch response.
#[derive(Debug, Clone)]
pub enum Step {
    /// Stream every line of this fixture file as one chunk each.
    Send(&'static str),
    /// Hold the stream until the test opens this gate.
    Gate(&'static str),
    /// End the response (what the apiserver does at `timeoutSeconds`).
    End,
}

/// Per resource (`pods`, `services`, `endpointslices`, `nodes`): the list
/// answers in order (the last one repeats), and the watch responses in
/// order (when they run out, a watch is held open without events).
#[derive(Debug, Default, Clone)]
pub struct Script {
    pub lists: HashMap<&'static str, Vec<Reply>>,
    pub watches: HashMap<&'static str, Vec<Vec<Step>>>,
}

#[derive(Debug, Default)]
struct Gates {
    open: Mutex<HashSet<String>>,
    changed: Condvar,
}

#[derive(Debug)]
struct State {
    lists: HashMap<String, VecDeque<Reply>>,
    watches: HashMap<String, VecDeque<Vec<Step>>>,
    /// Every request: "GET /path?query" and its Authorization header.
    log: Vec<(String, String)>,
}

/// The running server.
#[derive(Debug)]
pub struct FakeApi {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    gates: Arc<Gates>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

fn resource(path: &str) -> Option<&'static str> {
    match path {
        "/api/v1/pods" => Some("pods"),
        "/api/v1/services" => Some("services"),
        "/apis/discovery.k8s.io/v1/endpointslices" => Some("endpointslices"),
        "/api/v1/nodes" => Some("nodes"),
        _ => None,
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        _ => "Error",
    }
}

/// Headers every apiserver response carries.
fn common_headers(code: u16) -> String {
    format!(
        "HTTP/1.1 {code} {}\r\nAudit-Id: {:08x}-0000-4000-8000-000000000000\r\n\
         Cache-Control: no-cache, private\r\nContent-Type: application/json\r\n\
         X-Kubernetes-Pf-Flowschema-Uid: 5f3c1b8e-2a4d-4c6e-9f1a-7b8c9d0e1f2a\r\n\
         X-Kubernetes-Pf-Prioritylevel-Uid: 8e7d6c5b-4a39-4281-8f0e-d1c2b3a49586\r\n",
        reason(code),
        fastrand::u32(..)
    )
}

fn write_body(s: &mut TcpStream, code: u16, body: &str) -> std::io::Result<()> {
    let head = format!(
        "{}Content-Length: {}\r\n\r\n",
        common_headers(code),
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body.as_bytes())?;
    s.flush()
}

impl FakeApi {
    pub fn start(script: Script) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State {
            lists: script
                .lists
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect(),
            watches: script
                .watches
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect(),
            log: Vec::new(),
        }));
        let gates = Arc::new(Gates::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (st, g, sp) = (state.clone(), gates.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (st, g, sp) = (st.clone(), g.clone(), sp.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &st, &g, &sp);
                });
            }
        });
        FakeApi {
            addr,
            state,
            gates,
            stop,
            accept: Some(accept),
        }
    }

    /// Lets every watch held at `gate` go on.
    pub fn open_gate(&self, gate: &str) {
        self.gates.open.lock().unwrap().insert(gate.to_string());
        self.gates.changed.notify_all();
    }

    /// Requests seen so far: ("GET /path?query", authorization header).
    pub fn log(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().log.clone()
    }

    /// A kubeconfig for this server, written into `dir`.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fixture\n  cluster:\n    \
             server: http://{}\ncontexts:\n- name: fixture\n  context:\n    cluster: fixture\n    \
             user: probe\n    namespace: default\ncurrent-context: fixture\nusers:\n- name: probe\n  \
             user:\n    token: fixture-token\n",
            self.addr
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.gates.changed.notify_all();
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request head; `None` when the peer closed or we stop.
fn read_head(r: &mut BufReader<TcpStream>, stop: &AtomicBool) -> Option<Vec<String>> {
    let mut lines = Vec::new();
    let mut line = String::new();
    loop {
        match r.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) => {
                let l = line.trim_end().to_string();
                line.clear();
                if l.is_empty() {
                    if lines.is_empty() {
                        continue;
                    }
                    return Some(lines);
                }
                lines.push(l);
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                if stop.load(Ordering::SeqCst) {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}

fn serve(
    conn: TcpStream,
    state: &Mutex<State>,
    gates: &Gates,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut out = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    while let Some(head) = read_head(&mut reader, stop) {
        let mut parts = head[0].split(' ');
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let auth = head
            .iter()
            .find_map(|h| {
                let (k, v) = h.split_once(':')?;
                k.eq_ignore_ascii_case("authorization")
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        state
            .lock()
            .unwrap()
            .log
            .push((format!("{method} {target}"), auth));
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let watch = query
            .split('&')
            .any(|kv| kv == "watch=true" || kv == "watch=1");
        let Some(res) = resource(path).filter(|_| method == "GET") else {
            let body = concat!(
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","#,
                r#""message":"the server could not find the requested resource","#,
                r#""reason":"NotFound","details":{},"code":404}"#,
                "\n"
            );
            write_body(&mut out, 404, body)?;
            continue;
        };
        if !watch {
            let reply = {
                let mut st = state.lock().unwrap();
                let q = st.lists.entry(res.to_string()).or_default();
                if q.len() > 1 {
                    q.pop_front()
                } else {
                    q.front().cloned()
                }
            };
            match reply {
                Some(Reply::Ok(f)) => write_body(&mut out, 200, &fixture(f))?,
                Some(Reply::Status(code, f)) => write_body(&mut out, code, &fixture(f))?,
                None => write_body(&mut out, 404, "{}\n")?,
            }
            continue;
        }
        let steps = state
            .lock()
            .unwrap()
            .watches
            .get_mut(res)
            .and_then(|q| q.pop_front())
            .unwrap_or_default();
        out.write_all(
            format!("{}Transfer-Encoding: chunked\r\n\r\n", common_headers(200)).as_bytes(),
        )?;
        out.flush()?;
        let mut ended = false;
        for step in steps {
            match step {
                Step::Send(f) => {
                    for line in fixture(f).lines().filter(|l| !l.trim().is_empty()) {
                        let chunk = format!("{line}\n");
                        out.write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())?;
                        out.flush()?;
                    }
                }
                Step::Gate(g) => {
                    let mut open = gates.open.lock().unwrap();
                    while !open.contains(g) {
                        if stop.load(Ordering::SeqCst) {
                            return Ok(());
                        }
                        open = gates
                            .changed
                            .wait_timeout(open, Duration::from_millis(100))
                            .unwrap()
                            .0;
                    }
                }
                Step::End => {
                    out.write_all(b"0\r\n\r\n")?;
                    out.flush()?;
                    ended = true;
                    break;
                }
            }
        }
        if !ended {
            // Held open, like a watch with nothing to say, until we stop or
            // the client goes away.
            let mut probe = [0u8; 1];
            loop {
                if stop.load(Ordering::SeqCst) {
                    return Ok(());
                }
                match std::io::Read::read(reader.get_mut(), &mut probe) {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            || e.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(_) => return Ok(()),
                }
            }
        }
    }
    Ok(())
}

/// The standard script: every kind listed from the fixtures, then watched
/// with a bookmark and held open.
pub fn quiet_script() -> Script {
    let mut s = Script::default();
    for (res, list, watch) in [
        ("pods", "pods-list-1.json", "pods-watch-3.jsonl"),
        ("services", "services-list.json", "services-watch.jsonl"),
        (
            "endpointslices",
            "endpointslices-list.json",
            "endpointslices-watch.jsonl",
        ),
        ("nodes", "nodes-list.json", "nodes-watch.jsonl"),
    ] {
        s.lists.insert(res, vec![Reply::Ok(list)]);
        s.watches.insert(res, vec![vec![Step::Send(watch)]]);
    }
    s
}
