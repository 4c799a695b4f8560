//! Errors: compile errors carry a span and render a caret line; evaluation
//! errors are values that a caller counts and treats as "no match".

use std::fmt;
use std::ops::Range;

/// Why a filter did not compile: a syntax error, an unknown name, a type
/// error, or a bound exceeded. `Display` renders the message, the source line
/// and a caret line under the offending span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub message: String,
    /// Byte range in the source.
    pub span: Range<usize>,
    /// The nearest valid name, for misspelled variables and functions.
    pub suggestion: Option<String>,
    source_text: String,
}

impl CompileError {
    pub(crate) fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        CompileError {
            message: message.into(),
            span,
            suggestion: None,
            source_text: String::new(),
        }
    }

    pub(crate) fn with_suggestion(mut self, suggestion: Option<String>) -> Self {
        self.suggestion = suggestion;
        self
    }

    pub(crate) fn with_source(mut self, source: &str) -> Self {
        self.source_text = source.to_string();
        let len = source.len();
        let start = self.span.start.min(len);
        let end = self.span.end.clamp(start, len);
        self.span = start..end;
        self
    }

    /// The source line holding the span and the caret line under it.
    pub fn caret(&self) -> (String, String) {
        let src = &self.source_text;
        let start = floor_char(src, self.span.start.min(src.len()));
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let line = &src[line_start..line_end];
        let col = src[line_start..start].chars().count();
        let end = floor_char(src, self.span.end.clamp(start, line_end));
        let width = src[start..end].chars().count().max(1);
        let carets = format!("{}{}", " ".repeat(col), "^".repeat(width));
        (line.to_string(), carets)
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean `{s}`?)")?;
        }
        let (line, carets) = self.caret();
        write!(f, "\n  {line}\n  {carets}")
    }
}

impl std::error::Error for CompileError {}

/// Why one evaluation failed (missing map key, overflow, division by zero,
/// bad conversion, …). The entry does not match; callers count these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("no such key: {0}")]
    NoSuchKey(String),
    #[error("index out of range: {0}")]
    IndexOutOfRange(i64),
    #[error("integer overflow")]
    Overflow,
    #[error("division by zero")]
    DivisionByZero,
    #[error("modulus by zero")]
    ModulusByZero,
    #[error("no matching overload for {0}")]
    NoOverload(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("value too large: {0}")]
    TooLarge(&'static str),
    #[error("range error: {0}")]
    Range(String),
}
