//! `backfill`: builds a point-in-time training set from the offline log.
//!
//! Reads every Parquet file under `--offline-dir`, replays it through the feature store's code
//! and writes one row per on-time play to `--out`. Features default to the `skip_model` service
//! of the definitions (the starter ones unless `--features-file` names others).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Parser;
use lucid_events::Action;
use lucid_features::Registry;
use lucid_offline::{Backfill, read_events, write_training_set};

/// The service whose features are backfilled when none are named.
const DEFAULT_SERVICE: &str = "skip_model";

#[derive(Debug, Parser)]
#[command(about = "Build a point-in-time training set from the offline event log")]
struct Args {
    /// Directory of the offline log (read recursively).
    #[arg(long)]
    offline_dir: PathBuf,
    /// Parquet file to write.
    #[arg(long)]
    out: PathBuf,
    /// Features to compute, `view:feature`, comma-separated; default: the skip_model service.
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// Feature definitions (TOML); default: the starter definitions.
    #[arg(long)]
    features_file: Option<PathBuf>,
    /// Action of the events to score, by its JSON name.
    #[arg(long, default_value = "play")]
    action: String,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("backfill: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let registry = load_registry(&args)?;
    let features = if args.features.is_empty() {
        let service = registry
            .service(DEFAULT_SERVICE)
            .with_context(|| format!("the definitions have no {DEFAULT_SERVICE} service"))?;
        service.features.clone()
    } else {
        args.features.clone()
    };
    let Some(action) = Action::ALL
        .iter()
        .copied()
        .find(|a| a.as_str() == args.action)
    else {
        bail!("--action: unknown action {}", args.action);
    };

    let started = Instant::now();
    let events = read_events(&args.offline_dir).context("failed to read the offline log")?;
    let read_secs = started.elapsed().as_secs_f64();

    let replay = Instant::now();
    let backfill = Backfill::new(&registry, &features)?.scoring(action);
    let rows = backfill.run(&events)?;
    let replay_secs = replay.elapsed().as_secs_f64();

    write_training_set(&args.out, backfill.features(), &rows)
        .context("failed to write the training set")?;
    let late = events.iter().filter(|e| e.late).count();
    println!(
        "events={} late={} rows={} features={} read_s={read_secs:.3} replay_s={replay_s:.3} \
         events_per_s={:.0} rows_per_s={:.0} total_s={:.3} out={}",
        events.len(),
        late,
        rows.len(),
        features.len(),
        events.len() as f64 / replay_secs.max(1e-9),
        rows.len() as f64 / replay_secs.max(1e-9),
        started.elapsed().as_secs_f64(),
        args.out.display(),
        replay_s = replay_secs,
    );
    Ok(())
}

fn load_registry(args: &Args) -> anyhow::Result<Registry> {
    let text = match &args.features_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("failed to read --features-file {}", path.display()))?,
        None => lucid_features::STARTER_DEFINITIONS.to_owned(),
    };
    Registry::from_toml(&text).context("failed to load the feature definitions")
}
