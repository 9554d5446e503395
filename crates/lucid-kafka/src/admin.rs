//! Topic administration and broker checks.

use std::time::Duration;

use rdkafka::{
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    consumer::{BaseConsumer, Consumer},
    error::RDKafkaErrorCode,
};

use crate::KafkaConfig;

/// An admin or metadata call failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The client could not be created (bad settings).
    #[error("invalid kafka settings: {0}")]
    Settings(String),
    /// The broker refused or did not answer.
    #[error("broker call failed: {0}")]
    Broker(String),
}

/// Creates the topics that do not exist yet, each with `partitions` partitions.
pub async fn ensure_topics(
    config: &KafkaConfig,
    topics: &[&str],
    partitions: i32,
) -> Result<(), AdminError> {
    let admin: AdminClient<DefaultClientContext> = config
        .client_config("lucid-admin")
        .create()
        .map_err(|e| AdminError::Settings(e.to_string()))?;

    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(&new, &options)
        .await
        .map_err(|e| AdminError::Broker(e.to_string()))?;

    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(AdminError::Broker(format!(
                    "cannot create topic {topic}: {code}"
                )));
            }
        }
    }
    Ok(())
}

/// Succeeds when a broker answers a metadata request within `timeout`.
pub async fn ping(config: &KafkaConfig, timeout: Duration) -> Result<(), AdminError> {
    let config = config.clone();
    blocking(move || {
        let consumer = metadata_client(&config)?;
        consumer
            .fetch_metadata(None, timeout)
            .map(|_| ())
            .map_err(|e| AdminError::Broker(e.to_string()))
    })
    .await
}

fn metadata_client(config: &KafkaConfig) -> Result<BaseConsumer, AdminError> {
    config
        .client_config("lucid-metadata")
        .create()
        .map_err(|e| AdminError::Settings(e.to_string()))
}

/// librdkafka's metadata calls block; keep them off the async workers.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AdminError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| AdminError::Broker(format!("metadata task failed: {e}")))?
}
