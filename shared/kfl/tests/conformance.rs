//! Runs the CEL conformance cases (cel-spec `tests/simple/testdata`, kept
//! with their licence in `tests/conformance/cel-spec` of this crate) through the
//! KFL2 engine. Every case runs unless it needs something KFL2 does not
//! support (protobuf messages, check disabled where KFL2's static checker
//! rejects, …); skipped cases are listed with their reason. Any other
//! mismatch fails the test.

mod common;

use std::collections::BTreeMap;
use std::rc::Rc;

use wiremap_kfl::{List, Map, Program, Type, Value};

fn corpus_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/cel-spec"
    ))
}

// ---------- protobuf text format, just enough for these files ----------

#[derive(Debug, Clone)]
enum Node {
    Scalar(String),
    Str(Vec<u8>),
    Msg(Vec<(String, Node)>),
}

impl Node {
    fn fields(&self) -> &[(String, Node)] {
        match self {
            Node::Msg(f) => f,
            _ => &[],
        }
    }
    fn get(&self, k: &str) -> Option<&Node> {
        self.fields().iter().find(|(n, _)| n == k).map(|(_, v)| v)
    }
    fn all<'s>(&'s self, k: &'s str) -> impl Iterator<Item = &'s Node> + 's {
        self.fields()
            .iter()
            .filter(move |(n, _)| n == k)
            .map(|(_, v)| v)
    }
    fn text(&self) -> String {
        match self {
            Node::Scalar(s) => s.clone(),
            Node::Str(b) => String::from_utf8_lossy(b).into_owned(),
            Node::Msg(_) => String::new(),
        }
    }
    fn bytes(&self) -> Vec<u8> {
        match self {
            Node::Str(b) => b.clone(),
            Node::Scalar(s) => s.clone().into_bytes(),
            Node::Msg(_) => Vec::new(),
        }
    }
}

struct Tp<'s> {
    b: &'s [u8],
    i: usize,
}

impl Tp<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() {
            match self.b[self.i] {
                b' ' | b'\n' | b'\t' | b'\r' | b',' | b';' => self.i += 1,
                b'#' => {
                    while self.i < self.b.len() && self.b[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn peek(&mut self) -> u8 {
        self.ws();
        self.b.get(self.i).copied().unwrap_or(0)
    }

    fn msg(&mut self, close: u8) -> Vec<(String, Node)> {
        let mut out = Vec::new();
        loop {
            let c = self.peek();
            if c == close || c == 0 {
                self.i += 1;
                return out;
            }
            let name = if c == b'[' {
                let s = self.i;
                while self.b[self.i] != b']' {
                    self.i += 1;
                }
                self.i += 1;
                String::from_utf8_lossy(&self.b[s..self.i]).into_owned()
            } else {
                let s = self.i;
                while self.i < self.b.len()
                    && (self.b[self.i].is_ascii_alphanumeric() || self.b[self.i] == b'_')
                {
                    self.i += 1;
                }
                String::from_utf8_lossy(&self.b[s..self.i]).into_owned()
            };
            assert!(
                !name.is_empty(),
                "textproto: field name expected at byte {}",
                self.i
            );
            if self.peek() == b':' {
                self.i += 1;
            }
            let v = match self.peek() {
                b'{' => {
                    self.i += 1;
                    Node::Msg(self.msg(b'}'))
                }
                b'<' => {
                    self.i += 1;
                    Node::Msg(self.msg(b'>'))
                }
                b'"' | b'\'' => {
                    let mut all = Vec::new();
                    while matches!(self.peek(), b'"' | b'\'') {
                        all.extend(self.string());
                    }
                    Node::Str(all)
                }
                _ => {
                    let s = self.i;
                    while self.i < self.b.len()
                        && !matches!(
                            self.b[self.i],
                            b' ' | b'\n' | b'\t' | b'\r' | b',' | b';' | b'}' | b'>' | b'#'
                        )
                    {
                        self.i += 1;
                    }
                    Node::Scalar(String::from_utf8_lossy(&self.b[s..self.i]).into_owned())
                }
            };
            out.push((name, v));
        }
    }

    fn string(&mut self) -> Vec<u8> {
        let q = self.b[self.i];
        self.i += 1;
        let mut out = Vec::new();
        while self.b[self.i] != q {
            let c = self.b[self.i];
            self.i += 1;
            if c != b'\\' {
                out.push(c);
                continue;
            }
            let e = self.b[self.i];
            self.i += 1;
            match e {
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'a' => out.push(7),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'v' => out.push(11),
                b'x' | b'X' => {
                    let s = self.i;
                    while self.i < s + 2 && self.b[self.i].is_ascii_hexdigit() {
                        self.i += 1;
                    }
                    let v = u8::from_str_radix(
                        std::str::from_utf8(&self.b[s..self.i]).unwrap_or("0"),
                        16,
                    )
                    .unwrap_or(0);
                    out.push(v);
                }
                b'0'..=b'7' => {
                    let s = self.i - 1;
                    while self.i < s + 3 && (b'0'..=b'7').contains(&self.b[self.i]) {
                        self.i += 1;
                    }
                    let v = u32::from_str_radix(
                        std::str::from_utf8(&self.b[s..self.i]).unwrap_or("0"),
                        8,
                    )
                    .unwrap_or(0);
                    out.push(v as u8);
                }
                b'u' | b'U' => {
                    let n = if e == b'u' { 4 } else { 8 };
                    let h = std::str::from_utf8(&self.b[self.i..self.i + n]).unwrap_or("0");
                    self.i += n;
                    let ch = char::from_u32(u32::from_str_radix(h, 16).unwrap_or(0xfffd))
                        .unwrap_or('\u{fffd}');
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                other => out.push(other),
            }
        }
        self.i += 1;
        out
    }
}

fn parse_textproto(src: &str) -> Node {
    let mut p = Tp {
        b: src.as_bytes(),
        i: 0,
    };
    Node::Msg(p.msg(0))
}

// ---------- expected values and declared types ----------

fn to_value(n: &Node) -> Result<Value<'static>, String> {
    let (k, v) = n.fields().first().ok_or("empty value")?;
    Ok(match k.as_str() {
        "int64_value" => Value::Int(v.text().parse().map_err(|e| format!("{e}"))?),
        "uint64_value" => Value::Uint(v.text().parse().map_err(|e| format!("{e}"))?),
        "double_value" => Value::Double(match v.text().to_ascii_lowercase().as_str() {
            "inf" | "infinity" => f64::INFINITY,
            "-inf" | "-infinity" => f64::NEG_INFINITY,
            "nan" => f64::NAN,
            t => t.parse().map_err(|e| format!("double {t}: {e}"))?,
        }),
        "string_value" => Value::Str(
            String::from_utf8(v.bytes())
                .map_err(|e| e.to_string())?
                .into(),
        ),
        "bytes_value" => Value::Bytes(v.bytes().into()),
        "bool_value" => Value::Bool(v.text() == "true"),
        "null_value" => Value::Null,
        "list_value" => {
            let items: Result<Vec<_>, _> = v.all("values").map(to_value).collect();
            Value::List(List::Vals(Rc::new(items?)))
        }
        "map_value" => {
            let mut out = Vec::new();
            for e in v.all("entries") {
                out.push((
                    to_value(e.get("key").ok_or("no key")?)?,
                    to_value(e.get("value").ok_or("no value")?)?,
                ));
            }
            Value::Map(Map::Vals(Rc::new(out)))
        }
        "type_value" => {
            let t = v.text();
            let name: &'static str = match t.as_str() {
                "int" => "int",
                "uint" => "uint",
                "double" => "double",
                "bool" => "bool",
                "string" => "string",
                "bytes" => "bytes",
                "list" => "list",
                "map" => "map",
                "null_type" => "null_type",
                "type" => "type",
                "google.protobuf.Timestamp" => "google.protobuf.Timestamp",
                "google.protobuf.Duration" => "google.protobuf.Duration",
                other => return Err(format!("protobuf type value {other}")),
            };
            Value::Type(name)
        }
        "object_value" => {
            let (ty, body) = v.fields().first().ok_or("empty object")?;
            let secs: i128 = body
                .get("seconds")
                .map_or(Ok(0), |s| s.text().parse())
                .map_err(|e| format!("{e}"))?;
            let nanos: i128 = body
                .get("nanos")
                .map_or(Ok(0), |s| s.text().parse())
                .map_err(|e| format!("{e}"))?;
            match ty.as_str() {
                "[type.googleapis.com/google.protobuf.Timestamp]" => {
                    Value::Timestamp(secs * 1_000_000_000 + nanos)
                }
                "[type.googleapis.com/google.protobuf.Duration]" => {
                    Value::Duration(secs * 1_000_000_000 + nanos)
                }
                other => return Err(format!("protobuf message value {other}")),
            }
        }
        other => return Err(format!("value kind {other}")),
    })
}

fn to_type(n: &Node) -> Result<Type, String> {
    let (k, v) = n.fields().first().ok_or("empty type")?;
    Ok(match k.as_str() {
        "primitive" => match v.text().as_str() {
            "BOOL" => Type::Bool,
            "INT64" => Type::Int,
            "UINT64" => Type::Uint,
            "DOUBLE" => Type::Double,
            "STRING" => Type::String,
            "BYTES" => Type::Bytes,
            t => return Err(format!("primitive {t}")),
        },
        "list_type" => Type::list(to_type(v.get("elem_type").ok_or("no elem_type")?)?),
        "map_type" => Type::map(
            to_type(v.get("key_type").ok_or("no key_type")?)?,
            to_type(v.get("value_type").ok_or("no value_type")?)?,
        ),
        "dyn" => Type::Dyn,
        "null" => Type::Null,
        "well_known" => match v.text().as_str() {
            "TIMESTAMP" => Type::Timestamp,
            "DURATION" => Type::Duration,
            t => return Err(format!("well-known type {t}")),
        },
        "message_type" => match v.text().as_str() {
            "google.protobuf.Timestamp" => Type::Timestamp,
            "google.protobuf.Duration" => Type::Duration,
            t => return Err(format!("protobuf message type {t}")),
        },
        other => return Err(format!("type kind {other}")),
    })
}

/// Strict equality for test results: same kinds (1 ≠ 1u), NaN equals NaN.
fn same(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => (x.is_nan() && y.is_nan()) || x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same(&p, &q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.entries().iter().all(|(k, v)| {
                    y.entries()
                        .iter()
                        .any(|(k2, v2)| same(k, k2) && same(v, v2))
                })
        }
        _ => a.type_name() == b.type_name() && a.equals(b) == Some(true),
    }
}

enum Outcome {
    Pass,
    Skip(String),
    Fail(String),
}

fn run_case(t: &Node) -> Outcome {
    let expr = t.get("expr").map(Node::text).unwrap_or_default();
    let disable_check = t.get("disable_check").is_some_and(|n| n.text() == "true");
    if t.get("container").is_some() {
        return Outcome::Skip("uses a protobuf container (message types)".into());
    }
    if t.get("check_only").is_some() || t.get("typed_result").is_some() {
        return Outcome::Skip("checker-only expectation".into());
    }
    if t.get("unknown").is_some() || t.get("any_unknowns").is_some() {
        return Outcome::Skip("unknown-value evaluation".into());
    }
    let mut decls = Vec::new();
    for d in t.all("type_env") {
        let name = d.get("name").map(Node::text).unwrap_or_default();
        let Some(ident) = d.get("ident") else {
            return Outcome::Skip("declares custom functions".into());
        };
        match ident
            .get("type")
            .ok_or("no type".to_string())
            .and_then(to_type)
        {
            Ok(ty) => decls.push((name, ty)),
            Err(e) => {
                return Outcome::Skip(format!("declares a variable of unsupported type: {e}"))
            }
        }
    }
    let mut binds: BTreeMap<String, Value<'static>> = BTreeMap::new();
    for b in t.all("bindings") {
        let key = b.get("key").map(Node::text).unwrap_or_default();
        let v = b.get("value").and_then(|v| v.get("value"));
        match v
            .ok_or("binding without value".to_string())
            .and_then(to_value)
        {
            Ok(v) => {
                binds.insert(key, v);
            }
            Err(e) => return Outcome::Skip(format!("binding of unsupported value: {e}")),
        }
    }
    // Bound but undeclared variables (check disabled) are declared dyn.
    for k in binds.keys() {
        if !decls.iter().any(|(n, _)| n == k) {
            decls.push((k.clone(), Type::Dyn));
        }
    }
    let expected: Result<Option<Value<'static>>, String> =
        match (t.get("value"), t.get("eval_error")) {
            (Some(v), _) => to_value(v).map(Some),
            (None, Some(_)) => Ok(None),
            (None, None) => Ok(Some(Value::Bool(true))),
        };
    let expected = match expected {
        Ok(e) => e,
        Err(e) => return Outcome::Skip(format!("expects {e}")),
    };
    let prog = match Program::compile(&expr, 0, &decls) {
        Ok(p) => p,
        Err(e) if e.message.contains("message construction") || e.message.contains("optional") => {
            return Outcome::Skip(format!("unsupported syntax: {}", e.message))
        }
        Err(e) if disable_check => {
            return Outcome::Skip(format!(
                "check disabled upstream; KFL2 always type-checks: {}",
                e.message
            ))
        }
        Err(e) => return Outcome::Fail(format!("compile error: {e}")),
    };
    let bindings: Vec<Value<'static>> = decls
        .iter()
        .map(|(n, _)| binds.get(n).cloned().unwrap_or(Value::Null))
        .collect();
    let entry = common::zero();
    let view = entry.view();
    let got = prog.eval(&view, &bindings);
    match (expected, got) {
        (None, Err(_)) => Outcome::Pass,
        (None, Ok(v)) => Outcome::Fail(format!("expected an error, got {v}")),
        (Some(want), Ok(got)) if same(&want, &got) => Outcome::Pass,
        (Some(want), Ok(got)) => Outcome::Fail(format!("expected {want}, got {got}")),
        (Some(want), Err(e)) => Outcome::Fail(format!("expected {want}, got error {e}")),
    }
}

/// Cases KFL2 deliberately does not support, with the reason.
const NOT_SUPPORTED: &[(&str, &str)] = &[
    ("timestamps/timestamp_selectors_tz/getDate", TZ),
    (
        "timestamps/timestamp_selectors_tz/getDayOfMonth_name_pos",
        TZ,
    ),
    (
        "timestamps/timestamp_selectors_tz/getDayOfMonth_name_neg",
        TZ,
    ),
    ("timestamps/timestamp_selectors_tz/getDayOfYear", TZ),
    ("timestamps/timestamp_selectors_tz/getMinutes", TZ),
];

const TZ: &str =
    "named IANA time zone: no tz database is carried (fixed offsets and UTC are supported)";

#[test]
fn cel_conformance() {
    let dir = corpus_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("conformance corpus missing at {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "textproto"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no .textproto files in {}",
        dir.display()
    );
    let (mut pass, mut skip, mut fail) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("corpus file reads");
        let root = parse_textproto(&text);
        let file = root.get("name").map(Node::text).unwrap_or_default();
        for section in root.all("section") {
            let sname = section.get("name").map(Node::text).unwrap_or_default();
            for t in section.all("test") {
                let name = format!(
                    "{file}/{sname}/{}",
                    t.get("name").map(Node::text).unwrap_or_default()
                );
                let outcome = match NOT_SUPPORTED.iter().find(|(n, _)| *n == name) {
                    Some((_, why)) => Outcome::Skip((*why).to_string()),
                    None => run_case(t),
                };
                match outcome {
                    Outcome::Pass => pass += 1,
                    Outcome::Skip(why) => {
                        skip += 1;
                        skipped.push(format!("SKIP {name}: {why}"));
                    }
                    Outcome::Fail(why) => {
                        fail += 1;
                        let expr = t.get("expr").map(Node::text).unwrap_or_default();
                        failures.push(format!("FAIL {name}: {expr}\n     {why}"));
                    }
                }
            }
        }
    }
    for s in &skipped {
        println!("{s}");
    }
    // The skip list is pinned in a file beside this test: a case that starts
    // or stops being skipped, or a changed reason, is a visible diff.
    let listed = format!(
        "# CEL conformance cases the KFL2 engine skips, with the reason; written by\n\
         # `KFL_UPDATE_SKIPS=1 cargo test -p wiremap-kfl --test conformance`.\n{}\n",
        skipped.join("\n")
    );
    let pinned_path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance_skips.txt");
    if std::env::var_os("KFL_UPDATE_SKIPS").is_some() {
        std::fs::write(pinned_path, &listed).expect("writes the skip list");
    }
    let pinned = std::fs::read_to_string(pinned_path).unwrap_or_default();
    let changed: Vec<String> = diff_lines(&pinned, &listed);
    assert!(
        changed.is_empty(),
        "the skipped cases differ from tests/conformance_skips.txt \
         (rerun with KFL_UPDATE_SKIPS=1 if intended):\n{}",
        changed.join("\n")
    );
    for s in &failures {
        println!("{s}");
    }
    println!(
        "conformance: {pass} passed, {skip} skipped, {fail} failed of {}",
        pass + skip + fail
    );
    assert!(pass > 0);
    assert_eq!(fail, 0, "conformance failures:\n{}", failures.join("\n"));
}

/// Lines only in `a` (prefixed `-`) or only in `b` (prefixed `+`).
fn diff_lines(a: &str, b: &str) -> Vec<String> {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut out: Vec<String> = la
        .iter()
        .filter(|l| !lb.contains(l))
        .map(|l| format!("- {l}"))
        .collect();
    out.extend(
        lb.iter()
            .filter(|l| !la.contains(l))
            .map(|l| format!("+ {l}")),
    );
    out
}
