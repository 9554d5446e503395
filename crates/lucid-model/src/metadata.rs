//! The contract a model file carries in its ONNX metadata (`metadata_props`), written by the
//! pipeline's export step (`pipelines/skip_model/components/onnx_export.py`).

use std::collections::{BTreeMap, HashSet};

use crate::error::ModelError;

/// The feature names in input column order, as a JSON list of strings.
pub const FEATURES_KEY: &str = "lucid.features";
/// The name of the input tensor, of shape [rows, features] and type f32.
pub const INPUT_KEY: &str = "lucid.input";
/// The name of the output tensor of class probabilities, of shape [rows, classes].
pub const OUTPUT_KEY: &str = "lucid.output";
/// The column of the output that holds the positive class's probability.
pub const POSITIVE_COLUMN_KEY: &str = "lucid.positive_column";
/// The registered model's name (optional).
pub const MODEL_NAME_KEY: &str = "lucid.model_name";

/// What the scorer needs to know about a model beyond its graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMetadata {
    /// The registered model's name, when the file names it.
    pub model_name: Option<String>,
    /// Feature names (`view:feature`) in input column order.
    pub features: Vec<String>,
    /// The input tensor's name.
    pub input: String,
    /// The probabilities output's name.
    pub output: String,
    /// The output column of the positive class.
    pub positive_column: usize,
    /// Every metadata entry, the ones above included (lineage and the like).
    pub props: BTreeMap<String, String>,
}

impl ModelMetadata {
    /// Reads the contract from ONNX metadata entries (key, value).
    pub fn from_props<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ModelError> {
        let props: BTreeMap<String, String> = entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let features = features(required(&props, FEATURES_KEY)?)?;
        let positive = required(&props, POSITIVE_COLUMN_KEY)?;
        let positive_column = positive
            .parse()
            .map_err(|_| problem(POSITIVE_COLUMN_KEY, format!("{positive:?} is not a column")))?;
        Ok(ModelMetadata {
            model_name: props.get(MODEL_NAME_KEY).cloned(),
            input: required(&props, INPUT_KEY)?.to_owned(),
            output: required(&props, OUTPUT_KEY)?.to_owned(),
            features,
            positive_column,
            props,
        })
    }
}

fn required<'p>(props: &'p BTreeMap<String, String>, key: &str) -> Result<&'p str, ModelError> {
    match props.get(key) {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(problem(
            key,
            "missing: export the model with pipelines/skip_model".into(),
        )),
    }
}

fn features(text: &str) -> Result<Vec<String>, ModelError> {
    let features: Vec<String> = serde_json::from_str(text)
        .map_err(|e| problem(FEATURES_KEY, format!("not a JSON list of names: {e}")))?;
    if features.is_empty() {
        return Err(problem(FEATURES_KEY, "the list is empty".into()));
    }
    let mut seen = HashSet::new();
    if let Some(twice) = features.iter().find(|f| !seen.insert(f.as_str())) {
        return Err(problem(FEATURES_KEY, format!("{twice} is listed twice")));
    }
    Ok(features)
}

fn problem(key: &str, problem: String) -> ModelError {
    ModelError::Metadata {
        key: key.to_owned(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(features: &str) -> Vec<(&str, &str)> {
        vec![
            (FEATURES_KEY, features),
            (INPUT_KEY, "features"),
            (OUTPUT_KEY, "probabilities"),
            (POSITIVE_COLUMN_KEY, "1"),
            ("lucid.label", "label_skip"),
        ]
    }

    #[test]
    fn reads_the_feature_order_and_the_tensors() {
        let meta = ModelMetadata::from_props(props(r#"["s:plays","u:skip_rate_24h"]"#))
            .expect("valid metadata");
        assert_eq!(meta.features, ["s:plays", "u:skip_rate_24h"]);
        assert_eq!(
            (meta.input.as_str(), meta.output.as_str()),
            ("features", "probabilities")
        );
        assert_eq!(meta.positive_column, 1);
        assert_eq!(meta.model_name, None);
        assert_eq!(meta.props["lucid.label"], "label_skip");
    }

    #[test]
    fn refuses_a_model_without_a_feature_list() {
        let entries = props("[]").into_iter().filter(|(k, _)| *k != FEATURES_KEY);
        let error = ModelMetadata::from_props(entries).expect_err("no features");
        assert!(matches!(error, ModelError::Metadata { ref key, .. } if key == FEATURES_KEY));
    }

    #[test]
    fn refuses_empty_malformed_or_repeated_features() {
        for bad in ["[]", "s:plays", r#"["a","b","a"]"#, r#"[1, 2]"#] {
            let error = ModelMetadata::from_props(props(bad)).expect_err(bad);
            assert!(!error.is_retryable(), "{bad}: {error}");
        }
    }

    #[test]
    fn refuses_a_positive_column_that_is_not_a_number() {
        let mut entries = props(r#"["a"]"#);
        entries.retain(|(k, _)| *k != POSITIVE_COLUMN_KEY);
        entries.push((POSITIVE_COLUMN_KEY, "yes"));
        let error = ModelMetadata::from_props(entries).expect_err("not a number");
        assert!(error.to_string().contains(POSITIVE_COLUMN_KEY), "{error}");
    }
}
