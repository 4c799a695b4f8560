//! Differential test against the `cel` crate (cel-rust): seeded random,
//! well-typed expressions over ints, strings, bools, lists and maps —
//! comparisons, logic, arithmetic, `in`, string functions, indexing,
//! ternaries, `size`, and the `exists`/`all` macros — evaluated on random
//! entries by both engines. Each result must agree: the same value, or an
//! error from both. The entry is a real wiremap entry read through KFL2
//! variables (`status_code`, `method`, `request.headers`, …), bound for cel
//! as plain values, plus a few free variables (`x`, `s`, `l`, `m`, …).
//!
//! The generator keeps to the CEL core both engines implement. Errors are
//! part of the comparison (missing keys, indexes out of range, overflow,
//! division by zero, and their absorption by `&&`/`||`).

mod common;

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use common::{base, Owned, Rng};
use wiremap_kfl::{List, Map, Program, Type, Value};
use wiremap_wire::{Detail, Dns, Http, Protocol};

const STRS: &[&str] = &[
    "", "a", "GET", "POST", "/api/v1", "/health", "prod", "é", "ab", "ba", "x-id", "héllo",
];
const KEYS: &[&str] = &["a", "b", "x-id", "content-type", "missing"];
const REGEXES: &[&str] = &["^/api", "v[0-9]+", "a|b", "^$", "l+o$", "[A-Z]{3}"];
const INTS: &[i64] = &[
    0,
    1,
    -1,
    2,
    3,
    7,
    400,
    500,
    -42,
    1000,
    i64::MAX,
    i64::MIN + 1,
];

/// Expression generator; `depth` bounds the tree.
struct Gen<'r> {
    rng: &'r mut Rng,
    /// Comprehension variables in scope (int-typed).
    locals: Vec<String>,
}

impl Gen<'_> {
    fn str_lit(&mut self) -> String {
        format!("{:?}", self.rng.pick(STRS))
    }

    fn int(&mut self, d: u32) -> String {
        let leaf = d == 0 || self.rng.chance(30);
        if leaf {
            return match self.rng.below(7) {
                0 | 1 => INTS[self.rng.below(INTS.len())].to_string(),
                2 => "x".into(),
                3 => "y".into(),
                4 => "status_code".into(),
                5 => "elapsed_time".into(),
                _ => match self.locals.last() {
                    Some(l) => l.clone(),
                    None => "x".into(),
                },
            };
        }
        let d = d - 1;
        match self.rng.below(11) {
            0 => format!("({} + {})", self.int(d), self.int(d)),
            1 => format!("({} - {})", self.int(d), self.int(d)),
            2 => format!("({} * {})", self.int(d), self.int(d)),
            3 => format!("({} / {})", self.int(d), self.int(d)),
            4 => format!("({} % {})", self.int(d), self.int(d)),
            5 => format!("-({})", self.int(d)),
            6 => format!("size({})", self.str(d)),
            7 => format!("size({})", self.int_list(d)),
            8 => format!("{}[{}]", self.int_list(d), self.index(d)),
            9 => format!("m[{}]", self.key(d)),
            _ => format!("({} ? {} : {})", self.bool(d), self.int(d), self.int(d)),
        }
    }

    fn str(&mut self, d: u32) -> String {
        if d == 0 || self.rng.chance(35) {
            return match self.rng.below(6) {
                0 | 1 => self.str_lit(),
                2 => "s".into(),
                3 => "method".into(),
                4 => "path".into(),
                _ => "t".into(),
            };
        }
        let d = d - 1;
        match self.rng.below(5) {
            0 => format!("({} + {})", self.str(d), self.str(d)),
            1 => format!("request.headers[{}]", self.key(d)),
            2 => format!("{}[{}]", self.str_list(d), self.index(d)),
            3 => format!("({} ? {} : {})", self.bool(d), self.str(d), self.str(d)),
            _ => format!("string({})", self.int(d)),
        }
    }

    /// A list index: mostly a small constant, sometimes any int.
    fn index(&mut self, d: u32) -> String {
        if self.rng.chance(75) {
            self.rng.below(3).to_string()
        } else {
            self.int(d)
        }
    }

    /// A map key: mostly one of the keys entries use, sometimes any string.
    fn key(&mut self, d: u32) -> String {
        if self.rng.chance(75) {
            format!("{:?}", self.rng.pick(KEYS))
        } else {
            self.str(d)
        }
    }

    fn int_list(&mut self, d: u32) -> String {
        if d == 0 || self.rng.chance(50) {
            return "l".into();
        }
        let d = d - 1;
        match self.rng.below(3) {
            0 => {
                let n = self.rng.below(4);
                let items: Vec<String> = (0..n).map(|_| self.int(d)).collect();
                format!("[{}]", items.join(", "))
            }
            1 => format!("({} + {})", self.int_list(d), self.int_list(d)),
            _ => format!(
                "({} ? {} : {})",
                self.bool(d),
                self.int_list(d),
                self.int_list(d)
            ),
        }
    }

    fn str_list(&mut self, d: u32) -> String {
        if d == 0 || self.rng.chance(50) {
            return if self.rng.chance(50) {
                "ls".into()
            } else {
                "dns_questions".into()
            };
        }
        let n = self.rng.below(4);
        let items: Vec<String> = (0..n).map(|_| self.str(d - 1)).collect();
        format!("[{}]", items.join(", "))
    }

    fn comprehension(&mut self, d: u32) -> String {
        let v = format!("v{}", self.locals.len());
        let range = self.int_list(d);
        self.locals.push(v.clone());
        let body = self.bool(d);
        self.locals.pop();
        let mac = if self.rng.chance(50) { "exists" } else { "all" };
        format!("{range}.{mac}({v}, {body})")
    }

    fn bool(&mut self, d: u32) -> String {
        if d == 0 || self.rng.chance(20) {
            return match self.rng.below(5) {
                0 => "true".into(),
                1 => "false".into(),
                2 => "b".into(),
                3 => "http".into(),
                _ => "dns".into(),
            };
        }
        let d = d - 1;
        let rel = ["==", "!=", "<", "<=", ">", ">="];
        match self.rng.below(17) {
            0 | 1 => {
                let op = rel[self.rng.below(rel.len())];
                format!("{} {op} {}", self.int(d), self.int(d))
            }
            2 => {
                let op = rel[self.rng.below(rel.len())];
                format!("{} {op} {}", self.str(d), self.str(d))
            }
            3 => format!("!({})", self.bool(d)),
            4 | 5 => format!("({} && {})", self.bool(d), self.bool(d)),
            6 | 7 => format!("({} || {})", self.bool(d), self.bool(d)),
            8 => format!("{}.startsWith({})", self.str(d), self.str(d)),
            9 => format!("{}.endsWith({})", self.str(d), self.str(d)),
            10 => format!("{}.contains({})", self.str(d), self.str(d)),
            11 => format!("{}.matches({:?})", self.str(d), self.rng.pick(REGEXES)),
            12 => format!("{} in {}", self.int(d), self.int_list(d)),
            13 => format!("{} in {}", self.str(d), self.str_list(d)),
            14 => {
                let m = if self.rng.chance(50) {
                    "m"
                } else {
                    "request.headers"
                };
                format!("{} in {m}", self.str(d))
            }
            15 => format!("({} ? {} : {})", self.bool(d), self.bool(d), self.bool(d)),
            _ => self.comprehension(d),
        }
    }
}

/// One random entry plus free variables, bound for both engines.
struct Case {
    owned: Owned,
    x: i64,
    y: i64,
    s: &'static str,
    t: &'static str,
    b: bool,
    l: Vec<i64>,
    ls: Vec<String>,
    m: Vec<(String, i64)>,
}

fn random_case(rng: &mut Rng) -> Case {
    let mut owned = if rng.chance(60) {
        let mut o = base(Protocol::HTTP);
        o.entry.status_code = [200, 404, 500, 0][rng.below(4)];
        let headers = (0..rng.below(3))
            .map(|_| (rng.pick(KEYS).to_string(), rng.pick(STRS).to_string()))
            .collect::<HashMap<_, _>>()
            .into_iter()
            .collect();
        o.entry.detail = Detail::Http(Box::new(Http {
            method: rng.pick(&["GET", "POST"]).into(),
            path: rng.pick(&["/api/v1", "/health", ""]).into(),
            request_headers: headers,
            ..Http::default()
        }));
        o
    } else {
        let mut o = base(Protocol::DNS);
        o.entry.status_code = [0, 3][rng.below(2)];
        o.entry.detail = Detail::Dns(Box::new(Dns {
            questions: (0..rng.below(3)).map(|_| rng.pick(STRS).into()).collect(),
            ..Dns::default()
        }));
        o
    };
    owned.entry.elapsed_us = INTS[rng.below(6)];
    let int = |rng: &mut Rng| INTS[rng.below(INTS.len())];
    let m: HashMap<String, i64> = (0..rng.below(4))
        .map(|_| (rng.pick(KEYS).to_string(), int(rng)))
        .collect();
    Case {
        x: int(rng),
        y: int(rng),
        s: rng.pick(STRS),
        t: rng.pick(STRS),
        b: rng.chance(50),
        l: (0..rng.below(4)).map(|_| int(rng)).collect(),
        ls: (0..rng.below(4))
            .map(|_| rng.pick(STRS).to_string())
            .collect(),
        m: m.into_iter().collect(),
        owned,
    }
}

/// A result both engines can be compared on.
#[derive(Debug, PartialEq)]
enum Out {
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Out>),
    Error,
    Other(String),
}

fn ours(v: &Value<'_>) -> Out {
    match v {
        Value::Bool(b) => Out::Bool(*b),
        Value::Int(i) => Out::Int(*i),
        Value::Str(s) => Out::Str(s.to_string()),
        Value::List(l) => Out::List(l.iter().map(|x| ours(&x)).collect()),
        other => Out::Other(other.to_literal()),
    }
}

fn theirs(v: &cel::Value) -> Out {
    match v {
        cel::Value::Bool(b) => Out::Bool(*b),
        cel::Value::Int(i) => Out::Int(*i),
        cel::Value::String(s) => Out::Str(s.to_string()),
        cel::Value::List(l) => Out::List(l.iter().map(theirs).collect()),
        other => Out::Other(format!("{other:?}")),
    }
}

fn decls() -> Vec<(String, Type)> {
    vec![
        ("x".into(), Type::Int),
        ("y".into(), Type::Int),
        ("s".into(), Type::String),
        ("t".into(), Type::String),
        ("b".into(), Type::Bool),
        ("l".into(), Type::list(Type::Int)),
        ("ls".into(), Type::list(Type::String)),
        ("m".into(), Type::map(Type::String, Type::Int)),
    ]
}

fn our_bindings(c: &Case) -> Vec<Value<'static>> {
    vec![
        Value::Int(c.x),
        Value::Int(c.y),
        Value::Str(Cow::Borrowed(c.s)),
        Value::Str(Cow::Borrowed(c.t)),
        Value::Bool(c.b),
        Value::List(List::Vals(Rc::new(
            c.l.iter().map(|i| Value::Int(*i)).collect(),
        ))),
        Value::List(List::Vals(Rc::new(
            c.ls.iter()
                .map(|s| Value::Str(Cow::Owned(s.clone())))
                .collect(),
        ))),
        Value::Map(Map::Vals(Rc::new(
            c.m.iter()
                .map(|(k, v)| (Value::Str(Cow::Owned(k.clone())), Value::Int(*v)))
                .collect(),
        ))),
    ]
}

/// The cel context: the free variables, and the KFL2 variables the
/// generator uses with the values KFL2 defines for this entry.
fn their_context<'p>(root: &'p cel::Context<'p, 'static>, c: &Case) -> cel::Context<'p, 'static> {
    let mut cx = root.new_inner_scope();
    let e = &c.owned.entry;
    let (method, path, headers) = match &e.detail {
        Detail::Http(h) => (h.method.clone(), h.path.clone(), h.request_headers.clone()),
        _ => (String::new(), String::new(), Vec::new()),
    };
    let questions = match &e.detail {
        Detail::Dns(d) => d.questions.clone(),
        _ => Vec::new(),
    };
    let headers: HashMap<String, String> = headers.into_iter().collect();
    let mut request = HashMap::new();
    request.insert("headers".to_string(), cel::Value::from(headers));
    let vars: Vec<(&str, cel::Value)> = vec![
        ("x", c.x.into()),
        ("y", c.y.into()),
        ("s", c.s.into()),
        ("t", c.t.into()),
        ("b", c.b.into()),
        ("l", c.l.clone().into()),
        ("ls", c.ls.clone().into()),
        (
            "m",
            c.m.iter().cloned().collect::<HashMap<String, i64>>().into(),
        ),
        ("status_code", i64::from(e.status_code).into()),
        ("elapsed_time", e.elapsed_us.into()),
        ("method", method.into()),
        ("path", path.into()),
        ("http", e.protocol.is_http().into()),
        ("dns", (e.protocol == Protocol::DNS).into()),
        ("dns_questions", questions.into()),
        ("request", request.into()),
    ];
    for (k, v) in vars {
        cx.add_variable_from_value(k, v);
    }
    cx
}

/// Entries each generated expression is evaluated on (cel-rust's parser
/// is the slow part of this test in debug builds, so each parse is reused).
const ENTRIES_PER_EXPR: usize = 8;

fn run(seed: u64, exprs: usize, depth: u32) -> (usize, usize, Vec<String>) {
    let mut rng = Rng(seed);
    let decls = decls();
    let root = cel::Context::default();
    let (mut compared, mut errors, mut diffs) = (0, 0, Vec::new());
    for i in 0..exprs {
        let mut g = Gen {
            rng: &mut rng,
            locals: Vec::new(),
        };
        let src = match i % 3 {
            0 => g.bool(depth),
            1 => g.int(depth),
            _ => g.str(depth),
        };
        let prog = Program::compile(&src, 0, &decls)
            .unwrap_or_else(|e| panic!("generated expression does not compile: {src}\n{e}"));
        let their = cel::Program::compile(&src)
            .unwrap_or_else(|e| panic!("cel does not parse: {src}\n{e:?}"));
        for _ in 0..ENTRIES_PER_EXPR {
            let case = random_case(&mut rng);
            let view = case.owned.view();
            let binds = our_bindings(&case);
            let a = match prog.eval(&view, &binds) {
                Ok(v) => ours(&v),
                Err(_) => Out::Error,
            };
            let cx = their_context(&root, &case);
            let b = match their.execute(&cx) {
                Ok(v) => theirs(&v),
                Err(_) => Out::Error,
            };
            compared += 1;
            if a == Out::Error {
                errors += 1;
            }
            if a != b {
                diffs.push(format!(
                    "seed {seed} #{i}: {src}\n  x={} y={} s={:?} t={:?} b={} l={:?} ls={:?} m={:?} status={} elapsed={} entry={:?}\n  ours {a:?}\n  cel  {b:?}",
                    case.x, case.y, case.s, case.t, case.b, case.l, case.ls, case.m,
                    case.owned.entry.status_code, case.owned.entry.elapsed_us, case.owned.entry.detail
                ));
            }
        }
    }
    (compared, errors, diffs)
}

#[test]
fn agrees_with_cel_rust() {
    let mut total = 0;
    let mut errors = 0;
    let mut all = Vec::new();
    for seed in 1..=4u64 {
        let (n, e, d) = run(seed, 250, 4);
        total += n;
        errors += e;
        all.extend(d);
    }
    println!("differential: {total} evaluations compared, {errors} of them errors in both");
    assert!(
        errors > 0 && errors < total,
        "the generator should produce some errors, not only"
    );
    assert!(
        all.is_empty(),
        "{} disagreements with cel-rust (first 10):\n{}",
        all.len(),
        all.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}
