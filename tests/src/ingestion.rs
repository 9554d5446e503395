//! The ingestion service started in-process for one test, with its own topics and Redis prefix.

use std::time::Duration;

use lucid_ingestion::config::{ApiKeyConfig, Config};
use lucid_proto::ingest::v1::ingest_service_client::IngestServiceClient;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::{Stack, broker, unique};

/// The API key the test services accept.
pub const API_KEY: &str = "test-key-5f0c6a1e9b2d4c7a";
/// The pseudonymisation key of the test services.
pub const PSEUDONYM_KEY: &str = "test-pseudonym-key-0123456789abcdef";

/// A running ingestion service and what a test needs to talk to it.
pub struct Ingestion {
    /// Base URL of the HTTP API.
    pub url: String,
    /// gRPC endpoint.
    pub grpc: String,
    /// Accepted events go here.
    pub events_topic: String,
    /// Refused events go here.
    pub dlq_topic: String,
    /// The config it runs with.
    pub config: Config,
    shutdown: CancellationToken,
    service: Option<lucid_ingestion::Service>,
}

/// A config for a test: fresh topics and prefix, free ports, the test keys.
pub fn test_config(brokers: &str, redis_url: &str) -> Config {
    Config {
        http_addr: ([127, 0, 0, 1], 0).into(),
        grpc_addr: ([127, 0, 0, 1], 0).into(),
        pseudonym_key: lucid_config::Secret::new(PSEUDONYM_KEY),
        api_keys: vec![ApiKeyConfig {
            name: "test".into(),
            sha256: hex::encode(Sha256::digest(API_KEY)),
        }],
        redis_url: redis_url.to_owned(),
        redis_prefix: unique("test"),
        kafka: broker::kafka(brokers),
        events_topic: unique("listening-events"),
        dlq_topic: unique("listening-events.dlq"),
        ..Config::default()
    }
}

impl Ingestion {
    /// Creates the topics and starts the service with `config`.
    pub async fn start_with(config: Config) -> Ingestion {
        broker::create_topics(
            &config.kafka.brokers,
            &[&config.events_topic, &config.dlq_topic],
            3,
        )
        .await;
        let shutdown = CancellationToken::new();
        let service = lucid_ingestion::start(config.clone(), shutdown.clone())
            .await
            .expect("ingestion starts against the local stack");
        Ingestion {
            url: format!("http://{}", service.http_addr),
            grpc: format!("http://{}", service.grpc_addr),
            events_topic: config.events_topic.clone(),
            dlq_topic: config.dlq_topic.clone(),
            config,
            shutdown,
            service: Some(service),
        }
    }

    /// Starts the service on the shared local stack.
    pub async fn start(stack: &Stack) -> Ingestion {
        Ingestion::start_with(test_config(&stack.brokers, &stack.redis_url)).await
    }

    /// Posts a raw body to `/v1/events` with the test key.
    pub async fn post(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.post_with_key(body, Some(API_KEY)).await
    }

    /// Posts a raw body with the given key (or none).
    pub async fn post_with_key(
        &self,
        body: impl Into<reqwest::Body>,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .post(format!("{}/v1/events", self.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("ingestion answers HTTP")
    }

    /// A gRPC client.
    pub async fn grpc_client(&self) -> IngestServiceClient<tonic::transport::Channel> {
        IngestServiceClient::connect(self.grpc.clone())
            .await
            .expect("ingestion answers gRPC")
    }

    /// Stops the service and waits for it to drain.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(service) = self.service.take() {
            tokio::time::timeout(Duration::from_secs(30), service.wait())
                .await
                .expect("ingestion drains within 30s")
                .expect("ingestion stops cleanly");
        }
    }
}

impl Drop for Ingestion {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A gRPC request with the test key.
pub fn authorized<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {API_KEY}")
        .parse()
        .expect("ascii header value");
    request.metadata_mut().insert("authorization", value);
    request
}
