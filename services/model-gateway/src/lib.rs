//! The model gateway: serves the skip model (and any model exported the same way) over the
//! KServe V2 inference protocol, HTTP and gRPC. Each request is routed to a registered version by
//! the model's route table (sticky per listener), its features are fetched from the feature
//! store (or sent by the caller), the version scores them, and every prediction, shadow ones
//! included, is logged to `predictions`.
//!
//! - `registry`: MLflow versions and aliases. `models`: the in-memory cache of loaded versions.
//! - `features`: the feature store client. `routes`: the route tables in service.
//! - `tensors`: request forms. `infer`: one inference. `predictions`: the prediction log.
//! - `api` (HTTP) and `grpc`: the two protocols; `error`: their error mapping.

pub mod api;
pub mod config;
pub mod error;
pub mod features;
pub mod grpc;
pub mod infer;
pub mod metrics;
pub mod models;
pub mod predictions;
pub mod registry;
pub mod routes;
pub mod tensors;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use lucid_avro::{Codec, PREDICTION_LOG, SchemaSet};
use lucid_kafka::{Producer, ProducerOptions};
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;

pub use config::Config;

use crate::{
    features::FeatureStore, infer::Gateway, models::Models, predictions::PredictionLog,
    registry::Registry, routes::Tables,
};

/// The server name in V2 server metadata.
pub const SERVER_NAME: &str = "lucid-model-gateway";
/// The platform in V2 model metadata.
pub const PLATFORM: &str = "onnx";

pub use lucid_telemetry::Service;

/// Runs the service until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    start(config, shutdown).await?.run().await
}

/// Connects, binds and starts the route poller and both servers. The gateway is ready (health)
/// once every served model has a route table in service with its versions loaded.
pub async fn start(config: Config, shutdown: CancellationToken) -> anyhow::Result<Service> {
    config.validate()?;
    metrics::describe();

    let redis = redis::Client::open(config.redis_url.as_str())
        .with_context(|| format!("invalid redis_url {}", config.redis_url))?;
    let redis = redis::aio::ConnectionManager::new(redis)
        .await
        .with_context(|| {
            format!(
                "failed to connect to redis at {} (start it with scripts/stack up)",
                config.redis_url
            )
        })?;
    let registry = Registry::new(&config.mlflow_url);
    let features = FeatureStore::new(&config.feature_store_url, config.feature_timeout)
        .with_context(|| format!("invalid feature_store_url {}", config.feature_store_url))?;
    let models = Models::new(registry.clone(), features.clone());
    let tables = Tables::default();
    let log = prediction_log(&config).await?;

    let gateway = Gateway {
        served: config.models.clone().into(),
        models: models.clone(),
        tables: tables.clone(),
        features,
        log: log.clone(),
        max_rows: config.max_rows,
    };
    let poller = routes::Poller {
        models: config.models.clone(),
        redis,
        prefix: config.redis_prefix.clone(),
        registry,
        champion_alias: config.champion_alias.clone(),
        loaded: models,
        tables,
        interval: config.route_poll_interval,
    };

    let lucid_telemetry::Listeners {
        grpc,
        http,
        grpc_addr,
        http_addr,
    } = lucid_telemetry::Listeners::bind(config.grpc_addr, config.http_addr).await?;

    let mut tasks = JoinSet::new();
    tasks.spawn(poller.run(shutdown.clone()));
    tasks.spawn(serve_grpc(grpc, gateway.clone(), shutdown.clone()));
    let router = api::router(gateway);
    let http_shutdown = shutdown.clone();
    tasks.spawn(async move {
        lucid_http::serve(http, router, lucid_http::Limits::default(), http_shutdown)
            .await
            .context("HTTP server failed")
    });
    tasks.spawn(async move {
        shutdown.cancelled().await;
        // Predictions answered before the drain are delivered before the process ends.
        log.flush(Duration::from_secs(10)).await;
        Ok(())
    });
    Ok(Service::new("model gateway", grpc_addr, http_addr, tasks))
}

async fn prediction_log(config: &Config) -> anyhow::Result<PredictionLog> {
    let codec =
        Codec::from_registry_url(SchemaSet::shipped(), config.kafka.registry_url().as_deref());
    let encoder = codec
        .encoder(
            PREDICTION_LOG,
            &format!("{}-value", config.predictions_topic),
        )
        .await?;
    let producer = Producer::new(
        &config.kafka,
        "lucid-model-gateway",
        ProducerOptions::default(),
    )?;
    Ok(PredictionLog {
        producer,
        encoder: Arc::new(encoder),
        topic: config.predictions_topic.clone(),
    })
}

async fn serve_grpc(
    listener: TcpListener,
    gateway: Gateway,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use lucid_proto::inference::grpc_inference_service_server::GrpcInferenceServiceServer;
    use tonic::server::NamedService;

    let name = GrpcInferenceServiceServer::<grpc::Inference>::NAME;
    let routes =
        tonic::service::Routes::new(GrpcInferenceServiceServer::new(grpc::Inference { gateway }));
    lucid_http::serve_grpc(
        listener,
        routes,
        name,
        lucid_proto::FILE_DESCRIPTOR_SET,
        shutdown,
    )
    .await
    .context("gRPC server failed")
}
