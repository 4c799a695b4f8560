//! HTTP message fields shared by HTTP/1.x and HTTP/2: url splitting, query
//! strings, cookies, header redaction, and the entry built from them.

use std::borrow::Cow;

use wiremap_wire::{Detail, Http, Protocol};

use crate::config::Config;
use crate::txn::{Side, Txn};

/// Headers whose values never leave the probe unless redaction is off.
const SECRET_HEADERS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// The value shown instead of a secret.
pub(crate) fn redacted(len: usize) -> String {
    format!("[redacted {len} bytes]")
}

/// Adds one header (name already lower-case) honouring the caps and
/// redaction. Returns false when the header was dropped over the cap.
/// (The dissectors use [`push_header_owned`]; this is its reference.)
#[cfg(test)]
pub(crate) fn push_header(
    headers: &mut Vec<(String, String)>,
    name: &str,
    value: &str,
    config: &Config,
) -> bool {
    if headers.len() >= config.max_headers {
        return false;
    }
    let value = if config.redact && SECRET_HEADERS.contains(&name) {
        redacted(value.len())
    } else {
        bounded(value, config.max_header_value)
    };
    headers.push((name.to_string(), value));
    true
}

/// [`push_header`] with the name and value given by value: kept as they
/// are, they move into the list instead of being copied.
pub(crate) fn push_header_owned(
    headers: &mut Vec<(String, String)>,
    name: String,
    value: Cow<'_, str>,
    config: &Config,
) -> bool {
    if headers.len() >= config.max_headers {
        return false;
    }
    let value = if config.redact && SECRET_HEADERS.contains(&name.as_str()) {
        redacted(value.len())
    } else {
        match value {
            Cow::Owned(mut v) => {
                if v.len() > config.max_header_value {
                    let mut end = config.max_header_value;
                    while !v.is_char_boundary(end) {
                        end -= 1;
                    }
                    v.truncate(end);
                }
                v
            }
            Cow::Borrowed(v) => bounded(v, config.max_header_value),
        }
    };
    headers.push((name, value));
    true
}

/// `s` cut to at most `max` bytes on a char boundary.
pub(crate) fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Percent-decoding as in `application/x-www-form-urlencoded`.
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Fills url, path and query string from a request target (origin form or
/// absolute form).
pub(crate) fn set_target(http: &mut Http, target: &str, config: &Config) {
    let mut url = target;
    if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        url = rest.find('/').map_or("/", |i| &rest[i..]);
    }
    http.url = bounded(url, config.max_header_value);
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (url, None),
    };
    http.path = bounded(path, config.max_header_value);
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            if http.query_string.len() >= config.max_headers {
                break;
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            http.query_string.push((
                bounded(&url_decode(k), config.max_header_value),
                bounded(&url_decode(v), config.max_header_value),
            ));
        }
    }
}

/// Parses a `cookie` request header into name/value pairs.
pub(crate) fn request_cookies(out: &mut Vec<(String, String)>, value: &str, config: &Config) {
    for part in value.split(';') {
        let part = part.trim();
        if part.is_empty() || out.len() >= config.max_headers {
            continue;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((
            bounded(k.trim(), config.max_header_value),
            cookie_value(v.trim(), config),
        ));
    }
}

/// Parses one `set-cookie` response header (its name=value only).
pub(crate) fn response_cookie(out: &mut Vec<(String, String)>, value: &str, config: &Config) {
    if out.len() >= config.max_headers {
        return;
    }
    let first = value.split(';').next().unwrap_or("").trim();
    if first.is_empty() {
        return;
    }
    let (k, v) = first.split_once('=').unwrap_or((first, ""));
    out.push((
        bounded(k.trim(), config.max_header_value),
        cookie_value(v.trim(), config),
    ));
}

fn cookie_value(v: &str, config: &Config) -> String {
    if config.redact {
        redacted(v.len())
    } else {
        bounded(v, config.max_header_value)
    }
}

/// Builds the transaction of one HTTP exchange.
#[allow(clippy::too_many_arguments)]
pub(crate) fn http_txn(
    client: Side,
    protocol: Protocol,
    http: Http,
    request_ts: i64,
    response_ts: Option<i64>,
    request_size: u64,
    response_size: u64,
    status: i32,
) -> Txn {
    let error = match &http.grpc {
        Some(g) => g.status != 0 || status >= 500,
        None => status >= 500,
    };
    Txn {
        client,
        protocol,
        request_ts,
        response_ts,
        request_size,
        response_size,
        status_code: status,
        error,
        detail: Detail::Http(Box::new(http)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_absolute_target_and_query() {
        let mut h = Http::default();
        set_target(
            &mut h,
            "http://example.com/a/b?x=1&y=a%20b+c&z&",
            &Config::default(),
        );
        assert_eq!(h.url, "/a/b?x=1&y=a%20b+c&z&");
        assert_eq!(h.path, "/a/b");
        assert_eq!(
            h.query_string,
            vec![
                ("x".to_string(), "1".to_string()),
                ("y".to_string(), "a b c".to_string()),
                ("z".to_string(), String::new())
            ]
        );
    }

    #[test]
    fn percent_at_end_is_kept() {
        let mut h = Http::default();
        set_target(&mut h, "/?a=%4", &Config::default());
        assert_eq!(h.query_string[0].1, "%4");
    }

    #[test]
    fn owned_headers_are_kept_as_borrowed_ones_are() {
        for redact in [true, false] {
            let config = Config {
                redact,
                max_headers: 5,
                max_header_value: 6,
                ..Config::default()
            };
            let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
            for (n, v) in [
                ("x", "short"),
                ("y", "longer than six"),
                ("cookie", "a=b"),
                ("z", "ééééé"),
                ("w", "123456"),
                ("over", "the cap"),
            ] {
                let ra = push_header(&mut a, n, v, &config);
                let rb =
                    push_header_owned(&mut b, n.to_string(), Cow::Owned(v.to_string()), &config);
                let rc = push_header_owned(&mut c, n.to_string(), Cow::Borrowed(v), &config);
                assert_eq!((ra, ra), (rb, rc));
            }
            assert_eq!(a, b);
            assert_eq!(a, c);
        }
    }

    #[test]
    fn redacts_secrets_unless_told_not_to() {
        let mut hs = Vec::new();
        push_header(&mut hs, "authorization", "Bearer abc", &Config::default());
        assert_eq!(hs[0].1, "[redacted 10 bytes]");
        let open = Config {
            redact: false,
            ..Config::default()
        };
        push_header(&mut hs, "authorization", "Bearer abc", &open);
        assert_eq!(hs[1].1, "Bearer abc");
    }
}
