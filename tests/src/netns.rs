//! A throw-away network namespace joined to the root namespace by a veth
//! pair: a real second host for tests, removed on drop (and found and
//! removed by name if a crashed run left it behind).

use std::process::{Command, Stdio};

/// Runs `ip` with `args`; errors carry the command and its stderr.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// true when the tests run as root (network namespaces need it).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Namespace `name` with address `inner` (CIDR) on its veth end and `outer`
/// (CIDR) on the root-namespace end, called `host_if`.
#[derive(Debug)]
pub struct VethHost {
    pub name: String,
    pub host_if: String,
}

impl VethHost {
    pub fn create(name: &str, host_if: &str, outer: &str, inner: &str) -> Result<VethHost, String> {
        if !is_root() {
            return Err("this test needs root to create network namespaces".into());
        }
        // A crashed earlier run may have left these behind.
        let _ = ip(&["netns", "del", name]);
        let _ = ip(&["link", "del", host_if]);
        let peer = format!("{host_if}p");
        let guard = VethHost {
            name: name.to_string(),
            host_if: host_if.to_string(),
        };
        ip(&["netns", "add", name])?;
        ip(&[
            "link", "add", host_if, "type", "veth", "peer", "name", &peer,
        ])?;
        ip(&["link", "set", &peer, "netns", name])?;
        ip(&["addr", "add", outer, "dev", host_if])?;
        ip(&["link", "set", host_if, "up"])?;
        ip(&["-n", name, "addr", "add", inner, "dev", &peer])?;
        ip(&["-n", name, "link", "set", &peer, "up"])?;
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        Ok(guard)
    }

    /// A command that runs inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for VethHost {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.host_if]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}
