//! wiremap-kfl in the browser, for the benchmark page: generates the same
//! corpus as the native bench (`../benches/corpus`), compiles filters and
//! counts matches over every entry, and hands the entries' filter-relevant
//! columns to JavaScript so cel-js evaluates the very same data.
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::collections::HashMap;

use wasm_bindgen::prelude::*;
use wiremap_kfl::Filter;
use wiremap_wire::{Detail, IdentityKind, Protocol};

#[path = "../../benches/corpus/mod.rs"]
mod corpus;

const NOW_US: i64 = 1_700_000_000_000_000;

thread_local! {
    static CORPUS: RefCell<Option<corpus::Corpus>> = const { RefCell::new(None) };
    static FILTERS: RefCell<Vec<Filter>> = const { RefCell::new(Vec::new()) };
}

fn with_corpus<T>(f: impl FnOnce(&corpus::Corpus) -> T) -> Result<T, JsError> {
    CORPUS.with(|c| {
        c.borrow()
            .as_ref()
            .map(f)
            .ok_or_else(|| JsError::new("call generate() first"))
    })
}

/// Builds the corpus: `n` entries from `seed`.
#[wasm_bindgen]
pub fn generate(n: u32, seed: u32) {
    let c = corpus::generate(n as usize, u64::from(seed));
    CORPUS.with(|slot| *slot.borrow_mut() = Some(c));
}

/// The benchmark expressions as `name\tsource` lines.
#[wasm_bindgen]
pub fn expressions() -> String {
    corpus::EXPRESSIONS
        .iter()
        .map(|(n, s)| format!("{n}\t{s}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Per entry: bit 0 `http`, bit 1 `dns`, bit 2 `redis`.
#[wasm_bindgen]
pub fn flags() -> Result<Vec<u8>, JsError> {
    with_corpus(|c| {
        c.entries
            .iter()
            .map(|(e, _, _)| {
                u8::from(e.protocol.is_http())
                    | u8::from(e.protocol == Protocol::DNS) << 1
                    | u8::from(e.protocol == Protocol::REDIS) << 2
            })
            .collect()
    })
}

#[wasm_bindgen]
pub fn status_codes() -> Result<Vec<i32>, JsError> {
    with_corpus(|c| c.entries.iter().map(|(e, _, _)| e.status_code).collect())
}

/// `elapsed_time` (µs; all values are far below 2^53).
#[wasm_bindgen]
pub fn elapsed() -> Result<Vec<f64>, JsError> {
    with_corpus(|c| {
        c.entries
            .iter()
            .map(|(e, _, _)| e.elapsed_us as f64)
            .collect()
    })
}

fn path(d: &Detail) -> &str {
    match d {
        Detail::Http(h) => &h.path,
        _ => "",
    }
}

/// The distinct `path` values; [`path_ids`] indexes this table.
#[wasm_bindgen]
pub fn path_table() -> Result<Vec<String>, JsError> {
    with_corpus(|c| {
        let mut t: Vec<String> = Vec::new();
        for (e, _, _) in &c.entries {
            let p = path(&e.detail);
            if !t.iter().any(|x| x == p) {
                t.push(p.to_string());
            }
        }
        t
    })
}

#[wasm_bindgen]
pub fn path_ids() -> Result<Vec<u16>, JsError> {
    let table = path_table()?;
    let index: HashMap<&str, u16> = table
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_str(), i as u16))
        .collect();
    with_corpus(|c| {
        c.entries
            .iter()
            .map(|(e, _, _)| index[path(&e.detail)])
            .collect()
    })
}

#[wasm_bindgen]
pub fn src_ids() -> Result<Vec<u16>, JsError> {
    with_corpus(|c| c.entries.iter().map(|(_, s, _)| *s).collect())
}

#[wasm_bindgen]
pub fn dst_ids() -> Result<Vec<u16>, JsError> {
    with_corpus(|c| c.entries.iter().map(|(_, _, d)| *d).collect())
}

/// `src.pod.namespace` / `dst.pod.namespace` of each identity of the pool.
#[wasm_bindgen]
pub fn identity_pod_namespaces() -> Result<Vec<String>, JsError> {
    with_corpus(|c| {
        c.identities
            .iter()
            .map(|i| {
                if i.kind == IdentityKind::POD {
                    i.best_namespace().to_string()
                } else {
                    i.service_namespace.clone()
                }
            })
            .collect()
    })
}

/// Compiles a filter; returns its handle.
#[wasm_bindgen]
pub fn compile(src: &str) -> Result<u32, JsError> {
    let f = Filter::compile(src, NOW_US).map_err(|e| JsError::new(&e.to_string()))?;
    FILTERS.with(|fs| {
        let mut fs = fs.borrow_mut();
        fs.push(f);
        Ok((fs.len() - 1) as u32)
    })
}

/// Compiles `src` `reps` times (the compile-time measurement), keeping none.
#[wasm_bindgen]
pub fn compile_only(src: &str, reps: u32) -> Result<(), JsError> {
    for _ in 0..reps {
        Filter::compile(src, NOW_US).map_err(|e| JsError::new(&e.to_string()))?;
    }
    Ok(())
}

/// Calls `count` with compiled filter `h` and the corpus.
fn with_filter_and_corpus(
    h: u32,
    count: impl FnOnce(&Filter, &corpus::Corpus) -> u32,
) -> Result<u32, JsError> {
    FILTERS.with(|fs| {
        let fs = fs.borrow();
        let f = fs
            .get(h as usize)
            .ok_or_else(|| JsError::new("no such filter"))?;
        with_corpus(|c| count(f, c))
    })
}

/// Evaluates filter `h` on every entry; returns the number of matches
/// (evaluation errors count as no match, as in the app).
#[wasm_bindgen]
pub fn count(h: u32) -> Result<u32, JsError> {
    with_filter_and_corpus(h, |f, c| {
        (0..c.len())
            .filter(|&i| f.matches(&c.view(i)) == Ok(true))
            .count() as u32
    })
}

/// Like [`count`], over blocks of 64 entries (`Filter::matches_block`), as
/// the web app recomputes a map from its store (views made on demand).
#[wasm_bindgen]
pub fn count_blocks(h: u32) -> Result<u32, JsError> {
    with_filter_and_corpus(h, |f, c| {
        let mut m = 0u32;
        let mut at = 0;
        while at < c.len() {
            let len = Filter::BLOCK.min(c.len() - at);
            m += f.matches_block(&c.block(at, len)).0.count_ones();
            at += len;
        }
        m
    })
}
