//! The parsed syntax tree of a KFL2 expression, before type checking.

use std::fmt::{self, Write};
use std::ops::Range;

/// A byte range in the source.
pub type Span = Range<usize>;

/// A literal value written in the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    String(String),
    Bytes(Vec<u8>),
}

/// Binary operators (CEL spellings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
        }
    }
}

/// One node of the syntax tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    /// Height of this subtree (a leaf is 1); bounded by the parser.
    pub depth: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Lit(Literal),
    /// A name; `root` is true for `.name` (root-scoped).
    Ident {
        name: String,
        root: bool,
    },
    /// `operand.field`
    Select {
        operand: Box<Expr>,
        field: String,
    },
    /// `operand[index]`
    Index {
        operand: Box<Expr>,
        index: Box<Expr>,
    },
    /// `f(args)` or `target.f(args)`
    Call {
        target: Option<Box<Expr>>,
        func: String,
        args: Vec<Expr>,
    },
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
}

impl Expr {
    /// A compact s-expression dump, used by golden tests.
    pub fn dump(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = self.dump_into(&mut s);
        s
    }

    fn dump_into(&self, s: &mut String) -> fmt::Result {
        match &self.kind {
            ExprKind::Lit(l) => match l {
                Literal::Null => write!(s, "null"),
                Literal::Bool(b) => write!(s, "{b}"),
                Literal::Int(i) => write!(s, "{i}"),
                Literal::Uint(u) => write!(s, "{u}u"),
                Literal::Double(d) => write!(s, "{d:?}"),
                Literal::String(t) => write!(s, "{t:?}"),
                Literal::Bytes(b) => write!(s, "b\"{}\"", b.escape_ascii()),
            },
            ExprKind::Ident { name, root } => write!(s, "{}{name}", if *root { "." } else { "" }),
            ExprKind::Select { operand, field } => {
                write!(s, "(. ")?;
                operand.dump_into(s)?;
                write!(s, " {field})")
            }
            ExprKind::Index { operand, index } => {
                write!(s, "([] ")?;
                operand.dump_into(s)?;
                s.push(' ');
                index.dump_into(s)?;
                s.push(')');
                Ok(())
            }
            ExprKind::Call { target, func, args } => {
                write!(s, "(call {func}")?;
                if let Some(t) = target {
                    s.push_str(" target=");
                    t.dump_into(s)?;
                }
                for a in args {
                    s.push(' ');
                    a.dump_into(s)?;
                }
                s.push(')');
                Ok(())
            }
            ExprKind::Not(e) => {
                s.push_str("(! ");
                e.dump_into(s)?;
                s.push(')');
                Ok(())
            }
            ExprKind::Neg(e) => {
                s.push_str("(- ");
                e.dump_into(s)?;
                s.push(')');
                Ok(())
            }
            ExprKind::And(a, b) => dump2(s, "&&", a, b),
            ExprKind::Or(a, b) => dump2(s, "||", a, b),
            ExprKind::Binary(op, a, b) => dump2(s, op.symbol(), a, b),
            ExprKind::Cond(c, a, b) => {
                s.push_str("(?: ");
                c.dump_into(s)?;
                s.push(' ');
                a.dump_into(s)?;
                s.push(' ');
                b.dump_into(s)?;
                s.push(')');
                Ok(())
            }
            ExprKind::List(items) => {
                s.push('[');
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        s.push(' ');
                    }
                    e.dump_into(s)?;
                }
                s.push(']');
                Ok(())
            }
            ExprKind::Map(items) => {
                s.push('{');
                for (i, (k, v)) in items.iter().enumerate() {
                    if i > 0 {
                        s.push(' ');
                    }
                    k.dump_into(s)?;
                    s.push(':');
                    v.dump_into(s)?;
                }
                s.push('}');
                Ok(())
            }
        }
    }
}

fn dump2(s: &mut String, op: &str, a: &Expr, b: &Expr) -> fmt::Result {
    write!(s, "({op} ")?;
    a.dump_into(s)?;
    s.push(' ');
    b.dump_into(s)?;
    s.push(')');
    Ok(())
}
