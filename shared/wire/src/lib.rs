//! wiremap's wire protocol, version 1: what probes, the relay and browser tabs
//! say to each other over binary WebSocket frames.
//!
//! Every frame is a fixed 4-byte [`Header`] (magic, protocol version, frame
//! kind, flags) followed by a postcard-encoded body. The relay routes on the
//! header alone and never decodes a body; probes and the web app decode both.
//! This crate does no I/O and holds no clocks: it is types and a codec.
//!
//! Key decision: unknown protocol codes and identity kinds stay raw integers
//! ([`Protocol`], [`IdentityKind`]) so a newer probe never breaks an older
//! viewer's decoding of the rest of a batch; unknown frame versions or kinds
//! are rejected with a [`WireError`], never a panic.
#![forbid(unsafe_code)]

mod control;
mod entry;
mod error;
mod frame;
mod identity;
#[cfg(feature = "json")]
pub mod json;
mod l4;
mod pieces;
mod view;

pub use control::{CaptureFilter, Hello, Inventory, NodeInfo, ProbeStats, RelayNotice};
pub use entry::{Detail, Dns, Entry, Grpc, Http, Kafka, Peer, Protocol, Redis};
pub use error::WireError;
pub use frame::{
    decode, encode, Frame, FrameKind, Header, HEADER_LEN, MAGIC, MAX_FRAME_LEN, VERSION,
};
pub use identity::{Identity, IdentityKind};
pub use l4::{L4Counter, L4Snapshot, L7Batch};
pub use pieces::FrameDecoder;
pub use view::{EntryBlock, EntryView};
