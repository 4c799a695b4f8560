//! Colours: nodes by namespace (stable per name), edges by protocol; and
//! the same colours as indices and RGBA numbers for the WebGL renderer
//! (parsed from these CSS strings, so both renderers paint the same).

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

/// Node colours by index: the namespace colours, then "no namespace".
pub const NODE_COLOURS: [&str; 13] = [
    NAMESPACE_COLOURS[0],
    NAMESPACE_COLOURS[1],
    NAMESPACE_COLOURS[2],
    NAMESPACE_COLOURS[3],
    NAMESPACE_COLOURS[4],
    NAMESPACE_COLOURS[5],
    NAMESPACE_COLOURS[6],
    NAMESPACE_COLOURS[7],
    NAMESPACE_COLOURS[8],
    NAMESPACE_COLOURS[9],
    NAMESPACE_COLOURS[10],
    NAMESPACE_COLOURS[11],
    NO_NAMESPACE_COLOUR,
];

/// Edge colours by index: HTTP, HTTP/2, gRPC, DNS, Redis, Kafka, TCP, UDP,
/// then neutral (L4 without protocol, unknown protocols).
pub const EDGE_COLOURS: [&str; 9] = [
    "#2f7f7c",
    "#3f6fbf",
    "#6f8f2f",
    "#8a5cc2",
    "#c9463d",
    "#d98a1e",
    "#7d8aa3",
    "#b08fa8",
    NEUTRAL_EDGE,
];

/// FNV-1a, so a namespace keeps its colour across reloads and tabs.
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Index into [`NODE_COLOURS`] of a namespace ("" means no namespace).
pub fn namespace_colour_index(namespace: &str) -> usize {
    if namespace.is_empty() {
        return NODE_COLOURS.len() - 1;
    }
    (stable_hash(namespace) % NAMESPACE_COLOURS.len() as u64) as usize
}

/// The colour of a namespace ("" means no namespace).
pub fn namespace_colour(namespace: &str) -> &'static str {
    NODE_COLOURS[namespace_colour_index(namespace)]
}

/// Index into [`EDGE_COLOURS`] of an edge's protocol (None: neutral).
pub fn edge_colour_index(p: Option<Protocol>) -> usize {
    match p {
        Some(Protocol::HTTP) => 0,
        Some(Protocol::HTTP2) => 1,
        Some(Protocol::GRPC) => 2,
        Some(Protocol::DNS) => 3,
        Some(Protocol::REDIS) => 4,
        Some(Protocol::KAFKA) => 5,
        Some(Protocol::TCP) => 6,
        Some(Protocol::UDP) => 7,
        _ => EDGE_COLOURS.len() - 1,
    }
}

/// The colour of a protocol's edges (L7 protocols; TCP and UDP on the L4 map).
pub fn protocol_colour(p: Protocol) -> &'static str {
    EDGE_COLOURS[edge_colour_index(Some(p))]
}

/// A CSS colour (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb(r,g,b)` or
/// `rgba(r,g,b,a)`) as RGBA in 0..=1; None for anything else.
pub fn rgba(css: &str) -> Option<[f32; 4]> {
    let s = css.trim();
    if let Some(hex) = s.strip_prefix('#') {
        let digit = |i: usize| {
            hex.get(i..i + 1)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
        };
        let byte = |i: usize| {
            hex.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
        };
        let c = |v: u8| f32::from(v) / 255.0;
        return match hex.len() {
            3 => Some([c(digit(0)? * 17), c(digit(1)? * 17), c(digit(2)? * 17), 1.0]),
            6 | 8 => Some([
                c(byte(0)?),
                c(byte(2)?),
                c(byte(4)?),
                if hex.len() == 8 { c(byte(6)?) } else { 1.0 },
            ]),
            _ => None,
        };
    }
    let inner = s
        .strip_prefix("rgba(")
        .or_else(|| s.strip_prefix("rgb("))?
        .strip_suffix(')')?;
    let parts: Vec<f32> = inner
        .split(',')
        .map(|p| p.trim().parse::<f32>().ok())
        .collect::<Option<_>>()?;
    let chan = |v: f32| (v / 255.0).clamp(0.0, 1.0);
    match parts.as_slice() {
        [r, g, b] => Some([chan(*r), chan(*g), chan(*b), 1.0]),
        [r, g, b, a] => Some([chan(*r), chan(*g), chan(*b), a.clamp(0.0, 1.0)]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn css_colours_parse() {
        assert_eq!(rgba("#ffffff"), Some([1.0, 1.0, 1.0, 1.0]));
        assert_eq!(rgba("#000"), Some([0.0, 0.0, 0.0, 1.0]));
        assert_eq!(
            rgba("#ff000080").map(|c| (c[0], (c[3] * 255.0).round())),
            Some((1.0, 128.0))
        );
        assert_eq!(rgba("rgba(255,0,0,0.5)"), Some([1.0, 0.0, 0.0, 0.5]));
        assert_eq!(rgba("rgb(0, 255, 0)"), Some([0.0, 1.0, 0.0, 1.0]));
        assert_eq!(rgba("#12"), None);
        assert_eq!(rgba("#gggggg"), None);
        assert_eq!(rgba("red"), None);
        assert_eq!(rgba("rgba(1,2)"), None);
    }

    #[wasm_bindgen_test]
    fn every_palette_colour_parses() {
        for c in NODE_COLOURS.iter().chain(EDGE_COLOURS.iter()) {
            assert!(rgba(c).is_some(), "{c}");
        }
    }

    #[wasm_bindgen_test]
    fn indices_match_the_css_colours() {
        assert_eq!(namespace_colour(""), NO_NAMESPACE_COLOUR);
        assert_eq!(protocol_colour(Protocol::HTTP), "#2f7f7c");
        assert_eq!(protocol_colour(Protocol::UDP), "#b08fa8");
        assert_eq!(protocol_colour(Protocol(250)), NEUTRAL_EDGE);
        assert_eq!(EDGE_COLOURS[edge_colour_index(None)], NEUTRAL_EDGE);
        let i = namespace_colour_index("default");
        assert!(i < NAMESPACE_COLOURS.len());
        assert_eq!(namespace_colour("default"), NAMESPACE_COLOURS[i]);
    }
}
