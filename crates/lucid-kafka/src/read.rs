//! Reading a whole topic back, for tests, benchmarks and the operator's record counts.
//!
//! Counting by reading is deliberate: Tansu 0.6 (the local broker) answers high-watermark
//! queries with values that lag the stored offsets by thousands of records under load, while
//! the records themselves are all there with dense offsets. Reading is exact on any broker.
//!
//! A read ends once every partition has reported its end at least once (librdkafka's
//! partition EOF) and then nothing arrived for the idle time. The EOF guard keeps a slow first
//! fetch from passing for an empty topic; the idle time covers the lagging watermarks, on
//! which librdkafka bases its EOF.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rdkafka::{
    ClientContext, Message, Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer, ConsumerContext},
    error::{KafkaError, RDKafkaErrorCode},
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
    /// Stop when every partition reached its end and nothing arrived for this long (after
    /// `expected` was reached, if set).
    pub idle: Duration,
    /// Stop at the latest after this long.
    pub timeout: Duration,
}

/// How long `count_records` waits for more records once every partition reached its end.
pub const COUNT_IDLE: Duration = Duration::from_millis(500);

/// How long `count_records` reads at most before it gives up with an error.
pub const COUNT_TIMEOUT: Duration = Duration::from_secs(120);

/// What a read returned and why it stopped.
struct Read {
    records: Vec<Record>,
    timed_out: bool,
}

/// Reads `topic` from the beginning of every partition.
///
/// Returns what was read when `until.timeout` passes first; callers that know how many records
/// to expect compare the count.
pub async fn read_all(
    config: &KafkaConfig,
    topic: &str,
    until: ReadUntil,
) -> Result<Vec<Record>, AdminError> {
    Ok(read(config, topic, until).await?.records)
}

/// The exact number of records in `topic`, by reading it (see the module docs for why).
///
/// Fails rather than return a low count when the topic is still growing after
/// [`COUNT_TIMEOUT`].
pub async fn count_records(config: &KafkaConfig, topic: &str) -> Result<usize, AdminError> {
    let until = ReadUntil {
        expected: None,
        idle: COUNT_IDLE,
        timeout: COUNT_TIMEOUT,
    };
    let read = read(config, topic, until).await?;
    if read.timed_out {
        return Err(AdminError::Broker(format!(
            "topic {topic} was still not read to its end after {}s ({} records so far), \
             so the count would be low; retry when producers are quiet",
            COUNT_TIMEOUT.as_secs(),
            read.records.len()
        )));
    }
    Ok(read.records.len())
}

async fn read(config: &KafkaConfig, topic: &str, until: ReadUntil) -> Result<Read, AdminError> {
    let config = config.clone();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || read_blocking(&config, &topic, until))
        .await
        .map_err(|e| AdminError::Broker(format!("reader task failed: {e}")))?
}

/// Keeps the client's error callback quiet: every error event also comes out of `poll`, where
/// the reader returns it, and partition EOF is what the reader asked for.
struct ReaderContext;

impl ClientContext for ReaderContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::PartitionEOF) {
            tracing::debug!(%error, reason, "kafka reader error");
        }
    }
}

impl ConsumerContext for ReaderContext {}

fn read_blocking(config: &KafkaConfig, topic: &str, until: ReadUntil) -> Result<Read, AdminError> {
    let consumer: BaseConsumer<ReaderContext> = config
        .client_config("lucid-reader")
        .set("group.id", "lucid-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create_with_context(ReaderContext)
        .map_err(|e| AdminError::Settings(e.to_string()))?;
    let mut progress = Progress::new(assign_all(&consumer, topic)?, Instant::now());

    let started = Instant::now();
    let mut records = Vec::new();
    while started.elapsed() < until.timeout {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                progress.record(Instant::now());
                records.push(Record {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                });
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => progress.end_of(partition),
            Some(Err(error)) => return Err(AdminError::Broker(error.to_string())),
            None => {}
        }
        if progress.finished(&until, Instant::now()) {
            return Ok(Read {
                records,
                timed_out: false,
            });
        }
    }
    Ok(Read {
        records,
        timed_out: true,
    })
}

/// Where a read stands: how many records arrived and when, and which partitions reported their
/// end.
#[derive(Debug)]
struct Progress {
    partitions: usize,
    at_end: HashSet<i32>,
    records: usize,
    last_record: Instant,
}

impl Progress {
    fn new(partitions: usize, started: Instant) -> Self {
        Progress {
            partitions,
            at_end: HashSet::new(),
            records: 0,
            last_record: started,
        }
    }

    fn record(&mut self, now: Instant) {
        self.records += 1;
        self.last_record = now;
    }

    fn end_of(&mut self, partition: i32) {
        self.at_end.insert(partition);
    }

    /// Every partition reached its end once, enough records arrived, and none for `idle`.
    fn finished(&self, until: &ReadUntil, now: Instant) -> bool {
        let reached = until.expected.is_none_or(|n| self.records >= n);
        reached
            && self.at_end.len() >= self.partitions
            && now.duration_since(self.last_record) >= until.idle
    }
}

/// Assigns every partition of `topic` from the beginning; returns how many there are.
fn assign_all(consumer: &BaseConsumer<ReaderContext>, topic: &str) -> Result<usize, AdminError> {
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
    Ok(assignment.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNTIL: ReadUntil = ReadUntil {
        expected: None,
        idle: Duration::from_millis(500),
        timeout: Duration::from_secs(120),
    };

    #[test]
    fn an_empty_topic_is_not_done_before_every_partition_reported_its_end() {
        let t0 = Instant::now();
        let mut progress = Progress::new(3, t0);
        let later = t0 + Duration::from_secs(5);
        assert!(
            !progress.finished(&UNTIL, later),
            "no partition answered yet"
        );

        progress.end_of(0);
        progress.end_of(1);
        assert!(
            !progress.finished(&UNTIL, later),
            "partition 2 not answered"
        );
        progress.end_of(2);
        assert!(progress.finished(&UNTIL, later));
    }

    #[test]
    fn waits_the_idle_time_after_the_last_record() {
        let t0 = Instant::now();
        let mut progress = Progress::new(1, t0);
        progress.end_of(0);
        progress.record(t0 + Duration::from_secs(1));

        assert!(!progress.finished(&UNTIL, t0 + Duration::from_millis(1_400)));
        assert!(progress.finished(&UNTIL, t0 + Duration::from_millis(1_500)));
    }

    #[test]
    fn waits_for_the_expected_number_of_records() {
        let t0 = Instant::now();
        let until = ReadUntil {
            expected: Some(2),
            ..UNTIL
        };
        let mut progress = Progress::new(1, t0);
        progress.end_of(0);
        progress.record(t0);
        let later = t0 + Duration::from_secs(5);
        assert!(!progress.finished(&until, later), "one of two records");

        progress.record(t0);
        assert!(progress.finished(&until, later));
    }
}
