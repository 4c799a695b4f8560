//! Running external programs as named, timed steps.

use std::process::{Command, Stdio};
use std::time::Instant;

/// A named step: prints what it does, runs, prints how long it took.
#[derive(Debug)]
pub struct Step {
    name: String,
    started: Instant,
}

impl Step {
    pub fn start(name: impl Into<String>) -> Step {
        let name = name.into();
        eprintln!("==> {name}");
        Step {
            name,
            started: Instant::now(),
        }
    }

    pub fn done(self) {
        eprintln!(
            "    done: {} ({:.1}s)",
            self.name,
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// Runs a program to completion with inherited output; a failure names the
/// command and its exit status.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = show(cmd);
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .map_err(|e| missing(&shown, &e))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs a program and captures its standard output (None if it fails to run).
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The command line as a user would type it.
pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn missing(shown: &str, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        let program = shown.split(' ').next().unwrap_or(shown);
        format!("`{program}` is not installed and could not be run (needed for `{shown}`)")
    } else {
        format!("could not run `{shown}`: {e}")
    }
}

/// true when a program answers `--version`.
pub fn have(program: &str) -> bool {
    output(Command::new(program).arg("--version")).is_some()
}
