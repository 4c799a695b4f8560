//! The static type checker: resolves every name (variables to their
//! [`VarDef`], macro variables to slots, functions to [`Func`]), types every
//! node, and reports unknown names and wrong operand types with spans.

use regex::Regex;

use crate::ast::{BinOp, Expr, ExprKind, Literal, Span};
use crate::error::CompileError;
use crate::schema::{self, VarDef, VARS};
use crate::suggest::nearest;
use crate::types::Type;

/// Largest compiled regex program, in bytes.
pub const MAX_REGEX_SIZE: usize = 1 << 20;
/// Deepest regex group nesting.
pub const MAX_REGEX_NEST: u32 = 64;

/// A typed, resolved node.
#[derive(Debug, Clone)]
pub struct TExpr {
    pub ty: Type,
    pub kind: TKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum TKind {
    Lit(Literal),
    /// A timestamp constant (`now()`), ns since the epoch.
    Ts(i128),
    /// A type value (`int`, `string`, …).
    TypeVal(&'static str),
    Var(&'static VarDef),
    /// An extra declared variable (tests and embedders), by index.
    Binding(usize),
    /// A macro iteration variable, by slot.
    Local(usize),
    Not(Box<TExpr>),
    Neg(Box<TExpr>),
    And(Box<TExpr>, Box<TExpr>),
    Or(Box<TExpr>, Box<TExpr>),
    Cond(Box<TExpr>, Box<TExpr>, Box<TExpr>),
    Binary(BinOp, Box<TExpr>, Box<TExpr>),
    Index(Box<TExpr>, Box<TExpr>),
    /// `m.key` on a map.
    Field(Box<TExpr>, String),
    /// `has(m.key)` on a map.
    Has(Box<TExpr>, String),
    Call(Func, Vec<TExpr>),
    /// `s.matches(re)` with a constant pattern, compiled once.
    Matches(Box<TExpr>, Box<Regex>),
    List(Vec<TExpr>),
    Map(Vec<(TExpr, TExpr)>),
    Comp(Box<Comp>),
}

/// A comprehension macro.
#[derive(Debug, Clone)]
pub struct Comp {
    pub kind: CompKind,
    pub range: TExpr,
    pub slot: usize,
    /// The predicate (all/exists/exists_one/filter, or map's filter) or map's transform.
    pub body: TExpr,
    /// map(x, p, t): the transform when `body` is the filter.
    pub transform: Option<TExpr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompKind {
    All,
    Exists,
    ExistsOne,
    Map,
    Filter,
}

/// Calendar getters of timestamps (and of durations for the time parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeField {
    FullYear,
    Month,
    Date,
    DayOfMonth,
    DayOfWeek,
    DayOfYear,
    Hours,
    Minutes,
    Seconds,
    Milliseconds,
}

/// A resolved function. The receiver of `x.f(y)` is the first argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Size,
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    MapGet,
    Timestamp,
    Duration,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Bool,
    Dyn,
    Type,
    Get(TimeField),
}

const FUNCTIONS: [&str; 29] = [
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "map_get",
    "timestamp",
    "duration",
    "now",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "dyn",
    "type",
    "has",
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    "getFullYear",
    "getMonth",
    "getDate",
    "getDayOfMonth",
    "getHours",
    "getMinutes",
];

const TYPE_NAMES: [(&str, &str); 12] = [
    ("google.protobuf.Timestamp", "google.protobuf.Timestamp"),
    ("google.protobuf.Duration", "google.protobuf.Duration"),
    ("int", "int"),
    ("uint", "uint"),
    ("double", "double"),
    ("bool", "bool"),
    ("string", "string"),
    ("bytes", "bytes"),
    ("list", "list"),
    ("map", "map"),
    ("null_type", "null_type"),
    ("type", "type"),
];

/// Checker state.
pub struct Checker<'e> {
    extra: &'e [(String, Type)],
    locals: Vec<(String, Type)>,
    now_ns: i128,
}

type R<T> = Result<T, CompileError>;

fn err<T>(msg: impl Into<String>, span: &Span) -> R<T> {
    Err(CompileError::new(msg, span.clone()))
}

fn lit(l: Literal, ty: Type, span: &Span) -> TExpr {
    TExpr {
        ty,
        kind: TKind::Lit(l),
        span: span.clone(),
    }
}

impl<'e> Checker<'e> {
    pub fn new(extra: &'e [(String, Type)], now_ns: i128) -> Self {
        Checker {
            extra,
            locals: Vec::new(),
            now_ns,
        }
    }

    fn resolve_name(&self, name: &str, span: &Span) -> Option<TExpr> {
        if let Some(i) = self.locals.iter().rposition(|(n, _)| n == name) {
            let ty = self.locals[i].1.clone();
            return Some(TExpr {
                ty,
                kind: TKind::Local(i),
                span: span.clone(),
            });
        }
        if let Some(i) = self.extra.iter().position(|(n, _)| n == name) {
            let ty = self.extra[i].1.clone();
            return Some(TExpr {
                ty,
                kind: TKind::Binding(i),
                span: span.clone(),
            });
        }
        if let Some(v) = schema::lookup(name) {
            return Some(TExpr {
                ty: v.get.ty(),
                kind: TKind::Var(v),
                span: span.clone(),
            });
        }
        TYPE_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| TExpr {
                ty: Type::Type,
                kind: TKind::TypeVal(t),
                span: span.clone(),
            })
    }

    fn is_local(&self, name: &str) -> bool {
        self.locals.iter().any(|(n, _)| n == name)
    }

    fn unknown(&self, name: &str, span: &Span) -> CompileError {
        let cands = VARS
            .iter()
            .map(|v| v.name)
            .chain(self.extra.iter().map(|(n, _)| n.as_str()))
            .chain(self.locals.iter().map(|(n, _)| n.as_str()));
        CompileError::new(format!("unknown variable `{name}`"), span.clone())
            .with_suggestion(nearest(name, cands))
    }

    pub fn check(&mut self, e: &Expr) -> R<TExpr> {
        let span = &e.span;
        match &e.kind {
            ExprKind::Lit(l) => {
                let ty = match l {
                    Literal::Null => Type::Null,
                    Literal::Bool(_) => Type::Bool,
                    Literal::Int(_) => Type::Int,
                    Literal::Uint(_) => Type::Uint,
                    Literal::Double(_) => Type::Double,
                    Literal::String(_) => Type::String,
                    Literal::Bytes(_) => Type::Bytes,
                };
                Ok(lit(l.clone(), ty, span))
            }
            ExprKind::Ident { name, .. } => self
                .resolve_name(name, span)
                .ok_or_else(|| self.unknown(name, span)),
            ExprKind::Select { operand, field } => self.check_select(e, operand, field),
            ExprKind::Index { operand, index } => {
                let o = self.check(operand)?;
                let i = self.check(index)?;
                let ty = match (&o.ty, &i.ty) {
                    (Type::List(t), Type::Int | Type::Uint | Type::Double | Type::Dyn) => {
                        (**t).clone()
                    }
                    (Type::Map(k, v), it)
                        if k.compatible(it) || (k.is_numeric() && it.is_numeric()) =>
                    {
                        (**v).clone()
                    }
                    (Type::Dyn, _) => Type::Dyn,
                    (ot, it) => return err(format!("cannot index {ot} with {it}"), span),
                };
                Ok(TExpr {
                    ty,
                    kind: TKind::Index(Box::new(o), Box::new(i)),
                    span: span.clone(),
                })
            }
            ExprKind::Call { target, func, args } => {
                self.check_call(e, target.as_deref(), func, args)
            }
            ExprKind::Not(x) => {
                let x = self.expect_bool(x, "operand of `!`")?;
                Ok(TExpr {
                    ty: Type::Bool,
                    kind: TKind::Not(Box::new(x)),
                    span: span.clone(),
                })
            }
            ExprKind::Neg(x) => {
                let x = self.check(x)?;
                if !matches!(x.ty, Type::Int | Type::Double | Type::Dyn) {
                    return err(format!("cannot negate {}", x.ty), span);
                }
                Ok(TExpr {
                    ty: x.ty.clone(),
                    kind: TKind::Neg(Box::new(x)),
                    span: span.clone(),
                })
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let op = if matches!(e.kind, ExprKind::And(..)) {
                    "&&"
                } else {
                    "||"
                };
                let a = self.expect_bool(a, &format!("left operand of `{op}`"))?;
                let b = self.expect_bool(b, &format!("right operand of `{op}`"))?;
                let kind = if op == "&&" {
                    TKind::And(Box::new(a), Box::new(b))
                } else {
                    TKind::Or(Box::new(a), Box::new(b))
                };
                Ok(TExpr {
                    ty: Type::Bool,
                    kind,
                    span: span.clone(),
                })
            }
            ExprKind::Cond(c, a, b) => {
                let c = self.expect_bool(c, "condition of `?:`")?;
                let a = self.check(a)?;
                let b = self.check(b)?;
                let ty = a.ty.join(&b.ty);
                Ok(TExpr {
                    ty,
                    kind: TKind::Cond(Box::new(c), Box::new(a), Box::new(b)),
                    span: span.clone(),
                })
            }
            ExprKind::Binary(op, a, b) => {
                let a = self.check(a)?;
                let b = self.check(b)?;
                let ty = binary_type(*op, &a.ty, &b.ty).ok_or_else(|| {
                    let msg = match op {
                        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                            format!("cannot compare {} with {} (`{}`)", a.ty, b.ty, op.symbol())
                        }
                        BinOp::In => format!(
                            "`in` needs a list or map on the right, of {} elements; found {}",
                            a.ty, b.ty
                        ),
                        _ => format!("no operator `{}` for {} and {}", op.symbol(), a.ty, b.ty),
                    };
                    CompileError::new(msg, span.clone())
                })?;
                Ok(TExpr {
                    ty,
                    kind: TKind::Binary(*op, Box::new(a), Box::new(b)),
                    span: span.clone(),
                })
            }
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ty: Option<Type> = None;
                for it in items {
                    let t = self.check(it)?;
                    ty = Some(match ty {
                        None => t.ty.clone(),
                        Some(prev) => prev.join(&t.ty),
                    });
                    out.push(t);
                }
                Ok(TExpr {
                    ty: Type::list(ty.unwrap_or(Type::Dyn)),
                    kind: TKind::List(out),
                    span: span.clone(),
                })
            }
            ExprKind::Map(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut kt: Option<Type> = None;
                let mut vt: Option<Type> = None;
                for (k, v) in items {
                    let k = self.check(k)?;
                    if !matches!(
                        k.ty,
                        Type::Int | Type::Uint | Type::Bool | Type::String | Type::Dyn
                    ) {
                        return err(
                            format!("map keys must be int, uint, bool or string, not {}", k.ty),
                            &k.span,
                        );
                    }
                    let v = self.check(v)?;
                    kt = Some(kt.map_or(k.ty.clone(), |p| p.join(&k.ty)));
                    vt = Some(vt.map_or(v.ty.clone(), |p| p.join(&v.ty)));
                    out.push((k, v));
                }
                let ty = Type::map(kt.unwrap_or(Type::Dyn), vt.unwrap_or(Type::Dyn));
                Ok(TExpr {
                    ty,
                    kind: TKind::Map(out),
                    span: span.clone(),
                })
            }
        }
    }

    fn expect_bool(&mut self, e: &Expr, what: &str) -> R<TExpr> {
        let t = self.check(e)?;
        if !matches!(t.ty, Type::Bool | Type::Dyn) {
            return err(format!("{what} must be bool, found {}", t.ty), &t.span);
        }
        Ok(t)
    }

    /// The dotted name of an identifier/select chain (`src.pod.name`), unless
    /// its root is a macro variable.
    fn qualified(&self, e: &Expr) -> Option<String> {
        match &e.kind {
            ExprKind::Ident { name, .. } if !self.is_local(name) => Some(name.clone()),
            ExprKind::Select { operand, field } => {
                self.qualified(operand).map(|q| format!("{q}.{field}"))
            }
            _ => None,
        }
    }

    /// Does some prefix of this chain name something?
    fn chain_resolves(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Ident { name, .. } => self.resolve_name(name, &e.span).is_some(),
            ExprKind::Select { operand, .. } => {
                self.qualified(e)
                    .is_some_and(|q| self.resolve_name(&q, &e.span).is_some())
                    || self.chain_resolves(operand)
            }
            _ => true,
        }
    }

    fn check_select(&mut self, e: &Expr, operand: &Expr, field: &str) -> R<TExpr> {
        if let Some(q) = self.qualified(e) {
            if let Some(t) = self.resolve_name(&q, &e.span) {
                return Ok(t);
            }
            if !self.chain_resolves(operand) {
                return Err(self.unknown(&q, &e.span));
            }
        }
        let o = self.check(operand)?;
        self.select_on(o, field, &e.span)
    }

    fn select_on(&self, o: TExpr, field: &str, span: &Span) -> R<TExpr> {
        let ty = match &o.ty {
            Type::Map(k, v) if matches!(**k, Type::String | Type::Dyn) => (**v).clone(),
            Type::Dyn => Type::Dyn,
            t => return err(format!("{t} has no field `{field}`"), span),
        };
        Ok(TExpr {
            ty,
            kind: TKind::Field(Box::new(o), field.to_string()),
            span: span.clone(),
        })
    }

    fn check_call(
        &mut self,
        e: &Expr,
        target: Option<&Expr>,
        func: &str,
        args: &[Expr],
    ) -> R<TExpr> {
        let span = &e.span;
        // Macros.
        match (func, target, args.len()) {
            ("has", None, 1) => return self.check_has(&args[0], span),
            ("all" | "exists" | "exists_one" | "filter", Some(t), 2) | ("map", Some(t), 2 | 3) => {
                return self.check_comp(func, t, args, span)
            }
            _ => {}
        }
        if func == "now" && target.is_none() {
            if !args.is_empty() {
                return err("now() takes no arguments", span);
            }
            return Ok(TExpr {
                ty: Type::Timestamp,
                kind: TKind::Ts(self.now_ns),
                span: span.clone(),
            });
        }
        let mut all = Vec::with_capacity(args.len() + 1);
        if let Some(t) = target {
            all.push(self.check(t)?);
        }
        for a in args {
            all.push(self.check(a)?);
        }
        let recv = target.is_some();
        let tys: Vec<&Type> = all.iter().map(|a| &a.ty).collect();
        let is = |t: &Type, want: &Type| t == want || t.is_dyn();
        let bad = |what: &str| -> R<TExpr> {
            let list: Vec<String> = tys.iter().map(|t| t.to_string()).collect();
            err(
                format!("no overload of `{func}` for ({}){what}", list.join(", ")),
                span,
            )
        };
        let time_field = match func {
            "getFullYear" => Some(TimeField::FullYear),
            "getMonth" => Some(TimeField::Month),
            "getDate" => Some(TimeField::Date),
            "getDayOfMonth" => Some(TimeField::DayOfMonth),
            "getDayOfWeek" => Some(TimeField::DayOfWeek),
            "getDayOfYear" => Some(TimeField::DayOfYear),
            "getHours" => Some(TimeField::Hours),
            "getMinutes" => Some(TimeField::Minutes),
            "getSeconds" => Some(TimeField::Seconds),
            "getMilliseconds" => Some(TimeField::Milliseconds),
            _ => None,
        };
        let (f, ty) = match func {
            "size" if tys.len() == 1 => {
                if !matches!(
                    tys[0],
                    Type::String | Type::Bytes | Type::List(_) | Type::Map(..) | Type::Dyn
                ) {
                    return bad("");
                }
                (Func::Size, Type::Int)
            }
            "contains" | "startsWith" | "endsWith" if recv && tys.len() == 2 => {
                if !is(tys[0], &Type::String) || !is(tys[1], &Type::String) {
                    return bad("");
                }
                let f = match func {
                    "contains" => Func::Contains,
                    "startsWith" => Func::StartsWith,
                    _ => Func::EndsWith,
                };
                (f, Type::Bool)
            }
            "matches" if tys.len() == 2 => {
                if !is(tys[0], &Type::String) || !is(tys[1], &Type::String) {
                    return bad("");
                }
                if let TKind::Lit(Literal::String(p)) = &all[1].kind {
                    let re =
                        compile_regex(p).map_err(|m| CompileError::new(m, all[1].span.clone()))?;
                    let mut it = all.into_iter();
                    let s = it.next().unwrap_or_else(|| unreachable!());
                    return Ok(TExpr {
                        ty: Type::Bool,
                        kind: TKind::Matches(Box::new(s), Box::new(re)),
                        span: span.clone(),
                    });
                }
                (Func::Matches, Type::Bool)
            }
            "map_get" if tys.len() == 3 => match tys[0] {
                Type::Map(k, v) if k.compatible(tys[1]) && v.compatible(tys[2]) => {
                    (Func::MapGet, v.join(tys[2]))
                }
                Type::Dyn => (Func::MapGet, Type::Dyn),
                _ => return bad(": expects (map, key, default)"),
            },
            "timestamp" if !recv && tys.len() == 1 => {
                if !matches!(
                    tys[0],
                    Type::String | Type::Int | Type::Timestamp | Type::Dyn
                ) {
                    return bad("");
                }
                (Func::Timestamp, Type::Timestamp)
            }
            "duration" if !recv && tys.len() == 1 => {
                if !matches!(tys[0], Type::String | Type::Duration | Type::Dyn) {
                    return bad("");
                }
                (Func::Duration, Type::Duration)
            }
            "int" if !recv && tys.len() == 1 => {
                if !matches!(
                    tys[0],
                    Type::Int
                        | Type::Uint
                        | Type::Double
                        | Type::String
                        | Type::Timestamp
                        | Type::Dyn
                ) {
                    return bad("");
                }
                (Func::Int, Type::Int)
            }
            "uint" if !recv && tys.len() == 1 => {
                if !matches!(
                    tys[0],
                    Type::Int | Type::Uint | Type::Double | Type::String | Type::Dyn
                ) {
                    return bad("");
                }
                (Func::Uint, Type::Uint)
            }
            "double" if !recv && tys.len() == 1 => {
                if !matches!(
                    tys[0],
                    Type::Int | Type::Uint | Type::Double | Type::String | Type::Dyn
                ) {
                    return bad("");
                }
                (Func::Double, Type::Double)
            }
            "string" if !recv && tys.len() == 1 => {
                if matches!(
                    tys[0],
                    Type::List(_) | Type::Map(..) | Type::Null | Type::Type
                ) {
                    return bad("");
                }
                (Func::String, Type::String)
            }
            "bytes" if !recv && tys.len() == 1 => {
                if !matches!(tys[0], Type::String | Type::Bytes | Type::Dyn) {
                    return bad("");
                }
                (Func::Bytes, Type::Bytes)
            }
            "bool" if !recv && tys.len() == 1 => {
                if !matches!(tys[0], Type::String | Type::Bool | Type::Dyn) {
                    return bad("");
                }
                (Func::Bool, Type::Bool)
            }
            "dyn" if !recv && tys.len() == 1 => (Func::Dyn, Type::Dyn),
            "type" if !recv && tys.len() == 1 => (Func::Type, Type::Type),
            _ if time_field.is_some() && recv && (tys.len() == 1 || tys.len() == 2) => {
                let tf = time_field.unwrap_or(TimeField::Hours);
                let on_duration = matches!(
                    tf,
                    TimeField::Hours
                        | TimeField::Minutes
                        | TimeField::Seconds
                        | TimeField::Milliseconds
                );
                let ok_recv = matches!(tys[0], Type::Timestamp | Type::Dyn)
                    || (on_duration && *tys[0] == Type::Duration && tys.len() == 1);
                if !ok_recv || (tys.len() == 2 && !is(tys[1], &Type::String)) {
                    return bad("");
                }
                (Func::Get(tf), Type::Int)
            }
            _ if FUNCTIONS.contains(&func) || time_field.is_some() => return bad(""),
            _ => {
                return Err(
                    CompileError::new(format!("unknown function `{func}`"), span.clone())
                        .with_suggestion(nearest(func, FUNCTIONS.iter().copied())),
                )
            }
        };
        Ok(TExpr {
            ty,
            kind: TKind::Call(f, all),
            span: span.clone(),
        })
    }

    fn check_has(&mut self, arg: &Expr, span: &Span) -> R<TExpr> {
        let ExprKind::Select { operand, field } = &arg.kind else {
            return err("has() needs a field selection, like has(m.key)", &arg.span);
        };
        if let Some(q) = self.qualified(arg) {
            if self.resolve_name(&q, &arg.span).is_some() {
                // KFL2 variables are always present (absent data reads as zero).
                return Ok(lit(Literal::Bool(true), Type::Bool, span));
            }
            if !self.chain_resolves(operand) {
                return Err(self.unknown(&q, &arg.span));
            }
        }
        let o = self.check(operand)?;
        if !matches!(&o.ty, Type::Map(k, _) if matches!(**k, Type::String | Type::Dyn))
            && !o.ty.is_dyn()
        {
            return err(format!("has() needs a map, found {}", o.ty), &o.span);
        }
        Ok(TExpr {
            ty: Type::Bool,
            kind: TKind::Has(Box::new(o), field.clone()),
            span: span.clone(),
        })
    }

    fn check_comp(&mut self, func: &str, target: &Expr, args: &[Expr], span: &Span) -> R<TExpr> {
        let ExprKind::Ident { name, root: false } = &args[0].kind else {
            return err(
                format!("the first argument of {func}() must be a variable name"),
                &args[0].span,
            );
        };
        let range = self.check(target)?;
        let elem = match &range.ty {
            Type::List(t) => (**t).clone(),
            Type::Map(k, _) => (**k).clone(),
            Type::Dyn => Type::Dyn,
            t => {
                return err(
                    format!("{func}() needs a list or map, found {t}"),
                    &range.span,
                )
            }
        };
        let slot = self.locals.len();
        self.locals.push((name.clone(), elem.clone()));
        let r = self.comp_body(func, args, range, slot, elem, span);
        self.locals.truncate(slot);
        r
    }

    fn comp_body(
        &mut self,
        func: &str,
        args: &[Expr],
        range: TExpr,
        slot: usize,
        elem: Type,
        span: &Span,
    ) -> R<TExpr> {
        let (kind, body, transform, ty) = match func {
            "all" | "exists" | "exists_one" | "filter" => {
                let p = self.expect_bool(&args[1], &format!("the predicate of {func}()"))?;
                let (k, ty) = match func {
                    "all" => (CompKind::All, Type::Bool),
                    "exists" => (CompKind::Exists, Type::Bool),
                    "exists_one" => (CompKind::ExistsOne, Type::Bool),
                    _ => (CompKind::Filter, Type::list(elem)),
                };
                (k, p, None, ty)
            }
            _ if args.len() == 3 => {
                let p = self.expect_bool(&args[1], "the filter of map()")?;
                let t = self.check(&args[2])?;
                let ty = Type::list(t.ty.clone());
                (CompKind::Map, p, Some(t), ty)
            }
            _ => {
                let t = self.check(&args[1])?;
                let ty = Type::list(t.ty.clone());
                (CompKind::Map, t, None, ty)
            }
        };
        Ok(TExpr {
            ty,
            kind: TKind::Comp(Box::new(Comp {
                kind,
                range,
                slot,
                body,
                transform,
            })),
            span: span.clone(),
        })
    }
}

/// Compiles a regex with size and nesting bounds.
pub fn compile_regex(p: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(p)
        .size_limit(MAX_REGEX_SIZE)
        .dfa_size_limit(MAX_REGEX_SIZE)
        .nest_limit(MAX_REGEX_NEST)
        .build()
        .map_err(|e| {
            format!(
                "invalid regular expression: {}",
                e.to_string().lines().last().unwrap_or("")
            )
        })
}

/// The result type of a binary operator, or None when no overload exists.
fn binary_type(op: BinOp, a: &Type, b: &Type) -> Option<Type> {
    use Type as T;
    let dyn_either = a.is_dyn() || b.is_dyn();
    match op {
        BinOp::Eq | BinOp::Ne => a.compatible(b).then_some(T::Bool),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ok = dyn_either
                || (a.is_numeric() && b.is_numeric())
                || (a == b
                    && matches!(
                        a,
                        T::String | T::Bytes | T::Bool | T::Timestamp | T::Duration
                    ));
            ok.then_some(T::Bool)
        }
        BinOp::In => match b {
            T::List(e) => e.compatible(a).then_some(T::Bool),
            T::Map(k, _) => {
                (k.compatible(a) || (k.is_numeric() && a.is_numeric())).then_some(T::Bool)
            }
            T::Dyn => Some(T::Bool),
            _ => None,
        },
        BinOp::Add => match (a, b) {
            (T::Dyn, _) | (_, T::Dyn) => Some(T::Dyn),
            (T::List(x), T::List(y)) => Some(T::list(x.join(y))),
            (T::Timestamp, T::Duration) | (T::Duration, T::Timestamp) => Some(T::Timestamp),
            (x, y)
                if x == y
                    && matches!(
                        x,
                        T::Int | T::Uint | T::Double | T::String | T::Bytes | T::Duration
                    ) =>
            {
                Some(x.clone())
            }
            _ => None,
        },
        BinOp::Sub => match (a, b) {
            (T::Dyn, _) | (_, T::Dyn) => Some(T::Dyn),
            (T::Timestamp, T::Timestamp) => Some(T::Duration),
            (T::Timestamp, T::Duration) => Some(T::Timestamp),
            (x, y) if x == y && matches!(x, T::Int | T::Uint | T::Double | T::Duration) => {
                Some(x.clone())
            }
            _ => None,
        },
        BinOp::Mul | BinOp::Div => match (a, b) {
            (T::Dyn, _) | (_, T::Dyn) => Some(T::Dyn),
            (x, y) if x == y && x.is_numeric() => Some(x.clone()),
            _ => None,
        },
        BinOp::Rem => match (a, b) {
            (T::Dyn, _) | (_, T::Dyn) => Some(T::Dyn),
            (x, y) if x == y && matches!(x, T::Int | T::Uint) => Some(x.clone()),
            _ => None,
        },
    }
}
