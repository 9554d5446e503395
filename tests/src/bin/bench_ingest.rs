//! Events per second through ingestion (HTTP batches) against a raw rdkafka producer sending the
//! same encoded records to the same broker, measured in the same run. Run by
//! `scripts/bench-ingest`; results are recorded in docs/benchmarks.md.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{TimeDelta, Utc};
use lucid_avro::{Codec, LISTENING_EVENT, SchemaSet};
use lucid_events::{EventInput, ListeningEvent, PublishResponse};
use lucid_simulator::{SimConfig, simulate};
use lucid_tests::{
    Stack, broker, catalog_dir, expected_pseudonym,
    ingestion::{API_KEY, Ingestion, PSEUDONYM_KEY},
};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};

struct Args {
    events: usize,
    batch: usize,
    concurrency: usize,
    rounds: usize,
}

fn args() -> Args {
    let mut args = Args {
        events: 30_000,
        batch: 100,
        concurrency: 8,
        rounds: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize = it
            .next()
            .and_then(|v| v.parse().ok())
            .expect("flags take a number");
        match flag.as_str() {
            "--events" => args.events = value,
            "--batch" => args.batch = value,
            "--concurrency" => args.concurrency = value,
            "--rounds" => args.rounds = value,
            other => panic!("unknown flag {other}; use --events --batch --concurrency --rounds"),
        }
    }
    args
}

#[tokio::main]
async fn main() {
    let args = args();
    let stack = Stack::require();
    let events = simulated(args.events);
    println!(
        "bench-ingest: {} events, HTTP batches of {}, {} concurrent clients, {} rounds",
        events.len(),
        args.batch,
        args.concurrency,
        args.rounds
    );

    let (mut windowed, mut unbounded, mut ingest, mut latencies) = (vec![], vec![], vec![], vec![]);
    for round in 1..=args.rounds {
        let w = raw_producer(&stack, &events, Some((args.batch, args.concurrency))).await;
        let u = raw_producer(&stack, &events, None).await;
        let (rate, mut lat) = through_ingestion(&stack, &events, &args).await;
        println!(
            "round {round}: raw windowed {w:>8.0}/s   raw unbounded {u:>8.0}/s   ingestion {rate:>8.0}/s"
        );
        windowed.push(w);
        unbounded.push(u);
        ingest.push(rate);
        latencies.append(&mut lat);
    }

    let (w, u, i) = (
        median(&mut windowed),
        median(&mut unbounded),
        median(&mut ingest),
    );
    latencies.sort_by(f64::total_cmp);
    println!();
    println!("medians over {} rounds, events per second:", args.rounds);
    println!(
        "  raw producer, same flow control ({} x {})  {w:>9.0}",
        args.concurrency, args.batch
    );
    println!("  raw producer, everything in flight         {u:>9.0}");
    println!("  ingestion over HTTP                        {i:>9.0}");
    println!(
        "ratio vs raw with the same flow control      {:>9.2}   (target >= 0.5)",
        i / w
    );
    println!(
        "ratio vs raw with everything in flight       {:>9.2}",
        i / u
    );
    println!(
        "request latency p50    {:>9.1} ms (batch of {})",
        percentile(&latencies, 0.50),
        args.batch
    );
    println!(
        "request latency p99    {:>9.1} ms",
        percentile(&latencies, 0.99)
    );
}

fn simulated(wanted: usize) -> Vec<EventInput> {
    let catalog = lucid_catalog::Catalog::load(catalog_dir()).expect("catalog loads");
    let mut config = SimConfig::ending_at(Utc::now(), TimeDelta::hours(12));
    config.seed = 1;
    config.sessions = wanted / 10 + 100;
    let mut events = simulate(&catalog, config).expect("simulation runs");
    assert!(
        events.len() >= wanted,
        "simulated {} events, wanted {wanted}",
        events.len()
    );
    events.truncate(wanted);
    events
}

/// The baseline: the same records, Avro-encoded up front, sent by a bare idempotent `acks=all`
/// producer, timed from the first send to the last delivery report. With a window, `senders`
/// tasks each send `batch` records and wait for their delivery reports before the next, as the
/// HTTP clients do; without, every record is in flight at once.
async fn raw_producer(stack: &Stack, events: &[EventInput], window: Option<(usize, usize)>) -> f64 {
    let topic = lucid_tests::unique("bench-raw");
    broker::create_topics(&stack.brokers, &[&topic], 3).await;
    let codec = Codec::single_object(SchemaSet::shipped());
    let encoder = codec
        .encoder(LISTENING_EVENT, "unused")
        .await
        .expect("encoder");
    let now = Utc::now();
    let records: Vec<(String, Vec<u8>)> = events
        .iter()
        .map(|e| {
            let key = expected_pseudonym(PSEUDONYM_KEY, &e.user_id);
            let bytes = encoder
                .encode(ListeningEvent::from_input(e, key.clone(), now).to_avro())
                .expect("encodes");
            (key, bytes)
        })
        .collect();

    let producer: FutureProducer = broker::kafka(&stack.brokers)
        .client_config("bench-raw")
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .create()
        .expect("producer");

    // Warm up like ingestion does at start: connect and load the topic's metadata.
    producer
        .client()
        .fetch_metadata(Some(&topic), Duration::from_secs(5))
        .expect("metadata");

    let started = Instant::now();
    let (batch, senders) = window.unwrap_or((records.len(), 1));
    let batches = Arc::new(Mutex::new(records.chunks(batch).collect::<Vec<_>>()));
    let senders = (0..senders).map(|_| send_batches(&producer, &topic, &batches));
    futures::future::join_all(senders).await;
    let rate = events.len() as f64 / started.elapsed().as_secs_f64();
    check_stored(stack, &topic, events.len()).await;
    rate
}

/// Ingestion in-process, fed by `concurrency` HTTP clients posting pre-serialised batches.
async fn through_ingestion(stack: &Stack, events: &[EventInput], args: &Args) -> (f64, Vec<f64>) {
    let mut config = lucid_tests::ingestion::test_config(&stack.brokers, &stack.redis_url);
    if let Ok(ms) = std::env::var("BENCH_LINGER_MS") {
        config.producer_linger = Duration::from_millis(ms.parse().expect("milliseconds"));
    }
    let ingestion = Ingestion::start_with(config).await;
    let bodies: Vec<Vec<u8>> = events
        .chunks(args.batch)
        .map(|b| serde_json::to_vec(b).expect("json"))
        .collect();
    let queue = Arc::new(Mutex::new(bodies));
    let client = reqwest::Client::new();
    let url = format!("{}/v1/events", ingestion.url);

    let started = Instant::now();
    let workers = (0..args.concurrency).map(|_| {
        let (queue, client, url) = (queue.clone(), client.clone(), url.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let Some(body) = queue.lock().expect("queue lock").pop() else {
                    return latencies;
                };
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .bearer_auth(API_KEY)
                    .body(body)
                    .send()
                    .await
                    .expect("answers");
                assert_eq!(
                    response.status(),
                    200,
                    "no backpressure expected at this rate"
                );
                let answer: PublishResponse = response.json().await.expect("publish response");
                assert_eq!(answer.rejected, 0);
                let ms = sent.elapsed().as_secs_f64() * 1000.0;
                if std::env::var("BENCH_SHOW_METRICS").is_ok() && ms > 200.0 {
                    println!(
                        "  slow request: {ms:.0} ms, request #{} of its worker",
                        latencies.len()
                    );
                }
                latencies.push(ms);
            }
        })
    });
    let latencies: Vec<f64> = futures::future::join_all(workers)
        .await
        .into_iter()
        .flat_map(|w| w.expect("worker"))
        .collect();
    let rate = events.len() as f64 / started.elapsed().as_secs_f64();

    check_stored(stack, &ingestion.events_topic, events.len()).await;
    if std::env::var("BENCH_SHOW_METRICS").is_ok() {
        let text = client
            .get(format!("{}/metrics", ingestion.url))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        for line in text
            .lines()
            .filter(|l| l.contains("duration_seconds") && !l.starts_with('#'))
        {
            println!("  {line}");
        }
    }
    ingestion.stop().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    (rate, latencies)
}

/// Every sent record is in the topic exactly once, counted by reading it back.
async fn check_stored(stack: &Stack, topic: &str, sent: usize) {
    let records = broker::read_topic(&stack.brokers, topic, sent, Duration::from_secs(60)).await;
    assert_eq!(records.len(), sent, "{topic}: records read back vs sent");
}

type Batches<'a> = Mutex<Vec<&'a [(String, Vec<u8>)]>>;

/// One raw sender: takes a batch, sends it, waits for its delivery reports, repeats.
async fn send_batches(producer: &FutureProducer, topic: &str, batches: &Batches<'_>) {
    loop {
        let Some(batch) = batches.lock().expect("lock").pop() else {
            return;
        };
        let deliveries: Vec<_> = batch
            .iter()
            .map(|(key, bytes)| {
                producer
                    .send_result(FutureRecord::to(topic).key(key.as_bytes()).payload(bytes))
                    .map_err(|(e, _)| e)
                    .expect("local queue has room")
            })
            .collect();
        for delivery in futures::future::join_all(deliveries).await {
            delivery.expect("not cancelled").expect("delivered");
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}
