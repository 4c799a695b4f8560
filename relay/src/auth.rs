//! Token checks for probes and viewers, and once-per-source logging of failures.

use std::collections::HashSet;
use std::net::IpAddr;

use actix_web::http::header::{HeaderMap, AUTHORIZATION};

/// Most distinct sources remembered for "logged once per source".
pub const MAX_LOGGED_SOURCES: usize = 4096;

/// The token of an `Authorization: Bearer …` header, if present.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The `token` query parameter, if present (no percent-decoding: tokens are
/// expected to be URL-safe).
pub fn query_token(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
}

/// Compares in time independent of where the first difference is.
pub fn token_matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    diff == 0
}

/// Remembers which sources already had an authentication failure logged.
#[derive(Debug, Default)]
pub struct AuthLog {
    seen: HashSet<IpAddr>,
    suppressed: u64,
}

impl AuthLog {
    /// True the first time a source fails (so the caller logs it); later
    /// failures from it, or from any source once the set is full, are only counted.
    pub fn first_from(&mut self, source: IpAddr) -> bool {
        if self.seen.contains(&source) || self.seen.len() >= MAX_LOGGED_SOURCES {
            self.suppressed += 1;
            return false;
        }
        self.seen.insert(source)
    }

    /// Failures not logged.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn tokens() {
        assert!(token_matches("secret", "secret"));
        assert!(!token_matches("secret", "secreT"));
        assert!(!token_matches("secret", "secret2"));
        assert!(!token_matches("secret", ""));
        assert!(!token_matches("", "x"));
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        assert_eq!(query_token("a=1&token=xyz"), Some("xyz"));
        assert_eq!(query_token("tokens=1"), None);
    }

    #[test]
    fn logs_once_per_source() {
        let mut log = AuthLog::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(log.first_from(a));
        assert!(!log.first_from(a));
        assert!(log.first_from(b));
        assert_eq!(log.suppressed(), 1);
    }
}
