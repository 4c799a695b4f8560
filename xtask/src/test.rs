//! `cargo xtask test`: every check CI runs, in the order that fails fastest.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::step::{self, Step};
use crate::tools::{self, Need};
use crate::workspace;

pub fn run(args: &[String]) -> Result<(), String> {
    let mut quick = false;
    for a in args {
        match a.as_str() {
            "--quick" => quick = true,
            other => return Err(format!("unknown option `{other}` for `test`")),
        }
    }
    let started = Instant::now();
    let root = workspace::root();
    let scratch = Scratch(workspace::target_dir().join("test-tmp"));
    warn_if_disk_is_short(&workspace::target_dir());
    let mut timings: Vec<(String, f64)> = Vec::new();
    let mut timed = |name: &str, f: &mut dyn FnMut() -> Result<(), String>| {
        let t = Instant::now();
        let s = Step::start(name);
        let r = f();
        timings.push((name.to_string(), t.elapsed().as_secs_f64()));
        r.map(|()| s.done())
            .map_err(|e| format!("step `{name}` failed: {e}"))
    };

    timed("install missing tools", &mut || {
        tools::ensure_all(Need {
            web_build: !quick,
            browser: true,
        })
    })?;
    timed("cargo fmt --check", &mut || {
        step::run(cargo(&root).args(["fmt", "--all", "--", "--check"]))
    })?;
    timed("clippy (host, -D warnings)", &mut || {
        step::run(cargo(&root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    if !quick {
        timed("clippy (web, wasm32, -D warnings)", &mut || {
            step::run(cargo(&root).args([
                "clippy",
                "-p",
                "wiremap-web",
                "--target",
                "wasm32-unknown-unknown",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        })?;
        timed("build the web app (trunk build --release)", &mut || {
            build_web(&root)
        })?;
    }
    timed("build binaries", &mut || {
        step::run(cargo(&root).args(["build", "--workspace", "--bins"]))
    })?;
    timed("cargo test (unit, integration, end-to-end)", &mut || {
        step::run(
            cargo(&root)
                .args(["test", "--workspace", "--no-fail-fast"])
                .env("WIREMAP_BIN_DIR", workspace::target_dir().join("debug"))
                .env("WIREMAP_WEB_DIST", root.join("web").join("dist"))
                .env("WIREMAP_REQUIRE_WEB", if quick { "0" } else { "1" })
                .env("TMPDIR", scratch.fresh()?),
        )
    })?;
    if !quick {
        timed("wasm tests in headless Chromium", &mut || {
            step::run(
                cargo(&root)
                    .args([
                        "test",
                        "-p",
                        "wiremap-web",
                        "--target",
                        "wasm32-unknown-unknown",
                    ])
                    .env("CHROMEDRIVER", "/usr/bin/chromedriver")
                    .env("TMPDIR", scratch.fresh()?),
            )
        })?;
    }
    timed("fuzz targets compile", &mut || check_fuzz_crates(&root))?;

    eprintln!(
        "\nxtask test: every step passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    for (name, secs) in &timings {
        eprintln!("    {secs:>7.1}s  {name}");
    }
    Ok(())
}

/// A temporary directory for the test steps (TMPDIR). Chromium and its driver
/// leave profile directories behind when a test runner kills them; pointing
/// them here and removing it after each step keeps them from piling up.
#[derive(Debug)]
struct Scratch(PathBuf);

impl Scratch {
    fn fresh(&self) -> Result<&Path, String> {
        let _ = std::fs::remove_dir_all(&self.0);
        std::fs::create_dir_all(&self.0)
            .map_err(|e| format!("cannot create {}: {e}", self.0.display()))?;
        Ok(&self.0)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A cold `cargo xtask test` writes about this much under the target
/// directory (measured; docs/benchmarks.md).
const COLD_BUILD_GIB: u64 = 6;

/// Says so up front when the target directory's file system has less free
/// space than a cold build needs, instead of failing half an hour later with
/// a linker's "No space left on device".
fn warn_if_disk_is_short(target: &Path) {
    let probe = target
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("."));
    let Some(out) = step::output(Command::new("df").args(["-Pk"]).arg(probe)) else {
        return;
    };
    let free_kib = out
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(free_kib) = free_kib {
        let free_gib = free_kib / (1024 * 1024);
        if free_gib < COLD_BUILD_GIB {
            eprintln!(
                "xtask: warning: {free_gib} GiB free on the file system of {}; \
                 a build from an empty target directory needs about {COLD_BUILD_GIB} GiB",
                target.display()
            );
        }
    }
}

fn cargo(root: &Path) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root);
    c
}

/// `trunk build --release` into web/dist, offline, with the pinned tools.
pub fn build_web(root: &Path) -> Result<(), String> {
    step::run(
        Command::new("trunk")
            .current_dir(root)
            .args(["build", "--release"])
            .env("TRUNK_OFFLINE", "true"),
    )
}

/// Every `fuzz/Cargo.toml` under the workspace (not members: cargo-fuzz crates).
fn fuzz_manifests(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            if !p.is_dir() || name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            if name == "fuzz" && p.join("Cargo.toml").is_file() {
                found.push(p.join("Cargo.toml"));
            } else if depth < 3 {
                stack.push((p, depth + 1));
            }
        }
    }
    found.sort();
    found
}

/// Fuzz targets keep compiling (their saved crashes are replayed as ordinary
/// tests in each crate; CI does not spend its time fuzzing).
fn check_fuzz_crates(root: &Path) -> Result<(), String> {
    let target = workspace::target_dir().join("fuzz-check");
    for manifest in fuzz_manifests(root) {
        step::run(
            cargo(root)
                .args(["check", "--quiet", "--bins", "--manifest-path"])
                .arg(&manifest)
                .env("CARGO_TARGET_DIR", &target),
        )?;
    }
    Ok(())
}
