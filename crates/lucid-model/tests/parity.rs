//! The Rust scorer against scikit-learn, on the fixture the pipeline exported:
//! `fixtures/skip-model/` holds `model.onnx` (trained by `scripts/train-local --fixture` on
//! simulated listening) and `parity.json`, held-out rows with scikit-learn's probabilities
//! computed in the pipeline's export step.

use std::path::PathBuf;

use lucid_model::{ModelError, OnnxClassifier};
use serde::Deserialize;
use tract_onnx::prelude::Framework as _;

/// The largest difference allowed between tract's probability and scikit-learn's.
const TOLERANCE: f64 = 1e-5;

#[derive(Debug, Deserialize)]
struct Parity {
    features: Vec<String>,
    /// Values as exported (f32 held exactly in JSON numbers); null is a missing value.
    rows: Vec<Vec<Option<f64>>>,
    /// scikit-learn's positive-class probabilities, computed in f64.
    scores: Vec<f64>,
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/skip-model")
        .join(name)
}

fn model() -> OnnxClassifier {
    OnnxClassifier::load(&fixture("model.onnx")).expect("the fixture model loads")
}

fn parity() -> (Parity, Vec<Vec<f32>>) {
    let text = std::fs::read_to_string(fixture("parity.json")).expect("parity.json is there");
    let parity: Parity = serde_json::from_str(&text).expect("parity.json parses");
    let rows = parity
        .rows
        .iter()
        .map(|r| r.iter().map(|v| v.map_or(f32::NAN, |v| v as f32)).collect())
        .collect();
    (parity, rows)
}

#[test]
fn scores_every_fixture_row_as_scikit_learn_does() {
    let (parity, rows) = parity();
    assert!(rows.len() >= 10, "the fixture holds {} rows", rows.len());
    assert!(
        rows.iter().any(|r| r.iter().any(|v| v.is_nan())),
        "the fixture must exercise imputation: some row needs a missing value"
    );

    let scores = model().score_rows(&rows).expect("the rows score");
    assert_eq!(scores.len(), parity.scores.len());
    let mut worst = 0.0_f64;
    for (i, (got, want)) in scores.iter().zip(&parity.scores).enumerate() {
        let diff = (f64::from(*got) - want).abs();
        assert!(
            diff <= TOLERANCE,
            "row {i}: tract {got}, scikit-learn {want}, difference {diff:e}"
        );
        worst = worst.max(diff);
    }
    eprintln!("{} rows, largest difference {worst:e}", scores.len());
}

#[test]
fn scores_a_row_alone_as_in_a_batch() {
    let (_, rows) = parity();
    let model = model();
    let batch = model.score_rows(&rows).expect("the batch scores");
    for (i, row) in rows.iter().enumerate() {
        let alone = model.score_rows(&[row]).expect("one row scores");
        assert!(
            (alone[0] - batch[i]).abs() <= 1e-6,
            "row {i}: {} vs {}",
            alone[0],
            batch[i]
        );
    }
    assert_eq!(
        model.score_rows::<Vec<f32>>(&[]).expect("no rows"),
        Vec::<f32>::new()
    );
}

#[test]
fn takes_the_feature_order_from_the_model_file() {
    let (parity, _) = parity();
    let model = model();
    assert_eq!(model.features(), parity.features.as_slice());
    assert_eq!(model.features()[0], "session_activity:plays");
    assert_eq!(model.metadata().model_name.as_deref(), Some("skip-model"));

    // A row built by name lands each value in its column and leaves the rest missing.
    let row = model.row(|f| (f == "session_activity:skips").then_some(2.0));
    let column = model
        .features()
        .iter()
        .position(|f| f == "session_activity:skips");
    for (i, value) in row.iter().enumerate() {
        if Some(i) == column {
            assert_eq!(*value, 2.0);
        } else {
            assert!(value.is_nan(), "column {i} should be missing");
        }
    }
    let all_missing = model.row(|_| None);
    let score = model
        .score_rows(&[all_missing])
        .expect("imputed row scores")[0];
    assert!((0.0..=1.0).contains(&score), "{score}");
}

#[test]
fn refuses_rows_of_the_wrong_width_or_with_infinities() {
    let model = model();
    let width = model.features().len();
    let short = vec![0.0_f32; width - 1];
    match model.score_rows(&[vec![0.0; width], short]) {
        Err(ModelError::RowWidth {
            row: 1,
            got,
            expected,
        }) => {
            assert_eq!((got, expected), (width - 1, width));
        }
        other => panic!("expected a width error, got {other:?}"),
    }
    let mut infinite = vec![0.0_f32; width];
    infinite[2] = f32::INFINITY;
    match model.score_rows(&[infinite]) {
        Err(ModelError::Infinite { row: 0, feature }) => assert_eq!(feature, model.features()[2]),
        other => panic!("expected an infinity error, got {other:?}"),
    }
}

#[test]
fn refuses_a_model_file_without_the_feature_list() {
    let bytes = std::fs::read(fixture("model.onnx")).expect("model.onnx is there");
    let mut proto = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .expect("the fixture parses");
    proto.metadata_props.retain(|p| p.key != "lucid.features");
    match OnnxClassifier::from_proto(&proto) {
        Err(ModelError::Metadata { key, .. }) => assert_eq!(key, "lucid.features"),
        other => panic!("expected a metadata error, got {other:?}"),
    }
    let missing = OnnxClassifier::load(&fixture("no-such-model.onnx")).expect_err("no file");
    assert!(missing.is_retryable(), "{missing}");
}

#[test]
fn one_model_serves_many_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<OnnxClassifier>();
}
