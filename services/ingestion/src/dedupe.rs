//! The idempotency store: which event ids were already produced, in Redis so that it survives
//! restarts and is shared by every replica.
//!
//! An id moves through two states. `claim` sets it to `pending` only if it is absent
//! (`SET NX GET`, one atomic command per id, pipelined) with a short expiry, so a crash between
//! claim and delivery frees the id by itself. After the broker's answer, `settle` either marks it
//! `done` for the idempotency window or deletes it so that a retry can go through.

use std::time::Duration;

use redis::{
    AsyncCommands,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

/// What an id's claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Not seen: the caller now owns it and must settle it.
    New,
    /// Already produced within the window.
    Done,
    /// Being produced by another request right now.
    Pending,
}

/// The store could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("idempotency store unavailable: {0}")]
pub struct StoreError(#[from] redis::RedisError);

/// Event ids seen recently.
#[derive(Clone)]
pub struct Dedupe {
    conn: ConnectionManager,
    prefix: String,
    window: Duration,
    pending: Duration,
}

const PENDING: &str = "pending";
const DONE: &str = "done";

impl Dedupe {
    /// Connects to Redis. `pending` bounds how long an unsettled claim blocks its id.
    pub async fn connect(
        url: &str,
        prefix: &str,
        window: Duration,
        pending: Duration,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)?;
        // Redis's client default of 500 ms turns a busy moment into 503s; wait a little longer.
        let config =
            ConnectionManagerConfig::new().set_response_timeout(Some(Duration::from_secs(2)));
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(Dedupe {
            conn,
            prefix: prefix.to_owned(),
            window,
            pending,
        })
    }

    /// Claims each id, in one round trip.
    pub async fn claim(&self, ids: &[&str]) -> Result<Vec<Claim>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("SET")
                .arg(self.key(id))
                .arg(PENDING)
                .arg("NX")
                .arg("PX")
                .arg(self.pending.as_millis() as u64)
                .arg("GET");
        }

        let previous: Vec<Option<String>> = pipe.query_async(&mut self.conn.clone()).await?;
        Ok(previous
            .into_iter()
            .map(|p| match p.as_deref() {
                None => Claim::New,
                Some(DONE) => Claim::Done,
                Some(_) => Claim::Pending,
            })
            .collect())
    }

    /// Marks produced ids as done for the window and frees the others, in one round trip.
    pub async fn settle(&self, done: &[&str], failed: &[&str]) -> Result<(), StoreError> {
        if done.is_empty() && failed.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for id in done {
            pipe.cmd("SET")
                .arg(self.key(id))
                .arg(DONE)
                .arg("PX")
                .arg(self.window.as_millis() as u64)
                .ignore();
        }
        for id in failed {
            pipe.cmd("DEL").arg(self.key(id)).ignore();
        }
        pipe.query_async::<()>(&mut self.conn.clone()).await?;
        Ok(())
    }

    /// Succeeds when Redis answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self.conn.clone().ping().await?;
        Ok(())
    }

    /// `{prefix}:ingest:event:{<id>}`: the braces make the id the Redis Cluster hash tag.
    fn key(&self, id: &str) -> String {
        format!("{}:ingest:event:{{{id}}}", self.prefix)
    }
}
