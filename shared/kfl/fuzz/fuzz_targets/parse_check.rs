//! Arbitrary text through the lexer, parser and checker (and, when it
//! compiles, the evaluator on a zero entry): never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiremap_kfl::{Filter, Program};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Filter::compile(src, 1_700_000_000_000_000);
    if let Err(e) = Program::compile(src, 0, &[]) {
        let _ = e.to_string();
    }
});
