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

/// Cumulative `(upper bound, count)` pairs of a Prometheus histogram.
fn histogram(text: &str, name: &str) -> Vec<(f64, f64)> {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((bound, l.rsplit(' ').next()?.parse().ok()?))
        })
        .collect()
}

/// The q-quantile by linear interpolation inside the bucket, as `histogram_quantile` does.
fn quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let total = buckets.last().map_or(0.0, |(_, n)| *n);
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return lower.0;
            }
            let share = if count > lower.1 {
                (rank - lower.1) / (count - lower.1)
            } else {
                0.0
            };
            return lower.0 + (bound - lower.0) * share;
        }
        lower = (bound, count);
    }
    f64::NAN
}

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
    let buckets = histogram(&metrics, "lucid_feature_store_freshness_seconds_bucket");
    let count = buckets.last().map_or(0.0, |(_, n)| *n);
    println!("freshness over {count} events (ingest time to Redis write):");
    println!("  p50 {:>7.1} ms", quantile(&buckets, 0.50) * 1000.0);
    println!(
        "  p99 {:>7.1} ms   (target <= 100 ms)",
        quantile(&buckets, 0.99) * 1000.0
    );
    shutdown.cancel();
    let _ = store.wait().await;
    ingestion.stop().await;
}
