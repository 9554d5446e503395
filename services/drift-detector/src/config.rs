//! The drift detector's configuration: defaults, then a TOML file, then `LUCID_DRIFT_DETECTOR_*`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use lucid_config::ConfigError;
use lucid_kafka::KafkaConfig;
use serde::{Deserialize, Serialize};

/// Everything the drift detector needs to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// gRPC listener (`lucid.drift.v1.DriftService`, health, reflection). Port 0: any.
    pub grpc_addr: SocketAddr,
    /// HTTP listener (`/v1/monitors`, `/healthz`, `/readyz`, `/metrics`).
    pub http_addr: SocketAddr,
    /// Monitor definitions (TOML); the shipped `monitors.toml` when unset.
    pub monitors_file: Option<PathBuf>,
    /// Replaces the topic of every monitor whose topic is `listening-events` (tests, demos).
    pub events_topic: Option<String>,
    /// Replaces the topic of every monitor whose topic is `predictions`.
    pub predictions_topic: Option<String>,
    /// The track catalog folder, for `track_*` columns of listening events.
    pub catalog_dir: Option<PathBuf>,
    /// Broker settings.
    pub kafka: KafkaConfig,
    /// Consumer group (offsets are committed for lag monitoring only).
    pub group_id: String,
    /// Where alerts go.
    pub alerts_topic: String,
    /// Redis, for the alert state that must survive a restart.
    pub redis_url: String,
    /// Prefix of every Redis key.
    pub redis_prefix: String,
    /// Least time between two alerts of a monitor that stays in a band.
    #[serde(with = "humantime_serde")]
    pub hold_off: Duration,
    /// Log format.
    pub log_format: lucid_telemetry::LogFormat,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            grpc_addr: ([127, 0, 0, 1], 8095).into(),
            http_addr: ([127, 0, 0, 1], 8094).into(),
            monitors_file: None,
            events_topic: None,
            predictions_topic: None,
            catalog_dir: std::env::var_os(lucid_catalog::CATALOG_DIR_ENV).map(PathBuf::from),
            kafka: KafkaConfig::default(),
            group_id: "lucid-drift-detector".into(),
            alerts_topic: "drift-alerts".into(),
            redis_url: "redis://127.0.0.1:16379".into(),
            redis_prefix: "lucid".into(),
            hold_off: Duration::from_secs(600),
            log_format: lucid_telemetry::LogFormat::default(),
        }
    }
}

impl Config {
    /// Loads the layers; `file` is the optional TOML file.
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        let config: Config = lucid_config::load("LUCID_DRIFT_DETECTOR_", file)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.alerts_topic.is_empty() {
            return Err(ConfigError::invalid("alerts_topic", "must not be empty"));
        }
        if let Some(dir) = &self.catalog_dir
            && !dir.join(lucid_catalog::FEATURES_FILE).exists()
        {
            return Err(ConfigError::invalid(
                "catalog_dir",
                format!(
                    "{} holds no {} (see scripts/fetch-data)",
                    dir.display(),
                    lucid_catalog::FEATURES_FILE
                ),
            ));
        }
        Ok(())
    }

    /// The monitor definitions' text: the configured file, or the shipped set.
    pub fn definitions(&self) -> Result<String, ConfigError> {
        match &self.monitors_file {
            None => Ok(crate::spec::STARTER_MONITORS.to_owned()),
            Some(path) => std::fs::read_to_string(path).map_err(|e| {
                ConfigError::invalid(
                    "monitors_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            }),
        }
    }
}
