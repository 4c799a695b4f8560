//! The wiremap node probe: captures packets (AF_PACKET live, or pcap/pcapng
//! files), keeps an L4 flow table, resolves IPs to workloads, feeds the L7
//! dissector and ships L4 snapshots and L7 batches to the relay (or prints
//! JSON lines).
//!
//! It does not dissect L7 itself (that is `wiremap-dissect`), aggregate
//! across nodes, or draw anything. Key decision: everything between captured
//! bytes and outgoing frames is one sans-IO [`pipeline::Pipeline`] driven by
//! packet timestamps; capture threads, the WebSocket uplink and the metrics
//! server are thin shells around it, and the capture path never waits on the
//! network (bounded queues, counted drops).
#![deny(unsafe_code)]

pub mod decode;
pub mod error;
pub mod pcap;

pub use error::ProbeError;
pub mod capture_filter;
pub mod dedupe;
pub mod entry_json;
pub mod flow;
pub mod identity;
pub mod jsonl;
#[cfg(feature = "kube")]
pub mod kube;
pub mod live;
pub mod metrics;
pub mod pipeline;
pub mod redact;
pub mod ring;
pub mod snapshot;
pub mod topology;
pub mod uplink;
