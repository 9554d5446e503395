//! The deployment manager: rolls new model versions out by canary steps or blue-green, judges
//! each step on what listeners actually did (predictions joined with skips and completions),
//! and rolls back by itself when the candidate does worse.
//!
//! - `rollout`: the state machine, pure, in virtual time. `analysis`: the per-side numbers and
//!   the verdict. `join`: predictions joined with outcomes. `gate`: the offline candidate gate.
//! - `registry`: MLflow aliases and versions. `store`: rollouts, leases and alias history in
//!   Redis. `traffic`: the local and KServe backends. `events`: the `RolloutEvent` record.
//! - `manager`: carries transitions out. `consume`: the topics. `live`: what the consumer saw.
//!   `api`: gRPC and HTTP.

pub mod analysis;
pub mod api;
pub mod config;
pub mod consume;
pub mod events;
pub mod gate;
pub mod join;
pub mod live;
pub mod manager;
pub mod metrics;
pub mod registry;
pub mod rollout;
pub mod store;
pub mod traffic;

use std::sync::Arc;

use anyhow::Context as _;
use lucid_avro::{Codec, ROLLOUT_EVENT, SchemaSet};
use lucid_kafka::{Producer, ProducerOptions};
use rdkafka::consumer::StreamConsumer;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;

pub use config::Config;

use crate::manager::Manager;

pub use lucid_telemetry::Service;

/// Runs the service until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    start(config, shutdown).await?.run().await
}

/// Connects, resumes the active rollouts, binds, and starts the loops.
pub async fn start(config: Config, shutdown: CancellationToken) -> anyhow::Result<Service> {
    config.validate()?;
    metrics::describe();
    let manager = manager(config).await?;
    for rollout in manager
        .store
        .active()
        .await
        .context("failed to read the active rollouts")?
    {
        tracing::info!(
            model = rollout.model,
            rollout_id = rollout.id,
            step = rollout.step,
            "resuming rollout"
        );
        manager.watch(&rollout);
    }
    let consume = consumer(&manager)?;

    let config = manager.config.clone();
    let lucid_telemetry::Listeners {
        grpc,
        http,
        grpc_addr,
        http_addr,
    } = lucid_telemetry::Listeners::bind(config.grpc_addr, config.http_addr).await?;

    let mut tasks = JoinSet::new();
    tasks.spawn(consume.run(shutdown.clone()));
    tasks.spawn(poll_loop(manager.clone(), shutdown.clone()));
    tasks.spawn(tick_loop(manager.clone(), shutdown.clone()));
    tasks.spawn(serve_grpc(
        grpc,
        api::Deploy {
            manager: manager.clone(),
        },
        shutdown.clone(),
    ));
    let router = api::router(manager);
    tasks.spawn(async move {
        lucid_http::serve(http, router, lucid_http::Limits::default(), shutdown)
            .await
            .context("HTTP server failed")
    });
    Ok(Service::new(
        "deployment manager",
        grpc_addr,
        http_addr,
        tasks,
    ))
}

async fn manager(config: Config) -> anyhow::Result<Manager> {
    let store = store::Store::connect(&config.redis_url, &config.redis_prefix)
        .await
        .with_context(|| {
            format!(
                "failed to connect to redis at {} (start it with scripts/stack up)",
                config.redis_url
            )
        })?;
    let codec =
        Codec::from_registry_url(SchemaSet::shipped(), config.kafka.registry_url().as_deref());
    let encoder = codec
        .encoder(ROLLOUT_EVENT, &format!("{}-value", config.rollouts_topic))
        .await?;
    let producer = Producer::new(
        &config.kafka,
        "lucid-deployment-manager",
        ProducerOptions::default(),
    )?;
    Ok(Manager {
        registry: registry::Registry::new(&config.mlflow_url),
        traffic: traffic::Traffic::new(&config.traffic, store.clone()),
        store,
        live: live::Live::default(),
        producer,
        encoder,
        owner: uuid::Uuid::new_v4().to_string(),
        lock: Arc::default(),
        config: Arc::new(config),
    })
}

fn consumer(manager: &Manager) -> anyhow::Result<consume::Consume> {
    let config = &manager.config;
    let consumer: StreamConsumer = config
        .kafka
        .client_config("lucid-deployment-manager")
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()
        .context("failed to create the kafka consumer")?;
    Ok(consume::Consume {
        consumer,
        codec: Codec::from_registry_url(
            SchemaSet::shipped(),
            config.kafka.registry_url().as_deref(),
        ),
        joiner: join::Joiner::new(
            config.join_window.as_millis() as i64,
            config.join_skew.as_millis() as i64,
        ),
        manager: manager.clone(),
    })
}

async fn poll_loop(manager: Manager, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut every = tokio::time::interval(manager.config.poll_interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = every.tick() => manager.poll_registry().await,
        }
    }
}

async fn tick_loop(manager: Manager, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut every = tokio::time::interval(manager.config.tick_interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = every.tick() => tick_once(&manager).await,
        }
    }
}

async fn tick_once(manager: &Manager) {
    if let Err(error) = manager.tick().await {
        ::metrics::counter!(metrics::FAILURES, "system" => "redis").increment(1);
        tracing::warn!(error = format!("{error:#}"), "failed to tick the rollouts");
    }
}

async fn serve_grpc(
    listener: TcpListener,
    deploy: api::Deploy,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use lucid_proto::deploy::v1::deployment_service_server::DeploymentServiceServer;
    use tonic::server::NamedService;

    let name = DeploymentServiceServer::<api::Deploy>::NAME;
    let routes = tonic::service::Routes::new(DeploymentServiceServer::new(deploy));
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
