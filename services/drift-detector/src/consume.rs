//! The detector loop: records from the monitored topics go to their monitors; a monitor due for
//! a check is checked, its report published for the APIs, and an alert sent when the state
//! machine in `alert.rs` says so.
//!
//! Windows live in memory and are rebuilt on start by reading every partition from the
//! beginning (the reference of a `first_records` monitor is the start of its topic); offsets
//! are committed for lag monitoring only. What must not repeat after a restart, the alerts, is
//! guarded by the state kept in Redis.

use std::{collections::HashMap, time::Duration, time::Instant};

use lucid_avro::{Codec, Encoder};
use lucid_catalog::Catalog;
use lucid_events::ListeningEvent;
use lucid_kafka::Producer;
use rdkafka::{
    Message, Offset, TopicPartitionList,
    consumer::{CommitMode, Consumer, StreamConsumer},
};
use tokio_util::sync::CancellationToken;

use crate::alert::{self, Published};
use crate::metrics as m;
use crate::monitor::{BandName, Monitor, Report};
use crate::row::{RecordKind, Row};
use crate::state::{AlertStore, Reports};

/// What the loop needs.
pub struct Detector {
    pub(crate) consumer: StreamConsumer,
    pub(crate) codec: Codec,
    pub(crate) monitors: Vec<Monitor>,
    pub(crate) catalog: Option<Catalog>,
    pub(crate) alerts: Producer,
    pub(crate) alert_encoder: Encoder,
    pub(crate) alerts_topic: String,
    pub(crate) store: AlertStore,
    pub(crate) published: Vec<Published>,
    pub(crate) reports: Reports,
    pub(crate) hold_off: Duration,
}

impl Detector {
    /// Reads until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let topics = self.topics();
        self.assign_from_beginning(&topics)?;
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
            let Some(&kind) = topics.get(&topic) else {
                continue;
            };
            match self.row(kind, message.payload().unwrap_or_default()).await {
                Ok(row) => self.route(&topic, &row).await,
                Err(error) => {
                    metrics::counter!(m::UNDECODABLE, "topic" => topic.clone()).increment(1);
                    if undecodable.is_power_of_two() {
                        tracing::warn!(topic, %error, seen = undecodable + 1, "record left out: undecodable");
                    }
                    undecodable += 1;
                }
            }
        }
        // Lag monitoring only: where the loop got to.
        let _ = self.consumer.commit_consumer_state(CommitMode::Sync);
        tracing::info!("drift detector stopped");
        Ok(())
    }

    /// Each monitored topic and what it holds.
    fn topics(&self) -> HashMap<String, RecordKind> {
        self.monitors
            .iter()
            .map(|m| (m.spec.topic.clone(), m.spec.record))
            .collect()
    }

    fn assign_from_beginning(&self, topics: &HashMap<String, RecordKind>) -> anyhow::Result<()> {
        let mut assignment = TopicPartitionList::new();
        for topic in topics.keys() {
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
            for partition in 0..partitions as i32 {
                assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
            }
        }
        self.consumer.assign(&assignment)?;
        Ok(())
    }

    async fn row(&self, kind: RecordKind, bytes: &[u8]) -> Result<Row, String> {
        let decoded = self
            .codec
            .decode(bytes, kind.schema())
            .await
            .map_err(|e| e.to_string())?;
        match kind {
            RecordKind::ListeningEvent => {
                let event = ListeningEvent::from_avro(decoded.value).map_err(|e| e.to_string())?;
                Ok(Row::from_event(&event, self.catalog.as_ref()))
            }
            RecordKind::PredictionLog => Row::from_prediction(&decoded.value),
        }
    }

    async fn route(&mut self, topic: &str, row: &Row) {
        for index in 0..self.monitors.len() {
            let monitor = &mut self.monitors[index];
            if monitor.spec.topic != topic || !monitor.wants(row) {
                continue;
            }
            let ready_before = monitor.has_reference();
            if monitor.push(row) {
                self.check(index).await;
            } else if !ready_before && monitor.has_reference() {
                self.reports.reference_ready(index);
            }
        }
    }

    async fn check(&mut self, index: usize) {
        let started = Instant::now();
        let report = self.monitors[index].check();
        metrics::histogram!(m::CHECK_DURATION).record(started.elapsed().as_secs_f64());
        metrics::counter!(m::CHECKS, "monitor" => report.monitor.clone()).increment(1);
        record_gauges(&report);
        let now = chrono::Utc::now().timestamp_millis();
        self.reports.set(index, report.clone(), now);

        let before = self.published[index];
        let hold_off = self.hold_off.as_millis() as i64;
        let Some(reason) = self.published[index].decide(&report, now, hold_off) else {
            self.save(index).await;
            return;
        };
        let id = uuid::Uuid::now_v7().to_string();
        let value = alert::record(&report, reason, before.band, &id, now);
        match self.send(&report.monitor, value).await {
            Ok(()) => {
                let band = format!("{:?}", report.band).to_lowercase();
                metrics::counter!(m::ALERTS, "monitor" => report.monitor.clone(), "band" => band)
                    .increment(1);
                tracing::info!(monitor = report.monitor, band = ?report.band, ?reason, alert_id = id, "drift alert published");
            }
            Err(error) => {
                // Not sent: forget the decision so the next check makes it again.
                tracing::warn!(monitor = report.monitor, %error, "failed to publish a drift alert");
                self.published[index] = before;
            }
        }
        self.save(index).await;
    }

    async fn send(&self, monitor: &str, value: apache_avro::types::Value) -> anyhow::Result<()> {
        let payload = self.alert_encoder.encode(value)?;
        self.alerts
            .send(&self.alerts_topic, Some(monitor.as_bytes()), &payload)?
            .await?;
        Ok(())
    }

    async fn save(&mut self, index: usize) {
        let name = &self.monitors[index].spec.name;
        if let Err(error) = self.store.save(name, &self.published[index]).await {
            tracing::warn!(monitor = name, %error, "failed to store the alert state");
        }
    }
}

fn band_gauge(band: BandName) -> f64 {
    match band {
        BandName::Ok => 0.0,
        BandName::Warning => 1.0,
        BandName::Drift => 2.0,
        BandName::InsufficientData => -1.0,
    }
}

fn record_gauges(report: &Report) {
    let monitor = report.monitor.clone();
    metrics::gauge!(m::DRIFT_SHARE, "monitor" => monitor.clone()).set(report.drift_share);
    metrics::gauge!(m::MONITOR_BAND, "monitor" => monitor.clone()).set(band_gauge(report.band));
    for column in &report.columns {
        let labels = [
            ("monitor", monitor.clone()),
            ("column", column.column.clone()),
        ];
        metrics::gauge!(m::COLUMN_BAND, &labels).set(band_gauge(column.band));
        if let Some(value) = column.value {
            metrics::gauge!(m::COLUMN_SCORE, &labels).set(value);
        }
    }
}
