//! Sans-IO L7 dissection for the node probe: TCP reassembly per direction,
//! protocol detection by content, and dissectors that pair requests with
//! responses into [`wiremap_wire::Entry`] values.
//!
//! It takes decoded transport segments (addresses, ports, TCP sequence
//! numbers and flags, payload bytes, a packet timestamp) and returns entries;
//! it never touches sockets, clocks or Kubernetes. Identity resolution is the
//! caller's job: entries come out with `Peer::identity == UNRESOLVED`.
//!
//! Key decision: the client (`src` of an entry) is whoever sent the request
//! as the protocol parser sees it, not whoever sent the first packet.
#![forbid(unsafe_code)]

use std::net::IpAddr;

use wiremap_wire::Entry;

/// `Peer::identity` of entries this crate produces; the probe fills it in.
pub const UNRESOLVED: u32 = u32::MAX;

/// TCP flags of a segment, as the probe decoded them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// One end of a transport conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

/// The dissection engine of one probe (all connections).
#[derive(Debug, Default)]
pub struct Dissector {}

impl Dissector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one TCP segment. Entries completed by it are pushed to `out`.
    #[allow(clippy::too_many_arguments)]
    pub fn on_tcp(
        &mut self,
        _ts_us: i64,
        _src: Endpoint,
        _dst: Endpoint,
        _seq: u32,
        _flags: TcpFlags,
        _payload: &[u8],
        _out: &mut Vec<Entry>,
    ) {
    }

    /// Feeds one UDP datagram.
    pub fn on_udp(
        &mut self,
        _ts_us: i64,
        _src: Endpoint,
        _dst: Endpoint,
        _payload: &[u8],
        _out: &mut Vec<Entry>,
    ) {
    }

    /// Expires idle connections and pending transactions older than the
    /// timeouts, relative to `now_us` (packet time); unanswered requests
    /// become entries without a response.
    pub fn flush(&mut self, _now_us: i64, _out: &mut Vec<Entry>) {}

    /// Ends every connection (end of input): all pending work becomes entries.
    pub fn finish(&mut self, _out: &mut Vec<Entry>) {}

    /// Named counters (gaps, parse errors, caps hit, …), cumulative.
    pub fn counters(&self) -> Vec<(String, u64)> {
        Vec::new()
    }
}
