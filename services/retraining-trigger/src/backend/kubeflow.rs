//! The `kubeflow` backend: Kubeflow Pipelines v2 REST (`/apis/v2beta1`).
//!
//! Start: `GET /apis/v2beta1/runs?filter=...` for a run whose `display_name` equals the dedupe
//! key (in the configured experiment); if there is one, that is the run. Otherwise
//! `POST /apis/v2beta1/runs` with the display name, `pipeline_version_reference` and
//! `runtime_config.parameters`. Poll: `GET /apis/v2beta1/runs/{run_id}` and its `state`
//! (PENDING, RUNNING, SUCCEEDED, SKIPPED, FAILED, CANCELING, CANCELED, PAUSED). Stop:
//! `POST /apis/v2beta1/runs/{run_id}:terminate`.
//!
//! Not yet: the registered model version of a Kubeflow run, because KFP reports output
//! artifacts rather than the pipeline's JSON line; it is in MLflow under the run's
//! `lucid.dedupe_key` tag.

use serde_json::{Value, json};

use super::{Backend, BackendError, Job, Outcome, Progress};
use crate::config::KubeflowConfig;

/// The backend.
pub struct Kubeflow {
    config: KubeflowConfig,
    http: reqwest::Client,
}

impl Kubeflow {
    /// A client for `config.url`.
    pub fn new(config: KubeflowConfig) -> Kubeflow {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("a client without custom TLS builds");
        Kubeflow { config, http }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/apis/v2beta1/{path}",
            self.config.url.trim_end_matches('/')
        )
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.config.token {
            Some(token) => request.bearer_auth(token.expose()),
            None => request,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, BackendError> {
        let answer = self
            .authorised(request)
            .send()
            .await
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        let status = answer.status();
        let body = answer.text().await.unwrap_or_default();
        if status.is_server_error() {
            return Err(BackendError::Unavailable(format!("{status}: {body}")));
        }
        if !status.is_success() {
            return Err(BackendError::Refused(format!("{status}: {body}")));
        }
        serde_json::from_str(&body)
            .map_err(|e| BackendError::Unavailable(format!("unreadable answer: {e}")))
    }

    async fn existing(&self, job: &Job) -> Result<Option<String>, BackendError> {
        let filter = json!({"predicates": [{
            "key": "display_name",
            "operation": "EQUALS",
            "string_value": job.dedupe_key,
        }]});
        let mut query = vec![("filter", filter.to_string()), ("page_size", "10".into())];
        if let Some(experiment) = &self.config.experiment_id {
            query.push(("experiment_id", experiment.clone()));
        }
        let answer = self
            .send(self.http.get(self.url("runs")).query(&query))
            .await?;
        Ok(answer["runs"]
            .as_array()
            .and_then(|runs| {
                runs.iter()
                    .find(|r| r["display_name"] == job.dedupe_key.as_str())
            })
            .and_then(|r| r["run_id"].as_str())
            .map(str::to_owned))
    }
}

#[async_trait::async_trait]
impl Backend for Kubeflow {
    async fn start(&self, job: &Job) -> Result<String, BackendError> {
        if let Some(run_id) = self.existing(job).await? {
            tracing::info!(
                dedupe_key = job.dedupe_key,
                run_id,
                "kubeflow run exists already"
            );
            return Ok(run_id);
        }
        let mut parameters = self.config.parameters.clone();
        parameters.insert("dedupe_key".into(), json!(job.dedupe_key));
        parameters.insert("alert_ids".into(), json!(job.alert_ids.join(",")));
        parameters.insert("model_name".into(), json!(job.model_name));
        let mut body = json!({
            "display_name": job.dedupe_key,
            "description": format!("retraining run {} of {}", job.run_id, job.model_name),
            "pipeline_version_reference": {
                "pipeline_id": self.config.pipeline_id,
                "pipeline_version_id": self.config.pipeline_version_id,
            },
            "runtime_config": {"parameters": parameters},
        });
        if let Some(experiment) = &self.config.experiment_id {
            body["experiment_id"] = json!(experiment);
        }
        let answer = self
            .send(self.http.post(self.url("runs")).json(&body))
            .await?;
        answer["run_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| BackendError::Unavailable(format!("no run_id in {answer}")))
    }

    async fn poll(&self, _job: &Job, external_id: &str) -> Result<Progress, BackendError> {
        let answer = self
            .send(self.http.get(self.url(&format!("runs/{external_id}"))))
            .await?;
        let state = answer["state"]
            .as_str()
            .unwrap_or("RUNTIME_STATE_UNSPECIFIED");
        Ok(match state {
            "SUCCEEDED" => Progress::Succeeded(Outcome::default()),
            "FAILED" | "CANCELED" | "SKIPPED" => {
                let message = answer["error"]["message"].as_str().unwrap_or("");
                Progress::Failed(
                    format!("kubeflow run {state}: {message}")
                        .trim_end_matches(": ")
                        .to_owned(),
                )
            }
            _ => Progress::Running,
        })
    }

    async fn stop(&self, _job: &Job, external_id: &str) -> Result<(), BackendError> {
        self.send(
            self.http
                .post(self.url(&format!("runs/{external_id}:terminate")))
                .json(&json!({})),
        )
        .await?;
        Ok(())
    }
}
