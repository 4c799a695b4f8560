//! Any bytes as a capture file: records or an error, never a panic, and
//! never a record larger than the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiremap_probe::pcap::{CaptureReader, MAX_RECORD_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = CaptureReader::new(std::io::Cursor::new(data)) else {
        return;
    };
    for _ in 0..10_000 {
        match r.next_record() {
            Ok(Some(rec)) => assert!(rec.data.len() <= MAX_RECORD_LEN),
            Ok(None) | Err(_) => return,
        }
    }
});
