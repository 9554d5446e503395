//! The reference pipeline's inputs for the tests that run it: MLflow, the pipeline venv, the
//! `backfill` binary, the track catalog, and an offline log of simulated listening.

use std::path::PathBuf;

use chrono::{TimeDelta, TimeZone, Utc};
use lucid_catalog::Catalog;
use lucid_events::ListeningEvent;
use lucid_offline::{LoggedEvent, OfflineLog};
use lucid_retraining_trigger::config::pipeline_python;
use lucid_simulator::{SimConfig, simulate};

use super::repo_root;

/// The held-out AUC a model trained on [`write_offline_log`]'s data must beat (see
/// `end_to_end.rs`).
pub const AUC_FLOOR: f64 = 0.53;

/// The pipeline venv's Python; panics with how to make it when it is missing.
pub fn python() -> PathBuf {
    let python = pipeline_python();
    assert!(
        python.is_file(),
        "no pipeline venv at {}: run `source scripts/lib/env.sh && ensure_venv pipeline`",
        python.display()
    );
    python
}

/// The running MLflow's URL; panics with how to start it when it does not answer.
pub fn mlflow_url() -> String {
    let url = std::env::var("LUCID_MLFLOW_URL").unwrap_or_else(|_| "http://127.0.0.1:15000".into());
    let health = std::process::Command::new("curl")
        .args(["-fsS", "-m", "3", &format!("{url}/health")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        health,
        "MLflow does not answer at {url}: start it with `scripts/stack up mlflow`"
    );
    url
}

/// The `backfill` binary the pipeline calls; panics with how to build it when it is missing.
pub fn backfill_bin() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/lucid/target")
        });
    let candidates = [
        std::env::var("LUCID_BACKFILL_BIN").map(PathBuf::from).ok(),
        Some(target.join("release/backfill")),
        Some(target.join("debug/backfill")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no backfill binary in {}: build it with `cargo build --release -p lucid-offline --bin backfill` or set LUCID_BACKFILL_BIN",
                target.display()
            )
        })
}

/// The real track catalog's folder; panics with how to fetch it when it is missing.
pub fn catalog_dir() -> PathBuf {
    let dir = std::env::var("LUCID_CATALOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("../shared/data/fma-echonest-features"));
    assert!(
        dir.join("echonest-metrics.json").exists(),
        "track catalog not found in {}: run `scripts/fetch-data` and set LUCID_CATALOG_DIR",
        dir.display()
    );
    dir
}

/// Writes the offline log of simulated listening; returns the span's end.
pub fn write_offline_log(dir: &std::path::Path) -> chrono::DateTime<Utc> {
    let catalog = Catalog::load(catalog_dir()).expect("the catalog loads");
    let attrs = lucid_feature_store::attributes_of(&catalog);
    let start = Utc
        .with_ymd_and_hms(2026, 11, 30, 0, 0, 0)
        .single()
        .expect("a date");
    let end = start + TimeDelta::hours(72);
    let mut sim = SimConfig::ending_at(end, TimeDelta::hours(72));
    (sim.seed, sim.listeners, sim.sessions) = (7, 400, 4000);
    let logged: Vec<LoggedEvent> = simulate(&catalog, sim)
        .expect("simulates")
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let event = ListeningEvent::from_input(input, format!("p-{}", input.user_id), end);
            let attrs = event.track_id.and_then(|t| attrs.get(&t).copied());
            LoggedEvent {
                event,
                attrs,
                late: false,
                partition: 0,
                offset: i as i64,
            }
        })
        .collect();
    let mut log = OfflineLog::open(dir).expect("open the log");
    log.append(&logged).expect("append");
    log.flush().expect("flush");
    end
}

/// A GET of MLflow's REST API `path`, as JSON.
pub async fn mlflow_get(url: &str, path: &str, query: &[(&str, &str)]) -> serde_json::Value {
    let answer = reqwest::Client::new()
        .get(format!("{url}/api/2.0/mlflow/{path}"))
        .query(query)
        .send()
        .await
        .expect("MLflow answers");
    assert!(
        answer.status().is_success(),
        "MLflow {path}: {}",
        answer.status()
    );
    answer.json().await.expect("JSON")
}
