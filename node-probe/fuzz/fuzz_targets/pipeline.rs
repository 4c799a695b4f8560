//! Any sequence of frames through the whole pipeline (decode, dedupe, flow
//! table, dissector, batching, snapshots): never a panic.
//! Input: records of [len u8][ts delta u8][frame bytes].
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiremap_probe::decode::LinkType;
use wiremap_probe::identity::IdentityMap;
use wiremap_probe::pipeline::{Pipeline, PipelineConfig};

fuzz_target!(|data: &[u8]| {
    let mut cfg = PipelineConfig::new("fuzz", 1);
    cfg.dedupe_window_us = 1000;
    cfg.snapshot_interval_us = 500;
    cfg.flows.max_flows = 8;
    let mut p = Pipeline::new(cfg, IdentityMap::new());
    let mut out = Vec::new();
    let mut ts = 0i64;
    let mut rest = data;
    while let [len, dt, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        ts += i64::from(*dt) * 10;
        p.on_frame(ts, Some(LinkType::RawIp), &tail[..n], &mut out);
        rest = &tail[n..];
        out.clear();
    }
    p.finish(&mut out);
});
