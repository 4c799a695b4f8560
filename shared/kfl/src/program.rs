//! A compiled general CEL expression (any result type), with optional extra
//! declared variables. [`crate::Filter`] is the boolean form over entries.

use wiremap_wire::EntryView;

use crate::ast::Expr;
use crate::checker::{Checker, TExpr, TKind};
use crate::error::{CompileError, EvalError};
use crate::eval::{eval, Cx};
use crate::parser::parse;
use crate::types::Type;
use crate::value::Value;

/// A parsed, checked expression ready to evaluate.
#[derive(Debug, Clone)]
pub struct Program {
    source: String,
    tree: TExpr,
    fields: Vec<&'static str>,
}

impl Program {
    /// Compiles `source` with `now()` fixed at `now_us` (µs since the Unix
    /// epoch) and `extra` variables declared beside the KFL2 ones.
    pub fn compile(
        source: &str,
        now_us: i64,
        extra: &[(String, Type)],
    ) -> Result<Program, CompileError> {
        let ast = parse(source).map_err(|e| e.with_source(source))?;
        Self::from_ast(source, &ast, now_us, extra)
    }

    pub(crate) fn from_ast(
        source: &str,
        ast: &Expr,
        now_us: i64,
        extra: &[(String, Type)],
    ) -> Result<Program, CompileError> {
        let mut ck = Checker::new(extra, i128::from(now_us) * 1000);
        let tree = ck.check(ast).map_err(|e| e.with_source(source))?;
        let mut fields = Vec::new();
        collect_fields(&tree, &mut fields);
        Ok(Program {
            source: source.to_string(),
            tree,
            fields,
        })
    }

    /// The static type of the result.
    pub fn ty(&self) -> &Type {
        &self.tree.ty
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// KFL2 variables the expression reads, in first-use order.
    pub fn fields(&self) -> &[&'static str] {
        &self.fields
    }

    pub(crate) fn tree(&self) -> &TExpr {
        &self.tree
    }

    /// Evaluates against one entry; `bindings` give the `extra` variables' values in order.
    pub fn eval<'a>(
        &'a self,
        view: &EntryView<'a>,
        bindings: &[Value<'a>],
    ) -> Result<Value<'a>, EvalError> {
        let mut cx = Cx::new(view, bindings);
        eval(&self.tree, &mut cx)
    }
}

fn collect_fields(e: &TExpr, out: &mut Vec<&'static str>) {
    let mut visit = |x: &TExpr| collect_fields(x, out);
    match &e.kind {
        TKind::Var(v) => {
            if !out.contains(&v.name) {
                out.push(v.name);
            }
        }
        TKind::Lit(_) | TKind::Ts(_) | TKind::TypeVal(_) | TKind::Binding(_) | TKind::Local(_) => {}
        TKind::Not(x)
        | TKind::Neg(x)
        | TKind::Field(x, _)
        | TKind::Has(x, _)
        | TKind::Matches(x, _) => visit(x),
        TKind::And(a, b) | TKind::Or(a, b) | TKind::Binary(_, a, b) | TKind::Index(a, b) => {
            visit(a);
            visit(b);
        }
        TKind::Cond(a, b, c) => {
            visit(a);
            visit(b);
            visit(c);
        }
        TKind::Call(_, xs) | TKind::List(xs) => xs.iter().for_each(visit),
        TKind::Map(kv) => kv.iter().for_each(|(k, v)| {
            visit(k);
            visit(v);
        }),
        TKind::Comp(c) => {
            visit(&c.range);
            visit(&c.body);
            if let Some(t) = &c.transform {
                visit(t);
            }
        }
    }
}
