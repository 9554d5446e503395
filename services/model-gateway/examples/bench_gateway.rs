//! Inference throughput and latency through the gateway (features fetched from the feature
//! store, the model scored, the prediction logged to the broker), against a baseline measured in
//! the same run: the direct feature store lookups of the same entities that the gateway makes
//! (one `GetOnlineFeatures` per entity type, concurrently). Prints requests per second, p50 and
//! p99 of both and their ratios. Run by `scripts/bench-gateway` (release build, local stack with
//! MLflow); results are in docs/benchmarks.md.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{TimeDelta, Utc};
use futures::future::join_all;
use lucid_events::{Action, ListeningEvent};
use lucid_proto::{
    features::v1::{self as fpb, feature_service_client::FeatureServiceClient},
    inference::{self as v2, grpc_inference_service_client::GrpcInferenceServiceClient},
};
use lucid_simulator::{SimConfig, simulate};
use lucid_tests::{Stack, broker, catalog_dir, expected_pseudonym, unique};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// Requests in flight at once.
const CONCURRENCY: usize = 16;
/// Measured requests per run.
const REQUESTS: usize = 20_000;
/// Requests before measuring (connections, caches).
const WARMUP: usize = 1_000;

/// One request's entities: listener, session, track.
type Play = (String, String, i64);

#[tokio::main]
async fn main() {
    let stack = Stack::require();
    let mlflow =
        std::env::var("LUCID_MLFLOW_URL").unwrap_or_else(|_| "http://127.0.0.1:15000".into());
    let model = unique("bench-skip-model");
    let version = register(&mlflow, &model).await;
    let events = simulated_events();
    let plays: Arc<[Play]> = plays_of(&events).into();
    let shutdown = CancellationToken::new();
    let store = start_store(&stack, &events, shutdown.clone()).await;
    let gateway = start_gateway(
        &stack,
        &mlflow,
        &store.grpc_addr.to_string(),
        &model,
        shutdown.clone(),
    )
    .await;
    println!(
        "bench-gateway: {} events applied, {} plays as requests (1 row each: session, user and track features, 13 in all), {CONCURRENCY} concurrent clients, {REQUESTS} requests per run, model {model} version {version}",
        events.len(),
        plays.len()
    );

    let store_url = format!("http://{}", store.grpc_addr);
    let baseline = run("feature store lookups (baseline)", plays.clone(), {
        let client = FeatureServiceClient::new(channel(&store_url).await);
        move |play| lookups(client.clone(), play)
    })
    .await;
    let grpc_url = format!("http://{}", gateway.grpc_addr);
    let grpc = run("gateway gRPC ModelInfer", plays.clone(), {
        let client = GrpcInferenceServiceClient::new(channel(&grpc_url).await);
        let model = model.clone();
        move |play| infer_grpc(client.clone(), model.clone(), play)
    })
    .await;
    let http_url = format!("http://{}/v2/models/{model}/infer", gateway.http_addr);
    let http = run("gateway HTTP /infer (JSON)", plays.clone(), {
        let client = reqwest::Client::new();
        move |play| infer_http(client.clone(), http_url.clone(), play)
    })
    .await;

    for (name, stats) in [("gRPC", &grpc), ("HTTP", &http)] {
        println!(
            "ratio gateway {name} / baseline: throughput {:.2}x, p50 {:.2}x, p99 {:.2}x",
            stats.rps / baseline.rps,
            stats.p50 / baseline.p50,
            stats.p99 / baseline.p99
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let metrics = reqwest::get(format!("http://{}/metrics", gateway.http_addr))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in metrics.lines().filter(|l| {
        l.starts_with("lucid_model_gateway_predictions_logged_total")
            || l.starts_with("lucid_model_gateway_prediction_log_errors_total")
            || l.starts_with("lucid_model_gateway_errors_total")
    }) {
        println!("{line}");
    }
    shutdown.cancel();
    let _ = gateway.wait().await;
    let _ = store.wait().await;
}

struct Stats {
    rps: f64,
    p50: f64,
    p99: f64,
}

/// Runs `WARMUP` then `REQUESTS` calls of `call` over the plays, `CONCURRENCY` at a time.
async fn run<F, Fut>(name: &str, plays: Arc<[Play]>, call: F) -> Stats
where
    F: Fn(Play) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let round = |total: usize| {
        let workers = (0..CONCURRENCY).map(|w| {
            let (plays, call) = (plays.clone(), call.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(total / CONCURRENCY + 1);
                for i in (w..total).step_by(CONCURRENCY) {
                    let play = plays[i % plays.len()].clone();
                    let started = Instant::now();
                    call(play).await;
                    latencies.push(started.elapsed().as_secs_f64());
                }
                latencies
            })
        });
        join_all(workers)
    };
    round(WARMUP).await;
    let started = Instant::now();
    let mut latencies: Vec<f64> = round(REQUESTS)
        .await
        .into_iter()
        .flat_map(|r| r.expect("a worker finishes"))
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let stats = Stats {
        rps: REQUESTS as f64 / elapsed,
        p50: at(0.50),
        p99: at(0.99),
    };
    println!(
        "{name:<36} {:>8.0} req/s   p50 {:>6.3} ms   p99 {:>6.3} ms",
        stats.rps,
        stats.p50 * 1e3,
        stats.p99 * 1e3
    );
    stats
}

const SESSION: [&str; 8] = [
    "session_activity:plays",
    "session_activity:skips",
    "session_activity:skip_rate",
    "session_activity:mean_listened_ratio",
    "session_activity:mean_energy",
    "session_activity:mean_valence",
    "session_activity:last_mood_valence",
    "session_activity:last_mood_arousal",
];
const USER: [&str; 3] = [
    "user_behaviour:skip_rate_24h",
    "user_behaviour:sessions_7d",
    "user_behaviour:tracks_per_session_7d",
];
const TRACK: [&str; 2] = [
    "track_popularity:plays_1h",
    "track_popularity:skip_rate_24h",
];

/// The baseline: what the gateway asks the feature store for one row, without the gateway.
async fn lookups(client: FeatureServiceClient<Channel>, (user, session, track): Play) {
    let ask = |entity: &str, id: String, features: &[&str]| {
        let mut client = client.clone();
        let request = fpb::GetOnlineFeaturesRequest {
            entity_type: entity.into(),
            entity_ids: vec![id],
            features: features.iter().map(|f| (*f).to_owned()).collect(),
            ..Default::default()
        };
        async move {
            client
                .get_online_features(request)
                .await
                .expect("lookup succeeds")
        }
    };
    futures::join!(
        ask("session", session, &SESSION),
        ask("user", user, &USER),
        ask("track", track.to_string(), &TRACK)
    );
}

async fn infer_grpc(
    mut client: GrpcInferenceServiceClient<Channel>,
    model: String,
    (user, session, track): Play,
) {
    let tensor = |name: &str, datatype: &str, contents| v2::model_infer_request::InferInputTensor {
        name: name.into(),
        datatype: datatype.into(),
        shape: vec![1],
        parameters: Default::default(),
        contents: Some(contents),
    };
    let bytes = |s: String| v2::InferTensorContents {
        bytes_contents: vec![s.into_bytes()],
        ..Default::default()
    };
    let request = v2::ModelInferRequest {
        model_name: model,
        inputs: vec![
            tensor("user_id", "BYTES", bytes(user)),
            tensor("session_id", "BYTES", bytes(session)),
            tensor(
                "track_id",
                "INT64",
                v2::InferTensorContents {
                    int64_contents: vec![track],
                    ..Default::default()
                },
            ),
        ],
        ..Default::default()
    };
    let answer = client
        .model_infer(request)
        .await
        .expect("inference succeeds")
        .into_inner();
    assert_eq!(answer.outputs.len(), 1);
}

async fn infer_http(client: reqwest::Client, url: String, (user, session, track): Play) {
    let body = json!({"inputs": [
        {"name": "user_id", "datatype": "BYTES", "shape": [1], "data": [user]},
        {"name": "session_id", "datatype": "BYTES", "shape": [1], "data": [session]},
        {"name": "track_id", "datatype": "INT64", "shape": [1], "data": [track]},
    ]});
    let answer = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .expect("the gateway answers");
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.bytes().await.expect("a body");
}

async fn channel(url: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(url.to_owned())
        .expect("a valid url")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("connects")
}

/// Registers the scorer's fixture (exported by the pipeline) as the champion of `model`.
async fn register(mlflow: &str, model: &str) -> String {
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        let request = http
            .post(format!("{mlflow}/api/2.0/mlflow/{path}"))
            .json(&body);
        async move {
            let answer = request.send().await.unwrap_or_else(|e| {
                panic!("MLflow is not reachable at {mlflow} ({e}): start it with `scripts/stack up mlflow`")
            });
            answer.json::<serde_json::Value>().await.expect("json")
        }
    };
    let experiment = post(
        "experiments/create",
        json!({"name": unique("bench-gateway")}),
    )
    .await;
    let run = post(
        "runs/create",
        json!({"experiment_id": experiment["experiment_id"]}),
    )
    .await;
    let run_id = run["run"]["info"]["run_id"]
        .as_str()
        .expect("a run")
        .to_owned();
    let proxied = run["run"]["info"]["artifact_uri"]
        .as_str()
        .and_then(|u| u.strip_prefix("mlflow-artifacts:"))
        .expect("proxied artifacts")
        .trim_start_matches('/')
        .to_owned();
    let onnx = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../crates/lucid-model/fixtures/skip-model/model.onnx"),
    )
    .expect("the fixture model");
    http.put(format!(
        "{mlflow}/api/2.0/mlflow-artifacts/artifacts/{proxied}/model/model.onnx"
    ))
    .body(onnx)
    .send()
    .await
    .expect("upload");
    post("registered-models/create", json!({"name": model})).await;
    let created = post(
        "model-versions/create",
        json!({"name": model, "source": format!("runs:/{run_id}/model"), "run_id": run_id}),
    )
    .await;
    let version = created["model_version"]["version"]
        .as_str()
        .expect("a version")
        .to_owned();
    post(
        "registered-models/alias",
        json!({"name": model, "alias": "champion", "version": version}),
    )
    .await;
    version
}

/// Two hours of listening ending now, so sessions are fresh (their max age is 30 minutes).
fn simulated_events() -> Vec<ListeningEvent> {
    let catalog = lucid_catalog::Catalog::load(catalog_dir()).expect("catalog");
    let mut sim = SimConfig::ending_at(Utc::now(), TimeDelta::hours(2));
    (sim.seed, sim.listeners, sim.sessions) = (11, 500, 1000);
    simulate(&catalog, sim)
        .expect("simulates")
        .iter()
        .map(|e| ListeningEvent::from_input(e, expected_pseudonym("k", &e.user_id), Utc::now()))
        .collect()
}

fn plays_of(events: &[ListeningEvent]) -> Vec<Play> {
    events
        .iter()
        .filter(|e| e.action == Action::Play)
        .filter_map(|e| Some((e.user_pseudonym.clone(), e.session_id.clone(), e.track_id?)))
        .collect()
}

async fn start_store(
    stack: &Stack,
    events: &[ListeningEvent],
    shutdown: CancellationToken,
) -> lucid_feature_store::Service {
    let wait = Duration::from_secs(300);
    lucid_tests::feature_store::start_with_events(stack, "bench-gateway", events, wait, shutdown)
        .await
}

async fn start_gateway(
    stack: &Stack,
    mlflow: &str,
    store_grpc: &str,
    model: &str,
    shutdown: CancellationToken,
) -> lucid_model_gateway::Service {
    let predictions = unique("bench-predictions");
    broker::create_topics(&stack.brokers, &[&predictions], 3).await;
    let config = lucid_model_gateway::Config {
        grpc_addr: ([127, 0, 0, 1], 0).into(),
        http_addr: ([127, 0, 0, 1], 0).into(),
        models: vec![model.to_owned()],
        mlflow_url: mlflow.to_owned(),
        feature_store_url: format!("http://{store_grpc}"),
        redis_url: stack.redis_url.clone(),
        redis_prefix: unique("bench-gateway"),
        kafka: broker::kafka(&stack.brokers),
        predictions_topic: predictions,
        ..Default::default()
    };
    let gateway = lucid_model_gateway::start(config, shutdown)
        .await
        .expect("the gateway starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = format!("http://{}/v2/health/ready", gateway.http_addr);
    while !reqwest::get(&ready)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "the gateway did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    gateway
}
