//! Any bytes as one DNS message (UDP payload).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wiremap_dissect::fuzzing::dns_message(data);
});
