//! The errors of loading and running a model.

use std::path::PathBuf;

/// What went wrong loading a model or scoring with it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model file could not be read.
    #[error("failed to read model {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not an ONNX model tract can load and plan. tract's error chain is kept as
    /// text: its outer message names only the step, the cause is in the chain.
    #[error("failed to load onnx model: {0}")]
    Load(String),
    /// The model's metadata lacks a key or holds a value that does not fit the graph.
    #[error("model metadata {key}: {problem}")]
    Metadata {
        /// The metadata key.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A row has the wrong number of values.
    #[error("row {row} has {got} values, the model takes {expected}")]
    RowWidth {
        /// The row's index in the batch.
        row: usize,
        /// Values in the row.
        got: usize,
        /// Features of the model.
        expected: usize,
    },
    /// A value is infinite; a missing value must be NaN.
    #[error("row {row} feature {feature} is infinite (a missing value is NaN)")]
    Infinite {
        /// The row's index in the batch.
        row: usize,
        /// The feature's name.
        feature: String,
    },
    /// tract failed while running the model (its error chain as text).
    #[error("failed to run the model: {0}")]
    Run(String),
}

impl ModelError {
    /// Whether trying again may succeed: only reading the file can fail for a passing
    /// reason (a file being written, a flaky mount); a model or a row that is wrong stays so.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ModelError::Read { .. })
    }
}
