//! Rollout state in Redis, so a restart resumes where it was, and the coordination around it.
//!
//! Keys, under the configured prefix `p`:
//! - `p:deploy:rollout:{id}`: the rollout, JSON, written after every transition;
//! - `p:deploy:rollouts`: sorted set of every rollout id by start time (the list);
//! - `p:deploy:active`: set of the ids not yet final (resumed on start);
//! - `p:deploy:active:{model}`: the id of the model's active rollout, claimed with `SET NX`,
//!   so a model never has two;
//! - `p:deploy:lease:{model}`: a short lock held around alias compare-and-set;
//! - `p:deploy:alias-history:{model}`: a stream, append-only, of every alias change.
// Not yet: Redis Cluster hash tags on these keys, because a rollout's save spans the per-id and
// the listing keys in one transaction.

use redis::aio::ConnectionManager;

use crate::rollout::Rollout;

/// Rollouts, leases and alias history in Redis.
#[derive(Clone)]
pub struct Store {
    conn: ConnectionManager,
    prefix: String,
}

/// One alias change, for the audit history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasChange {
    /// Which alias.
    pub alias: String,
    /// What it held.
    pub from: Option<String>,
    /// What it holds now (none: deleted).
    pub to: Option<String>,
    /// The rollout that changed it.
    pub rollout_id: String,
    /// Why.
    pub reason: String,
    /// When, epoch milliseconds.
    pub at_ms: i64,
}

impl Store {
    /// Connects.
    pub async fn connect(url: &str, prefix: &str) -> redis::RedisResult<Store> {
        let conn = ConnectionManager::new(redis::Client::open(url)?).await?;
        Ok(Store {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, rest: &str) -> String {
        format!("{}:deploy:{rest}", self.prefix)
    }

    /// Checks the connection.
    pub async fn ping(&self) -> redis::RedisResult<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await
            .map(drop)
    }

    /// Claims `model` for rollout `id`; false when another rollout holds it.
    pub async fn claim(&self, model: &str, id: &str) -> redis::RedisResult<bool> {
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(&format!("active:{model}")))
            .arg(id)
            .arg("NX")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(set.is_some())
    }

    /// The id of the model's active rollout, if any.
    pub async fn active_of(&self, model: &str) -> redis::RedisResult<Option<String>> {
        redis::cmd("GET")
            .arg(self.key(&format!("active:{model}")))
            .query_async(&mut self.conn.clone())
            .await
    }

    /// Writes the rollout; a final one releases its model.
    pub async fn save(&self, rollout: &Rollout) -> redis::RedisResult<()> {
        let json = serde_json::to_string(rollout).expect("a rollout always serialises");
        let mut pipe = redis::pipe();
        pipe.atomic()
            .set(self.key(&format!("rollout:{}", rollout.id)), json)
            .zadd(self.key("rollouts"), &rollout.id, rollout.started_ms);
        if rollout.state.is_final() {
            pipe.srem(self.key("active"), &rollout.id);
        } else {
            pipe.sadd(self.key("active"), &rollout.id);
        }
        pipe.query_async::<()>(&mut self.conn.clone()).await?;
        if rollout.state.is_final() {
            self.release(&rollout.model, &rollout.id).await?;
        }
        Ok(())
    }

    async fn release(&self, model: &str, id: &str) -> redis::RedisResult<()> {
        redis::Script::new(UNLOCK)
            .key(self.key(&format!("active:{model}")))
            .arg(id)
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map(drop)
    }

    /// One rollout.
    pub async fn load(&self, id: &str) -> redis::RedisResult<Option<Rollout>> {
        let text: Option<String> = redis::cmd("GET")
            .arg(self.key(&format!("rollout:{id}")))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(text.and_then(|t| match serde_json::from_str(&t) {
            Ok(rollout) => Some(rollout),
            Err(error) => {
                tracing::error!(rollout_id = id, %error, "stored rollout is unreadable");
                None
            }
        }))
    }

    /// Rollouts not yet final.
    pub async fn active(&self) -> redis::RedisResult<Vec<Rollout>> {
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.key("active"))
            .query_async(&mut self.conn.clone())
            .await?;
        let mut rollouts = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(rollout) = self.load(&id).await? {
                rollouts.push(rollout);
            }
        }
        rollouts.sort_by_key(|r| r.started_ms);
        Ok(rollouts)
    }

    /// Newest first, at most `limit`, of `model` when given.
    pub async fn list(
        &self,
        model: Option<&str>,
        limit: usize,
    ) -> redis::RedisResult<Vec<Rollout>> {
        let ids: Vec<String> = redis::cmd("ZREVRANGE")
            .arg(self.key("rollouts"))
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn.clone())
            .await?;
        let mut rollouts = Vec::new();
        for id in ids {
            if rollouts.len() >= limit {
                break;
            }
            if let Some(rollout) = self.load(&id).await?
                && model.is_none_or(|m| m == rollout.model)
            {
                rollouts.push(rollout);
            }
        }
        Ok(rollouts)
    }

    /// Takes the model's alias lease for `ttl_ms`; false when someone else holds it.
    pub async fn lock(&self, model: &str, owner: &str, ttl_ms: u64) -> redis::RedisResult<bool> {
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(&format!("lease:{model}")))
            .arg(owner)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(set.is_some())
    }

    /// Gives the lease back if `owner` still holds it.
    pub async fn unlock(&self, model: &str, owner: &str) -> redis::RedisResult<()> {
        redis::Script::new(UNLOCK)
            .key(self.key(&format!("lease:{model}")))
            .arg(owner)
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map(drop)
    }

    /// Appends to the model's alias history.
    pub async fn record_alias(&self, model: &str, change: &AliasChange) -> redis::RedisResult<()> {
        let fields = [
            ("alias", change.alias.clone()),
            ("from", change.from.clone().unwrap_or_default()),
            ("to", change.to.clone().unwrap_or_default()),
            ("rollout_id", change.rollout_id.clone()),
            ("reason", change.reason.clone()),
            ("at_ms", change.at_ms.to_string()),
        ];
        redis::cmd("XADD")
            .arg(self.key(&format!("alias-history:{model}")))
            .arg("*")
            .arg(&fields[..])
            .query_async::<String>(&mut self.conn.clone())
            .await
            .map(drop)
    }

    /// The model's alias history, oldest first.
    pub async fn alias_history(&self, model: &str) -> redis::RedisResult<Vec<AliasChange>> {
        type Entry = (String, Vec<(String, String)>);
        let entries: Vec<Entry> = redis::cmd("XRANGE")
            .arg(self.key(&format!("alias-history:{model}")))
            .arg("-")
            .arg("+")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(entries
            .into_iter()
            .map(|(_, fields)| {
                let get = |name: &str| {
                    fields
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let some = |v: String| (!v.is_empty()).then_some(v);
                AliasChange {
                    alias: get("alias"),
                    from: some(get("from")),
                    to: some(get("to")),
                    rollout_id: get("rollout_id"),
                    reason: get("reason"),
                    at_ms: get("at_ms").parse().unwrap_or(0),
                }
            })
            .collect())
    }

    /// The newest version of `model` already considered for a rollout, if any.
    pub async fn seen_version(&self, model: &str) -> redis::RedisResult<Option<u64>> {
        redis::cmd("GET")
            .arg(self.key(&format!("seen:{model}")))
            .query_async(&mut self.conn.clone())
            .await
    }

    /// Marks versions up to `version` of `model` as considered.
    pub async fn set_seen_version(&self, model: &str, version: u64) -> redis::RedisResult<()> {
        redis::cmd("SET")
            .arg(self.key(&format!("seen:{model}")))
            .arg(version)
            .query_async::<()>(&mut self.conn.clone())
            .await
    }

    /// Writes a value to a key outside the `deploy` space (the gateway's route table).
    pub async fn set_raw(&self, key: &str, value: &str) -> redis::RedisResult<()> {
        redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query_async::<()>(&mut self.conn.clone())
            .await
    }
}

/// Deletes KEYS[1] only while it holds ARGV[1].
const UNLOCK: &str = r#"
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
"#;
