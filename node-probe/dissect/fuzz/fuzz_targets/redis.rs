//! Any direction/chunk/gap commands into the redis dissector: entries or
//! counted errors, never a panic or unbounded growth.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiremap_dissect::fuzzing::{session, Kind};

fuzz_target!(|data: &[u8]| {
    session(Kind::Redis, data);
});
