//! Child processes that end with the test: the project's binaries, real
//! servers and clients. A process is killed when its guard drops.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Path of one of the workspace's binaries. `cargo xtask test` builds them
/// first and sets WIREMAP_BIN_DIR; otherwise target/debug is assumed.
pub fn binary(name: &str) -> Result<PathBuf, String> {
    let dir = std::env::var_os("WIREMAP_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join("debug"));
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is not built; run `cargo build --workspace --bins` first (cargo xtask test does)",
            path.display()
        ))
    }
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// A child that is killed on drop.
#[derive(Debug)]
pub struct Proc {
    pub name: String,
    child: Child,
}

impl Proc {
    /// Spawns `cmd` with stdout and stderr captured into the test's output.
    pub fn spawn(name: &str, cmd: &mut Command) -> Result<Proc, String> {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start {name}: {e}"))?;
        Ok(Proc {
            name: name.to_string(),
            child,
        })
    }

    /// Spawns `cmd` and waits until a line of its stdout starts with
    /// `prefix`; returns the rest of that line. Later lines are forwarded.
    pub fn spawn_until_line(
        name: &str,
        cmd: &mut Command,
        prefix: &str,
        timeout: Duration,
    ) -> Result<(Proc, String), String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start {name}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        let prefix_owned = prefix.to_string();
        let label = name.to_string();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.strip_prefix(&prefix_owned) {
                        let _ = tx.send(rest.trim().to_string());
                        sent = true;
                        continue;
                    }
                }
                println!("[{label}] {line}");
            }
        });
        let mut proc = Proc {
            name: name.to_string(),
            child,
        };
        match rx.recv_timeout(timeout) {
            Ok(rest) => Ok((proc, rest)),
            Err(_) => {
                let status = proc.child.try_wait().ok().flatten();
                Err(format!(
                    "{name} did not print `{prefix}` within {timeout:?} (exit status: {status:?})"
                ))
            }
        }
    }

    /// true while the process runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> Result<std::process::ExitStatus, String> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().map_err(|e| e.to_string())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `wiremap-relay` on a free loopback port without auth, serving
/// `static_dir`, plus `extra` flags; returns it and its `http://` URL once
/// it says it is listening.
pub fn spawn_relay(static_dir: &std::path::Path, extra: &[&str]) -> Result<(Proc, String), String> {
    let mut cmd = Command::new(binary("wiremap-relay")?);
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--insecure-no-auth",
        "--static-dir",
    ])
    .arg(static_dir)
    .args(extra);
    Proc::spawn_until_line(
        "relay",
        &mut cmd,
        "wiremap-relay listening on ",
        Duration::from_secs(20),
    )
}
