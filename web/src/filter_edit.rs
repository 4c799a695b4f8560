//! The KFL2 filter bar's logic: live checking with a caret line,
//! autocompletion of the identifier under the cursor from
//! `wiremap_kfl::schema()`, a bounded history, and click-to-add clauses.

use std::collections::VecDeque;

use wiremap_kfl::{schema, Filter, VarDoc};

/// Filters remembered in the history.
pub const HISTORY_CAP: usize = 50;
/// Suggestions shown at once.
pub const MAX_SUGGESTIONS: usize = 12;

/// The verdict on the text in the filter bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Nothing typed: every entry passes.
    Empty,
    /// Compiles.
    Valid,
    /// Does not compile: the message, the source line and the caret line.
    Invalid {
        message: String,
        line: String,
        carets: String,
    },
}

/// Compiles `src` with `now()` at `now_us` and reports the verdict.
pub fn check(src: &str, now_us: i64) -> Check {
    if src.trim().is_empty() {
        return Check::Empty;
    }
    match Filter::compile(src, now_us) {
        Ok(_) => Check::Valid,
        Err(e) => {
            let (line, carets) = e.caret();
            let message = match &e.suggestion {
                Some(s) => format!("{} (did you mean `{s}`?)", e.message),
                None => e.message.clone(),
            };
            Check::Invalid {
                message,
                line,
                carets,
            }
        }
    }
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// The identifier ending at byte `cursor` of `text`: (start byte, prefix).
pub fn word_at(text: &str, cursor: usize) -> (usize, &str) {
    let mut cursor = cursor.min(text.len());
    while cursor > 0 && !text.is_char_boundary(cursor) {
        cursor -= 1;
    }
    let head = &text[..cursor];
    let start = head
        .char_indices()
        .rev()
        .take_while(|(_, c)| ident_char(*c))
        .last()
        .map_or(cursor, |(i, _)| i);
    (start, &text[start..cursor])
}

/// Variables completing `prefix`: those starting with it first, then those
/// containing it; at most [`MAX_SUGGESTIONS`]. An empty prefix suggests
/// nothing (the list would be the whole schema).
pub fn complete(prefix: &str) -> Vec<VarDoc> {
    if prefix.is_empty() {
        return Vec::new();
    }
    let all = schema();
    let starts = all.iter().filter(|v| v.name.starts_with(prefix));
    let contains = all
        .iter()
        .filter(|v| !v.name.starts_with(prefix) && v.name.contains(prefix));
    starts
        .chain(contains)
        .filter(|v| v.name != prefix)
        .take(MAX_SUGGESTIONS)
        .copied()
        .collect()
}

/// Replaces the identifier before `cursor` by `name`; returns the new text
/// and the cursor after the inserted name.
pub fn apply_completion(text: &str, cursor: usize, name: &str) -> (String, usize) {
    let (start, prefix) = word_at(text, cursor);
    let end = start + prefix.len();
    let mut out = String::with_capacity(text.len() + name.len());
    out.push_str(&text[..start]);
    out.push_str(name);
    out.push_str(&text[end..]);
    (out, start + name.len())
}

/// A KFL2 string literal for `s`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `filter && clause` (click-to-add); a filter with `||` is parenthesised.
pub fn append_clause(filter: &str, clause: &str) -> String {
    let f = filter.trim();
    if f.is_empty() {
        clause.to_string()
    } else if f.contains("||") {
        format!("({f}) && {clause}")
    } else {
        format!("{f} && {clause}")
    }
}

/// Applied filters, newest last, without repeats, bounded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    items: VecDeque<String>,
}

impl History {
    pub fn push(&mut self, f: &str) {
        let f = f.trim();
        if f.is_empty() {
            return;
        }
        self.items.retain(|x| x != f);
        if self.items.len() >= HISTORY_CAP {
            self.items.pop_front();
        }
        self.items.push_back(f.to_string());
    }

    /// Newest first.
    pub fn items(&self) -> impl Iterator<Item = &str> {
        self.items.iter().rev().map(String::as_str)
    }

    /// The entry `back` steps before the newest (0 = newest).
    pub fn get(&self, back: usize) -> Option<&str> {
        self.items.iter().rev().nth(back).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Byte offset of the UTF-16 position `pos` (what the DOM's
/// `selectionStart` counts) in `text`.
pub fn utf16_to_byte(text: &str, pos: usize) -> usize {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        if units >= pos {
            return i;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// UTF-16 position of byte offset `byte` in `text`.
pub fn byte_to_utf16(text: &str, byte: usize) -> usize {
    text.char_indices()
        .take_while(|(i, _)| *i < byte)
        .map(|(_, c)| c.len_utf16())
        .sum()
}
