//! `lucidctl rollouts`: the deployment manager's rollouts and the operator's controls, over
//! gRPC.

use anyhow::Context;
use lucid_proto::deploy::v1::{
    GetRolloutRequest, ListRolloutsRequest, Rollout, RolloutControlRequest, RolloutState,
    SideAnalysis, StartRolloutRequest, Strategy,
    deployment_service_client::DeploymentServiceClient,
};
use tonic::transport::Channel;

/// Options of `lucidctl rollouts`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The deployment manager's gRPC address.
    #[arg(
        long,
        env = "LUCID_DEPLOYMENT_MANAGER_URL",
        default_value = "http://127.0.0.1:8093"
    )]
    url: String,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Rollouts, newest first (the default).
    List {
        /// Only this model's.
        #[arg(long)]
        model: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One rollout: traffic, steps and the latest analysis.
    Show { rollout_id: String },
    /// Starts a rollout of a registered version by hand.
    Start {
        model: String,
        version: String,
        /// Blue-green instead of the configured strategy.
        #[arg(long)]
        blue_green: bool,
        /// Canary steps in percent, comma separated, ending at 100.
        #[arg(long, value_delimiter = ',')]
        steps: Vec<u32>,
        /// Start even when the offline gate refuses the candidate.
        #[arg(long)]
        skip_gate: bool,
    },
    /// Sends all traffic to the candidate now.
    Promote(Control),
    /// Holds the rollout at its step.
    Pause(Control),
    /// Continues a paused rollout.
    Resume(Control),
    /// Stops the rollout and rolls back.
    Abort(Control),
}

#[derive(Debug, clap::Args)]
struct Control {
    rollout_id: String,
    /// Why, recorded on the rollout and its event.
    #[arg(long, default_value = "by the operator with lucidctl")]
    reason: String,
}

impl Control {
    fn request(self) -> RolloutControlRequest {
        RolloutControlRequest {
            rollout_id: self.rollout_id,
            reason: self.reason,
        }
    }
}

/// Runs the subcommand.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut client = connect(&args.url).await?;
    let command = args.command.unwrap_or(Command::List {
        model: None,
        limit: 20,
    });
    let rollout = match command {
        Command::List { model, limit } => {
            let rollouts = client
                .list_rollouts(ListRolloutsRequest {
                    model_name: model.unwrap_or_default(),
                    limit,
                })
                .await
                .map_err(rpc_error)?
                .into_inner()
                .rollouts;
            if rollouts.is_empty() {
                println!("no rollouts yet");
            }
            for rollout in &rollouts {
                println!("{}", line(rollout));
            }
            return Ok(());
        }
        Command::Show { rollout_id } => client.get_rollout(GetRolloutRequest { rollout_id }).await,
        Command::Start {
            model,
            version,
            blue_green,
            steps,
            skip_gate,
        } => {
            let strategy = if blue_green {
                Strategy::BlueGreen
            } else {
                Strategy::Unspecified
            };
            client
                .start_rollout(StartRolloutRequest {
                    model_name: model,
                    to_version: version,
                    strategy: strategy.into(),
                    steps,
                    skip_gate,
                })
                .await
        }
        Command::Promote(control) => client.promote(control.request()).await,
        Command::Pause(control) => client.pause(control.request()).await,
        Command::Resume(control) => client.resume(control.request()).await,
        Command::Abort(control) => client.abort(control.request()).await,
    };
    print_rollout(&rollout.map_err(rpc_error)?.into_inner());
    Ok(())
}

async fn connect(url: &str) -> anyhow::Result<DeploymentServiceClient<Channel>> {
    DeploymentServiceClient::connect(url.to_owned())
        .await
        .with_context(|| {
            format!(
                "the deployment manager does not answer at {url}; start it \
                 (deployment-manager --config FILE; scripts/demo starts one)"
            )
        })
}

/// A refusal or failure of a call, in the service's words.
pub fn rpc_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", status.code(), status.message())
}

/// A UTC time of day and date, or `-` for none.
pub fn time(ms: i64) -> String {
    if ms <= 0 {
        return "-".into();
    }
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

fn state(rollout: &Rollout) -> String {
    let name = RolloutState::try_from(rollout.state)
        .unwrap_or(RolloutState::Unspecified)
        .as_str_name();
    name.trim_start_matches("ROLLOUT_STATE_").to_lowercase()
}

fn strategy(rollout: &Rollout) -> &'static str {
    match Strategy::try_from(rollout.strategy) {
        Ok(Strategy::BlueGreen) => "blue-green",
        _ => "canary",
    }
}

fn weights(rollout: &Rollout) -> String {
    rollout
        .routes
        .iter()
        .map(|r| format!("v{} {}%", r.version, r.weight))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// One line per rollout.
pub fn line(rollout: &Rollout) -> String {
    let from = if rollout.from_version.is_empty() {
        "-"
    } else {
        &rollout.from_version
    };
    format!(
        "{}  {}  {} v{from} -> v{}  {} {}  step {}/{}  {}  {}",
        time(rollout.started_unix_ms),
        rollout.rollout_id,
        rollout.model_name,
        rollout.to_version,
        strategy(rollout),
        state(rollout),
        rollout.step_index + 1,
        rollout.steps.len(),
        weights(rollout),
        rollout.reason
    )
}

fn side(name: &str, side: Option<&SideAnalysis>) {
    let Some(s) = side else { return };
    println!(
        "  {name:<10} {:>8} {:>11} {:>9.4} {:>11.4} {:>10.4} {:>8.2}",
        s.outcomes, s.predictions, s.log_loss, s.calibration_error, s.error_rate, s.p99_latency_ms
    );
}

fn print_rollout(rollout: &Rollout) {
    println!("{}", line(rollout));
    let steps: Vec<String> = rollout.steps.iter().map(|s| format!("{s}%")).collect();
    println!(
        "steps {}  step started {}  updated {}",
        steps.join(" "),
        time(rollout.step_started_unix_ms),
        time(rollout.updated_unix_ms)
    );
    if !rollout.shadow_version.is_empty() {
        println!("shadow v{}", rollout.shadow_version);
    }
    if let Some(analysis) = &rollout.last_analysis {
        println!(
            "analysis at {}: {}  {}",
            time(analysis.analysed_unix_ms),
            analysis.verdict,
            analysis.reason
        );
        println!(
            "  {:<10} {:>8} {:>11} {:>9} {:>11} {:>10} {:>8}",
            "side", "outcomes", "predictions", "log loss", "calibration", "error rate", "p99 ms"
        );
        side("stable", analysis.stable.as_ref());
        side("candidate", analysis.candidate.as_ref());
    }
}
