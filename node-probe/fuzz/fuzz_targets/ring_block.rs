//! Any bytes as a retired TPACKET_V3 block: the packets the walk yields all
//! lie inside the block, and the walk ends — never a panic or a crawl.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiremap_probe::ring::Packets;

fuzz_target!(|block: &[u8]| {
    let range = block.as_ptr_range();
    let mut seen = 0usize;
    for p in Packets::of_block(block) {
        let r = p.data.as_ptr_range();
        assert!(r.start >= range.start && r.end <= range.end);
        seen += 1;
        assert!(seen <= block.len(), "more packets than bytes");
    }
});
