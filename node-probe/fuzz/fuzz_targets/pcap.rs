//! Any bytes as a capture file: records or an error, never a panic, never a
//! record larger than the cap, and the same records and error whether the
//! bytes are read through `Read`, parsed in place from memory, or read in
//! chunks and parsed in the chunk buffer (the path `--pcap` takes; a chunk
//! size from the first byte, so records straddle chunk ends).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiremap_probe::pcap::{Capture, CaptureReader, ChunkInput, SliceReader, MAX_RECORD_LEN};

fuzz_target!(|data: &[u8]| {
    let chunk = usize::from(data.first().copied().unwrap_or(0) % 64) + 1;
    let read = CaptureReader::new(std::io::Cursor::new(data));
    let slice = SliceReader::from_slice(data);
    let chunked = Capture::with_input(ChunkInput::with_capacity(chunk, data));
    let (mut r, mut s, mut c) = match (read, slice, chunked) {
        (Ok(r), Ok(s), Ok(c)) => (r, s, c),
        (Err(a), Err(b), Err(c)) => {
            assert_eq!(a.to_string(), b.to_string());
            assert_eq!(a.to_string(), c.to_string());
            return;
        }
        (a, b, c) => panic!(
            "read {:?} vs in place {:?} vs chunks {:?}",
            a.err(),
            b.err(),
            c.err()
        ),
    };
    for _ in 0..10_000 {
        match (r.next_record(), s.next_record(), c.next_record()) {
            (Ok(Some(a)), Ok(Some(b)), Ok(Some(c))) => {
                assert!(a.data.len() <= MAX_RECORD_LEN);
                assert_eq!(
                    (a.ts_us, a.link, a.orig_len, a.data),
                    (b.ts_us, b.link, b.orig_len, b.data)
                );
                assert_eq!(
                    (a.ts_us, a.link, a.orig_len, a.data),
                    (c.ts_us, c.link, c.orig_len, c.data)
                );
            }
            (Ok(None), Ok(None), Ok(None)) => return,
            (Err(a), Err(b), Err(c)) => {
                assert_eq!(a.to_string(), b.to_string());
                assert_eq!(a.to_string(), c.to_string());
                return;
            }
            (a, b, c) => panic!("read {a:?} vs in place {b:?} vs chunks {c:?}"),
        }
    }
});
