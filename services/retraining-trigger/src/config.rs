//! The retraining trigger's configuration: defaults, then a TOML file, then
//! `LUCID_RETRAINING_TRIGGER_*`. Policies are per model (`[models.<name>]`), with
//! `[default_policy]` for models that have no entry of their own.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use lucid_config::{ConfigError, Secret};
use lucid_kafka::KafkaConfig;
use serde::{Deserialize, Serialize};

use crate::policy::Policy;

/// Everything the retraining trigger needs to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// gRPC listener (`lucid.retraining.v1.RetrainingService`, health, reflection). Port 0: any.
    pub grpc_addr: SocketAddr,
    /// HTTP listener (`/v1/runs`, `/healthz`, `/readyz`, `/metrics`).
    pub http_addr: SocketAddr,
    /// Broker settings.
    pub kafka: KafkaConfig,
    /// Consumer group of the alert consumer; offsets are committed after each decision is stored.
    pub group_id: String,
    /// Where drift alerts come from.
    pub alerts_topic: String,
    /// Where run state changes and decisions go.
    pub runs_topic: String,
    /// On a first start (no alert offsets stored in Redis under `redis_prefix`), read the alerts
    /// topic from its beginning. Off by default: alerts raised before the trigger ever ran are
    /// history, and acting on them would retrain on a drift long gone.
    pub replay_alerts: bool,
    /// Redis, for the policy state and the runs.
    pub redis_url: String,
    /// Prefix of every Redis key.
    pub redis_prefix: String,
    /// Folder for local runs' logs and results.
    pub state_dir: PathBuf,
    /// How often an active run's backend is asked for its state.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// The policy of models without an entry in `models`; none: their alerts are skipped.
    pub default_policy: Option<Policy>,
    /// Policies by model name.
    pub models: BTreeMap<String, Policy>,
    /// The `local` backend: the pipeline as a subprocess.
    pub local: LocalConfig,
    /// The `kubeflow` backend; required when a policy names it.
    pub kubeflow: Option<KubeflowConfig>,
    /// The `ray` backend; required when a policy names it.
    pub ray: Option<RayConfig>,
    /// Log format.
    pub log_format: lucid_telemetry::LogFormat,
}

/// The pipeline's command line, shared by the `local` and `ray` backends. The trigger appends
/// `--offline-dir`, `--mlflow-url`, `--alert-ids`, `--run-name <dedupe key>`, `--model-name`,
/// then `extra_args` (and the local backend `--pipeline-root` in the run's folder).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineCommand {
    /// Program and its first arguments.
    pub command: Vec<String>,
    /// The offline log folder the pipeline trains from.
    pub offline_dir: PathBuf,
    /// The model registry.
    pub mlflow_url: String,
    /// Further arguments, appended last (for example `--backfill-bin`).
    pub extra_args: Vec<String>,
}

impl Default for PipelineCommand {
    fn default() -> Self {
        PipelineCommand {
            command: vec![
                pipeline_python().display().to_string(),
                "-m".into(),
                "pipelines.skip_model.run".into(),
            ],
            offline_dir: PathBuf::from(".lucid/offline"),
            mlflow_url: "http://127.0.0.1:15000".into(),
            extra_args: Vec::new(),
        }
    }
}

/// The pipeline venv's Python, as `ensure_venv pipeline` (scripts/lib/env.sh) makes it:
/// `$LUCID_CACHE/venvs/pipeline/bin/python`, the cache defaulting to `~/.cache/lucid`.
pub fn pipeline_python() -> PathBuf {
    let cache = std::env::var_os("LUCID_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/lucid")))
        .unwrap_or_else(|| PathBuf::from(".cache/lucid"));
    cache.join("venvs/pipeline/bin/python")
}

/// The `local` backend. (No `deny_unknown_fields`: serde does not support it with `flatten`.)
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LocalConfig {
    /// What to run.
    #[serde(flatten)]
    pub pipeline: PipelineCommand,
    /// Working directory of the process (the checkout, for `-m pipelines...`); the service's
    /// own when unset.
    pub working_dir: Option<PathBuf>,
    /// Extra environment variables of the process.
    pub env: BTreeMap<String, String>,
}

/// The `kubeflow` backend: Kubeflow Pipelines v2 REST API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeflowConfig {
    /// Base URL of the KFP API server, for example `http://ml-pipeline.kubeflow:8888`.
    pub url: String,
    /// The pipeline to run.
    pub pipeline_id: String,
    /// Its version.
    pub pipeline_version_id: String,
    /// Experiment to file runs under; the default experiment when unset.
    #[serde(default)]
    pub experiment_id: Option<String>,
    /// Bearer token, when the API needs one.
    #[serde(default)]
    pub token: Option<Secret>,
    /// Fixed pipeline parameters (for example `offline_dir`, `mlflow_url`); the trigger adds
    /// `dedupe_key`, `alert_ids` and `model_name`.
    #[serde(default)]
    pub parameters: BTreeMap<String, serde_json::Value>,
}

/// The `ray` backend: Ray Jobs REST API on the dashboard port.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RayConfig {
    /// Dashboard URL, for example `http://127.0.0.1:8265`.
    pub url: String,
    /// The entrypoint, built like the local command line.
    #[serde(default)]
    pub pipeline: PipelineCommand,
    /// Ray `runtime_env` of the job (working_dir, env_vars, pip ...).
    #[serde(default)]
    pub runtime_env: Option<serde_json::Value>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            grpc_addr: ([127, 0, 0, 1], 8099).into(),
            http_addr: ([127, 0, 0, 1], 8098).into(),
            kafka: KafkaConfig::default(),
            group_id: "lucid-retraining-trigger".into(),
            alerts_topic: "drift-alerts".into(),
            runs_topic: "retraining-runs".into(),
            replay_alerts: false,
            redis_url: "redis://127.0.0.1:16379".into(),
            redis_prefix: "lucid".into(),
            state_dir: PathBuf::from(".lucid/retraining"),
            poll_interval: Duration::from_secs(5),
            default_policy: Some(Policy::default()),
            models: BTreeMap::new(),
            local: LocalConfig::default(),
            kubeflow: None,
            ray: None,
            log_format: lucid_telemetry::LogFormat::default(),
        }
    }
}

impl Config {
    /// Loads the layers; `file` is the optional TOML file.
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        let config: Config = lucid_config::load("LUCID_RETRAINING_TRIGGER_", file)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (topic, setting) in [
            (&self.alerts_topic, "alerts_topic"),
            (&self.runs_topic, "runs_topic"),
        ] {
            if topic.is_empty() {
                return Err(ConfigError::invalid(setting, "must not be empty"));
            }
        }
        if self.poll_interval.is_zero() {
            return Err(ConfigError::invalid("poll_interval", "must be above zero"));
        }
        if self.local.pipeline.command.is_empty() {
            return Err(ConfigError::invalid("local.command", "must name a program"));
        }
        let named = self
            .models
            .iter()
            .map(|(m, p)| (format!("models.{m}"), p))
            .chain(
                self.default_policy
                    .iter()
                    .map(|p| ("default_policy".into(), p)),
            );
        for (setting, policy) in named {
            policy
                .validate()
                .map_err(|problem| ConfigError::invalid(&setting, problem))?;
            let missing = match policy.backend {
                crate::policy::BackendKind::Local => false,
                crate::policy::BackendKind::Kubeflow => self.kubeflow.is_none(),
                crate::policy::BackendKind::Ray => self.ray.is_none(),
            };
            if missing {
                return Err(ConfigError::invalid(
                    &setting,
                    format!(
                        "backend {} has no [{}] section",
                        policy.backend, policy.backend
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The policy of `model`, if it has one.
    pub fn policy(&self, model: &str) -> Option<&Policy> {
        self.models.get(model).or(self.default_policy.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_naming_an_unconfigured_backend_is_refused_by_name() {
        let mut config = Config::default();
        let policy = Policy {
            backend: crate::policy::BackendKind::Ray,
            ..Policy::default()
        };
        config.models.insert("skip-model".into(), policy);
        let error = config.validate().expect_err("no [ray]");
        assert_eq!(
            error.to_string(),
            "invalid configuration: models.skip-model: backend ray has no [ray] section"
        );
    }

    #[test]
    fn the_example_config_loads_and_validates() {
        let file = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/retraining.toml"));
        // A prefix no variable has, so the environment cannot change what is read.
        let config: Config =
            lucid_config::load("LUCID_RETRAINING_TRIGGER_EXAMPLE_TEST_", Some(file))
                .expect("the example parses");
        config.validate().expect("the example is valid");

        let skip = config.policy("skip-model").expect("a policy of its own");
        assert_eq!(
            (skip.sustained, skip.min_new_samples, skip.daily_budget),
            (2, 5000, 2)
        );
        assert_eq!(skip.cooldown, Duration::from_secs(12 * 3600));
        assert_eq!(config.policy("other"), Some(&Policy::default()));
        let ray = config.ray.expect("a [ray] section");
        assert_eq!(ray.url, "http://127.0.0.1:18265");
        assert_eq!(
            ray.runtime_env,
            Some(serde_json::json!({"env_vars": {"PYTHONPATH": "/srv/lucid"}}))
        );
        assert!(config.kubeflow.is_none());
    }

    #[test]
    fn a_model_without_an_entry_gets_the_default_policy() {
        let mut config = Config::default();
        let own = Policy {
            sustained: 5,
            ..Policy::default()
        };
        config.models.insert("a".into(), own);
        assert_eq!(config.policy("a").map(|p| p.sustained), Some(5));
        assert_eq!(config.policy("b").map(|p| p.sustained), Some(2));
        config.default_policy = None;
        assert!(config.policy("b").is_none());
    }
}
