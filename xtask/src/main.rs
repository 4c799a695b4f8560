//! Project automation for wiremap: `cargo xtask demo` brings up a live demo,
//! `cargo xtask test` runs every check CI runs. Both install what is missing
//! (wasm target, trunk, wasm-bindgen-cli, wasm-opt, Chromium, lab packages)
//! from the package registries only, idempotently, and say what each step
//! does and how long it took.
//!
//! Key decision: std only, so `cargo xtask` starts in seconds on a fresh
//! clone; every external program is run through [`step::Step`], which turns
//! a missing program or a failure into one clear sentence.

mod demo;
mod step;
mod test;
mod tools;
mod workspace;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  demo                 build everything and run the live demo (needs root)
      --pcap FILE      replay a capture instead of live traffic (no root needed)
      --port N         relay port (default 8080)
  test                 install what is missing, then run every check and test
      --quick          skip the wasm build and browser tests
  tools                only install the missing tools
  help                 this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("tools") => tools::ensure_all(tools::Need::everything()),
        Some("help" | "-h" | "--help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`; try `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}
