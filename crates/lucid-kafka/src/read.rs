//! Reading a whole topic back, for tests, benchmarks and the operator's record counts.
//!
//! Counting by reading is deliberate: Tansu 0.6 (the local broker) answers high-watermark
//! queries with values that lag the stored offsets by thousands of records under load, while
//! the records themselves are all there with dense offsets. Reading is exact on any broker.

use std::time::{Duration, Instant};

use rdkafka::{
    Message, Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer},
};

use crate::{KafkaConfig, admin::AdminError};

/// One record as read back.
#[derive(Debug, Clone)]
pub struct Record {
    /// Partition it was stored in.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// Key bytes, if any.
    pub key: Option<Vec<u8>>,
    /// Value bytes (empty for a tombstone).
    pub payload: Vec<u8>,
}

/// When to stop reading.
#[derive(Debug, Clone, Copy)]
pub struct ReadUntil {
    /// Stop once this many records arrived and no more came for `idle`.
    pub expected: Option<usize>,
    /// Stop when nothing arrived for this long (after `expected` was reached, if set).
    pub idle: Duration,
    /// Stop at the latest after this long.
    pub timeout: Duration,
}

/// Reads `topic` from the beginning of every partition.
pub async fn read_all(
    config: &KafkaConfig,
    topic: &str,
    until: ReadUntil,
) -> Result<Vec<Record>, AdminError> {
    let config = config.clone();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || read_blocking(&config, &topic, until))
        .await
        .map_err(|e| AdminError::Broker(format!("reader task failed: {e}")))?
}

/// The exact number of records in `topic`, by reading it (see the module docs for why).
pub async fn count_records(config: &KafkaConfig, topic: &str) -> Result<usize, AdminError> {
    let until = ReadUntil {
        expected: None,
        idle: Duration::from_secs(1),
        timeout: Duration::from_secs(120),
    };
    Ok(read_all(config, topic, until).await?.len())
}

fn read_blocking(
    config: &KafkaConfig,
    topic: &str,
    until: ReadUntil,
) -> Result<Vec<Record>, AdminError> {
    let consumer: BaseConsumer = config
        .client_config("lucid-reader")
        .set("group.id", "lucid-reader")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| AdminError::Settings(e.to_string()))?;

    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(5))
        .map_err(|e| AdminError::Broker(e.to_string()))?;
    let mut assignment = TopicPartitionList::new();
    for t in metadata.topics() {
        if let Some(error) = t.error() {
            return Err(AdminError::Broker(format!("topic {topic}: {error:?}")));
        }
        for p in t.partitions() {
            assignment
                .add_partition_offset(topic, p.id(), Offset::Beginning)
                .map_err(|e| AdminError::Broker(e.to_string()))?;
        }
    }
    consumer
        .assign(&assignment)
        .map_err(|e| AdminError::Broker(e.to_string()))?;

    let started = Instant::now();
    let mut last_record = Instant::now();
    let mut records = Vec::new();
    while started.elapsed() < until.timeout {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                last_record = Instant::now();
                records.push(Record {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                });
            }
            Some(Err(error)) => return Err(AdminError::Broker(error.to_string())),
            None => {}
        }
        let reached = until.expected.is_none_or(|n| records.len() >= n);
        if reached && last_record.elapsed() >= until.idle {
            break;
        }
    }
    Ok(records)
}
