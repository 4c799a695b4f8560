//! Installing what is missing, from the package registries only: the wasm
//! target (rustup), trunk and wasm-bindgen-cli (crates.io), wasm-opt (npm's
//! binaryen, since Debian 12's wasm-opt 108 silently breaks modules),
//! Chromium and its driver and the lab's servers (Debian's apt).

use std::path::Path;
use std::process::Command;

use crate::step::{self, Step};
use crate::workspace;

/// Trunk 0.22 needs a newer rustc than this project's; pin the last good one.
pub const TRUNK_VERSION: &str = "0.21.14";
/// wasm-opt version Trunk.toml pins (`[tools] wasm_opt = "version_132"`).
pub const BINARYEN_VERSION: &str = "132.0.0";

/// Debian packages the tests use: a real browser and its driver, tshark as an
/// independent oracle, iproute2 for network namespaces, python3 and curl for
/// real servers and clients.
pub const TEST_PACKAGES: &[&str] = &[
    "chromium",
    "chromium-driver",
    "tshark",
    "iproute2",
    "python3",
    "curl",
    "xz-utils",
];

/// What a command needs.
#[derive(Debug, Clone, Copy)]
pub struct Need {
    pub web_build: bool,
    pub browser: bool,
}

impl Need {
    pub fn everything() -> Need {
        Need {
            web_build: true,
            browser: true,
        }
    }
}

pub fn ensure_all(need: Need) -> Result<(), String> {
    if need.web_build {
        ensure_wasm_target()?;
        ensure_trunk()?;
        ensure_wasm_bindgen()?;
        ensure_wasm_opt()?;
    }
    if need.browser {
        ensure_apt(TEST_PACKAGES)?;
    }
    Ok(())
}

fn ensure_wasm_target() -> Result<(), String> {
    let installed = step::output(Command::new("rustup").args(["target", "list", "--installed"]))
        .unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    let s = Step::start("installing the wasm32-unknown-unknown target (rustup)");
    step::run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    s.done();
    Ok(())
}

fn version_of(program: &str) -> Option<String> {
    step::output(Command::new(program).arg("--version")).map(|v| v.trim().to_string())
}

fn ensure_trunk() -> Result<(), String> {
    if version_of("trunk").is_some_and(|v| v.ends_with(TRUNK_VERSION)) {
        return Ok(());
    }
    let s = Step::start(format!(
        "installing trunk {TRUNK_VERSION} from crates.io (about 9 minutes on 2 cores)"
    ));
    step::run(Command::new("cargo").args([
        "install",
        "--locked",
        &format!("trunk@{TRUNK_VERSION}"),
    ]))?;
    s.done();
    Ok(())
}

/// wasm-bindgen-cli must equal the `wasm-bindgen` crate in Cargo.lock.
pub fn wasm_bindgen_version() -> Result<String, String> {
    workspace::locked_version("wasm-bindgen")
        .ok_or_else(|| "Cargo.lock names no wasm-bindgen version; run `cargo fetch`".to_string())
}

fn ensure_wasm_bindgen() -> Result<(), String> {
    let want = wasm_bindgen_version()?;
    if version_of("wasm-bindgen").is_some_and(|v| v.ends_with(&want)) {
        return Ok(());
    }
    let s = Step::start(format!(
        "installing wasm-bindgen-cli {want} from crates.io (about 3 minutes)"
    ));
    // Not --locked: its lock file names a crate version the registry no longer serves.
    step::run(Command::new("cargo").args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        &want,
        "--force",
    ]))?;
    s.done();
    Ok(())
}

fn ensure_wasm_opt() -> Result<(), String> {
    let major = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    if version_of("wasm-opt").is_some_and(|v| v.contains(&format!("version {major}"))) {
        return Ok(());
    }
    if !step::have("npm") {
        ensure_apt(&["nodejs", "npm"])?;
    }
    let prefix = workspace::tool_cache().join("binaryen");
    let s = Step::start(format!(
        "installing wasm-opt (npm binaryen@{BINARYEN_VERSION}) into {}",
        prefix.display()
    ));
    step::run(Command::new("npm").args([
        "install",
        "--silent",
        "--no-audit",
        "--no-fund",
        "--prefix",
        &prefix.to_string_lossy(),
        &format!("binaryen@{BINARYEN_VERSION}"),
    ]))?;
    let bin = prefix.join("node_modules").join(".bin").join("wasm-opt");
    link_into_path(&bin, "wasm-opt")?;
    s.done();
    Ok(())
}

/// Puts `target` on PATH as `name`: /usr/local/bin when writable, else
/// ~/.cargo/bin (which rustup already put on PATH).
fn link_into_path(target: &Path, name: &str) -> Result<(), String> {
    let cargo_bin = workspace::tool_cache()
        .parent()
        .and_then(Path::parent)
        .map(|home| home.join(".cargo").join("bin"));
    let dirs = [Some(Path::new("/usr/local/bin").to_path_buf()), cargo_bin];
    for dir in dirs.into_iter().flatten() {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        if std::os::unix::fs::symlink(target, &link).is_ok() {
            return Ok(());
        }
    }
    Err(format!(
        "could not link {} into a directory on PATH",
        target.display()
    ))
}

fn installed(package: &str) -> bool {
    step::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_some_and(|s| s.contains("install ok installed"))
}

/// Installs the Debian packages that are missing.
pub fn ensure_apt(packages: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !workspace::is_root() {
        return Err(format!(
            "these Debian packages are missing and installing them needs root: {} \
             (run `sudo apt-get install {}`)",
            missing.join(" "),
            missing.join(" ")
        ));
    }
    let s = Step::start(format!("installing Debian packages: {}", missing.join(" ")));
    let lock = "DPkg::Lock::Timeout=600";
    step::run(Command::new("apt-get").args(["-o", lock, "-qq", "update"]))?;
    step::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args([
                "-o",
                lock,
                "-qq",
                "install",
                "-y",
                "--no-install-recommends",
            ])
            .args(&missing),
    )?;
    s.done();
    Ok(())
}
