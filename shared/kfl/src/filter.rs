//! The public filter: compile once, then `matches` per entry.

use wiremap_wire::{EntryBlock, EntryView};

use crate::error::{CompileError, EvalError};
use crate::parser::parse;
use crate::pred::{block_mask, Pred, Tri, BLOCK};
use crate::program::Program;
use crate::types::Type;

/// A compiled KFL2 display filter.
#[derive(Debug, Clone)]
pub struct Filter {
    source: String,
    fields: Vec<&'static str>,
    pred: Pred,
}

impl Filter {
    /// Compiles `source` with `now()` fixed at `now_us` (µs since the Unix
    /// epoch). Empty/whitespace source = match everything.
    pub fn compile(source: &str, now_us: i64) -> Result<Filter, CompileError> {
        if source.trim().is_empty() {
            return Ok(Filter {
                source: source.to_string(),
                fields: Vec::new(),
                pred: Pred::Const(true),
            });
        }
        let ast = parse(source).map_err(|e| e.with_source(source))?;
        let prog = Program::from_ast(source, &ast, now_us, &[])?;
        if !matches!(prog.ty(), Type::Bool | Type::Dyn) {
            return Err(CompileError::new(
                format!(
                    "a filter must be a boolean expression, this one is {}",
                    prog.ty()
                ),
                ast.span.clone(),
            )
            .with_source(source));
        }
        Ok(Filter {
            source: source.to_string(),
            fields: prog.fields().to_vec(),
            pred: Pred::compile(prog.tree()),
        })
    }

    /// Does the entry match? `Err` means the evaluation failed (a missing map
    /// key, an overflow, …): the caller counts it and treats it as no match.
    pub fn matches(&self, entry: &EntryView<'_>) -> Result<bool, EvalError> {
        match self.pred.test(entry) {
            Tri::True => Ok(true),
            Tri::False => Ok(false),
            // Rare: evaluate again on the slow path to say which error.
            Tri::Error => self.pred.run(entry),
        }
    }

    /// Evaluates up to [`Filter::BLOCK`] entries at once: bit `i` of the
    /// first mask is set when entry `i` matches, of the second when its
    /// evaluation failed (counted by the caller, no match). The same result
    /// as [`Filter::matches`] on each entry, faster over many entries: the
    /// first tests run over the whole block without a branch per entry and
    /// each next test only on the entries still undecided; an entry's view
    /// (peers, node) is asked of the block only by a test that reads them.
    /// `block` is a slice of views, or any [`EntryBlock`] that makes them
    /// on demand.
    ///
    /// # Panics
    /// When `block` holds more than [`Filter::BLOCK`] entries.
    pub fn matches_block<B: EntryBlock + ?Sized>(&self, block: &B) -> (u64, u64) {
        assert!(
            block.len() <= BLOCK,
            "a block holds at most {BLOCK} entries, got {}",
            block.len()
        );
        self.pred.block(block, block_mask(block.len()))
    }

    /// Entries per call of [`Filter::matches_block`].
    pub const BLOCK: usize = BLOCK;

    /// KFL2 variables the filter reads, in first-use order.
    pub fn fields(&self) -> &[&'static str] {
        &self.fields
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}
