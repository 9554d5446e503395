//! [`OnnxClassifier`]: an ONNX binary classifier planned once by tract and run per batch.

use std::path::Path;
use std::sync::Arc;

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::DimLike;

use crate::error::ModelError;
use crate::metadata::ModelMetadata;

/// The symbol of the batch dimension: any number of rows per call.
const ROWS: &str = "rows";

/// A loaded model: scores rows of f32 features, one positive-class probability per row.
///
/// Planned once at load; [`OnnxClassifier::score_rows`] takes `&self`, so one instance serves
/// concurrent requests (it is `Send + Sync`; each call runs in its own tract state).
#[derive(Debug, Clone)]
pub struct OnnxClassifier {
    plan: Arc<TypedRunnableModel>,
    metadata: ModelMetadata,
}

impl OnnxClassifier {
    /// Loads and plans the ONNX model at `path`.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Loads and plans an ONNX model held in memory (for example fetched from the registry).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let proto = tract_onnx::onnx()
            .proto_model_for_read(&mut &bytes[..])
            .map_err(load_error)?;
        Self::from_proto(&proto)
    }

    /// Plans a parsed ONNX model; its metadata must hold the contract of [`ModelMetadata`].
    pub fn from_proto(proto: &ModelProto) -> Result<Self, ModelError> {
        let entries = proto.metadata_props.iter();
        let metadata = ModelMetadata::from_props(entries.map(|p| (&*p.key, &*p.value)))?;
        let mut model = tract_onnx::onnx()
            .model_for_proto_model(proto)
            .map_err(load_error)?;

        let inputs = model.input_outlets().map_err(load_error)?;
        let input_names: Vec<&str> = inputs.iter().map(|o| &*model.node(o.node).name).collect();
        if input_names != [metadata.input.as_str()] {
            return Err(mismatch(
                crate::metadata::INPUT_KEY,
                format!(
                    "names {:?}, the graph's inputs are {input_names:?}",
                    metadata.input
                ),
            ));
        }
        let rows = model.symbols.sym(ROWS);
        let width = metadata.features.len();
        model
            .set_input_fact(0, f32::fact(&[TDim::from(rows), TDim::from(width)]).into())
            .map_err(load_error)?;
        model
            .select_outputs_by_name([&metadata.output])
            .map_err(|e| mismatch(crate::metadata::OUTPUT_KEY, format!("{e:#}")))?;

        let typed = model.into_optimized().map_err(load_error)?;
        let classes = typed
            .output_fact(0)
            .map_err(load_error)?
            .shape
            .dims()
            .get(1)
            .and_then(|d| d.to_usize().ok());
        if classes.is_none_or(|c| metadata.positive_column >= c) {
            return Err(mismatch(
                crate::metadata::POSITIVE_COLUMN_KEY,
                format!(
                    "column {} is outside the output's {classes:?} columns",
                    metadata.positive_column
                ),
            ));
        }
        let plan = typed.into_runnable().map_err(load_error)?;
        Ok(OnnxClassifier { plan, metadata })
    }

    /// The model's contract: feature order, tensors, and every metadata entry.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// The feature names in the order a row holds their values.
    pub fn features(&self) -> &[String] {
        &self.metadata.features
    }

    /// A row in the model's feature order: `value(feature)` for each, NaN where it is `None`
    /// (not present in the feature store), which the model imputes as in training.
    pub fn row(&self, mut value: impl FnMut(&str) -> Option<f32>) -> Vec<f32> {
        let features = self.features().iter();
        features.map(|f| value(f).unwrap_or(f32::NAN)).collect()
    }

    /// The positive-class probability of each row, in order. Every row holds one value per
    /// feature, in [`OnnxClassifier::features`] order; NaN means missing, infinity is refused.
    pub fn score_rows<R: AsRef<[f32]>>(&self, rows: &[R]) -> Result<Vec<f32>, ModelError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let width = self.features().len();
        let mut values = Vec::with_capacity(rows.len() * width);
        for (index, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != width {
                return Err(ModelError::RowWidth {
                    row: index,
                    got: row.len(),
                    expected: width,
                });
            }
            if let Some(column) = row.iter().position(|v| v.is_infinite()) {
                return Err(ModelError::Infinite {
                    row: index,
                    feature: self.features()[column].clone(),
                });
            }
            values.extend_from_slice(row);
        }
        self.run(rows.len(), values)
    }

    fn run(&self, rows: usize, values: Vec<f32>) -> Result<Vec<f32>, ModelError> {
        let width = self.features().len();
        let input = Tensor::from_shape(&[rows, width], &values).map_err(run_error)?;
        let outputs = self.plan.run(tvec!(input.into())).map_err(run_error)?;
        let probabilities = outputs
            .first()
            .ok_or_else(|| ModelError::Run("the model returned no output".into()))?
            .to_plain_array_view::<f32>()
            .map_err(run_error)?;
        let column = self.metadata.positive_column;
        (0..rows)
            .map(|row| {
                probabilities.get([row, column]).copied().ok_or_else(|| {
                    ModelError::Run(format!("the output has no value at [{row}, {column}]"))
                })
            })
            .collect()
    }
}

fn load_error(error: TractError) -> ModelError {
    ModelError::Load(format!("{error:#}"))
}

fn run_error(error: TractError) -> ModelError {
    ModelError::Run(format!("{error:#}"))
}

fn mismatch(key: &str, problem: String) -> ModelError {
    ModelError::Metadata {
        key: key.to_owned(),
        problem,
    }
}
