//! The model gateway's configuration: defaults, then a TOML file, then `LUCID_MODEL_GATEWAY_*`.

use std::{net::SocketAddr, time::Duration};

use lucid_config::ConfigError;
use lucid_kafka::KafkaConfig;
use serde::{Deserialize, Serialize};

/// Everything the model gateway needs to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// gRPC listener (`inference.GRPCInferenceService`, health, reflection). Port 0: any.
    pub grpc_addr: SocketAddr,
    /// HTTP listener (`/v2/...`, `/healthz`, `/readyz`, `/metrics`).
    pub http_addr: SocketAddr,
    /// The registered models served; any other name is 404 / NOT_FOUND.
    pub models: Vec<String>,
    /// MLflow tracking and registry server.
    pub mlflow_url: String,
    /// The registry alias served when a model has no route table.
    pub champion_alias: String,
    /// The feature store's gRPC endpoint (`lucid.features.v1.FeatureService`).
    pub feature_store_url: String,
    /// Time allowed for one feature lookup.
    #[serde(with = "humantime_serde")]
    pub feature_timeout: Duration,
    /// Redis, where the deployment manager publishes route tables.
    pub redis_url: String,
    /// Prefix of every Redis key.
    pub redis_prefix: String,
    /// How often route tables (and, without one, the champion alias) are read again.
    #[serde(with = "humantime_serde")]
    pub route_poll_interval: Duration,
    /// Broker settings.
    pub kafka: KafkaConfig,
    /// Where every prediction is logged (`PredictionLog`).
    pub predictions_topic: String,
    /// Most rows in one inference request.
    pub max_rows: usize,
    /// Log format.
    pub log_format: lucid_telemetry::LogFormat,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            grpc_addr: ([127, 0, 0, 1], 8097).into(),
            http_addr: ([127, 0, 0, 1], 8096).into(),
            models: vec!["skip-model".into()],
            mlflow_url: "http://127.0.0.1:15000".into(),
            champion_alias: "champion".into(),
            feature_store_url: "http://127.0.0.1:8091".into(),
            feature_timeout: Duration::from_secs(2),
            redis_url: "redis://127.0.0.1:16379".into(),
            redis_prefix: "lucid".into(),
            route_poll_interval: Duration::from_secs(1),
            kafka: KafkaConfig::default(),
            predictions_topic: lucid_kafka::topics::PREDICTIONS.into(),
            max_rows: 1000,
            log_format: lucid_telemetry::LogFormat::default(),
        }
    }
}

impl Config {
    /// Loads the layers; `file` is the optional TOML file.
    pub fn load(file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        let config: Config = lucid_config::load("LUCID_MODEL_GATEWAY_", file)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.models.is_empty() || self.models.iter().any(|m| m.trim().is_empty()) {
            return Err(ConfigError::invalid(
                "models",
                "name at least one model, none empty",
            ));
        }
        for (setting, url) in [
            ("mlflow_url", &self.mlflow_url),
            ("feature_store_url", &self.feature_store_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::invalid(
                    setting,
                    format!("{url:?} is not an http(s) URL"),
                ));
            }
        }
        if self.predictions_topic.is_empty() {
            return Err(ConfigError::invalid(
                "predictions_topic",
                "must not be empty",
            ));
        }
        if self.max_rows == 0 {
            return Err(ConfigError::invalid("max_rows", "must be at least 1"));
        }
        if self.route_poll_interval < Duration::from_millis(10) {
            return Err(ConfigError::invalid(
                "route_poll_interval",
                "must be at least 10ms",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().expect("defaults validate");
    }

    #[test]
    fn names_the_setting_that_is_wrong() {
        let config = Config {
            feature_store_url: "127.0.0.1:8091".into(),
            ..Config::default()
        };
        let error = config.validate().expect_err("no scheme");
        assert!(error.to_string().contains("feature_store_url"), "{error}");
        let config = Config {
            models: vec![],
            ..Config::default()
        };
        assert!(config.validate().is_err());
    }
}
