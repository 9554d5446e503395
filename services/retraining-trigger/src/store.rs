//! Policy state and runs in Redis, so a restart loses nothing.
//!
//! Every key shares the hash tag `{<prefix>:retrain}`, so the one Lua script below may touch
//! them all on Redis Cluster too:
//! - `state:<model>`: hash of `version` and `state` (the model's `ModelState` as JSON);
//! - `models`: set of models that have state;
//! - `offsets`: hash of alert partition to the next offset to read;
//! - `runs`: hash of run id to the run as JSON; `runs:by-time` and `runs:model:<model>`: sorted
//!   sets of run ids by request time;
//! - `dedupe`: hash of dedupe key to the run id that holds it.
//!
//! A writer reads a model's state and version, decides, and commits with [`Store::commit`]:
//! the script writes only when the version is still the one read (compare and set) and the
//! dedupe key is free, so two writers (the alert loop, a gRPC request, the run supervisor) never
//! lose each other's changes, and no key ever gets a second run.

use std::collections::BTreeMap;

use redis::{Script, aio::ConnectionManager};

use crate::policy::ModelState;
use crate::run::Run;

const COMMIT: &str = r"
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version ~= tonumber(ARGV[1]) then return 0 end
if ARGV[8] ~= '' and redis.call('HEXISTS', KEYS[6], ARGV[8]) == 1 then return -1 end
redis.call('HSET', KEYS[1], 'version', version + 1, 'state', ARGV[2])
redis.call('SADD', KEYS[7], ARGV[9])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
  redis.call('ZADD', KEYS[4], ARGV[7], ARGV[5])
  redis.call('ZADD', KEYS[5], ARGV[7], ARGV[5])
end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[6], ARGV[8], ARGV[5]) end
return 1
";

/// A Redis call failed; retrying later may help.
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}")]
pub struct StoreError(#[from] redis::RedisError);

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Written.
    Yes,
    /// Another writer changed the state since it was read: read again and decide again.
    Conflict,
    /// The dedupe key already has a run: nothing was written.
    DuplicateKey,
}

/// One atomic change: the model's new state, and optionally a run, its dedupe key and the
/// alert offset that led to it.
#[derive(Debug, Default)]
pub struct Change<'a> {
    /// The run to store (new or updated).
    pub run: Option<&'a Run>,
    /// Claims this dedupe key for `run`.
    pub dedupe_key: Option<&'a str>,
    /// Alert partition and the next offset to read there.
    pub offset: Option<(i32, i64)>,
}

/// The store.
#[derive(Clone)]
pub struct Store {
    conn: ConnectionManager,
    tag: String,
    commit: Script,
}

impl Store {
    /// Connects.
    pub async fn connect(url: &str, prefix: &str) -> redis::RedisResult<Store> {
        let conn = ConnectionManager::new(redis::Client::open(url)?).await?;
        Ok(Store {
            conn,
            tag: format!("{{{prefix}:retrain}}"),
            commit: Script::new(COMMIT),
        })
    }

    fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.tag)
    }

    /// A model's state and its version (0 and the initial state when none is stored).
    pub async fn load(&self, model: &str) -> Result<(ModelState, u64), StoreError> {
        let (version, text): (Option<u64>, Option<String>) = redis::cmd("HMGET")
            .arg(self.key(&format!("state:{model}")))
            .arg("version")
            .arg("state")
            .query_async(&mut self.conn.clone())
            .await?;
        let state = text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        Ok((state, version.unwrap_or(0)))
    }

    /// Writes `state` of `model` and `change` if the state is still at `version`.
    pub async fn commit(
        &self,
        model: &str,
        version: u64,
        state: &ModelState,
        change: Change<'_>,
    ) -> Result<Committed, StoreError> {
        let state = serde_json::to_string(state).expect("the state serialises");
        let run = change
            .run
            .map(|r| serde_json::to_string(r).expect("a run serialises"));
        let mut invocation = self.commit.prepare_invoke();
        invocation
            .key(self.key(&format!("state:{model}")))
            .key(self.key("offsets"))
            .key(self.key("runs"))
            .key(self.key("runs:by-time"))
            .key(self.key(&format!("runs:model:{model}")))
            .key(self.key("dedupe"))
            .key(self.key("models"))
            .arg(version)
            .arg(state);
        match change.offset {
            Some((partition, next)) => invocation.arg(partition).arg(next),
            None => invocation.arg("").arg(""),
        };
        match (change.run, &run) {
            (Some(r), Some(json)) => invocation.arg(&r.run_id).arg(json).arg(r.requested_time),
            _ => invocation.arg("").arg("").arg(0),
        };
        invocation.arg(change.dedupe_key.unwrap_or("")).arg(model);
        let answer: i64 = invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(match answer {
            1 => Committed::Yes,
            -1 => Committed::DuplicateKey,
            _ => Committed::Conflict,
        })
    }

    /// Stores the next offset of an alert that touched no model state.
    pub async fn set_offset(&self, partition: i32, next: i64) -> Result<(), StoreError> {
        redis::cmd("HSET")
            .arg(self.key("offsets"))
            .arg(partition)
            .arg(next)
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// The next offset to read per alert partition.
    pub async fn offsets(&self) -> Result<BTreeMap<i32, i64>, StoreError> {
        Ok(redis::cmd("HGETALL")
            .arg(self.key("offsets"))
            .query_async(&mut self.conn.clone())
            .await?)
    }

    /// Every model with stored state.
    pub async fn models(&self) -> Result<Vec<String>, StoreError> {
        Ok(redis::cmd("SMEMBERS")
            .arg(self.key("models"))
            .query_async(&mut self.conn.clone())
            .await?)
    }

    /// One run.
    pub async fn run(&self, run_id: &str) -> Result<Option<Run>, StoreError> {
        let text: Option<String> = redis::cmd("HGET")
            .arg(self.key("runs"))
            .arg(run_id)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// The run holding `dedupe_key`, if any.
    pub async fn run_by_key(&self, dedupe_key: &str) -> Result<Option<Run>, StoreError> {
        let id: Option<String> = redis::cmd("HGET")
            .arg(self.key("dedupe"))
            .arg(dedupe_key)
            .query_async(&mut self.conn.clone())
            .await?;
        match id {
            Some(id) => self.run(&id).await,
            None => Ok(None),
        }
    }

    /// Runs, newest first, of one model or of all.
    pub async fn runs(&self, model: Option<&str>, limit: usize) -> Result<Vec<Run>, StoreError> {
        let index = match model {
            Some(m) => self.key(&format!("runs:model:{m}")),
            None => self.key("runs:by-time"),
        };
        let ids: Vec<String> = redis::cmd("ZREVRANGE")
            .arg(index)
            .arg(0)
            .arg(limit.max(1) as i64 - 1)
            .query_async(&mut self.conn.clone())
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let texts: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.key("runs"))
            .arg(&ids)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(texts
            .into_iter()
            .flatten()
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect())
    }

    /// Succeeds when Redis answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}
