//! Shared helpers of the integration tests: the real local stack (Tansu and Redis from
//! `scripts/stack up`, MLflow from `scripts/stack up mlflow`), topics, alerts and run records.
//! A missing system fails the test with how to start it; nothing is skipped.

#![allow(dead_code)]

pub mod pipeline;

use std::{net::TcpStream, path::PathBuf, time::Duration};

use apache_avro::types::Value;
use lucid_avro::{Codec, DRIFT_ALERT, RETRAINING_RUN, SchemaSet};
use lucid_kafka::{KafkaConfig, read::ReadUntil};
use lucid_retraining_trigger::policy::{Alert, AlertReason, Band};

/// Where the local stack listens, from the scripts' variables.
pub struct Stack {
    pub brokers: String,
    pub redis_url: String,
}

fn answers(addr: &str) -> bool {
    addr.parse()
        .is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok())
}

impl Stack {
    /// The running broker and Redis; panics with instructions when one does not answer.
    pub fn require() -> Stack {
        let brokers =
            std::env::var("LUCID_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into());
        let redis_url =
            std::env::var("LUCID_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:16379".into());
        let redis_addr = redis_url
            .trim_start_matches("redis://")
            .trim_end_matches('/');
        for (name, addr) in [
            ("broker", brokers.split(',').next().unwrap_or_default()),
            ("redis", redis_addr),
        ] {
            assert!(
                answers(addr),
                "{name} is not reachable at {addr}: start the local stack with `scripts/stack up`"
            );
        }
        Stack { brokers, redis_url }
    }

    pub fn kafka(&self) -> KafkaConfig {
        KafkaConfig {
            brokers: self.brokers.clone(),
            ..Default::default()
        }
    }
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A name no other test run uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Creates one-partition topics.
pub async fn create_topics(stack: &Stack, topics: &[&str]) {
    lucid_kafka::admin::ensure_topics(&stack.kafka(), topics, 1)
        .await
        .expect("topics can be created on the test broker");
}

/// A drift alert of monitor `listening-outcomes` for `model`.
pub fn alert(id: &str, model: &str, band: Band, window: (i64, i64), count: i64) -> Alert {
    Alert {
        alert_id: id.into(),
        monitor: "listening-outcomes".into(),
        model_name: Some(model.into()),
        band,
        reason: AlertReason::Entered,
        window_start: window.0,
        window_end: window.1,
        current_count: count,
    }
}

/// The bytes the drift detector would publish for `alert` (single-object Avro).
pub async fn alert_bytes(alert: &Alert) -> Vec<u8> {
    let codec = Codec::single_object(SchemaSet::shipped());
    let encoder = codec
        .encoder(DRIFT_ALERT, "drift-alerts-value")
        .await
        .expect("the shipped schema");
    encoder
        .encode(lucid_retraining_trigger::alert::record(
            alert,
            alert.window_end,
        ))
        .expect("the record follows the schema")
}

/// Produces `payload` keyed by the monitor, as the drift detector does.
pub async fn produce(stack: &Stack, topic: &str, payload: &[u8]) {
    let producer = lucid_kafka::Producer::new(&stack.kafka(), "tests", Default::default())
        .expect("producer settings");
    producer
        .send(topic, Some(b"listening-outcomes"), payload)
        .expect("queued")
        .await
        .expect("the broker confirms");
}

/// One `RetrainingRun` record as read back.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub run_id: String,
    pub model_name: String,
    pub dedupe_key: String,
    pub status: String,
    pub reason: String,
    pub alert_ids: Vec<String>,
    pub model_version: Option<String>,
    pub metrics: Vec<(String, Option<f64>)>,
}

/// Reads `topic` until `expected` records arrived (or, without `expected`, the end) and
/// nothing more for 1.5 s, or until `timeout`.
pub async fn read_runs(
    stack: &Stack,
    topic: &str,
    expected: Option<usize>,
    timeout: Duration,
) -> Vec<RunRecord> {
    let until = ReadUntil {
        expected,
        idle: Duration::from_millis(1500),
        timeout,
    };
    let records = lucid_kafka::read::read_all(&stack.kafka(), topic, until)
        .await
        .expect("the runs topic can be read");
    let codec = Codec::single_object(SchemaSet::shipped());
    let mut runs = Vec::new();
    for record in records {
        let decoded = codec
            .decode(&record.payload, RETRAINING_RUN)
            .await
            .expect("a RetrainingRun");
        runs.push(run_record(decoded.value));
    }
    runs
}

/// Waits until a record with a final run status (SUCCEEDED or FAILED) is on `topic`.
pub async fn wait_final(stack: &Stack, topic: &str, timeout: Duration) -> Vec<RunRecord> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let runs = read_runs(stack, topic, None, Duration::from_secs(5)).await;
        if runs
            .iter()
            .any(|r| r.status == "SUCCEEDED" || r.status == "FAILED")
        {
            return runs;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no run finished within {timeout:?}: {runs:#?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn run_record(value: Value) -> RunRecord {
    let Value::Record(fields) = value else {
        panic!("a record")
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .expect("field present")
    };
    let text = |v: Value| match v {
        Value::String(s) => s,
        Value::Enum(_, s) => s,
        other => panic!("not text: {other:?}"),
    };
    let optional = |v: Value| match v {
        Value::Union(_, inner) => match *inner {
            Value::Null => None,
            other => Some(other),
        },
        other => Some(other),
    };
    let metrics = match optional(field("metrics")) {
        Some(Value::Map(map)) => {
            let mut pairs: Vec<_> = map
                .into_iter()
                .map(|(k, v)| match optional(v) {
                    Some(Value::Double(d)) => (k, Some(d)),
                    _ => (k, None),
                })
                .collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            pairs
        }
        _ => Vec::new(),
    };
    let Value::Array(ids) = field("alert_ids") else {
        panic!("alert ids")
    };
    RunRecord {
        run_id: text(field("run_id")),
        model_name: text(field("model_name")),
        dedupe_key: text(field("dedupe_key")),
        status: text(field("status")),
        reason: text(field("reason")),
        alert_ids: ids.into_iter().map(text).collect(),
        model_version: optional(field("model_version")).map(text),
        metrics,
    }
}
