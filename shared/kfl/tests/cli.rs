//! The `kfl` binary: exit codes, value printing and JSON-lines filtering.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use wiremap_wire::json::entry_to_json;
use wiremap_wire::{Detail, Http, Protocol};

fn kfl(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kfl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kfl runs");
    // kfl may exit (compile error) before reading its input: a closed pipe
    // is then expected, not a failure.
    match child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => panic!("writes stdin: {e}"),
    }
    child.wait_with_output().expect("kfl exits")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_exit_codes() {
    let ok = kfl(&["check", "http && status_code >= 400"], "");
    assert_eq!(ok.status.code(), Some(0));
    let bad = kfl(&["check", "http && stauts_code >= 400"], "");
    assert_eq!(bad.status.code(), Some(2));
    let err = text(&bad.stderr);
    assert!(err.contains("did you mean `status_code`"), "{err}");
    assert!(err.contains("        ^^^^^^^^^^^"), "{err}");
}

#[test]
fn eval_prints_cel_literals() {
    let cases = [
        ("1", "1"),
        ("1u", "1u"),
        ("1.5", "1.5"),
        ("2.0", "2.0"),
        ("'s' + \"t\"", "\"st\""),
        ("b'a\\x00'", "b\"a\\x00\""),
        ("1 < 2", "true"),
        ("null", "null"),
        ("[1, 'a', [true]]", "[1, \"a\", [true]]"),
        ("{'k': 1u}", "{\"k\": 1u}"),
        (
            "timestamp('2024-01-02T03:04:05.5Z')",
            "timestamp(\"2024-01-02T03:04:05.5Z\")",
        ),
        ("duration('1h30m')", "duration(\"5400s\")"),
        ("status_code", "0"),
        ("grpc_status", "-1"),
    ];
    for (expr, want) in cases {
        let out = kfl(&["eval", expr], "");
        assert_eq!(out.status.code(), Some(0), "{expr}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim_end(), want, "{expr}");
    }
    let e = kfl(&["eval", "1 / 0"], "");
    assert_eq!(e.status.code(), Some(1));
    assert!(text(&e.stderr).contains("division by zero"));
    let c = kfl(&["eval", "1 + 'a'"], "");
    assert_eq!(c.status.code(), Some(2));
}

#[test]
fn filter_prints_matching_lines_unchanged() {
    let mut lines = Vec::new();
    for (i, status) in [200, 503, 404].into_iter().enumerate() {
        let mut o = common::base(Protocol::HTTP);
        o.entry.id = i as u64;
        o.entry.status_code = status;
        o.entry.detail = Detail::Http(Box::new(Http {
            method: "GET".into(),
            ..Http::default()
        }));
        lines.push(serde_json::to_string(&entry_to_json(&o.view())).expect("serialises"));
    }
    let input = format!("{}\nnot json\n{}\n\n{}\n", lines[0], lines[1], lines[2]);
    let out = kfl(&["filter", "http && status_code >= 400"], &input);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), format!("{}\n{}\n", lines[1], lines[2]));
    let err = text(&out.stderr);
    assert!(err.contains("line 2: not valid JSON"), "{err}");

    let dir = std::env::temp_dir().join(format!("kfl-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("entries.jsonl");
    std::fs::write(&file, &input).expect("writes file");
    let out = kfl(
        &[
            "filter",
            "status_code == 200",
            file.to_str().expect("utf-8 path"),
        ],
        "",
    );
    assert_eq!(text(&out.stdout), format!("{}\n", lines[0]));
    let _ = std::fs::remove_dir_all(&dir);

    let bad = kfl(&["filter", "status_code == '200'"], &input);
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty());
}

#[test]
fn usage_and_unreadable_file_are_errors() {
    let out = kfl(&["frobnicate", "x"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("usage: kfl"));
    let out = kfl(&["filter", "http", "no/such/file.jsonl"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot open no/such/file.jsonl"));
    assert!(out.stdout.is_empty());
}

#[test]
fn closed_stdout_ends_filter_quietly() {
    let line = serde_json::to_string(&entry_to_json(&common::base(Protocol::TCP).view()))
        .expect("serialises");
    let input = format!("{line}\n").repeat(20_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kfl"))
        .args(["filter", "tcp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kfl runs");
    drop(child.stdout.take()); // the reader is gone before kfl writes
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("kfl exits");
    writer.join().expect("writer thread");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}
