//! Colours: nodes by namespace (stable per name), edges by protocol.

use wiremap_wire::Protocol;

/// Colours given to namespaces, in order of a stable hash of the name.
pub const NAMESPACE_COLOURS: [&str; 12] = [
    "#f2a27f", "#9c8b8b", "#7f9cf2", "#6fc2a4", "#c58fd6", "#e5c15c", "#e07b91", "#5fb3d9",
    "#a3c46b", "#d9905f", "#8f8fd9", "#b8a07a",
];
/// Peers without a namespace (external addresses, nodes).
pub const NO_NAMESPACE_COLOUR: &str = "#c5cad3";
/// L4 edges and unknown protocols.
pub const NEUTRAL_EDGE: &str = "#9aa3b5";

/// FNV-1a, so a namespace keeps its colour across reloads and tabs.
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The colour of a namespace ("" means no namespace).
pub fn namespace_colour(namespace: &str) -> &'static str {
    if namespace.is_empty() {
        return NO_NAMESPACE_COLOUR;
    }
    let i = (stable_hash(namespace) % NAMESPACE_COLOURS.len() as u64) as usize;
    NAMESPACE_COLOURS[i]
}

/// The colour of a protocol's edges (L7 protocols; TCP and UDP on the L4 map).
pub fn protocol_colour(p: Protocol) -> &'static str {
    match p {
        Protocol::HTTP => "#2f7f7c",
        Protocol::HTTP2 => "#3f6fbf",
        Protocol::GRPC => "#6f8f2f",
        Protocol::DNS => "#8a5cc2",
        Protocol::REDIS => "#c9463d",
        Protocol::KAFKA => "#d98a1e",
        Protocol::TCP => "#7d8aa3",
        Protocol::UDP => "#b08fa8",
        _ => NEUTRAL_EDGE,
    }
}
