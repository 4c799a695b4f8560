//! Embedding the map in a portal: a page on another origin (a Python HTTP
//! server on its own port) frames the app with `?embed=1`. The app runs in
//! the iframe when the relay's `--frame-ancestors` names the portal, and
//! Chromium refuses to frame it when the relay keeps its default `'self'`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use wiremap_e2e::process::{free_port, spawn_relay, workspace_root, Proc};
use wiremap_e2e::webdriver::Browser;

const WAIT: Duration = Duration::from_secs(30);

fn relay(frame_ancestors: Option<&str>) -> (Proc, String) {
    let web_dist = std::env::var_os("WIREMAP_WEB_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("web").join("dist"));
    let extra: Vec<&str> = frame_ancestors
        .map(|fa| vec!["--frame-ancestors", fa])
        .unwrap_or_default();
    spawn_relay(&web_dist, &extra).expect("relay starts")
}

/// A portal page framing `app_url`; `window.framed` turns true on the
/// iframe's load event (which fires for a refused frame too).
fn portal(dir: &std::path::Path, app_url: &str) -> (Proc, String) {
    std::fs::write(
        dir.join("index.html"),
        format!(
            "<!doctype html><title>portal</title><h1>Team portal</h1>\
             <iframe id=\"map\" src=\"{app_url}\" width=\"900\" height=\"560\" \
             onload=\"window.framed = true\"></iframe>"
        ),
    )
    .unwrap();
    let port = free_port().unwrap();
    let p = Proc::spawn(
        "portal",
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir),
    )
    .expect("python http server");
    let url = format!("http://127.0.0.1:{port}/");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "portal server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (p, url)
}

/// What runs inside the iframe: the app's status and whether its toolbar
/// is hidden, or None when no app runs there.
fn inside(b: &Browser) -> Option<(String, bool)> {
    b.switch_to_frame("#map").expect("the iframe exists");
    let v = b.execute(
        "const s = document.querySelector('#status'); const t = document.querySelector('.toolbar'); \
         return s ? [s.dataset.state, t ? getComputedStyle(t).display === 'none' : true] : null;",
    );
    b.switch_to_top().expect("back to the portal");
    match v {
        Ok(Value::Array(a)) => Some((
            a[0].as_str().unwrap_or("").to_string(),
            a[1].as_bool().unwrap_or(false),
        )),
        _ => None,
    }
}

#[test]
fn the_map_embeds_where_the_relay_allows_it_and_nowhere_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The portal's origin must be known before the relay starts.
    let port = free_port().unwrap();
    let portal_origin = format!("http://127.0.0.1:{port}");
    let (_allowed_relay, allowed_url) = relay(Some(&format!("'self' {portal_origin}")));
    let (_default_relay, default_url) = relay(None);

    std::fs::write(
        dir.path().join("index.html"),
        format!(
            "<!doctype html><title>portal</title><h1>Team portal</h1>\
             <iframe id=\"map\" src=\"{allowed_url}/?embed=1&group=namespace\" width=\"900\" height=\"560\" \
             onload=\"window.framed = true\"></iframe>"
        ),
    )
    .unwrap();
    let _portal = Proc::spawn(
        "portal",
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir.path()),
    )
    .expect("python http server");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "portal server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let browser = Browser::start().expect("headless chromium");
    browser
        .goto(&format!("{portal_origin}/"))
        .expect("open the portal");
    browser
        .wait_for("return window.framed === true;", WAIT)
        .expect("the iframe loads");
    let deadline = std::time::Instant::now() + WAIT;
    let state = loop {
        let s = inside(&browser);
        if s.as_ref().is_some_and(|(st, _)| st == "connected")
            || std::time::Instant::now() > deadline
        {
            break s;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        state,
        Some(("connected".to_string(), true)),
        "the app runs in the allowed iframe, connected, toolbar hidden by ?embed=1"
    );
    let shot = workspace_root()
        .join("artifacts")
        .join("web_embed_allowed.png");
    browser.screenshot(&shot).expect("screenshot");
    println!("screenshot saved to {}", shot.display());

    // The same portal framing a relay that only allows 'self'.
    let other = tempfile::tempdir().expect("tempdir");
    let (_portal2, portal2_url) = portal(other.path(), &format!("{default_url}/?embed=1"));
    browser.goto(&portal2_url).expect("open the second portal");
    browser
        .wait_for("return window.framed === true;", WAIT)
        .expect("the iframe loads (an error page)");
    // Give a framed app the time it had above to start; none may appear.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(inside(&browser), None, "the refused frame runs no app");
    // The app itself is fine at its own origin.
    browser
        .goto(&format!("{default_url}/"))
        .expect("open the app");
    browser
        .wait_for(
            "return document.querySelector('#status')?.dataset.state === 'connected';",
            WAIT,
        )
        .expect("the app runs top-level");
    let shot = workspace_root()
        .join("artifacts")
        .join("web_embed_refused_portal.png");
    browser.goto(&portal2_url).expect("portal again");
    std::thread::sleep(Duration::from_secs(2));
    browser.screenshot(&shot).expect("screenshot");
}
