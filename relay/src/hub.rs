//! The fan-out state (sans-IO): probes, viewers, caches, capture filter.
//!
//! Every method takes the current time as an argument and touches no socket
//! or clock. Connection tasks call into it under one lock; it queues frames
//! per viewer and records which connections must be woken ([`Wake`]), which
//! the shell then signals.
//!
//! L7 batches are not queued one by one: they are appended, framed for the
//! socket, to one open [`chunk`](crate::chunk) that every viewer then queues
//! as a whole. The chunk is sealed `linger` after its first batch (the probe
//! tasks call [`Hub::flush_due`] at [`Hub::flush_deadline`]), or as soon as
//! it holds `chunk_bytes` (under heavy traffic a chunk is worth its socket
//! write long before the linger is over, so it need not wait), and before
//! anything else is queued (a control frame, a snapshot, a viewer joining),
//! so every viewer still sees frames in arrival order and a late joiner
//! never gets part of a chunk.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use wiremap_wire::{CaptureFilter, Frame, FrameKind, Hello, RelayNotice};

use crate::chunk::{binary_header, ChunkBuilder};
use crate::close_reason::CloseWhy;
use crate::metrics::{Counters, DropWhy, Gauges};
use crate::replay_ring::ReplayRing;
use crate::viewer_queue::{Admit, ProbeId, Taken, ViewerQueue};
use crate::HubError;

/// Identifies a viewer connection inside the hub.
pub type ViewerId = u64;

/// Bounds of the hub.
#[derive(Debug, Clone)]
pub struct HubLimits {
    pub max_probes: usize,
    pub max_viewers: usize,
    /// Per-viewer queue cap for L7 batches, bytes.
    pub viewer_queue_bytes: usize,
    /// Per-viewer cap for control frames and coalesced snapshots, bytes.
    pub viewer_hard_bytes: usize,
    /// A viewer whose queue stays full this long is disconnected.
    pub viewer_stall: Duration,
    /// Replay ring of recent L7 batches: bytes (0 = off) and age.
    pub replay_bytes: usize,
    pub replay_age: Duration,
    /// Most frames (or chunks) a viewer task takes per lock.
    pub take_batch: usize,
    /// How long an open chunk of L7 batches waits for company before it is
    /// fanned out (0: every batch is fanned out at once).
    pub linger: Duration,
    /// Payload bytes at which a chunk is sealed before its linger is over
    /// (it is then big enough to be worth a socket write of its own);
    /// never more than an eighth of the viewer queue, so a chunk always
    /// fits an empty queue.
    pub chunk_bytes: usize,
}

impl Default for HubLimits {
    fn default() -> Self {
        HubLimits {
            max_probes: 256,
            max_viewers: 1024,
            viewer_queue_bytes: 8 << 20,
            viewer_hard_bytes: 12 << 20,
            viewer_stall: Duration::from_secs(10),
            replay_bytes: 0,
            replay_age: Duration::from_secs(10),
            take_batch: 256,
            linger: Duration::ZERO,
            chunk_bytes: 32 << 10,
        }
    }
}

/// A connection that has something to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The viewer's queue went from empty to non-empty.
    Viewer(ViewerId),
    /// The viewer must be disconnected ([`Hub::kicked`] says why).
    Kick(ViewerId),
    /// The probe has a capture filter to send.
    Probe(ProbeId),
}

#[derive(Debug)]
struct ProbeEntry {
    node: String,
    epoch: u64,
    l4: Option<Bytes>,
    inventory: Option<Bytes>,
    /// Capture filter not yet sent to this probe (only the newest matters).
    outbound: Option<Bytes>,
    frames_in: u64,
    bytes_in: u64,
}

#[derive(Debug)]
struct ViewerEntry {
    queue: ViewerQueue,
    kicked: Option<CloseWhy>,
}

/// What a viewer task gets from [`Hub::viewer_take`].
#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    /// Frames were appended to the output (possibly none); `more` tells
    /// whether frames are still queued (the batch limit was reached).
    Frames { more: bool },
    /// The viewer must be closed with this reason.
    Close(CloseWhy),
}

/// The fan-out state.
#[derive(Debug)]
pub struct Hub {
    limits: HubLimits,
    probes: BTreeMap<ProbeId, ProbeEntry>,
    viewers: HashMap<ViewerId, ViewerEntry>,
    next_id: u64,
    filter: Option<(CaptureFilter, Bytes)>,
    replay: ReplayRing,
    counters: Counters,
    wakes: Vec<Wake>,
    relay_version: String,
    /// Reused by [`Hub::viewer_take`] so a take allocates nothing.
    scratch: Vec<Taken>,
    /// L7 batches not yet fanned out.
    open: ChunkBuilder,
}

fn encode(frame: &Frame) -> Bytes {
    // Relay-built frames are small and well-formed; an encode error would be
    // a bug, and the frame is then simply not sent.
    wiremap_wire::encode(frame)
        .map(Bytes::from)
        .unwrap_or_default()
}

fn notice(n: RelayNotice) -> Bytes {
    encode(&Frame::RelayNotice(n))
}

impl Hub {
    /// A hub with the given limits and the persisted capture filter, if any.
    pub fn new(limits: HubLimits, filter: Option<CaptureFilter>, relay_version: &str) -> Self {
        let replay = ReplayRing::new(limits.replay_bytes, limits.replay_age);
        let chunk_max = limits.chunk_bytes.min(limits.viewer_queue_bytes / 8);
        Hub {
            open: ChunkBuilder::new(chunk_max),
            limits,
            probes: BTreeMap::new(),
            viewers: HashMap::new(),
            next_id: 1,
            filter: filter.map(|f| {
                let bytes = encode(&Frame::CaptureFilter(f.clone()));
                (f, bytes)
            }),
            replay,
            counters: Counters::default(),
            wakes: Vec::new(),
            relay_version: relay_version.to_owned(),
            scratch: Vec::new(),
        }
    }

    pub fn limits(&self) -> &HubLimits {
        &self.limits
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn counters_mut(&mut self) -> &mut Counters {
        &mut self.counters
    }

    pub fn probe_count(&self) -> usize {
        self.probes.len()
    }

    pub fn viewer_count(&self) -> usize {
        self.viewers.len()
    }

    /// The current capture filter.
    pub fn capture_filter(&self) -> Option<&CaptureFilter> {
        self.filter.as_ref().map(|(f, _)| f)
    }

    /// Moves the pending wake-ups into `out` (cleared first).
    pub fn take_wakes(&mut self, out: &mut Vec<Wake>) {
        out.clear();
        std::mem::swap(&mut self.wakes, out);
    }

    fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn status(&self) -> Bytes {
        self.status_with(self.viewers.len())
    }

    fn status_with(&self, viewers: usize) -> Bytes {
        notice(RelayNotice::Status {
            probes: self.probes.values().map(|p| p.node.clone()).collect(),
            viewers: u32::try_from(viewers).unwrap_or(u32::MAX),
            relay_version: self.relay_version.clone(),
        })
    }

    fn kick(&mut self, id: ViewerId, why: CloseWhy) {
        if let Some(v) = self.viewers.get_mut(&id) {
            if v.kicked.is_none() {
                v.kicked = Some(why);
                v.queue.clear();
                self.wakes.push(Wake::Kick(id));
            }
        }
    }

    /// When the open chunk must be fanned out, if one is open.
    pub fn flush_deadline(&self) -> Option<Instant> {
        self.open.opened_at().map(|t| t + self.limits.linger)
    }

    /// Fans the open chunk out if its linger time is over at `now`.
    pub fn flush_due(&mut self, now: Instant) {
        if self.flush_deadline().is_some_and(|d| d <= now) {
            self.flush(now);
        }
    }

    /// Seals the open chunk, if any, and queues it to every viewer: dropped
    /// whole for a viewer it does not fit (counted as its batches).
    pub fn flush(&mut self, now: Instant) {
        let Some(chunk) = self.open.seal() else {
            return;
        };
        let stall = self.limits.viewer_stall;
        let mut stalled = Vec::new();
        for (vid, v) in &mut self.viewers {
            if v.kicked.is_some() {
                continue;
            }
            match v
                .queue
                .push_chunk(chunk.bytes.clone(), chunk.batches, chunk.len, now)
            {
                Admit::Queued { was_empty: true } => self.wakes.push(Wake::Viewer(*vid)),
                Admit::Queued { was_empty: false } | Admit::Coalesced { .. } => {}
                Admit::Dropped => {
                    self.counters.dropped_n(
                        DropWhy::QueueFull,
                        u64::from(chunk.batches),
                        chunk.len,
                    );
                    if v.queue.stalled(now, stall) {
                        stalled.push(*vid);
                    }
                }
            }
        }
        for vid in stalled {
            self.kick(vid, CloseWhy::SlowViewer);
        }
    }

    /// Queues a control frame to every viewer.
    fn broadcast_control(&mut self, frame: &Bytes, kind: FrameKind, now: Instant) {
        self.flush(now);
        for (id, v) in &mut self.viewers {
            if v.kicked.is_some() {
                continue;
            }
            match v.queue.push_control(frame.clone(), kind, now) {
                Admit::Queued { was_empty: true } => self.wakes.push(Wake::Viewer(*id)),
                Admit::Dropped => self.counters.dropped(DropWhy::HardCap, frame.len()),
                _ => {}
            }
        }
    }

    // ---- probes ----

    /// Registers a probe after its Hello.
    pub fn probe_join(&mut self, hello: &Hello, now: Instant) -> Result<ProbeId, HubError> {
        if self.probes.len() >= self.limits.max_probes {
            return Err(HubError::TooManyProbes(self.limits.max_probes));
        }
        let id = self.id();
        let outbound = self.filter.as_ref().map(|(_, b)| b.clone());
        if outbound.is_some() {
            self.wakes.push(Wake::Probe(id));
        }
        self.probes.insert(
            id,
            ProbeEntry {
                node: hello.node.clone(),
                epoch: hello.epoch,
                l4: None,
                inventory: None,
                outbound,
                frames_in: 0,
                bytes_in: 0,
            },
        );
        self.counters.probes_connected += 1;
        let n = notice(RelayNotice::ProbeConnected {
            node: hello.node.clone(),
            epoch: hello.epoch,
        });
        self.broadcast_control(&n, FrameKind::RelayNotice, now);
        Ok(id)
    }

    /// Forgets a probe and its cached frames.
    pub fn probe_leave(&mut self, id: ProbeId, now: Instant) {
        if let Some(p) = self.probes.remove(&id) {
            let n = notice(RelayNotice::ProbeDisconnected { node: p.node });
            self.broadcast_control(&n, FrameKind::RelayNotice, now);
        }
    }

    /// The capture filter waiting to be sent to this probe, if any.
    pub fn probe_take(&mut self, id: ProbeId) -> Option<Bytes> {
        self.probes.get_mut(&id)?.outbound.take()
    }

    /// Fans a probe's frame out to every viewer. `kind` comes from the
    /// already validated header; the body is never decoded.
    pub fn probe_frame(
        &mut self,
        id: ProbeId,
        kind: FrameKind,
        frame: Bytes,
        now: Instant,
    ) -> Result<(), HubError> {
        match kind {
            FrameKind::L7Batch
            | FrameKind::L4Snapshot
            | FrameKind::Inventory
            | FrameKind::ProbeStats => {}
            other => return Err(HubError::UnexpectedKind(other.name())),
        }
        let probe = self
            .probes
            .get_mut(&id)
            .ok_or(HubError::UnknownConnection(id))?;
        probe.frames_in += 1;
        probe.bytes_in += frame.len() as u64;
        self.counters.frame_in(kind, frame.len());
        match kind {
            FrameKind::L7Batch => {
                self.open.push(&frame, now);
                self.replay.push(now, frame);
                if self.limits.linger.is_zero() || self.open.is_full() {
                    self.flush(now);
                }
                return Ok(());
            }
            // copies, so a cached frame does not pin the connection's read buffer
            FrameKind::L4Snapshot => probe.l4 = Some(Bytes::copy_from_slice(&frame)),
            FrameKind::Inventory => probe.inventory = Some(Bytes::copy_from_slice(&frame)),
            _ => {}
        }
        // batches that came before this frame go out before it
        self.flush(now);
        let stall = self.limits.viewer_stall;
        let mut stalled = Vec::new();
        for (vid, v) in &mut self.viewers {
            if v.kicked.is_some() {
                continue;
            }
            match v.queue.push_latest(id, kind, frame.clone(), now) {
                Admit::Queued { was_empty: true } => self.wakes.push(Wake::Viewer(*vid)),
                Admit::Queued { was_empty: false } => {}
                Admit::Coalesced { replaced_bytes } => {
                    self.counters.dropped(DropWhy::Coalesced, replaced_bytes)
                }
                Admit::Dropped => {
                    self.counters.dropped(DropWhy::HardCap, frame.len());
                    if v.queue.stalled(now, stall) {
                        stalled.push(*vid);
                    }
                }
            }
        }
        for vid in stalled {
            self.kick(vid, CloseWhy::SlowViewer);
        }
        Ok(())
    }

    // ---- viewers ----

    /// Registers a viewer and queues what a late joiner needs: status, the
    /// capture filter, each probe's latest L4 snapshot and inventory, then
    /// the replay ring.
    pub fn viewer_join(&mut self, now: Instant) -> Result<ViewerId, HubError> {
        if self.viewers.len() >= self.limits.max_viewers {
            return Err(HubError::TooManyViewers(self.limits.max_viewers));
        }
        // the open chunk holds batches from before the join: it goes to the
        // others (a replay ring gives them to the newcomer one by one)
        self.flush(now);
        let id = self.id();
        let mut queue = ViewerQueue::new(
            self.limits.viewer_queue_bytes,
            self.limits.viewer_hard_bytes,
        );
        self.counters.viewers_connected += 1;
        // the new viewer counts itself
        queue.push_control(
            self.status_with(self.viewers.len() + 1),
            FrameKind::RelayNotice,
            now,
        );
        if let Some((_, f)) = &self.filter {
            queue.push_control(f.clone(), FrameKind::CaptureFilter, now);
        }
        for (pid, p) in &self.probes {
            if let Some(f) = &p.l4 {
                queue.push_latest(*pid, FrameKind::L4Snapshot, f.clone(), now);
            }
            if let Some(f) = &p.inventory {
                queue.push_latest(*pid, FrameKind::Inventory, f.clone(), now);
            }
        }
        self.replay.expire(now);
        for f in self.replay.recent(now) {
            if queue.push_l7(f.clone(), now) == Admit::Dropped {
                self.counters.dropped(DropWhy::QueueFull, f.len());
            }
        }
        self.viewers.insert(
            id,
            ViewerEntry {
                queue,
                kicked: None,
            },
        );
        self.wakes.push(Wake::Viewer(id));
        Ok(id)
    }

    /// Forgets a viewer.
    pub fn viewer_leave(&mut self, id: ViewerId) {
        self.viewers.remove(&id);
    }

    /// Why the viewer was kicked, if it was.
    pub fn kicked(&self, id: ViewerId) -> Option<CloseWhy> {
        self.viewers.get(&id).and_then(|v| v.kicked)
    }

    /// Hands up to `take_batch` queued frames or chunks to the viewer's task,
    /// plus a Dropped notice when frames were dropped since the last one.
    /// What is appended to `out` is the bytes for the socket, in order:
    /// binary WebSocket frames (a header and the shared payload for a single
    /// frame, the shared bytes of a chunk).
    pub fn viewer_take(&mut self, id: ViewerId, out: &mut Vec<Bytes>) -> Take {
        let Some(v) = self.viewers.get_mut(&id) else {
            return Take::Close(CloseWhy::Shutdown);
        };
        if let Some(why) = v.kicked {
            return Take::Close(why);
        }
        let taken = &mut self.scratch;
        v.queue.take(self.limits.take_batch, taken);
        let mut heads = BytesMut::new();
        for t in taken.drain(..) {
            match t.chunk {
                Some(batches) => {
                    self.counters
                        .frames_out_n(t.kind, u64::from(batches), t.len);
                    out.push(t.bytes);
                }
                None => {
                    self.counters.frame_out(t.kind, t.len);
                    binary_header(&mut heads, t.len);
                    out.push(heads.split().freeze());
                    out.push(t.bytes);
                }
            }
        }
        if let Some((l7_batches, bytes)) = v.queue.take_drop_notice() {
            let n = notice(RelayNotice::Dropped { l7_batches, bytes });
            self.counters.frame_out(FrameKind::RelayNotice, n.len());
            binary_header(&mut heads, n.len());
            out.push(heads.split().freeze());
            out.push(n);
        }
        Take::Frames {
            more: !v.queue.is_empty(),
        }
    }

    /// Queues a fresh Status notice to one viewer.
    pub fn viewer_status(&mut self, id: ViewerId, now: Instant) {
        self.flush(now);
        let status = self.status();
        if let Some(v) = self.viewers.get_mut(&id) {
            if let Admit::Queued { was_empty: true } =
                v.queue.push_control(status, FrameKind::RelayNotice, now)
            {
                self.wakes.push(Wake::Viewer(id));
            }
        }
    }

    /// Kicks every viewer whose queue has stayed full for the stall limit.
    pub fn sweep(&mut self, now: Instant) {
        let stall = self.limits.viewer_stall;
        let stalled: Vec<ViewerId> = self
            .viewers
            .iter()
            .filter(|(_, v)| v.kicked.is_none() && v.queue.stalled(now, stall))
            .map(|(id, _)| *id)
            .collect();
        for id in stalled {
            self.kick(id, CloseWhy::SlowViewer);
        }
    }

    /// A viewer sent a CaptureFilter frame. On success the filter gets the
    /// next revision and goes to every probe and every viewer; on failure the
    /// viewer gets a Rejected notice. Returns the accepted filter (to persist).
    pub fn set_capture_filter(
        &mut self,
        viewer: ViewerId,
        frame: &[u8],
        now: Instant,
    ) -> Result<CaptureFilter, String> {
        let mut f = match crate::capture_filter::parse(frame) {
            Ok(f) => f,
            Err(reason) => {
                self.counters.filters_rejected += 1;
                self.flush(now);
                let n = notice(RelayNotice::Rejected {
                    reason: reason.clone(),
                });
                if let Some(v) = self.viewers.get_mut(&viewer) {
                    if let Admit::Queued { was_empty: true } =
                        v.queue.push_control(n, FrameKind::RelayNotice, now)
                    {
                        self.wakes.push(Wake::Viewer(viewer));
                    }
                }
                return Err(reason);
            }
        };
        self.counters.filters_accepted += 1;
        f.revision = self.filter.as_ref().map_or(0, |(c, _)| c.revision) + 1;
        let bytes = encode(&Frame::CaptureFilter(f.clone()));
        for (pid, p) in &mut self.probes {
            p.outbound = Some(bytes.clone());
            self.wakes.push(Wake::Probe(*pid));
        }
        self.broadcast_control(&bytes, FrameKind::CaptureFilter, now);
        self.filter = Some((f.clone(), bytes));
        Ok(f)
    }

    /// Samples the gauges for `/metrics`.
    pub fn gauges(&self) -> Gauges {
        let mut g = Gauges {
            probes: self.probes.len(),
            viewers: self.viewers.len(),
            queue_cap_bytes: self.limits.viewer_queue_bytes,
            replay_bytes: self.replay.bytes(),
            filter_revision: self.filter.as_ref().map_or(0, |(f, _)| f.revision),
            ..Gauges::default()
        };
        for v in self.viewers.values() {
            g.queue_bytes_sum += v.queue.depth();
            g.queue_bytes_max = g.queue_bytes_max.max(v.queue.depth());
            g.queue_frames_sum += v.queue.frames();
        }
        g.per_probe = self
            .probes
            .values()
            .map(|p| (p.node.clone(), p.frames_in, p.bytes_in))
            .collect();
        g
    }

    /// Epoch the probe announced in its Hello.
    pub fn probe_epoch(&self, id: ProbeId) -> Option<u64> {
        self.probes.get(&id).map(|p| p.epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremap_wire::{decode, L4Snapshot, L7Batch};

    fn hello(node: &str) -> Hello {
        Hello {
            node: node.into(),
            probe_version: "t".into(),
            epoch: 42,
        }
    }

    fn l7(node: &str, seq: u64) -> Bytes {
        encode(&Frame::L7Batch(L7Batch {
            node: node.into(),
            epoch: 42,
            seq,
            identities: vec![],
            entries: vec![],
        }))
    }

    fn l4(node: &str, seq: u64) -> Bytes {
        encode(&Frame::L4Snapshot(L4Snapshot {
            node: node.into(),
            epoch: 42,
            seq,
            taken_at_us: 0,
            identities: vec![],
            counters: vec![],
        }))
    }

    /// Splits the bytes for a viewer's socket into frame payloads; each must
    /// be a complete, unmasked binary WebSocket frame.
    fn payloads(wire: &[u8]) -> Vec<Bytes> {
        let mut rest = wire;
        let mut out = Vec::new();
        while !rest.is_empty() {
            assert_eq!(rest[0], 0x82, "a final binary frame");
            let (len, at) = match rest[1] {
                126 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
                127 => (
                    usize::try_from(u64::from_be_bytes(rest[2..10].try_into().unwrap())).unwrap(),
                    10,
                ),
                n => (usize::from(n), 2),
            };
            out.push(Bytes::copy_from_slice(&rest[at..at + len]));
            rest = &rest[at + len..];
        }
        out
    }

    /// Everything queued for the viewer, as decoded frames.
    fn drain(hub: &mut Hub, id: ViewerId) -> Vec<Frame> {
        let mut out = Vec::new();
        loop {
            let before = out.len();
            assert!(matches!(hub.viewer_take(id, &mut out), Take::Frames { .. }));
            if out.len() == before {
                break;
            }
        }
        payloads(&out.concat())
            .iter()
            .map(|b| decode(b).unwrap())
            .collect()
    }

    fn l7_seqs(frames: &[Frame]) -> Vec<u64> {
        frames
            .iter()
            .filter_map(|f| match f {
                Frame::L7Batch(b) => Some(b.seq),
                _ => None,
            })
            .collect()
    }

    fn lingering(linger_ms: u64) -> HubLimits {
        HubLimits {
            linger: Duration::from_millis(linger_ms),
            ..HubLimits::default()
        }
    }

    /// A hub with `limits`, one viewer and one probe ("n1") joined at
    /// `t0`, the viewer's join frames drained and the wakes taken.
    fn one_viewer_one_probe(limits: HubLimits, t0: Instant) -> (Hub, ViewerId, ProbeId) {
        let mut hub = Hub::new(limits, None, "test");
        let v = hub.viewer_join(t0).unwrap();
        let p = hub.probe_join(&hello("n1"), t0).unwrap();
        drain(&mut hub, v);
        wakes(&mut hub);
        (hub, v, p)
    }

    fn wakes(hub: &mut Hub) -> Vec<Wake> {
        let mut w = Vec::new();
        hub.take_wakes(&mut w);
        w
    }

    #[test]
    fn fans_out_to_every_viewer_and_wakes_once_per_fill() {
        let now = Instant::now();
        let mut hub = Hub::new(HubLimits::default(), None, "test");
        let a = hub.viewer_join(now).unwrap();
        let b = hub.viewer_join(now).unwrap();
        let p = hub.probe_join(&hello("n1"), now).unwrap();
        drain(&mut hub, a);
        drain(&mut hub, b);
        wakes(&mut hub);
        for seq in 0..3 {
            hub.probe_frame(p, FrameKind::L7Batch, l7("n1", seq), now)
                .unwrap();
        }
        let w = wakes(&mut hub);
        assert_eq!(w.len(), 2, "{w:?}");
        for v in [a, b] {
            let got = drain(&mut hub, v);
            let seqs: Vec<u64> = got
                .iter()
                .map(|f| match f {
                    Frame::L7Batch(b) => b.seq,
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(seqs, vec![0, 1, 2]);
        }
        assert_eq!(hub.counters().frames_out[FrameKind::L7Batch as usize], 6);
    }

    #[test]
    fn late_joiner_gets_status_filter_and_cached_frames_first() {
        let now = Instant::now();
        let mut hub = Hub::new(HubLimits::default(), None, "test");
        let early = hub.viewer_join(now).unwrap();
        let p = hub.probe_join(&hello("n1"), now).unwrap();
        hub.probe_frame(p, FrameKind::L4Snapshot, l4("n1", 1), now)
            .unwrap();
        hub.probe_frame(p, FrameKind::L4Snapshot, l4("n1", 2), now)
            .unwrap();
        hub.probe_frame(p, FrameKind::L7Batch, l7("n1", 1), now)
            .unwrap();
        let filter = encode(&Frame::CaptureFilter(CaptureFilter {
            pod_regex: "^a".into(),
            ..Default::default()
        }));
        hub.set_capture_filter(early, &filter, now).unwrap();
        let late = hub.viewer_join(now).unwrap();
        let got = drain(&mut hub, late);
        assert!(
            matches!(&got[0], Frame::RelayNotice(RelayNotice::Status { probes, viewers: 2, .. }) if probes == &["n1".to_string()])
        );
        assert!(
            matches!(&got[1], Frame::CaptureFilter(f) if f.revision == 1 && f.pod_regex == "^a")
        );
        assert!(matches!(&got[2], Frame::L4Snapshot(s) if s.seq == 2));
        assert_eq!(got.len(), 3, "no L7 without a replay ring: {got:?}");
        // the early viewer had the two snapshots coalesced into the newest
        let got = drain(&mut hub, early);
        let l4s: Vec<u64> = got
            .iter()
            .filter_map(|f| match f {
                Frame::L4Snapshot(s) => Some(s.seq),
                _ => None,
            })
            .collect();
        assert_eq!(l4s, vec![2]);
        // leaving drops the cache
        hub.probe_leave(p, now);
        let again = hub.viewer_join(now).unwrap();
        let got = drain(&mut hub, again);
        assert!(!got.iter().any(|f| matches!(f, Frame::L4Snapshot(_))));
    }

    #[test]
    fn replay_ring_feeds_late_joiners_when_enabled() {
        let now = Instant::now();
        let limits = HubLimits {
            replay_bytes: 1 << 20,
            ..HubLimits::default()
        };
        let mut hub = Hub::new(limits, None, "test");
        let p = hub.probe_join(&hello("n1"), now).unwrap();
        for seq in 0..5 {
            hub.probe_frame(p, FrameKind::L7Batch, l7("n1", seq), now)
                .unwrap();
        }
        let v = hub.viewer_join(now + Duration::from_secs(1)).unwrap();
        let seqs: Vec<u64> = drain(&mut hub, v)
            .iter()
            .filter_map(|f| match f {
                Frame::L7Batch(b) => Some(b.seq),
                _ => None,
            })
            .collect();
        assert_eq!(seqs, vec![0, 1, 2, 3, 4]);
        let v2 = hub.viewer_join(now + Duration::from_secs(60)).unwrap();
        assert!(!drain(&mut hub, v2)
            .iter()
            .any(|f| matches!(f, Frame::L7Batch(_))));
    }

    #[test]
    fn slow_viewer_loses_l7_gets_notice_and_is_kicked_after_stall() {
        let t0 = Instant::now();
        let frame_len = l7("n1", 0).len();
        let limits = HubLimits {
            viewer_queue_bytes: frame_len * 4,
            viewer_hard_bytes: frame_len * 8,
            viewer_stall: Duration::from_secs(5),
            ..HubLimits::default()
        };
        let mut hub = Hub::new(limits, None, "test");
        let slow = hub.viewer_join(t0).unwrap();
        let fast = hub.viewer_join(t0).unwrap();
        let p = hub.probe_join(&hello("n1"), t0).unwrap();
        drain(&mut hub, slow);
        let mut fast_seqs = Vec::new();
        for seq in 0..20 {
            hub.probe_frame(
                p,
                FrameKind::L7Batch,
                l7("n1", seq),
                t0 + Duration::from_millis(seq * 100),
            )
            .unwrap();
            for f in drain(&mut hub, fast) {
                if let Frame::L7Batch(b) = f {
                    fast_seqs.push(b.seq);
                }
            }
        }
        assert_eq!(fast_seqs, (0..20).collect::<Vec<_>>());
        assert_eq!(hub.counters().drops(DropWhy::QueueFull), 16);
        let got = drain(&mut hub, slow);
        assert!(
            matches!(
                got.last(),
                Some(Frame::RelayNotice(RelayNotice::Dropped {
                    l7_batches: 16,
                    ..
                }))
            ),
            "{got:?}"
        );
        // now stay full past the stall limit
        wakes(&mut hub);
        for seq in 0..10 {
            hub.probe_frame(
                p,
                FrameKind::L7Batch,
                l7("n1", seq),
                t0 + Duration::from_secs(10 + seq),
            )
            .unwrap();
            drain(&mut hub, fast);
        }
        assert!(wakes(&mut hub).contains(&Wake::Kick(slow)));
        assert_eq!(
            hub.viewer_take(slow, &mut Vec::new()),
            Take::Close(CloseWhy::SlowViewer)
        );
        assert_eq!(hub.kicked(fast), None);
    }

    #[test]
    fn capture_filter_reaches_probes_now_and_later_and_bad_ones_are_rejected() {
        let now = Instant::now();
        let mut hub = Hub::new(HubLimits::default(), None, "test");
        let v = hub.viewer_join(now).unwrap();
        let p1 = hub.probe_join(&hello("n1"), now).unwrap();
        assert_eq!(hub.probe_take(p1), None);
        drain(&mut hub, v);
        wakes(&mut hub);
        let good = encode(&Frame::CaptureFilter(CaptureFilter {
            pod_regex: "^api".into(),
            revision: 99,
            ..Default::default()
        }));
        let f = hub.set_capture_filter(v, &good, now).unwrap();
        assert_eq!(f.revision, 1);
        assert!(wakes(&mut hub).contains(&Wake::Probe(p1)));
        let sent = hub.probe_take(p1).unwrap();
        assert!(matches!(decode(&sent).unwrap(), Frame::CaptureFilter(f) if f.revision == 1));
        let p2 = hub.probe_join(&hello("n2"), now).unwrap();
        assert!(
            matches!(decode(&hub.probe_take(p2).unwrap()).unwrap(), Frame::CaptureFilter(f) if f.pod_regex == "^api")
        );
        let bad = encode(&Frame::CaptureFilter(CaptureFilter {
            pod_regex: "(".into(),
            ..Default::default()
        }));
        assert!(hub.set_capture_filter(v, &bad, now).is_err());
        let got = drain(&mut hub, v);
        assert!(got
            .iter()
            .any(|f| matches!(f, Frame::CaptureFilter(f) if f.revision == 1)));
        assert!(matches!(
            got.last(),
            Some(Frame::RelayNotice(RelayNotice::Rejected { .. }))
        ));
        assert_eq!(hub.capture_filter().unwrap().revision, 1);
    }

    #[test]
    fn limits_and_unexpected_kinds_are_values() {
        let now = Instant::now();
        let limits = HubLimits {
            max_probes: 1,
            max_viewers: 1,
            ..HubLimits::default()
        };
        let mut hub = Hub::new(limits, None, "test");
        let p = hub.probe_join(&hello("a"), now).unwrap();
        assert_eq!(
            hub.probe_join(&hello("b"), now),
            Err(HubError::TooManyProbes(1))
        );
        hub.viewer_join(now).unwrap();
        assert_eq!(hub.viewer_join(now), Err(HubError::TooManyViewers(1)));
        assert!(hub
            .probe_frame(p, FrameKind::RelayNotice, Bytes::new(), now)
            .is_err());
        assert!(hub
            .probe_frame(999, FrameKind::L7Batch, Bytes::new(), now)
            .is_err());
    }

    #[test]
    fn the_linger_bounds_the_wait_and_a_big_enough_chunk_leaves_early() {
        let t0 = Instant::now();
        let frame_len = l7("n1", 0).len();
        // sealed at 30 ms, or once it holds 3 batches' payload
        let limits = HubLimits {
            chunk_bytes: frame_len * 3,
            ..lingering(30)
        };
        let (mut hub, v, p) = one_viewer_one_probe(limits, t0);
        // light traffic: two batches wait the whole linger, not a moment more
        for seq in 0..2 {
            let at = t0 + Duration::from_millis(seq * 10);
            hub.probe_frame(p, FrameKind::L7Batch, l7("n1", seq), at)
                .unwrap();
        }
        assert_eq!(hub.flush_deadline(), Some(t0 + Duration::from_millis(30)));
        hub.flush_due(t0 + Duration::from_millis(29));
        assert!(wakes(&mut hub).is_empty(), "not before the linger is over");
        hub.flush_due(t0 + Duration::from_millis(30));
        assert_eq!(wakes(&mut hub), vec![Wake::Viewer(v)]);
        assert_eq!(l7_seqs(&drain(&mut hub, v)), vec![0, 1]);
        // heavy traffic: the chunk leaves as soon as it is big enough,
        // however young, and the next one starts a linger of its own
        let t1 = t0 + Duration::from_secs(1);
        for seq in 2..5 {
            hub.probe_frame(p, FrameKind::L7Batch, l7("n1", seq), t1)
                .unwrap();
        }
        assert_eq!(wakes(&mut hub), vec![Wake::Viewer(v)], "sealed at once");
        assert_eq!(hub.flush_deadline(), None);
        hub.probe_frame(
            p,
            FrameKind::L7Batch,
            l7("n1", 5),
            t1 + Duration::from_millis(1),
        )
        .unwrap();
        assert_eq!(hub.flush_deadline(), Some(t1 + Duration::from_millis(31)));
        hub.flush(t1 + Duration::from_millis(31));
        let got = drain(&mut hub, v);
        assert_eq!(l7_seqs(&got), vec![2, 3, 4, 5]);
        // the size limit never exceeds an eighth of the viewer queue
        let limits = HubLimits {
            chunk_bytes: 1 << 30,
            viewer_queue_bytes: frame_len * 16,
            viewer_hard_bytes: frame_len * 32,
            ..lingering(30)
        };
        let (mut hub, v, p) = one_viewer_one_probe(limits, t0);
        hub.probe_frame(p, FrameKind::L7Batch, l7("n1", 0), t0)
            .unwrap();
        assert!(wakes(&mut hub).is_empty());
        hub.probe_frame(p, FrameKind::L7Batch, l7("n1", 1), t0)
            .unwrap();
        assert_eq!(wakes(&mut hub), vec![Wake::Viewer(v)], "2 of 16 batches");
    }

    #[test]
    fn with_a_linger_batches_wait_and_leave_as_one_shared_chunk() {
        let t0 = Instant::now();
        let mut hub = Hub::new(lingering(10), None, "test");
        let a = hub.viewer_join(t0).unwrap();
        let b = hub.viewer_join(t0).unwrap();
        let p = hub.probe_join(&hello("n1"), t0).unwrap();
        drain(&mut hub, a);
        drain(&mut hub, b);
        wakes(&mut hub);
        assert_eq!(hub.flush_deadline(), None);
        for seq in 0..3 {
            hub.probe_frame(
                p,
                FrameKind::L7Batch,
                l7("n1", seq),
                t0 + Duration::from_millis(seq),
            )
            .unwrap();
        }
        // no viewer woken yet: the shell flushes at the deadline
        assert!(wakes(&mut hub).is_empty());
        assert_eq!(hub.flush_deadline(), Some(t0 + Duration::from_millis(10)));
        assert!(drain(&mut hub, a).is_empty());
        hub.flush_due(t0 + Duration::from_millis(9));
        assert!(wakes(&mut hub).is_empty(), "not due yet");
        hub.flush_due(t0 + Duration::from_millis(10));
        let mut w = wakes(&mut hub);
        w.sort_by_key(|w| format!("{w:?}"));
        assert_eq!(w, vec![Wake::Viewer(a), Wake::Viewer(b)]);
        assert_eq!(hub.flush_deadline(), None);
        // each viewer takes the very same bytes: one shared chunk
        let mut wa = Vec::new();
        let mut wb = Vec::new();
        hub.viewer_take(a, &mut wa);
        hub.viewer_take(b, &mut wb);
        assert_eq!(wa.len(), 1);
        assert_eq!(wa[0].as_ptr(), wb[0].as_ptr(), "shared, not copied");
        let got: Vec<Frame> = payloads(&wa[0])
            .iter()
            .map(|b| decode(b).unwrap())
            .collect();
        assert_eq!(l7_seqs(&got), vec![0, 1, 2]);
        assert_eq!(hub.counters().frames_out[FrameKind::L7Batch as usize], 6);
        assert_eq!(
            hub.counters().bytes_out[FrameKind::L7Batch as usize],
            2 * (0..3).map(|s| l7("n1", s).len() as u64).sum::<u64>()
        );
    }

    #[test]
    fn other_frames_and_joins_close_the_chunk_so_order_is_kept() {
        let t0 = Instant::now();
        let mut hub = Hub::new(lingering(1000), None, "test");
        let early = hub.viewer_join(t0).unwrap();
        let p = hub.probe_join(&hello("n1"), t0).unwrap();
        drain(&mut hub, early);
        hub.probe_frame(p, FrameKind::L7Batch, l7("n1", 0), t0)
            .unwrap();
        hub.probe_frame(p, FrameKind::L4Snapshot, l4("n1", 1), t0)
            .unwrap();
        hub.probe_frame(p, FrameKind::L7Batch, l7("n1", 1), t0)
            .unwrap();
        // a late joiner: batch 1 was sent before it joined
        let late = hub.viewer_join(t0).unwrap();
        hub.probe_frame(p, FrameKind::L7Batch, l7("n1", 2), t0)
            .unwrap();
        hub.probe_leave(p, t0);
        let got = drain(&mut hub, early);
        let kinds: Vec<String> = got
            .iter()
            .map(|f| match f {
                Frame::L7Batch(b) => format!("l7 {}", b.seq),
                Frame::L4Snapshot(s) => format!("l4 {}", s.seq),
                Frame::RelayNotice(RelayNotice::ProbeDisconnected { .. }) => "gone".into(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds, ["l7 0", "l4 1", "l7 1", "l7 2", "gone"]);
        let got = drain(&mut hub, late);
        assert_eq!(
            l7_seqs(&got),
            vec![2],
            "no part of a chunk from before the join"
        );
        assert!(matches!(
            got.last(),
            Some(Frame::RelayNotice(RelayNotice::ProbeDisconnected { .. }))
        ));
    }

    #[test]
    fn a_full_chunk_leaves_at_once_and_a_dropped_chunk_counts_as_its_batches() {
        let t0 = Instant::now();
        let frame_len = l7("n1", 0).len();
        // queue of 8 batches: chunks are full at one batch (queue / 8) ...
        let limits = HubLimits {
            viewer_queue_bytes: frame_len * 8,
            viewer_hard_bytes: frame_len * 16,
            ..lingering(1000)
        };
        let (mut hub, v, p) = one_viewer_one_probe(limits, t0);
        hub.probe_frame(p, FrameKind::L7Batch, l7("n1", 0), t0)
            .unwrap();
        assert_eq!(wakes(&mut hub), vec![Wake::Viewer(v)], "sealed when full");
        assert_eq!(hub.flush_deadline(), None);
        drain(&mut hub, v);
        // ... and with a queue of 80 batches a chunk holds 10
        let limits = HubLimits {
            viewer_queue_bytes: frame_len * 80,
            viewer_hard_bytes: frame_len * 160,
            viewer_stall: Duration::from_secs(5),
            ..lingering(1000)
        };
        let mut hub = Hub::new(limits, None, "test");
        let slow = hub.viewer_join(t0).unwrap();
        let fast = hub.viewer_join(t0).unwrap();
        let p = hub.probe_join(&hello("n1"), t0).unwrap();
        drain(&mut hub, slow);
        drain(&mut hub, fast);
        let mut fast_seqs = Vec::new();
        for seq in 0..100 {
            hub.probe_frame(p, FrameKind::L7Batch, l7("n1", seq), t0)
                .unwrap();
            fast_seqs.extend(l7_seqs(&drain(&mut hub, fast)));
        }
        assert_eq!(fast_seqs, (0..100).collect::<Vec<_>>());
        // the slow viewer's queue took 8 chunks of 10; 2 chunks were dropped
        assert_eq!(hub.counters().drops(DropWhy::QueueFull), 20);
        let got = drain(&mut hub, slow);
        assert_eq!(l7_seqs(&got), (0..80).collect::<Vec<_>>());
        assert!(
            matches!(
                got.last(),
                Some(Frame::RelayNotice(RelayNotice::Dropped { l7_batches: 20, bytes }))
                    if *bytes == 20 * frame_len as u64
            ),
            "{got:?}"
        );
        // a chunk refused past the stall limit kicks the viewer
        for seq in 0..90 {
            hub.probe_frame(
                p,
                FrameKind::L7Batch,
                l7("n1", seq),
                t0 + Duration::from_secs(1) + Duration::from_millis(seq * 40),
            )
            .unwrap();
            drain(&mut hub, fast);
        }
        assert_eq!(hub.kicked(slow), None);
        hub.probe_frame(
            p,
            FrameKind::L7Batch,
            l7("n1", 0),
            t0 + Duration::from_secs(20),
        )
        .unwrap();
        hub.flush(t0 + Duration::from_secs(20));
        drain(&mut hub, fast);
        assert_eq!(hub.kicked(slow), Some(CloseWhy::SlowViewer));
        assert_eq!(hub.kicked(fast), None);
    }

    #[test]
    fn replay_with_a_linger_gives_the_newcomer_the_open_chunk_one_by_one() {
        let t0 = Instant::now();
        let limits = HubLimits {
            replay_bytes: 1 << 20,
            ..lingering(1000)
        };
        let mut hub = Hub::new(limits, None, "test");
        let early = hub.viewer_join(t0).unwrap();
        let p = hub.probe_join(&hello("n1"), t0).unwrap();
        drain(&mut hub, early);
        for seq in 0..4 {
            hub.probe_frame(p, FrameKind::L7Batch, l7("n1", seq), t0)
                .unwrap();
        }
        let late = hub.viewer_join(t0).unwrap();
        hub.probe_frame(p, FrameKind::L7Batch, l7("n1", 4), t0)
            .unwrap();
        hub.flush(t0);
        assert_eq!(l7_seqs(&drain(&mut hub, early)), vec![0, 1, 2, 3, 4]);
        assert_eq!(l7_seqs(&drain(&mut hub, late)), vec![0, 1, 2, 3, 4]);
    }
}
