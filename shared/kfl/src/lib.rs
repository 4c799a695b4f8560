//! KFL2, wiremap's display-filter language: CEL syntax and semantics with
//! Kubeshark's differences (absent fields read as zero values, `grpc_status`
//! is -1 off gRPC, `m["missing"]` is an error, errors absorbed by `&&`/`||`
//! when the other side decides). This crate parses, type-checks against the
//! variable [`schema`], and evaluates filters over `wiremap_wire::EntryView`.
//!
//! It does no I/O and reads no clock: `now()` is fixed by the caller at
//! compile time, so it runs unchanged in the browser (wasm32). It does not
//! support protobuf message types or CEL extension libraries.
//!
//! Key decision: names are resolved once, at compile time — each variable to
//! a typed getter function, macro variables to slots — and common predicate
//! shapes (flag, int comparison, string equality/prefix/membership) compile to
//! a specialised [`Filter`] tree, so evaluating an entry builds no maps and
//! looks up no names.
#![forbid(unsafe_code)]

mod ast;
mod checker;
mod error;
mod eval;
mod filter;
mod lexer;
mod parser;
mod pred;
mod program;
mod schema;
mod suggest;
mod time;
mod types;
mod value;

pub use ast::{BinOp, Expr, ExprKind, Literal};
pub use checker::{MAX_REGEX_NEST, MAX_REGEX_SIZE};
pub use error::{CompileError, EvalError};
pub use eval::{MAX_ITERATIONS, MAX_LIST_LEN, MAX_STRING_LEN, REGEX_COMPILE_STEPS};
pub use filter::Filter;
pub use lexer::MAX_SOURCE_LEN;
pub use parser::{parse, MAX_NESTING, MAX_NODES, MAX_TREE_DEPTH};
pub use program::Program;
pub use schema::{schema, VarDoc};
pub use types::Type;
pub use value::{List, Map, Value};
