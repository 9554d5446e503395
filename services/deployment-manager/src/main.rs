//! `deployment-manager`: loads config, starts telemetry, runs the service until SIGTERM.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use lucid_deployment_manager::{Config, run};

/// Canary and blue-green rollouts of model versions, judged on live outcomes.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// TOML config file; `LUCID_DEPLOYMENT_MANAGER_*` variables override it.
    #[arg(long, env = "LUCID_DEPLOYMENT_MANAGER_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config::load(args.config.as_deref());
    lucid_telemetry::run_main("deployment-manager", config, |c| c.log_format, run).await
}
