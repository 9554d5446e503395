//! The world of a deployment-manager test: the gateway's test world (the local stack, the
//! feature store fed with simulated listening, skip-model versions registered in MLflow, the
//! gateway in-process, all from `services/model-gateway/tests/common`), the deployment manager
//! in-process beside it on the gateway's Redis prefix, and listeners whose skips and
//! completions follow the champion's scores (`traffic.rs`).

#![allow(dead_code)]

#[path = "../../../model-gateway/tests/common/mod.rs"]
pub mod gateway;
pub mod traffic;

use std::{collections::BTreeMap, time::Duration};

use lucid_deployment_manager::{Config, analysis::Thresholds};
use lucid_proto::deploy::v1::{self as pb, deployment_service_client::DeploymentServiceClient};
use lucid_tests::{Stack, broker, unique};
use prost::Message as _;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// `onnx` with the scores inverted: every coefficient and intercept of its `LinearClassifier`
/// negated, so the positive-class probability `sigmoid(z)` becomes `sigmoid(-z) = 1 - sigmoid(z)`.
/// The same change as `python -m pipelines.skip_model.run --invert-scores`, made on the
/// exported file; the deliberately broken candidate of the rollback test.
pub fn inverted(onnx: &[u8]) -> Vec<u8> {
    let mut model = tract_onnx::pb::ModelProto::decode(onnx).expect("the fixture is ONNX");
    let graph = model.graph.as_mut().expect("the model has a graph");
    let mut negated = Vec::new();
    for node in graph
        .node
        .iter_mut()
        .filter(|n| n.op_type == "LinearClassifier")
    {
        for attribute in node.attribute.iter_mut() {
            if attribute.name == "coefficients" || attribute.name == "intercepts" {
                attribute.floats.iter_mut().for_each(|f| *f = -*f);
                negated.push(attribute.name.clone());
            }
        }
    }
    negated.sort();
    assert_eq!(
        negated,
        ["coefficients", "intercepts"],
        "one LinearClassifier"
    );
    model.encode_to_vec()
}

/// Logs offline `metrics` on the training run of `model` `version`, as the pipeline's register
/// step does, so the deployment manager's gate has numbers to compare.
pub async fn log_offline_metrics(
    mlflow: &str,
    model: &str,
    version: &str,
    metrics: &[(&str, f64)],
) {
    let http = reqwest::Client::new();
    let answer: Value = http
        .get(format!("{mlflow}/api/2.0/mlflow/model-versions/get"))
        .query(&[("name", model), ("version", version)])
        .send()
        .await
        .expect("mlflow answers")
        .json()
        .await
        .expect("mlflow answers JSON");
    let run_id = answer["model_version"]["run_id"]
        .as_str()
        .expect("the version has a run");
    for (key, value) in metrics {
        let logged = http
            .post(format!("{mlflow}/api/2.0/mlflow/runs/log-metric"))
            .json(&json!({ "run_id": run_id, "key": key, "value": value,
                           "timestamp": chrono::Utc::now().timestamp_millis(), "step": 0 }))
            .send()
            .await
            .expect("mlflow answers");
        assert!(
            logged.status().is_success(),
            "log-metric: {}",
            logged.status()
        );
    }
}

/// The aliases of `model` as MLflow's REST API reports them, alias to version.
pub async fn aliases(mlflow: &str, model: &str) -> BTreeMap<String, String> {
    let answer: Value = reqwest::Client::new()
        .get(format!("{mlflow}/api/2.0/mlflow/registered-models/get"))
        .query(&[("name", model)])
        .send()
        .await
        .expect("mlflow answers")
        .json()
        .await
        .expect("mlflow answers JSON");
    answer["registered_model"]["aliases"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|a| {
            let text = |k: &str| a[k].as_str().expect("alias fields are text").to_owned();
            (text("alias"), text("version"))
        })
        .collect()
}

/// The deployment manager in-process, steering `gateway` (same Redis prefix, its predictions
/// topic) and reading outcomes from `outcomes`.
pub struct Manager {
    pub grpc: String,
    pub http: String,
    pub rollouts_topic: String,
    service: Option<lucid_deployment_manager::Service>,
    shutdown: CancellationToken,
}

impl Manager {
    /// Starts it with short canary steps and `thresholds`; returns once `/readyz` says ready.
    pub async fn start(
        stack: &Stack,
        mlflow: &str,
        gateway: &gateway::Gateway,
        outcomes: &str,
        thresholds: Thresholds,
    ) -> Manager {
        let (runs, rollouts) = (unique("retraining-runs"), unique("rollouts"));
        broker::create_topics(&stack.brokers, &[outcomes, &runs, &rollouts], 3).await;
        let config = Config {
            grpc_addr: ([127, 0, 0, 1], 0).into(),
            http_addr: ([127, 0, 0, 1], 0).into(),
            kafka: broker::kafka(&stack.brokers),
            group_id: unique("deployment-manager"),
            predictions_topic: gateway.predictions.clone(),
            events_topic: outcomes.to_owned(),
            retraining_topic: runs,
            rollouts_topic: rollouts.clone(),
            redis_url: stack.redis_url.clone(),
            redis_prefix: gateway.prefix.clone(),
            mlflow_url: mlflow.to_owned(),
            models: vec![gateway.model.clone()],
            poll_interval: Duration::from_millis(250),
            tick_interval: Duration::from_millis(250),
            auto_start: false,
            steps: vec![25, 50, 100],
            step_duration: Duration::from_millis(1500),
            step_timeout: Duration::from_secs(90),
            thresholds,
            // Outcomes are stamped just after their prediction on the same clock (traffic.rs),
            // so no skew is needed, and a (session, track) played again is labelled only by
            // its own outcome.
            join_window: Duration::from_secs(60),
            join_skew: Duration::ZERO,
            lookback: Duration::from_secs(60),
            ..Config::default()
        };
        let shutdown = CancellationToken::new();
        let service = lucid_deployment_manager::start(config, shutdown.clone())
            .await
            .expect("the deployment manager starts");
        let manager = Manager {
            grpc: format!("http://{}", service.grpc_addr),
            http: format!("http://{}", service.http_addr),
            rollouts_topic: rollouts,
            service: Some(service),
            shutdown,
        };
        let ready = reqwest::get(format!("{}/readyz", manager.http)).await;
        assert!(
            ready.is_ok_and(|r| r.status().is_success()),
            "the deployment manager is not ready"
        );
        manager
    }

    /// Starts a canary rollout of `version` over the admin API, steps as configured.
    pub async fn start_rollout(&self, model: &str, version: &str) -> pb::Rollout {
        let mut client = DeploymentServiceClient::connect(self.grpc.clone())
            .await
            .expect("the admin API answers");
        client
            .start_rollout(pb::StartRolloutRequest {
                model_name: model.to_owned(),
                to_version: version.to_owned(),
                strategy: pb::Strategy::Canary as i32,
                steps: Vec::new(),
                skip_gate: false,
            })
            .await
            .expect("the rollout starts")
            .into_inner()
    }

    /// The rollout as the HTTP API shows it (the stored JSON).
    pub async fn rollout(&self, id: &str) -> Value {
        reqwest::get(format!("{}/v1/rollouts/{id}", self.http))
            .await
            .expect("the HTTP API answers")
            .json()
            .await
            .expect("a JSON rollout")
    }

    /// Stops it and waits for it to drain.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(service) = self.service.take() {
            service.wait().await.expect("the deployment manager drains");
        }
    }
}

/// The `RolloutEvent` records of `topic` (keyed by model), decoded, once `expected` arrived.
pub async fn rollout_events(
    brokers: &str,
    topic: &str,
    expected: usize,
) -> Vec<BTreeMap<String, apache_avro::types::Value>> {
    let records = broker::read_topic(brokers, topic, expected, Duration::from_secs(30)).await;
    let codec = lucid_avro::Codec::single_object(lucid_avro::SchemaSet::shipped());
    let mut events: Vec<BTreeMap<String, apache_avro::types::Value>> = Vec::new();
    for record in records {
        let decoded = codec
            .decode(&record.payload, lucid_avro::ROLLOUT_EVENT)
            .await
            .expect("a RolloutEvent");
        let apache_avro::types::Value::Record(fields) = decoded.value else {
            panic!("a record")
        };
        events.push(fields.into_iter().collect());
    }
    events.sort_by_key(|e| match e.get("event_time") {
        Some(apache_avro::types::Value::TimestampMillis(t)) => *t,
        other => panic!("event_time: {other:?}"),
    });
    events
}
