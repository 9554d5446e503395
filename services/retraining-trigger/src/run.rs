//! A retraining run as the trigger stores it (JSON in Redis), publishes it (`RetrainingRun`
//! on `retraining-runs`, `schemas/retraining-run.avsc`) and serves it (gRPC `Run`).

use std::collections::{BTreeMap, HashMap};

use apache_avro::types::Value;
use lucid_proto::retraining::v1 as pb;
use serde::{Deserialize, Serialize};

use crate::policy::BackendKind;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Decided and recorded; the backend has not accepted it yet.
    Requested,
    /// The backend accepted it.
    Started,
    /// It registered a model version.
    Succeeded,
    /// It failed, timed out or was stopped.
    Failed,
    /// A decision not to run.
    Skipped,
}

impl Status {
    /// The Avro symbol, also the metric label.
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Requested => "REQUESTED",
            Status::Started => "STARTED",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::Skipped => "SKIPPED",
        }
    }

    fn index(self) -> u32 {
        self as u32
    }

    /// True once nothing more happens to the run.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Skipped)
    }
}

/// What decided a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// Sustained drift alerts.
    Alerts,
    /// An operator's `RequestRun`.
    Manual,
}

/// One run (or one skipped decision) and everything known about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// UUID v7.
    pub run_id: String,
    /// The model to retrain.
    pub model_name: String,
    /// See `policy::dedupe_key`.
    pub dedupe_key: String,
    /// Where it executes.
    pub backend: BackendKind,
    /// What decided it.
    pub trigger: Trigger,
    /// The alerts behind it, oldest first.
    pub alert_ids: Vec<String>,
    /// Where it stands.
    pub status: Status,
    /// The decision's reason, or the failure.
    pub reason: String,
    /// The backend's id, once started.
    pub external_id: Option<String>,
    /// The registered version, once succeeded.
    pub model_version: Option<String>,
    /// Evaluation metrics the run reported; `None` for a metric it could not compute.
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Wall clock of the decision, epoch ms.
    pub requested_time: i64,
    /// Wall clock of the backend's acceptance, epoch ms.
    pub started_time: Option<i64>,
    /// Wall clock of the end, epoch ms.
    pub finished_time: Option<i64>,
}

impl Run {
    /// The `RetrainingRun` record of this run's current state, changed at `event_time`.
    pub fn to_avro(&self, event_time: i64) -> Value {
        let text = |v: &Option<String>| match v {
            Some(v) => Value::Union(1, Box::new(Value::String(v.clone()))),
            None => Value::Union(0, Box::new(Value::Null)),
        };
        let time = |v: Option<i64>| match v {
            Some(v) => Value::Union(1, Box::new(Value::TimestampMillis(v))),
            None => Value::Union(0, Box::new(Value::Null)),
        };
        let metrics = if self.metrics.is_empty() {
            Value::Union(0, Box::new(Value::Null))
        } else {
            let map: HashMap<String, Value> = self
                .metrics
                .iter()
                .map(|(k, v)| {
                    let value = match v {
                        Some(v) => Value::Union(1, Box::new(Value::Double(*v))),
                        None => Value::Union(0, Box::new(Value::Null)),
                    };
                    (k.clone(), value)
                })
                .collect();
            Value::Union(1, Box::new(Value::Map(map)))
        };
        let (trigger_index, trigger) = match self.trigger {
            Trigger::Alerts => (0, "ALERTS"),
            Trigger::Manual => (1, "MANUAL"),
        };
        let ids = self
            .alert_ids
            .iter()
            .map(|id| Value::String(id.clone()))
            .collect();
        Value::Record(vec![
            ("run_id".into(), Value::String(self.run_id.clone())),
            ("model_name".into(), Value::String(self.model_name.clone())),
            ("dedupe_key".into(), Value::String(self.dedupe_key.clone())),
            ("backend".into(), Value::String(self.backend.to_string())),
            ("trigger".into(), Value::Enum(trigger_index, trigger.into())),
            ("alert_ids".into(), Value::Array(ids)),
            (
                "status".into(),
                Value::Enum(self.status.index(), self.status.symbol().into()),
            ),
            ("reason".into(), Value::String(self.reason.clone())),
            ("external_id".into(), text(&self.external_id)),
            ("model_version".into(), text(&self.model_version)),
            ("metrics".into(), metrics),
            (
                "requested_time".into(),
                Value::TimestampMillis(self.requested_time),
            ),
            ("started_time".into(), time(self.started_time)),
            ("finished_time".into(), time(self.finished_time)),
            ("event_time".into(), Value::TimestampMillis(event_time)),
        ])
    }

    /// The gRPC message.
    pub fn to_pb(&self) -> pb::Run {
        let status = match self.status {
            Status::Requested => pb::RunStatus::Requested,
            Status::Started => pb::RunStatus::Started,
            Status::Succeeded => pb::RunStatus::Succeeded,
            Status::Failed => pb::RunStatus::Failed,
            Status::Skipped => pb::RunStatus::Skipped,
        };
        pb::Run {
            run_id: self.run_id.clone(),
            model_name: self.model_name.clone(),
            dedupe_key: self.dedupe_key.clone(),
            backend: self.backend.to_string(),
            trigger: match self.trigger {
                Trigger::Alerts => "alerts".into(),
                Trigger::Manual => "manual".into(),
            },
            alert_ids: self.alert_ids.clone(),
            status: status as i32,
            reason: self.reason.clone(),
            external_id: self.external_id.clone().unwrap_or_default(),
            model_version: self.model_version.clone().unwrap_or_default(),
            metrics: self
                .metrics
                .iter()
                .filter_map(|(k, v)| v.map(|v| (k.clone(), v)))
                .collect(),
            requested_unix_ms: self.requested_time,
            started_unix_ms: self.started_time.unwrap_or(0),
            finished_unix_ms: self.finished_time.unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lucid_avro::{Codec, RETRAINING_RUN, SchemaSet};

    #[tokio::test]
    async fn a_succeeded_run_encodes_with_the_shipped_schema_and_reads_back() {
        let run = Run {
            run_id: "r1".into(),
            model_name: "skip-model".into(),
            dedupe_key: "retrain-skip-model-0123".into(),
            backend: BackendKind::Ray,
            trigger: Trigger::Alerts,
            alert_ids: vec!["a1".into(), "a2".into()],
            status: Status::Succeeded,
            reason: String::new(),
            external_id: Some("retrain-skip-model-0123".into()),
            model_version: Some("4".into()),
            metrics: [("auc".to_string(), Some(0.61)), ("ece".to_string(), None)].into(),
            requested_time: 10,
            started_time: Some(20),
            finished_time: Some(30),
        };
        let codec = Codec::single_object(SchemaSet::shipped());
        let encoder = codec
            .encoder(RETRAINING_RUN, "retraining-runs-value")
            .await
            .expect("schema");
        let bytes = encoder.encode(run.to_avro(30)).expect("follows the schema");
        let Value::Record(fields) = codec
            .decode(&bytes, RETRAINING_RUN)
            .await
            .expect("reads back")
            .value
        else {
            panic!("a record")
        };
        let get = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        assert_eq!(get("status"), Some(&Value::Enum(2, "SUCCEEDED".into())));
        assert_eq!(get("backend"), Some(&Value::String("ray".into())));
        assert_eq!(
            get("model_version"),
            Some(&Value::Union(1, Box::new(Value::String("4".into()))))
        );
        let Some(Value::Union(1, map)) = get("metrics") else {
            panic!("metrics present")
        };
        let Value::Map(map) = map.as_ref() else {
            panic!("a map")
        };
        assert_eq!(
            map.get("auc"),
            Some(&Value::Union(1, Box::new(Value::Double(0.61))))
        );
        assert_eq!(
            map.get("ece"),
            Some(&Value::Union(0, Box::new(Value::Null)))
        );
    }
}
