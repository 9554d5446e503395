//! The ingestion service: listening events from phones, over HTTP and gRPC, into Kafka.
//!
//! Every event gets an outcome. Accepted means the broker confirmed it; duplicates are recognised
//! by event id across restarts; refused events are kept on the dead-letter topic with the reason.
//! Raw user ids are replaced by keyed pseudonyms before anything leaves the process.
//!
//! [`start`] runs the service in-process on the configured addresses (port 0 picks free ports,
//! which is how the tests use it); [`run`] is what `main` calls.

pub mod config;

mod auth;
mod dedupe;
mod error;
mod grpc;
mod http;
mod metrics;
mod pipeline;
mod privacy;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use lucid_avro::{Codec, LISTENING_EVENT, REJECTED_EVENT, SchemaSet};
use lucid_kafka::{Producer, ProducerOptions};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;

pub use config::Config;
pub use privacy::Pseudonymizer;

use crate::{auth::ApiKeys, config::LimitsConfig, dedupe::Dedupe, pipeline::Ingestor};

/// State shared by the HTTP and gRPC front ends.
pub(crate) struct App {
    ingestor: Arc<Ingestor>,
    keys: ApiKeys,
    limits: LimitsConfig,
    prometheus: PrometheusHandle,
}

/// A started service: its bound addresses and its tasks.
pub struct Service {
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// Where the gRPC API listens.
    pub grpc_addr: SocketAddr,
    tasks: JoinSet<anyhow::Result<()>>,
    producer: Producer,
}

/// Runs the service until `shutdown` is cancelled, then drains.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let service = start(config, shutdown).await?;
    tracing::info!(http = %service.http_addr, grpc = %service.grpc_addr, "ingestion listening");
    service.wait().await
}

/// Connects to Redis and the broker, binds both listeners and starts serving.
pub async fn start(config: Config, shutdown: CancellationToken) -> anyhow::Result<Service> {
    config.validate()?;
    metrics::describe();

    let app = Arc::new(build_app(&config).await?);
    let producer = app.ingestor.producer.clone();

    let http = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("failed to bind the HTTP listener on {}", config.http_addr))?;
    let grpc = TcpListener::bind(config.grpc_addr)
        .await
        .with_context(|| format!("failed to bind the gRPC listener on {}", config.grpc_addr))?;
    let (http_addr, grpc_addr) = (http.local_addr()?, grpc.local_addr()?);

    let mut tasks = JoinSet::new();
    tasks.spawn(serve_http(http, app.clone(), shutdown.clone()));
    tasks.spawn(serve_grpc(
        grpc,
        app,
        config.limits.max_body_bytes,
        shutdown,
    ));
    Ok(Service {
        http_addr,
        grpc_addr,
        tasks,
        producer,
    })
}

impl Service {
    /// Waits for both servers to stop, then gives in-flight deliveries time to finish.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let outcome = lucid_telemetry::wait_all(&mut self.tasks, "ingestion").await;
        self.producer.flush(Duration::from_secs(10)).await;
        outcome
    }
}

async fn build_app(config: &Config) -> anyhow::Result<App> {
    let key = config.resolve_pseudonym_key()?;
    let codec =
        Codec::from_registry_url(SchemaSet::shipped(), config.kafka.registry_url().as_deref());
    let events = codec
        .encoder(LISTENING_EVENT, &format!("{}-value", config.events_topic))
        .await
        .context("failed to prepare the listening event encoder")?;
    let dead_letters = codec
        .encoder(REJECTED_EVENT, &format!("{}-value", config.dlq_topic))
        .await
        .context("failed to prepare the dead-letter encoder")?;

    let options = ProducerOptions {
        queue_max_messages: config.producer_queue_max.saturating_mul(2),
        delivery_timeout: config.delivery_timeout,
        linger: config.producer_linger,
    };
    let producer = Producer::new(&config.kafka, "lucid-ingestion", options)?;
    warm_up(&producer, &[&config.events_topic, &config.dlq_topic]).await;

    let pending = config.delivery_timeout + Duration::from_secs(10);
    let dedupe = Dedupe::connect(
        &config.redis_url,
        &config.redis_prefix,
        config.idempotency_window,
        pending,
    )
    .await
    .with_context(|| {
        format!(
            "failed to connect to redis at {} (start it with scripts/stack up)",
            config.redis_url
        )
    })?;

    let ingestor = Ingestor {
        pseudonyms: Pseudonymizer::new(&key),
        limits: config.limits.events(),
        dedupe,
        producer,
        events,
        dead_letters,
        events_topic: config.events_topic.clone(),
        dlq_topic: config.dlq_topic.clone(),
        queue_max: config.producer_queue_max,
    };
    Ok(App {
        ingestor: Arc::new(ingestor),
        keys: ApiKeys::new(&config.api_keys),
        limits: config.limits.clone(),
        prometheus: lucid_telemetry::prometheus(),
    })
}

/// Connects the producer and loads the topics' metadata before the first request needs them;
/// a broker that is down now is not fatal (readiness reports it, sends answer 503).
async fn warm_up(producer: &Producer, topics: &[&str]) {
    for topic in topics {
        if let Err(error) = producer.ping(Some(topic), Duration::from_secs(5)).await {
            tracing::warn!(%error, topic, "broker not reachable at start; requests will get 503 until it is");
            return;
        }
    }
}

impl App {
    /// Each dependency and whether it answers.
    async fn readiness(&self) -> Vec<(&'static str, bool)> {
        let broker = self
            .ingestor
            .producer
            .ping(None, Duration::from_secs(2))
            .await
            .is_ok();
        let redis = self.ingestor.dedupe.ping().await.is_ok();
        vec![("broker", broker), ("redis", redis)]
    }
}

async fn serve_http(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    lucid_http::serve(
        listener,
        http::router(app),
        lucid_http::Limits::default(),
        shutdown,
    )
    .await
    .context("HTTP server failed")
}

async fn serve_grpc(
    listener: TcpListener,
    app: Arc<App>,
    max_message_bytes: usize,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use lucid_proto::ingest::v1::ingest_service_server::IngestServiceServer;
    use tonic::server::NamedService;

    let ingest =
        IngestServiceServer::new(grpc::Ingest { app }).max_decoding_message_size(max_message_bytes);
    let name = IngestServiceServer::<grpc::Ingest>::NAME;
    let routes = tonic::service::Routes::new(ingest);
    lucid_http::serve_grpc(
        listener,
        routes,
        name,
        lucid_proto::FILE_DESCRIPTOR_SET,
        shutdown,
    )
    .await?;
    Ok(())
}
