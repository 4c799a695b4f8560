//! `cargo xtask demo`: placeholder until the lab lands.

pub fn run(_args: &[String]) -> Result<(), String> {
    Err("the demo is not wired up yet".into())
}
