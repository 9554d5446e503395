//! The deployment manager's core: starts rollouts, ticks them, carries out their transitions
//! (aliases, traffic, persistence, event) and runs the operators' commands. One lock orders
//! every change to rollouts within the process; the Redis claim per model and the alias lease
//! order them across processes.

use std::sync::Arc;

use lucid_avro::Encoder;
use lucid_kafka::Producer;
use tokio::sync::Mutex;

use crate::config::Config;
use crate::gate;
use crate::live::Live;
use crate::metrics as m;
use crate::registry::{Registry, RegistryError};
use crate::rollout::{Observation, Rollout, RolloutError, Start, Strategy, Transition};
use crate::store::{AliasChange, Store};
use crate::traffic::Traffic;

/// Why a command was refused; mapped to gRPC codes in `api.rs`.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No such rollout.
    #[error("no rollout {0}")]
    NotFound(String),
    /// The state machine refused.
    #[error(transparent)]
    Rollout(#[from] RolloutError),
    /// The model already has an active rollout, or the gate refused the candidate.
    #[error("{0}")]
    Precondition(String),
    /// An outside system failed; retrying may help.
    #[error("{0:#}")]
    Unavailable(anyhow::Error),
}

impl From<redis::RedisError> for CommandError {
    fn from(error: redis::RedisError) -> Self {
        CommandError::Unavailable(anyhow::Error::new(error).context("redis failed"))
    }
}

impl From<RegistryError> for CommandError {
    fn from(error: RegistryError) -> Self {
        CommandError::Unavailable(anyhow::Error::new(error).context("model registry failed"))
    }
}

/// A request to start a rollout.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// Model.
    pub model: String,
    /// Candidate version.
    pub version: String,
    /// Strategy; the configured one when none.
    pub strategy: Option<Strategy>,
    /// Canary steps; the configured ones when none.
    pub steps: Option<Vec<u32>>,
    /// Skip the offline gate.
    pub skip_gate: bool,
    /// Why (for logs).
    pub why: String,
}

/// Everything the manager works with.
#[derive(Clone)]
pub struct Manager {
    pub(crate) config: Arc<Config>,
    pub(crate) store: Store,
    pub(crate) registry: Registry,
    pub(crate) traffic: Traffic,
    pub(crate) live: Live,
    pub(crate) producer: Producer,
    pub(crate) encoder: Encoder,
    pub(crate) owner: String,
    pub(crate) lock: Arc<Mutex<()>>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Manager {
    /// Starts a rollout: checks the gate, claims the model, applies the first transition.
    pub async fn start(&self, request: StartRequest) -> Result<Rollout, CommandError> {
        let _held = self.lock.lock().await;
        let model = request.model.as_str();
        if let Some(id) = self.store.active_of(model).await? {
            return Err(CommandError::Precondition(format!(
                "model {model} has an active rollout {id}"
            )));
        }
        let aliases = self.registry.aliases(model).await?;
        let from = aliases.get("champion").cloned();
        if !request.skip_gate {
            let candidate = self
                .registry
                .version_metrics(model, &request.version)
                .await?;
            let champion = match &from {
                Some(v) if v != &request.version => {
                    Some(self.registry.version_metrics(model, v).await?)
                }
                _ => None,
            };
            if let Err(reason) = gate::check(&self.config.gate, &candidate, champion.as_ref()) {
                metrics::counter!(m::GATE_REFUSED, "model" => model.to_owned()).increment(1);
                tracing::info!(
                    model,
                    version = request.version,
                    reason,
                    "candidate refused by the gate"
                );
                return Err(CommandError::Precondition(format!(
                    "offline gate: {reason}"
                )));
            }
        }
        let now = now_ms();
        let (mut rollout, transition) = Rollout::start(Start {
            id: uuid::Uuid::now_v7().to_string(),
            model: model.to_owned(),
            from_version: from,
            previous: aliases.get("previous").cloned(),
            to_version: request.version.clone(),
            strategy: request.strategy.unwrap_or(self.config.strategy),
            policy: self.config.policy(request.steps),
            now_ms: now,
        })?;
        if !self.store.claim(model, &rollout.id).await? {
            return Err(CommandError::Precondition(format!(
                "model {model} has an active rollout"
            )));
        }
        tracing::info!(
            model,
            rollout_id = rollout.id,
            version = rollout.to_version,
            why = request.why,
            "rollout starting"
        );
        // Keep the step's predictions from now on, not from the first tick.
        self.watch(&rollout);
        self.carry_out(&mut rollout, transition, now).await;
        Ok(rollout)
    }

    /// Runs an operator's command on a rollout.
    pub async fn command(
        &self,
        id: &str,
        command: impl FnOnce(&mut Rollout, i64) -> Result<Transition, RolloutError>,
    ) -> Result<Rollout, CommandError> {
        let _held = self.lock.lock().await;
        let mut rollout = self
            .store
            .load(id)
            .await?
            .ok_or_else(|| CommandError::NotFound(id.to_owned()))?;
        let now = now_ms();
        let transition = command(&mut rollout, now)?;
        self.carry_out(&mut rollout, transition, now).await;
        Ok(rollout)
    }

    /// Judges every active rollout once.
    pub async fn tick(&self) -> anyhow::Result<()> {
        let _held = self.lock.lock().await;
        let active = self.store.active().await?;
        metrics::gauge!(m::ACTIVE).set(active.len() as f64);
        for mut rollout in active {
            let now = now_ms();
            self.watch(&rollout);
            let analysis = self.live.analysis(
                &rollout.model,
                rollout.from_version.as_deref(),
                &rollout.to_version,
                rollout.step_started_ms,
            );
            let observation = Observation {
                now_ms: now,
                champion: self.live.champion(&rollout.model),
                analysis,
            };
            if let Some(transition) = rollout.tick(&observation) {
                if let Some(verdict) = transition.verdict {
                    metrics::counter!(m::ANALYSES, "model" => rollout.model.clone(), "verdict" => verdict.as_str())
                        .increment(1);
                }
                self.carry_out(&mut rollout, transition, now).await;
            }
        }
        Ok(())
    }

    /// Keeps the live records of a rollout's versions.
    pub fn watch(&self, rollout: &Rollout) {
        let mut versions = vec![rollout.to_version.as_str()];
        versions.extend(rollout.from_version.as_deref());
        self.live.watch(&rollout.model, &versions);
    }

    /// Aliases, traffic, persistence, event: in that order, so a crash before the save makes
    /// the restarted process decide the same transition again, and every step is idempotent.
    async fn carry_out(&self, rollout: &mut Rollout, mut transition: Transition, now: i64) {
        if let Err(conflict) = self.move_aliases(rollout, &transition, now).await {
            tracing::warn!(model = rollout.model, rollout_id = rollout.id, %conflict, "alias changed underneath: aborting");
            // Record the transition that could not complete, then the abort.
            let reason = format!("registry conflict: {conflict}");
            transition = rollout.registry_conflict(now, reason);
            if let Err(error) = self.move_aliases(rollout, &transition, now).await {
                tracing::warn!(model = rollout.model, %error, "failed to withdraw the challenger alias");
            }
        }
        if let Err(error) = self.traffic.apply(rollout, &transition.traffic).await {
            metrics::counter!(m::FAILURES, "system" => "traffic").increment(1);
            tracing::error!(
                model = rollout.model,
                backend = self.traffic.name(),
                error = format!("{error:#}"),
                "failed to apply traffic weights"
            );
        }
        metrics::gauge!(m::CANDIDATE_WEIGHT, "model" => rollout.model.clone()).set(f64::from(
            crate::rollout::weight_of(&transition.traffic, &rollout.to_version),
        ));
        if let Err(error) = self.store.save(rollout).await {
            metrics::counter!(m::FAILURES, "system" => "redis").increment(1);
            tracing::error!(model = rollout.model, %error, "failed to persist the rollout");
        }
        if rollout.state.is_final() {
            self.live.forget(&rollout.model);
        }
        metrics::counter!(m::TRANSITIONS, "model" => rollout.model.clone(), "transition" => transition.kind.as_str())
            .increment(1);
        tracing::info!(
            model = rollout.model,
            rollout_id = rollout.id,
            transition = transition.kind.as_str(),
            state = rollout.state.as_str(),
            candidate_weight = crate::rollout::weight_of(&transition.traffic, &rollout.to_version),
            verdict = crate::events::verdict_name(transition.verdict),
            reason = transition.reason,
            "rollout transition"
        );
        self.publish(rollout, &transition, now).await;
    }

    /// Alias changes under the model's lease. A conflict is returned; other failures are
    /// logged and left for an operator (the rollout state stays consistent with traffic).
    async fn move_aliases(
        &self,
        rollout: &Rollout,
        transition: &Transition,
        now: i64,
    ) -> Result<(), RegistryError> {
        if transition.aliases.is_empty() {
            return Ok(());
        }
        let ttl = self.config.lease_ttl.as_millis() as u64;
        let mut held = false;
        for _ in 0..50 {
            match self.store.lock(&rollout.model, &self.owner, ttl).await {
                Ok(true) => {
                    held = true;
                    break;
                }
                Ok(false) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                Err(error) => {
                    tracing::warn!(%error, "failed to take the alias lease");
                    break;
                }
            }
        }
        if !held {
            metrics::counter!(m::FAILURES, "system" => "redis").increment(1);
            tracing::error!(
                model = rollout.model,
                "alias lease not taken: aliases left unchanged"
            );
            return Ok(());
        }
        let outcome = self.cas_all(rollout, transition, now).await;
        if let Err(error) = self.store.unlock(&rollout.model, &self.owner).await {
            tracing::warn!(%error, "failed to give the alias lease back");
        }
        outcome
    }

    async fn cas_all(
        &self,
        rollout: &Rollout,
        transition: &Transition,
        now: i64,
    ) -> Result<(), RegistryError> {
        for change in &transition.aliases {
            let alias = change.alias.as_str();
            let result = self
                .registry
                .compare_and_set(
                    &rollout.model,
                    alias,
                    &change.expected,
                    change.to.as_deref(),
                )
                .await;
            let before = match result {
                Ok(before) => before,
                Err(error @ RegistryError::Conflict { .. }) => return Err(error),
                Err(error) => {
                    metrics::counter!(m::FAILURES, "system" => "registry").increment(1);
                    tracing::error!(model = rollout.model, alias, %error, "failed to change an alias");
                    continue;
                }
            };
            if alias == "champion" {
                self.live
                    .observe_champion(&rollout.model, change.to.clone(), now_ms());
            }
            if before == change.to {
                continue;
            }
            metrics::counter!(m::ALIAS_CHANGES, "alias" => alias).increment(1);
            let record = AliasChange {
                alias: alias.to_owned(),
                from: before,
                to: change.to.clone(),
                rollout_id: rollout.id.clone(),
                reason: transition.reason.clone(),
                at_ms: now,
            };
            if let Err(error) = self.store.record_alias(&rollout.model, &record).await {
                tracing::warn!(%error, "failed to append to the alias history");
            }
        }
        Ok(())
    }

    async fn publish(&self, rollout: &Rollout, transition: &Transition, now: i64) {
        let value = crate::events::record(rollout, transition, now);
        let sent = match self.encoder.encode(value) {
            Ok(payload) => match self.producer.send(
                &self.config.rollouts_topic,
                Some(rollout.model.as_bytes()),
                &payload,
            ) {
                Ok(delivery) => delivery.await.map(drop).map_err(anyhow::Error::new),
                Err(error) => Err(anyhow::Error::new(error)),
            },
            Err(error) => Err(anyhow::Error::new(error)),
        };
        if let Err(error) = sent {
            metrics::counter!(m::FAILURES, "system" => "kafka").increment(1);
            tracing::warn!(model = rollout.model, %error, "failed to publish a rollout event");
        }
    }

    /// Polls the registry once: observes each model's champion and starts rollouts of new
    /// versions when `auto_start` is on.
    pub async fn poll_registry(&self) {
        for model in &self.config.models {
            let asked = now_ms();
            match self.registry.aliases(model).await {
                Ok(aliases) => {
                    self.live
                        .observe_champion(model, aliases.get("champion").cloned(), asked)
                }
                Err(error) => {
                    metrics::counter!(m::FAILURES, "system" => "registry").increment(1);
                    tracing::warn!(model, %error, "failed to poll the registry aliases");
                    continue;
                }
            }
            if self.config.auto_start
                && let Err(error) = self.start_newest(model).await
            {
                tracing::warn!(
                    model,
                    error = format!("{error:#}"),
                    "failed to start a rollout of a new version"
                );
            }
        }
    }

    /// Starts a rollout of the newest version above the last one considered.
    async fn start_newest(&self, model: &str) -> anyhow::Result<()> {
        let versions = self.registry.versions(model).await?;
        let Some(newest) = versions.first() else {
            return Ok(());
        };
        let newest_number: u64 = newest.version.parse().unwrap_or(0);
        let Some(seen) = self.store.seen_version(model).await? else {
            // First look at this model: what is registered already is not new.
            self.store.set_seen_version(model, newest_number).await?;
            return Ok(());
        };
        if newest_number <= seen {
            return Ok(());
        }
        self.store.set_seen_version(model, newest_number).await?;
        self.start_version(model, &newest.version, "new version in the registry")
            .await
    }

    /// Starts a rollout of `version` by itself (registry poll or retraining run).
    pub async fn start_version(&self, model: &str, version: &str, why: &str) -> anyhow::Result<()> {
        let request = StartRequest {
            model: model.to_owned(),
            version: version.to_owned(),
            strategy: None,
            steps: None,
            skip_gate: false,
            why: why.to_owned(),
        };
        match self.start(request).await {
            Ok(_) => Ok(()),
            Err(CommandError::Precondition(reason)) => {
                tracing::info!(model, version, reason, "no rollout started");
                Ok(())
            }
            Err(CommandError::Rollout(RolloutError::AlreadyChampion(_))) => Ok(()),
            Err(error) => Err(anyhow::Error::new(error)),
        }
    }
}
