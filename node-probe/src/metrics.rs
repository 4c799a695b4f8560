//! `/metrics` in the Prometheus text format, served by a tiny HTTP/1.0
//! server on its own thread. The probe publishes its counters into it; a
//! scrape never touches the capture path.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::warn;

/// Largest request read from a scraper, in bytes.
pub const MAX_REQUEST_BYTES: usize = 8192;

/// Renders counters as Prometheus text (`wiremap_probe_<name>`).
pub fn render(counters: &[(String, u64)]) -> String {
    let mut s = String::new();
    for (name, v) in counters {
        let metric: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        s.push_str(&format!("wiremap_probe_{metric} {v}\n"));
    }
    s
}

/// The running metrics server.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    current: Arc<Mutex<Vec<(String, u64)>>>,
}

impl MetricsServer {
    pub fn start(addr: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let current: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
        let shared = current.clone();
        std::thread::Builder::new().name("metrics".into()).spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
                let mut buf = vec![0u8; MAX_REQUEST_BYTES];
                let mut got = 0;
                while got < buf.len() {
                    match conn.read(&mut buf[got..]) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got += n,
                    }
                    if buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let req = String::from_utf8_lossy(&buf[..got]);
                let path = req.split_whitespace().nth(1).unwrap_or("");
                let (status, body) = if path == "/metrics" {
                    let c = shared.lock().map(|c| c.clone()).unwrap_or_default();
                    ("200 OK", render(&c))
                } else {
                    ("404 Not Found", "not found\n".to_string())
                };
                let resp = format!(
                    "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                if let Err(e) = conn.write_all(resp.as_bytes()) {
                    warn!("metrics response failed: {e}");
                }
            }
        })?;
        Ok(MetricsServer { addr, current })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the served counters.
    pub fn publish(&self, counters: Vec<(String, u64)>) {
        if let Ok(mut c) = self.current.lock() {
            *c = counters;
        }
    }
}
