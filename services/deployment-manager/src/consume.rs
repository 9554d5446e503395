//! The consumer: predictions and listening events feed the join and the live numbers;
//! succeeded retraining runs start rollouts of the versions they registered.
//!
//! Predictions and events are read from `lookback` ago on every start (by timestamp), so the
//! step in force of a resumed rollout is rebuilt; retraining runs from their end (the registry
//! poll covers versions registered while the service was down). Offsets are committed for lag
//! monitoring only: what must survive a restart, the rollouts, lives in Redis.

use std::time::Duration;

use apache_avro::types::Value;
use lucid_avro::Codec;
use lucid_events::{Action, ListeningEvent};
use rdkafka::{
    Message, Offset, TopicPartitionList,
    consumer::{CommitMode, Consumer, StreamConsumer},
};
use tokio_util::sync::CancellationToken;

use crate::join::{Joiner, Outcome, Prediction};
use crate::manager::Manager;
use crate::metrics as m;

/// The loop's parts.
pub struct Consume {
    pub(crate) consumer: StreamConsumer,
    pub(crate) codec: Codec,
    pub(crate) joiner: Joiner,
    pub(crate) manager: Manager,
}

impl Consume {
    /// Reads until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.assign()?;
        let mut undecodable = 0u64;
        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => break,
                message = self.consumer.recv() => message,
            };
            let message = match message {
                Ok(message) => message.detach(),
                Err(error) => {
                    tracing::warn!(%error, "consumer error");
                    continue;
                }
            };
            let topic = message.topic().to_owned();
            metrics::counter!(m::RECORDS, "topic" => topic.clone()).increment(1);
            let payload = message.payload().unwrap_or_default();
            let logged_ms = message
                .timestamp()
                .to_millis()
                .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
            if let Err(error) = self.handle(&topic, payload, logged_ms).await {
                metrics::counter!(m::UNDECODABLE, "topic" => topic.clone()).increment(1);
                if undecodable.is_power_of_two() {
                    tracing::warn!(topic, %error, seen = undecodable + 1, "record left out: undecodable");
                }
                undecodable += 1;
            }
        }
        let _ = self.consumer.commit_consumer_state(CommitMode::Sync);
        tracing::info!("deployment manager consumer stopped");
        Ok(())
    }

    fn assign(&self) -> anyhow::Result<()> {
        let config = &self.manager.config;
        let since = chrono::Utc::now().timestamp_millis() - config.lookback.as_millis() as i64;
        let mut by_time = TopicPartitionList::new();
        let mut assignment = TopicPartitionList::new();
        for topic in [&config.predictions_topic, &config.events_topic] {
            for partition in 0..self.partitions(topic)? {
                by_time.add_partition_offset(topic, partition, Offset::Offset(since))?;
            }
        }
        match self
            .consumer
            .offsets_for_times(by_time.clone(), Duration::from_secs(10))
        {
            Ok(found) => {
                for e in found.elements() {
                    // No record after the time: start at the end.
                    let offset = match e.offset() {
                        Offset::Offset(o) if o >= 0 => Offset::Offset(o),
                        _ => Offset::End,
                    };
                    assignment.add_partition_offset(e.topic(), e.partition(), offset)?;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "offsets by time unavailable: reading from the beginning");
                for e in by_time.elements() {
                    assignment.add_partition_offset(e.topic(), e.partition(), Offset::Beginning)?;
                }
            }
        }
        let runs = &config.retraining_topic;
        for partition in 0..self.partitions(runs)? {
            assignment.add_partition_offset(runs, partition, Offset::End)?;
        }
        self.consumer.assign(&assignment)?;
        Ok(())
    }

    fn partitions(&self, topic: &str) -> anyhow::Result<i32> {
        let metadata = self
            .consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .map_err(|e| anyhow::anyhow!("failed to read the partitions of {topic}: {e}"))?;
        let count = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions().len())
            .unwrap_or(0);
        if count == 0 {
            anyhow::bail!("topic {topic} does not exist (scripts/stack up creates it)");
        }
        Ok(count as i32)
    }

    /// One record; `logged_ms` is its timestamp.
    async fn handle(&mut self, topic: &str, payload: &[u8], logged_ms: i64) -> Result<(), String> {
        let config = &self.manager.config;
        if topic == config.predictions_topic {
            let decoded = self
                .codec
                .decode(payload, lucid_avro::PREDICTION_LOG)
                .await
                .map_err(|e| e.to_string())?;
            self.prediction(&decoded.value, logged_ms)
        } else if topic == config.events_topic {
            let decoded = self
                .codec
                .decode(payload, lucid_avro::LISTENING_EVENT)
                .await
                .map_err(|e| e.to_string())?;
            let event = ListeningEvent::from_avro(decoded.value).map_err(|e| e.to_string())?;
            self.event(&event);
            Ok(())
        } else {
            let decoded = self
                .codec
                .decode(payload, lucid_avro::RETRAINING_RUN)
                .await
                .map_err(|e| e.to_string())?;
            self.retraining_run(&decoded.value).await;
            Ok(())
        }
    }

    /// A prediction, logged by the gateway at `served_ms`: the step it counts for is the one in
    /// force then, whatever time it was made as of.
    fn prediction(&mut self, value: &Value, served_ms: i64) -> Result<(), String> {
        let p = PredictionFields::read(value)?;
        let live = &self.manager.live;
        if !live.wants(&p.model, &p.version) {
            return Ok(());
        }
        live.prediction(&p.model, &p.version, served_ms, p.score, p.latency_us);
        let (Some(session_id), Some(track_id)) = (p.session, p.track) else {
            return Ok(());
        };
        let prediction = Prediction {
            model: p.model,
            version: p.version,
            session_id,
            track_id,
            score: p.score,
            predicted_ms: p.at,
            served_ms,
        };
        if let Some(scored) = self.joiner.prediction(prediction) {
            self.joined(&scored);
        }
        Ok(())
    }

    fn event(&mut self, event: &ListeningEvent) {
        let label = match event.action {
            Action::Skip => 1,
            Action::Complete => 0,
            _ => return,
        };
        let Some(track) = event.track_id else { return };
        let outcome = Outcome {
            label,
            event_ms: event.event_time,
        };
        for scored in self.joiner.outcome(&event.session_id, track, outcome) {
            self.joined(&scored);
        }
    }

    fn joined(&self, scored: &crate::join::Scored) {
        let p = &scored.prediction;
        metrics::counter!(m::JOINED, "model" => p.model.clone()).increment(1);
        self.manager
            .live
            .outcome(&p.model, &p.version, p.served_ms, p.score, scored.label);
    }

    async fn retraining_run(&self, value: &Value) {
        let Value::Record(fields) = value else { return };
        let text = |name: &str| match fields.iter().find(|(n, _)| n == name).map(|(_, v)| v) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Enum(_, s)) => Some(s.clone()),
            Some(Value::Union(_, inner)) => match inner.as_ref() {
                Value::String(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        };
        let (Some(model), Some(status)) = (text("model_name"), text("status")) else {
            return;
        };
        let Some(version) = text("model_version") else {
            return;
        };
        if status != "SUCCEEDED" || !self.manager.config.auto_start {
            return;
        }
        if let Err(error) = self
            .manager
            .start_version(&model, &version, "retraining run succeeded")
            .await
        {
            tracing::warn!(
                model,
                version,
                error = format!("{error:#}"),
                "failed to start a rollout of a retrained version"
            );
        }
    }
}

/// The fields of a `PredictionLog` the analysis reads.
struct PredictionFields {
    model: String,
    version: String,
    session: Option<String>,
    track: Option<i64>,
    score: f64,
    at: i64,
    latency_us: i64,
}

impl PredictionFields {
    fn read(value: &Value) -> Result<PredictionFields, String> {
        let Value::Record(fields) = value else {
            return Err("a prediction log is not a record".into());
        };
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| match v {
                    Value::Union(_, inner) => inner.as_ref(),
                    other => other,
                })
        };
        let text = |name: &str| match field(name) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let long = |name: &str| match field(name) {
            Some(Value::Long(v) | Value::TimestampMillis(v)) => Some(*v),
            _ => None,
        };
        Ok(PredictionFields {
            model: text("model_name").ok_or("prediction log has no model_name")?,
            version: text("model_version").ok_or("prediction log has no model_version")?,
            session: text("session_id"),
            track: long("track_id"),
            score: match field("score") {
                Some(Value::Double(v)) => *v,
                _ => return Err("prediction log has no score".into()),
            },
            at: long("predicted_time").ok_or("prediction log has no predicted_time")?,
            latency_us: long("latency_us").unwrap_or(0),
        })
    }
}
