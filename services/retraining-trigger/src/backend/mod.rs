//! Where runs execute, behind one trait: `local` (a subprocess), `kubeflow` (Kubeflow
//! Pipelines v2 REST) and `ray` (Ray Jobs REST). Every backend is idempotent on the run's
//! dedupe key or id: starting a run it already holds returns the existing one, so the
//! supervisor may start again after a restart without a second run.

pub mod kubeflow;
pub mod local;
pub mod ray;

use std::collections::BTreeMap;

use crate::config::PipelineCommand;

/// What a backend needs to start a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The trigger's run id.
    pub run_id: String,
    /// The dedupe key: the run's name on every backend.
    pub dedupe_key: String,
    /// The model to retrain.
    pub model_name: String,
    /// The alerts behind the run.
    pub alert_ids: Vec<String>,
}

/// Where a started run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Still going.
    Running,
    /// Finished and registered a version.
    Succeeded(Outcome),
    /// Finished without a version; the reason.
    Failed(String),
}

/// What a succeeded run reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The registered model version, when the backend reports it.
    pub model_version: Option<String>,
    /// Evaluation metrics; `None` for one the run could not compute.
    pub metrics: BTreeMap<String, Option<f64>>,
}

/// A backend call failed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The backend did not answer or answered with a server error; the next poll retries.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// The backend refused the request; retrying the same request does not help.
    #[error("backend refused the request: {0}")]
    Refused(String),
}

impl BackendError {
    /// True when the same call may succeed later.
    pub fn retryable(&self) -> bool {
        matches!(self, BackendError::Unavailable(_))
    }
}

/// A place that runs the pipeline.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// Starts `job`, or finds the run it already started; returns the backend's id of it.
    async fn start(&self, job: &Job) -> Result<String, BackendError>;
    /// Where the run with `external_id` stands.
    async fn poll(&self, job: &Job, external_id: &str) -> Result<Progress, BackendError>;
    /// Stops the run (on timeout).
    async fn stop(&self, job: &Job, external_id: &str) -> Result<(), BackendError>;
}

/// The pipeline's arguments for `job`, after the configured command.
pub fn pipeline_args(pipeline: &PipelineCommand, job: &Job) -> Vec<String> {
    let mut args = pipeline.command.clone();
    args.extend([
        "--offline-dir".into(),
        pipeline.offline_dir.display().to_string(),
        "--mlflow-url".into(),
        pipeline.mlflow_url.clone(),
        "--alert-ids".into(),
        job.alert_ids.join(","),
        "--run-name".into(),
        job.dedupe_key.clone(),
        "--model-name".into(),
        job.model_name.clone(),
    ]);
    args.extend(pipeline.extra_args.iter().cloned());
    args
}

/// Reads the pipeline's result, the last line of `output` that is a JSON object with a
/// `version` (`pipelines/skip_model/README.md`).
pub fn parse_result(output: &str) -> Option<Outcome> {
    output.lines().rev().find_map(|line| {
        let value: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
        let version = match value.get("version")? {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let metrics = value
            .get("metrics")
            .and_then(|m| m.as_object())
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| v.is_number() || v.is_null())
                    .map(|(k, v)| (k.clone(), v.as_f64()))
                    .collect()
            })
            .unwrap_or_default();
        Some(Outcome {
            model_version: Some(version),
            metrics,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_is_the_last_json_line_with_a_version() {
        let output = "step 1 done\n{\"note\":1}\n\
            {\"model_name\":\"skip-model\",\"version\":\"3\",\"metrics\":{\"auc\":0.71,\"ece\":null,\"table\":[1]}}\n\
            bye\n";
        let outcome = parse_result(output).expect("a result");
        assert_eq!(outcome.model_version.as_deref(), Some("3"));
        let expected: BTreeMap<String, Option<f64>> =
            [("auc".to_string(), Some(0.71)), ("ece".to_string(), None)].into();
        assert_eq!(outcome.metrics, expected);
        assert_eq!(parse_result("no json here\n{\"x\":1}"), None);
    }
}
