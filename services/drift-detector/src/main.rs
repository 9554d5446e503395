//! `drift-detector`: loads config, starts telemetry, runs the service until SIGTERM.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use lucid_drift_detector::{Config, run};

/// Streaming drift monitors over Kafka topics, alerts on drift-alerts.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// TOML config file; `LUCID_DRIFT_DETECTOR_*` variables override it.
    #[arg(long, env = "LUCID_DRIFT_DETECTOR_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config::load(args.config.as_deref());
    lucid_telemetry::run_main("drift-detector", config, |c| c.log_format, run).await
}
