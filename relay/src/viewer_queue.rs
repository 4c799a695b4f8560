//! One viewer's bounded outbound queue (sans-IO).
//!
//! Frames wait here until the viewer's connection task takes them. The queue
//! is bounded in bytes: L7 batches that do not fit are dropped and counted;
//! L4 snapshots, inventories and probe stats are coalesced per probe (a newer
//! one replaces the queued one); other control frames may use a little
//! headroom above the cap (`hard_cap`) and are dropped above it.
//!
//! L7 batches usually arrive as one shared chunk of several batches, already
//! encoded as WebSocket frames ([`ViewerQueue::push_chunk`]): the chunk is
//! queued or dropped whole, and a dropped chunk counts as all its batches.
//! Sizes and caps are payload bytes (WebSocket headers are not counted).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use wiremap_wire::FrameKind;

/// Identifies a probe connection inside the hub.
pub type ProbeId = u64;

#[derive(Debug)]
struct Queued {
    frame: Bytes,
    kind: FrameKind,
    seq: u64,
    /// Payload bytes (for a chunk: of all its batches).
    len: usize,
    /// `None`: one frame's payload, still to be framed for the socket;
    /// `Some(n)`: a chunk of `n` L7 batches already framed.
    chunk: Option<u32>,
}

/// A frame or chunk handed to the connection task by [`ViewerQueue::take`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub kind: FrameKind,
    /// One frame's payload, or a chunk of complete WebSocket frames.
    pub bytes: Bytes,
    /// Payload bytes.
    pub len: usize,
    /// `None` for a single frame, `Some(batches)` for a pre-framed chunk.
    pub chunk: Option<u32>,
}

/// What happened to a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Appended; `was_empty` tells whether the consumer must be woken.
    Queued { was_empty: bool },
    /// Replaced an older frame of the same kind from the same probe.
    Coalesced { replaced_bytes: usize },
    /// Not queued: the queue is full.
    Dropped,
}

/// One viewer's outbound queue.
#[derive(Debug)]
pub struct ViewerQueue {
    items: VecDeque<Queued>,
    /// `seq` of `items[0]` (when not empty); every push gets the next seq.
    next_seq: u64,
    /// Coalescible frames in the queue: (probe, kind, seq).
    slots: Vec<(ProbeId, FrameKind, u64)>,
    queued_bytes: usize,
    /// Frames waiting (a chunk counts as its batches).
    queued_frames: usize,
    /// Bytes of the last batch handed to the connection task.
    inflight_bytes: usize,
    cap: usize,
    hard_cap: usize,
    dropped_l7: u64,
    dropped_bytes: u64,
    /// `dropped_l7` when the last Dropped notice was produced.
    noticed_l7: u64,
    /// Since when pushes have been refused without the consumer taking anything.
    full_since: Option<Instant>,
}

impl ViewerQueue {
    /// A queue that admits L7 batches up to `cap` bytes and control frames up
    /// to `hard_cap` bytes (`hard_cap >= cap`).
    pub fn new(cap: usize, hard_cap: usize) -> Self {
        ViewerQueue {
            items: VecDeque::new(),
            next_seq: 0,
            slots: Vec::new(),
            queued_bytes: 0,
            queued_frames: 0,
            inflight_bytes: 0,
            cap,
            hard_cap: hard_cap.max(cap),
            dropped_l7: 0,
            dropped_bytes: 0,
            noticed_l7: 0,
            full_since: None,
        }
    }

    /// Bytes waiting in the queue plus bytes of the batch being sent.
    pub fn depth(&self) -> usize {
        self.queued_bytes + self.inflight_bytes
    }

    /// Items waiting in the queue (a chunk is one item).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Frames waiting, counting each batch of a chunk.
    pub fn frames(&self) -> usize {
        self.queued_frames
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// (L7 batches, bytes) dropped so far.
    pub fn dropped(&self) -> (u64, u64) {
        (self.dropped_l7, self.dropped_bytes)
    }

    /// Whether drops happened since the last call; marks them as reported.
    pub fn take_drop_notice(&mut self) -> Option<(u64, u64)> {
        if self.dropped_l7 > self.noticed_l7 {
            self.noticed_l7 = self.dropped_l7;
            Some((self.dropped_l7, self.dropped_bytes))
        } else {
            None
        }
    }

    /// True when pushes have been refused for at least `timeout` without the
    /// consumer taking anything.
    pub fn stalled(&self, now: Instant, timeout: std::time::Duration) -> bool {
        self.full_since
            .is_some_and(|since| now.saturating_duration_since(since) >= timeout)
    }

    fn head_seq(&self) -> u64 {
        self.next_seq - self.items.len() as u64
    }

    fn append(&mut self, frame: Bytes, kind: FrameKind) -> u64 {
        let len = frame.len();
        self.append_item(frame, kind, len, None)
    }

    fn append_item(
        &mut self,
        frame: Bytes,
        kind: FrameKind,
        len: usize,
        chunk: Option<u32>,
    ) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queued_bytes += len;
        self.queued_frames += chunk.map_or(1, |n| n as usize);
        self.items.push_back(Queued {
            frame,
            kind,
            seq,
            len,
            chunk,
        });
        seq
    }

    fn refuse(&mut self, now: Instant) {
        if self.full_since.is_none() {
            self.full_since = Some(now);
        }
    }

    /// Queues an L7 batch, or drops it (counted) when it does not fit.
    pub fn push_l7(&mut self, frame: Bytes, now: Instant) -> Admit {
        if self.depth() + frame.len() > self.cap {
            self.dropped_l7 += 1;
            self.dropped_bytes += frame.len() as u64;
            self.refuse(now);
            return Admit::Dropped;
        }
        let was_empty = self.items.is_empty();
        self.append(frame, FrameKind::L7Batch);
        Admit::Queued { was_empty }
    }

    /// Queues a chunk of `batches` L7 batches (`len` payload bytes) already
    /// framed for the socket, or drops it whole (counted as its batches) when
    /// it does not fit.
    pub fn push_chunk(&mut self, chunk: Bytes, batches: u32, len: usize, now: Instant) -> Admit {
        if self.depth() + len > self.cap {
            self.dropped_l7 += u64::from(batches);
            self.dropped_bytes += len as u64;
            self.refuse(now);
            return Admit::Dropped;
        }
        let was_empty = self.items.is_empty();
        self.append_item(chunk, FrameKind::L7Batch, len, Some(batches));
        Admit::Queued { was_empty }
    }

    /// Queues a frame that only matters in its newest version per probe
    /// (L4 snapshot, inventory, probe stats): replaces a queued one from the
    /// same probe, else appends within the hard cap (an empty queue always
    /// takes one, so a single big snapshot is never starved).
    pub fn push_latest(
        &mut self,
        probe: ProbeId,
        kind: FrameKind,
        frame: Bytes,
        now: Instant,
    ) -> Admit {
        let head = self.head_seq();
        if let Some(&(_, _, seq)) = self
            .slots
            .iter()
            .find(|(p, k, _)| *p == probe && *k == kind)
        {
            if let Some(item) = seq
                .checked_sub(head)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| self.items.get_mut(i))
            {
                let replaced_bytes = item.len;
                self.queued_bytes = self.queued_bytes - replaced_bytes + frame.len();
                item.len = frame.len();
                item.frame = frame;
                return Admit::Coalesced { replaced_bytes };
            }
        }
        let was_empty = self.items.is_empty();
        if !was_empty && self.depth() + frame.len() > self.hard_cap {
            self.refuse(now);
            return Admit::Dropped;
        }
        let seq = self.append(frame, kind);
        self.slots.retain(|(p, k, _)| !(*p == probe && *k == kind));
        self.slots.push((probe, kind, seq));
        Admit::Queued { was_empty }
    }

    /// Queues a control frame (notice, capture filter) within the hard cap.
    pub fn push_control(&mut self, frame: Bytes, kind: FrameKind, now: Instant) -> Admit {
        let was_empty = self.items.is_empty();
        if !was_empty && self.depth() + frame.len() > self.hard_cap {
            self.refuse(now);
            return Admit::Dropped;
        }
        self.append(frame, kind);
        Admit::Queued { was_empty }
    }

    /// Moves up to `max` frames or chunks from the front into `out`; they
    /// count as in flight until the next take. Taking is progress: it ends a
    /// stall.
    pub fn take(&mut self, max: usize, out: &mut Vec<Taken>) {
        let mut taken = 0usize;
        for _ in 0..max {
            let Some(item) = self.items.pop_front() else {
                break;
            };
            self.queued_bytes -= item.len;
            self.queued_frames -= item.chunk.map_or(1, |n| n as usize);
            if !self.slots.is_empty() {
                self.slots.retain(|(_, _, seq)| *seq != item.seq);
            }
            taken += item.len;
            out.push(Taken {
                kind: item.kind,
                bytes: item.frame,
                len: item.len,
                chunk: item.chunk,
            });
        }
        self.inflight_bytes = taken;
        self.full_since = None;
    }

    /// Empties the queue (used when the viewer is disconnected).
    pub fn clear(&mut self) {
        self.items.clear();
        self.slots.clear();
        self.queued_bytes = 0;
        self.queued_frames = 0;
        self.inflight_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn frame(kind: FrameKind, len: usize, tag: u8) -> Bytes {
        let mut v = vec![tag; len];
        v[..4].copy_from_slice(&[wiremap_wire::MAGIC, wiremap_wire::VERSION, kind as u8, 0]);
        Bytes::from(v)
    }

    fn take_all(q: &mut ViewerQueue) -> Vec<(FrameKind, Bytes)> {
        let mut out = Vec::new();
        q.take(usize::MAX, &mut out);
        out.into_iter().map(|t| (t.kind, t.bytes)).collect()
    }

    #[test]
    fn l7_beyond_cap_is_dropped_and_counted() {
        let now = Instant::now();
        let mut q = ViewerQueue::new(1000, 2000);
        for i in 0..10 {
            q.push_l7(frame(FrameKind::L7Batch, 200, i), now);
        }
        assert_eq!(q.len(), 5);
        assert_eq!(q.depth(), 1000);
        assert_eq!(q.dropped(), (5, 1000));
        assert_eq!(q.take_drop_notice(), Some((5, 1000)));
        assert_eq!(q.take_drop_notice(), None);
        let out = take_all(&mut q);
        let tags: Vec<u8> = out.iter().map(|(_, b)| b[10]).collect();
        assert_eq!(tags, vec![0, 1, 2, 3, 4]);
        // in flight still counts against the cap until the next take
        assert_eq!(
            q.push_l7(frame(FrameKind::L7Batch, 200, 9), now),
            Admit::Dropped
        );
        take_all(&mut q);
        assert!(matches!(
            q.push_l7(frame(FrameKind::L7Batch, 200, 9), now),
            Admit::Queued { was_empty: true }
        ));
    }

    #[test]
    fn latest_frames_coalesce_per_probe_and_kind() {
        let now = Instant::now();
        let mut q = ViewerQueue::new(10_000, 20_000);
        q.push_l7(frame(FrameKind::L7Batch, 50, 1), now);
        q.push_latest(
            1,
            FrameKind::L4Snapshot,
            frame(FrameKind::L4Snapshot, 100, 2),
            now,
        );
        q.push_latest(
            2,
            FrameKind::L4Snapshot,
            frame(FrameKind::L4Snapshot, 100, 3),
            now,
        );
        q.push_latest(
            1,
            FrameKind::Inventory,
            frame(FrameKind::Inventory, 100, 4),
            now,
        );
        let a = q.push_latest(
            1,
            FrameKind::L4Snapshot,
            frame(FrameKind::L4Snapshot, 120, 5),
            now,
        );
        assert_eq!(
            a,
            Admit::Coalesced {
                replaced_bytes: 100
            }
        );
        assert_eq!(q.depth(), 50 + 120 + 100 + 100);
        let tags: Vec<u8> = take_all(&mut q).iter().map(|(_, b)| b[10]).collect();
        assert_eq!(tags, vec![1, 5, 3, 4]);
        // after the take, a new snapshot is appended, not coalesced into a sent one
        let a = q.push_latest(
            1,
            FrameKind::L4Snapshot,
            frame(FrameKind::L4Snapshot, 100, 6),
            now,
        );
        assert_eq!(a, Admit::Queued { was_empty: true });
    }

    #[test]
    fn coalescing_survives_partial_takes() {
        let now = Instant::now();
        let mut q = ViewerQueue::new(10_000, 20_000);
        for i in 0..3 {
            q.push_l7(frame(FrameKind::L7Batch, 10, i), now);
        }
        q.push_latest(
            7,
            FrameKind::L4Snapshot,
            frame(FrameKind::L4Snapshot, 10, 50),
            now,
        );
        let mut out = Vec::new();
        q.take(2, &mut out);
        q.push_latest(
            7,
            FrameKind::L4Snapshot,
            frame(FrameKind::L4Snapshot, 10, 51),
            now,
        );
        out.clear();
        q.take(10, &mut out);
        let tags: Vec<u8> = out.iter().map(|t| t.bytes[5]).collect();
        assert_eq!(tags, vec![2, 51]);
    }

    #[test]
    fn empty_queue_takes_one_oversized_snapshot_but_stays_bounded() {
        let now = Instant::now();
        let mut q = ViewerQueue::new(100, 200);
        assert!(matches!(
            q.push_latest(
                1,
                FrameKind::L4Snapshot,
                frame(FrameKind::L4Snapshot, 500, 0),
                now
            ),
            Admit::Queued { .. }
        ));
        assert_eq!(
            q.push_latest(
                2,
                FrameKind::L4Snapshot,
                frame(FrameKind::L4Snapshot, 50, 0),
                now
            ),
            Admit::Dropped
        );
        assert_eq!(
            q.push_control(
                frame(FrameKind::RelayNotice, 10, 0),
                FrameKind::RelayNotice,
                now
            ),
            Admit::Dropped
        );
    }

    #[test]
    fn stall_starts_at_first_refusal_and_ends_with_a_take() {
        let t0 = Instant::now();
        let timeout = Duration::from_secs(5);
        let mut q = ViewerQueue::new(100, 100);
        q.push_l7(frame(FrameKind::L7Batch, 100, 0), t0);
        assert!(!q.stalled(t0 + timeout * 10, timeout));
        q.push_l7(
            frame(FrameKind::L7Batch, 100, 0),
            t0 + Duration::from_secs(1),
        );
        assert!(!q.stalled(t0 + Duration::from_secs(5), timeout));
        assert!(q.stalled(t0 + Duration::from_secs(6), timeout));
        take_all(&mut q);
        assert!(!q.stalled(t0 + Duration::from_secs(60), timeout));
    }

    #[test]
    fn a_chunk_is_queued_or_dropped_whole_and_counts_as_its_batches() {
        let now = Instant::now();
        let mut q = ViewerQueue::new(1000, 2000);
        let chunk = Bytes::from(vec![0u8; 612]);
        // 3 batches of 200 payload bytes (framed: 3 * 204)
        assert_eq!(
            q.push_chunk(chunk.clone(), 3, 600, now),
            Admit::Queued { was_empty: true }
        );
        assert_eq!(q.depth(), 600, "caps count payload bytes");
        assert_eq!((q.len(), q.frames()), (1, 3));
        assert_eq!(q.push_chunk(chunk.clone(), 3, 600, now), Admit::Dropped);
        assert_eq!(q.dropped(), (3, 600));
        q.push_l7(frame(FrameKind::L7Batch, 300, 1), now);
        let mut out = Vec::new();
        q.take(usize::MAX, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].chunk, Some(3));
        assert_eq!(out[0].len, 600);
        assert_eq!(out[0].bytes, chunk);
        assert_eq!((out[1].chunk, out[1].len), (None, 300));
        // in flight until the next take
        assert_eq!(q.push_chunk(chunk.clone(), 3, 600, now), Admit::Dropped);
        assert_eq!(q.take_drop_notice(), Some((6, 1200)));
        q.take(usize::MAX, &mut out);
        assert!(matches!(
            q.push_chunk(chunk, 3, 600, now),
            Admit::Queued { was_empty: true }
        ));
    }
}
