//! `model-gateway`: loads config, starts telemetry, runs the service until SIGTERM.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use lucid_model_gateway::{Config, run};

/// KServe V2 inference over HTTP and gRPC, routed by traffic weights, predictions logged.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// TOML config file; `LUCID_MODEL_GATEWAY_*` variables override it.
    #[arg(long, env = "LUCID_MODEL_GATEWAY_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("model-gateway: {error}");
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
                "model gateway stopped with an error"
            );
            ExitCode::FAILURE
        }
    }
}
