//! Hides secrets in dissected entries before they leave the probe:
//! credential headers, cookie values. `--no-redact` turns it off.

use wiremap_wire::{Detail, Entry};

/// What a hidden value becomes.
pub const REDACTED: &str = "[REDACTED]";

/// Header names (lower-case) whose values are hidden.
pub const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-auth-token",
];

/// Hides the secrets of one entry in place.
pub fn redact(e: &mut Entry) {
    if let Detail::Http(h) = &mut e.detail {
        for (k, v) in h
            .request_headers
            .iter_mut()
            .chain(h.response_headers.iter_mut())
        {
            if SENSITIVE_HEADERS.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                *v = REDACTED.to_string();
            }
        }
        for (_, v) in h
            .request_cookies
            .iter_mut()
            .chain(h.response_cookies.iter_mut())
        {
            *v = REDACTED.to_string();
        }
    }
}
