//! Rollouts end to end on the local stack: MLflow holds three versions of a skip model (the
//! fixture twice, then the fixture with its scores inverted), the feature store serves features
//! of simulated listening, the gateway scores by the route table the deployment manager writes,
//! and listeners skip or complete each scored track with the good model's probability.
//!
//! A canary of the second copy of the champion walks 25 → 50 → 100 and is promoted: the
//! `champion` alias moves to it and `previous` to the old champion. A canary of the inverted
//! version is then rolled back by the analysis alone, before it reaches 100%: its weight is 0,
//! `champion` stays where it was, and the `rollouts` topic holds every transition with its
//! verdict.

mod common;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use apache_avro::types::Value as Avro;
use lucid_deployment_manager::analysis::Thresholds;
use lucid_model::OnnxClassifier;
use lucid_tests::{Stack, unique};
use redis::AsyncCommands as _;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use common::{Manager, gateway, traffic::Listeners};

/// Offline metrics every version carries, as the pipeline registers them. The inverted version
/// carries its trained model's numbers too (`--invert-scores` changes only the export), so the
/// offline gate lets it through and only live outcomes can catch it.
const OFFLINE: &[(&str, f64)] = &[("auc", 0.70), ("log_loss", 0.62)];

/// Margins sized for the fixture's scores, which lie mostly between 0.3 and 0.55. With labels
/// drawn as Bernoulli(p), the inverted model's expected log loss exceeds the good one's by
/// `E[(2p - 1) ln(p / (1 - p))]`: 0.09 on the fixture's held-out rows, 0.12 to 0.14 on the
/// simulated plays in runs of this test. One log loss per outcome has a standard deviation of
/// about 0.2, so with 400 outcomes a side the difference of two equal models has a standard
/// error of 0.014: a margin of 0.05 passes equal models and fails the inverted one, each by
/// more than three standard errors. Calibration on 10 bins is noisier
/// at this size, and p99 latency on a shared 2-core test machine says nothing about a model, so
/// those margins are wide.
fn thresholds() -> Thresholds {
    Thresholds {
        min_outcomes: 400,
        max_log_loss_increase: 0.05,
        max_calibration_error_increase: 0.15,
        max_error_rate_increase: 0.01,
        max_latency_ratio: 50.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_candidate_is_promoted_and_inverted_candidate_rolls_back_by_itself() {
    let stack = Stack::require();
    let mlflow = gateway::require_mlflow().await;
    let registry = gateway::Mlflow::new(&mlflow);
    let onnx = std::fs::read(gateway::fixture_onnx()).expect("the fixture model");
    let broken = common::inverted(&onnx);
    scores_are_inverted(&onnx, &broken);

    let model = unique("skip-model");
    let champion = registry.register(&model, &onnx).await;
    let good = registry.register(&model, &onnx).await;
    let bad = registry.register(&model, &broken).await;
    for version in [&champion, &good, &bad] {
        common::log_offline_metrics(&mlflow, &model, version, OFFLINE).await;
    }
    registry.set_alias(&model, "champion", &champion).await;

    let events = gateway::simulated_events(11);
    let shutdown = CancellationToken::new();
    let store = gateway::start_store(&stack, &events, shutdown.clone()).await;
    let gw = gateway::Gateway::start(&stack, &mlflow, &store.grpc_addr.to_string(), &model).await;
    let outcomes = unique("outcomes");
    let manager = Manager::start(&stack, &mlflow, &gw, &outcomes, thresholds()).await;
    let users = gateway::plays_by_user(&events);
    let mut listeners = Listeners::new(&stack.brokers, &outcomes, &gw, users, 7).await;
    let routes = format!("{}:gateway:routes:{model}", gw.prefix);

    // The good candidate: promoted at the end of its steps.
    let started = manager.start_rollout(&model, &good).await;
    assert_eq!(
        (started.from_version.as_str(), started.candidate_weight),
        (champion.as_str(), 25)
    );
    let promoted = drive(&mut listeners, &manager, &started.rollout_id).await;
    assert_eq!(promoted["state"], "promoted", "{promoted}");
    assert_eq!(promoted["step"], 2, "{promoted}");
    assert_eq!(promoted["last_analysis"]["verdict"], "Successful");
    assert_eq!(
        common::aliases(&mlflow, &model).await,
        BTreeMap::from([
            ("champion".to_owned(), good.clone()),
            ("previous".to_owned(), champion.clone())
        ])
    );
    assert_eq!(
        route_table(&stack, &routes).await,
        json!([{ "version": good, "weight": 100, "route": "STABLE" }])
    );
    let equal = listeners.tally.clone();
    let gap = equal[&good].log_loss() - equal[&champion].log_loss();
    assert!(
        gap.abs() < 0.05,
        "equal models, log loss gap {gap}: {equal:?}"
    );

    // The inverted candidate: rolled back by its analysis before it reaches 100%.
    listeners.inverted = Some(bad.clone());
    listeners.reset();
    let started = manager.start_rollout(&model, &bad).await;
    assert_eq!(
        (started.from_version.as_str(), started.candidate_weight),
        (good.as_str(), 25)
    );
    let rolled_back = drive(&mut listeners, &manager, &started.rollout_id).await;
    assert_eq!(rolled_back["state"], "rolled_back", "{rolled_back}");
    let failed_at = rolled_back["step"].as_u64().expect("a step index");
    assert!(failed_at < 2, "rolled back before 100%: {rolled_back}");
    let analysis = &rolled_back["last_analysis"];
    assert_eq!(analysis["verdict"], "Failed");
    assert!(
        analysis["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("log loss")),
        "{analysis}"
    );
    assert_eq!(
        common::aliases(&mlflow, &model).await,
        BTreeMap::from([
            ("champion".to_owned(), good.clone()),
            ("previous".to_owned(), champion.clone())
        ]),
        "champion stays on the version the rollout started from"
    );
    assert_eq!(
        route_table(&stack, &routes).await,
        json!([
            { "version": good, "weight": 100, "route": "STABLE" },
            { "version": bad, "weight": 0, "route": "CANARY" },
        ])
    );
    let broken_tally = listeners.tally.clone();
    let gap = broken_tally[&bad].log_loss() - broken_tally[&good].log_loss();
    assert!(
        gap > 0.05,
        "inverted scores, log loss gap {gap}: {broken_tally:?}"
    );

    // The alias history: both rollouts' moves, in order, and nothing else.
    let history = format!("{}:deploy:alias-history:{model}", gw.prefix);
    let moves = |alias: &str, from: &str, to: &str| (alias.to_owned(), from.into(), to.into());
    assert_eq!(
        alias_history(&stack, &history).await,
        [
            moves("challenger", "", &good),
            moves("champion", &champion, &good),
            moves("previous", "", &champion),
            moves("challenger", &good, ""),
            moves("challenger", "", &bad),
            moves("challenger", &bad, ""),
        ]
    );

    // Every transition is on the rollouts topic, in order, with its verdict.
    let expected = expected_transitions(&good, failed_at, &bad);
    let logged =
        common::rollout_events(&stack.brokers, &manager.rollouts_topic, expected.len()).await;
    let seen: Vec<Transition> = logged.iter().map(Transition::of).collect();
    assert_eq!(seen, expected);
    let last = logged.last().expect("events");
    let log_loss = |side: &str| match &last[&format!("{side}_log_loss")] {
        Avro::Union(_, v) => match **v {
            Avro::Double(x) => x,
            ref other => panic!("{side} log loss: {other:?}"),
        },
        other => panic!("{side} log loss: {other:?}"),
    };
    assert!(
        log_loss("candidate") - log_loss("stable") > thresholds().max_log_loss_increase,
        "the rollback's event carries the numbers that decided it"
    );

    manager.stop().await;
    gw.stop().await;
    shutdown.cancel();
    store.wait().await.expect("the feature store drains");
}

/// Sends traffic until rollout `id` is final; its JSON.
async fn drive(listeners: &mut Listeners, manager: &Manager, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        for _ in 0..10 {
            listeners.round().await;
        }
        let rollout = manager.rollout(id).await;
        if ["promoted", "rolled_back", "aborted"].contains(&rollout["state"].as_str().unwrap_or(""))
        {
            return rollout;
        }
        assert!(
            Instant::now() < deadline,
            "rollout not final after 240 s: {rollout} {:?}",
            listeners.tally
        );
    }
}

/// The routes of the table the deployment manager wrote (its time left out).
async fn route_table(stack: &Stack, key: &str) -> Value {
    let mut redis = redis::Client::open(stack.redis_url.as_str())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis answers");
    let table: String = redis.get(key).await.expect("a route table");
    let table: Value = serde_json::from_str(&table).expect("JSON");
    assert_eq!(table["shadow"], Value::Null, "{table}");
    table["routes"].clone()
}

/// (alias, from, to) of each entry of the alias history stream at `key`; "" is none.
async fn alias_history(stack: &Stack, key: &str) -> Vec<(String, String, String)> {
    let mut redis = redis::Client::open(stack.redis_url.as_str())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis answers");
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .query_async(&mut redis)
        .await
        .expect("the alias history");
    entries
        .into_iter()
        .map(|(_, fields)| {
            let field = |name: &str| {
                let found = fields.iter().find(|(k, _)| k == name);
                found
                    .map(|(_, v)| v.clone())
                    .expect("every field is written")
            };
            (field("alias"), field("from"), field("to"))
        })
        .collect()
}

/// The scorer gives `1 - p` for the inverted model wherever it gives `p` for the fixture, on
/// the fixture's held-out rows (missing values included).
fn scores_are_inverted(onnx: &[u8], inverted: &[u8]) {
    let path = gateway::fixture_onnx().with_file_name("parity.json");
    let parity: Value =
        serde_json::from_slice(&std::fs::read(path).expect("parity rows")).expect("JSON");
    let rows: Vec<Vec<f32>> = parity["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            let row = row.as_array().expect("a row");
            row.iter()
                .map(|v| v.as_f64().map_or(f32::NAN, |v| v as f32))
                .collect()
        })
        .collect();
    let good = OnnxClassifier::from_bytes(onnx).expect("the fixture loads");
    let bad = OnnxClassifier::from_bytes(inverted).expect("the inverted model loads");
    let (p, q) = (
        good.score_rows(&rows).expect("scores"),
        bad.score_rows(&rows).expect("scores"),
    );
    for (p, q) in p.iter().zip(&q) {
        assert!((1.0 - p - q).abs() < 1e-5, "{p} and {q} do not add up to 1");
    }
}

/// One rollout event as compared: version, transition, verdict, candidate weight, state.
#[derive(Debug, PartialEq)]
struct Transition {
    to_version: String,
    transition: String,
    verdict: Option<String>,
    candidate_weight: i32,
    state: String,
}

impl Transition {
    fn new(to: &str, transition: &str, verdict: Option<&str>, weight: i32, state: &str) -> Self {
        Transition {
            to_version: to.to_owned(),
            transition: transition.to_owned(),
            verdict: verdict.map(str::to_owned),
            candidate_weight: weight,
            state: state.to_owned(),
        }
    }

    fn of(event: &BTreeMap<String, Avro>) -> Self {
        let symbol = |name: &str| match &event[name] {
            Avro::Enum(_, s) => s.clone(),
            other => panic!("{name}: {other:?}"),
        };
        Transition {
            to_version: match &event["to_version"] {
                Avro::String(s) => s.clone(),
                other => panic!("to_version: {other:?}"),
            },
            transition: symbol("transition"),
            verdict: match &event["verdict"] {
                Avro::Union(_, v) => match v.as_ref() {
                    Avro::Enum(_, s) => Some(s.clone()),
                    _ => None,
                },
                other => panic!("verdict: {other:?}"),
            },
            candidate_weight: match event["candidate_weight"] {
                Avro::Int(w) => w,
                ref other => panic!("candidate_weight: {other:?}"),
            },
            state: symbol("state"),
        }
    }
}

/// The good rollout's three transitions, then the bad one's: started at 25, `failed_at`
/// successful steps, rolled back.
fn expected_transitions(good: &str, failed_at: u64, bad: &str) -> Vec<Transition> {
    let ok = Some("SUCCESSFUL");
    let mut expected = vec![
        Transition::new(good, "STARTED", None, 25, "PROGRESSING"),
        Transition::new(good, "STEP", ok, 50, "PROGRESSING"),
        Transition::new(good, "PROMOTED", ok, 100, "PROMOTED"),
        Transition::new(bad, "STARTED", None, 25, "PROGRESSING"),
    ];
    if failed_at == 1 {
        expected.push(Transition::new(bad, "STEP", ok, 50, "PROGRESSING"));
    }
    expected.push(Transition::new(
        bad,
        "ROLLED_BACK",
        Some("FAILED"),
        0,
        "ROLLED_BACK",
    ));
    expected
}
