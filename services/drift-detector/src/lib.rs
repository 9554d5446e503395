//! The drift detector: declared monitors watch Avro topics (listening events, prediction logs)
//! and compare a sliding window of recent records with a reference, column by column, using
//! `lucid-drift`'s statistics. Bands and alerts go to `drift-alerts`; the latest report of each
//! monitor is served over gRPC and HTTP.
//!
//! - `spec`: monitor definitions (`monitors.toml`).
//! - `row`: records as rows of named columns.
//! - `monitor`: reference, current window and checks.
//! - `alert`: when a check becomes an alert; the `DriftAlert` record.
//! - `consume`: the loop. `state`: shared reports and the alert state in Redis. `api`: servers.

pub mod alert;
pub mod api;
pub mod config;
pub mod consume;
pub mod metrics;
pub mod monitor;
pub mod reference;
pub mod row;
pub mod spec;
pub mod state;

use anyhow::Context as _;
use lucid_avro::{Codec, DRIFT_ALERT, SchemaSet};
use lucid_kafka::{Producer, ProducerOptions};
use rdkafka::consumer::StreamConsumer;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;

pub use config::Config;

use crate::monitor::Monitor;
use crate::spec::{MonitorSpec, ReferenceSpec};
use crate::state::{AlertStore, Reports, Status};

pub use lucid_telemetry::Service;

/// Runs the service until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    start(config, shutdown).await?.run().await
}

/// Loads monitors, references and the catalog, connects, binds, and starts the loop.
pub async fn start(config: Config, shutdown: CancellationToken) -> anyhow::Result<Service> {
    config.validate()?;
    metrics::describe();
    let specs = monitor_specs(&config)?;

    let store = AlertStore::connect(&config.redis_url, &config.redis_prefix)
        .await
        .with_context(|| {
            format!(
                "failed to connect to redis at {} (start it with scripts/stack up)",
                config.redis_url
            )
        })?;
    let mut monitors = Vec::with_capacity(specs.len());
    let mut published = Vec::with_capacity(specs.len());
    for spec in &specs {
        monitors.push(Monitor::new(spec.clone(), reference_of(spec)?));
        published.push(
            store
                .load(&spec.name)
                .await
                .context("failed to read alert state")?,
        );
    }
    let reports = Reports::new(
        monitors
            .iter()
            .map(|m| Status {
                spec: m.spec.clone(),
                reference_ready: m.has_reference(),
                latest: None,
            })
            .collect(),
    );

    let detector = detector(&config, monitors, published, store.clone(), reports.clone()).await?;
    let lucid_telemetry::Listeners {
        grpc,
        http,
        grpc_addr,
        http_addr,
    } = lucid_telemetry::Listeners::bind(config.grpc_addr, config.http_addr).await?;

    let drift = api::Drift {
        reports: reports.clone(),
    };
    let mut tasks = JoinSet::new();
    tasks.spawn(detector.run(shutdown.clone()));
    tasks.spawn(serve_grpc(grpc, drift, shutdown.clone()));
    let router = api::router(reports, store);
    tasks.spawn(async move {
        lucid_http::serve(http, router, lucid_http::Limits::default(), shutdown)
            .await
            .context("HTTP server failed")
    });
    Ok(Service::new("drift detector", grpc_addr, http_addr, tasks))
}

async fn serve_grpc(
    listener: TcpListener,
    drift: api::Drift,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use lucid_proto::drift::v1::drift_service_server::DriftServiceServer;
    use tonic::server::NamedService;

    let name = DriftServiceServer::<api::Drift>::NAME;
    let routes = tonic::service::Routes::new(DriftServiceServer::new(drift));
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

/// The definitions, with the configured topic overrides applied.
fn monitor_specs(config: &Config) -> anyhow::Result<Vec<MonitorSpec>> {
    let mut specs = spec::parse(&config.definitions()?).context("invalid monitor definitions")?;
    for spec in &mut specs {
        let replacement = match spec.topic.as_str() {
            "listening-events" => config.events_topic.as_ref(),
            "predictions" => config.predictions_topic.as_ref(),
            _ => None,
        };
        if let Some(topic) = replacement {
            spec.topic = topic.clone();
        }
    }
    for spec in &specs {
        if let Some(other) = specs
            .iter()
            .find(|o| o.topic == spec.topic && o.record != spec.record)
        {
            anyhow::bail!(
                "monitors {:?} and {:?} read topic {} as different records",
                spec.name,
                other.name,
                spec.topic
            );
        }
    }
    Ok(specs)
}

fn reference_of(spec: &MonitorSpec) -> anyhow::Result<Option<Vec<lucid_drift::Reference>>> {
    match &spec.reference {
        ReferenceSpec::FirstRecords(_) | ReferenceSpec::FirstSpan(_) => Ok(None),
        ReferenceSpec::File(path) => Ok(Some(
            reference::load(path, &spec.columns)
                .with_context(|| format!("monitor {:?}", spec.name))?,
        )),
    }
}

async fn detector(
    config: &Config,
    monitors: Vec<Monitor>,
    published: Vec<alert::Published>,
    store: AlertStore,
    reports: Reports,
) -> anyhow::Result<consume::Detector> {
    let consumer: StreamConsumer = config
        .kafka
        .client_config("lucid-drift-detector")
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()
        .context("failed to create the kafka consumer")?;
    let codec =
        Codec::from_registry_url(SchemaSet::shipped(), config.kafka.registry_url().as_deref());
    let alert_encoder = codec
        .encoder(DRIFT_ALERT, &format!("{}-value", config.alerts_topic))
        .await?;
    let alerts = Producer::new(
        &config.kafka,
        "lucid-drift-detector",
        ProducerOptions::default(),
    )?;
    let catalog = match &config.catalog_dir {
        None => {
            tracing::warn!("no catalog_dir: track_* columns will be missing");
            None
        }
        Some(dir) => Some(
            lucid_catalog::Catalog::load(dir)
                .with_context(|| format!("failed to load the catalog from {}", dir.display()))?,
        ),
    };
    Ok(consume::Detector {
        consumer,
        codec,
        monitors,
        catalog,
        alerts,
        alert_encoder,
        alerts_topic: config.alerts_topic.clone(),
        store,
        published,
        reports,
        hold_off: config.hold_off,
    })
}
