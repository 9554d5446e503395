//! Freshness at a steady event rate: simulated events through ingestion (HTTP) into the feature
//! store, which records, per event, the time from ingestion to its Redis write
//! (`lucid_feature_store_freshness_seconds`). Run by `scripts/bench-freshness`; results are in
//! docs/benchmarks.md.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use lucid_simulator::{SendOptions, SimConfig, send_http, simulate};
use lucid_tests::{
    Stack, broker, catalog_dir,
    ingestion::{API_KEY, Ingestion},
    unique,
};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rate: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000.0);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(30.0);

    let stack = Stack::require();
    let ingestion = Ingestion::start(&stack).await;
    let config = lucid_feature_store::Config {
        grpc_addr: ([127, 0, 0, 1], 0).into(),
        http_addr: ([127, 0, 0, 1], 0).into(),
        catalog_dir: Some(catalog_dir()),
        kafka: broker::kafka(&stack.brokers),
        topic: ingestion.events_topic.clone(),
        group_id: unique("bench-fs"),
        dlq_topic: ingestion.dlq_topic.clone(),
        redis_url: stack.redis_url.clone(),
        redis_prefix: unique("bench-fs"),
        resume: lucid_feature_store::config::Resume::Beginning,
        ..Default::default()
    };
    let shutdown = CancellationToken::new();
    let store = lucid_feature_store::start(config, shutdown.clone())
        .await
        .expect("feature store starts");

    let wanted = (rate * seconds) as usize;
    let catalog = lucid_catalog::Catalog::load(catalog_dir()).expect("catalog");
    let mut sim = SimConfig::ending_at(Utc::now(), TimeDelta::hours(6));
    (sim.seed, sim.sessions) = (3, wanted / 20 + 50);
    let mut events = simulate(&catalog, sim).expect("simulates");
    events.truncate(wanted);
    println!(
        "bench-freshness: {} events at {rate} events/s through ingestion into the feature store",
        events.len()
    );

    let mut options = SendOptions::new(ingestion.url.clone(), API_KEY);
    (options.rate, options.batch_size, options.progress) = (Some(rate), 50, false);
    let started = Instant::now();
    let summary = send_http(&events, &options).await.expect("sent");
    println!(
        "sent {} accepted in {:.1}s",
        summary.accepted,
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    let metrics = reqwest::get(format!("http://{}/metrics", store.http_addr))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in metrics.lines().filter(|l| {
        l.starts_with("lucid_feature_store_freshness_seconds")
            || l.starts_with("lucid_feature_store_events_applied_total")
    }) {
        println!("  {line}");
    }
    shutdown.cancel();
    let _ = store.wait().await;
    ingestion.stop().await;
}
