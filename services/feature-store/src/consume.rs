//! The consumer loop: batches of listening events become tile updates in Redis.
//!
//! Per batch and partition: skip records below the stored offset, decode, dead-letter what
//! cannot be decoded (and wait for the broker to confirm it), drop late events, combine the rest
//! into tile updates and apply them with the new offset in one script. Kafka commits follow,
//! for lag monitoring only. A failure retries the same records with backoff, so the partition
//! neither skips nor double-counts.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use chrono::Utc;
use lucid_avro::{Codec, LISTENING_EVENT};
use lucid_events::{ListeningEvent, RejectedEvent, RejectionSource};
use lucid_features::{Admission, Observation, Registry, TrackAttrs, Watermark};
use lucid_kafka::Producer;
use lucid_offline::LoggedEvent;
use rdkafka::{
    Message, Offset, TopicPartitionList,
    consumer::{CommitMode, Consumer, StreamConsumer},
    message::OwnedMessage,
};
use tokio_util::sync::CancellationToken;

use crate::{
    metrics as m,
    offline::{LogBatch, OfflineWriter},
    rebalance::Rebalancer,
    store::{Applied, Store},
};

/// What the loop needs.
pub struct Pipeline {
    pub(crate) consumer: StreamConsumer<Rebalancer>,
    pub(crate) store: Store,
    pub(crate) codec: Codec,
    pub(crate) registry: Arc<Registry>,
    pub(crate) tracks: Arc<HashMap<i64, TrackAttrs>>,
    pub(crate) dead_letters: Producer,
    pub(crate) dlq_encoder: lucid_avro::Encoder,
    pub(crate) topic: String,
    pub(crate) dlq_topic: String,
    pub(crate) batch_max_records: usize,
    pub(crate) batch_max_wait: Duration,
    pub(crate) offline: Option<OfflineWriter>,
}

/// Per-partition state kept between batches.
#[derive(Default)]
struct Partitions {
    /// The store's next offset, as last read or written.
    next: HashMap<i32, Option<i64>>,
    watermarks: HashMap<i32, Watermark>,
    /// Partitions sought back since the last rebalance.
    sought: HashSet<i32>,
    /// The offline log's next offset, as last read or sent.
    logged: HashMap<i32, Option<i64>>,
}

impl Pipeline {
    /// Consumes until `shutdown`, then commits what was applied and returns.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.consumer.subscribe(&[&self.topic])?;
        let mut state = Partitions::default();

        while let Some(batch) = self.next_batch(&shutdown).await {
            if self
                .consumer
                .context()
                .rebalanced
                .swap(false, Ordering::SeqCst)
            {
                state.next.clear();
                state.sought.clear();
                state.logged.clear();
            }
            self.process(batch, &mut state, &shutdown).await;
        }
        if let Some(offline) = self.offline {
            offline.close().await;
        }
        tracing::info!("feature store consumer stopped");
        Ok(())
    }

    /// Up to `batch_max_records` records, waiting at most `batch_max_wait` after the first;
    /// `None` on shutdown.
    async fn next_batch(&self, shutdown: &CancellationToken) -> Option<Vec<OwnedMessage>> {
        let mut batch = Vec::new();
        let first = tokio::select! {
            _ = shutdown.cancelled() => return None,
            message = self.consumer.recv() => message,
        };
        match first {
            Ok(message) => batch.push(message.detach()),
            Err(error) => {
                tracing::warn!(%error, "consumer error");
                return Some(batch);
            }
        }

        let deadline = tokio::time::Instant::now() + self.batch_max_wait;
        while batch.len() < self.batch_max_records {
            match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(message)) => batch.push(message.detach()),
                Ok(Err(error)) => tracing::warn!(%error, "consumer error"),
                Err(_elapsed) => break,
            }
        }
        Some(batch)
    }

    async fn process(
        &self,
        batch: Vec<OwnedMessage>,
        state: &mut Partitions,
        shutdown: &CancellationToken,
    ) {
        let mut by_partition: BTreeMap<i32, Vec<OwnedMessage>> = BTreeMap::new();
        for message in batch {
            by_partition
                .entry(message.partition())
                .or_default()
                .push(message);
        }

        let mut commits = TopicPartitionList::new();
        for (partition, messages) in by_partition {
            let mut backoff = Duration::from_millis(100);
            loop {
                match self.apply_partition(partition, &messages, state).await {
                    Ok(Some(next)) => {
                        let _ = commits.add_partition_offset(
                            &self.topic,
                            partition,
                            Offset::Offset(next),
                        );
                        break;
                    }
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!(
                            partition,
                            error = format!("{error:#}"),
                            "batch not applied; retrying"
                        );
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        state.next.remove(&partition);
                    }
                }
            }
        }

        if commits.count() > 0
            && let Err(error) = self.consumer.commit(&commits, CommitMode::Async)
        {
            tracing::debug!(%error, "kafka commit failed (offsets in redis are authoritative)");
        }
    }

    /// Applies one partition's records; returns the partition's next offset when it moved.
    async fn apply_partition(
        &self,
        partition: i32,
        messages: &[OwnedMessage],
        state: &mut Partitions,
    ) -> anyhow::Result<Option<i64>> {
        let mut expected = match state.next.get(&partition) {
            Some(next) => *next,
            None => self.store.offset(partition).await?,
        };
        loop {
            let first = messages.first().map_or(0, |m| m.offset());
            let from = earliest(
                expected,
                self.logged_from(partition, expected, state).await?,
            );
            let behind = from.map_or(first > 0, |next| next < first);
            if behind && state.sought.insert(partition) {
                // The store (or the offline log) is behind the records in hand: Redis lost its
                // state, or the group's committed offset is ahead of it. Read the partition again
                // from there, once per assignment.
                self.seek(partition, from)?;
                state.next.insert(partition, expected);
                return Ok(None);
            }
            if behind {
                tracing::error!(
                    partition,
                    ?expected,
                    first,
                    "records before this offset are gone from the topic"
                );
            }
            match self.try_apply(partition, messages, expected, state).await? {
                Applied::Done => return Ok(state.next.get(&partition).copied().flatten()),
                Applied::Conflict(stored) => {
                    tracing::info!(
                        partition,
                        ?expected,
                        ?stored,
                        "offset moved underneath; re-reading it"
                    );
                    expected = stored;
                    state.next.insert(partition, stored);
                }
            }
        }
    }

    /// One attempt: the records at or after `expected` go to the tiles, if the stored offset is
    /// still `expected`; the records at or after the offline log's offset go to the log.
    async fn try_apply(
        &self,
        partition: i32,
        messages: &[OwnedMessage],
        expected: Option<i64>,
        state: &mut Partitions,
    ) -> anyhow::Result<Applied> {
        let logged = self.logged_from(partition, expected, state).await?;
        let from = earliest(expected, logged);
        let wanted: Vec<&OwnedMessage> = messages
            .iter()
            .filter(|m| from.is_none_or(|f| m.offset() >= f))
            .collect();
        let Some(last) = wanted.last() else {
            metrics::counter!(m::REDELIVERED).increment(messages.len() as u64);
            state.next.insert(partition, expected);
            return Ok(Applied::Done);
        };
        let next = last.offset() + 1;

        let mut decoded = Vec::with_capacity(wanted.len());
        let mut rejected = Vec::new();
        for message in &wanted {
            match self.decode(message).await {
                Ok(event) => decoded.push((message.offset(), event)),
                Err(record) => rejected.push(record),
            }
        }
        self.dead_letter(rejected).await?;

        let mut watermark = state
            .watermarks
            .get(&partition)
            .cloned()
            .unwrap_or_else(|| Watermark::for_registry(&self.registry));
        let online = |offset: i64| expected.is_none_or(|e| offset >= e);
        let mut observations = Vec::with_capacity(decoded.len());
        let mut rows = Vec::new();
        let mut late = 0;
        for (offset, event) in decoded {
            let on_time = watermark.admit(event.event_time) == Admission::OnTime;
            let attrs = event.track_id.and_then(|id| self.tracks.get(&id)).copied();
            if online(offset) {
                match on_time {
                    true => observations.push((
                        Observation::from_event(&event, attrs.as_ref()),
                        event.ingest_time,
                    )),
                    false => late += 1,
                }
            }
            if self.offline.is_some() && logged.is_none_or(|l| offset >= l) {
                rows.push(LoggedEvent {
                    event,
                    attrs,
                    late: !on_time,
                    partition,
                    offset,
                });
            }
        }

        // Records that are only logged (the tiles already hold them) leave the tiles alone.
        if wanted.iter().any(|m| online(m.offset())) {
            let only: Vec<Observation> = observations.iter().map(|(o, _)| o.clone()).collect();
            let updates = lucid_features::updates(&self.registry, &only);
            let applied = self
                .store
                .apply(partition, expected, next, &updates)
                .await
                .inspect_err(|_| {
                    metrics::counter!(m::REDIS_ERRORS, "operation" => "apply").increment(1);
                })?;
            if applied != Applied::Done {
                return Ok(applied);
            }
            state.next.insert(partition, Some(next));
        }

        state.watermarks.insert(partition, watermark);
        metrics::counter!(m::REDELIVERED).increment((messages.len() - wanted.len()) as u64);
        record_applied(observations.iter().map(|(_, ingest)| *ingest), late);
        if let Some(offline) = &self.offline
            && !rows.is_empty()
        {
            offline
                .send(LogBatch {
                    partition,
                    next,
                    rows,
                })
                .await?;
            state.logged.insert(partition, Some(next));
        }
        Ok(Applied::Done)
    }

    /// The offline log's next offset for the partition; the online one when there is no log.
    async fn logged_from(
        &self,
        partition: i32,
        expected: Option<i64>,
        state: &mut Partitions,
    ) -> anyhow::Result<Option<i64>> {
        if self.offline.is_none() {
            return Ok(expected);
        }
        if let Some(logged) = state.logged.get(&partition) {
            return Ok(*logged);
        }
        let logged = self.store.logged_offset(partition).await?;
        state.logged.insert(partition, logged);
        Ok(logged)
    }

    fn seek(&self, partition: i32, offset: Option<i64>) -> anyhow::Result<()> {
        let to = offset.map_or(Offset::Beginning, Offset::Offset);
        tracing::warn!(
            partition,
            ?offset,
            "store is behind the consumer; seeking back"
        );
        self.consumer
            .seek(&self.topic, partition, to, Duration::from_secs(5))?;
        Ok(())
    }

    async fn decode(&self, message: &OwnedMessage) -> Result<ListeningEvent, RejectedEvent> {
        let payload = message.payload().unwrap_or_default();
        let reject = |reason: &str, detail: String| RejectedEvent {
            reason: reason.to_owned(),
            detail,
            source: RejectionSource::Consumer,
            event_id: None,
            payload: Some(payload.to_vec()),
            payload_sha256: String::new(),
            rejected_time: Utc::now().timestamp_millis(),
            retryable: false,
        };
        let value = self
            .codec
            .decode(payload, LISTENING_EVENT)
            .await
            .map_err(|e| {
                reject(
                    e.code(),
                    format!(
                        "{} partition {} offset {}: {e}",
                        self.topic,
                        message.partition(),
                        message.offset()
                    ),
                )
            })?;
        ListeningEvent::from_avro(value.value).map_err(|e| reject("invalid_record", e.to_string()))
    }

    /// Writes undecodable records to the dead-letter topic and waits for the broker, so a record
    /// is never skipped without a copy.
    async fn dead_letter(&self, records: Vec<RejectedEvent>) -> anyhow::Result<()> {
        for record in records {
            let reason = record.reason.clone();
            let bytes = self.dlq_encoder.encode(record.to_avro())?;
            self.dead_letters
                .send(&self.dlq_topic, None, &bytes)?
                .await?;
            metrics::counter!(m::DEAD_LETTERED, "reason" => reason).increment(1);
        }
        Ok(())
    }
}

fn record_applied(ingest_times: impl ExactSizeIterator<Item = i64>, late: u64) {
    metrics::counter!(m::EVENTS_APPLIED).increment(ingest_times.len() as u64);
    metrics::counter!(m::LATE_EVENTS).increment(late);
    let now = Utc::now().timestamp_millis();
    let freshness = metrics::histogram!(m::FRESHNESS);
    for ingest in ingest_times {
        freshness.record((now - ingest).max(0) as f64 / 1000.0);
    }
}

/// The earlier of two next offsets; `None` (nothing stored: from the start) is the earliest.
fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    Some(a?.min(b?))
}
