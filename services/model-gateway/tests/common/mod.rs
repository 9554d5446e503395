//! The world of a gateway test: the local stack (Tansu, Redis, MLflow), simulated listening
//! applied by the feature store in-process, skip-model versions registered in MLflow, and the
//! gateway in-process.
//!
//! The registered ONNX file is the Rust scorer's fixture (`crates/lucid-model/fixtures`), which
//! `scripts/train-local --fixture` exported with the reference pipeline from simulated
//! listening; it is registered over MLflow's REST API exactly as the pipeline's register step
//! lays it out (run artifacts under `model/`, source `runs:/<run id>/model`), so the tests
//! need no Python and take seconds, not the pipeline's minutes.

#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    path::PathBuf,
    time::{Duration, Instant},
};

use chrono::{TimeDelta, Utc};
use lucid_events::{Action, ListeningEvent};
use lucid_proto::features::v1::{
    self as pb, feature_service_client::FeatureServiceClient, feature_value::Status,
};
use lucid_simulator::{SimConfig, simulate};
use lucid_tests::{Stack, broker, catalog_dir, expected_pseudonym, unique};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The exported skip model every test registers.
pub fn fixture_onnx() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/lucid-model/fixtures/skip-model/model.onnx")
}

/// The MLflow URL of the stack; panics with instructions when it does not answer.
pub async fn require_mlflow() -> String {
    let url = std::env::var("LUCID_MLFLOW_URL").unwrap_or_else(|_| "http://127.0.0.1:15000".into());
    let health = reqwest::get(format!("{url}/health")).await;
    if !health.is_ok_and(|r| r.status().is_success()) {
        panic!("MLflow is not reachable at {url}: start it with `scripts/stack up mlflow`");
    }
    url
}

/// A small MLflow REST client for registering versions as the pipeline does.
pub struct Mlflow {
    pub url: String,
    http: reqwest::Client,
}

impl Mlflow {
    pub fn new(url: &str) -> Self {
        Mlflow {
            url: url.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let answer = self
            .http
            .post(format!("{}/api/2.0/mlflow/{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("mlflow answers");
        let status = answer.status();
        let body: Value = answer.json().await.expect("mlflow answers JSON");
        assert!(status.is_success(), "mlflow {path}: {status} {body}");
        body
    }

    /// Registers `onnx` as a new version of `model`: a run holding it as `model/model.onnx`,
    /// then a version with source `runs:/<run>/model`. Returns the version.
    pub async fn register(&self, model: &str, onnx: &[u8]) -> String {
        let experiment = self
            .post(
                "experiments/create",
                json!({ "name": unique("gateway-test") }),
            )
            .await;
        let experiment_id = experiment["experiment_id"]
            .as_str()
            .expect("an experiment id")
            .to_owned();
        let run = self
            .post("runs/create", json!({ "experiment_id": experiment_id }))
            .await;
        let run_id = run["run"]["info"]["run_id"]
            .as_str()
            .expect("a run id")
            .to_owned();
        let artifact_uri = run["run"]["info"]["artifact_uri"]
            .as_str()
            .expect("an artifact uri");
        let proxied = artifact_uri
            .strip_prefix("mlflow-artifacts:")
            .expect("the stack's MLflow proxies artifacts")
            .trim_start_matches('/');
        let uploaded = self
            .http
            .put(format!(
                "{}/api/2.0/mlflow-artifacts/artifacts/{proxied}/model/model.onnx",
                self.url
            ))
            .body(onnx.to_vec())
            .send()
            .await
            .expect("mlflow answers");
        assert!(
            uploaded.status().is_success(),
            "artifact upload: {}",
            uploaded.status()
        );
        self.post(
            "runs/update",
            json!({ "run_id": run_id, "status": "FINISHED" }),
        )
        .await;

        let created = self
            .http
            .post(format!(
                "{}/api/2.0/mlflow/registered-models/create",
                self.url
            ))
            .json(&json!({ "name": model }))
            .send()
            .await
            .expect("mlflow answers");
        // RESOURCE_ALREADY_EXISTS is the expected answer from the second version on.
        assert!(
            created.status().is_success() || created.status() == 400,
            "{}",
            created.status()
        );
        let version = self
            .post(
                "model-versions/create",
                json!({ "name": model, "source": format!("runs:/{run_id}/model"), "run_id": run_id }),
            )
            .await;
        version["model_version"]["version"]
            .as_str()
            .expect("a version")
            .to_owned()
    }

    /// Points `alias` of `model` at `version`.
    pub async fn set_alias(&self, model: &str, alias: &str, version: &str) {
        self.post(
            "registered-models/alias",
            json!({ "name": model, "alias": alias, "version": version }),
        )
        .await;
    }
}

/// Simulated listening ending now: 20 minutes, so no session grows stale (30 min) during a test.
pub fn simulated_events(seed: u64) -> Vec<ListeningEvent> {
    let catalog = lucid_catalog::Catalog::load(catalog_dir()).expect("catalog");
    let mut sim = SimConfig::ending_at(Utc::now(), TimeDelta::minutes(20));
    (sim.seed, sim.listeners, sim.sessions) = (seed, 40, 80);
    simulate(&catalog, sim)
        .expect("simulates")
        .iter()
        .map(|e| ListeningEvent::from_input(e, expected_pseudonym("k", &e.user_id), Utc::now()))
        .collect()
}

/// Plays (user, session, track) of `events`, grouped by user, users with most plays first.
pub fn plays_by_user(events: &[ListeningEvent]) -> Vec<(String, Vec<(String, i64)>)> {
    let mut by_user: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.action == Action::Play) {
        if let Some(track) = e.track_id {
            by_user
                .entry(e.user_pseudonym.clone())
                .or_default()
                .push((e.session_id.clone(), track));
        }
    }
    let mut users: Vec<_> = by_user.into_iter().collect();
    users.sort_by_key(|(_, plays)| std::cmp::Reverse(plays.len()));
    users
}

/// The feature store in-process on its own topic holding `events`, once it applied them all.
pub async fn start_store(
    stack: &Stack,
    events: &[ListeningEvent],
    shutdown: CancellationToken,
) -> lucid_feature_store::Service {
    lucid_tests::feature_store::start_with_events(
        stack,
        "gateway-fs",
        events,
        Duration::from_secs(120),
        shutdown,
    )
    .await
}

/// A gateway serving `model`, with its own Redis prefix and predictions topic.
pub struct Gateway {
    pub http: String,
    pub grpc: String,
    pub prefix: String,
    pub predictions: String,
    pub model: String,
    service: Option<lucid_model_gateway::Service>,
    shutdown: CancellationToken,
}

impl Gateway {
    /// Starts the gateway; returns once `/v2/health/ready` says ready.
    pub async fn start(stack: &Stack, mlflow: &str, store_grpc: &str, model: &str) -> Gateway {
        let predictions = unique("predictions");
        broker::create_topics(&stack.brokers, &[&predictions], 3).await;
        let config = lucid_model_gateway::Config {
            grpc_addr: ([127, 0, 0, 1], 0).into(),
            http_addr: ([127, 0, 0, 1], 0).into(),
            models: vec![model.to_owned()],
            mlflow_url: mlflow.to_owned(),
            feature_store_url: format!("http://{store_grpc}"),
            redis_url: stack.redis_url.clone(),
            redis_prefix: unique("gateway"),
            route_poll_interval: Duration::from_millis(100),
            kafka: broker::kafka(&stack.brokers),
            predictions_topic: predictions.clone(),
            ..Default::default()
        };
        let prefix = config.redis_prefix.clone();
        let shutdown = CancellationToken::new();
        let service = lucid_model_gateway::start(config, shutdown.clone())
            .await
            .expect("the gateway starts");
        let gateway = Gateway {
            http: format!("http://{}", service.http_addr),
            grpc: format!("http://{}", service.grpc_addr),
            prefix,
            predictions,
            model: model.to_owned(),
            service: Some(service),
            shutdown,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = reqwest::get(format!("{}/v2/health/ready", gateway.http)).await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return gateway;
            }
            assert!(
                Instant::now() < deadline,
                "the gateway did not become ready in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Infers over HTTP with a plain JSON body; the status and the JSON answer.
    pub async fn infer(&self, body: &Value) -> (u16, Value) {
        let answer = reqwest::Client::new()
            .post(format!("{}/v2/models/{}/infer", self.http, self.model))
            .json(body)
            .send()
            .await
            .expect("the gateway answers");
        let status = answer.status().as_u16();
        (status, answer.json().await.expect("a JSON answer"))
    }

    /// Stops the gateway and waits for it to drain.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(service) = self.service.take() {
            service.wait().await.expect("the gateway drains");
        }
    }
}

/// A V2 entity-id request body for `user` and `(session, track)` rows.
pub fn entity_body(request_id: &str, user: &str, rows: &[(String, i64)]) -> Value {
    let n = rows.len();
    json!({
        "parameters": { "request_id": request_id },
        "inputs": [
            { "name": "user_id", "datatype": "BYTES", "shape": [n], "data": vec![user; n] },
            { "name": "session_id", "datatype": "BYTES", "shape": [n],
              "data": rows.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>() },
            { "name": "track_id", "datatype": "INT64", "shape": [n],
              "data": rows.iter().map(|(_, t)| *t).collect::<Vec<_>>() },
        ],
    })
}

/// The model's features for one row, read from the feature store directly (not through the
/// gateway): each feature's view names its entity (`session_activity` the session,
/// `user_behaviour` the user, `track_popularity` the track, as in features.toml); only present
/// values count, as in the training set.
pub async fn features_of(
    store: &mut FeatureServiceClient<tonic::transport::Channel>,
    features: &[String],
    user: &str,
    session: &str,
    track: i64,
) -> Vec<Option<f64>> {
    let mut values = Vec::with_capacity(features.len());
    for feature in features {
        let (entity, id) = match feature.split(':').next() {
            Some("session_activity") => ("session", session.to_owned()),
            Some("user_behaviour") => ("user", user.to_owned()),
            Some("track_popularity") => ("track", track.to_string()),
            other => panic!("feature view {other:?} is not in the starter set"),
        };
        let answer = store
            .get_online_features(pb::GetOnlineFeaturesRequest {
                entity_type: entity.into(),
                entity_ids: vec![id],
                features: vec![feature.clone()],
                ..Default::default()
            })
            .await
            .expect("the feature store answers")
            .into_inner();
        let value = &answer.entities[0].values[0];
        values.push(
            (value.status == Status::Present as i32)
                .then_some(value.value)
                .flatten(),
        );
    }
    values
}

/// Decoded `PredictionLog` records of `topic`, once `expected` arrived.
pub async fn predictions(
    brokers: &str,
    topic: &str,
    expected: usize,
) -> Vec<(Option<String>, BTreeMap<String, apache_avro::types::Value>)> {
    let records = broker::read_topic(brokers, topic, expected, Duration::from_secs(30)).await;
    let codec = lucid_avro::Codec::single_object(lucid_avro::SchemaSet::shipped());
    let mut out = Vec::new();
    for record in records {
        let decoded = codec
            .decode(&record.payload, lucid_avro::PREDICTION_LOG)
            .await
            .expect("a PredictionLog");
        let apache_avro::types::Value::Record(fields) = decoded.value else {
            panic!("a record")
        };
        let key = record.key.map(|k| String::from_utf8(k).expect("utf-8 key"));
        out.push((key, fields.into_iter().collect()));
    }
    out
}
