//! The online store in Redis: applying a partition's batch atomically with its offset, reading
//! stored offsets, and reading features in one round trip.
//!
//! Effectively-once: `apply.lua` compares the partition's stored next offset with the one the
//! consumer expects and, only if they match, applies every tile update and stores the new
//! offset, all inside one script (Redis runs a script atomically). A crash before the script
//! leaves nothing; after it, the offset says the batch is in. A redelivered batch, or a batch of
//! a consumer that lost the partition in a rebalance, fails the comparison and writes nothing.
//!
//! Not yet: Redis Cluster, because one script touches the tiles of many entities, which live in
//! different hash slots; a cluster deployment needs the updates split per slot with an offset
//! per slot.

use lucid_features::{Op, ReadPlan, TileUpdate, layout};
use std::time::Duration;

use redis::{
    Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

/// What applying a batch found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Written; the partition's next offset is now the batch's end.
    Done,
    /// Not written: the stored next offset is this one, not the expected one.
    Conflict(Option<i64>),
}

/// Redis failed; the batch was not written (the script is all or nothing).
#[derive(Debug, thiserror::Error)]
#[error("redis call failed: {0}")]
pub struct StoreError(#[from] redis::RedisError);

/// The Redis side of the feature store.
#[derive(Clone)]
pub struct Store {
    conn: ConnectionManager,
    script: Script,
    offsets_key: String,
}

impl Store {
    /// Connects. Offsets are kept per consumer group and topic.
    pub async fn connect(
        url: &str,
        prefix: &str,
        group: &str,
        topic: &str,
    ) -> Result<Self, StoreError> {
        // Redis's client default of 500 ms is too short for a large batch script or a lookup of
        // 1000 entities on a busy machine. A script that times out here may still have run; the
        // offset check makes the retry harmless.
        let config =
            ConnectionManagerConfig::new().set_response_timeout(Some(Duration::from_secs(10)));
        let conn = ConnectionManager::new_with_config(redis::Client::open(url)?, config).await?;
        let offsets_key = offsets_key(prefix, group, topic);
        Ok(Store {
            conn,
            script: Script::new(include_str!("apply.lua")),
            offsets_key,
        })
    }

    /// The key of the offsets hash (the consumer's rebalance handler reads it too).
    pub fn offsets_key(&self) -> &str {
        &self.offsets_key
    }

    /// The stored next offset of a partition.
    pub async fn offset(&self, partition: i32) -> Result<Option<i64>, StoreError> {
        let value: Option<i64> = redis::cmd("HGET")
            .arg(&self.offsets_key)
            .arg(partition)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(value)
    }

    /// The offline log's stored next offset of a partition (see `offline.rs`).
    pub async fn logged_offset(&self, partition: i32) -> Result<Option<i64>, StoreError> {
        let value: Option<i64> = redis::cmd("HGET")
            .arg(self.logged_key())
            .arg(partition)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(value)
    }

    /// The key of the offline log's offsets hash.
    pub fn logged_key(&self) -> String {
        format!("{}:offline", self.offsets_key)
    }

    /// Applies `updates` if the partition's stored next offset is `expected`, and stores `next`.
    pub async fn apply(
        &self,
        partition: i32,
        expected: Option<i64>,
        next: i64,
        updates: &[TileUpdate],
    ) -> Result<Applied, StoreError> {
        let mut invocation = self.script.key(&self.offsets_key);
        invocation
            .arg(partition)
            .arg(expected.map(|o| o.to_string()).unwrap_or_default())
            .arg(next);
        for update in updates {
            invocation.key(&update.key);
            invocation
                .arg(update.expire_at.map(|t| t.to_string()).unwrap_or_default())
                .arg(update.ops.len());
            for op in &update.ops {
                push_op(&mut invocation, &op.field, op.op);
            }
        }

        let answer: redis::Value = invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(match answer {
            redis::Value::Int(1) => Applied::Done,
            redis::Value::Array(items) => {
                let stored = items
                    .get(1)
                    .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok());
                Applied::Conflict(stored.and_then(|s| s.parse().ok()))
            }
            other => Applied::Conflict(redis::from_redis_value::<i64>(other).ok()),
        })
    }

    /// Fetches every key and field of a read plan in one pipelined round trip.
    pub async fn fetch(&self, plan: &ReadPlan) -> Result<Vec<Vec<Option<String>>>, StoreError> {
        let mut pipe = redis::pipe();
        for key in plan.keys() {
            pipe.cmd("HMGET").arg(&key.key).arg(&key.fields);
        }
        if plan.keys().is_empty() {
            return Ok(Vec::new());
        }
        Ok(pipe.query_async(&mut self.conn.clone()).await?)
    }

    /// Succeeds when Redis answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}

/// `{prefix}:fs:offsets:{group}:{topic}`.
pub fn offsets_key(prefix: &str, group: &str, topic: &str) -> String {
    format!("{prefix}:fs:offsets:{group}:{topic}")
}

/// Five arguments per op (kind, field, a, b, c), as `apply.lua` reads them.
fn push_op(invocation: &mut redis::ScriptInvocation<'_>, field: &str, op: Op) {
    let (kind, a, b, c) = match op {
        Op::IncrInt(n) => ("i", layout::encode_i64(n), String::new(), String::new()),
        Op::Min(v) => ("min", layout::encode_f64(v), String::new(), String::new()),
        Op::Max(v) => ("max", layout::encode_f64(v), String::new(), String::new()),
        Op::MaxTime(t) => ("t", layout::encode_i64(t), String::new(), String::new()),
        Op::Last {
            value,
            time,
            tiebreak,
        } => (
            "last",
            layout::encode_f64(value),
            layout::encode_i64(time),
            layout::encode_i64(tiebreak),
        ),
    };
    invocation.arg(kind).arg(field).arg(a).arg(b).arg(c);
}
