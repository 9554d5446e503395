//! The deployment manager's configuration: defaults, then a TOML file, then
//! `LUCID_DEPLOYMENT_MANAGER_*` variables.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use lucid_config::{ConfigError, Secret};
use lucid_kafka::KafkaConfig;
use serde::{Deserialize, Serialize};

use crate::analysis::Thresholds;
use crate::gate::GatePolicy;
use crate::rollout::{OnInconclusive, Policy, Strategy};

/// Everything the deployment manager needs to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// gRPC listener (`lucid.deploy.v1.DeploymentService`, health, reflection). Port 0: any.
    pub grpc_addr: SocketAddr,
    /// HTTP listener (`/v1/rollouts`, `/healthz`, `/readyz`, `/metrics`).
    pub http_addr: SocketAddr,
    /// Broker settings.
    pub kafka: KafkaConfig,
    /// Consumer group (offsets committed for lag monitoring only).
    pub group_id: String,
    /// Prediction logs of the gateway.
    pub predictions_topic: String,
    /// Listening events (the outcomes).
    pub events_topic: String,
    /// Retraining run state changes (new versions).
    pub retraining_topic: String,
    /// Where rollout events go.
    pub rollouts_topic: String,
    /// Redis: rollout state, leases, alias history, the local traffic tables.
    pub redis_url: String,
    /// Prefix of every Redis key.
    pub redis_prefix: String,
    /// MLflow tracking server (model registry REST API).
    pub mlflow_url: String,
    /// Models whose registry aliases and versions are polled.
    pub models: Vec<String>,
    /// Time between registry polls.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Shared secret of the registry webhook (`POST /v1/registry-webhook`, body signed with
    /// HMAC-SHA256 in `X-Lucid-Signature: sha256=<hex>`); a valid call polls the registry now.
    /// The poll stays the source of truth: the webhook only makes it sooner. Unset: no webhook.
    pub webhook_secret: Option<Secret>,
    /// Time between two judgements of the active rollouts.
    #[serde(with = "humantime_serde")]
    pub tick_interval: Duration,
    /// Start a rollout by itself for each new registered version (and each succeeded
    /// retraining run).
    pub auto_start: bool,
    /// Strategy of rollouts started by themselves or without one named.
    pub strategy: Strategy,
    /// Canary steps, percent.
    pub steps: Vec<u32>,
    /// Least time a step is held.
    #[serde(with = "humantime_serde")]
    pub step_duration: Duration,
    /// Time after which a step still short of outcomes is inconclusive.
    #[serde(with = "humantime_serde")]
    pub step_timeout: Duration,
    /// Blue-green: how long switched traffic is watched.
    #[serde(with = "humantime_serde")]
    pub post_promotion_window: Duration,
    /// Analysis margins.
    pub thresholds: Thresholds,
    /// `pause` or `abort` on an inconclusive step.
    pub on_inconclusive: OnInconclusive,
    /// Offline gate on the candidate's registered metrics.
    pub gate: GatePolicy,
    /// Longest time from a prediction to its outcome.
    #[serde(with = "humantime_serde")]
    pub join_window: Duration,
    /// How far the phone's clock may run ahead of the gateway's.
    #[serde(with = "humantime_serde")]
    pub join_skew: Duration,
    /// How much of the topics to read again on start, to rebuild the step in force.
    #[serde(with = "humantime_serde")]
    pub lookback: Duration,
    /// Where traffic weights go.
    pub traffic: TrafficConfig,
    /// Life of the per-model lock around alias changes.
    #[serde(with = "humantime_serde")]
    pub lease_ttl: Duration,
    /// Log format.
    pub log_format: lucid_telemetry::LogFormat,
}

/// The traffic backend.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct TrafficConfig {
    /// `local` (Redis tables for the model gateway) or `kserve`.
    pub backend: TrafficBackend,
    /// KServe settings, for `kserve`.
    pub kserve: KserveConfig,
}

/// Which traffic backend.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum TrafficBackend {
    /// Write the route table to Redis for the model gateway.
    #[default]
    Local,
    /// Patch a KServe InferenceService's canary traffic percent.
    Kserve,
}

/// How to reach a KServe InferenceService through the Kubernetes API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct KserveConfig {
    /// Kubernetes API server.
    pub api_url: String,
    /// Namespace of the InferenceServices.
    pub namespace: String,
    /// File holding the bearer token (the pod's service account token).
    pub token_file: Option<PathBuf>,
    /// InferenceService name per model; `{model}` is replaced.
    pub service_name: String,
    /// Storage URI of a version; `{model}` and `{version}` are replaced.
    pub storage_uri: String,
}

impl Default for KserveConfig {
    fn default() -> Self {
        KserveConfig {
            api_url: "https://kubernetes.default.svc".into(),
            namespace: "lucid".into(),
            token_file: Some("/var/run/secrets/kubernetes.io/serviceaccount/token".into()),
            service_name: "{model}".into(),
            storage_uri: "models:/{model}/{version}".into(),
        }
    }
}

impl Default for TrafficConfig {
    fn default() -> Self {
        TrafficConfig {
            backend: TrafficBackend::Local,
            kserve: KserveConfig::default(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            grpc_addr: ([127, 0, 0, 1], 8093).into(),
            http_addr: ([127, 0, 0, 1], 8092).into(),
            kafka: KafkaConfig::default(),
            group_id: "lucid-deployment-manager".into(),
            predictions_topic: lucid_kafka::topics::PREDICTIONS.into(),
            events_topic: lucid_kafka::topics::LISTENING_EVENTS.into(),
            retraining_topic: lucid_kafka::topics::RETRAINING_RUNS.into(),
            rollouts_topic: lucid_kafka::topics::ROLLOUTS.into(),
            redis_url: "redis://127.0.0.1:16379".into(),
            redis_prefix: "lucid".into(),
            mlflow_url: "http://127.0.0.1:15000".into(),
            models: vec!["skip-model".into()],
            poll_interval: Duration::from_secs(15),
            webhook_secret: None,
            tick_interval: Duration::from_secs(5),
            auto_start: true,
            strategy: Strategy::Canary,
            steps: vec![10, 25, 50, 100],
            step_duration: Duration::from_secs(600),
            step_timeout: Duration::from_secs(3600),
            post_promotion_window: Duration::from_secs(1800),
            thresholds: Thresholds::default(),
            on_inconclusive: OnInconclusive::Pause,
            gate: GatePolicy::default(),
            join_window: Duration::from_secs(1800),
            join_skew: Duration::from_secs(30),
            lookback: Duration::from_secs(6 * 3600),
            traffic: TrafficConfig::default(),
            lease_ttl: Duration::from_secs(30),
            log_format: lucid_telemetry::LogFormat::default(),
        }
    }
}

impl Config {
    /// Loads the layers; `file` is the optional TOML file.
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        let config: Config = lucid_config::load("LUCID_DEPLOYMENT_MANAGER_", file)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.policy(None)
            .validate()
            .map_err(|problem| ConfigError::invalid("steps", problem))?;
        if self.rollouts_topic.is_empty() {
            return Err(ConfigError::invalid("rollouts_topic", "must not be empty"));
        }
        if self.tick_interval.is_zero() || self.poll_interval.is_zero() {
            return Err(ConfigError::invalid(
                "tick_interval",
                "tick_interval and poll_interval must be above zero",
            ));
        }
        if self.lease_ttl < Duration::from_secs(1) {
            return Err(ConfigError::invalid("lease_ttl", "must be at least 1s"));
        }
        Ok(())
    }

    /// The policy a new rollout runs under; `steps` replaces the configured ones.
    pub fn policy(&self, steps: Option<Vec<u32>>) -> Policy {
        Policy {
            steps: steps.unwrap_or_else(|| self.steps.clone()),
            step_duration_ms: self.step_duration.as_millis() as i64,
            step_timeout_ms: self.step_timeout.as_millis() as i64,
            post_promotion_ms: self.post_promotion_window.as_millis() as i64,
            thresholds: self.thresholds.clone(),
            on_inconclusive: self.on_inconclusive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_steps_name_the_setting() {
        Config::default().validate().expect("defaults are valid");
        let bad = Config {
            steps: vec![10, 5, 100],
            ..Config::default()
        };
        let error = bad.validate().expect_err("refused").to_string();
        assert!(error.contains("steps"), "{error}");
    }
}
