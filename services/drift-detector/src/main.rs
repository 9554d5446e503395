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
    let config = match Config::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("drift-detector: {error}");
            return ExitCode::from(2);
        }
    };

    lucid_telemetry::init_logs(config.log_format, "info,rdkafka=warn");
    let shutdown = lucid_telemetry::shutdown_on_signals();
    match run(config, shutdown).await {
        Ok(()) => {
            tracing::info!("stopped after draining");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "drift detector stopped with an error"
            );
            ExitCode::FAILURE
        }
    }
}
