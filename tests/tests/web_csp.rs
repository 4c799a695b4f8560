//! The app behind a strict Content-Security-Policy, as a proxy in front of
//! the relay may set one (deploy/README.md): the built app is served with
//! the policy in a `<meta>` of its page. Under `worker-src 'self'` (here
//! by way of `script-src`, which it falls back to) the raster worker
//! starts from the app's own `raster-worker.js`, which a `blob:` URL
//! could not; under `worker-src 'none'` no worker starts, the page says
//! so at once (`data-raster-worker="page"`), and the app runs. Without
//! the script, the policy refuses the `blob:` URL too, and with no policy
//! the `blob:` URL stands in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wiremap_e2e::lab::stack::web_dist;
use wiremap_e2e::process::{spawn_relay, workspace_root};
use wiremap_e2e::webdriver::Browser;

const WAIT: Duration = Duration::from_secs(30);

/// What the app needs, and nothing more: its scripts and the inline one
/// Trunk writes, WebAssembly, its styles, its WebSocket, exported images.
const STRICT: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; \
                      style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data: blob:";

/// The raster worker's script in the built app.
const WORKER_SCRIPT: &str = "raster-worker.js";

/// A copy of the built app in `dir` whose page carries `policy` (none if
/// empty), with or without the worker's script.
fn app_with_policy(dist: &Path, dir: &Path, policy: &str, script: bool) -> PathBuf {
    assert!(
        dist.join(WORKER_SCRIPT).is_file(),
        "the build ships the raster worker's script"
    );
    for entry in std::fs::read_dir(dist).expect("the built app") {
        let entry = entry.expect("a file of the built app");
        let wanted = script || entry.file_name() != WORKER_SCRIPT;
        if wanted && entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
        }
    }
    let page = dir.join("index.html");
    let html = std::fs::read_to_string(&page).expect("index.html");
    let meta =
        format!("<head>\n<meta http-equiv=\"Content-Security-Policy\" content=\"{policy}\">");
    assert!(html.contains("<head>"), "the page has a head");
    if !policy.is_empty() {
        std::fs::write(&page, html.replacen("<head>", &meta, 1)).expect("write the page");
    }
    dir.to_path_buf()
}

/// Opens the app under `policy` (with or without the worker's script);
/// the map canvas's `data-raster-worker` once the worker's start has
/// ended.
fn worker_use(browser: &Browser, dist: &Path, policy: &str, script: bool) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app_with_policy(dist, dir.path(), policy, script);
    let (_relay, url) = spawn_relay(&app, &[]).expect("relay starts");
    browser.goto(&format!("{url}/")).expect("open the app");
    browser
        .wait_for(
            "return document.querySelector('#status')?.dataset.state === 'connected';",
            WAIT,
        )
        .expect("the app runs and connects under the policy");
    let v = browser
        .wait_for(
            "const w = document.querySelector('#map-canvas')?.dataset.rasterWorker; \
             return w && w !== 'starting' && w !== 'off' ? w : null;",
            WAIT,
        )
        .expect("the raster worker's start ends");
    let shot = workspace_root().join("artifacts").join(format!(
        "web_csp_{}{}.png",
        v.as_str().unwrap_or("unknown"),
        if policy.is_empty() { "_no_policy" } else { "" }
    ));
    browser.screenshot(&shot).expect("screenshot");
    v.as_str().unwrap_or_default().to_string()
}

#[test]
fn under_a_strict_policy_the_worker_starts_from_the_apps_own_script() {
    let Some(dist) = web_dist().expect("the built web app") else {
        println!("skipped: the web app is not built (WIREMAP_REQUIRE_WEB=0)");
        return;
    };
    let browser = Browser::start().expect("headless chromium");
    // Only the same-origin script can run here.
    assert_eq!(worker_use(&browser, &dist, STRICT, true), "script");
    // The `blob:` URL is refused by the same policy: without the script
    // no worker starts (so the script is what ran above).
    assert_eq!(worker_use(&browser, &dist, STRICT, false), "page");
    // Where no policy refuses it, the `blob:` URL stands in for a script
    // that does not load.
    assert_eq!(worker_use(&browser, &dist, "", false), "blob");
    // No worker at all: the page paints alone, and says so.
    let none = format!("{STRICT}; worker-src 'none'");
    assert_eq!(worker_use(&browser, &dist, &none, true), "page");
}
