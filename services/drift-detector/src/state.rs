//! State shared beyond the loop: the latest report of each monitor (read by the APIs) and the
//! alert state kept in Redis (read back at start).

use std::sync::{Arc, RwLock};

use redis::aio::ConnectionManager;

use crate::alert::Published;
use crate::monitor::Report;
use crate::spec::MonitorSpec;

/// A monitor as the APIs show it.
#[derive(Debug, Clone)]
pub struct Status {
    /// Its definition.
    pub spec: MonitorSpec,
    /// Whether its reference is complete.
    pub reference_ready: bool,
    /// The latest report and the wall-clock time of its check, epoch ms.
    pub latest: Option<(Report, i64)>,
}

/// The latest reports, shared between the loop and the servers.
#[derive(Debug, Clone)]
pub struct Reports(Arc<RwLock<Vec<Status>>>);

impl Reports {
    /// One entry per monitor, in definition order.
    pub fn new(statuses: Vec<Status>) -> Reports {
        Reports(Arc::new(RwLock::new(statuses)))
    }

    /// Stores a monitor's latest report.
    pub fn set(&self, index: usize, report: Report, checked_at: i64) {
        let mut statuses = self
            .0
            .write()
            .expect("no writer panics while holding the lock");
        statuses[index].reference_ready = true;
        statuses[index].latest = Some((report, checked_at));
    }

    /// Marks a monitor's reference complete.
    pub fn reference_ready(&self, index: usize) {
        let mut statuses = self
            .0
            .write()
            .expect("no writer panics while holding the lock");
        statuses[index].reference_ready = true;
    }

    /// A copy of every status.
    pub fn all(&self) -> Vec<Status> {
        self.0
            .read()
            .expect("no writer panics while holding the lock")
            .clone()
    }

    /// A copy of one monitor's status.
    pub fn get(&self, name: &str) -> Option<Status> {
        self.all().into_iter().find(|s| s.spec.name == name)
    }
}

/// The alert state in Redis: one JSON string per monitor, `{prefix}:drift:alert-state:{name}`.
#[derive(Clone)]
pub struct AlertStore {
    conn: ConnectionManager,
    prefix: String,
}

impl AlertStore {
    /// Connects.
    pub async fn connect(url: &str, prefix: &str) -> redis::RedisResult<AlertStore> {
        let conn = ConnectionManager::new(redis::Client::open(url)?).await?;
        Ok(AlertStore {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, monitor: &str) -> String {
        format!("{}:drift:alert-state:{monitor}", self.prefix)
    }

    /// The stored state of a monitor; the initial state when none (or an unreadable one) is
    /// stored.
    pub async fn load(&self, monitor: &str) -> redis::RedisResult<Published> {
        let text: Option<String> = redis::cmd("GET")
            .arg(self.key(monitor))
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default())
    }

    /// Stores the state of a monitor.
    pub async fn save(&self, monitor: &str, state: &Published) -> redis::RedisResult<()> {
        let text = serde_json::to_string(state).expect("the state serialises");
        redis::cmd("SET")
            .arg(self.key(monitor))
            .arg(text)
            .query_async::<()>(&mut self.conn.clone())
            .await
    }

    /// Succeeds when Redis answers.
    pub async fn ping(&self) -> redis::RedisResult<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await
            .map(|_| ())
    }
}
