//! Parity with Evidently 0.7: every case of `fixtures/evidently.json` (written by
//! `scripts/gen-drift-fixtures` from Evidently's own drift computation) checked with this crate.
//!
//! Scores, statistics and p-values agree within 1e-6 (relative above 1), the method `auto` picks
//! is Evidently's, and so is the drift decision. Where the crate deliberately differs, the
//! fixture's `expected` holds this crate's value and says why (see docs/drift.md).

use std::collections::BTreeMap;

use lucid_drift::{
    Band, CheckOptions, ColumnKind, ColumnResult, Method, Reference, SlidingWindow, Value, Verdict,
    Window, check, dataset_verdict,
};
use serde::Deserialize;

const TOLERANCE: f64 = 1e-6;

#[derive(Deserialize)]
struct Fixture {
    evidently: String,
    columns: Vec<ColumnCase>,
    datasets: Vec<DatasetCase>,
}

#[derive(Deserialize)]
struct ColumnCase {
    name: String,
    kind: String,
    reference: Vec<Input>,
    current: Vec<Input>,
    results: Vec<Outcome>,
}

#[derive(Deserialize)]
struct Outcome {
    method: String,
    resolved: String,
    threshold: f64,
    expected: Expected,
}

#[derive(Deserialize)]
struct Expected {
    statistic: Option<Input>,
    p_value: Option<Input>,
    drift: bool,
    why: Option<String>,
}

#[derive(Deserialize)]
struct DatasetCase {
    name: String,
    drift_share: f64,
    drifted_columns: usize,
    share: f64,
    dataset_drift: bool,
    columns: Vec<DatasetColumn>,
}

#[derive(Deserialize)]
struct DatasetColumn {
    name: String,
    kind: String,
    reference: Vec<Input>,
    current: Vec<Input>,
    resolved: String,
    score: Input,
    drift: bool,
}

/// A value as the generator writes it: non-finite numbers are the strings `nan`, `inf`, `-inf`.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Input {
    Number(f64),
    Text(String),
    Missing,
}

impl Input {
    fn number(&self) -> f64 {
        match self {
            Input::Number(value) => *value,
            Input::Text(text) => match text.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                other => panic!("not a number in the fixture: {other:?}"),
            },
            Input::Missing => f64::NAN,
        }
    }

    fn value(&self, kind: ColumnKind) -> Value<'_> {
        match (self, kind) {
            (Input::Missing, _) => Value::Missing,
            (Input::Text(text), ColumnKind::Categorical) => Value::Category(text),
            (_, _) => Value::Number(self.number()),
        }
    }
}

fn load() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/evidently.json");
    let text = std::fs::read_to_string(path).expect("fixture is committed beside the crate");
    serde_json::from_str(&text).expect("fixture parses")
}

fn kind_of(name: &str) -> ColumnKind {
    match name {
        "numeric" => ColumnKind::Numeric,
        "categorical" => ColumnKind::Categorical,
        other => panic!("unknown kind {other}"),
    }
}

fn window(kind: ColumnKind, values: &[Input]) -> Window {
    let mut window = Window::new(kind);
    for value in values {
        window.push(value.value(kind)).expect("fixture kinds match");
    }
    window
}

/// Evidently has no minimum sizes; parity checks use none either.
fn parity_options(method: Method) -> CheckOptions {
    CheckOptions {
        min_reference: 1,
        min_current: 1,
        ..CheckOptions::with_method(method)
    }
}

fn close(ours: f64, theirs: f64) -> bool {
    deviation(ours, theirs) <= TOLERANCE
}

/// Absolute difference, relative above 1; infinite unless infinities agree.
fn deviation(ours: f64, theirs: f64) -> f64 {
    if ours.is_infinite() || theirs.is_infinite() {
        return if ours == theirs { 0.0 } else { f64::INFINITY };
    }
    (ours - theirs).abs() / theirs.abs().max(1.0)
}

/// Compares one result with the fixture; returns the mismatches and the largest deviation.
fn compare(case: &str, outcome: &Outcome, result: &ColumnResult) -> (Vec<String>, f64) {
    let mut problems = Vec::new();
    let label = format!("{case} / {}", outcome.method);
    let expected = &outcome.expected;
    if result.measure.name() != outcome.resolved {
        problems.push(format!(
            "{label}: measure {} vs {}",
            result.measure, outcome.resolved
        ));
    }
    if result.thresholds.drift != outcome.threshold {
        problems.push(format!("{label}: threshold {:?}", result.thresholds));
    }
    let pairs = [
        ("statistic", result.statistic, &expected.statistic),
        ("p-value", result.p_value, &expected.p_value),
    ];
    let mut largest = 0.0_f64;
    for (what, ours, theirs) in pairs {
        if let (Some(ours), Some(theirs)) = (ours, theirs) {
            largest = largest.max(deviation(ours, theirs.number()));
        }
        match (ours, theirs) {
            (Some(ours), Some(theirs)) if close(ours, theirs.number()) => {}
            (None, None) => {}
            (ours, theirs) => problems.push(format!(
                "{label}: {what} {ours:?} vs {:?}",
                theirs.as_ref().map(Input::number)
            )),
        }
    }
    if result.drifted() != expected.drift {
        problems.push(format!(
            "{label}: band {:?}, drift expected {}",
            result.band, expected.drift
        ));
    }
    (problems, largest)
}

#[test]
fn every_column_case_matches_evidently() {
    let fixture = load();
    assert_eq!(
        fixture.evidently, "0.7.23",
        "fixture from the pinned Evidently"
    );
    let (mut checked, mut deliberate, mut problems) = (0, Vec::new(), Vec::new());
    let mut largest = 0.0_f64;
    for case in &fixture.columns {
        let kind = kind_of(&case.kind);
        let reference = Reference::new(window(kind, &case.reference));
        let current = window(kind, &case.current);
        for outcome in &case.results {
            let method: Method = outcome.method.parse().expect("known method");
            let result = check(&reference, &current, &parity_options(method)).expect("check");
            let (mismatches, deviation) = compare(&case.name, outcome, &result);
            problems.extend(mismatches);
            largest = largest.max(deviation);
            checked += 1;
            if let Some(why) = &outcome.expected.why {
                deliberate.push(format!("{} / {}: {why}", case.name, outcome.method));
            }
        }
    }
    println!("{checked} results compared, largest deviation {largest:e}");
    println!("deliberate differences: {deliberate:#?}");
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(
        deliberate.len(),
        1,
        "only the single-category chi-square differs"
    );
}

#[test]
fn streamed_partitions_and_sliding_windows_match_evidently_too() {
    let fixture = load();
    let mut problems = Vec::new();
    for case in &fixture.columns {
        let kind = kind_of(&case.kind);
        let reference = Reference::new(window(kind, &case.reference));
        // Three partitions, round robin, merged; and a sliding window wide enough for all rows.
        let mut partitions = [Window::new(kind), Window::new(kind), Window::new(kind)];
        let rows = case.current.len() as u64;
        let mut sliding = SlidingWindow::new(kind, rows, 4).expect("valid window");
        for (i, value) in case.current.iter().enumerate() {
            partitions[i % 3]
                .push(value.value(kind))
                .expect("fixture kinds match");
            sliding
                .push(value.value(kind))
                .expect("fixture kinds match");
        }
        let mut merged = Window::new(kind);
        for partition in &partitions {
            merged.merge(partition).expect("same kind");
        }
        for current in [merged, sliding.window()] {
            for outcome in &case.results {
                let method: Method = outcome.method.parse().expect("known method");
                let result = check(&reference, &current, &parity_options(method)).expect("check");
                problems.extend(compare(&case.name, outcome, &result).0);
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn datasets_reach_evidentlys_verdict() {
    for case in load().datasets {
        let mut results = Vec::new();
        for column in &case.columns {
            let kind = kind_of(&column.kind);
            let reference = Reference::new(window(kind, &column.reference));
            let current = window(kind, &column.current);
            let result = check(&reference, &current, &parity_options(Method::Auto)).expect("check");
            let label = format!("{} / {}", case.name, column.name);
            assert_eq!(result.measure.name(), column.resolved, "{label}");
            let score = result.score.expect("enough data");
            assert!(close(score, column.score.number()), "{label}: {score}");
            assert_eq!(result.drifted(), column.drift, "{label}");
            results.push(result);
        }
        let verdict = dataset_verdict(&results, case.drift_share);
        assert_eq!(verdict.drifted, case.drifted_columns, "{}", case.name);
        assert!(close(verdict.share, case.share), "{}", case.name);
        let expected = if case.dataset_drift {
            Verdict::Drift
        } else {
            Verdict::NoDrift
        };
        assert_eq!(verdict.verdict, expected, "{}", case.name);
    }
}

#[test]
fn small_windows_are_insufficient_under_the_default_minimum() {
    for case in load()
        .columns
        .iter()
        .filter(|case| case.current.len() < 100)
    {
        let kind = kind_of(&case.kind);
        let reference = Reference::new(window(kind, &case.reference));
        let result = check(
            &reference,
            &window(kind, &case.current),
            &CheckOptions::default(),
        )
        .expect("check");
        assert_eq!(result.band, Band::InsufficientData, "{}", case.name);
        assert_eq!(result.score, None, "{}", case.name);
    }
}

#[test]
fn non_finite_and_missing_values_are_reported() {
    let fixture = load();
    let mut seen = BTreeMap::new();
    for case in &fixture.columns {
        let kind = kind_of(&case.kind);
        let current = window(kind, &case.current);
        let non_finite = case
            .current
            .iter()
            .filter(|value| match kind {
                ColumnKind::Numeric => !value.number().is_finite(),
                ColumnKind::Categorical => matches!(value, Input::Missing),
            })
            .count() as u64;
        assert_eq!(current.dropped().total(), non_finite, "{}", case.name);
        assert_eq!(
            current.len() + non_finite,
            case.current.len() as u64,
            "{}",
            case.name
        );
        seen.insert(case.name.as_str(), current.dropped());
    }
    let numeric = seen["numeric_non_finite"];
    assert_eq!((numeric.nan, numeric.pos_inf, numeric.neg_inf), (30, 3, 0));
    assert!(seen["categorical_missing"].missing > 0);
}
