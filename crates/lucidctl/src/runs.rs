//! `lucidctl runs`: the retraining trigger's runs and decisions, and a manual request, over gRPC.

use anyhow::Context;
use lucid_proto::retraining::v1::{
    GetRunRequest, ListRunsRequest, RequestRunRequest, Run, RunStatus,
    retraining_service_client::RetrainingServiceClient,
};
use tonic::transport::Channel;

use crate::rollouts::{rpc_error, time};

/// Options of `lucidctl runs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The retraining trigger's gRPC address.
    #[arg(
        long,
        env = "LUCID_RETRAINING_TRIGGER_URL",
        default_value = "http://127.0.0.1:8099"
    )]
    url: String,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Runs and skip decisions, newest first (the default).
    List {
        /// Only this model's.
        #[arg(long)]
        model: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One run with its metrics.
    Show { run_id: String },
    /// Asks for a run of a model; the policy decides unless --force.
    Request {
        model: String,
        /// Why, recorded on the run.
        #[arg(long, default_value = "requested with lucidctl")]
        reason: String,
        /// Start even in cooldown or over the daily budget (never beside an active run).
        #[arg(long)]
        force: bool,
    },
}

/// Runs the subcommand.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut client = connect(&args.url).await?;
    match args.command.unwrap_or(Command::List {
        model: None,
        limit: 20,
    }) {
        Command::List { model, limit } => {
            let runs = client
                .list_runs(ListRunsRequest {
                    model_name: model.unwrap_or_default(),
                    limit,
                })
                .await
                .map_err(rpc_error)?
                .into_inner()
                .runs;
            if runs.is_empty() {
                println!("no runs yet");
            }
            for run in &runs {
                println!("{}", line(run));
            }
        }
        Command::Show { run_id } => {
            let run = client
                .get_run(GetRunRequest { run_id })
                .await
                .map_err(rpc_error)?
                .into_inner();
            print_run(&run);
        }
        Command::Request {
            model,
            reason,
            force,
        } => {
            let answer = client
                .request_run(RequestRunRequest {
                    model_name: model.clone(),
                    reason,
                    force,
                    idempotency_key: String::new(),
                })
                .await
                .map_err(rpc_error)?
                .into_inner();
            match answer.run {
                Some(run) if answer.started => println!("started: {}", line(&run)),
                _ => println!("not started: {}", answer.skip_reason),
            }
        }
    }
    Ok(())
}

async fn connect(url: &str) -> anyhow::Result<RetrainingServiceClient<Channel>> {
    RetrainingServiceClient::connect(url.to_owned())
        .await
        .with_context(|| {
            format!(
                "the retraining trigger does not answer at {url}; start it \
                 (retraining-trigger --config FILE; scripts/demo starts one)"
            )
        })
}

fn status(run: &Run) -> String {
    let name = RunStatus::try_from(run.status)
        .unwrap_or(RunStatus::Unspecified)
        .as_str_name();
    name.trim_start_matches("RUN_STATUS_").to_lowercase()
}

/// One line per run: when, model, status, version, why.
pub fn line(run: &Run) -> String {
    let version = if run.model_version.is_empty() {
        String::new()
    } else {
        format!(" -> version {}", run.model_version)
    };
    format!(
        "{}  {:<36} {:<12} {:<10} {}{version}  {}",
        time(run.requested_unix_ms),
        run.run_id,
        run.model_name,
        status(run),
        run.backend,
        run.reason
    )
}

fn print_run(run: &Run) {
    println!("run         {}", run.run_id);
    println!("model       {}", run.model_name);
    println!("status      {}  {}", status(run), run.reason);
    println!("trigger     {}  backend {}", run.trigger, run.backend);
    println!("dedupe key  {}", run.dedupe_key);
    println!("alerts      {}", run.alert_ids.join(", "));
    if !run.external_id.is_empty() {
        println!("external id {}", run.external_id);
    }
    if !run.model_version.is_empty() {
        println!("version     {}", run.model_version);
    }
    let mut metrics: Vec<_> = run.metrics.iter().collect();
    metrics.sort_by(|a, b| a.0.cmp(b.0));
    for (name, value) in metrics {
        println!("  {name:<18} {value:.4}");
    }
    println!(
        "requested {}  started {}  finished {}",
        time(run.requested_unix_ms),
        time(run.started_unix_ms),
        time(run.finished_unix_ms)
    );
}
