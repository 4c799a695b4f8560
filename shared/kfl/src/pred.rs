//! The specialised boolean tree a filter compiles to. Common shapes (flags,
//! int comparisons with a constant, string equality/prefix/suffix/substring
//! with a constant, membership in constant lists, keys in header maps) read
//! the entry through typed getters with no intermediate values; anything
//! else falls back to the general evaluator for that subtree.

use std::borrow::Cow;

use wiremap_wire::{Entry, EntryBlock, EntryView, Protocol};

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

/// Integer variables that are a plain field of the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntField {
    StatusCode,
    ElapsedTime,
}

impl IntField {
    fn of(name: &str) -> Option<IntField> {
        match name {
            "status_code" => Some(IntField::StatusCode),
            "elapsed_time" => Some(IntField::ElapsedTime),
            _ => None,
        }
    }

    #[inline(always)]
    fn read(self, e: &Entry) -> i64 {
        match self {
            IntField::StatusCode => i64::from(e.status_code),
            IntField::ElapsedTime => e.elapsed_us,
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
    /// A comparison of a plain entry field with a constant, read without a
    /// call (the common `status_code` / `elapsed_time` tests).
    Field(IntField, Cmp, i64),
    Str(StrGet, StrOp, Box<str>),
    StrIn(StrGet, Box<[String]>),
    ListHas(ListGet, Box<str>),
    MapHas(MapGet, Box<str>),
    /// A protocol flag (`http`, `dns`, …): bit `protocol code` of the mask.
    Proto(u32),
    Not(Box<Pred>),
    /// n-ary `&&` and `||` (nested chains are flattened; same semantics).
    And(Box<[Pred]>),
    Or(Box<[Pred]>),
    General(Box<TExpr>),
}

/// A three-valued result without the error payload: the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    False,
    True,
    Error,
}

impl From<bool> for Tri {
    #[inline]
    fn from(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
}

impl std::fmt::Debug for Pred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pred::Const(b) => write!(f, "Const({b})"),
            Pred::Flag(_) => f.write_str("Flag"),
            Pred::Int(_, c, k) => write!(f, "Int({c:?} {k})"),
            Pred::Field(x, c, k) => write!(f, "Field({x:?} {c:?} {k})"),
            Pred::Str(_, op, k) => write!(f, "Str({op:?} {k:?})"),
            Pred::StrIn(_, set) => write!(f, "StrIn({set:?})"),
            Pred::ListHas(_, k) => write!(f, "ListHas({k:?})"),
            Pred::MapHas(_, k) => write!(f, "MapHas({k:?})"),
            Pred::Proto(m) => write!(f, "Proto({m:#x})"),
            Pred::Not(p) => write!(f, "Not({p:?})"),
            Pred::And(xs) => write!(f, "And{xs:?}"),
            Pred::Or(xs) => write!(f, "Or{xs:?}"),
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
            TKind::Var(v) => match (protocol_mask(v.name), v.get) {
                (Some(mask), _) => Pred::Proto(mask),
                (None, Getter::Bool(f)) => Pred::Flag(f),
                _ => Pred::General(Box::new(e.clone())),
            },
            TKind::Not(x) => Pred::Not(Box::new(Pred::compile(x))),
            TKind::And(..) => {
                let mut xs = Vec::new();
                flatten(e, true, &mut xs);
                Pred::And(xs.into())
            }
            TKind::Or(..) => {
                let mut xs = Vec::new();
                flatten(e, false, &mut xs);
                Pred::Or(xs.into())
            }
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
        let field = |e: &TExpr| match &e.kind {
            TKind::Var(v) => IntField::of(v.name),
            _ => None,
        };
        match (field(a), field(b)) {
            (Some(x), None) => return Some(Pred::Field(x, cmp, int_lit(b)?)),
            (None, Some(x)) => return Some(Pred::Field(x, cmp.flip(), int_lit(a)?)),
            _ => {}
        }
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
            Pred::Field(x, c, k) => c.test(x.read(v.entry), *k),
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
            Pred::Proto(m) => proto_bit(*m, v.entry),
            Pred::Not(p) => !p.run(v)?,
            Pred::And(xs) => {
                let mut err = None;
                for x in xs.iter() {
                    match x.run(v) {
                        Ok(false) => return Ok(false),
                        Ok(true) => {}
                        Err(e) => {
                            err.get_or_insert(e);
                        }
                    }
                }
                match err {
                    Some(e) => return Err(e),
                    None => true,
                }
            }
            Pred::Or(xs) => {
                let mut err = None;
                for x in xs.iter() {
                    match x.run(v) {
                        Ok(true) => return Ok(true),
                        Ok(false) => {}
                        Err(e) => {
                            err.get_or_insert(e);
                        }
                    }
                }
                match err {
                    Some(e) => return Err(e),
                    None => false,
                }
            }
            Pred::General(e) => {
                let mut cx = Cx::new(v, &[]);
                eval_bool(e, &mut cx)?
            }
        })
    }

    /// The fast path: the same result as [`Pred::run`] without building
    /// error values (`Tri::Error` where `run` gives `Err`).
    #[inline]
    pub fn test(&self, v: &EntryView<'_>) -> Tri {
        match self {
            Pred::Const(b) => Tri::from(*b),
            Pred::Flag(f) => Tri::from(f(v)),
            Pred::Proto(m) => Tri::from(proto_bit(*m, v.entry)),
            Pred::Int(f, c, k) => Tri::from(c.test(f(v), *k)),
            Pred::Field(x, c, k) => Tri::from(c.test(x.read(v.entry), *k)),
            Pred::Str(f, op, k) => {
                let s = f(v);
                Tri::from(match op {
                    StrOp::Eq => *s == **k,
                    StrOp::Ne => *s != **k,
                    StrOp::StartsWith => s.starts_with(&**k),
                    StrOp::EndsWith => s.ends_with(&**k),
                    StrOp::Contains => s.contains(&**k),
                })
            }
            Pred::Not(p) => match p.test(v) {
                Tri::True => Tri::False,
                Tri::False => Tri::True,
                Tri::Error => Tri::Error,
            },
            Pred::And(xs) => {
                let mut out = Tri::True;
                for x in xs.iter() {
                    match x.test(v) {
                        Tri::False => return Tri::False,
                        Tri::True => {}
                        Tri::Error => out = Tri::Error,
                    }
                }
                out
            }
            Pred::Or(xs) => {
                let mut out = Tri::False;
                for x in xs.iter() {
                    match x.test(v) {
                        Tri::True => return Tri::True,
                        Tri::False => {}
                        Tri::Error => out = Tri::Error,
                    }
                }
                out
            }
            Pred::StrIn(f, set) => {
                let s = f(v);
                Tri::from(set.iter().any(|k| *k == *s))
            }
            Pred::ListHas(..) | Pred::MapHas(..) | Pred::General(_) => match self.run(v) {
                Ok(b) => Tri::from(b),
                Err(_) => Tri::Error,
            },
        }
    }
}

/// Entries per block of [`Pred::block`]: one bit each in a `u64`.
pub const BLOCK: usize = 64;

/// Bits `0..n` set.
#[inline]
pub fn block_mask(n: usize) -> u64 {
    if n >= BLOCK {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Calls `f` with the index of every set bit of `m`, lowest first.
#[inline]
fn each_bit(mut m: u64, mut f: impl FnMut(usize)) {
    while m != 0 {
        f(m.trailing_zeros() as usize);
        m &= m - 1;
    }
}

/// Below this many live entries a leaf reads only those; at or above it, a
/// cheap leaf reads the whole block without branches.
const DENSE: u32 = 16;

impl Pred {
    /// Block evaluation: the same three-valued result as [`Pred::test`] for
    /// every entry `vs[i]` whose bit `i` is set in `live` (`vs.len() ≤ 64`),
    /// as two masks: `(true, error)`; live bits in neither are false. Bits
    /// outside `live` are 0 in both.
    ///
    /// Protocol flags run over the block without a branch per entry (a
    /// random mix of protocols is the filter's first and least predictable
    /// test); an `&&` evaluates each next operand only on the entries it has
    /// not yet decided, an `||` likewise; other leaves test their live
    /// entries one by one.
    pub fn block<B: EntryBlock + ?Sized>(&self, vs: &B, live: u64) -> (u64, u64) {
        debug_assert!(vs.len() <= BLOCK && live & !block_mask(vs.len()) == 0);
        match self {
            Pred::Const(b) => (if *b { live } else { 0 }, 0),
            Pred::Proto(m) => {
                if live.count_ones() >= DENSE {
                    let mut t = 0u64;
                    for i in 0..vs.len() {
                        t |= u64::from(proto_bit(*m, vs.entry(i))) << i;
                    }
                    (t & live, 0)
                } else {
                    let mut t = 0u64;
                    each_bit(live, |i| t |= u64::from(proto_bit(*m, vs.entry(i))) << i);
                    (t, 0)
                }
            }
            Pred::Int(f, c, k) => {
                let mut t = 0u64;
                each_bit(live, |i| t |= u64::from(c.test(f(&vs.view(i)), *k)) << i);
                (t, 0)
            }
            Pred::Field(x, c, k) => (field_block(*x, *c, *k, vs, live), 0),
            Pred::Not(p) => {
                let (t, e) = p.block(vs, live);
                (live & !t & !e, e)
            }
            Pred::And(xs) => {
                // Per entry: still true (`t`), errored but not yet decided
                // (`e`), or false (neither; never looked at again).
                let (mut t, mut e) = (live, 0u64);
                for x in xs.iter() {
                    let open = t | e;
                    if open == 0 {
                        break;
                    }
                    let (xt, xe) = x.block(vs, open);
                    let xf = open & !xt & !xe;
                    e = (e & !xf) | (t & xe);
                    t &= xt;
                }
                (t, e)
            }
            Pred::Or(xs) => {
                // Per entry: true (decided), still false (`f`), or errored
                // but not yet decided (`e`).
                let (mut t, mut f, mut e) = (0u64, live, 0u64);
                for x in xs.iter() {
                    let open = f | e;
                    if open == 0 {
                        break;
                    }
                    let (xt, xe) = x.block(vs, open);
                    t |= xt;
                    e = (e & !xt) | (f & xe);
                    f &= !xt & !xe;
                }
                (t, e)
            }
            _ => {
                let (mut t, mut e) = (0u64, 0u64);
                each_bit(live, |i| match self.test(&vs.view(i)) {
                    Tri::True => t |= 1 << i,
                    Tri::Error => e |= 1 << i,
                    Tri::False => {}
                });
                (t, e)
            }
        }
    }
}

/// [`Pred::Field`] over a block: the live entries one by one when few, else
/// every entry of the block without a branch per entry (the comparison and
/// the field read are fixed for the whole loop).
fn field_block<B: EntryBlock + ?Sized>(x: IntField, c: Cmp, k: i64, vs: &B, live: u64) -> u64 {
    #[inline(always)]
    fn dense<B: EntryBlock + ?Sized>(
        vs: &B,
        read: impl Fn(&Entry) -> i64,
        test: impl Fn(i64) -> bool,
    ) -> u64 {
        let mut t = 0u64;
        for i in 0..vs.len() {
            t |= u64::from(test(read(vs.entry(i)))) << i;
        }
        t
    }
    if live.count_ones() < DENSE {
        let mut t = 0u64;
        each_bit(live, |i| {
            t |= u64::from(c.test(x.read(vs.entry(i)), k)) << i
        });
        return t;
    }
    macro_rules! by_cmp {
        ($read:expr) => {
            match c {
                Cmp::Eq => dense(vs, $read, |a| a == k),
                Cmp::Ne => dense(vs, $read, |a| a != k),
                Cmp::Lt => dense(vs, $read, |a| a < k),
                Cmp::Le => dense(vs, $read, |a| a <= k),
                Cmp::Gt => dense(vs, $read, |a| a > k),
                Cmp::Ge => dense(vs, $read, |a| a >= k),
            }
        };
    }
    let t = match x {
        // One loop per field: the field read is a constant in each.
        IntField::StatusCode => by_cmp!(|e: &Entry| IntField::StatusCode.read(e)),
        IntField::ElapsedTime => by_cmp!(|e: &Entry| IntField::ElapsedTime.read(e)),
    };
    t & live
}

/// Collects the operands of a chain of `&&` (`and`) or `||` (`!and`).
fn flatten(e: &TExpr, and: bool, out: &mut Vec<Pred>) {
    match (&e.kind, and) {
        (TKind::And(a, b), true) | (TKind::Or(a, b), false) => {
            flatten(a, and, out);
            flatten(b, and, out);
        }
        _ => out.push(Pred::compile(e)),
    }
}

/// Protocol flags as a mask of wire protocol codes, read without a call.
fn protocol_mask(name: &str) -> Option<u32> {
    let bit = |p: Protocol| 1u32 << p.0;
    Some(match name {
        "http" => bit(Protocol::HTTP) | bit(Protocol::HTTP2) | bit(Protocol::GRPC),
        "grpc" => bit(Protocol::GRPC),
        "dns" => bit(Protocol::DNS),
        "redis" => bit(Protocol::REDIS),
        "kafka" => bit(Protocol::KAFKA),
        "tcp" => bit(Protocol::TCP),
        "udp" => bit(Protocol::UDP),
        _ => return None,
    })
}

#[inline]
fn proto_bit(mask: u32, e: &Entry) -> bool {
    let code = u32::from(e.protocol.0);
    code < 32 && (mask >> code) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::lookup;

    /// Calls `f` with a view of an entry with these fields (others zero).
    fn with_entry(protocol: Protocol, status: i32, elapsed: i64, f: impl FnOnce(&EntryView<'_>)) {
        let ip = std::net::IpAddr::from([10, 0, 0, 1]);
        let id = wiremap_wire::Identity::external(ip);
        let entry = wiremap_wire::Entry {
            protocol,
            status_code: status,
            elapsed_us: elapsed,
            ..wiremap_wire::Entry::blank(ip)
        };
        f(&EntryView {
            entry: &entry,
            src: &id,
            dst: &id,
            node: "",
        });
    }

    /// The fields read without a call agree with the schema's getters.
    #[test]
    fn int_fields_match_the_getters() {
        for name in ["status_code", "elapsed_time"] {
            let field = IntField::of(name).expect("a plain field");
            let Some(Getter::Int(get)) = lookup(name).map(|v| v.get) else {
                panic!("{name} is an int variable");
            };
            for (status, elapsed) in [(0, 0), (404, 17), (-1, i64::MAX), (i32::MIN, -5)] {
                with_entry(Protocol::HTTP, status, elapsed, |view| {
                    assert_eq!(field.read(view.entry), get(view), "{name}");
                });
            }
        }
    }

    /// The inlined protocol masks agree with the schema's getters on every
    /// protocol code.
    #[test]
    fn protocol_masks_match_the_getters() {
        for name in ["http", "grpc", "dns", "redis", "kafka", "tcp", "udp"] {
            let mask = protocol_mask(name).expect("a protocol flag");
            let Some(Getter::Bool(get)) = lookup(name).map(|v| v.get) else {
                panic!("{name} is a bool variable");
            };
            for code in 0..=255u8 {
                with_entry(Protocol(code), 0, 0, |view| {
                    assert_eq!(
                        proto_bit(mask, view.entry),
                        get(view),
                        "{name} on code {code}"
                    );
                });
            }
        }
    }
}
