//! `ingestion`: loads config, starts telemetry, runs the service until SIGTERM.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use lucid_ingestion::{Config, run};

/// Listening events from phones into Kafka.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// TOML config file; `LUCID_INGESTION_*` variables override it.
    #[arg(long, env = "LUCID_INGESTION_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config::load(args.config.as_deref());
    lucid_telemetry::run_main("ingestion", config, |c| c.log_format, run).await
}
