//! The drift detector against the real broker and Redis, with the shipped monitors: simulated
//! listening over the real catalog, baseline for the first half of the span and a scenario for
//! the second. A new cohort with other tastes and a unit bug in the app each raise a DRIFT alert
//! that names the shifted columns and not the others; a baseline run with another seed raises
//! none; and a restarted detector does not repeat its alerts.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use apache_avro::types::Value;
use chrono::{TimeDelta, Utc};
use lucid_avro::{Codec, DRIFT_ALERT, SchemaSet};
use lucid_drift_detector::spec::ReferenceSpec;
use lucid_events::ListeningEvent;
use lucid_simulator::{Scenario, SimConfig, simulate};
use lucid_tests::{Stack, broker, catalog_dir, expected_pseudonym, unique};
use tokio_util::sync::CancellationToken;

const MONITOR: &str = "listening-outcomes";

/// What an alert on the topic said.
#[derive(Debug)]
struct Alert {
    band: String,
    drifted: BTreeSet<String>,
}

/// Simulates `scenario`, runs the detector over it to the end, and returns its alerts and the
/// columns of its last report in the drift band.
async fn run(scenario: Scenario, seed: u64, restarts: usize) -> (Vec<Alert>, BTreeSet<String>) {
    let stack = Stack::require();
    let catalog = lucid_catalog::Catalog::load(catalog_dir()).expect("catalog");
    let mut sim = SimConfig::ending_at(Utc::now(), TimeDelta::hours(48));
    (sim.scenario, sim.seed, sim.listeners, sim.sessions) = (scenario, seed, 4000, 3000);
    let mut events: Vec<ListeningEvent> = simulate(&catalog, sim)
        .expect("simulates")
        .iter()
        .map(|e| ListeningEvent::from_input(e, expected_pseudonym("k", &e.user_id), Utc::now()))
        .collect();
    // One partition, in event-time order: the first records are the reference period.
    events.sort_by_key(|e| e.event_time);
    let (topic, alerts) = (unique("drift-events"), unique("drift-alerts"));
    let predictions = unique("drift-predictions");
    broker::create_topics(&stack.brokers, &[&topic, &alerts, &predictions], 1).await;
    broker::produce_events(&stack.brokers, &topic, &events).await;

    let config = lucid_drift_detector::Config {
        grpc_addr: ([127, 0, 0, 1], 0).into(),
        http_addr: ([127, 0, 0, 1], 0).into(),
        events_topic: Some(topic.clone()),
        predictions_topic: Some(predictions),
        catalog_dir: Some(catalog_dir()),
        kafka: broker::kafka(&stack.brokers),
        group_id: unique("drift"),
        alerts_topic: alerts.clone(),
        redis_url: stack.redis_url.clone(),
        redis_prefix: unique("drift"),
        ..Default::default()
    };
    let outcome_times: Vec<i64> = events
        .iter()
        .filter(|e| matches!(e.action.as_str(), "skip" | "complete"))
        .map(|e| e.event_time)
        .collect();
    // A restarted detector reads the topic again from the start, with the alert state of the
    // run before it in Redis.
    let mut last = BTreeSet::new();
    for _ in 0..=restarts {
        let shutdown = CancellationToken::new();
        let detector = lucid_drift_detector::start(config.clone(), shutdown.clone())
            .await
            .expect("the drift detector starts");
        last = wait_last_check(&detector.http_addr.to_string(), &outcome_times).await;
        shutdown.cancel();
        detector.wait().await.expect("the detector stops cleanly");
    }

    let records = broker::read_topic(&stack.brokers, &alerts, 0, Duration::from_secs(5)).await;
    let codec = Codec::single_object(SchemaSet::shipped());
    let mut read = Vec::new();
    for record in records {
        let decoded = codec
            .decode(&record.payload, DRIFT_ALERT)
            .await
            .expect("a DriftAlert");
        read.push(alert(decoded.value));
    }
    (read, last)
}

/// Waits until the monitor's last due check has run and returns the columns it put in the
/// drift band. With the input in event-time order, that check's window ends at the event time of
/// the outcome that made it due.
async fn wait_last_check(http: &str, outcome_times: &[i64]) -> BTreeSet<String> {
    let specs = lucid_drift_detector::spec::parse(lucid_drift_detector::spec::STARTER_MONITORS)
        .expect("starter monitors");
    let spec = specs
        .iter()
        .find(|m| m.name == MONITOR)
        .expect("the monitor");
    // Checks count the rows after the reference is complete.
    let reference = match spec.reference {
        ReferenceSpec::FirstRecords(n) => n as usize,
        ReferenceSpec::FirstSpan(span) => {
            let end = outcome_times[0] + span.as_millis() as i64;
            outcome_times.partition_point(|&t| t < end)
        }
        ReferenceSpec::File(_) => 0,
    };
    let every = spec.check_every as usize;
    let checks = (outcome_times.len() - reference) / every;
    let target = outcome_times[reference + every * checks - 1];
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status: serde_json::Value =
            reqwest::get(format!("http://{http}/v1/monitors/{MONITOR}"))
                .await
                .expect("report")
                .json()
                .await
                .expect("json");
        if status["report"]["window_end"].as_i64() == Some(target) {
            return status["report"]["columns"]
                .as_array()
                .expect("columns")
                .iter()
                .filter(|c| c["band"] == "DRIFT")
                .map(|c| c["column"].as_str().expect("name").to_owned())
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "the last check (window end {target}) did not run in 120 s: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn alert(value: Value) -> Alert {
    let Value::Record(fields) = value else {
        panic!("an alert is a record")
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .expect("field present")
    };
    let Value::Enum(_, band) = field("band") else {
        panic!("band is an enum")
    };
    let Value::Array(columns) = field("columns") else {
        panic!("columns is an array")
    };
    let drifted = columns
        .into_iter()
        .filter_map(|c| {
            let Value::Record(c) = c else { return None };
            let get = |n: &str| c.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
            match (get("column"), get("band")) {
                (Some(Value::String(name)), Some(Value::Enum(_, b))) if b == "DRIFT" => Some(name),
                _ => None,
            }
        })
        .collect();
    Alert { band, drifted }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_bug_in_the_app_drifts_listened_time_and_nothing_else() {
    // Run twice: the second run replays the topic and publishes nothing again.
    let (alerts, last) = run(Scenario::SecondsBug, 21, 1).await;
    assert_eq!(alerts.len(), 2, "one warning, one drift, once: {alerts:?}");
    let first = alerts
        .iter()
        .find(|a| a.band == "DRIFT")
        .expect("a DRIFT alert");
    let shifted = set(&["listened_ms", "listened_ratio", "app_version"]);
    assert!(first.drifted.is_subset(&shifted), "{:?}", first.drifted);
    assert_eq!(last, shifted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hiphop_cohort_drifts_the_tracks_heard_and_not_listening_habits() {
    let (alerts, last) = run(Scenario::HiphopCohort, 22, 0).await;
    let first = alerts
        .iter()
        .find(|a| a.band == "DRIFT")
        .expect("a DRIFT alert");
    assert!(first.drifted.contains("track_genre"), "{:?}", first.drifted);
    // The cohort are new listeners on the newest app release: app_version shifts too.
    for unshifted in ["platform", "context", "listened_ms", "action"] {
        assert!(!last.contains(unshifted), "{unshifted} drifted: {last:?}");
        assert!(!first.drifted.contains(unshifted), "{unshifted}: {first:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_baseline_with_another_seed_raises_no_alert() {
    let (alerts, last) = run(Scenario::Baseline, 23, 0).await;
    assert!(alerts.is_empty(), "{alerts:?}");
    assert!(last.is_empty(), "{last:?}");
}
