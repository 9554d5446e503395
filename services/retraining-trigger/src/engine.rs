//! The trigger's core: decisions on alerts and manual requests, and the supervisor that
//! drives active runs through their backend.
//!
//! A decision is read-decide-commit on the model's state in Redis (`store`), retried when
//! another writer got there first; the record goes to `retraining-runs` after the commit.
//! Only the supervisor talks to backends, one model at a time, so one process never starts a
//! run twice; a restarted process resumes each active run from its stored status, and the
//! backends are idempotent on the run, so a crash between a start and its record starts
//! nothing new.

use std::{collections::HashMap, sync::Arc, time::Duration};

use lucid_avro::Encoder;
use lucid_kafka::Producer;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::backend::{Backend, Job, Progress};
use crate::config::Config;
use crate::metrics as m;
use crate::policy::{self, Alert, BackendKind, Policy, Skip};
use crate::run::{Run, Status, Trigger};
use crate::store::{Change, Committed, Store, StoreError};

/// What became of an alert or a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// A run was requested.
    Started(Box<Run>),
    /// No run, and why.
    Skipped(Skip),
}

/// An error of a manual request, mapped to gRPC codes in `api`.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The model has no policy.
    #[error("model {0:?} has no retraining policy")]
    NoPolicy(String),
    /// Redis failed; retrying may help.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Publishes run records.
pub struct Publisher {
    /// The producer.
    pub producer: Producer,
    /// `RetrainingRun` encoder.
    pub encoder: Encoder,
    /// `retraining-runs`.
    pub topic: String,
}

impl Publisher {
    async fn publish(&self, run: &Run, event_time: i64) {
        let sent = async {
            let payload = self.encoder.encode(run.to_avro(event_time))?;
            self.producer
                .send(&self.topic, Some(run.model_name.as_bytes()), &payload)?
                .await?;
            anyhow::Ok(())
        };
        if let Err(error) = sent.await {
            metrics::counter!(m::PUBLISH_ERRORS).increment(1);
            tracing::warn!(run_id = run.run_id, status = run.status.symbol(), %error, "failed to publish a run record");
        }
    }
}

/// The engine, shared by the alert loop, the API and the supervisor.
pub struct Engine {
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) publisher: Publisher,
    pub(crate) backends: HashMap<BackendKind, Arc<dyn Backend>>,
    pub(crate) wake: Notify,
}

/// Wall clock, epoch ms.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A metric label per skip kind.
pub fn skip_kind(skip: &Skip) -> &'static str {
    match skip {
        Skip::NoModel => "no_model",
        Skip::NoPolicy => "no_policy",
        Skip::Duplicate { .. } => "duplicate",
        Skip::DuplicateKey => "duplicate_key",
        Skip::Reset => "reset",
        Skip::NotCounted => "not_counted",
        Skip::NotSustained { .. } => "not_sustained",
        Skip::ActiveRun { .. } => "active_run",
        Skip::Cooldown { .. } => "cooldown",
        Skip::NotEnoughNewSamples { .. } => "not_enough_new_samples",
        Skip::BudgetExhausted { .. } => "budget_exhausted",
    }
}

impl Engine {
    /// Decides on `alert`, read at `offset` (partition, offset) of the alerts topic, and stores
    /// the decision with the next offset in one commit.
    pub async fn on_alert(
        &self,
        alert: &Alert,
        offset: Option<(i32, i64)>,
    ) -> Result<Decision, StoreError> {
        let next = offset.map(|(p, o)| (p, o + 1));
        let now = now_ms();
        let Some(model) = alert.model_name.clone() else {
            if let Some((p, o)) = next {
                self.store.set_offset(p, o).await?;
            }
            return Ok(self.skipped_unstored(alert, "", Skip::NoModel, now).await);
        };
        let Some(policy) = self.config.policy(&model).cloned() else {
            if let Some((p, o)) = next {
                self.store.set_offset(p, o).await?;
            }
            return Ok(self
                .skipped_unstored(alert, &model, Skip::NoPolicy, now)
                .await);
        };
        let key = policy::dedupe_key(&model, &alert.monitor, alert.window_start, alert.window_end);

        loop {
            let (before, version) = self.store.load(&model).await?;
            let mut state = before.clone();
            let decided = state.decide(&policy, alert, now);
            let run = match decided.clone() {
                Ok(start) => {
                    let mut run = self.new_run(&model, &key, &policy, Trigger::Alerts, now);
                    (run.alert_ids, run.reason) = (start.alert_ids, start.reason);
                    state.started(&run.run_id, now);
                    Some(run)
                }
                Err(_) => None,
            };
            let change = Change {
                run: run.as_ref(),
                dedupe_key: run.as_ref().map(|_| key.as_str()),
                offset: next,
            };
            match self.store.commit(&model, version, &state, change).await? {
                Committed::Conflict => continue,
                Committed::DuplicateKey => {
                    // Decide again without the run: the streak and the seen window still move.
                    let mut state = before;
                    let _ = state.decide(&policy, alert, now);
                    let change = Change {
                        offset: next,
                        ..Change::default()
                    };
                    if self.store.commit(&model, version, &state, change).await? != Committed::Yes {
                        continue;
                    }
                    let skip = Skip::DuplicateKey;
                    return Ok(self.skipped_unstored(alert, &model, skip, now).await);
                }
                Committed::Yes => {}
            }
            return Ok(match (decided, run) {
                (Ok(_), Some(run)) => {
                    self.requested(&run, now).await;
                    Decision::Started(Box::new(run))
                }
                (Err(skip), _) => self.skipped_unstored(alert, &model, skip, now).await,
                (Ok(_), None) => unreachable!("a start always makes a run"),
            });
        }
    }

    /// A manual request: the policy's rules apply unless `force` (see `ModelState::decide_manual`).
    /// A repeated `idempotency_key` returns the first request's run.
    pub async fn request(
        &self,
        model: &str,
        reason: &str,
        force: bool,
        idempotency_key: &str,
    ) -> Result<Decision, RequestError> {
        let policy = self
            .config
            .policy(model)
            .cloned()
            .ok_or_else(|| RequestError::NoPolicy(model.to_owned()))?;
        let idempotency = match idempotency_key {
            "" => uuid::Uuid::now_v7().to_string(),
            key => key.to_owned(),
        };
        let key = policy::manual_key(model, &idempotency);
        if let Some(run) = self.store.run_by_key(&key).await? {
            return Ok(Decision::Started(Box::new(run)));
        }
        let now = now_ms();
        loop {
            let (mut state, version) = self.store.load(model).await?;
            if let Err(skip) = state.decide_manual(&policy, now, force) {
                let mut run = self.new_run(model, &key, &policy, Trigger::Manual, now);
                (run.status, run.reason) = (Status::Skipped, skip.to_string());
                self.log_skip(&run, &skip);
                self.publisher.publish(&run, now).await;
                return Ok(Decision::Skipped(skip));
            }
            let mut run = self.new_run(model, &key, &policy, Trigger::Manual, now);
            run.reason = match reason {
                "" => "manual request".into(),
                text => format!("manual request: {text}"),
            };
            if force {
                run.reason.push_str(" (forced)");
            }
            state.started(&run.run_id, now);
            let change = Change {
                run: Some(&run),
                dedupe_key: Some(&key),
                offset: None,
            };
            match self.store.commit(model, version, &state, change).await? {
                Committed::Yes => {
                    self.requested(&run, now).await;
                    return Ok(Decision::Started(Box::new(run)));
                }
                Committed::Conflict => continue,
                Committed::DuplicateKey => {
                    if let Some(run) = self.store.run_by_key(&key).await? {
                        return Ok(Decision::Started(Box::new(run)));
                    }
                }
            }
        }
    }

    fn new_run(&self, model: &str, key: &str, policy: &Policy, trigger: Trigger, now: i64) -> Run {
        Run {
            run_id: uuid::Uuid::now_v7().to_string(),
            model_name: model.to_owned(),
            dedupe_key: key.to_owned(),
            backend: policy.backend,
            trigger,
            alert_ids: Vec::new(),
            status: Status::Requested,
            reason: String::new(),
            external_id: None,
            model_version: None,
            metrics: Default::default(),
            requested_time: now,
            started_time: None,
            finished_time: None,
        }
    }

    async fn requested(&self, run: &Run, now: i64) {
        metrics::counter!(m::DECISIONS, "model" => run.model_name.clone(), "decision" => "start")
            .increment(1);
        metrics::counter!(m::RUNS, "model" => run.model_name.clone(), "backend" => run.backend.to_string(), "status" => "REQUESTED").increment(1);
        tracing::info!(
            model = run.model_name,
            run_id = run.run_id,
            dedupe_key = run.dedupe_key,
            backend = %run.backend,
            alert_ids = ?run.alert_ids,
            reason = run.reason,
            "retraining run requested"
        );
        self.publisher.publish(run, now).await;
        self.wake.notify_one();
    }

    /// Logs, counts and publishes a skipped alert (skips are not kept in Redis: the topic and
    /// the log hold them).
    async fn skipped_unstored(&self, alert: &Alert, model: &str, skip: Skip, now: i64) -> Decision {
        let key = policy::dedupe_key(model, &alert.monitor, alert.window_start, alert.window_end);
        let policy = self.config.policy(model).cloned().unwrap_or_default();
        let mut run = self.new_run(model, &key, &policy, Trigger::Alerts, now);
        (run.status, run.reason) = (Status::Skipped, skip.to_string());
        run.alert_ids = vec![alert.alert_id.clone()];
        self.log_skip(&run, &skip);
        self.publisher.publish(&run, now).await;
        Decision::Skipped(skip)
    }

    fn log_skip(&self, run: &Run, skip: &Skip) {
        let kind = skip_kind(skip);
        metrics::counter!(m::DECISIONS, "model" => run.model_name.clone(), "decision" => kind)
            .increment(1);
        tracing::info!(
            model = run.model_name,
            dedupe_key = run.dedupe_key,
            alert_ids = ?run.alert_ids,
            decision = kind,
            reason = run.reason,
            "retraining skipped"
        );
    }

    /// Drives active runs every `poll_interval`, and at once when a run is requested.
    pub async fn supervise(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            if let Err(error) = self.supervise_once().await {
                tracing::warn!(%error, "failed to read the active runs");
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = self.wake.notified() => {}
            }
        }
        tracing::info!("run supervisor stopped; active runs continue and resume on start");
        Ok(())
    }

    /// One pass over every model's active run.
    pub async fn supervise_once(&self) -> Result<(), StoreError> {
        for model in self.store.models().await? {
            let (state, _) = self.store.load(&model).await?;
            let active = state.active.is_some();
            metrics::gauge!(m::ACTIVE_RUNS, "model" => model.clone())
                .set(f64::from(u8::from(active)));
            let Some(run_id) = state.active else { continue };
            match self.store.run(&run_id).await? {
                Some(run) => self.drive(run).await?,
                None => tracing::warn!(model, run_id, "active run has no record"),
            }
        }
        Ok(())
    }

    async fn drive(&self, mut run: Run) -> Result<(), StoreError> {
        let now = now_ms();
        if run.status.is_final() {
            // Finished but not yet cleared from the state (a crash between the two).
            return self.finish(run, now).await;
        }
        let Some(backend) = self.backends.get(&run.backend).cloned() else {
            (run.status, run.reason) = (
                Status::Failed,
                format!("backend {} is not configured", run.backend),
            );
            return self.finish(run, now).await;
        };
        let job = Job {
            run_id: run.run_id.clone(),
            dedupe_key: run.dedupe_key.clone(),
            model_name: run.model_name.clone(),
            alert_ids: run.alert_ids.clone(),
        };
        let Some(external_id) = run.external_id.clone() else {
            return match backend.start(&job).await {
                Ok(external_id) => {
                    run.status = Status::Started;
                    (run.external_id, run.started_time) = (Some(external_id), Some(now));
                    self.save_run(&run).await?;
                    metrics::counter!(m::RUNS, "model" => run.model_name.clone(), "backend" => run.backend.to_string(), "status" => "STARTED").increment(1);
                    tracing::info!(
                        run_id = run.run_id,
                        model = run.model_name,
                        external_id = run.external_id,
                        "retraining run started"
                    );
                    self.publisher.publish(&run, now).await;
                    Ok(())
                }
                Err(error) if error.retryable() => {
                    metrics::counter!(m::BACKEND_ERRORS, "backend" => run.backend.to_string())
                        .increment(1);
                    tracing::warn!(run_id = run.run_id, %error, "failed to start a run; retrying at the next poll");
                    Ok(())
                }
                Err(error) => {
                    (run.status, run.reason) = (Status::Failed, error.to_string());
                    self.finish(run, now).await
                }
            };
        };

        let timeout = self
            .config
            .policy(&run.model_name)
            .map(|p| p.run_timeout)
            .unwrap_or(Duration::from_secs(2 * 3600));
        let started = run.started_time.unwrap_or(run.requested_time);
        if now - started > timeout.as_millis() as i64 {
            if let Err(error) = backend.stop(&job, &external_id).await {
                tracing::warn!(run_id = run.run_id, %error, "failed to stop a timed-out run");
            }
            (run.status, run.reason) = (
                Status::Failed,
                format!("timed out after {}", humantime_duration(timeout)),
            );
            return self.finish(run, now).await;
        }
        match backend.poll(&job, &external_id).await {
            Ok(Progress::Running) => Ok(()),
            Ok(Progress::Succeeded(outcome)) => {
                run.status = Status::Succeeded;
                (run.model_version, run.metrics) = (outcome.model_version, outcome.metrics);
                self.finish(run, now).await
            }
            Ok(Progress::Failed(reason)) => {
                (run.status, run.reason) = (Status::Failed, reason);
                self.finish(run, now).await
            }
            Err(error) => {
                metrics::counter!(m::BACKEND_ERRORS, "backend" => run.backend.to_string())
                    .increment(1);
                tracing::warn!(run_id = run.run_id, %error, "failed to poll a run; retrying at the next poll");
                Ok(())
            }
        }
    }

    /// Stores `run` as it is, leaving the model's state alone.
    async fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        loop {
            let (state, version) = self.store.load(&run.model_name).await?;
            let change = Change {
                run: Some(run),
                ..Change::default()
            };
            if self
                .store
                .commit(&run.model_name, version, &state, change)
                .await?
                == Committed::Yes
            {
                return Ok(());
            }
        }
    }

    /// Stores the end of `run` and clears it from its model's state.
    async fn finish(&self, mut run: Run, now: i64) -> Result<(), StoreError> {
        let first = run.finished_time.is_none();
        run.finished_time.get_or_insert(now);
        loop {
            let (mut state, version) = self.store.load(&run.model_name).await?;
            state.finished(&run.run_id, now);
            let change = Change {
                run: Some(&run),
                ..Change::default()
            };
            if self
                .store
                .commit(&run.model_name, version, &state, change)
                .await?
                == Committed::Yes
            {
                break;
            }
        }
        if !first {
            return Ok(());
        }
        let seconds = (now - run.started_time.unwrap_or(run.requested_time)) as f64 / 1000.0;
        let (backend, status) = (run.backend.to_string(), run.status.symbol());
        metrics::histogram!(m::RUN_DURATION, "backend" => backend.clone(), "status" => status)
            .record(seconds);
        metrics::counter!(m::RUNS, "model" => run.model_name.clone(), "backend" => backend, "status" => status).increment(1);
        if run.status == Status::Succeeded {
            tracing::info!(run_id = run.run_id, model = run.model_name, model_version = run.model_version, metrics = ?run.metrics, seconds, "retraining run succeeded");
        } else {
            tracing::warn!(
                run_id = run.run_id,
                model = run.model_name,
                reason = run.reason,
                seconds,
                "retraining run failed"
            );
        }
        self.publisher.publish(&run, now).await;
        Ok(())
    }
}

fn humantime_duration(d: Duration) -> String {
    format!("{}s", d.as_secs())
}
