//! `lucidctl`: the operator's command line for the lucid platform.
//!
//! Each subcommand lives in its own module with an `Args` struct and an async `run`; this file
//! only parses the command line, starts logging and maps the outcome to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

mod drift;
mod features;
mod predict;
mod record;
mod report;
mod rollouts;
mod runs;
mod simulate;
mod span;
mod status;
mod topics;
mod watch;

/// Operate the lucid streaming platform.
#[derive(Debug, Parser)]
#[command(name = "lucidctl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate simulated listening sessions and send them to ingestion or write them as JSON
    /// lines.
    Simulate(simulate::Args),
    /// Show the online features of entities (from the feature store).
    Features(features::Args),
    /// Count the records on every platform topic.
    Topics(topics::Args),
    /// Show drift monitors and their latest reports (from the drift detector).
    Drift(drift::Args),
    /// Print a timeline of drift alerts, retraining runs and rollouts as they happen.
    Watch(watch::Args),
    /// Retraining runs and decisions (from the retraining trigger); request a run.
    Runs(runs::Args),
    /// Rollouts of model versions (from the deployment manager): show, start, promote, pause,
    /// resume, abort.
    Rollouts(rollouts::Args),
    /// Sample the drift detector and the feature store into a JSON lines file until stopped.
    Record(record::Args),
    /// Write one self-contained HTML report of a run from recorded samples and the topics.
    Report(report::Args),
    /// Whether each service is up and ready, with its lag and throughput numbers.
    Status(status::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();

    let result = match cli.command {
        Command::Simulate(args) => simulate::run(args).await,
        Command::Topics(args) => topics::run(args).await,
        Command::Features(args) => features::run(args).await,
        Command::Drift(args) => drift::run(args).await,
        Command::Watch(args) => watch::run(args).await,
        Command::Runs(args) => runs::run(args).await,
        Command::Rollouts(args) => rollouts::run(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Record(args) => record::run(args).await,
        Command::Report(args) => report::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `warn`), so stdout stays for output.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from([&["lucidctl", "simulate", "--catalog-dir", "cat"], args].concat())
    }

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn needs_exactly_one_target() {
        assert!(parse(&["--out", "-"]).is_ok());
        assert!(parse(&["--url", "http://127.0.0.1:8080", "--api-key", "k"]).is_ok());
        assert!(parse(&[]).is_err(), "no target");
        assert!(
            parse(&[
                "--out",
                "-",
                "--url",
                "http://127.0.0.1:8080",
                "--api-key",
                "k"
            ])
            .is_err()
        );
    }

    #[test]
    fn sending_options_need_a_url() {
        assert!(parse(&["--out", "-", "--rate", "100"]).is_err());
        assert!(parse(&["--out", "-", "--batch-size", "50"]).is_err());
    }

    #[test]
    fn bad_scenario_and_span_are_refused_by_name() {
        let error = parse(&["--out", "-", "--scenario", "jazz"]).expect_err("bad scenario");
        assert!(
            error.to_string().contains("unknown scenario \"jazz\""),
            "{error}"
        );
        let error = parse(&["--out", "-", "--span", "1 day"]).expect_err("bad span");
        assert!(error.to_string().contains("invalid span"), "{error}");
    }
}
