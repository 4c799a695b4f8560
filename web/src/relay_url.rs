//! Where the relay's WebSocket is: same origin by default, `?relay=` overrides.

/// The path of the viewer endpoint on the relay.
pub const WS_PATH: &str = "/ws";

/// The WebSocket URL for a page served from `protocol` (`"http:"` or
/// `"https:"`) and `host` (`"example.org:8080"`), unless `relay` (the
/// `?relay=` parameter) names one. A `relay` given as `http(s)://` is turned
/// into `ws(s)://`; one without a path gets [`WS_PATH`].
pub fn relay_ws_url(protocol: &str, host: &str, relay: Option<&str>) -> String {
    if let Some(r) = relay.map(str::trim).filter(|r| !r.is_empty()) {
        let r = if let Some(rest) = r.strip_prefix("http://") {
            format!("ws://{rest}")
        } else if let Some(rest) = r.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if r.starts_with("ws://") || r.starts_with("wss://") {
            r.to_string()
        } else {
            format!("ws://{r}")
        };
        let after_scheme = r.split_once("://").map(|(_, a)| a).unwrap_or("");
        return if after_scheme.contains('/') {
            r
        } else {
            format!("{r}{WS_PATH}")
        };
    }
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}{WS_PATH}")
}
