//! The `RolloutEvent` record (`schemas/rollout-event.avsc`) of one transition.

use apache_avro::types::Value;

use crate::analysis::{SideSummary, Verdict};
use crate::rollout::{Rollout, Strategy, Transition, weight_of};

fn opt_double(v: Option<f64>) -> Value {
    match v {
        Some(v) => Value::Union(1, Box::new(Value::Double(v))),
        None => Value::Union(0, Box::new(Value::Null)),
    }
}

fn opt_string(v: Option<&str>) -> Value {
    match v {
        Some(v) => Value::Union(1, Box::new(Value::String(v.to_owned()))),
        None => Value::Union(0, Box::new(Value::Null)),
    }
}

fn symbol(symbols: &[&str], name: &str) -> Value {
    let index = symbols
        .iter()
        .position(|s| *s == name)
        .expect("every symbol written is in the schema");
    Value::Enum(index as u32, name.to_owned())
}

const STRATEGIES: &[&str] = &["CANARY", "BLUE_GREEN"];
const TRANSITIONS: &[&str] = &[
    "STARTED",
    "STEP",
    "SWITCHED",
    "PAUSED",
    "RESUMED",
    "PROMOTED",
    "ROLLED_BACK",
    "ABORTED",
];
const STATES: &[&str] = &[
    "PROGRESSING",
    "PAUSED",
    "PROMOTED",
    "ROLLED_BACK",
    "ABORTED",
];
const VERDICTS: &[&str] = &["SUCCESSFUL", "FAILED", "INCONCLUSIVE"];

/// The record of `transition`, which `rollout` just made.
pub fn record(rollout: &Rollout, transition: &Transition, now_ms: i64) -> Value {
    let empty = SideSummary::default();
    let analysis = transition.analysis.as_ref();
    let stable = analysis.map_or(&empty, |a| &a.stable);
    let candidate = analysis.map_or(&empty, |a| &a.candidate);
    let verdict = match transition.verdict {
        Some(v) => Value::Union(1, Box::new(symbol(VERDICTS, v.as_str()))),
        None => Value::Union(0, Box::new(Value::Null)),
    };
    let weights = transition
        .traffic
        .routes
        .iter()
        .map(|r| {
            Value::Record(vec![
                ("version".into(), Value::String(r.version.clone())),
                ("weight".into(), Value::Int(r.weight as i32)),
                ("route".into(), Value::String(r.route.as_str().into())),
            ])
        })
        .collect();
    let strategy = match rollout.strategy {
        Strategy::Canary => "CANARY",
        Strategy::BlueGreen => "BLUE_GREEN",
    };
    Value::Record(vec![
        ("rollout_id".into(), Value::String(rollout.id.clone())),
        ("model_name".into(), Value::String(rollout.model.clone())),
        (
            "from_version".into(),
            opt_string(rollout.from_version.as_deref()),
        ),
        (
            "to_version".into(),
            Value::String(rollout.to_version.clone()),
        ),
        ("strategy".into(), symbol(STRATEGIES, strategy)),
        (
            "transition".into(),
            symbol(TRANSITIONS, transition.kind.as_str()),
        ),
        ("step_index".into(), Value::Int(rollout.step as i32)),
        ("step_count".into(), Value::Int(rollout.step_count() as i32)),
        (
            "candidate_weight".into(),
            Value::Int(weight_of(&transition.traffic, &rollout.to_version) as i32),
        ),
        ("weights".into(), Value::Array(weights)),
        (
            "shadow_version".into(),
            opt_string(
                transition
                    .traffic
                    .shadow
                    .as_ref()
                    .map(|s| s.version.as_str()),
            ),
        ),
        ("state".into(), symbol(STATES, rollout.state.as_str())),
        ("verdict".into(), verdict),
        (
            "stable_outcomes".into(),
            Value::Long(stable.outcomes as i64),
        ),
        (
            "candidate_outcomes".into(),
            Value::Long(candidate.outcomes as i64),
        ),
        ("stable_log_loss".into(), opt_double(stable.log_loss)),
        ("candidate_log_loss".into(), opt_double(candidate.log_loss)),
        (
            "stable_calibration_error".into(),
            opt_double(stable.calibration_error),
        ),
        (
            "candidate_calibration_error".into(),
            opt_double(candidate.calibration_error),
        ),
        ("stable_error_rate".into(), opt_double(stable.error_rate)),
        (
            "candidate_error_rate".into(),
            opt_double(candidate.error_rate),
        ),
        (
            "stable_p99_latency_ms".into(),
            opt_double(stable.p99_latency_ms),
        ),
        (
            "candidate_p99_latency_ms".into(),
            opt_double(candidate.p99_latency_ms),
        ),
        ("reason".into(), Value::String(transition.reason.clone())),
        ("event_time".into(), Value::TimestampMillis(now_ms)),
    ])
}

/// The verdict's symbol, for decoding tests and logs.
pub fn verdict_name(verdict: Option<Verdict>) -> &'static str {
    verdict.map_or("NONE", Verdict::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Analysis, Thresholds};
    use crate::rollout::{OnInconclusive, Policy, Start};

    #[tokio::test]
    async fn every_transition_encodes_with_the_shipped_schema() {
        let codec = lucid_avro::Codec::single_object(lucid_avro::SchemaSet::shipped());
        let encoder = codec
            .encoder(lucid_avro::ROLLOUT_EVENT, "rollouts-value")
            .await
            .expect("schema shipped");
        let (mut rollout, started) = Rollout::start(Start {
            id: "r".into(),
            model: "m".into(),
            from_version: Some("1".into()),
            previous: None,
            to_version: "2".into(),
            strategy: Strategy::Canary,
            policy: Policy {
                steps: vec![10, 100],
                step_duration_ms: 1,
                step_timeout_ms: 1,
                post_promotion_ms: 1,
                thresholds: Thresholds::default(),
                on_inconclusive: OnInconclusive::Pause,
            },
            now_ms: 0,
        })
        .expect("starts");
        let bytes = encoder
            .encode(record(&rollout, &started, 5))
            .expect("encodes");
        let decoded = codec
            .decode(&bytes, lucid_avro::ROLLOUT_EVENT)
            .await
            .expect("decodes");
        let Value::Record(fields) = decoded.value else {
            panic!("a record")
        };
        let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(get("transition"), Some(Value::Enum(0, "STARTED".into())));
        assert_eq!(get("candidate_weight"), Some(Value::Int(10)));

        let mut paused = rollout.pause(1, "x").expect("pause");
        paused.verdict = Some(Verdict::Inconclusive);
        paused.analysis = Some(Analysis::default());
        let bytes = encoder
            .encode(record(&rollout, &paused, 6))
            .expect("encodes with a verdict");
        assert!(!bytes.is_empty());
    }
}
