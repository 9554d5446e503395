//! The feature store: listening events become event-time tiles in Redis, served as online
//! features over gRPC.
//!
//! - [`consume`]: the consumer loop (batches, dead letters, lateness, effectively-once apply).
//! - [`store`]: Redis, with the atomic apply script (`apply.lua`).
//! - [`rebalance`]: start offsets from Redis on assignment; lag from librdkafka statistics.
//! - [`grpc`] serves `lucid.features.v1.FeatureService`.
//!
//! The aggregation itself (definitions, tiles, windows, reads) is `lucid-features`, shared with
//! the backfill so that online and offline values agree.

pub mod config;
pub mod consume;
pub mod grpc;
pub mod offline;
pub mod rebalance;
pub mod store;

mod metrics;

use std::{collections::HashMap, sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::{Json, Router, http::StatusCode, response::IntoResponse, routing::get};
use lucid_avro::{Codec, REJECTED_EVENT, SchemaSet};
use lucid_features::{Registry, TrackAttrs};
use lucid_kafka::{Producer, ProducerOptions};
use rdkafka::consumer::StreamConsumer;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;

pub use config::Config;

pub use lucid_telemetry::Service;

/// Runs the service until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    start(config, shutdown).await?.run().await
}

/// Loads definitions and the catalog, connects, binds and starts consuming and serving.
pub async fn start(config: Config, shutdown: CancellationToken) -> anyhow::Result<Service> {
    config.validate()?;
    metrics::describe();

    let registry = Arc::new(
        Registry::from_toml(&config.definitions()?)
            .and_then(|r| r.with_key_prefix(config.redis_prefix.clone()))
            .context("invalid feature definitions")?,
    );
    let store = store::Store::connect(
        &config.redis_url,
        &config.redis_prefix,
        &config.group_id,
        &config.topic,
    )
    .await
    .with_context(|| {
        format!(
            "failed to connect to redis at {} (start it with scripts/stack up)",
            config.redis_url
        )
    })?;

    let pipeline = pipeline(&config, registry.clone(), store.clone()).await?;
    let lookups = grpc::Lookups {
        registry,
        store: store.clone(),
        max_entities: config.max_entities,
    };

    let lucid_telemetry::Listeners {
        grpc,
        http,
        grpc_addr,
        http_addr,
    } = lucid_telemetry::Listeners::bind(config.grpc_addr, config.http_addr).await?;

    let mut tasks = JoinSet::new();
    tasks.spawn(pipeline.run(shutdown.clone()));
    tasks.spawn(serve_grpc(grpc, lookups, shutdown.clone()));
    tasks.spawn(serve_http(http, store, config.kafka.clone(), shutdown));
    Ok(Service::new("feature store", grpc_addr, http_addr, tasks))
}

async fn pipeline(
    config: &Config,
    registry: Arc<Registry>,
    store: store::Store,
) -> anyhow::Result<consume::Pipeline> {
    let context = rebalance::Rebalancer::new(
        &config.redis_url,
        store.offsets_key().to_owned(),
        config.resume,
        config.offline_dir.is_some(),
    )?;
    let consumer: StreamConsumer<rebalance::Rebalancer> = config
        .kafka
        .client_config("lucid-feature-store")
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("statistics.interval.ms", "5000")
        // Freshness: a fetch returns after at most this long even when little data is waiting
        // (librdkafka's default is 500 ms, which Tansu holds in full).
        .set(
            "fetch.wait.max.ms",
            config.fetch_max_wait.as_millis().to_string(),
        )
        .create_with_context(context)
        .context("failed to create the kafka consumer")?;

    let codec =
        Codec::from_registry_url(SchemaSet::shipped(), config.kafka.registry_url().as_deref());
    let dlq_encoder = codec
        .encoder(REJECTED_EVENT, &format!("{}-value", config.dlq_topic))
        .await?;
    let dead_letters = Producer::new(
        &config.kafka,
        "lucid-feature-store-dlq",
        ProducerOptions::default(),
    )?;

    let offline = match &config.offline_dir {
        None => None,
        Some(dir) => Some(offline::OfflineWriter::start(
            dir.clone(),
            &config.redis_url,
            store.logged_key(),
            config.offline_flush_interval,
        )?),
    };
    Ok(consume::Pipeline {
        consumer,
        store,
        codec,
        registry,
        tracks: Arc::new(track_attributes(config)?),
        dead_letters,
        dlq_encoder,
        topic: config.topic.clone(),
        dlq_topic: config.dlq_topic.clone(),
        batch_max_records: config.batch_max_records,
        batch_max_wait: config.batch_max_wait,
        offline,
    })
}

/// Track attributes by id from the catalog, held in memory (13k tracks, about a megabyte):
/// joining in process saves a Redis round trip per event.
fn track_attributes(config: &Config) -> anyhow::Result<HashMap<i64, TrackAttrs>> {
    let Some(dir) = &config.catalog_dir else {
        tracing::warn!("no catalog_dir: track attribute features will be not found");
        return Ok(HashMap::new());
    };
    let catalog = lucid_catalog::Catalog::load(dir)
        .with_context(|| format!("failed to load the catalog from {}", dir.display()))?;
    Ok(attributes_of(&catalog))
}

/// The attributes features read, for every track of the catalog, by id.
pub fn attributes_of(catalog: &lucid_catalog::Catalog) -> HashMap<i64, TrackAttrs> {
    let attrs = |t: &lucid_catalog::Track| TrackAttrs {
        energy: t.energy,
        valence: t.valence,
        tempo: t.tempo,
        danceability: t.danceability,
        acousticness: t.acousticness,
        genre_hiphop: t.genre.map(|g| g == lucid_catalog::Genre::HipHop),
    };
    catalog.tracks().iter().map(|t| (t.id, attrs(t))).collect()
}

async fn serve_grpc(
    listener: TcpListener,
    lookups: grpc::Lookups,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use lucid_proto::features::v1::feature_service_server::FeatureServiceServer;
    use tonic::server::NamedService;

    let name = FeatureServiceServer::<grpc::Lookups>::NAME;
    let routes = tonic::service::Routes::new(FeatureServiceServer::new(lookups));
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

async fn serve_http(
    listener: TcpListener,
    store: store::Store,
    kafka: lucid_kafka::KafkaConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let prometheus = lucid_telemetry::prometheus();
    let ready = move || {
        let (store, kafka) = (store.clone(), kafka.clone());
        async move {
            let redis = store.ping().await.is_ok();
            let broker = lucid_kafka::admin::ping(&kafka, Duration::from_secs(2))
                .await
                .is_ok();
            let status = if redis && broker {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (
                status,
                Json(serde_json::json!({ "redis": redis, "broker": broker })),
            )
                .into_response()
        }
    };
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route(
            "/metrics",
            get(move || std::future::ready(prometheus.render())),
        );
    lucid_http::serve(listener, app, lucid_http::Limits::default(), shutdown)
        .await
        .context("HTTP server failed")
}
