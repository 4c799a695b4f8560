//! Tokens of CEL source: literals with all CEL string/bytes forms, names,
//! keywords and operators, each with its byte span.

use crate::ast::Span;
use crate::error::CompileError;

/// Longest source accepted, in bytes.
pub const MAX_SOURCE_LEN: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Int(u64),
    /// An int literal too large for i64 unless negated (`9223372036854775808`).
    Uint(u64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    Ident(String),
    /// A backquoted field name (`` .`content-type` ``).
    QuotedIdent(String),
    True,
    False,
    Null,
    In,
    EqEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Bang,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Question,
    Colon,
    Dot,
    Comma,
    LBracket,
    RBracket,
    LParen,
    RParen,
    LBrace,
    RBrace,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Words CEL reserves; they may not name variables or functions.
pub const RESERVED: [&str; 16] = [
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
];

pub fn tokenize(src: &str) -> Result<Vec<Token>, CompileError> {
    if src.len() > MAX_SOURCE_LEN {
        return Err(CompileError::new(
            format!(
                "filter too long ({} bytes, at most {MAX_SOURCE_LEN})",
                src.len()
            ),
            MAX_SOURCE_LEN..src.len(),
        ));
    }
    let mut lx = Lexer {
        src,
        b: src.as_bytes(),
        pos: 0,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'s> {
    src: &'s str,
    b: &'s [u8],
    pos: usize,
    out: Vec<Token>,
}

impl Lexer<'_> {
    fn peek(&self, off: usize) -> u8 {
        self.b.get(self.pos + off).copied().unwrap_or(0)
    }

    fn push(&mut self, tok: Tok, start: usize) {
        self.out.push(Token {
            tok,
            span: start..self.pos,
        });
    }

    fn run(&mut self) -> Result<(), CompileError> {
        loop {
            // whitespace and comments
            loop {
                let c = self.peek(0);
                if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c) {
                    self.pos += 1;
                } else if c == b'/' && self.peek(1) == b'/' {
                    while self.pos < self.b.len() && self.b[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                } else {
                    break;
                }
            }
            let start = self.pos;
            if self.pos >= self.b.len() {
                self.push(Tok::Eof, start);
                return Ok(());
            }
            let c = self.b[self.pos];
            let two = [c, self.peek(1)];
            let op2 = match &two {
                b"==" => Some(Tok::EqEq),
                b"!=" => Some(Tok::Ne),
                b"<=" => Some(Tok::Le),
                b">=" => Some(Tok::Ge),
                b"&&" => Some(Tok::AndAnd),
                b"||" => Some(Tok::OrOr),
                _ => None,
            };
            if let Some(t) = op2 {
                self.pos += 2;
                self.push(t, start);
                continue;
            }
            let op1 = match c {
                b'<' => Some(Tok::Lt),
                b'>' => Some(Tok::Gt),
                b'!' => Some(Tok::Bang),
                b'+' => Some(Tok::Plus),
                b'-' => Some(Tok::Minus),
                b'*' => Some(Tok::Star),
                b'/' => Some(Tok::Slash),
                b'%' => Some(Tok::Percent),
                b'?' => Some(Tok::Question),
                b':' => Some(Tok::Colon),
                b',' => Some(Tok::Comma),
                b'[' => Some(Tok::LBracket),
                b']' => Some(Tok::RBracket),
                b'(' => Some(Tok::LParen),
                b')' => Some(Tok::RParen),
                b'{' => Some(Tok::LBrace),
                b'}' => Some(Tok::RBrace),
                b'.' if !self.peek(1).is_ascii_digit() || self.prev_is_operand() => Some(Tok::Dot),
                _ => None,
            };
            if let Some(t) = op1 {
                self.pos += 1;
                self.push(t, start);
                continue;
            }
            if c.is_ascii_digit() || c == b'.' {
                self.number()?;
                continue;
            }
            if c == b'`' {
                let end = self.src[start + 1..]
                    .find(['`', '\n'])
                    .map(|i| start + 1 + i)
                    .filter(|&i| self.b[i] == b'`')
                    .ok_or_else(|| {
                        CompileError::new("unterminated quoted name", start..self.b.len())
                    })?;
                let name = self.src[start + 1..end].to_string();
                self.pos = end + 1;
                self.push(Tok::QuotedIdent(name), start);
                continue;
            }
            if c == b'"' || c == b'\'' {
                self.string(start, false, false)?;
                continue;
            }
            if c.is_ascii_alphabetic() || c == b'_' {
                // string prefixes: r, b, rb, br (any case)
                let lower = [
                    c.to_ascii_lowercase(),
                    self.peek(1).to_ascii_lowercase(),
                    self.peek(2),
                ];
                let (raw, bytes, skip) = match lower {
                    [b'r', b'b', q] | [b'b', b'r', q] if q == b'"' || q == b'\'' => (true, true, 2),
                    [b'r', q, _] if q == b'"' || q == b'\'' => (true, false, 1),
                    [b'b', q, _] if q == b'"' || q == b'\'' => (false, true, 1),
                    _ => (false, false, 0),
                };
                if skip > 0 {
                    self.pos += skip;
                    self.string(start, raw, bytes)?;
                    continue;
                }
                while self.pos < self.b.len()
                    && (self.b[self.pos].is_ascii_alphanumeric() || self.b[self.pos] == b'_')
                {
                    self.pos += 1;
                }
                let word = &self.src[start..self.pos];
                let tok = match word {
                    "true" => Tok::True,
                    "false" => Tok::False,
                    "null" => Tok::Null,
                    "in" => Tok::In,
                    w => Tok::Ident(w.to_string()),
                };
                self.push(tok, start);
                continue;
            }
            let ch = self.src[start..].chars().next().unwrap_or('?');
            return Err(CompileError::new(
                format!("unexpected character {ch:?}"),
                start..start + ch.len_utf8(),
            ));
        }
    }

    fn prev_is_operand(&self) -> bool {
        matches!(
            self.out.last().map(|t| &t.tok),
            Some(
                Tok::Ident(_)
                    | Tok::RParen
                    | Tok::RBracket
                    | Tok::RBrace
                    | Tok::Str(_)
                    | Tok::Int(_)
            )
        )
    }

    fn number(&mut self) -> Result<(), CompileError> {
        let start = self.pos;
        let b = self.b;
        if b[start] == b'0' && matches!(self.peek(1), b'x' | b'X') {
            self.pos += 2;
            let ds = self.pos;
            while self.pos < b.len() && b[self.pos].is_ascii_hexdigit() {
                self.pos += 1;
            }
            let digits = &self.src[ds..self.pos];
            let v = u64::from_str_radix(digits, 16)
                .map_err(|_| CompileError::new("invalid hex literal", start..self.pos))?;
            return self.int_suffix(start, v);
        }
        while self.pos < b.len() && b[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        let mut float = false;
        if self.peek(0) == b'.' && self.peek(1).is_ascii_digit() {
            float = true;
            self.pos += 1;
            while self.pos < b.len() && b[self.pos].is_ascii_digit() {
                self.pos += 1;
            }
        }
        if matches!(self.peek(0), b'e' | b'E') {
            let save = self.pos;
            self.pos += 1;
            if matches!(self.peek(0), b'+' | b'-') {
                self.pos += 1;
            }
            if self.peek(0).is_ascii_digit() {
                float = true;
                while self.pos < b.len() && b[self.pos].is_ascii_digit() {
                    self.pos += 1;
                }
            } else {
                self.pos = save;
            }
        }
        let text = &self.src[start..self.pos];
        if float {
            let v: f64 = text
                .parse()
                .map_err(|_| CompileError::new("invalid number", start..self.pos))?;
            self.push(Tok::Double(v), start);
            return Ok(());
        }
        let v: u64 = text
            .parse()
            .map_err(|_| CompileError::new("integer literal out of range", start..self.pos))?;
        self.int_suffix(start, v)
    }

    fn int_suffix(&mut self, start: usize, v: u64) -> Result<(), CompileError> {
        if matches!(self.peek(0), b'u' | b'U') {
            self.pos += 1;
            self.push(Tok::Uint(v), start);
            return Ok(());
        }
        if v > i64::MAX as u64 + 1 {
            return Err(CompileError::new(
                "integer literal out of range",
                start..self.pos,
            ));
        }
        // i64::MAX + 1 is only valid under a unary minus; the parser checks.
        self.push(Tok::Int(v), start);
        Ok(())
    }

    fn string(&mut self, start: usize, raw: bool, bytes: bool) -> Result<(), CompileError> {
        let q = self.b[self.pos];
        let triple = self.peek(1) == q && self.peek(2) == q;
        self.pos += if triple { 3 } else { 1 };
        let mut out: Vec<u8> = Vec::new();
        loop {
            if self.pos >= self.b.len() {
                return Err(CompileError::new("unterminated string", start..self.pos));
            }
            let c = self.b[self.pos];
            if triple {
                if c == q && self.peek(1) == q && self.peek(2) == q {
                    self.pos += 3;
                    break;
                }
            } else if c == q {
                self.pos += 1;
                break;
            } else if c == b'\n' || c == b'\r' {
                return Err(CompileError::new("newline in string", start..self.pos));
            }
            if c == b'\\' && !raw {
                self.escape(&mut out, bytes)?;
                continue;
            }
            out.push(c);
            self.pos += 1;
        }
        if bytes {
            self.push(Tok::Bytes(out), start);
        } else {
            let s = String::from_utf8(out)
                .map_err(|_| CompileError::new("invalid UTF-8 in string", start..self.pos))?;
            self.push(Tok::Str(s), start);
        }
        Ok(())
    }

    fn escape(&mut self, out: &mut Vec<u8>, bytes: bool) -> Result<(), CompileError> {
        let at = self.pos;
        let bad = |end: usize| CompileError::new("invalid escape sequence", at..end);
        let e = self.peek(1);
        self.pos += 2;
        let simple = match e {
            b'a' => Some(7u8),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'\\' => Some(b'\\'),
            b'\'' => Some(b'\''),
            b'"' => Some(b'"'),
            b'`' => Some(b'`'),
            b'?' => Some(b'?'),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            return Ok(());
        }
        let (n, radix) = match e {
            b'x' | b'X' => (2, 16),
            b'u' => (4, 16),
            b'U' => (8, 16),
            b'0'..=b'3' => {
                self.pos -= 1;
                (3, 8)
            }
            _ => return Err(bad(self.pos.min(self.b.len()))),
        };
        let end = self.pos + n;
        let digits = self
            .src
            .get(self.pos..end)
            .ok_or_else(|| bad(self.b.len()))?;
        let v = u32::from_str_radix(digits, radix).map_err(|_| bad(end))?;
        self.pos = end;
        let is_byte_escape = matches!(e, b'x' | b'X' | b'0'..=b'3');
        if bytes && is_byte_escape {
            out.push(v as u8);
            return Ok(());
        }
        if bytes && !is_byte_escape {
            return Err(bad(end));
        }
        let ch = char::from_u32(v).ok_or_else(|| bad(end))?;
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }
}
