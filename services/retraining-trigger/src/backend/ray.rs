//! The `ray` backend: Ray Jobs REST on the dashboard port.
//!
//! Start: `POST /api/jobs/` with the pipeline's command line as `entrypoint` and the dedupe
//! key as `submission_id`; a refusal saying the id already exists (Ray 2.60 answers 500 with a
//! `ValueError` saying so) means the job is there already, which is the same run. Poll:
//! `GET /api/jobs/{id}` and its `status` (PENDING, RUNNING, STOPPED, SUCCEEDED, FAILED); on
//! success the result is the pipeline's JSON line in `GET /api/jobs/{id}/logs`. Stop:
//! `POST /api/jobs/{id}/stop`.

use serde_json::{Value, json};

use super::{Backend, BackendError, Job, Progress, parse_result, pipeline_args};
use crate::config::RayConfig;

/// The backend.
pub struct Ray {
    config: RayConfig,
    http: reqwest::Client,
}

impl Ray {
    /// A client for `config.url`.
    pub fn new(config: RayConfig) -> Ray {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("a client without custom TLS builds");
        Ray { config, http }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/jobs/{path}", self.config.url.trim_end_matches('/'))
    }

    async fn get(&self, path: &str) -> Result<Value, BackendError> {
        let answer = self
            .http
            .get(self.url(path))
            .send()
            .await
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        let status = answer.status();
        let body = answer.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(BackendError::Unavailable(format!("{status}: {body}")));
        }
        serde_json::from_str(&body)
            .map_err(|e| BackendError::Unavailable(format!("unreadable answer: {e}")))
    }
}

/// `args` as one `sh` command line, each argument single-quoted.
pub fn shell_line(args: &[String]) -> String {
    args.iter()
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[async_trait::async_trait]
impl Backend for Ray {
    async fn start(&self, job: &Job) -> Result<String, BackendError> {
        let mut body = json!({
            "entrypoint": shell_line(&pipeline_args(&self.config.pipeline, job)),
            "submission_id": job.dedupe_key,
            "metadata": {"lucid.run_id": job.run_id, "lucid.model_name": job.model_name},
        });
        if let Some(env) = &self.config.runtime_env {
            body["runtime_env"] = env.clone();
        }
        let answer = self
            .http
            .post(self.url(""))
            .json(&body)
            .send()
            .await
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        if status.is_success() || status.as_u16() == 409 || text.contains("already exists") {
            if !status.is_success() {
                tracing::info!(submission_id = job.dedupe_key, "ray job exists already");
            }
            return Ok(job.dedupe_key.clone());
        }
        if status.is_server_error() {
            return Err(BackendError::Unavailable(format!("{status}: {text}")));
        }
        Err(BackendError::Refused(format!("{status}: {text}")))
    }

    async fn poll(&self, _job: &Job, external_id: &str) -> Result<Progress, BackendError> {
        let answer = self.get(external_id).await?;
        let status = answer["status"].as_str().unwrap_or("PENDING");
        let message = answer["message"].as_str().unwrap_or("");
        match status {
            "SUCCEEDED" => {
                let logs = self.get(&format!("{external_id}/logs")).await?;
                let text = logs["logs"].as_str().unwrap_or("");
                Ok(match parse_result(text) {
                    Some(outcome) => Progress::Succeeded(outcome),
                    None => Progress::Failed("ray job succeeded without a JSON result line".into()),
                })
            }
            "FAILED" | "STOPPED" => Ok(Progress::Failed(format!("ray job {status}: {message}"))),
            _ => Ok(Progress::Running),
        }
    }

    async fn stop(&self, _job: &Job, external_id: &str) -> Result<(), BackendError> {
        // `{"stopped": false}` for a job that had already ended: nothing left to stop.
        let answer = self
            .http
            .post(self.url(&format!("{external_id}/stop")))
            .send()
            .await
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let text = answer.text().await.unwrap_or_default();
        if status.is_server_error() {
            return Err(BackendError::Unavailable(format!("{status}: {text}")));
        }
        Err(BackendError::Refused(format!("{status}: {text}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entrypoint_quotes_every_argument() {
        let args = ["python".to_string(), "it's".into(), "a b".into()];
        assert_eq!(shell_line(&args), r"'python' 'it'\''s' 'a b'");
    }
}
