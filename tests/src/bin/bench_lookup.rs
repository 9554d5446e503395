//! Online lookup latency and throughput: 1, 10 and 100 user entities x 20 features per request,
//! over gRPC on loopback, with the feature store's state built from simulated listening through
//! the real consumer; in the same run, the same lookups against Feast's Python feature server
//! holding the same values (checked equal first), and the ratios. Run by `scripts/bench-lookup`,
//! which installs Feast and passes its virtual environment in `LUCID_FEAST_VENV`; results are in
//! docs/benchmarks.md.

// The modules sit in bench_lookup/ beside this file, which is the binary's root.
#[path = "bench_lookup/feast.rs"]
mod feast;
#[path = "bench_lookup/feast_client.rs"]
mod feast_client;
#[path = "bench_lookup/load.rs"]
mod load;
#[path = "bench_lookup/ours.rs"]
mod ours;

use std::{path::PathBuf, sync::Arc, time::Duration, time::Instant};

use chrono::{TimeDelta, Utc};
use futures::future::join_all;
use lucid_events::ListeningEvent;
use lucid_simulator::{SimConfig, simulate};
use lucid_tests::{Stack, broker, catalog_dir, expected_pseudonym, unique};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use feast::FeastServer;
use feast_client::Feast;
use load::{CONCURRENCY, REQUESTS, Stats};
use ours::Ours;

/// Entities per request in the three runs.
const SIZES: [usize; 3] = [1, 10, 100];

#[tokio::main]
async fn main() {
    // On Ctrl-C or SIGTERM the bench future is dropped, and with it the Feast server, which
    // runs in a process group of its own that the terminal's signal does not reach.
    let interrupted = tokio::select! {
        () = bench() => false,
        () = interrupted() => true,
    };
    if interrupted {
        eprintln!("bench-lookup: interrupted");
        std::process::exit(130);
    }
}

async fn bench() {
    let venv = feast_venv();
    let stack = Stack::require();
    let events = simulated_events();
    let users: Arc<[String]> = users_of(&events).into();
    let shutdown = CancellationToken::new();
    let store = start_store(&stack, &events, shutdown.clone()).await;
    println!(
        "bench-lookup: {} events applied, {} users; 20 features per entity, {CONCURRENCY} concurrent clients, {REQUESTS} requests per size",
        events.len(),
        users.len()
    );

    let url = format!("http://{}", store.grpc_addr);
    let at_ms = Utc::now().timestamp() * 1000;
    let snapshot = Ours::connect(&url).await.snapshot(&users, at_ms).await;
    let feast = FeastServer::start(&venv, &snapshot, &stack.redis_url).await;
    let compared = Feast::new(&feast.url).assert_same(&snapshot).await;
    println!(
        "feast {} feature server (HTTP, {} workers, Redis online store): same values as ours for all {} users ({compared} values, bit for bit)",
        feast.version,
        feast::WORKERS,
        snapshot.rows.len()
    );

    compare(&url, &feast.url, users.clone()).await;
    print_lookup_histogram(&store.http_addr.to_string()).await;
    server_side_single(&url, &store.http_addr.to_string(), users).await;
    drop(feast);
    shutdown.cancel();
    let _ = store.wait().await;
}

/// Resolves on the first Ctrl-C or SIGTERM.
async fn interrupted() {
    let mut term = signal(SignalKind::terminate()).expect("installs a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// For each size, the same load against ours (`grpc_url`) and then Feast (`feast_url`).
async fn compare(grpc_url: &str, feast_url: &str, users: Arc<[String]>) {
    print_header();
    for entities in SIZES {
        let clients = join_all((0..CONCURRENCY).map(|_| Ours::connect(grpc_url))).await;
        let ours = load::measure(clients, users.clone(), entities).await;
        let clients = (0..CONCURRENCY).map(|_| Feast::new(feast_url)).collect();
        let theirs = load::measure(clients, users.clone(), entities).await;
        print_comparison(entities, ours, theirs);
    }
}

/// The virtual environment with Feast, from `LUCID_FEAST_VENV`.
fn feast_venv() -> PathBuf {
    let venv = std::env::var_os("LUCID_FEAST_VENV").map(PathBuf::from);
    let venv = venv.filter(|v| v.join("bin/feast").exists());
    venv.expect(
        "LUCID_FEAST_VENV must name a virtual environment with Feast: run scripts/bench-lookup",
    )
}

/// 24 h of listening by 1000 simulated users over the real catalog, pseudonymised as ingestion
/// would.
fn simulated_events() -> Vec<ListeningEvent> {
    let catalog = lucid_catalog::Catalog::load(catalog_dir()).expect("catalog");
    let mut sim = SimConfig::ending_at(Utc::now(), TimeDelta::hours(24));
    (sim.seed, sim.listeners, sim.sessions) = (9, 1000, 3000);
    simulate(&catalog, sim)
        .expect("simulates")
        .iter()
        .map(|e| ListeningEvent::from_input(e, expected_pseudonym("k", &e.user_id), Utc::now()))
        .collect()
}

/// The distinct user pseudonyms of `events`, sorted.
fn users_of(events: &[ListeningEvent]) -> Vec<String> {
    let mut users: Vec<String> = events.iter().map(|e| e.user_pseudonym.clone()).collect();
    users.sort();
    users.dedup();
    users
}

/// Produces `events` to a new topic and starts the feature store in-process on it with the bench
/// features; returns once every event is applied.
async fn start_store(
    stack: &Stack,
    events: &[ListeningEvent],
    shutdown: CancellationToken,
) -> lucid_feature_store::Service {
    let topic = unique("bench-lookup");
    broker::create_topics(&stack.brokers, &[&topic, &format!("{topic}-dlq")], 3).await;
    broker::produce_events(&stack.brokers, &topic, events).await;

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
    let store = lucid_feature_store::start(config, shutdown)
        .await
        .expect("starts");
    wait_applied(&store.http_addr.to_string(), events.len()).await;
    store
}

async fn wait_applied(http: &str, total: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let applied: f64 = metrics(http)
            .await
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

fn print_header() {
    println!(
        "{:>14} | {:^26} | {:^26} | ours/feast  feast/ours",
        "", "ours (gRPC)", "feast (HTTP)"
    );
    let cells = "   req/s   p50 ms   p99 ms";
    println!(
        "{:>14} | {cells} | {cells} | throughput   p50   p99",
        "entities"
    );
}

/// One line per size: both servers' numbers, then throughput ours/Feast and latency Feast/ours,
/// so that every ratio above 1 says ours is ahead.
fn print_comparison(entities: usize, ours: Stats, theirs: Stats) {
    let cells = |s: Stats| format!("{:>8.0} {:>8.2} {:>8.2}", s.rate, s.p50, s.p99);
    println!(
        "{:>14} | {} | {} | {:>9.1}x {:>5.1}x {:>5.1}x",
        format!("{entities} x 20"),
        cells(ours),
        cells(theirs),
        ours.rate / theirs.rate,
        theirs.p50 / ours.p50,
        theirs.p99 / ours.p99
    );
}

/// Our server's own lookup time over all runs, from its Prometheus histogram.
async fn print_lookup_histogram(http: &str) {
    println!(
        "server-side lookup time, ours (all sizes), histogram buckets (le = seconds, cumulative count):"
    );
    for line in metrics(http)
        .await
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
}

/// The target's own measurement: 1 entity x 20 features from one client, timed at the server
/// (the difference of its histogram before and after the run), so that neither other clients
/// nor the client's own work share the two cores with the lookups measured.
async fn server_side_single(grpc_url: &str, http: &str, users: Arc<[String]>) {
    let before = lookup_buckets(http).await;
    let client = Ours::connect(grpc_url).await;
    let stats = load::measure(vec![client], users, 1).await;
    let after = lookup_buckets(http).await;
    let counts: Vec<(String, f64)> = after
        .iter()
        .zip(&before)
        .map(|((le, a), (_, b))| (le.clone(), a - b))
        .collect();
    let total = counts.last().map_or(0.0, |(_, n)| *n);
    println!(
        "1 x 20, one client: {:.0} req/s, client p50 {:.2} ms p99 {:.2} ms; at the server, share of lookups within:",
        stats.rate, stats.p50, stats.p99
    );
    for (le, n) in counts.iter().take(4) {
        println!("  {le:>7} s  {:.2} %", 100.0 * n / total);
    }
    let within_1ms = counts
        .iter()
        .find(|(le, _)| le == "0.001")
        .map_or(0.0, |(_, n)| n / total);
    println!(
        "server-side p99 <= 1 ms for 1 x 20: {} ({:.2} % of {total} lookups within 1 ms)",
        if within_1ms >= 0.99 { "met" } else { "NOT met" },
        100.0 * within_1ms
    );
}

/// The cumulative bucket counts (le, count) of the server's lookup histogram, summed over
/// methods, in bucket order.
async fn lookup_buckets(http: &str) -> Vec<(String, f64)> {
    let mut buckets: Vec<(String, f64)> = Vec::new();
    for line in metrics(http)
        .await
        .lines()
        .filter(|l| l.starts_with("lucid_feature_store_lookup_duration_seconds_bucket"))
    {
        let le = line
            .split("le=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("?")
            .to_string();
        let n: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        match buckets.iter_mut().find(|(l, _)| *l == le) {
            Some((_, count)) => *count += n,
            None => buckets.push((le, n)),
        }
    }
    buckets
}

async fn metrics(http: &str) -> String {
    reqwest::get(format!("http://{http}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
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
