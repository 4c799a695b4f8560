//! Recursive-descent parser for CEL syntax with CEL precedence. Bounded:
//! nesting depth, tree height and node count all have named caps, so hostile
//! input is a compile error, never a stack overflow.

use crate::ast::{BinOp, Expr, ExprKind, Literal, Span};
use crate::error::CompileError;
use crate::lexer::{tokenize, Tok, Token, RESERVED};

/// Deepest bracket/paren/call nesting the parser follows.
pub const MAX_NESTING: u32 = 64;
/// Tallest syntax tree accepted (checker and evaluator recurse this deep).
pub const MAX_TREE_DEPTH: u32 = 128;
/// Most nodes in one expression.
pub const MAX_NODES: usize = 8192;

/// Parses one CEL expression.
pub fn parse(src: &str) -> Result<Expr, CompileError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        nesting: 0,
        nodes: 0,
    };
    let e = p.expr()?;
    let t = p.peek();
    if t.tok != Tok::Eof {
        return Err(CompileError::new(
            format!("unexpected {}", describe(&t.tok)),
            t.span.clone(),
        ));
    }
    Ok(e)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    nesting: u32,
    nodes: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Eof => "end of input".into(),
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Int(_) | Tok::Uint(_) | Tok::Double(_) => "number".into(),
        Tok::Str(_) => "string".into(),
        Tok::Bytes(_) => "bytes".into(),
        other => format!("`{}`", tok_text(other)),
    }
}

fn tok_text(t: &Tok) -> &'static str {
    match t {
        Tok::True => "true",
        Tok::False => "false",
        Tok::Null => "null",
        Tok::In => "in",
        Tok::EqEq => "==",
        Tok::Ne => "!=",
        Tok::Lt => "<",
        Tok::Le => "<=",
        Tok::Gt => ">",
        Tok::Ge => ">=",
        Tok::AndAnd => "&&",
        Tok::OrOr => "||",
        Tok::Bang => "!",
        Tok::Plus => "+",
        Tok::Minus => "-",
        Tok::Star => "*",
        Tok::Slash => "/",
        Tok::Percent => "%",
        Tok::Question => "?",
        Tok::Colon => ":",
        Tok::Dot => ".",
        Tok::Comma => ",",
        Tok::LBracket => "[",
        Tok::RBracket => "]",
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::LBrace => "{",
        Tok::RBrace => "}",
        _ => "token",
    }
}

impl Parser {
    fn peek(&self) -> &Token {
        // tokenize always ends with Eof, and pos never passes it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if &self.peek().tok == tok {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<Token, CompileError> {
        let t = self.peek().clone();
        if &t.tok == tok {
            Ok(self.bump())
        } else {
            Err(CompileError::new(
                format!("expected `{}`, found {}", tok_text(tok), describe(&t.tok)),
                t.span,
            ))
        }
    }

    fn mk(&mut self, kind: ExprKind, span: Span) -> Result<Expr, CompileError> {
        let child = match &kind {
            ExprKind::Lit(_) | ExprKind::Ident { .. } => 0,
            ExprKind::Select { operand, .. } => operand.depth,
            ExprKind::Index { operand, index } => operand.depth.max(index.depth),
            ExprKind::Call { target, args, .. } => args
                .iter()
                .map(|a| a.depth)
                .chain(target.iter().map(|t| t.depth))
                .max()
                .unwrap_or(0),
            ExprKind::Not(e) | ExprKind::Neg(e) => e.depth,
            ExprKind::And(a, b) | ExprKind::Or(a, b) | ExprKind::Binary(_, a, b) => {
                a.depth.max(b.depth)
            }
            ExprKind::Cond(a, b, c) => a.depth.max(b.depth).max(c.depth),
            ExprKind::List(items) => items.iter().map(|a| a.depth).max().unwrap_or(0),
            ExprKind::Map(items) => items
                .iter()
                .map(|(k, v)| k.depth.max(v.depth))
                .max()
                .unwrap_or(0),
        };
        let depth = child + 1;
        if depth > MAX_TREE_DEPTH {
            return Err(CompileError::new(
                format!("expression nested too deeply (more than {MAX_TREE_DEPTH} levels)"),
                span,
            ));
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(CompileError::new(
                format!("expression too large (more than {MAX_NODES} nodes)"),
                span,
            ));
        }
        Ok(Expr { kind, span, depth })
    }

    fn expr(&mut self) -> Result<Expr, CompileError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            let span = self.peek().span.clone();
            return Err(CompileError::new(
                format!("expression nested too deeply (more than {MAX_NESTING} levels)"),
                span,
            ));
        }
        let r = self.conditional();
        self.nesting -= 1;
        r
    }

    fn conditional(&mut self) -> Result<Expr, CompileError> {
        let c = self.logical(true)?;
        if self.eat(&Tok::Question) {
            let a = self.logical(true)?;
            self.expect(&Tok::Colon)?;
            let b = self.expr()?;
            let span = c.span.start..b.span.end;
            return self.mk(ExprKind::Cond(Box::new(c), Box::new(a), Box::new(b)), span);
        }
        Ok(c)
    }

    /// `||` chains (or `&&` chains when `or` is false), built balanced so a
    /// long chain stays shallow; both operators are associative in CEL.
    fn logical(&mut self, or: bool) -> Result<Expr, CompileError> {
        let (tok, mut items) = if or {
            (Tok::OrOr, vec![self.logical(false)?])
        } else {
            (Tok::AndAnd, vec![self.relation()?])
        };
        while self.eat(&tok) {
            items.push(if or {
                self.logical(false)?
            } else {
                self.relation()?
            });
        }
        self.balance(items, or)
    }

    fn balance(&mut self, mut items: Vec<Expr>, or: bool) -> Result<Expr, CompileError> {
        if items.len() == 1 {
            return Ok(items.pop().unwrap_or_else(|| unreachable!()));
        }
        let right = items.split_off(items.len() / 2);
        let a = self.balance(items, or)?;
        let b = self.balance(right, or)?;
        let span = a.span.start..b.span.end;
        let kind = if or {
            ExprKind::Or(Box::new(a), Box::new(b))
        } else {
            ExprKind::And(Box::new(a), Box::new(b))
        };
        self.mk(kind, span)
    }

    fn relation(&mut self) -> Result<Expr, CompileError> {
        let mut a = self.addition()?;
        loop {
            let op = match self.peek().tok {
                Tok::EqEq => BinOp::Eq,
                Tok::Ne => BinOp::Ne,
                Tok::Lt => BinOp::Lt,
                Tok::Le => BinOp::Le,
                Tok::Gt => BinOp::Gt,
                Tok::Ge => BinOp::Ge,
                Tok::In => BinOp::In,
                _ => return Ok(a),
            };
            self.bump();
            let b = self.addition()?;
            let span = a.span.start..b.span.end;
            a = self.mk(ExprKind::Binary(op, Box::new(a), Box::new(b)), span)?;
        }
    }

    fn addition(&mut self) -> Result<Expr, CompileError> {
        let mut a = self.multiplication()?;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(a),
            };
            self.bump();
            let b = self.multiplication()?;
            let span = a.span.start..b.span.end;
            a = self.mk(ExprKind::Binary(op, Box::new(a), Box::new(b)), span)?;
        }
    }

    fn multiplication(&mut self) -> Result<Expr, CompileError> {
        let mut a = self.unary()?;
        loop {
            let op = match self.peek().tok {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                Tok::Percent => BinOp::Rem,
                _ => return Ok(a),
            };
            self.bump();
            let b = self.unary()?;
            let span = a.span.start..b.span.end;
            a = self.mk(ExprKind::Binary(op, Box::new(a), Box::new(b)), span)?;
        }
    }

    fn unary(&mut self) -> Result<Expr, CompileError> {
        let mut ops = Vec::new();
        while matches!(self.peek().tok, Tok::Bang | Tok::Minus) {
            let t = self.bump();
            ops.push((t.tok == Tok::Bang, t.span.start));
        }
        // `-` directly before an int literal folds into a negative literal,
        // which is how `-9223372036854775808` is written.
        let mut e = match (ops.last(), &self.peek().tok) {
            (Some((false, start)), Tok::Int(v)) => {
                let (v, start) = (*v, *start);
                let t = self.bump();
                ops.pop();
                let n = if v == i64::MAX as u64 + 1 {
                    i64::MIN
                } else {
                    -(v as i64)
                };
                let e = self.mk(ExprKind::Lit(Literal::Int(n)), start..t.span.end)?;
                self.member_suffix(e)?
            }
            (Some((false, start)), Tok::Double(v)) => {
                let (v, start) = (*v, *start);
                let t = self.bump();
                ops.pop();
                let e = self.mk(ExprKind::Lit(Literal::Double(-v)), start..t.span.end)?;
                self.member_suffix(e)?
            }
            _ => self.member()?,
        };
        while let Some((not, start)) = ops.pop() {
            let span = start..e.span.end;
            let kind = if not {
                ExprKind::Not(Box::new(e))
            } else {
                ExprKind::Neg(Box::new(e))
            };
            e = self.mk(kind, span)?;
        }
        Ok(e)
    }

    fn member(&mut self) -> Result<Expr, CompileError> {
        let e = self.primary()?;
        self.member_suffix(e)
    }

    fn member_suffix(&mut self, mut e: Expr) -> Result<Expr, CompileError> {
        loop {
            match self.peek().tok {
                Tok::Dot => {
                    self.bump();
                    let t = self.bump();
                    let (name, quoted) = match t.tok {
                        Tok::Ident(n) => (n, false),
                        Tok::QuotedIdent(n) => (n, true),
                        Tok::Question => {
                            return Err(CompileError::new(
                                "optional field selection (`.?`) is not supported",
                                t.span,
                            ))
                        }
                        other => {
                            return Err(CompileError::new(
                                format!(
                                    "expected a field name after `.`, found {}",
                                    describe(&other)
                                ),
                                t.span,
                            ))
                        }
                    };
                    if self.peek().tok == Tok::LParen && !quoted {
                        self.bump();
                        let args = self.args(&Tok::RParen)?;
                        let end = self.expect(&Tok::RParen)?.span.end;
                        let span = e.span.start..end;
                        e = self.mk(
                            ExprKind::Call {
                                target: Some(Box::new(e)),
                                func: name,
                                args,
                            },
                            span,
                        )?;
                    } else {
                        let span = e.span.start..t.span.end;
                        e = self.mk(
                            ExprKind::Select {
                                operand: Box::new(e),
                                field: name,
                            },
                            span,
                        )?;
                    }
                }
                Tok::LBracket => {
                    self.bump();
                    if self.peek().tok == Tok::Question {
                        let sp = self.peek().span.clone();
                        return Err(CompileError::new(
                            "optional index (`[?`) is not supported",
                            sp,
                        ));
                    }
                    let index = self.expr()?;
                    let end = self.expect(&Tok::RBracket)?.span.end;
                    let span = e.span.start..end;
                    e = self.mk(
                        ExprKind::Index {
                            operand: Box::new(e),
                            index: Box::new(index),
                        },
                        span,
                    )?;
                }
                Tok::LBrace
                    if matches!(e.kind, ExprKind::Ident { .. } | ExprKind::Select { .. }) =>
                {
                    let sp = e.span.start..self.peek().span.end;
                    return Err(CompileError::new(
                        "message construction is not supported",
                        sp,
                    ));
                }
                _ => return Ok(e),
            }
        }
    }

    fn args(&mut self, close: &Tok) -> Result<Vec<Expr>, CompileError> {
        let mut out = Vec::new();
        if &self.peek().tok == close {
            return Ok(out);
        }
        loop {
            out.push(self.expr()?);
            if !self.eat(&Tok::Comma) {
                return Ok(out);
            }
            if &self.peek().tok == close && close == &Tok::RBracket {
                return Ok(out);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, CompileError> {
        let t = self.bump();
        let span = t.span.clone();
        match t.tok {
            Tok::Int(v) => {
                if v > i64::MAX as u64 {
                    return Err(CompileError::new("integer literal out of range", span));
                }
                self.mk(ExprKind::Lit(Literal::Int(v as i64)), span)
            }
            Tok::Uint(v) => self.mk(ExprKind::Lit(Literal::Uint(v)), span),
            Tok::Double(v) => self.mk(ExprKind::Lit(Literal::Double(v)), span),
            Tok::Str(s) => self.mk(ExprKind::Lit(Literal::String(s)), span),
            Tok::Bytes(b) => self.mk(ExprKind::Lit(Literal::Bytes(b)), span),
            Tok::True => self.mk(ExprKind::Lit(Literal::Bool(true)), span),
            Tok::False => self.mk(ExprKind::Lit(Literal::Bool(false)), span),
            Tok::Null => self.mk(ExprKind::Lit(Literal::Null), span),
            Tok::Dot => {
                let t2 = self.bump();
                match t2.tok {
                    Tok::Ident(name) => self.ident_or_call(name, true, span.start..t2.span.end),
                    other => Err(CompileError::new(
                        format!("expected a name after `.`, found {}", describe(&other)),
                        t2.span,
                    )),
                }
            }
            Tok::Ident(name) => self.ident_or_call(name, false, span),
            Tok::LParen => {
                let e = self.expr()?;
                self.expect(&Tok::RParen)?;
                Ok(e)
            }
            Tok::LBracket => {
                self.nesting += 1;
                let r = self.args(&Tok::RBracket);
                self.nesting -= 1;
                let items = r?;
                let end = self.expect(&Tok::RBracket)?.span.end;
                self.mk(ExprKind::List(items), span.start..end)
            }
            Tok::LBrace => {
                let mut items = Vec::new();
                while self.peek().tok != Tok::RBrace {
                    let k = self.expr()?;
                    self.expect(&Tok::Colon)?;
                    let v = self.expr()?;
                    items.push((k, v));
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                let end = self.expect(&Tok::RBrace)?.span.end;
                self.mk(ExprKind::Map(items), span.start..end)
            }
            other => Err(CompileError::new(
                format!("unexpected {}", describe(&other)),
                span,
            )),
        }
    }

    fn ident_or_call(
        &mut self,
        name: String,
        root: bool,
        span: Span,
    ) -> Result<Expr, CompileError> {
        if RESERVED.contains(&name.as_str()) {
            return Err(CompileError::new(
                format!("`{name}` is a reserved word"),
                span,
            ));
        }
        if self.peek().tok == Tok::LParen {
            self.bump();
            let args = self.args(&Tok::RParen)?;
            let end = self.expect(&Tok::RParen)?.span.end;
            return self.mk(
                ExprKind::Call {
                    target: None,
                    func: name,
                    args,
                },
                span.start..end,
            );
        }
        self.mk(ExprKind::Ident { name, root }, span)
    }
}
