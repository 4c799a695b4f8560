//! Command-line flags and `WIREMAP_RELAY_*` environment variables.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::hub::HubLimits;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// wiremap relay: fans probe frames out to browser tabs.
#[derive(Debug, Clone, Parser)]
#[command(name = "wiremap-relay", version, about)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "WIREMAP_RELAY_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: String,
    /// Shared token probes must present (`Authorization: Bearer …`).
    #[arg(long, env = "WIREMAP_RELAY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Accept probes without a token (development only).
    #[arg(long, env = "WIREMAP_RELAY_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
    /// Token viewers must present (`?token=` or `Authorization: Bearer …`); none by default.
    #[arg(long, env = "WIREMAP_RELAY_VIEWER_TOKEN", hide_env_values = true)]
    pub viewer_token: Option<String>,
    /// Directory of the built web app.
    #[arg(long, env = "WIREMAP_RELAY_STATIC_DIR", default_value = "web/dist")]
    pub static_dir: PathBuf,
    /// Value of `Content-Security-Policy: frame-ancestors …`.
    #[arg(long, env = "WIREMAP_RELAY_FRAME_ANCESTORS", default_value = "'self'")]
    pub frame_ancestors: String,
    /// File that keeps the capture filter across restarts.
    #[arg(long, env = "WIREMAP_RELAY_STATE_FILE")]
    pub state_file: Option<PathBuf>,
    /// Largest frame accepted from a probe or viewer, bytes.
    #[arg(long, env = "WIREMAP_RELAY_MAX_FRAME_BYTES", default_value_t = 4 << 20)]
    pub max_frame_bytes: usize,
    #[arg(long, env = "WIREMAP_RELAY_MAX_PROBES", default_value_t = 256)]
    pub max_probes: usize,
    #[arg(long, env = "WIREMAP_RELAY_MAX_VIEWERS", default_value_t = 1024)]
    pub max_viewers: usize,
    /// Per-viewer outbound queue for L7 batches, bytes.
    #[arg(long, env = "WIREMAP_RELAY_VIEWER_QUEUE_BYTES", default_value_t = 8 << 20)]
    pub viewer_queue_bytes: usize,
    /// A viewer whose queue stays full this long is disconnected (close 4001), ms.
    #[arg(long, env = "WIREMAP_RELAY_VIEWER_STALL_MS", default_value_t = 10_000)]
    pub viewer_stall_ms: u64,
    /// L7 batches arriving within this time of each other are fanned out
    /// together, as one chunk of frames shared by all viewers, so the
    /// batches of many probes share one wake-up and one socket write per
    /// viewer: adds at most this much latency and saves most of the
    /// per-delivery CPU under load (docs/bench/relay.md). A chunk that
    /// reaches `--viewer-chunk-bytes` leaves earlier, so the wait is this
    /// long only when traffic is light. 0 = fan every batch out at once, ms.
    #[arg(long, env = "WIREMAP_RELAY_VIEWER_LINGER_MS", default_value_t = 30)]
    pub viewer_linger_ms: u64,
    /// Payload bytes at which a chunk of L7 batches is fanned out without
    /// waiting for the rest of the linger: past this size a longer wait
    /// saves little CPU per batch (capped at an eighth of the viewer queue).
    #[arg(long, env = "WIREMAP_RELAY_VIEWER_CHUNK_BYTES", default_value_t = 32 << 10)]
    pub viewer_chunk_bytes: usize,
    /// Replay ring of recent L7 batches for new viewers, bytes (0 = off).
    #[arg(long, env = "WIREMAP_RELAY_REPLAY_BYTES", default_value_t = 0)]
    pub replay_bytes: usize,
    /// Age limit of the replay ring, ms.
    #[arg(long, env = "WIREMAP_RELAY_REPLAY_AGE_MS", default_value_t = 10_000)]
    pub replay_age_ms: u64,
    /// Interval of WebSocket pings, ms.
    #[arg(long, env = "WIREMAP_RELAY_HEARTBEAT_MS", default_value_t = 5_000)]
    pub heartbeat_ms: u64,
    /// A peer silent this long (no pong or frame) is disconnected, ms.
    #[arg(
        long,
        env = "WIREMAP_RELAY_CLIENT_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub client_timeout_ms: u64,
    /// A probe must send its Hello within this time, ms.
    #[arg(long, env = "WIREMAP_RELAY_HELLO_TIMEOUT_MS", default_value_t = 10_000)]
    pub hello_timeout_ms: u64,
    /// Time open connections get to finish on shutdown, seconds.
    #[arg(long, env = "WIREMAP_RELAY_SHUTDOWN_TIMEOUT_SECS", default_value_t = 5)]
    pub shutdown_timeout_secs: u64,
    /// HTTP worker threads (0 = one per core). One keeps every wake-up on
    /// one thread and used less CPU per delivery than one per core in the
    /// load bench, at a fifth of a core for 300 k deliveries/s
    /// (docs/bench/relay.md); add workers only if it saturates a core.
    #[arg(long, env = "WIREMAP_RELAY_WORKERS", default_value_t = 1)]
    pub workers: usize,
    #[arg(long, env = "WIREMAP_RELAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl Config {
    /// Defaults for everything; for tests and embedding.
    pub fn for_listen(listen: &str) -> Self {
        let mut c = Config::parse_from(["wiremap-relay", "--insecure-no-auth"]);
        c.listen = listen.to_owned();
        c
    }

    /// The hub's limits.
    pub fn hub_limits(&self) -> HubLimits {
        HubLimits {
            max_probes: self.max_probes,
            max_viewers: self.max_viewers,
            viewer_queue_bytes: self.viewer_queue_bytes,
            viewer_hard_bytes: self.viewer_queue_bytes + self.viewer_queue_bytes / 2,
            viewer_stall: Duration::from_millis(self.viewer_stall_ms),
            replay_bytes: self.replay_bytes,
            replay_age: Duration::from_millis(self.replay_age_ms),
            linger: Duration::from_millis(self.viewer_linger_ms),
            chunk_bytes: self.viewer_chunk_bytes,
            ..HubLimits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_one_worker_a_30_ms_linger_and_32_kib_chunks() {
        let c = Config::for_listen("127.0.0.1:0");
        assert_eq!(c.workers, 1);
        let limits = c.hub_limits();
        assert_eq!(limits.linger, Duration::from_millis(30));
        assert_eq!(limits.chunk_bytes, 32 << 10);
        let c = Config::parse_from([
            "wiremap-relay",
            "--viewer-linger-ms",
            "5",
            "--viewer-chunk-bytes",
            "1000",
            "--workers",
            "0",
        ]);
        assert_eq!(c.workers, 0);
        assert_eq!(c.hub_limits().linger, Duration::from_millis(5));
        assert_eq!(c.hub_limits().chunk_bytes, 1000);
    }
}
