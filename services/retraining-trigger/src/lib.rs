//! The retraining trigger: drift alerts become retraining runs under a per-model policy, and
//! every decision and run state change goes to `retraining-runs`.
//!
//! - `policy`: the rules, pure and tested with virtual time. `config`: policies and backends.
//! - `alert`: reading `DriftAlert`. `run`: the run record (Redis JSON, Avro, gRPC).
//! - `store`: policy state and runs in Redis, changed atomically.
//! - `engine`: decisions and the supervisor of active runs. `backend`: local, kubeflow, ray.
//! - `consume`: the alert loop. `api`: gRPC and HTTP.

pub mod alert;
pub mod api;
pub mod backend;
pub mod config;
pub mod consume;
pub mod engine;
pub mod metrics;
pub mod policy;
pub mod run;
pub mod store;

use std::{collections::HashMap, sync::Arc};

use anyhow::Context as _;
use lucid_avro::{Codec, RETRAINING_RUN, SchemaSet};
use lucid_kafka::{Producer, ProducerOptions};
use rdkafka::consumer::StreamConsumer;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;

pub use config::Config;

use crate::backend::Backend;
use crate::engine::{Engine, Publisher};
use crate::policy::BackendKind;
use crate::store::Store;

pub use lucid_telemetry::Service;

/// Runs the service until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    start(config, shutdown).await?.run().await
}

/// Connects, binds, and starts the alert loop, the run supervisor and the servers. Active runs
/// stored in Redis are resumed by the supervisor's first pass.
pub async fn start(config: Config, shutdown: CancellationToken) -> anyhow::Result<Service> {
    config.validate()?;
    metrics::describe();
    let store = Store::connect(&config.redis_url, &config.redis_prefix)
        .await
        .with_context(|| {
            format!(
                "failed to connect to redis at {} (start it with scripts/stack up)",
                config.redis_url
            )
        })?;
    let codec =
        Codec::from_registry_url(SchemaSet::shipped(), config.kafka.registry_url().as_deref());
    let publisher = Publisher {
        producer: Producer::new(
            &config.kafka,
            "lucid-retraining-trigger",
            ProducerOptions::default(),
        )?,
        encoder: codec
            .encoder(RETRAINING_RUN, &format!("{}-value", config.runs_topic))
            .await?,
        topic: config.runs_topic.clone(),
    };
    let consumer: StreamConsumer = config
        .kafka
        .client_config("lucid-retraining-trigger")
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()
        .context("failed to create the kafka consumer")?;

    let engine = Arc::new(Engine {
        backends: backends(&config),
        config: config.clone(),
        store,
        publisher,
        wake: tokio::sync::Notify::new(),
    });
    let lucid_telemetry::Listeners {
        grpc,
        http,
        grpc_addr,
        http_addr,
    } = lucid_telemetry::Listeners::bind(config.grpc_addr, config.http_addr).await?;

    let alerts = consume::AlertLoop {
        consumer,
        codec,
        topic: config.alerts_topic.clone(),
        replay: config.replay_alerts,
        engine: engine.clone(),
    };
    let mut tasks = JoinSet::new();
    tasks.spawn(alerts.run(shutdown.clone()));
    tasks.spawn(engine.clone().supervise(shutdown.clone()));
    tasks.spawn(serve_grpc(grpc, engine.clone(), shutdown.clone()));
    let router = api::router(engine);
    tasks.spawn(async move {
        lucid_http::serve(http, router, lucid_http::Limits::default(), shutdown)
            .await
            .context("HTTP server failed")
    });
    Ok(Service::new(
        "retraining trigger",
        grpc_addr,
        http_addr,
        tasks,
    ))
}

/// The configured backends; `local` always.
pub fn backends(config: &Config) -> HashMap<BackendKind, Arc<dyn Backend>> {
    let mut backends: HashMap<BackendKind, Arc<dyn Backend>> = HashMap::new();
    let local = backend::local::Local::new(config.local.clone(), &config.state_dir);
    backends.insert(BackendKind::Local, Arc::new(local));
    if let Some(kubeflow) = &config.kubeflow {
        let kubeflow = backend::kubeflow::Kubeflow::new(kubeflow.clone());
        backends.insert(BackendKind::Kubeflow, Arc::new(kubeflow));
    }
    if let Some(ray) = &config.ray {
        backends.insert(
            BackendKind::Ray,
            Arc::new(backend::ray::Ray::new(ray.clone())),
        );
    }
    backends
}

async fn serve_grpc(
    listener: TcpListener,
    engine: Arc<Engine>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use lucid_proto::retraining::v1::retraining_service_server::RetrainingServiceServer;
    use tonic::server::NamedService;

    let name = RetrainingServiceServer::<api::Retraining>::NAME;
    let service = RetrainingServiceServer::new(api::Retraining { engine });
    lucid_http::serve_grpc(
        listener,
        tonic::service::Routes::new(service),
        name,
        lucid_proto::FILE_DESCRIPTOR_SET,
        shutdown,
    )
    .await
    .context("gRPC server failed")
}
