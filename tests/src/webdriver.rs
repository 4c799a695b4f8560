//! A minimal W3C WebDriver client for driving headless Chromium through
//! `chromedriver`: sessions, navigation, script execution, screenshots.
//! Plain HTTP/1.1 over std sockets, one request per connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::process::free_port;

/// Chromium flags for running as root in a sandbox-less container
/// (see the toolchain notes): headless, no network chatter, fresh profile.
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,800",
];

/// A running chromedriver and one browser session; both end on drop.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub fn start() -> Result<Browser, String> {
        let port = free_port()?;
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("chromedriver could not start ({e}); `cargo xtask test` installs it")
            })?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            if Instant::now() > deadline {
                return Err("chromedriver did not start listening within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!(
            "--user-data-dir={}",
            browser._profile.path().display()
        ));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
        }}});
        let v = browser.call("POST", "/session", Some(caps))?;
        browser.session = v["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {v}"))?
            .to_string();
        Ok(browser)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut s = TcpStream::connect(self.addr).map_err(|e| format!("chromedriver: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(60))).ok();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        let raw =
            read_response(&mut s).map_err(|e| format!("chromedriver {method} {path}: {e}"))?;
        let payload = String::from_utf8_lossy(&raw);
        let payload = payload.as_ref();
        let v: Value = serde_json::from_str(payload)
            .map_err(|e| format!("chromedriver sent bad JSON ({e}): {payload}"))?;
        if let Some(err) = v["value"].get("error") {
            return Err(format!(
                "webdriver {method} {path}: {err}: {}",
                v["value"]["message"]
            ));
        }
        Ok(v)
    }

    fn session_path(&self, tail: &str) -> String {
        format!("/session/{}{tail}", self.session)
    }

    pub fn goto(&self, url: &str) -> Result<(), String> {
        self.call(
            "POST",
            &self.session_path("/url"),
            Some(json!({ "url": url })),
        )
        .map(|_| ())
    }

    /// Runs `script` (a function body; `return` gives the result) in the page.
    pub fn execute(&self, script: &str) -> Result<Value, String> {
        let v = self.call(
            "POST",
            &self.session_path("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )?;
        Ok(v["value"].clone())
    }

    /// Polls `script` until it returns a truthy value or `timeout` passes.
    pub fn wait_for(&self, script: &str, timeout: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.execute(script)?;
            let truthy =
                !matches!(v, Value::Null | Value::Bool(false)) && v != json!(0) && v != json!("");
            if truthy {
                return Ok(v);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "page condition not met within {timeout:?}: {script}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `script` with `args` (available as `arguments[i]`).
    pub fn execute_with(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        let v = self.call(
            "POST",
            &self.session_path("/execute/sync"),
            Some(json!({"script": script, "args": args})),
        )?;
        Ok(v["value"].clone())
    }

    /// The current URL of the top-level page.
    pub fn url(&self) -> Result<String, String> {
        let v = self.call("GET", &self.session_path("/url"), None)?;
        v["value"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("no URL in {v}"))
    }

    /// Makes the first element matching `css` (an `<iframe>`) the context
    /// of later scripts.
    pub fn switch_to_frame(&self, css: &str) -> Result<(), String> {
        let found = self.call(
            "POST",
            &self.session_path("/element"),
            Some(json!({"using": "css selector", "value": css})),
        )?;
        let element = found["value"].clone();
        if !element.is_object() {
            return Err(format!("no element {css}: {found}"));
        }
        self.call(
            "POST",
            &self.session_path("/frame"),
            Some(json!({ "id": element })),
        )
        .map(|_| ())
    }

    /// Returns script context to the top-level page.
    pub fn switch_to_top(&self) -> Result<(), String> {
        self.call(
            "POST",
            &self.session_path("/frame"),
            Some(json!({ "id": Value::Null })),
        )
        .map(|_| ())
    }

    /// Saves a PNG screenshot of the viewport.
    pub fn screenshot(&self, path: &Path) -> Result<(), String> {
        let v = self.call("GET", &self.session_path("/screenshot"), None)?;
        let b64 = v["value"].as_str().ok_or("no screenshot data")?;
        let png = crate::base64::decode(b64)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(path, png).map_err(|e| e.to_string())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &self.session_path(""), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Reads one HTTP/1.1 response body: by Content-Length when given (the
/// driver may keep the connection open), else until the peer closes.
fn read_response(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::other(
                "connection closed before the headers ended",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let mut body = buf.split_off(head_end);
    match length {
        Some(len) => {
            while body.len() < len {
                let n = s.read(&mut chunk)?;
                if n == 0 {
                    return Err(std::io::Error::other("connection closed mid-body"));
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(len);
        }
        None => {
            s.read_to_end(&mut body)?;
        }
    }
    Ok(body)
}
