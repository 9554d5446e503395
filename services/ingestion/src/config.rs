//! The ingestion service's configuration: defaults, then a TOML file, then `LUCID_INGESTION_*`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use lucid_config::{ConfigError, Secret};
use lucid_kafka::KafkaConfig;
use serde::{Deserialize, Serialize};

/// Everything the ingestion service needs to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP listener (`POST /v1/events`, health, metrics). Port 0 picks a free port.
    pub http_addr: SocketAddr,
    /// gRPC listener (`lucid.ingest.v1.IngestService`, health, reflection).
    pub grpc_addr: SocketAddr,
    /// Development mode: allows a built-in pseudonymisation key. Never in production.
    pub dev_mode: bool,
    /// HMAC key for user pseudonyms. Required outside dev mode (here or in `pseudonym_key_file`).
    pub pseudonym_key: Secret,
    /// File holding the HMAC key (for mounted secrets); trailing whitespace is ignored.
    pub pseudonym_key_file: Option<PathBuf>,
    /// API keys allowed to publish, stored as SHA-256 hashes.
    pub api_keys: Vec<ApiKeyConfig>,
    /// Request and event limits.
    pub limits: LimitsConfig,
    /// How long an event id is remembered for duplicate detection.
    #[serde(with = "humantime_serde")]
    pub idempotency_window: Duration,
    /// Time from producing an event to the broker's confirmation; past it the client gets 503.
    #[serde(with = "humantime_serde")]
    pub delivery_timeout: Duration,
    /// Most events waiting for the broker; past it requests get 503.
    pub producer_queue_max: u32,
    /// How long the producer waits to batch events of concurrent requests together.
    #[serde(with = "humantime_serde")]
    pub producer_linger: Duration,
    /// Redis for the idempotency store.
    pub redis_url: String,
    /// Prefix of every Redis key this service writes.
    pub redis_prefix: String,
    /// Broker settings.
    pub kafka: KafkaConfig,
    /// Topic of accepted events.
    pub events_topic: String,
    /// Dead-letter topic of refused events.
    pub dlq_topic: String,
    /// Log format.
    pub log_format: lucid_telemetry::LogFormat,
}

/// One allowed API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Who holds the key (shown in logs and metrics instead of the key).
    pub name: String,
    /// Lowercase hex SHA-256 of the key (`printf %s "$KEY" | sha256sum`).
    pub sha256: String,
}

/// Request and event limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Most events per request.
    pub max_events: usize,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// How far an event time may lie in the future.
    #[serde(with = "humantime_serde")]
    pub max_future_skew: Duration,
    /// How old an event may be.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// How far `listened_ms` may exceed the track's duration.
    pub listened_slack_ms: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_addr: ([127, 0, 0, 1], 8080).into(),
            grpc_addr: ([127, 0, 0, 1], 8081).into(),
            dev_mode: false,
            pseudonym_key: Secret::default(),
            pseudonym_key_file: None,
            api_keys: Vec::new(),
            limits: LimitsConfig::default(),
            idempotency_window: Duration::from_secs(24 * 3600),
            delivery_timeout: Duration::from_secs(5),
            producer_queue_max: 100_000,
            producer_linger: Duration::from_millis(5),
            redis_url: "redis://127.0.0.1:16379".into(),
            redis_prefix: "lucid".into(),
            kafka: KafkaConfig::default(),
            events_topic: lucid_kafka::topics::LISTENING_EVENTS.into(),
            dlq_topic: lucid_kafka::topics::LISTENING_EVENTS_DLQ.into(),
            log_format: Default::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let events = lucid_events::Limits::default();
        LimitsConfig {
            max_events: 500,
            max_body_bytes: 1024 * 1024,
            max_future_skew: events.max_future_skew,
            max_age: events.max_age,
            listened_slack_ms: events.listened_slack_ms,
        }
    }
}

impl LimitsConfig {
    /// The per-event limits.
    pub fn events(&self) -> lucid_events::Limits {
        lucid_events::Limits {
            max_future_skew: self.max_future_skew,
            max_age: self.max_age,
            listened_slack_ms: self.listened_slack_ms,
        }
    }
}

/// A fixed key for dev mode only, so that local pseudonyms are stable between runs.
const DEV_PSEUDONYM_KEY: &str = "lucid-dev-mode-pseudonym-key-not-for-production";

impl Config {
    /// Loads the config from `file` and `LUCID_INGESTION_*` variables, and validates it.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let config: Config = lucid_config::load("LUCID_INGESTION_", file)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the settings that defaults cannot make right.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.api_keys.is_empty() {
            return Err(ConfigError::invalid(
                "api_keys",
                "at least one API key hash is required",
            ));
        }
        for key in &self.api_keys {
            let valid = key.sha256.len() == 64 && key.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if !valid {
                return Err(ConfigError::invalid(
                    "api_keys.sha256",
                    format!("key {:?} must be 64 hex characters (a SHA-256)", key.name),
                ));
            }
        }
        if !(1..=10_000).contains(&self.limits.max_events) {
            return Err(ConfigError::invalid(
                "limits.max_events",
                "must lie between 1 and 10000",
            ));
        }
        if self.delivery_timeout < Duration::from_millis(100) {
            return Err(ConfigError::invalid(
                "delivery_timeout",
                "must be at least 100ms",
            ));
        }
        self.resolve_pseudonym_key().map(|_| ())
    }

    /// The HMAC key: from the setting, else the file, else (dev mode only) the built-in key.
    pub fn resolve_pseudonym_key(&self) -> Result<Secret, ConfigError> {
        if !self.pseudonym_key.is_empty() {
            if self.pseudonym_key.expose().len() < 16 {
                return Err(ConfigError::invalid(
                    "pseudonym_key",
                    "the key must be at least 16 bytes",
                ));
            }
            return Ok(self.pseudonym_key.clone());
        }
        if let Some(path) = &self.pseudonym_key_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::invalid(
                    "pseudonym_key_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let key = text.trim_end();
            if key.len() < 16 {
                return Err(ConfigError::invalid(
                    "pseudonym_key_file",
                    "the key must be at least 16 bytes",
                ));
            }
            return Ok(Secret::new(key));
        }
        if self.dev_mode {
            return Ok(Secret::new(DEV_PSEUDONYM_KEY));
        }
        Err(ConfigError::invalid(
            "pseudonym_key",
            "no key set: set LUCID_INGESTION_PSEUDONYM_KEY or pseudonym_key_file (dev_mode = true allows a built-in key)",
        ))
    }
}
