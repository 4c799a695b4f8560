//! The probe's sans-IO core: captured frames in, wire frames and ended
//! flows out. Decoding, duplicate filtering, the flow table, the
//! one-probe-reports rule, the capture filter, L7 dissection, identity
//! resolution, batching and snapshots all happen here, driven only by the
//! timestamps passed in.

use std::collections::HashMap;
use std::sync::Arc;

use foldhash::fast::RandomState;
use wiremap_dissect::{Dissector, Endpoint, TcpFlags};
use wiremap_wire::{
    CaptureFilter, Entry, Frame, Hello, Identity, IdentityKind, Inventory, L7Batch, ProbeStats,
};

use crate::capture_filter::Targeting;
use crate::decode::{self, tcp_flags, DecodeStats, LinkType, Packet, Transport};
use crate::dedupe::Dedupe;
use crate::error::ProbeError;
use crate::flow::{Flow, FlowConfig, FlowTable};
use crate::identity::{reports, IdentityMap};
use crate::snapshot::L4Totals;

/// How the pipeline behaves. Times in µs.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// This probe's node name.
    pub node: String,
    /// Probe start, µs since the Unix epoch (identifies this run).
    pub epoch: u64,
    pub snapshot_interval_us: i64,
    pub flows: FlowConfig,
    /// Duplicate window (0 disables the filter).
    pub dedupe_window_us: i64,
    /// Emit every ended flow as [`Output::FlowEnded`] (JSON-lines mode).
    pub emit_flows: bool,
    /// An L7 batch is sent when it holds this many entries …
    pub batch_max_entries: usize,
    /// … or when its oldest entry is this old.
    pub batch_max_delay_us: i64,
    /// Hide credential headers and cookie values (see [`crate::redact`]).
    pub redact: bool,
}

impl PipelineConfig {
    pub fn new(node: &str, epoch: u64) -> Self {
        PipelineConfig {
            node: node.to_string(),
            epoch,
            snapshot_interval_us: 1_000_000,
            flows: FlowConfig::default(),
            dedupe_window_us: 0,
            emit_flows: false,
            batch_max_entries: 512,
            batch_max_delay_us: 75_000,
            redact: true,
        }
    }
}

/// An ended flow with its resolved ends.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord {
    pub flow: Flow,
    pub client: Identity,
    pub server: Identity,
}

/// What the pipeline produces.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Frame(Frame),
    FlowEnded(Box<FlowRecord>),
}

/// Pipeline counters not owned by a component.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    frames: u64,
    frame_bytes: u64,
    unsupported_link: u64,
    not_reported_flows: u64,
    dissected_flows: u64,
    entries: u64,
    batches: u64,
    snapshots: u64,
    bad_filters: u64,
}

/// How often (packet time) the pipeline checks its timers.
const TICK_US: i64 = 10_000;

/// The probe's whole packet path.
#[derive(Debug)]
pub struct Pipeline {
    cfg: PipelineConfig,
    decode: DecodeStats,
    dedupe: Dedupe,
    flows: FlowTable,
    totals: L4Totals,
    dissector: Dissector,
    ids: Arc<IdentityMap>,
    targeting: Targeting,
    counts: Counts,
    ended: Vec<Flow>,
    entries: Vec<Entry>,
    pending: Vec<Entry>,
    pending_since_us: i64,
    next_tick_us: i64,
    next_snapshot_us: Option<i64>,
    now_us: i64,
    snapshot_seq: u64,
    batch_seq: u64,
    extra_counters: Vec<(String, u64)>,
}

/// Who is the client of a flow picked up mid-stream, from the identities:
/// a service's address is the server end (a persistent connection seen
/// first from the server, e.g. gRPC on 50051 to an ephemeral port, would
/// otherwise be read backwards). `Some(true)`: the sender is the client.
fn service_side(ids: &IdentityMap, p: &Packet<'_>) -> Option<bool> {
    let is_service = |ip| ids.get(ip).is_some_and(|i| i.kind == IdentityKind::SERVICE);
    match (is_service(p.src), is_service(p.dst)) {
        (false, true) => Some(true),
        (true, false) => Some(false),
        _ => None,
    }
}

fn endpoint(ip: std::net::IpAddr, port: u16) -> Endpoint {
    Endpoint { ip, port }
}

impl Pipeline {
    pub fn new(cfg: PipelineConfig, ids: IdentityMap) -> Self {
        Pipeline {
            dedupe: Dedupe::new(cfg.dedupe_window_us),
            flows: FlowTable::new(cfg.flows),
            cfg,
            decode: DecodeStats::default(),
            totals: L4Totals::new(),
            dissector: Dissector::new(),
            ids: Arc::new(ids),
            targeting: Targeting::default(),
            counts: Counts::default(),
            ended: Vec::new(),
            entries: Vec::new(),
            pending: Vec::new(),
            pending_since_us: 0,
            next_tick_us: i64::MIN,
            next_snapshot_us: None,
            now_us: 0,
            snapshot_seq: 0,
            batch_seq: 0,
            extra_counters: Vec::new(),
        }
    }

    pub fn config(&self) -> &PipelineConfig {
        &self.cfg
    }

    /// The Hello frame a connection starts with.
    pub fn hello(&self) -> Frame {
        Frame::Hello(Hello {
            node: self.cfg.node.clone(),
            probe_version: env!("CARGO_PKG_VERSION").to_string(),
            epoch: self.cfg.epoch,
        })
    }

    /// The inventory of the current identity map.
    pub fn inventory(&self) -> Frame {
        Frame::Inventory(Inventory {
            node: self.cfg.node.clone(),
            epoch: self.cfg.epoch,
            nodes: self.ids.nodes().to_vec(),
            identities: self.ids.workloads(),
        })
    }

    /// Swaps in a new identity map and emits the new inventory. Open flows
    /// keep their reporting decision.
    pub fn set_identities(&mut self, ids: IdentityMap, out: &mut Vec<Output>) {
        self.ids = Arc::new(ids);
        out.push(Output::Frame(self.inventory()));
    }

    /// Applies a capture filter from the relay. A bad filter is refused and
    /// counted; the previous one stays.
    pub fn set_capture_filter(&mut self, f: &CaptureFilter) -> Result<(), ProbeError> {
        match Targeting::compile(f) {
            Ok(t) => {
                // Cached verdicts are keyed by revision; force re-evaluation
                // even when a relay restarts its revision counter.
                for fl in self.flows.iter_mut() {
                    fl.dissect = None;
                }
                self.targeting = t;
                Ok(())
            }
            Err(e) => {
                self.counts.bad_filters += 1;
                Err(e)
            }
        }
    }

    /// Counters a shell adds to stats (kernel drops, queue drops, …).
    pub fn set_extra_counters(&mut self, c: Vec<(String, u64)>) {
        self.extra_counters = c;
    }

    /// Feeds one captured frame.
    pub fn on_frame(
        &mut self,
        ts_us: i64,
        link: Option<LinkType>,
        data: &[u8],
        out: &mut Vec<Output>,
    ) {
        self.counts.frames += 1;
        self.counts.frame_bytes += data.len() as u64;
        if ts_us >= self.next_tick_us {
            self.tick(ts_us, out);
        }
        self.now_us = self.now_us.max(ts_us);
        let Some(link) = link else {
            self.counts.unsupported_link += 1;
            return;
        };
        let r = decode::decode(link, data);
        self.decode.record(&r);
        let Ok(p) = r else {
            return;
        };
        if self.dedupe.is_duplicate(ts_us, &p) {
            return;
        }
        let ids = &self.ids;
        let (flow, dir, is_new) = self
            .flows
            .observe_with(ts_us, &p, &mut self.ended, |p| service_side(ids, p));
        if is_new {
            let c = self.ids.get(flow.client.ip);
            let s = self.ids.get(flow.server.ip);
            flow.report = reports(&self.cfg.node, c, s);
            if flow.report {
                flow.slot = self.totals.slot_for(flow);
            } else {
                self.counts.not_reported_flows += 1;
            }
        }
        if let Some(slot) = flow.slot {
            self.totals.add(slot, dir, p.ip_bytes);
        }
        let rev = self.targeting.revision;
        let dissect = flow.report
            && match flow.dissect {
                Some((r, v)) if r == rev => v,
                _ => {
                    let c = self.ids.resolve(flow.client.ip);
                    let s = self.ids.resolve(flow.server.ip);
                    let v = self.targeting.dissects(&c, &s);
                    if v && flow.dissect.is_none() {
                        self.counts.dissected_flows += 1;
                    }
                    flow.dissect = Some((rev, v));
                    v
                }
            };
        if dissect {
            let src = endpoint(p.src, p.src_port);
            let dst = endpoint(p.dst, p.dst_port);
            match p.transport {
                Transport::Tcp {
                    seq,
                    flags,
                    payload,
                    ..
                } => {
                    let f = TcpFlags {
                        syn: flags & tcp_flags::SYN != 0,
                        ack: flags & tcp_flags::ACK != 0,
                        fin: flags & tcp_flags::FIN != 0,
                        rst: flags & tcp_flags::RST != 0,
                    };
                    self.dissector
                        .on_tcp(ts_us, src, dst, seq, f, payload, &mut self.entries);
                }
                Transport::Udp { payload } => {
                    self.dissector
                        .on_udp(ts_us, src, dst, payload, &mut self.entries);
                }
            }
        }
        if !self.ended.is_empty() {
            self.emit_ended(out);
        }
        if !self.entries.is_empty() {
            self.take_entries(out);
        }
    }

    fn take_entries(&mut self, out: &mut Vec<Output>) {
        if self.pending.is_empty() {
            self.pending_since_us = self.now_us;
        }
        self.counts.entries += self.entries.len() as u64;
        self.pending.append(&mut self.entries);
        if self.pending.len() >= self.cfg.batch_max_entries {
            self.flush_batch(out);
        }
    }

    fn emit_ended(&mut self, out: &mut Vec<Output>) {
        for f in self.ended.drain(..) {
            if self.cfg.emit_flows && f.report {
                let client = self.ids.resolve(f.client.ip);
                let server = self.ids.resolve(f.server.ip);
                out.push(Output::FlowEnded(Box::new(FlowRecord {
                    flow: f,
                    client,
                    server,
                })));
            }
        }
    }

    /// Sends the pending L7 entries as one batch with its identity table.
    fn flush_batch(&mut self, out: &mut Vec<Output>) {
        if self.pending.is_empty() {
            return;
        }
        let mut identities: Vec<Identity> = Vec::new();
        let mut index: HashMap<std::net::IpAddr, u32, RandomState> = HashMap::default();
        // Moved out into a vector of the exact size; `pending` keeps its
        // capacity for the next batch instead of growing again from empty.
        let mut entries: Vec<Entry> = self.pending.drain(..).collect();
        // The last address of each end and its index: consecutive entries
        // mostly share their ends, which then skip the map.
        let mut last: [Option<(std::net::IpAddr, u32)>; 2] = [None; 2];
        for e in &mut entries {
            if self.cfg.redact {
                crate::redact::redact(e);
            }
            for (end, peer) in [&mut e.src, &mut e.dst].into_iter().enumerate() {
                let i = match last[end] {
                    Some((ip, i)) if ip == peer.ip => i,
                    _ => {
                        let i = *index.entry(peer.ip).or_insert_with(|| {
                            identities.push(self.ids.resolve(peer.ip));
                            (identities.len() - 1) as u32
                        });
                        last[end] = Some((peer.ip, i));
                        i
                    }
                };
                peer.identity = i;
            }
        }
        self.batch_seq += 1;
        self.counts.batches += 1;
        out.push(Output::Frame(Frame::L7Batch(L7Batch {
            node: self.cfg.node.clone(),
            epoch: self.cfg.epoch,
            seq: self.batch_seq,
            identities,
            entries,
        })));
    }

    /// Advances timers to `now_us`: batch delay, flow timeouts, snapshots.
    /// Shells call it when no packet arrives; `on_frame` calls it itself.
    pub fn tick(&mut self, now_us: i64, out: &mut Vec<Output>) {
        self.now_us = self.now_us.max(now_us);
        let now = self.now_us;
        self.next_tick_us = now.saturating_add(TICK_US);
        if !self.pending.is_empty()
            && now.saturating_sub(self.pending_since_us) >= self.cfg.batch_max_delay_us
        {
            self.flush_batch(out);
        }
        let next = *self
            .next_snapshot_us
            .get_or_insert(now.saturating_add(self.cfg.snapshot_interval_us));
        if now >= next {
            self.flows.expire(now, &mut self.ended);
            self.emit_ended(out);
            self.dissector.flush(now, &mut self.entries);
            if !self.entries.is_empty() {
                self.take_entries(out);
            }
            out.push(Output::Frame(self.snapshot(now)));
            out.push(Output::Frame(self.stats(now)));
            // Skip intervals with no packets instead of emitting a burst.
            let step = self.cfg.snapshot_interval_us.max(1);
            let behind = (now - next) / step + 1;
            self.next_snapshot_us = Some(next.saturating_add(behind.saturating_mul(step)));
        }
    }

    /// End of input: every flow ends, the dissector finishes, the last
    /// batch, snapshot and stats go out.
    pub fn finish(&mut self, out: &mut Vec<Output>) {
        let now = self.now_us;
        self.dissector.finish(&mut self.entries);
        if !self.entries.is_empty() {
            self.take_entries(out);
        }
        self.flush_batch(out);
        // Snapshot before draining so open flows still count as open.
        out.push(Output::Frame(self.snapshot(now)));
        self.flows.drain(&mut self.ended);
        self.emit_ended(out);
        out.push(Output::Frame(self.stats(now)));
    }

    fn snapshot(&mut self, now: i64) -> Frame {
        self.snapshot_seq += 1;
        self.counts.snapshots += 1;
        Frame::L4Snapshot(self.totals.snapshot(
            &self.cfg.node,
            self.cfg.epoch,
            self.snapshot_seq,
            now,
            &self.ids,
            self.flows.iter().filter_map(|f| f.slot),
        ))
    }

    /// Every counter of the pipeline, by name.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let c = &self.counts;
        let fs = &self.flows.stats;
        let mut v: Vec<(String, u64)> = vec![
            ("frames".into(), c.frames),
            ("frame_bytes".into(), c.frame_bytes),
            ("packets".into(), self.decode.decoded),
            ("decode.unsupported_link_type".into(), c.unsupported_link),
            ("duplicates".into(), self.dedupe.duplicates),
            ("dedupe_overflow".into(), self.dedupe.overflow),
            ("flows_open".into(), self.flows.len() as u64),
            ("flows_created".into(), fs.created),
            ("flows_ended".into(), fs.ended),
            ("flows_evicted".into(), fs.evicted),
            ("flows_not_reported".into(), c.not_reported_flows),
            ("flows_dissected".into(), c.dissected_flows),
            ("l4_rows".into(), self.totals.rows() as u64),
            ("l4_rows_overflow".into(), self.totals.overflow),
            ("l7_entries".into(), c.entries),
            ("l7_batches".into(), c.batches),
            ("l4_snapshots".into(), c.snapshots),
            ("capture_filter_rejected".into(), c.bad_filters),
            ("identities".into(), self.ids.len() as u64),
        ];
        v.extend(
            self.decode
                .counters()
                .map(|(n, x)| (format!("decode.{n}"), x)),
        );
        v.extend(
            self.dissector
                .counters()
                .into_iter()
                .map(|(n, x)| (format!("dissect.{n}"), x)),
        );
        v.extend(self.extra_counters.iter().cloned());
        v
    }

    fn stats(&self, now: i64) -> Frame {
        Frame::ProbeStats(ProbeStats {
            node: self.cfg.node.clone(),
            epoch: self.cfg.epoch,
            taken_at_us: now,
            counters: self.counters(),
        })
    }
}
