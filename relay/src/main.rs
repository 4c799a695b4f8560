//! `wiremap-relay`: parses flags, starts the relay, prints the listening
//! line, and stops gracefully on SIGTERM or Ctrl-C.

use std::io::Write;

use anyhow::Context;
use clap::Parser;
use wiremap_relay::{Config, LogFormat};

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn terminated() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        r = tokio::signal::ctrl_c() => {
            r.context("waiting for Ctrl-C")?;
            tracing::info!("interrupted: shutting down");
        }
    }
    Ok(())
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    init_logs(config.log_format);
    let running = wiremap_relay::start(config).context("starting the relay")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "wiremap-relay listening on {}", running.url())?;
    out.flush()?;
    drop(out);
    terminated().await?;
    running.stop().await;
    tracing::info!("stopped");
    Ok(())
}
