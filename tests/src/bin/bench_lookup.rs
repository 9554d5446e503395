//! Online lookup latency and throughput: 1, 10 and 100 user entities x 20 features per request,
//! over gRPC on loopback, with the feature store's state built from simulated listening through
//! the real consumer. Run by `scripts/bench-lookup`; results are in docs/benchmarks.md.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use lucid_events::ListeningEvent;
use lucid_proto::features::v1::{
    GetOnlineFeaturesRequest, feature_service_client::FeatureServiceClient,
};
use lucid_simulator::{SimConfig, simulate};
use lucid_tests::{Stack, broker, catalog_dir, expected_pseudonym, unique};
use tokio_util::sync::CancellationToken;

const CONCURRENCY: usize = 8;
const REQUESTS: usize = 2000;

#[tokio::main]
async fn main() {
    let stack = Stack::require();
    let topic = unique("bench-lookup");
    broker::create_topics(&stack.brokers, &[&topic, &format!("{topic}-dlq")], 3).await;

    let catalog = lucid_catalog::Catalog::load(catalog_dir()).expect("catalog");
    let mut sim = SimConfig::ending_at(Utc::now(), TimeDelta::hours(24));
    (sim.seed, sim.listeners, sim.sessions) = (9, 1000, 3000);
    let events: Vec<ListeningEvent> = simulate(&catalog, sim)
        .expect("simulates")
        .iter()
        .map(|e| ListeningEvent::from_input(e, expected_pseudonym("k", &e.user_id), Utc::now()))
        .collect();
    let mut users: Vec<String> = events.iter().map(|e| e.user_pseudonym.clone()).collect();
    users.sort();
    users.dedup();

    broker::produce_events(&stack.brokers, &topic, &events).await;

    let config = lucid_feature_store::Config {
        grpc_addr: ([127, 0, 0, 1], 0).into(),
        http_addr: ([127, 0, 0, 1], 0).into(),
        features_file: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bench-features.toml"),
        ),
        catalog_dir: Some(catalog_dir()),
        kafka: broker::kafka(&stack.brokers),
        topic: topic.clone(),
        group_id: unique("bench-lookup"),
        dlq_topic: format!("{topic}-dlq"),
        redis_url: stack.redis_url.clone(),
        redis_prefix: unique("bench-lookup"),
        resume: lucid_feature_store::config::Resume::Beginning,
        ..Default::default()
    };
    let shutdown = CancellationToken::new();
    let store = lucid_feature_store::start(config, shutdown.clone())
        .await
        .expect("starts");
    wait_applied(&store.http_addr.to_string(), events.len()).await;
    println!(
        "bench-lookup: {} events applied, {} users; 20 features per entity, {CONCURRENCY} concurrent clients",
        events.len(),
        users.len()
    );

    let url = format!("http://{}", store.grpc_addr);
    for entities in [1usize, 10, 100] {
        let (rate, p50, p99) = run(&url, &users, entities).await;
        println!(
            "  {entities:>3} entities x 20 features: {rate:>8.0} requests/s   client p50 {p50:>6.2} ms   p99 {p99:>6.2} ms"
        );
    }
    let metrics = reqwest::get(format!("http://{}/metrics", store.http_addr))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    println!(
        "server-side lookup time (all sizes), histogram buckets (le = seconds, cumulative count):"
    );
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("lucid_feature_store_lookup_duration_seconds_bucket"))
    {
        let le = line
            .split("le=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("?");
        println!("  le {le:>7}  {}", line.rsplit(' ').next().unwrap_or("?"));
    }
    shutdown.cancel();
    let _ = store.wait().await;
}

async fn wait_applied(http: &str, total: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = reqwest::get(format!("http://{http}/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let applied: f64 = text
            .lines()
            .find(|l| l.starts_with("lucid_feature_store_events_applied_total"))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0);
        if applied as usize >= total {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {applied} of {total} applied after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Requests per second and client-side latency percentiles for `entities` ids per request.
async fn run(url: &str, users: &[String], entities: usize) -> (f64, f64, f64) {
    let started = Instant::now();
    let workers = (0..CONCURRENCY).map(|w| {
        let (url, users) = (url.to_owned(), users.to_vec());
        tokio::spawn(async move {
            let mut client = FeatureServiceClient::connect(url).await.expect("connects");
            let mut latencies = Vec::new();
            for i in 0..REQUESTS / CONCURRENCY {
                let start = (w * 7919 + i * entities) % (users.len() - entities);
                let request = GetOnlineFeaturesRequest {
                    entity_type: "user".into(),
                    entity_ids: users[start..start + entities].to_vec(),
                    features: Vec::new(),
                    feature_service: String::new(),
                    request_time_unix_ms: None,
                };
                let mut request = request;
                request.features = FEATURES.iter().map(|f| format!("user_bench:{f}")).collect();
                let sent = Instant::now();
                let answer = client
                    .get_online_features(request)
                    .await
                    .expect("lookup")
                    .into_inner();
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                assert_eq!(answer.entities.len(), entities);
            }
            latencies
        })
    });
    let mut latencies: Vec<f64> = futures::future::join_all(workers)
        .await
        .into_iter()
        .flat_map(|w| w.expect("worker"))
        .collect();
    let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    (rate, at(0.5), at(0.99))
}

const FEATURES: [&str; 20] = [
    "plays_1h",
    "skips_1h",
    "completes_1h",
    "skip_rate_1h",
    "mean_listened_ratio_1h",
    "plays_24h",
    "skips_24h",
    "completes_24h",
    "skip_rate_24h",
    "mean_listened_ratio_24h",
    "plays_7d",
    "skips_7d",
    "completes_7d",
    "skip_rate_7d",
    "mean_listened_ratio_7d",
    "mean_energy_24h",
    "mean_valence_24h",
    "last_mood_valence",
    "last_mood_arousal",
    "max_position_24h",
];
