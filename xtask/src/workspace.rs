//! Where things are: the workspace root, its lock file, the tool cache.

use std::path::PathBuf;

/// The workspace root (the parent of this crate's directory).
pub fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// The cargo target directory in use.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Version of `package` in Cargo.lock, if present.
pub fn locked_version(package: &str) -> Option<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).ok()?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"") {
            let v = lines.next()?.trim();
            return v
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
                .map(String::from);
        }
    }
    None
}

/// A per-user cache for tools installed from the npm registry.
pub fn tool_cache() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("wiremap-tools")
}

/// true when running as root (needed for apt and network namespaces).
pub fn is_root() -> bool {
    crate::step::output(std::process::Command::new("id").arg("-u"))
        .is_some_and(|uid| uid.trim() == "0")
}
