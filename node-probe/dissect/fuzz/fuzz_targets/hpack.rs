//! Any bytes as two HPACK header blocks sharing one dynamic table.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wiremap_dissect::fuzzing::hpack(data);
});
