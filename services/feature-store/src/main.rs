//! `feature-store`: loads config, starts telemetry, runs the service until SIGTERM.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use lucid_feature_store::{Config, run};

/// Streaming feature aggregation into Redis and online lookups over gRPC.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// TOML config file; `LUCID_FEATURE_STORE_*` variables override it.
    #[arg(long, env = "LUCID_FEATURE_STORE_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config::load(args.config.as_deref());
    lucid_telemetry::run_main("feature-store", config, |c| c.log_format, run).await
}
