//! Policy state in Redis against the real broker and Redis: a redelivered alert and a restart
//! of the trigger in the middle of a run start no second run, and the run's outcome is still
//! recorded by the restarted trigger.
//!
//! The pipeline here is a stand-in shell script (the trigger under test, not the pipeline):
//! it appends its arguments to a file each time it starts, sleeps 4 s, and prints the result
//! line of the reference pipeline's contract.

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::{Stack, alert, alert_bytes, create_topics, produce, read_runs, unique};
use lucid_proto::retraining::v1::{self as pb, retraining_service_client::RetrainingServiceClient};
use lucid_retraining_trigger::{
    Config,
    config::{LocalConfig, PipelineCommand},
    policy::{BackendKind, Band, Policy},
};
use tokio_util::sync::CancellationToken;

const STUB: &str = r#"echo "$*" >>"$STARTS"
sleep 4
echo '{"model_name":"skip-model","version":"7","metrics":{"auc":0.61,"ece":null}}'
"#;

fn config(stack: &Stack, dir: &std::path::Path, alerts: &str, runs: &str, prefix: &str) -> Config {
    let script = dir.join("stub.sh");
    std::fs::write(&script, STUB).expect("write the stub");
    let policy = Policy {
        bands: vec![Band::Drift],
        sustained: 1,
        min_new_samples: 100,
        cooldown: Duration::from_secs(3600),
        daily_budget: 3,
        backend: BackendKind::Local,
        run_timeout: Duration::from_secs(60),
    };
    Config {
        grpc_addr: ([127, 0, 0, 1], 0).into(),
        http_addr: ([127, 0, 0, 1], 0).into(),
        kafka: stack.kafka(),
        group_id: unique("retrain"),
        alerts_topic: alerts.into(),
        // The topic is this test's own: every alert on it is one the test sent.
        replay_alerts: true,
        runs_topic: runs.into(),
        redis_url: stack.redis_url.clone(),
        redis_prefix: prefix.into(),
        state_dir: dir.join("state"),
        poll_interval: Duration::from_millis(200),
        default_policy: None,
        models: BTreeMap::from([("skip-model".to_string(), policy)]),
        local: LocalConfig {
            pipeline: PipelineCommand {
                command: vec!["sh".into(), script.display().to_string()],
                ..PipelineCommand::default()
            },
            working_dir: None,
            env: BTreeMap::from([(
                "STARTS".to_string(),
                dir.join("starts").display().to_string(),
            )]),
        },
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_alert_and_a_restart_mid_run_start_no_second_run() {
    let stack = Stack::require();
    let dir = tempfile::tempdir().expect("temp dir");
    let (alerts, runs) = (unique("retrain-alerts"), unique("retrain-runs"));
    create_topics(&stack, &[&alerts, &runs]).await;
    let config = config(&stack, dir.path(), &alerts, &runs, &unique("retrain"));

    // One DRIFT alert over [1000, 61000] with 500 records, delivered twice.
    let a1 = alert("a1", "skip-model", Band::Drift, (1_000, 61_000), 500);
    let bytes = alert_bytes(&a1).await;
    let first = CancellationToken::new();
    let service = lucid_retraining_trigger::start(config.clone(), first.clone())
        .await
        .expect("the trigger starts");
    produce(&stack, &alerts, &bytes).await;
    produce(&stack, &alerts, &bytes).await;
    let before = read_runs(&stack, &runs, Some(3), Duration::from_secs(30)).await;
    let statuses: Vec<_> = before.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses.len(), 3, "{before:#?}");
    for status in ["REQUESTED", "STARTED", "SKIPPED"] {
        assert!(statuses.contains(&status), "{status} missing: {before:#?}");
    }

    // Stop mid-run (the stand-in takes 4 s), start another trigger on the same Redis prefix,
    // and deliver the alert a third time.
    first.cancel();
    service
        .wait()
        .await
        .expect("the first trigger stops cleanly");
    let second = CancellationToken::new();
    let service = lucid_retraining_trigger::start(config.clone(), second.clone())
        .await
        .expect("the second trigger starts");
    produce(&stack, &alerts, &bytes).await;
    let all = common::wait_final(&stack, &runs, Duration::from_secs(60)).await;

    let starts = std::fs::read_to_string(dir.path().join("starts")).expect("the stub ran");
    assert_eq!(
        starts.lines().count(),
        1,
        "the pipeline started more than once: {starts}"
    );
    let run = all
        .iter()
        .find(|r| r.status == "REQUESTED")
        .expect("a requested run");
    let key = lucid_retraining_trigger::policy::dedupe_key(
        "skip-model",
        "listening-outcomes",
        1_000,
        61_000,
    );
    assert_eq!(run.dedupe_key, key);
    assert!(starts.contains(&format!("--run-name {key}")), "{starts}");
    assert!(starts.contains("--alert-ids a1 "), "{starts}");

    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for record in &all {
        *by_status.entry(record.status.as_str()).or_default() += 1;
    }
    let expected = BTreeMap::from([
        ("REQUESTED", 1),
        ("SKIPPED", 2),
        ("STARTED", 1),
        ("SUCCEEDED", 1),
    ]);
    assert_eq!(by_status, expected, "{all:#?}");
    for record in all.iter().filter(|r| r.status == "SKIPPED") {
        assert_eq!(
            record.reason,
            "duplicate: monitor already reported up to 61000"
        );
    }
    let done = all
        .iter()
        .find(|r| r.status == "SUCCEEDED")
        .expect("succeeded");
    assert_eq!(done.run_id, run.run_id);
    assert_eq!(done.model_version.as_deref(), Some("7"));
    assert_eq!(
        done.metrics,
        vec![("auc".to_string(), Some(0.61)), ("ece".to_string(), None)]
    );

    // The restarted trigger serves the run over gRPC, finished and no longer active.
    let mut client = RetrainingServiceClient::connect(format!("http://{}", service.grpc_addr))
        .await
        .expect("gRPC connects");
    let listed = client
        .list_runs(pb::ListRunsRequest {
            model_name: "skip-model".into(),
            limit: 0,
        })
        .await
        .expect("lists")
        .into_inner()
        .runs;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].run_id, run.run_id);
    assert_eq!(listed[0].status, pb::RunStatus::Succeeded as i32);
    assert_eq!(listed[0].model_version, "7");

    // A manual request now is refused by the cooldown unless forced.
    let refused = client
        .request_run(pb::RequestRunRequest {
            model_name: "skip-model".into(),
            reason: "operator".into(),
            force: false,
            idempotency_key: "op-1".into(),
        })
        .await
        .expect("answers")
        .into_inner();
    assert!(!refused.started);
    assert!(
        refused.skip_reason.starts_with("cooldown until "),
        "{}",
        refused.skip_reason
    );
    let unknown = client
        .request_run(pb::RequestRunRequest {
            model_name: "no-such-model".into(),
            ..Default::default()
        })
        .await
        .expect_err("no policy");
    assert_eq!(unknown.code(), tonic::Code::InvalidArgument);

    second.cancel();
    service
        .wait()
        .await
        .expect("the second trigger stops cleanly");
}
