//! A finished transaction as a dissector reports it, before the engine gives
//! it addresses and ids, and the context dissectors write into.

use wiremap_wire::{Detail, Protocol};

use crate::config::Config;
use crate::counters::{Counter, Counters};

/// Which end of a connection: 0 is the end that opened it (or was seen
/// first), 1 the other.
pub(crate) type Side = u8;

/// One request (and maybe its response), protocol fields filled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Txn {
    /// The end that sent the request.
    pub client: Side,
    pub protocol: Protocol,
    pub request_ts: i64,
    pub response_ts: Option<i64>,
    pub request_size: u64,
    pub response_size: u64,
    pub status_code: i32,
    pub error: bool,
    pub detail: Detail,
}

/// What a dissector writes into while it parses.
#[derive(Debug)]
pub(crate) struct Cx<'a> {
    pub out: &'a mut Vec<Txn>,
    pub counters: &'a mut Counters,
    pub config: &'a Config,
}

impl Cx<'_> {
    pub(crate) fn bump(&mut self, c: Counter) {
        self.counters.bump(c);
    }

    pub(crate) fn emit(&mut self, t: Txn) {
        self.counters.bump(Counter::entries);
        if t.response_ts.is_none() {
            self.counters.bump(Counter::entries_unanswered);
        }
        self.out.push(t);
    }
}
