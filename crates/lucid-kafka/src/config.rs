//! Broker connection settings.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};

/// How to reach the brokers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma-separated `host:port`.
    pub brokers: String,
    /// Extra librdkafka properties (TLS, SASL, tuning), applied last.
    pub properties: BTreeMap<String, String>,
    /// Confluent schema registry URL; when set, records use the Confluent wire format.
    /// Falls back to the `SCHEMA_REGISTRY_URL` environment variable.
    pub schema_registry_url: Option<String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:19092".into(),
            properties: BTreeMap::new(),
            schema_registry_url: None,
        }
    }
}

impl KafkaConfig {
    /// A librdkafka client config with the brokers, `client_id` and the extra properties.
    pub fn client_config(&self, client_id: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", client_id);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }

    /// The schema registry URL from config or from `SCHEMA_REGISTRY_URL`.
    pub fn registry_url(&self) -> Option<String> {
        self.schema_registry_url
            .clone()
            .or_else(|| std::env::var("SCHEMA_REGISTRY_URL").ok())
            .filter(|url| !url.is_empty())
    }
}
