//! Raw TCP segments (any order, overlaps, SYN/FIN/RST, UDP) into the whole
//! engine: reassembly, detection and every dissector behind it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wiremap_dissect::fuzzing::engine(data);
});
