//! `kfl`: check, evaluate and apply KFL2 filters from the command line.
//!
//! ```text
//! kfl check EXPR          exit 0, or 2 with the error on stderr
//! kfl eval EXPR           print the value as a CEL literal (no entry: zero values)
//! kfl filter EXPR [FILE]  print the JSON lines (stdin or FILE) that match
//! ```

use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use wiremap_kfl::{Filter, Program};
use wiremap_wire::json::entry_from_json;
use wiremap_wire::{Entry, EntryView, Identity};

const USAGE: &str = "usage: kfl check EXPR | kfl eval EXPR | kfl filter EXPR [FILE]";

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("kfl: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &[String]) -> Result<u8> {
    match args {
        [cmd, expr] if cmd == "check" => match Filter::compile(expr, now_us()) {
            Ok(f) => {
                println!("ok; reads: {}", f.fields().join(", "));
                Ok(0)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(2)
            }
        },
        [cmd, expr] if cmd == "eval" => eval(expr),
        [cmd, expr] if cmd == "filter" => filter(expr, None),
        [cmd, expr, file] if cmd == "filter" => filter(expr, Some(file)),
        [h] if h == "-h" || h == "--help" || h == "help" => {
            println!("{USAGE}");
            Ok(0)
        }
        _ => bail!("{USAGE}"),
    }
}

fn eval(expr: &str) -> Result<u8> {
    let prog = match Program::compile(expr, now_us(), &[]) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return Ok(2);
        }
    };
    let zero_ip = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let entry = Entry::blank(zero_ip);
    let id = Identity::external(zero_ip);
    let view = EntryView {
        entry: &entry,
        src: &id,
        dst: &id,
        node: "",
    };
    match prog.eval(&view, &[]) {
        Ok(v) => {
            println!("{v}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("evaluation error: {e}");
            Ok(1)
        }
    }
}

fn filter(expr: &str, file: Option<&String>) -> Result<u8> {
    let f = match Filter::compile(expr, now_us()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return Ok(2);
        }
    };
    let input: Box<dyn BufRead> = match file {
        Some(path) => Box::new(BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?,
        )),
        None => Box::new(io::stdin().lock()),
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let (mut bad, mut errors, mut matched) = (0u64, 0u64, 0u64);
    for (n, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("reading line {}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("line {}: not valid JSON: {e}", n + 1);
                bad += 1;
                continue;
            }
        };
        let entry = match entry_from_json(&value) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("line {}: not an entry: {e}", n + 1);
                bad += 1;
                continue;
            }
        };
        match f.matches(&entry.view()) {
            Ok(true) => {
                matched += 1;
                if let Err(e) = writeln!(out, "{line}") {
                    // The reader went away (`kfl filter … | head`): stop quietly.
                    if e.kind() == io::ErrorKind::BrokenPipe {
                        return Ok(0);
                    }
                    return Err(e.into());
                }
            }
            Ok(false) => {}
            Err(_) => errors += 1,
        }
    }
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(0),
        r => r?,
    }
    if bad > 0 || errors > 0 {
        eprintln!(
            "kfl: {matched} matched, {bad} lines skipped, {errors} evaluation errors (no match)"
        );
    }
    Ok(0)
}
