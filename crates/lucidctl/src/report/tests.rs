//! The report built from a fixture samples file and constructed rollout records.
//!
//! Expected numbers are worked out by hand from the fixture (tests/fixtures/report-samples.jsonl,
//! times as offsets from T0).

use apache_avro::types::Value;
use lucid_avro::{Codec, ROLLOUT_EVENT, SchemaSet};
use serde_json::json;

use super::{
    build,
    events::{self, Alert, Events, Run},
    parse_samples,
};
use crate::record::{Sample, feature_store_sample};

const T0: i64 = 1_700_000_000_000;
const SAMPLES: &str = include_str!("../../tests/fixtures/report-samples.jsonl");

/// A rollout record as the deployment manager writes it, framed and encoded, then read back.
async fn rollout(fields: serde_json::Value) -> events::Rollout {
    let codec = Codec::single_object(SchemaSet::shipped());
    let encoder = codec
        .encoder(ROLLOUT_EVENT, "rollouts-value")
        .await
        .expect("the rollout schema is shipped");
    let mut record = json!({
        "rollout_id": "0b8c6a52-3c1e-4f7e-9d6a-3f0c2b1a9e11",
        "model_name": "listening-skip",
        "from_version": "1",
        "to_version": "2",
        "strategy": "CANARY",
        "step_index": 0,
        "step_count": 3,
        "candidate_weight": 0,
        "reason": "",
    });
    let map = record.as_object_mut().expect("an object");
    map.extend(fields.as_object().expect("an object").clone());
    let value = Value::try_from(record)
        .and_then(|v| v.resolve(encoder.schema()))
        .expect("the record follows the schema");
    let bytes = encoder.encode(value).expect("encodes");
    let decoded = events::decode(&codec, &bytes, ROLLOUT_EVENT)
        .await
        .expect("decodes");
    events::rollout(&decoded).expect("a rollout event")
}

fn weights(pairs: &[(&str, i32, &str)]) -> serde_json::Value {
    pairs
        .iter()
        .map(|(v, weight, route)| json!({"version": v, "weight": weight, "route": route}))
        .collect()
}

async fn fixture_events() -> Events {
    let rollouts = vec![
        // Before the start of the report: left out.
        rollout(
            json!({"transition": "STARTED", "state": "PROGRESSING", "event_time": T0 - 5_000,
            "weights": weights(&[("1", 100, "STABLE")])}),
        )
        .await,
        rollout(
            json!({"transition": "STARTED", "state": "PROGRESSING", "event_time": T0 + 1_000,
            "weights": weights(&[("1", 90, "STABLE"), ("2", 10, "CANARY")])}),
        )
        .await,
        rollout(
            json!({"transition": "STEP", "state": "PROGRESSING", "event_time": T0 + 5_000,
            "weights": weights(&[("1", 50, "STABLE"), ("2", 50, "CANARY")]),
            "verdict": "SUCCESSFUL", "stable_log_loss": 0.61, "candidate_log_loss": 0.55,
            "stable_calibration_error": 0.04, "candidate_calibration_error": 0.03,
            "reason": "step 1 passed"}),
        )
        .await,
        rollout(
            json!({"transition": "ROLLED_BACK", "state": "ROLLED_BACK", "event_time": T0 + 7_000,
            "weights": weights(&[("1", 100, "STABLE")]),
            "verdict": "FAILED", "stable_log_loss": 0.60, "candidate_log_loss": 0.90,
            "stable_calibration_error": 0.05,
            "reason": "candidate log loss above stable <script>alert(1)</script>"}),
        )
        .await,
    ];
    let alert = Alert {
        monitor: "listening-outcomes".into(),
        band: "DRIFT".into(),
        previous_band: "OK".into(),
        reason: "ENTERED".into(),
        drift_share: 0.5,
        drifted: vec!["listened_ms".into()],
        detected_time: T0 + 5_600,
    };
    let run = Run {
        model_name: "listening-skip".into(),
        status: "SUCCEEDED".into(),
        trigger: "ALERTS".into(),
        model_version: Some("2".into()),
        reason: String::new(),
        event_time: T0 + 900,
    };
    Events {
        rollouts,
        alerts: vec![alert],
        runs: vec![run],
    }
}

/// The JSON the page embeds, parsed back.
fn embedded_series(html: &str) -> serde_json::Value {
    let start_tag = "<script type=\"application/json\" id=\"series\">";
    let start = html.find(start_tag).expect("the page embeds its series") + start_tag.len();
    let end = start
        + html[start..]
            .find("</script>")
            .expect("the block is closed");
    serde_json::from_str(&html[start..end]).expect("the series are JSON")
}

#[tokio::test]
async fn embeds_the_plotted_numbers_and_draws_them() {
    let samples = parse_samples(SAMPLES);
    assert_eq!(samples.len(), 6, "the cut-off last line is left out");

    let html = build("demo <b>run</b>", T0, &samples, fixture_events().await).expect("builds");
    let series = embedded_series(&html);

    // One point per check: the check at T0 - 500 is seen at T0 and T0 + 2000 and counts once;
    // `platform` never had a value, so it has no chart.
    assert_eq!(
        series["drift"],
        json!({"listening-outcomes": {
            "t": [T0, T0 + 6_000],
            "drift_share": [0.0, 0.5],
            "share_threshold": [0.3, 0.3],
            "columns": {"listened_ms": {
                "method": "wasserstein",
                "t": [T0, T0 + 6_000],
                "value": [0.05, 0.25],
                "warning_threshold": [0.1, 0.1],
                "drift_threshold": [0.2, 0.2],
            }},
        }})
    );
    // All on version 1 just before the start; version 2 has no route after the rollback: 0
    // percent.
    assert_eq!(
        series["weights"],
        json!({"listening-skip": {
            "t": [T0 + 999, T0 + 1_000, T0 + 5_000, T0 + 7_000],
            "versions": {"1": [100, 90, 50, 100], "2": [0, 10, 50, 0]},
        }})
    );
    assert_eq!(
        series["outcomes"],
        json!({"listening-skip": {
            "t": [T0 + 5_000, T0 + 7_000],
            "candidate": ["2", "2"],
            "transition": ["STEP", "ROLLED_BACK"],
            "verdict": ["SUCCESSFUL", "FAILED"],
            "stable_log_loss": [0.61, 0.60],
            "candidate_log_loss": [0.55, 0.90],
            "stable_calibration_error": [0.04, 0.05],
            "candidate_calibration_error": [0.03, null],
        }})
    );
    // 100 -> 300 applied in 2 s; 300 -> 700 in 4 s (across the missing sample); then none.
    // Freshness: (15 - 5) / 200, (55 - 15) / 400, and no events in the last interval.
    assert_eq!(
        series["throughput"],
        json!({
            "t": [T0 + 2_000, T0 + 6_000, T0 + 8_000],
            "events_per_second": [100.0, 100.0, 0.0],
            "freshness_seconds": [0.05, 0.1, null],
        })
    );

    // Drift share and one column, weights, log loss and calibration, rate and freshness.
    assert_eq!(html.matches("<svg").count(), 7);
    assert!(
        html.matches("<polyline").count() >= 7,
        "every chart draws lines"
    );
    assert!(html.contains("verdict at each step"));
    if let Ok(path) = std::env::var("LUCID_REPORT_SAMPLE") {
        std::fs::write(path, &html).expect("writes the sample page");
    }
    for verdict in ["SUCCESSFUL", "FAILED"] {
        assert!(
            html.contains(&format!(">\n{verdict}\n</text>")),
            "{verdict} labelled"
        );
    }
}

#[tokio::test]
async fn escapes_text_from_the_records() {
    let html = build("demo <b>run</b>", T0, &[], fixture_events().await).expect("builds");

    assert!(html.contains("<title>demo &lt;b&gt;run&lt;/b&gt;</title>"));
    assert!(html.contains("above stable &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script>alert"));
    assert_eq!(html.matches("<script").count(), 1, "only the series block");
}

#[tokio::test]
async fn lists_the_timeline_in_time_order() {
    let html = build("t", T0, &[], fixture_events().await).expect("builds");
    let table = &html[html.find("<table>").expect("a timeline table")..];

    let order = [
        "SUCCEEDED (version 2)",
        "STARTED → PROGRESSING",
        "STEP → PROGRESSING",
        "OK → DRIFT (ENTERED)",
        "ROLLED_BACK → ROLLED_BACK",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|text| {
            table
                .find(text)
                .unwrap_or_else(|| panic!("{text} in the table"))
        })
        .collect();
    assert!(positions.is_sorted(), "{positions:?}");
    assert!(table.contains("<td>1: 50%, 2: 50%</td>"));
    assert_eq!(table.matches("<tr>").count(), 6, "a header and five rows");
}

#[test]
fn empty_inputs_give_notes_instead_of_charts() {
    let html = build("t", T0, &[], Events::default()).expect("builds");

    assert!(!html.contains("<svg"));
    assert_eq!(html.matches("<p class=\"note\">").count(), 5);
    assert_eq!(
        embedded_series(&html),
        json!({"drift": {}, "weights": {}, "outcomes": {}, "throughput":
            {"t": [], "events_per_second": [], "freshness_seconds": []}})
    );
}

#[test]
fn rate_and_mean_freshness_from_two_prometheus_scrapes() {
    let first = "\
lucid_feature_store_events_applied_total{partition=\"0\"} 600
lucid_feature_store_events_applied_total{partition=\"1\"} 400
lucid_feature_store_freshness_seconds_sum 12.5
lucid_feature_store_freshness_seconds_count 1000
";
    let second = "\
lucid_feature_store_events_applied_total{partition=\"0\"} 1000
lucid_feature_store_events_applied_total{partition=\"1\"} 600
lucid_feature_store_freshness_seconds_sum 24.5
lucid_feature_store_freshness_seconds_count 1600
";
    let samples = [(T0, first), (T0 + 5_000, second)].map(|(time_ms, text)| Sample {
        time_ms,
        monitors: None,
        feature_store: Some(feature_store_sample(text)),
    });

    // 1600 - 1000 events in 5 s; (24.5 - 12.5) s over 600 events.
    let throughput = super::series::build(&samples, &[], T0).throughput;
    assert_eq!(throughput.t, [T0 + 5_000]);
    assert_eq!(throughput.events_per_second, [120.0]);
    assert_eq!(throughput.freshness_seconds, [Some(0.02)]);
}
