//! The consumer's librdkafka context: on assignment, start each partition at the offset stored
//! in Redis with the tiles; report lag from librdkafka's statistics.
//!
//! Seeking is what makes a restart cheap; it is not what makes it correct. Correctness comes from
//! the compare-and-set of the offset in `apply.lua`: a record below the stored offset is skipped
//! however it arrives.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use rdkafka::{
    ClientContext, Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer, ConsumerContext},
    error::KafkaResult,
    statistics::Statistics,
    types::RDKafkaRespErr,
};

use crate::{config::Resume, metrics as m};

/// Hooks librdkafka calls on the consumer's poll thread.
pub struct Rebalancer {
    redis: redis::Client,
    offsets_key: String,
    resume: Resume,
    with_offline_log: bool,
    /// Set on every rebalance; the consumer loop then forgets its cached offsets.
    pub(crate) rebalanced: Arc<AtomicBool>,
}

impl Rebalancer {
    /// A context reading offsets from the hash `offsets_key`.
    pub fn new(
        redis_url: &str,
        offsets_key: String,
        resume: Resume,
        with_offline_log: bool,
    ) -> redis::RedisResult<Self> {
        Ok(Rebalancer {
            redis: redis::Client::open(redis_url)?,
            offsets_key,
            resume,
            with_offline_log,
            rebalanced: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Puts the stored offsets into the assignment. A partition without a stored offset starts
    /// where the group committed, or at the beginning.
    fn set_stored_offsets(&self, tpl: &mut TopicPartitionList) {
        let partitions: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        let ids: Vec<i32> = partitions.iter().map(|(_, p)| *p).collect();
        tracing::info!(partitions = ?ids, resume = ?self.resume, "partitions assigned");
        if self.resume == Resume::Beginning {
            for (topic, partition) in &partitions {
                if let Err(error) = tpl.set_partition_offset(topic, *partition, Offset::Beginning) {
                    tracing::warn!(%error, partition, "cannot set the start offset");
                }
            }
            return;
        }

        // A blocking call on the poll thread: a rebalance is rare and this is one round trip.
        // With an offline log, start at the earlier of its offset and the tiles' offset.
        let stored: redis::RedisResult<Vec<Option<i64>>> =
            self.redis.get_connection().and_then(|mut c| {
                let online: Vec<Option<i64>> = redis::cmd("HMGET")
                    .arg(&self.offsets_key)
                    .arg(&ids)
                    .query(&mut c)?;
                if !self.with_offline_log {
                    return Ok(online);
                }
                let logged: Vec<Option<i64>> = redis::cmd("HMGET")
                    .arg(format!("{}:offline", self.offsets_key))
                    .arg(&ids)
                    .query(&mut c)?;
                Ok(online
                    .into_iter()
                    .zip(logged)
                    .map(|(a, b)| Some(a?.min(b?)))
                    .collect())
            });
        let stored = match stored {
            Ok(stored) => stored,
            Err(error) => {
                tracing::warn!(%error, "cannot read stored offsets at assignment; starting from committed offsets");
                return;
            }
        };

        for ((topic, partition), offset) in partitions.iter().zip(stored) {
            if let Some(offset) = offset
                && let Err(error) =
                    tpl.set_partition_offset(topic, *partition, Offset::Offset(offset))
            {
                tracing::warn!(%error, partition, "cannot set the start offset");
            }
        }
    }
}

impl ClientContext for Rebalancer {
    fn stats(&self, statistics: Statistics) {
        for topic in statistics.topics.values() {
            for (id, partition) in &topic.partitions {
                if *id >= 0 && partition.consumer_lag >= 0 {
                    metrics::gauge!(m::CONSUMER_LAG, "partition" => id.to_string())
                        .set(partition.consumer_lag as f64);
                }
            }
        }
    }
}

impl ConsumerContext for Rebalancer {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        self.rebalanced.store(true, Ordering::SeqCst);
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.set_stored_offsets(tpl);
                consumer.assign(tpl)
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                tracing::info!("partitions revoked");
                consumer.unassign()
            }
            other => {
                tracing::warn!(error = ?other, "rebalance error; dropping the assignment");
                consumer.unassign()
            }
        };
        if let Err(error) = result {
            tracing::error!(%error, "failed to apply the rebalance");
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(error) = result {
            tracing::debug!(%error, "kafka offset commit failed (offsets in redis are authoritative)");
        }
    }
}
