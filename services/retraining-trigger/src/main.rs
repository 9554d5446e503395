//! `retraining-trigger`: loads config, starts telemetry, runs the service until SIGTERM.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use lucid_retraining_trigger::{Config, run};

/// Drift alerts to retraining runs under a per-model policy.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// TOML config file; `LUCID_RETRAINING_TRIGGER_*` variables override it.
    #[arg(long, env = "LUCID_RETRAINING_TRIGGER_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config::load(args.config.as_deref());
    lucid_telemetry::run_main("retraining-trigger", config, |c| c.log_format, run).await
}
