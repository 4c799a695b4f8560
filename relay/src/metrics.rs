//! Relay counters and their Prometheus text rendering (sans-IO).

use std::fmt::Write;

use wiremap_wire::FrameKind;

use crate::close_reason::CloseWhy;

/// Number of frame kind codes tracked (codes 1..=7; index 0 unused).
const KINDS: usize = 8;

/// Which endpoint a connection came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Probe = 0,
    Viewer = 1,
}

impl Endpoint {
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Probe => "probe",
            Endpoint::Viewer => "viewer",
        }
    }
}

/// Why a frame did not reach a viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropWhy {
    /// An L7 batch found the viewer's queue full.
    QueueFull = 0,
    /// An L4 snapshot, inventory or stats frame replaced by a newer one.
    Coalesced = 1,
    /// A control frame above the queue's hard cap.
    HardCap = 2,
}

impl DropWhy {
    const ALL: [DropWhy; 3] = [DropWhy::QueueFull, DropWhy::Coalesced, DropWhy::HardCap];
    fn label(self) -> &'static str {
        match self {
            DropWhy::QueueFull => "viewer_queue_full",
            DropWhy::Coalesced => "coalesced",
            DropWhy::HardCap => "hard_cap",
        }
    }
}

/// Why a connection was refused before the WebSocket upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefuseWhy {
    Unauthorized = 0,
    TooMany = 1,
    ShuttingDown = 2,
}

impl RefuseWhy {
    const ALL: [RefuseWhy; 3] = [
        RefuseWhy::Unauthorized,
        RefuseWhy::TooMany,
        RefuseWhy::ShuttingDown,
    ];
    fn label(self) -> &'static str {
        match self {
            RefuseWhy::Unauthorized => "unauthorized",
            RefuseWhy::TooMany => "too_many",
            RefuseWhy::ShuttingDown => "shutting_down",
        }
    }
}

/// Cumulative counters. Gauges (connections, queue depths) are computed
/// from the hub when rendering.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub frames_in: [u64; KINDS],
    pub bytes_in: [u64; KINDS],
    pub frames_out: [u64; KINDS],
    pub bytes_out: [u64; KINDS],
    drops: [u64; 3],
    drop_bytes: [u64; 3],
    refused: [[u64; 3]; 2],
    closed: [[u64; CloseWhy::ALL.len()]; 2],
    pub filters_accepted: u64,
    pub filters_rejected: u64,
    pub probes_connected: u64,
    pub viewers_connected: u64,
}

impl Counters {
    pub fn frame_in(&mut self, kind: FrameKind, len: usize) {
        self.frames_in[kind as usize] += 1;
        self.bytes_in[kind as usize] += len as u64;
    }

    pub fn frame_out(&mut self, kind: FrameKind, len: usize) {
        self.frames_out[kind as usize] += 1;
        self.bytes_out[kind as usize] += len as u64;
    }

    /// `n` frames of `len` bytes in all (a chunk of L7 batches).
    pub fn frames_out_n(&mut self, kind: FrameKind, n: u64, len: usize) {
        self.frames_out[kind as usize] += n;
        self.bytes_out[kind as usize] += len as u64;
    }

    pub fn dropped(&mut self, why: DropWhy, len: usize) {
        self.dropped_n(why, 1, len);
    }

    /// `n` frames of `len` bytes in all (a chunk of L7 batches).
    pub fn dropped_n(&mut self, why: DropWhy, n: u64, len: usize) {
        self.drops[why as usize] += n;
        self.drop_bytes[why as usize] += len as u64;
    }

    pub fn drops(&self, why: DropWhy) -> u64 {
        self.drops[why as usize]
    }

    pub fn refused(&mut self, endpoint: Endpoint, why: RefuseWhy) {
        self.refused[endpoint as usize][why as usize] += 1;
    }

    pub fn refusals(&self, endpoint: Endpoint, why: RefuseWhy) -> u64 {
        self.refused[endpoint as usize][why as usize]
    }

    pub fn closed(&mut self, endpoint: Endpoint, why: CloseWhy) {
        self.closed[endpoint as usize][why.index()] += 1;
    }

    pub fn closes(&self, endpoint: Endpoint, why: CloseWhy) -> u64 {
        self.closed[endpoint as usize][why.index()]
    }
}

/// Gauges sampled from the hub at render time.
#[derive(Debug, Default, Clone)]
pub struct Gauges {
    pub probes: usize,
    pub viewers: usize,
    pub queue_bytes_sum: usize,
    pub queue_bytes_max: usize,
    pub queue_frames_sum: usize,
    pub queue_cap_bytes: usize,
    pub replay_bytes: usize,
    pub filter_revision: u64,
    /// (node, frames in, bytes in) per connected probe.
    pub per_probe: Vec<(String, u64, u64)>,
}

fn escape(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    for c in label.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Renders everything in the Prometheus text exposition format.
pub fn render(c: &Counters, g: &Gauges) -> String {
    let mut o = String::with_capacity(4096);
    let gauges: [(&str, &str, u64); 8] = [
        ("wiremap_relay_probes", "connected probes", g.probes as u64),
        (
            "wiremap_relay_viewers",
            "connected viewers",
            g.viewers as u64,
        ),
        (
            "wiremap_relay_viewer_queue_bytes_max",
            "largest viewer outbound queue (queued + in flight)",
            g.queue_bytes_max as u64,
        ),
        (
            "wiremap_relay_viewer_queue_bytes_sum",
            "all viewer outbound queues (queued + in flight)",
            g.queue_bytes_sum as u64,
        ),
        (
            "wiremap_relay_viewer_queue_frames_sum",
            "frames waiting in all viewer queues",
            g.queue_frames_sum as u64,
        ),
        (
            "wiremap_relay_viewer_queue_cap_bytes",
            "per-viewer queue cap for L7 batches",
            g.queue_cap_bytes as u64,
        ),
        (
            "wiremap_relay_replay_bytes",
            "bytes held by the L7 replay ring",
            g.replay_bytes as u64,
        ),
        (
            "wiremap_relay_capture_filter_revision",
            "revision of the current capture filter",
            g.filter_revision,
        ),
    ];
    for (name, help, v) in gauges {
        head(&mut o, name, "gauge", help);
        let _ = writeln!(o, "{name} {v}");
    }
    let by_kind: [(&str, &str, &[u64; KINDS]); 4] = [
        (
            "wiremap_relay_frames_in_total",
            "frames received from probes and viewers",
            &c.frames_in,
        ),
        (
            "wiremap_relay_bytes_in_total",
            "bytes received from probes and viewers",
            &c.bytes_in,
        ),
        (
            "wiremap_relay_frames_out_total",
            "frames handed to viewer connections",
            &c.frames_out,
        ),
        (
            "wiremap_relay_bytes_out_total",
            "bytes handed to viewer connections",
            &c.bytes_out,
        ),
    ];
    for (name, help, values) in by_kind {
        head(&mut o, name, "counter", help);
        for kind in FrameKind::ALL {
            let _ = writeln!(
                o,
                "{name}{{kind=\"{}\"}} {}",
                kind.name(),
                values[kind as usize]
            );
        }
    }
    head(
        &mut o,
        "wiremap_relay_dropped_total",
        "counter",
        "frames not delivered to a viewer",
    );
    for why in DropWhy::ALL {
        let _ = writeln!(
            o,
            "wiremap_relay_dropped_total{{reason=\"{}\"}} {}",
            why.label(),
            c.drops[why as usize]
        );
    }
    head(
        &mut o,
        "wiremap_relay_dropped_bytes_total",
        "counter",
        "bytes not delivered to a viewer",
    );
    for why in DropWhy::ALL {
        let _ = writeln!(
            o,
            "wiremap_relay_dropped_bytes_total{{reason=\"{}\"}} {}",
            why.label(),
            c.drop_bytes[why as usize]
        );
    }
    head(
        &mut o,
        "wiremap_relay_refused_total",
        "counter",
        "connections refused before the upgrade",
    );
    for ep in [Endpoint::Probe, Endpoint::Viewer] {
        for why in RefuseWhy::ALL {
            let _ = writeln!(
                o,
                "wiremap_relay_refused_total{{endpoint=\"{}\",reason=\"{}\"}} {}",
                ep.label(),
                why.label(),
                c.refusals(ep, why)
            );
        }
    }
    head(
        &mut o,
        "wiremap_relay_closed_total",
        "counter",
        "connections closed by the relay",
    );
    for ep in [Endpoint::Probe, Endpoint::Viewer] {
        for why in CloseWhy::ALL {
            let _ = writeln!(
                o,
                "wiremap_relay_closed_total{{endpoint=\"{}\",reason=\"{}\"}} {}",
                ep.label(),
                why.label(),
                c.closes(ep, why)
            );
        }
    }
    head(
        &mut o,
        "wiremap_relay_connections_total",
        "counter",
        "accepted WebSocket connections",
    );
    let _ = writeln!(
        o,
        "wiremap_relay_connections_total{{endpoint=\"probe\"}} {}",
        c.probes_connected
    );
    let _ = writeln!(
        o,
        "wiremap_relay_connections_total{{endpoint=\"viewer\"}} {}",
        c.viewers_connected
    );
    head(
        &mut o,
        "wiremap_relay_capture_filters_total",
        "counter",
        "capture filters received from viewers",
    );
    let _ = writeln!(
        o,
        "wiremap_relay_capture_filters_total{{result=\"accepted\"}} {}",
        c.filters_accepted
    );
    let _ = writeln!(
        o,
        "wiremap_relay_capture_filters_total{{result=\"rejected\"}} {}",
        c.filters_rejected
    );
    head(
        &mut o,
        "wiremap_relay_probe_frames_in_total",
        "counter",
        "frames received per connected probe",
    );
    for (node, frames, _) in &g.per_probe {
        let _ = writeln!(
            o,
            "wiremap_relay_probe_frames_in_total{{node=\"{}\"}} {frames}",
            escape(node)
        );
    }
    head(
        &mut o,
        "wiremap_relay_probe_bytes_in_total",
        "counter",
        "bytes received per connected probe",
    );
    for (node, _, bytes) in &g.per_probe {
        let _ = writeln!(
            o,
            "wiremap_relay_probe_bytes_in_total{{node=\"{}\"}} {bytes}",
            escape(node)
        );
    }
    o
}

/// Reads one sample (`name` with exact label text, e.g.
/// `wiremap_relay_dropped_total{reason="viewer_queue_full"}`) from rendered
/// metrics. Used by tests and the load generator.
pub fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_parsable_samples() {
        let mut c = Counters::default();
        c.frame_in(FrameKind::L7Batch, 100);
        c.frame_in(FrameKind::L7Batch, 50);
        c.dropped(DropWhy::QueueFull, 10);
        c.refused(Endpoint::Probe, RefuseWhy::Unauthorized);
        let g = Gauges {
            probes: 2,
            per_probe: vec![("we\"ird\nnode".into(), 3, 4)],
            ..Gauges::default()
        };
        let text = render(&c, &g);
        assert_eq!(sample(&text, "wiremap_relay_probes"), Some(2));
        assert_eq!(
            sample(&text, "wiremap_relay_bytes_in_total{kind=\"l7_batch\"}"),
            Some(150)
        );
        assert_eq!(
            sample(&text, "wiremap_relay_frames_in_total{kind=\"l7_batch\"}"),
            Some(2)
        );
        assert_eq!(
            sample(
                &text,
                "wiremap_relay_dropped_total{reason=\"viewer_queue_full\"}"
            ),
            Some(1)
        );
        assert_eq!(
            sample(
                &text,
                "wiremap_relay_refused_total{endpoint=\"probe\",reason=\"unauthorized\"}"
            ),
            Some(1)
        );
        assert!(text.contains("node=\"we\\\"ird\\nnode\"} 3"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<u64>().is_ok(), "{line}");
        }
    }
}
