//! The evaluator over the checked tree: variables are typed getters resolved
//! at compile time, macro variables are slots, constant regexes are compiled
//! once. Work per evaluation is bounded (iterations, list and string sizes).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::rc::Rc;

use wiremap_wire::EntryView;

use crate::ast::{BinOp, Literal};
use crate::checker::{compile_regex, Comp, CompKind, Func, TExpr, TKind, TimeField};
use crate::error::EvalError;
use crate::time::{self, NANOS};
use crate::value::{List, Map, Value};

/// The work budget of one evaluation, in steps: a comprehension iteration
/// is one step; reading or building a large value costs one step per KiB of
/// string or bytes and per 64 list or map elements; compiling a regular
/// expression at run time costs [`REGEX_COMPILE_STEPS`]. So no filter can
/// make one evaluation copy, scan or compile without bound, however its
/// comprehensions nest.
pub const MAX_ITERATIONS: u32 = 100_000;
/// Steps charged for a `matches` whose pattern is not a constant.
pub const REGEX_COMPILE_STEPS: u32 = 2_000;
/// Longest list an evaluation may build.
pub const MAX_LIST_LEN: usize = 1 << 16;
/// Longest string or bytes an evaluation may build.
pub const MAX_STRING_LEN: usize = 1 << 20;

/// One evaluation's context.
pub struct Cx<'a, 'b> {
    pub view: &'b EntryView<'a>,
    pub bindings: &'b [Value<'a>],
    pub locals: Vec<Value<'a>>,
    pub budget: u32,
}

impl<'a, 'b> Cx<'a, 'b> {
    pub fn new(view: &'b EntryView<'a>, bindings: &'b [Value<'a>]) -> Self {
        Cx {
            view,
            bindings,
            locals: Vec::new(),
            budget: MAX_ITERATIONS,
        }
    }
}

type R<'a> = Result<Value<'a>, EvalError>;

/// Steps a value costs to read or build (0 for small values).
fn weight(v: &Value<'_>) -> u32 {
    let n = match v {
        Value::Str(s) => s.len() / 1024,
        Value::Bytes(b) => b.len() / 1024,
        Value::List(l) => l.len() / 64,
        Value::Map(m) => m.len() / 64,
        _ => 0,
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Takes `steps` from the evaluation's budget.
fn charge(cx: &mut Cx<'_, '_>, steps: u32) -> Result<(), EvalError> {
    if steps == 0 {
        return Ok(());
    }
    cx.budget = cx
        .budget
        .checked_sub(steps)
        .ok_or(EvalError::TooLarge("evaluation work"))?;
    Ok(())
}

fn no_overload(what: &str, a: &Value<'_>) -> EvalError {
    EvalError::NoOverload(format!("{what}({})", a.type_name()))
}

fn no_overload2(op: BinOp, a: &Value<'_>, b: &Value<'_>) -> EvalError {
    EvalError::NoOverload(format!(
        "{} {} {}",
        a.type_name(),
        op.symbol(),
        b.type_name()
    ))
}

pub fn lit_value(l: &Literal) -> Value<'_> {
    match l {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Int(i) => Value::Int(*i),
        Literal::Uint(u) => Value::Uint(*u),
        Literal::Double(d) => Value::Double(*d),
        Literal::String(s) => Value::Str(Cow::Borrowed(s)),
        Literal::Bytes(b) => Value::Bytes(Cow::Borrowed(b)),
    }
}

/// Evaluates a boolean node: `Ok(bool)` or the error.
pub fn eval_bool<'a>(e: &'a TExpr, cx: &mut Cx<'a, '_>) -> Result<bool, EvalError> {
    match eval(e, cx)? {
        Value::Bool(b) => Ok(b),
        v => Err(EvalError::NoOverload(format!(
            "expected bool, found {}",
            v.type_name()
        ))),
    }
}

pub fn eval<'a>(e: &'a TExpr, cx: &mut Cx<'a, '_>) -> R<'a> {
    match &e.kind {
        TKind::Lit(l) => Ok(lit_value(l)),
        TKind::Ts(t) => Ok(Value::Timestamp(*t)),
        TKind::TypeVal(t) => Ok(Value::Type(t)),
        TKind::Var(v) => Ok(v.get.read(cx.view)),
        TKind::Binding(i) => cx
            .bindings
            .get(*i)
            .cloned()
            .ok_or_else(|| EvalError::InvalidArgument("unbound variable".into())),
        TKind::Local(i) => cx
            .locals
            .get(*i)
            .cloned()
            .ok_or_else(|| EvalError::InvalidArgument("unbound macro variable".into())),
        TKind::Not(x) => Ok(Value::Bool(!eval_bool(x, cx)?)),
        TKind::Neg(x) => match eval(x, cx)? {
            Value::Int(i) => i.checked_neg().map(Value::Int).ok_or(EvalError::Overflow),
            Value::Double(d) => Ok(Value::Double(-d)),
            v => Err(no_overload("-", &v)),
        },
        TKind::And(a, b) => {
            let x = eval_bool(a, cx);
            if x == Ok(false) {
                return Ok(Value::Bool(false));
            }
            let y = eval_bool(b, cx);
            match (x, y) {
                (_, Ok(false)) => Ok(Value::Bool(false)),
                (Ok(true), Ok(true)) => Ok(Value::Bool(true)),
                (Err(e), _) | (_, Err(e)) => Err(e),
                _ => Ok(Value::Bool(false)),
            }
        }
        TKind::Or(a, b) => {
            let x = eval_bool(a, cx);
            if x == Ok(true) {
                return Ok(Value::Bool(true));
            }
            let y = eval_bool(b, cx);
            match (x, y) {
                (_, Ok(true)) => Ok(Value::Bool(true)),
                (Ok(false), Ok(false)) => Ok(Value::Bool(false)),
                (Err(e), _) | (_, Err(e)) => Err(e),
                _ => Ok(Value::Bool(true)),
            }
        }
        TKind::Cond(c, a, b) => {
            if eval_bool(c, cx)? {
                eval(a, cx)
            } else {
                eval(b, cx)
            }
        }
        TKind::Binary(op, a, b) => {
            let x = eval(a, cx)?;
            let y = eval(b, cx)?;
            charge(cx, weight(&x).saturating_add(weight(&y)))?;
            let r = binary(*op, x, y)?;
            charge(cx, weight(&r))?;
            Ok(r)
        }
        TKind::Index(o, i) => {
            let o = eval(o, cx)?;
            let i = eval(i, cx)?;
            index(o, &i)
        }
        TKind::Field(o, f) => match eval(o, cx)? {
            Value::Map(m) => m.get_str(f).ok_or_else(|| EvalError::NoSuchKey(f.clone())),
            v => Err(EvalError::NoOverload(format!("{}.{f}", v.type_name()))),
        },
        TKind::Has(o, f) => match eval(o, cx)? {
            Value::Map(m) => Ok(Value::Bool(m.get_str(f).is_some())),
            v => Err(EvalError::NoOverload(format!("has({}.{f})", v.type_name()))),
        },
        TKind::Matches(s, re) => match eval(s, cx)? {
            Value::Str(s) => {
                charge(cx, u32::try_from(s.len() / 1024).unwrap_or(u32::MAX))?;
                Ok(Value::Bool(re.is_match(&s)))
            }
            v => Err(no_overload("matches", &v)),
        },
        TKind::Call(f, args) => {
            let mut vals = Vec::with_capacity(args.len());
            let mut steps = if *f == Func::Matches {
                REGEX_COMPILE_STEPS
            } else {
                0
            };
            for a in args {
                let v = eval(a, cx)?;
                steps = steps.saturating_add(weight(&v));
                vals.push(v);
            }
            charge(cx, steps)?;
            let r = call(*f, vals)?;
            charge(cx, weight(&r))?;
            Ok(r)
        }
        TKind::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                out.push(eval(it, cx)?);
            }
            Ok(Value::List(List::Vals(Rc::new(out))))
        }
        TKind::Map(items) => {
            let mut out: Vec<(Value<'a>, Value<'a>)> = Vec::with_capacity(items.len());
            for (k, v) in items {
                let k = eval(k, cx)?;
                if !matches!(
                    k,
                    Value::Int(_) | Value::Uint(_) | Value::Bool(_) | Value::Str(_)
                ) {
                    return Err(EvalError::InvalidArgument(format!(
                        "unsupported map key type {}",
                        k.type_name()
                    )));
                }
                let v = eval(v, cx)?;
                if out.iter().any(|(x, _)| x.equals(&k) == Some(true)) {
                    return Err(EvalError::InvalidArgument(format!("repeated map key {k}")));
                }
                out.push((k, v));
            }
            Ok(Value::Map(Map::Vals(Rc::new(out))))
        }
        TKind::Comp(c) => comprehension(c, cx),
    }
}

fn comprehension<'a>(c: &'a Comp, cx: &mut Cx<'a, '_>) -> R<'a> {
    let items: Vec<Value<'a>> = match eval(&c.range, cx)? {
        Value::List(l) => l.iter().collect(),
        Value::Map(m) => m.keys(),
        v => return Err(no_overload("comprehension over ", &v)),
    };
    let mut first_err: Option<EvalError> = None;
    let mut count = 0usize;
    let mut out: Vec<Value<'a>> = Vec::new();
    for it in items {
        cx.budget = cx
            .budget
            .checked_sub(1)
            .ok_or(EvalError::TooLarge("evaluation work"))?;
        cx.locals.truncate(c.slot);
        cx.locals.push(it.clone());
        match c.kind {
            CompKind::All | CompKind::Exists => {
                let want = c.kind == CompKind::Exists;
                match eval_bool(&c.body, cx) {
                    Ok(b) if b == want => {
                        cx.locals.truncate(c.slot);
                        return Ok(Value::Bool(want));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            CompKind::ExistsOne => {
                if eval_bool(&c.body, cx)? {
                    count += 1;
                }
            }
            CompKind::Filter => {
                if eval_bool(&c.body, cx)? {
                    out.push(it);
                }
            }
            CompKind::Map => match &c.transform {
                Some(t) => {
                    if eval_bool(&c.body, cx)? {
                        out.push(eval(t, cx)?);
                    }
                }
                None => out.push(eval(&c.body, cx)?),
            },
        }
        if out.len() > MAX_LIST_LEN {
            return Err(EvalError::TooLarge("list"));
        }
    }
    cx.locals.truncate(c.slot);
    match c.kind {
        CompKind::All | CompKind::Exists => match first_err {
            Some(e) => Err(e),
            None => Ok(Value::Bool(c.kind == CompKind::All)),
        },
        CompKind::ExistsOne => Ok(Value::Bool(count == 1)),
        CompKind::Filter | CompKind::Map => Ok(Value::List(List::Vals(Rc::new(out)))),
    }
}

fn index<'a>(o: Value<'a>, i: &Value<'_>) -> R<'a> {
    match o {
        Value::List(l) => {
            let n: i64 = match i {
                Value::Int(n) => *n,
                Value::Uint(u) => {
                    i64::try_from(*u).map_err(|_| EvalError::IndexOutOfRange(i64::MAX))?
                }
                Value::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e18 => *d as i64,
                v => return Err(EvalError::NoOverload(format!("list[{}]", v.type_name()))),
            };
            usize::try_from(n)
                .ok()
                .and_then(|k| l.get(k))
                .ok_or(EvalError::IndexOutOfRange(n))
        }
        Value::Map(m) => {
            if !matches!(
                i,
                Value::Int(_) | Value::Uint(_) | Value::Bool(_) | Value::Str(_) | Value::Double(_)
            ) {
                return Err(EvalError::NoOverload(format!("map[{}]", i.type_name())));
            }
            m.get(i).ok_or_else(|| EvalError::NoSuchKey(i.to_literal()))
        }
        v => Err(EvalError::NoOverload(format!(
            "{}[{}]",
            v.type_name(),
            i.type_name()
        ))),
    }
}

fn contains_value(container: &Value<'_>, x: &Value<'_>) -> Result<bool, EvalError> {
    match container {
        Value::List(List::Strs(s)) => Ok(match x {
            Value::Str(x) => s.iter().any(|e| e == x),
            _ => false,
        }),
        Value::List(l) => Ok(l.iter().any(|e| e.equals(x) == Some(true))),
        Value::Map(m) => Ok(m.get(x).is_some()),
        v => Err(EvalError::NoOverload(format!("in {}", v.type_name()))),
    }
}

fn check_ts(ns: i128) -> R<'static> {
    if time::ts_in_range(ns) {
        Ok(Value::Timestamp(ns))
    } else {
        Err(EvalError::Range("timestamp out of range".into()))
    }
}

fn check_dur(ns: i128) -> R<'static> {
    if time::dur_in_range(ns) {
        Ok(Value::Duration(ns))
    } else {
        Err(EvalError::Range("duration out of range".into()))
    }
}

pub fn binary<'a>(op: BinOp, a: Value<'a>, b: Value<'a>) -> R<'a> {
    use Value as V;
    let ord = |o: Option<Ordering>, f: fn(Ordering) -> bool| Ok(V::Bool(o.is_some_and(f)));
    match op {
        BinOp::Eq => Ok(V::Bool(a.equals(&b) == Some(true))),
        BinOp::Ne => Ok(V::Bool(a.equals(&b) != Some(true))),
        BinOp::Lt => ord(a.ordered(&b, "<")?, |o| o == Ordering::Less),
        BinOp::Le => ord(a.ordered(&b, "<=")?, |o| o != Ordering::Greater),
        BinOp::Gt => ord(a.ordered(&b, ">")?, |o| o == Ordering::Greater),
        BinOp::Ge => ord(a.ordered(&b, ">=")?, |o| o != Ordering::Less),
        BinOp::In => Ok(V::Bool(contains_value(&b, &a)?)),
        BinOp::Add => match (a, b) {
            (V::Int(x), V::Int(y)) => x.checked_add(y).map(V::Int).ok_or(EvalError::Overflow),
            (V::Uint(x), V::Uint(y)) => x.checked_add(y).map(V::Uint).ok_or(EvalError::Overflow),
            (V::Double(x), V::Double(y)) => Ok(V::Double(x + y)),
            (V::Str(x), V::Str(y)) => {
                if x.len() + y.len() > MAX_STRING_LEN {
                    return Err(EvalError::TooLarge("string"));
                }
                let mut s = x.into_owned();
                s.push_str(&y);
                Ok(V::Str(Cow::Owned(s)))
            }
            (V::Bytes(x), V::Bytes(y)) => {
                if x.len() + y.len() > MAX_STRING_LEN {
                    return Err(EvalError::TooLarge("bytes"));
                }
                let mut s = x.into_owned();
                s.extend_from_slice(&y);
                Ok(V::Bytes(Cow::Owned(s)))
            }
            (V::List(x), V::List(y)) => {
                if x.len() + y.len() > MAX_LIST_LEN {
                    return Err(EvalError::TooLarge("list"));
                }
                let v: Vec<Value<'a>> = x.iter().chain(y.iter()).collect();
                Ok(V::List(List::Vals(Rc::new(v))))
            }
            (V::Timestamp(t), V::Duration(d)) | (V::Duration(d), V::Timestamp(t)) => {
                check_ts(t + d)
            }
            (V::Duration(x), V::Duration(y)) => check_dur(x + y),
            (a, b) => Err(no_overload2(op, &a, &b)),
        },
        BinOp::Sub => match (a, b) {
            (V::Int(x), V::Int(y)) => x.checked_sub(y).map(V::Int).ok_or(EvalError::Overflow),
            (V::Uint(x), V::Uint(y)) => x.checked_sub(y).map(V::Uint).ok_or(EvalError::Overflow),
            (V::Double(x), V::Double(y)) => Ok(V::Double(x - y)),
            (V::Timestamp(x), V::Timestamp(y)) => check_dur(x - y),
            (V::Timestamp(t), V::Duration(d)) => check_ts(t - d),
            (V::Duration(x), V::Duration(y)) => check_dur(x - y),
            (a, b) => Err(no_overload2(op, &a, &b)),
        },
        BinOp::Mul => match (a, b) {
            (V::Int(x), V::Int(y)) => x.checked_mul(y).map(V::Int).ok_or(EvalError::Overflow),
            (V::Uint(x), V::Uint(y)) => x.checked_mul(y).map(V::Uint).ok_or(EvalError::Overflow),
            (V::Double(x), V::Double(y)) => Ok(V::Double(x * y)),
            (a, b) => Err(no_overload2(op, &a, &b)),
        },
        BinOp::Div => match (a, b) {
            (V::Int(_), V::Int(0)) | (V::Uint(_), V::Uint(0)) => Err(EvalError::DivisionByZero),
            (V::Int(x), V::Int(y)) => x.checked_div(y).map(V::Int).ok_or(EvalError::Overflow),
            (V::Uint(x), V::Uint(y)) => Ok(V::Uint(x / y)),
            (V::Double(x), V::Double(y)) => Ok(V::Double(x / y)),
            (a, b) => Err(no_overload2(op, &a, &b)),
        },
        BinOp::Rem => match (a, b) {
            (V::Int(_), V::Int(0)) | (V::Uint(_), V::Uint(0)) => Err(EvalError::ModulusByZero),
            (V::Int(x), V::Int(y)) => x.checked_rem(y).map(V::Int).ok_or(EvalError::Overflow),
            (V::Uint(x), V::Uint(y)) => Ok(V::Uint(x % y)),
            (a, b) => Err(no_overload2(op, &a, &b)),
        },
    }
}

/// 2^63 and 2^64, exactly representable as f64.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

fn double_to_int(d: f64) -> Result<i64, EvalError> {
    if d.is_nan() || d <= -TWO_POW_63 || d >= TWO_POW_63 {
        return Err(EvalError::Range("double out of int range".into()));
    }
    Ok(d.trunc() as i64)
}

fn format_double(d: f64) -> String {
    if d.is_nan() {
        "NaN".into()
    } else if d.is_infinite() {
        if d > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        let s = format!("{d}");
        if s.len() > 21 || (d != 0.0 && d.abs() < 1e-4) {
            format!("{d:e}")
        } else {
            s
        }
    }
}

fn call(f: Func, args: Vec<Value<'_>>) -> R<'_> {
    use Value as V;
    let mut it = args.into_iter();
    let a = it.next().unwrap_or(V::Null);
    let b = it.next();
    let c = it.next();
    let bad = |what: &str, v: &Value<'_>| Err(no_overload(what, v));
    match f {
        Func::Size => {
            let n = match &a {
                V::Str(s) => s.chars().count(),
                V::Bytes(b) => b.len(),
                V::List(l) => l.len(),
                V::Map(m) => m.len(),
                v => return bad("size", v),
            };
            Ok(V::Int(n as i64))
        }
        Func::Contains | Func::StartsWith | Func::EndsWith => match (&a, &b) {
            (V::Str(s), Some(V::Str(t))) => Ok(V::Bool(match f {
                Func::Contains => s.contains(t.as_ref()),
                Func::StartsWith => s.starts_with(t.as_ref()),
                _ => s.ends_with(t.as_ref()),
            })),
            _ => bad("string function", &a),
        },
        Func::Matches => match (&a, &b) {
            (V::Str(s), Some(V::Str(p))) => {
                let re = compile_regex(p).map_err(EvalError::InvalidArgument)?;
                Ok(V::Bool(re.is_match(s)))
            }
            _ => bad("matches", &a),
        },
        Func::MapGet => match (&a, b) {
            (V::Map(m), Some(k)) => Ok(m.get(&k).or(c).unwrap_or(V::Null)),
            _ => bad("map_get", &a),
        },
        Func::Timestamp => match a {
            V::Str(s) => time::parse_timestamp(&s)
                .map(V::Timestamp)
                .ok_or_else(|| EvalError::InvalidArgument(format!("invalid timestamp {s:?}"))),
            V::Int(secs) => check_ts(i128::from(secs) * NANOS),
            V::Timestamp(t) => Ok(V::Timestamp(t)),
            v => bad("timestamp", &v),
        },
        Func::Duration => match a {
            V::Str(s) => time::parse_duration(&s)
                .map(V::Duration)
                .ok_or_else(|| EvalError::InvalidArgument(format!("invalid duration {s:?}"))),
            V::Duration(d) => Ok(V::Duration(d)),
            v => bad("duration", &v),
        },
        Func::Int => match a {
            V::Int(i) => Ok(V::Int(i)),
            V::Uint(u) => i64::try_from(u)
                .map(V::Int)
                .map_err(|_| EvalError::Range("uint out of int range".into())),
            V::Double(d) => double_to_int(d).map(V::Int),
            V::Str(s) => s
                .parse::<i64>()
                .map(V::Int)
                .map_err(|_| EvalError::InvalidArgument(format!("cannot convert {s:?} to int"))),
            V::Timestamp(t) => Ok(V::Int(t.div_euclid(NANOS) as i64)),
            v => bad("int", &v),
        },
        Func::Uint => match a {
            V::Uint(u) => Ok(V::Uint(u)),
            V::Int(i) => u64::try_from(i)
                .map(V::Uint)
                .map_err(|_| EvalError::Range("int out of uint range".into())),
            V::Double(d) => {
                if !(0.0..TWO_POW_64).contains(&d) {
                    Err(EvalError::Range("double out of uint range".into()))
                } else {
                    Ok(V::Uint(d.trunc() as u64))
                }
            }
            V::Str(s) => s
                .parse::<u64>()
                .map(V::Uint)
                .map_err(|_| EvalError::InvalidArgument(format!("cannot convert {s:?} to uint"))),
            v => bad("uint", &v),
        },
        Func::Double => match a {
            V::Double(d) => Ok(V::Double(d)),
            V::Int(i) => Ok(V::Double(i as f64)),
            V::Uint(u) => Ok(V::Double(u as f64)),
            V::Str(s) => s
                .parse::<f64>()
                .map(V::Double)
                .map_err(|_| EvalError::InvalidArgument(format!("cannot convert {s:?} to double"))),
            v => bad("double", &v),
        },
        Func::String => Ok(V::Str(Cow::Owned(match a {
            V::Str(s) => return Ok(V::Str(s)),
            V::Int(i) => i.to_string(),
            V::Uint(u) => u.to_string(),
            V::Double(d) => format_double(d),
            V::Bool(b) => b.to_string(),
            V::Bytes(b) => String::from_utf8(b.into_owned())
                .map_err(|_| EvalError::InvalidArgument("bytes are not valid UTF-8".into()))?,
            V::Timestamp(t) => time::format_timestamp(t),
            V::Duration(d) => time::format_duration(d),
            v => return bad("string", &v),
        }))),
        Func::Bytes => match a {
            V::Str(s) => Ok(V::Bytes(match s {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            })),
            V::Bytes(b) => Ok(V::Bytes(b)),
            v => bad("bytes", &v),
        },
        Func::Bool => match a {
            V::Bool(b) => Ok(V::Bool(b)),
            V::Str(s) => match s.as_ref() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(V::Bool(true)),
                "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(V::Bool(false)),
                _ => Err(EvalError::InvalidArgument(format!(
                    "cannot convert {s:?} to bool"
                ))),
            },
            v => bad("bool", &v),
        },
        Func::Dyn => Ok(a),
        Func::Type => Ok(V::Type(match &a {
            V::Type(_) => "type",
            v => v.type_name(),
        })),
        Func::Get(tf) => {
            let offset = match &b {
                None => 0,
                Some(V::Str(tz)) => time::parse_tz(tz).ok_or_else(|| {
                    EvalError::InvalidArgument(format!("unsupported time zone {tz:?}"))
                })?,
                Some(v) => return bad("time zone", v),
            };
            match a {
                V::Timestamp(t) => {
                    let c = time::civil(t, offset);
                    Ok(V::Int(match tf {
                        TimeField::FullYear => c.year,
                        TimeField::Month => c.month0,
                        TimeField::Date => c.day,
                        TimeField::DayOfMonth => c.day - 1,
                        TimeField::DayOfWeek => c.weekday,
                        TimeField::DayOfYear => c.yday,
                        TimeField::Hours => c.hour,
                        TimeField::Minutes => c.minute,
                        TimeField::Seconds => c.second,
                        TimeField::Milliseconds => c.millis,
                    }))
                }
                V::Duration(d) => {
                    let secs = d / NANOS;
                    Ok(V::Int(match tf {
                        TimeField::Hours => secs / 3600,
                        TimeField::Minutes => secs / 60,
                        TimeField::Seconds => secs,
                        TimeField::Milliseconds => (d % NANOS) / 1_000_000,
                        _ => return bad("duration getter", &V::Duration(d)),
                    } as i64))
                }
                v => bad("time getter", &v),
            }
        }
    }
}
