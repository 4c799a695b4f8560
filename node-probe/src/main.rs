//! `wiremap-probe`: the node probe's command line. Wires the sans-IO
//! pipeline to its shells: pcap files or AF_PACKET capture in, JSON lines
//! or the relay uplink out, Prometheus metrics on the side.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use tracing::{info, warn};
use wiremap_probe::identity::{IdentityMap, IdentitySource};
use wiremap_probe::jsonl;
use wiremap_probe::live::{self, CaptureKind, LiveConfig};
use wiremap_probe::metrics::MetricsServer;
use wiremap_probe::pcap::{Capture, ChunkInput, Input, ReplayClock, READ_CHUNK};
use wiremap_probe::pipeline::{Output, Pipeline, PipelineConfig};
use wiremap_probe::topology::Topology;
use wiremap_probe::uplink::{Uplink, UplinkConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputKind {
    Jsonl,
    Relay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// wiremap node probe: L4 flows and L7 entries of this node's pods.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// This node's name (default: the hostname).
    #[arg(long, env = "WIREMAP_NODE")]
    node: Option<String>,
    /// Capture on this interface (repeatable); overrides the regexes.
    #[arg(long = "interface")]
    interfaces: Vec<String>,
    /// Capture on interfaces whose name matches this regex.
    #[arg(long, default_value = "^(veth|cali|cni|flannel|eth|ens|enp)")]
    interface_include: String,
    /// Skip interfaces whose name matches this regex.
    #[arg(long, default_value = "^(lo|docker)$")]
    interface_exclude: String,
    /// How packets are read: ring (PACKET_MMAP TPACKET_V3, the default;
    /// falls back to pnet when a ring cannot be set up) or pnet.
    #[arg(long, default_value = "ring")]
    capture: CaptureKind,
    /// Receive ring size per interface, MiB (ring capture): kernel memory
    /// taken for every captured interface. Unset: --ring-total-mb is shared.
    #[arg(long)]
    ring_mb: Option<u32>,
    /// Receive ring memory shared by all captured interfaces when --ring-mb
    /// is not given, MiB: an equal share each, between 4 and 64 MiB.
    #[arg(long, default_value_t = 256)]
    ring_total_mb: u32,
    /// Read this pcap or pcapng file instead of capturing.
    #[arg(long)]
    pcap: Option<PathBuf>,
    /// With --pcap: pace packets by their timestamps, shifted so the first
    /// packet is now (the shifted timestamps stay the only clock).
    #[arg(long, requires = "pcap")]
    pcap_realtime: bool,
    /// With --pcap: replay the file until stopped, each pass shifted later by
    /// the capture's span; every flow ends at the end of a pass.
    #[arg(long, requires = "pcap")]
    pcap_loop: bool,
    /// Identities from this YAML topology file.
    #[arg(long)]
    topology: Option<PathBuf>,
    /// Where identities come from. auto: --topology if given, else the
    /// Kubernetes API (for live capture, or when --kubeconfig is given),
    /// else none (a capture file alone: every address external).
    #[arg(long, value_enum, default_value = "auto")]
    identity: IdentityFrom,
    /// Kubeconfig for the Kubernetes API (default: $KUBECONFIG or
    /// ~/.kube/config, then the in-cluster service account).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: its current context).
    #[arg(long)]
    kube_context: Option<String>,
    /// Seconds to wait for the first full list of pods, services,
    /// endpointslices and nodes before giving up.
    #[arg(long, default_value_t = 60)]
    kube_sync_timeout: u64,
    /// Relay URL, e.g. ws://relay:8080/ws/probe.
    #[arg(long)]
    relay: Option<String>,
    /// Bearer token for the relay.
    #[arg(long, env = "WIREMAP_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Where results go (default: relay when --relay is given, else jsonl).
    #[arg(long, value_enum)]
    output: Option<OutputKind>,
    /// Seconds between L4 snapshots.
    #[arg(long, default_value_t = 1.0)]
    snapshot_interval: f64,
    /// Serve Prometheus metrics on this address (e.g. 0.0.0.0:9090).
    #[arg(long)]
    metrics_listen: Option<String>,
    /// Keep credential headers and cookies in entries.
    #[arg(long)]
    no_redact: bool,
    /// Drop a packet seen again within this many ms (default 2 live, 0 offline).
    #[arg(long)]
    dedupe_window_ms: Option<f64>,
    /// Most flows tracked at once.
    #[arg(long, default_value_t = 262_144)]
    max_flows: usize,
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown-node".into())
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => b.init(),
        LogFormat::Json => b.json().init(),
    }
}

/// Where pipeline outputs go.
enum Sink {
    Jsonl(BufWriter<std::io::Stdout>),
    Relay(Uplink),
}

impl Sink {
    fn push(&mut self, node: &str, outs: &mut Vec<Output>) -> Result<()> {
        match self {
            Sink::Jsonl(w) => {
                for o in outs.iter() {
                    jsonl::write_output(w, node, o).context("writing to stdout")?;
                }
                w.flush().context("writing to stdout")?;
            }
            Sink::Relay(u) => {
                for o in outs.iter() {
                    if let Output::Frame(f) = o {
                        u.send(f);
                    }
                }
            }
        }
        outs.clear();
        Ok(())
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    init_logs(args.log_format);
    let node = args.node.clone().unwrap_or_else(hostname);
    let epoch = now_us();
    let (ids, mut identity_source) = identities(&args)?;
    if !(args.snapshot_interval > 0.0 && args.snapshot_interval <= 3600.0) {
        bail!("--snapshot-interval must be in (0, 3600] seconds");
    }
    let mut cfg = PipelineConfig::new(&node, epoch);
    cfg.snapshot_interval_us = (args.snapshot_interval * 1e6) as i64;
    cfg.redact = !args.no_redact;
    cfg.flows.max_flows = args.max_flows.max(1);
    let default_dedupe = if args.pcap.is_some() { 0.0 } else { 2.0 };
    cfg.dedupe_window_us = (args.dedupe_window_ms.unwrap_or(default_dedupe) * 1000.0) as i64;
    let output = args.output.unwrap_or(if args.relay.is_some() {
        OutputKind::Relay
    } else {
        OutputKind::Jsonl
    });
    cfg.emit_flows = output == OutputKind::Jsonl;
    let mut pipeline = Pipeline::new(cfg, ids);

    let mut sink = match output {
        OutputKind::Jsonl => Sink::Jsonl(BufWriter::new(std::io::stdout())),
        OutputKind::Relay => {
            let Some(url) = args.relay.clone() else {
                bail!("--output relay needs --relay URL");
            };
            let Frame::Inventory(inv) = pipeline.inventory() else {
                bail!("inventory frame");
            };
            Sink::Relay(Uplink::start(UplinkConfig::new(
                url,
                args.token.clone(),
                pipeline.hello(),
                wiremap_wire::Frame::Inventory(inv),
            ))?)
        }
    };
    let metrics = match &args.metrics_listen {
        Some(addr) => {
            Some(MetricsServer::start(addr).with_context(|| format!("metrics on {addr}"))?)
        }
        None => None,
    };

    if let Some(path) = &args.pcap {
        let replay = Replay {
            realtime: args.pcap_realtime,
            looped: args.pcap_loop,
        };
        replay_pcap(
            path,
            replay,
            &node,
            &mut pipeline,
            &mut sink,
            metrics.as_ref(),
        )?;
        info!(counters = ?pipeline.counters(), "end of capture file");
        if let Sink::Relay(u) = sink {
            u.shutdown(Duration::from_secs(5));
        }
        return Ok(());
    }

    let live_cfg = LiveConfig {
        interfaces: args.interfaces.clone(),
        include: args.interface_include.clone(),
        exclude: args.interface_exclude.clone(),
        capture: args.capture,
        ring: wiremap_probe::ring::RingConfig {
            ring_mb: args.ring_mb.unwrap_or(wiremap_probe::ring::DEFAULT_RING_MB),
            ..Default::default()
        },
        ring_total_mb: args.ring_mb.is_none().then_some(args.ring_total_mb),
    };
    let capture = live::Capture::start(&live_cfg)?;
    info!(node = %node, interfaces = ?capture.interfaces(), "capturing");
    let mut outs = Vec::new();
    let stop = live::stop_flag();
    loop {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        if let Some(ids) = identity_source.as_mut().and_then(|s| s.poll()) {
            pipeline.set_identities(ids, &mut outs);
        }
        if let Sink::Relay(u) = &sink {
            while let Some(f) = u.try_filter() {
                match pipeline.set_capture_filter(&f) {
                    Ok(()) => info!(revision = f.revision, "capture filter applied"),
                    Err(e) => warn!("capture filter refused: {e}"),
                }
            }
            pipeline
                .set_extra_counters(capture.counters().into_iter().chain(u.counters()).collect());
        } else {
            pipeline.set_extra_counters(capture.counters());
        }
        match capture.recv(Duration::from_millis(20)) {
            Some(batch) => {
                for p in batch.iter() {
                    pipeline.on_frame(p.ts_us, Some(p.link), p.data, &mut outs);
                }
                capture.recycle(batch);
            }
            None => pipeline.tick(now_us() as i64, &mut outs),
        }
        if !outs.is_empty() {
            if let Some(m) = &metrics {
                if outs
                    .iter()
                    .any(|o| matches!(o, Output::Frame(wiremap_wire::Frame::ProbeStats(_))))
                {
                    m.publish(pipeline.counters());
                }
            }
            sink.push(&node, &mut outs)?;
        }
    }
    pipeline.finish(&mut outs);
    sink.push(&node, &mut outs)?;
    if let Sink::Relay(u) = sink {
        u.shutdown(Duration::from_secs(2));
    }
    Ok(())
}

use wiremap_wire::Frame;

/// How a capture file is read: once at full speed (the default), paced by
/// its timestamps, and/or looped.
#[derive(Debug, Clone, Copy)]
struct Replay {
    realtime: bool,
    looped: bool,
}

/// Longest sleep between two looks at the relay and the stop flag while a
/// paced replay waits for its next packet.
const REPLAY_WAIT_STEP: Duration = Duration::from_millis(50);

/// Reads `path` through the pipeline, once or in passes (see
/// [`wiremap_probe::pcap::ReplayClock`]). Each pass ends with
/// [`Pipeline::finish`], so every flow and connection ends and the next pass
/// is new traffic rather than a continuation of reused connections.
fn replay_pcap(
    path: &std::path::Path,
    replay: Replay,
    node: &str,
    pipeline: &mut Pipeline,
    sink: &mut Sink,
    metrics: Option<&MetricsServer>,
) -> Result<()> {
    let stop = (replay.realtime || replay.looped).then(live::stop_flag);
    let stopped = || {
        stop.as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
    };
    let mut clock = ReplayClock::new(replay.realtime.then(|| now_us() as i64));
    let mut outs = Vec::new();
    loop {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        // Read a quarter MiB at a time into one buffer, records parsed where
        // they land (`pcap::ChunkInput`): files, pipes and devices alike. This
        // measured faster than parsing in place from a memory map (a mapped
        // reader, since removed): faulting the file's pages in and releasing
        // them again cost more than `read` copying into a buffer that stays
        // in cache (docs/bench/probe.md, 2026-11-27 re-run).
        let input = ChunkInput::with_capacity(READ_CHUNK, file);
        let mut reader = Capture::with_input(input)?;
        let packets = replay_pass(
            &mut reader,
            replay,
            &stopped,
            &mut clock,
            node,
            pipeline,
            sink,
        )?;
        pipeline.finish(&mut outs);
        sink.push(node, &mut outs)?;
        if let Some(m) = metrics {
            m.publish(pipeline.counters());
        }
        if !replay.looped || stopped() {
            return Ok(());
        }
        if packets == 0 {
            bail!("{} holds no packets to loop over", path.display());
        }
        clock.next_pass();
        info!(pass = clock.passes(), "capture replayed, starting over");
    }
}

/// One pass over a capture file: every record through the pipeline (paced
/// when asked), until the end of the file or a stop. Returns the records
/// read.
fn replay_pass<I: Input>(
    reader: &mut Capture<I>,
    replay: Replay,
    stopped: &dyn Fn() -> bool,
    clock: &mut ReplayClock,
    node: &str,
    pipeline: &mut Pipeline,
    sink: &mut Sink,
) -> Result<u64> {
    let mut outs = Vec::new();
    let mut packets = 0u64;
    loop {
        if stopped() {
            break;
        }
        apply_filters(sink, pipeline);
        let Some(rec) = reader.next_record()? else {
            break;
        };
        packets += 1;
        let ts = clock.map(rec.ts_us);
        if replay.realtime {
            // Wait until the packet is due, keeping timers and the
            // relay's filters alive meanwhile.
            loop {
                let now = now_us() as i64;
                if now >= ts || stopped() {
                    break;
                }
                let wait = Duration::from_micros((ts - now) as u64).min(REPLAY_WAIT_STEP);
                std::thread::sleep(wait);
                pipeline.tick((now_us() as i64).min(ts), &mut outs);
                apply_filters(sink, pipeline);
                if !outs.is_empty() {
                    sink.push(node, &mut outs)?;
                }
            }
        }
        pipeline.on_frame(ts, rec.link, rec.data, &mut outs);
        if !outs.is_empty() {
            sink.push(node, &mut outs)?;
        }
    }
    Ok(packets)
}

/// Applies capture filters the relay sent since the last call.
fn apply_filters(sink: &Sink, pipeline: &mut Pipeline) {
    if let Sink::Relay(u) = sink {
        while let Some(f) = u.try_filter() {
            match pipeline.set_capture_filter(&f) {
                Ok(()) => info!(revision = f.revision, "capture filter applied"),
                Err(e) => warn!("capture filter refused: {e}"),
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum IdentityFrom {
    Auto,
    Topology,
    Kubernetes,
    None,
}

/// The first identity map, and the source of later ones (the Kubernetes
/// API; a topology file never changes).
fn identities(args: &Args) -> Result<(IdentityMap, Option<Box<dyn IdentitySource>>)> {
    let from = match args.identity {
        IdentityFrom::Auto if args.topology.is_some() => IdentityFrom::Topology,
        IdentityFrom::Auto if args.kubeconfig.is_some() || args.pcap.is_none() => {
            IdentityFrom::Kubernetes
        }
        IdentityFrom::Auto => IdentityFrom::None,
        f => f,
    };
    match from {
        IdentityFrom::Topology => {
            let Some(p) = &args.topology else {
                bail!("--identity topology needs --topology FILE");
            };
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Ok((Topology::parse(&text)?.identities(), None))
        }
        IdentityFrom::Kubernetes => kube_identities(args),
        IdentityFrom::None | IdentityFrom::Auto => Ok((IdentityMap::new(), None)),
    }
}

#[cfg(feature = "kube")]
fn kube_identities(args: &Args) -> Result<(IdentityMap, Option<Box<dyn IdentitySource>>)> {
    use wiremap_probe::kube::{KubeOptions, KubeSource};
    let hint = "identities from the Kubernetes API (without a cluster: --topology FILE, \
                or --identity none)";
    let opts = KubeOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.kube_context.clone(),
        ..KubeOptions::default()
    };
    let mut src = KubeSource::start(&opts).context(hint)?;
    let ids = src
        .wait_ready(Duration::from_secs(args.kube_sync_timeout.max(1)))
        .context(hint)?;
    Ok((ids, Some(Box::new(src))))
}

#[cfg(not(feature = "kube"))]
fn kube_identities(_: &Args) -> Result<(IdentityMap, Option<Box<dyn IdentitySource>>)> {
    bail!(
        "this probe was built without the `kube` feature: give --topology FILE, \
         or --identity none"
    )
}
