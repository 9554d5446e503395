//! Scoring feature rows with a model exported by the reference training pipeline
//! (`pipelines/skip_model`): a scikit-learn pipeline converted to ONNX and run with tract.
//!
//! The ONNX file carries its own contract in its metadata (see [`ModelMetadata`]): the feature
//! names in input column order, the input and output tensors, and which column of the output
//! holds the positive class. A caller builds rows in that order, with NaN for a feature the
//! feature store could not serve (the model imputes it, as in training), and gets one
//! probability per row.
//!
//! ```no_run
//! # fn main() -> Result<(), lucid_model::ModelError> {
//! let model = lucid_model::OnnxClassifier::load("model.onnx".as_ref())?;
//! let row = model.row(|feature| (feature == "session_activity:plays").then_some(3.0));
//! let scores = model.score_rows(&[row])?;
//! # Ok(()) }
//! ```

pub mod classifier;
pub mod error;
pub mod metadata;

pub use classifier::OnnxClassifier;
pub use error::ModelError;
pub use metadata::ModelMetadata;
