//! Any bytes: decoding gives a frame or an error, never a panic; a frame that
//! decodes re-encodes to bytes that decode to the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wiremap_wire::Header::peek(data);
    if let Ok(frame) = wiremap_wire::decode(data) {
        let bytes = wiremap_wire::encode(&frame).expect("a decoded frame re-encodes");
        assert_eq!(wiremap_wire::decode(&bytes).expect("re-decodes"), frame);
    }
});
