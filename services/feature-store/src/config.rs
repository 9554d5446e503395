//! The feature store's configuration: defaults, then a TOML file, then `LUCID_FEATURE_STORE_*`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use lucid_config::ConfigError;
use lucid_kafka::KafkaConfig;
use serde::{Deserialize, Serialize};

/// Everything the feature store needs to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// gRPC listener (`lucid.features.v1.FeatureService`, health, reflection). Port 0: any.
    pub grpc_addr: SocketAddr,
    /// HTTP listener (`/healthz`, `/readyz`, `/metrics`).
    pub http_addr: SocketAddr,
    /// Feature definitions (TOML); the shipped starter set when unset.
    pub features_file: Option<PathBuf>,
    /// The track catalog folder, for track attributes (energy, valence, ...). Without it,
    /// track-attribute features are never present.
    pub catalog_dir: Option<PathBuf>,
    /// Broker settings.
    pub kafka: KafkaConfig,
    /// Topic of listening events.
    pub topic: String,
    /// Consumer group.
    pub group_id: String,
    /// Where undecodable records go.
    pub dlq_topic: String,
    /// Redis for tiles and offsets.
    pub redis_url: String,
    /// Prefix of every Redis key.
    pub redis_prefix: String,
    /// Most records per batch (one Redis script call per partition and batch).
    pub batch_max_records: usize,
    /// Longest wait to fill a batch.
    #[serde(with = "humantime_serde")]
    pub batch_max_wait: Duration,
    /// Longest time the broker may hold a fetch waiting for data; bounds freshness.
    #[serde(with = "humantime_serde")]
    pub fetch_max_wait: Duration,
    /// Most entity ids per lookup.
    pub max_entities: usize,
    /// Where an assigned partition starts reading.
    pub resume: Resume,
    /// Folder of the offline log (Parquet, partitioned by date); none when unset.
    pub offline_dir: Option<PathBuf>,
    /// How often the offline log is flushed to files.
    #[serde(with = "humantime_serde")]
    pub offline_flush_interval: Duration,
    /// Log format.
    pub log_format: lucid_telemetry::LogFormat,
}

/// Where an assigned partition starts reading. Either way the offset check in Redis skips what
/// the store already holds; this only decides how much is read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resume {
    /// At the next offset stored in Redis with the tiles (Apache Kafka, MSK).
    Stored,
    /// At the beginning of the partition. For brokers that cannot start a fetch inside a stored
    /// record batch: Tansu 0.6 answers such a fetch with no records, and the partition stalls.
    Beginning,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            grpc_addr: ([127, 0, 0, 1], 8091).into(),
            http_addr: ([127, 0, 0, 1], 8090).into(),
            features_file: None,
            catalog_dir: None,
            kafka: KafkaConfig::default(),
            topic: lucid_kafka::topics::LISTENING_EVENTS.into(),
            group_id: "lucid-feature-store".into(),
            dlq_topic: lucid_kafka::topics::LISTENING_EVENTS_DLQ.into(),
            redis_url: "redis://127.0.0.1:16379".into(),
            redis_prefix: "lucid".into(),
            batch_max_records: 1000,
            batch_max_wait: Duration::from_millis(20),
            fetch_max_wait: Duration::from_millis(20),
            max_entities: 1000,
            resume: Resume::Stored,
            offline_dir: None,
            offline_flush_interval: Duration::from_secs(10),
            log_format: Default::default(),
        }
    }
}

impl Config {
    /// Loads the config from `file` and `LUCID_FEATURE_STORE_*` variables, and validates it.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let config: Config = lucid_config::load("LUCID_FEATURE_STORE_", file)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what defaults cannot make right.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.batch_max_records == 0 {
            return Err(ConfigError::invalid(
                "batch_max_records",
                "must be at least 1",
            ));
        }
        if !(1..=100_000).contains(&self.max_entities) {
            return Err(ConfigError::invalid(
                "max_entities",
                "must lie between 1 and 100000",
            ));
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

    /// The feature definitions' text: the configured file, or the starter set.
    pub fn definitions(&self) -> Result<String, ConfigError> {
        match &self.features_file {
            None => Ok(lucid_features::STARTER_DEFINITIONS.to_owned()),
            Some(path) => std::fs::read_to_string(path).map_err(|e| {
                ConfigError::invalid(
                    "features_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            }),
        }
    }
}
