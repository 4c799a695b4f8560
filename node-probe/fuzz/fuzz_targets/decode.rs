//! Any bytes under any link type: a packet or a skip reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiremap_probe::decode::{decode, DecodeStats, LinkType};

const LINKS: [LinkType; 6] = [
    LinkType::Ethernet,
    LinkType::RawIp,
    LinkType::Sll,
    LinkType::Sll2,
    LinkType::Null,
    LinkType::Loop,
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(sel) % LINKS.len()];
    let r = decode(link, frame);
    if let Ok(p) = &r {
        assert!(p.ip_proto == 6 || p.ip_proto == 17);
    }
    DecodeStats::default().record(&r);
});
