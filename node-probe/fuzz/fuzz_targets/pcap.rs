//! Any bytes as a capture file: records or an error, never a panic, never a
//! record larger than the cap, and the same records and error whether the
//! bytes are read through `Read` or parsed in place from memory (the path
//! a memory-mapped file takes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiremap_probe::pcap::{CaptureReader, SliceReader, MAX_RECORD_LEN};

fuzz_target!(|data: &[u8]| {
    let read = CaptureReader::new(std::io::Cursor::new(data));
    let slice = SliceReader::from_slice(data);
    let (mut r, mut s) = match (read, slice) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string());
            return;
        }
        (a, b) => panic!("read {:?} vs in place {:?}", a.err(), b.err()),
    };
    for _ in 0..10_000 {
        match (r.next_record(), s.next_record()) {
            (Ok(Some(a)), Ok(Some(b))) => {
                assert!(a.data.len() <= MAX_RECORD_LEN);
                assert_eq!(
                    (a.ts_us, a.link, a.orig_len, a.data),
                    (b.ts_us, b.link, b.orig_len, b.data)
                );
            }
            (Ok(None), Ok(None)) => return,
            (Err(a), Err(b)) => {
                assert_eq!(a.to_string(), b.to_string());
                return;
            }
            (a, b) => panic!("read {a:?} vs in place {b:?}"),
        }
    }
});
