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
    let config = Config::load(args.config.as_deref());
    lucid_telemetry::run_main("model-gateway", config, |c| c.log_format, run).await
}
