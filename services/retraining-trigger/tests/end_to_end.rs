//! End to end with the local backend, the reference pipeline and the real MLflow server: one
//! DRIFT alert under a `sustained = 1` policy leads to exactly one run, which registers exactly
//! one new model version whose held-out AUC, read back from MLflow, is above the floor.
//!
//! The offline log is written here, as the feature store writes it, from simulated listening
//! over the real catalog with the parameters of `scripts/train-local` (baseline, seed 7, 4,000
//! sessions of 400 listeners over 72 h), on which docs/pipeline.md reports a held-out AUC of
//! 0.566. The floor, 0.53, sits about five standard errors below that and clearly above chance
//! (0.5). The model is registered under a name of its own, so the test does not depend on what
//! else the local MLflow holds.
//!
//! Needs: `scripts/stack up mlflow`; the pipeline's venv (`source scripts/lib/env.sh;
//! ensure_venv pipeline`); the `backfill` binary (`cargo build --release -p lucid-offline --bin
//! backfill`, or `LUCID_BACKFILL_BIN`); the track catalog (`LUCID_CATALOG_DIR`).

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::pipeline::{AUC_FLOOR, backfill_bin, mlflow_get, mlflow_url, write_offline_log};
use common::{Stack, alert, alert_bytes, create_topics, produce, repo_root, unique};
use lucid_retraining_trigger::{
    Config,
    config::{LocalConfig, PipelineCommand},
    policy::{BackendKind, Band, Policy},
};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread")]
async fn one_drift_alert_registers_one_model_version_above_the_auc_floor() {
    let stack = Stack::require();
    let mlflow = mlflow_url();
    common::pipeline::python();
    let backfill = backfill_bin();
    let dir = tempfile::tempdir().expect("temp dir");
    let offline = dir.path().join("offline");
    let end = write_offline_log(&offline);

    let (alerts, runs) = (unique("retrain-e2e-alerts"), unique("retrain-e2e-runs"));
    create_topics(&stack, &[&alerts, &runs]).await;
    let model = unique("skip-model-e2e");
    let policy = Policy {
        bands: vec![Band::Drift],
        sustained: 1,
        min_new_samples: 1000,
        cooldown: Duration::from_secs(3600),
        daily_budget: 2,
        backend: BackendKind::Local,
        run_timeout: Duration::from_secs(900),
    };
    let config = Config {
        grpc_addr: ([127, 0, 0, 1], 0).into(),
        http_addr: ([127, 0, 0, 1], 0).into(),
        kafka: stack.kafka(),
        alerts_topic: alerts.clone(),
        // The topic is this test's own: every alert on it is one the test sent.
        replay_alerts: true,
        runs_topic: runs.clone(),
        redis_url: stack.redis_url.clone(),
        redis_prefix: unique("retrain-e2e"),
        state_dir: dir.path().join("state"),
        poll_interval: Duration::from_millis(500),
        default_policy: None,
        models: BTreeMap::from([(model.clone(), policy)]),
        local: LocalConfig {
            pipeline: PipelineCommand {
                offline_dir: offline.clone(),
                mlflow_url: mlflow.clone(),
                extra_args: vec!["--backfill-bin".into(), backfill.display().to_string()],
                ..PipelineCommand::default()
            },
            working_dir: Some(repo_root()),
            env: BTreeMap::new(),
        },
        ..Config::default()
    };
    let shutdown = CancellationToken::new();
    let service = lucid_retraining_trigger::start(config, shutdown.clone())
        .await
        .expect("the trigger starts");

    // The last 6 h of the span drifted, 9,000 records in the window.
    let window_end = end.timestamp_millis();
    let drift = alert(
        "e2e-a1",
        &model,
        Band::Drift,
        (window_end - 6 * 3_600_000, window_end),
        9_000,
    );
    produce(&stack, &alerts, &alert_bytes(&drift).await).await;
    let all = common::wait_final(&stack, &runs, Duration::from_secs(900)).await;
    shutdown.cancel();
    service.wait().await.expect("the trigger stops cleanly");

    let statuses: Vec<_> = all.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["REQUESTED", "STARTED", "SUCCEEDED"], "{all:#?}");
    let done = &all[2];
    assert!(all.iter().all(|r| r.run_id == done.run_id));
    assert_eq!(done.alert_ids, ["e2e-a1"]);
    let version = done.model_version.clone().expect("a registered version");

    // Exactly one version of this model exists, it is the run's, and MLflow holds its AUC.
    let filter = format!("name='{model}'");
    let versions = mlflow_get(&mlflow, "model-versions/search", &[("filter", &filter)]).await;
    let listed = versions["model_versions"].as_array().expect("versions");
    assert_eq!(listed.len(), 1, "{versions}");
    assert_eq!(listed[0]["version"].as_str(), Some(version.as_str()));
    let run_id = listed[0]["run_id"].as_str().expect("an MLflow run");
    let mlflow_run = mlflow_get(&mlflow, "runs/get", &[("run_id", run_id)]).await;
    let metric = |name: &str| {
        mlflow_run["run"]["data"]["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .find(|m| m["key"] == name)
            .and_then(|m| m["value"].as_f64())
    };
    let auc = metric("auc").expect("the run logged its AUC");
    assert!(
        auc > AUC_FLOOR,
        "held-out AUC {auc} is not above {AUC_FLOOR}"
    );
    let reported = done
        .metrics
        .iter()
        .find(|(k, _)| k == "auc")
        .and_then(|(_, v)| *v)
        .expect("the run record carries the AUC");
    assert!(
        (reported - auc).abs() < 1e-9,
        "record {reported} vs MLflow {auc}"
    );
    let tags = mlflow_run["run"]["data"]["tags"].as_array().expect("tags");
    let tag = |key: &str| {
        tags.iter()
            .find(|t| t["key"] == key)
            .and_then(|t| t["value"].as_str())
    };
    assert_eq!(tag("lucid.dedupe_key"), Some(done.dedupe_key.as_str()));
    assert_eq!(tag("lucid.alert_ids"), Some("e2e-a1"));
    println!("registered {model} version {version}: held-out AUC {auc:.4}");
}
