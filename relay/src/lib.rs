//! wiremap's relay: accepts probe connections on `/ws/probe` and fans their
//! frames out, byte for byte, to every browser tab on `/ws`; keeps each
//! probe's latest L4 snapshot and inventory for late joiners; relays the
//! cluster-wide capture filter from viewers to probes; serves the built web
//! app, health checks and Prometheus metrics.
//!
//! It does not decode frame bodies (only the 4-byte header, plus the Hello
//! and CaptureFilter bodies it must act on), does not aggregate or filter
//! traffic, and holds no history beyond the bounded caches.
//!
//! Key decision: the fan-out state ([`hub::Hub`]) is sans-IO — plain data
//! behind one lock, time passed in — and every viewer has a bounded outbound
//! queue in bytes ([`viewer_queue::ViewerQueue`]): a slow tab loses L7
//! batches (counted, and told how many) and is disconnected if it stays full,
//! while ingest never waits on any viewer.
#![forbid(unsafe_code)]

pub mod auth;
pub mod capture_filter;
pub mod chunk;
pub mod close_reason;
pub mod config;
mod error;
pub mod hub;
pub mod metrics;
pub mod replay_ring;
pub mod server;
pub mod state;
pub mod static_files;
pub mod viewer_queue;
mod ws_probe;
mod ws_session;
mod ws_viewer;
mod ws_wire;

pub use close_reason::CloseWhy;
pub use config::{Config, LogFormat};
pub use error::{HubError, RelayError};
pub use server::{start, Running, RELAY_VERSION};
