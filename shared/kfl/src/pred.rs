//! The specialised boolean tree a filter compiles to. Common shapes (flags,
//! int comparisons with a constant, string equality/prefix/suffix/substring
//! with a constant, membership in constant lists, keys in header maps) read
//! the entry through typed getters with no intermediate values; anything
//! else falls back to the general evaluator for that subtree.

use std::borrow::Cow;

use wiremap_wire::EntryView;

use crate::ast::{BinOp, Literal};
use crate::checker::{Func, TExpr, TKind};
use crate::error::EvalError;
use crate::eval::{eval_bool, Cx};
use crate::schema::Getter;
use crate::value::{List, Map};

type StrGet = for<'a> fn(&EntryView<'a>) -> Cow<'a, str>;
type IntGet = fn(&EntryView<'_>) -> i64;
type ListGet = for<'a> fn(&EntryView<'a>) -> List<'a>;
type MapGet = for<'a> fn(&EntryView<'a>) -> Map<'a>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn of(op: BinOp) -> Option<Cmp> {
        Some(match op {
            BinOp::Eq => Cmp::Eq,
            BinOp::Ne => Cmp::Ne,
            BinOp::Lt => Cmp::Lt,
            BinOp::Le => Cmp::Le,
            BinOp::Gt => Cmp::Gt,
            BinOp::Ge => Cmp::Ge,
            _ => return None,
        })
    }

    /// The comparison with its operands swapped (`3 < x` is `x > 3`).
    fn flip(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
            c => c,
        }
    }

    #[inline]
    fn test(self, a: i64, b: i64) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOp {
    Eq,
    Ne,
    StartsWith,
    EndsWith,
    Contains,
}

#[derive(Clone)]
pub enum Pred {
    Const(bool),
    Flag(fn(&EntryView<'_>) -> bool),
    Int(IntGet, Cmp, i64),
    Str(StrGet, StrOp, Box<str>),
    StrIn(StrGet, Box<[String]>),
    ListHas(ListGet, Box<str>),
    MapHas(MapGet, Box<str>),
    Not(Box<Pred>),
    And(Box<Pred>, Box<Pred>),
    Or(Box<Pred>, Box<Pred>),
    General(Box<TExpr>),
}

impl std::fmt::Debug for Pred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pred::Const(b) => write!(f, "Const({b})"),
            Pred::Flag(_) => f.write_str("Flag"),
            Pred::Int(_, c, k) => write!(f, "Int({c:?} {k})"),
            Pred::Str(_, op, k) => write!(f, "Str({op:?} {k:?})"),
            Pred::StrIn(_, set) => write!(f, "StrIn({set:?})"),
            Pred::ListHas(_, k) => write!(f, "ListHas({k:?})"),
            Pred::MapHas(_, k) => write!(f, "MapHas({k:?})"),
            Pred::Not(p) => write!(f, "Not({p:?})"),
            Pred::And(a, b) => write!(f, "And({a:?}, {b:?})"),
            Pred::Or(a, b) => write!(f, "Or({a:?}, {b:?})"),
            Pred::General(_) => f.write_str("General"),
        }
    }
}

fn str_lit(e: &TExpr) -> Option<&str> {
    match &e.kind {
        TKind::Lit(Literal::String(s)) => Some(s),
        _ => None,
    }
}

fn int_lit(e: &TExpr) -> Option<i64> {
    match &e.kind {
        TKind::Lit(Literal::Int(i)) => Some(*i),
        _ => None,
    }
}

fn getter(e: &TExpr) -> Option<Getter> {
    match &e.kind {
        TKind::Var(v) => Some(v.get),
        _ => None,
    }
}

impl Pred {
    /// Lowers a checked boolean tree.
    pub fn compile(e: &TExpr) -> Pred {
        match &e.kind {
            TKind::Lit(Literal::Bool(b)) => Pred::Const(*b),
            TKind::Var(v) => match v.get {
                Getter::Bool(f) => Pred::Flag(f),
                _ => Pred::General(Box::new(e.clone())),
            },
            TKind::Not(x) => Pred::Not(Box::new(Pred::compile(x))),
            TKind::And(a, b) => Pred::And(Box::new(Pred::compile(a)), Box::new(Pred::compile(b))),
            TKind::Or(a, b) => Pred::Or(Box::new(Pred::compile(a)), Box::new(Pred::compile(b))),
            TKind::Binary(op, a, b) => {
                Self::binary(*op, a, b).unwrap_or_else(|| Pred::General(Box::new(e.clone())))
            }
            TKind::Call(f @ (Func::StartsWith | Func::EndsWith | Func::Contains), args)
                if args.len() == 2 =>
            {
                match (getter(&args[0]), str_lit(&args[1])) {
                    (Some(Getter::Str(g)), Some(k)) => {
                        let op = match f {
                            Func::StartsWith => StrOp::StartsWith,
                            Func::EndsWith => StrOp::EndsWith,
                            _ => StrOp::Contains,
                        };
                        Pred::Str(g, op, k.into())
                    }
                    _ => Pred::General(Box::new(e.clone())),
                }
            }
            _ => Pred::General(Box::new(e.clone())),
        }
    }

    fn binary(op: BinOp, a: &TExpr, b: &TExpr) -> Option<Pred> {
        if op == BinOp::In {
            return match (&a.kind, getter(b)) {
                (_, Some(Getter::List(g))) => Some(Pred::ListHas(g, str_lit(a)?.into())),
                (_, Some(Getter::Map(g))) => Some(Pred::MapHas(g, str_lit(a)?.into())),
                (TKind::Var(_), None) => {
                    let Some(Getter::Str(g)) = getter(a) else {
                        return None;
                    };
                    let TKind::List(items) = &b.kind else {
                        return None;
                    };
                    let set: Option<Vec<String>> = items
                        .iter()
                        .map(|i| str_lit(i).map(str::to_string))
                        .collect();
                    Some(Pred::StrIn(g, set?.into()))
                }
                _ => None,
            };
        }
        let cmp = Cmp::of(op)?;
        let (g, k, cmp) = match (getter(a), getter(b)) {
            (Some(g), None) => (g, b, cmp),
            (None, Some(g)) => (g, a, cmp.flip()),
            _ => return None,
        };
        match g {
            Getter::Int(f) => Some(Pred::Int(f, cmp, int_lit(k)?)),
            Getter::Str(f) => {
                let s = str_lit(k)?;
                match cmp {
                    Cmp::Eq => Some(Pred::Str(f, StrOp::Eq, s.into())),
                    Cmp::Ne => Some(Pred::Str(f, StrOp::Ne, s.into())),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Evaluates against one entry; `&&`/`||` absorb an error on one side
    /// when the other side decides.
    pub fn run(&self, v: &EntryView<'_>) -> Result<bool, EvalError> {
        Ok(match self {
            Pred::Const(b) => *b,
            Pred::Flag(f) => f(v),
            Pred::Int(f, c, k) => c.test(f(v), *k),
            Pred::Str(f, op, k) => {
                let s = f(v);
                match op {
                    StrOp::Eq => *s == **k,
                    StrOp::Ne => *s != **k,
                    StrOp::StartsWith => s.starts_with(&**k),
                    StrOp::EndsWith => s.ends_with(&**k),
                    StrOp::Contains => s.contains(&**k),
                }
            }
            Pred::StrIn(f, set) => {
                let s = f(v);
                set.iter().any(|k| *k == *s)
            }
            Pred::ListHas(f, k) => match f(v) {
                List::Strs(items) => items.iter().any(|i| **i == **k),
                l => l
                    .iter()
                    .any(|i| matches!(i, crate::value::Value::Str(s) if *s == **k)),
            },
            Pred::MapHas(f, k) => f(v).get_str(k).is_some(),
            Pred::Not(p) => !p.run(v)?,
            Pred::And(a, b) => {
                let x = a.run(v);
                if x == Ok(false) {
                    return Ok(false);
                }
                match (x, b.run(v)) {
                    (_, Ok(false)) => false,
                    (Ok(true), Ok(true)) => true,
                    (Err(e), _) | (_, Err(e)) => return Err(e),
                    _ => false,
                }
            }
            Pred::Or(a, b) => {
                let x = a.run(v);
                if x == Ok(true) {
                    return Ok(true);
                }
                match (x, b.run(v)) {
                    (_, Ok(true)) => true,
                    (Ok(false), Ok(false)) => false,
                    (Err(e), _) | (_, Err(e)) => return Err(e),
                    _ => true,
                }
            }
            Pred::General(e) => {
                let mut cx = Cx::new(v, &[]);
                eval_bool(e, &mut cx)?
            }
        })
    }
}
