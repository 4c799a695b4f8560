//! Native driver of the side-by-side benchmark. It writes the graphs as
//! JSON into the site directory, runs our layout natively and Graphviz
//! `sfdp`, serves the site to headless Chromium (our WASM build and the JS
//! peers run there and POST their final positions back), computes the
//! quality figure of every engine with one function, and prints Markdown.
//!
//! Usage: `wasm-bench --site DIR [--small] [--repeat N] [--no-browser]
//! [--chromium PATH] [--sfdp PATH] [--timeout-s N]`; `run.sh` builds the
//! site and calls it.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod native;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if let Err(e) = native::run() {
        eprintln!("wasm-bench: {e}");
        std::process::exit(1);
    }
}
