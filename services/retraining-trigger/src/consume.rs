//! The alert loop: every partition of `drift-alerts` with an offset stored in Redis is read from
//! the beginning and records below that offset are passed over, so the decision and its offset
//! are one commit and a replay after a restart decides nothing twice. (Reading from the start
//! rather than seeking: Tansu 0.6 answers a fetch that starts inside a stored batch with no
//! records, see docs/feature-store.md.) A partition without a stored offset, on a first start,
//! is read from its end unless `replay_alerts` is set. Kafka offsets are committed for lag
//! monitoring only.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use lucid_avro::{Codec, DRIFT_ALERT};
use rdkafka::{
    Message, Offset, TopicPartitionList,
    consumer::{CommitMode, Consumer, StreamConsumer},
};
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::metrics as m;

/// What the loop needs.
pub struct AlertLoop {
    pub(crate) consumer: StreamConsumer,
    pub(crate) codec: Codec,
    pub(crate) topic: String,
    /// Read from the beginning where no offset is stored (`Config::replay_alerts`).
    pub(crate) replay: bool,
    pub(crate) engine: Arc<Engine>,
}

impl AlertLoop {
    /// Reads until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut next: BTreeMap<i32, i64> = self.engine.store.offsets().await?;
        self.assign(&next)?;
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
            let (partition, offset) = (message.partition(), message.offset());
            if offset < next.get(&partition).copied().unwrap_or(0) {
                metrics::counter!(m::ALERTS, "outcome" => "replayed").increment(1);
                continue;
            }
            let payload = message.payload().unwrap_or_default();
            let alert = match self.codec.decode(payload, DRIFT_ALERT).await {
                Ok(decoded) => crate::alert::from_avro(decoded.value),
                Err(error) => Err(error.to_string()),
            };
            match alert {
                Ok(alert) => {
                    if !self.decide(&alert, partition, offset, &shutdown).await {
                        break;
                    }
                    metrics::counter!(m::ALERTS, "outcome" => "decided").increment(1);
                }
                Err(error) => {
                    metrics::counter!(m::ALERTS, "outcome" => "undecodable").increment(1);
                    if undecodable.is_power_of_two() {
                        tracing::warn!(partition, offset, %error, seen = undecodable + 1, "alert left out: undecodable");
                    }
                    undecodable += 1;
                    let _ = self.engine.store.set_offset(partition, offset + 1).await;
                }
            }
            next.insert(partition, offset + 1);
        }
        let _ = self.consumer.commit_consumer_state(CommitMode::Sync);
        tracing::info!("alert loop stopped");
        Ok(())
    }

    /// Decides on one alert, retrying while Redis is away; false when shut down first.
    async fn decide(
        &self,
        alert: &crate::policy::Alert,
        partition: i32,
        offset: i64,
        shutdown: &CancellationToken,
    ) -> bool {
        loop {
            match self.engine.on_alert(alert, Some((partition, offset))).await {
                Ok(_) => return true,
                Err(error) => {
                    tracing::warn!(alert_id = alert.alert_id, %error, "failed to store a decision; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return false,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }

    /// From the beginning every partition with a stored offset (the loop passes over what lies
    /// below it), and without one only when replaying; else from its end.
    fn assign(&self, stored: &BTreeMap<i32, i64>) -> anyhow::Result<()> {
        let topic = &self.topic;
        let metadata = self
            .consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .map_err(|e| anyhow::anyhow!("failed to read the partitions of {topic}: {e}"))?;
        let partitions = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions().len())
            .unwrap_or(0);
        if partitions == 0 {
            anyhow::bail!("topic {topic} does not exist (scripts/stack up creates it)");
        }
        let mut assignment = TopicPartitionList::new();
        for partition in 0..partitions as i32 {
            let offset = if stored.contains_key(&partition) || self.replay {
                Offset::Beginning
            } else {
                Offset::End
            };
            assignment.add_partition_offset(topic, partition, offset)?;
        }
        self.consumer.assign(&assignment)?;
        Ok(())
    }
}
