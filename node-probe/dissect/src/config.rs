//! Tunables of the dissection engine: redaction and the named caps.

/// Configuration of a [`crate::Dissector`]. Every cap is a hard bound; going
/// over it is counted (see [`crate::Dissector::counters`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Replace the values of `authorization`, `proxy-authorization`,
    /// `cookie` and `set-cookie` headers (and cookie values) by their size.
    pub redact: bool,
    /// Connections tracked at once; new ones beyond it are not dissected.
    pub max_connections: usize,
    /// Out-of-order bytes buffered per direction before a gap is declared.
    pub max_ooo_bytes: usize,
    /// Out-of-order segments buffered per direction.
    pub max_ooo_segments: usize,
    /// Unparsed bytes buffered per direction (one message head, one frame).
    pub max_buffer: usize,
    /// Requests waiting for a response per connection.
    pub max_pending: usize,
    /// Headers kept per message (the rest are counted, not kept).
    pub max_headers: usize,
    /// Bytes of one header value kept.
    pub max_header_value: usize,
    /// HPACK dynamic table size accepted (bytes, RFC 7541 accounting).
    pub max_hpack_table: usize,
    /// Concurrent HTTP/2 streams tracked per connection.
    pub max_streams: usize,
    /// Bytes of a Redis command line kept.
    pub max_redis_command: usize,
    /// Outstanding DNS queries over UDP (all flows together).
    pub max_dns_pending: usize,
    /// A request without a response after this long becomes an entry.
    pub txn_timeout_us: i64,
    /// A connection without packets for this long is forgotten.
    pub idle_timeout_us: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            redact: true,
            max_connections: 65_536,
            max_ooo_bytes: 256 * 1024,
            max_ooo_segments: 128,
            max_buffer: 128 * 1024,
            max_pending: 256,
            max_headers: 64,
            max_header_value: 4096,
            max_hpack_table: 65_536,
            max_streams: 256,
            max_redis_command: 256,
            max_dns_pending: 65_536,
            txn_timeout_us: 30_000_000,
            idle_timeout_us: 300_000_000,
        }
    }
}
