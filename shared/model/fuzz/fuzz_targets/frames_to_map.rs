//! Arbitrary frames through the whole model: decode, ingest into a small
//! store and the L4 state, aggregate under settings taken from the input,
//! lay out a few ticks. Nothing may panic.
//!
//! Input: one settings byte, then frames as `[len: u16 LE][frame bytes]`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiremap_model::{aggregate_l7, Grouping, L4State, L7Store, Layout, Metric, ViewSettings};
use wiremap_wire::{decode, EntryView, Frame, Protocol};

fuzz_target!(|data: &[u8]| {
    let Some((&bits, mut rest)) = data.split_first() else {
        return;
    };
    let mut store = L7Store::with_identity_cap(64, 16);
    let mut l4 = L4State::with_identity_cap(16);
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let end = (2 + len).min(rest.len());
        match decode(&rest[2..end]) {
            Ok(Frame::L7Batch(b)) => store.ingest(b),
            Ok(Frame::L4Snapshot(s)) => {
                let _ = l4.ingest(s);
            }
            _ => {}
        }
        rest = &rest[end..];
    }
    let mut settings = ViewSettings {
        grouping: Grouping::ALL[usize::from(bits & 3)],
        metric: if bits & 4 != 0 {
            Metric::Throughput
        } else {
            Metric::Bandwidth
        },
        cumulative: bits & 8 != 0,
        include_request: bits & 16 != 0,
        include_response: bits & 32 != 0,
        collapse_external: bits & 64 != 0,
        ..Default::default()
    };
    if bits & 128 != 0 {
        settings.hidden.hide_all();
        settings.hidden.toggle_protocol(Protocol::HTTP);
    }
    let now = store
        .iter()
        .map(|v| v.entry.timestamp_us)
        .max()
        .unwrap_or(0);
    let l7 = aggregate_l7(
        &store,
        &|v: &EntryView| v.entry.request_size % 3 != 1,
        &settings,
        now,
    );
    let l4g = l4.graph(&settings);
    let mut layout = Layout::new(u64::from(bits));
    layout.sync(&l7);
    layout.step(3);
    layout.sync(&l4g);
    layout.step(3);
    for n in &l7.nodes {
        let _ = layout.position(&n.key);
        let _ = settings.format_value(n.out_rate);
    }
});
