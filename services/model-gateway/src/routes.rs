//! The current route table of each served model, read again every poll interval.
//!
//! The deployment manager publishes tables in Redis (`lucid_routes::key`). Without one, the
//! registry's champion alias takes all traffic. A new table is put in service only once every
//! version it routes to is loaded, so no request waits for a download; a table naming a version
//! that cannot be loaded is not put in service (the previous one stays), and a shadow version
//! that cannot be loaded is left out.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use lucid_routes::RouteTable;
use redis::{AsyncCommands, aio::ConnectionManager};
use tokio_util::sync::CancellationToken;

use crate::{metrics as m, models::Models, registry::Registry};

/// Where a table in service came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Published by the deployment manager.
    Published,
    /// No table published: the champion alias at 100%.
    Champion,
}

/// A route table in service.
#[derive(Debug, Clone)]
pub struct Current {
    /// The table.
    pub table: RouteTable,
    /// Where it came from.
    pub source: Source,
}

/// The tables in service, shared by the poller and the request handlers.
#[derive(Clone, Default)]
pub struct Tables {
    current: Arc<RwLock<HashMap<String, Arc<Current>>>>,
}

impl Tables {
    /// The table in service for `model`, if one is.
    pub fn get(&self, model: &str) -> Option<Arc<Current>> {
        let current = self
            .current
            .read()
            .expect("the route lock is never poisoned");
        current.get(model).cloned()
    }

    fn set(&self, model: &str, table: Current) {
        let mut current = self
            .current
            .write()
            .expect("the route lock is never poisoned");
        current.insert(model.to_owned(), Arc::new(table));
    }
}

/// Reads route tables and keeps [`Tables`] up to date.
pub struct Poller {
    pub(crate) models: Vec<String>,
    pub(crate) redis: ConnectionManager,
    pub(crate) prefix: String,
    pub(crate) registry: Registry,
    pub(crate) champion_alias: String,
    pub(crate) loaded: Models,
    pub(crate) tables: Tables,
    pub(crate) interval: Duration,
}

impl Poller {
    /// Polls until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut last_problem: HashMap<String, String> = HashMap::new();
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tick.tick() => self.poll_all(&mut last_problem).await,
            }
        }
    }

    async fn poll_all(&mut self, last_problem: &mut HashMap<String, String>) {
        for model in self.models.clone() {
            match self.poll(&model).await {
                Ok(()) => {
                    if last_problem.remove(&model).is_some() {
                        tracing::info!(model, "route table in service again");
                    }
                }
                Err(problem) => {
                    metrics::counter!(m::ROUTE_ERRORS, "model" => model.clone()).increment(1);
                    // Logged when it changes, not every second.
                    if last_problem.get(&model) != Some(&problem) {
                        tracing::warn!(model, problem, "failed to refresh the route table");
                        last_problem.insert(model, problem);
                    }
                }
            }
        }
    }

    async fn poll(&mut self, model: &str) -> Result<(), String> {
        let key = lucid_routes::key(&self.prefix, model);
        let text: Option<String> = self
            .redis
            .get(&key)
            .await
            .map_err(|e| format!("failed to read {key} from redis: {e}"))?;
        let next = match text {
            Some(text) => Current {
                table: RouteTable::from_json(&text).map_err(|e| format!("{key}: {e}"))?,
                source: Source::Published,
            },
            None => {
                let champion = self
                    .registry
                    .alias(model, &self.champion_alias)
                    .await
                    .map_err(|e| format!("no route table at {key}, and {e}"))?;
                Current {
                    table: RouteTable::champion(&champion.version),
                    source: Source::Champion,
                }
            }
        };
        if self
            .tables
            .get(model)
            .is_some_and(|c| c.table == next.table && c.source == next.source)
        {
            return Ok(());
        }
        self.put_in_service(model, next).await
    }

    async fn put_in_service(&self, model: &str, mut next: Current) -> Result<(), String> {
        for route in &next.table.routes {
            if route.weight > 0 {
                self.loaded
                    .get(model, &route.version)
                    .await
                    .map_err(|e| format!("version {} not loaded: {e}", route.version))?;
            }
        }
        if let Some(shadow) = &next.table.shadow
            && let Err(error) = self.loaded.get(model, &shadow.version).await
        {
            tracing::warn!(model, version = shadow.version, %error, "shadow version left out");
            next.table.shadow = None;
        }
        tracing::info!(
            model,
            routes = ?next.table.routes,
            shadow = ?next.table.shadow,
            source = ?next.source,
            "route table in service"
        );
        self.tables.set(model, next);
        Ok(())
    }
}
