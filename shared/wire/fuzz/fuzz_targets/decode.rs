//! Any bytes: decoding gives a frame or an error, never a panic; a frame that
//! decodes re-encodes to bytes that decode to the same frame; decoding in
//! pieces gives what decoding at once gives.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wiremap_wire::Header::peek(data);
    let at_once = wiremap_wire::decode(data);
    let items = data.len() % 7;
    let mut pieces = wiremap_wire::FrameDecoder::new(data.to_vec());
    let in_pieces = loop {
        if let Some(r) = pieces.step(items) {
            break r;
        }
    };
    assert_eq!(in_pieces, at_once);
    if let Ok(frame) = at_once {
        let bytes = wiremap_wire::encode(&frame).expect("a decoded frame re-encodes");
        assert_eq!(wiremap_wire::decode(&bytes).expect("re-decodes"), frame);
    }
});
