//! The MLflow model registry over its REST API: which version an alias names, and the ONNX
//! file of a version.
//!
//! The reference pipeline (`pipelines/skip_model`, step `register_model_version`) logs the
//! exported folder as the run's `model/` artifacts (`model.onnx` among them) and registers
//! `runs:/<run id>/model` as the version's source. A version's file is found by listing that
//! folder (`/api/2.0/mlflow/artifacts/list`) and fetched through the tracking server
//! (`/get-artifact`), which also serves proxied (`mlflow-artifacts:`) artifact stores.

use std::time::Duration;

use serde::Deserialize;

/// What went wrong talking to the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry did not answer or answered with a server error; retrying may help.
    #[error("model registry unavailable at {url}: {detail}")]
    Unavailable {
        /// The registry's URL.
        url: String,
        /// What happened.
        detail: String,
    },
    /// The model, version or alias does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The registry answered, but not as expected (no ONNX file, an odd body).
    #[error("model registry: {0}")]
    Invalid(String),
}

impl RegistryError {
    /// True when asking again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, RegistryError::Unavailable { .. })
    }
}

/// A registered model version, as the registry describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct VersionInfo {
    /// Registered model name.
    pub name: String,
    /// Version number, as text.
    pub version: String,
    /// Where the version's files are, for example `runs:/<run id>/model`.
    #[serde(default)]
    pub source: String,
    /// The run that produced it.
    #[serde(default)]
    pub run_id: String,
}

#[derive(Deserialize)]
struct VersionAnswer {
    model_version: VersionInfo,
}

#[derive(Deserialize)]
struct ListAnswer {
    #[serde(default)]
    files: Vec<FileInfo>,
}

#[derive(Deserialize)]
struct FileInfo {
    path: String,
    #[serde(default)]
    is_dir: bool,
}

/// A client of one MLflow server.
#[derive(Debug, Clone)]
pub struct Registry {
    url: String,
    http: reqwest::Client,
}

impl Registry {
    /// A client of the server at `url` (for example `http://127.0.0.1:15000`).
    pub fn new(url: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a client without custom TLS always builds");
        Registry {
            url: url.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// The version `alias` (for example `champion`) points at.
    pub async fn alias(&self, model: &str, alias: &str) -> Result<VersionInfo, RegistryError> {
        let answer: VersionAnswer = self
            .get_json(
                "/api/2.0/mlflow/registered-models/alias",
                &[("name", model), ("alias", alias)],
                || format!("model {model:?} has no alias {alias:?} in the registry"),
            )
            .await?;
        Ok(answer.model_version)
    }

    /// The registry's description of `version` of `model`.
    pub async fn version(&self, model: &str, version: &str) -> Result<VersionInfo, RegistryError> {
        let answer: VersionAnswer = self
            .get_json(
                "/api/2.0/mlflow/model-versions/get",
                &[("name", model), ("version", version)],
                || format!("model {model:?} has no version {version:?} in the registry"),
            )
            .await?;
        Ok(answer.model_version)
    }

    /// The bytes of the ONNX file of `version`.
    pub async fn onnx(&self, version: &VersionInfo) -> Result<Vec<u8>, RegistryError> {
        let (run_id, folder) = artifact_folder(version)?;
        let listing: ListAnswer = self
            .get_json(
                "/api/2.0/mlflow/artifacts/list",
                &[("run_id", &run_id), ("path", &folder)],
                || format!("run {run_id} of version {} is gone", version.version),
            )
            .await?;
        let file = onnx_file(&listing.files).ok_or_else(|| {
            RegistryError::Invalid(format!(
                "version {} of {:?} has no .onnx file under {folder:?} of run {run_id}",
                version.version, version.name
            ))
        })?;

        let response = self
            .http
            .get(format!("{}/get-artifact", self.url))
            .query(&[("path", file), ("run_uuid", &run_id)])
            .send()
            .await
            .map_err(|e| self.unavailable(e))?;
        let response = self.check(response, || format!("artifact {file} is gone"))?;
        let bytes = response.bytes().await.map_err(|e| self.unavailable(e))?;
        Ok(bytes.to_vec())
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        missing: impl FnOnce() -> String,
    ) -> Result<T, RegistryError> {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .query(query)
            .send()
            .await
            .map_err(|e| self.unavailable(e))?;
        let response = self.check(response, missing)?;
        response
            .json()
            .await
            .map_err(|e| RegistryError::Invalid(format!("unexpected answer to {path}: {e}")))
    }

    fn check(
        &self,
        response: reqwest::Response,
        missing: impl FnOnce() -> String,
    ) -> Result<reqwest::Response, RegistryError> {
        let status = response.status();
        if status.is_success() {
            Ok(response)
        } else if status == reqwest::StatusCode::NOT_FOUND {
            Err(RegistryError::NotFound(missing()))
        } else if status.is_server_error() {
            Err(RegistryError::Unavailable {
                url: self.url.clone(),
                detail: format!("status {status}"),
            })
        } else {
            // MLflow answers RESOURCE_DOES_NOT_EXIST with 404 and INVALID_PARAMETER_VALUE
            // (for example an unknown alias on some versions) with 400.
            Err(RegistryError::NotFound(missing()))
        }
    }

    fn unavailable(&self, error: reqwest::Error) -> RegistryError {
        RegistryError::Unavailable {
            url: self.url.clone(),
            detail: error.to_string(),
        }
    }
}

/// The run and folder holding a version's files: from a `runs:/<run>/<folder>` source, else the
/// version's run and the pipeline's `model` folder.
fn artifact_folder(version: &VersionInfo) -> Result<(String, String), RegistryError> {
    if let Some(rest) = version.source.strip_prefix("runs:/")
        && let Some((run, folder)) = rest.split_once('/')
        && !run.is_empty()
    {
        return Ok((run.to_owned(), folder.trim_end_matches('/').to_owned()));
    }
    if version.run_id.is_empty() {
        return Err(RegistryError::Invalid(format!(
            "version {} of {:?} has no run and source {:?}",
            version.version, version.name, version.source
        )));
    }
    Ok((version.run_id.clone(), "model".to_owned()))
}

/// `model.onnx` if listed, else the first `.onnx` file.
fn onnx_file(files: &[FileInfo]) -> Option<&str> {
    let onnx = || {
        files
            .iter()
            .filter(|f| !f.is_dir && f.path.ends_with(".onnx"))
    };
    onnx()
        .find(|f| f.path.ends_with("/model.onnx") || f.path == "model.onnx")
        .or_else(|| onnx().next())
        .map(|f| f.path.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(source: &str, run_id: &str) -> VersionInfo {
        VersionInfo {
            name: "skip-model".into(),
            version: "3".into(),
            source: source.into(),
            run_id: run_id.into(),
        }
    }

    #[test]
    fn finds_the_folder_of_a_pipeline_version() {
        let found = artifact_folder(&version("runs:/abc123/model", "abc123")).expect("folder");
        assert_eq!(found, ("abc123".into(), "model".into()));
        let other = artifact_folder(&version("models:/m-1", "r9")).expect("folder");
        assert_eq!(other, ("r9".into(), "model".into()));
        assert!(artifact_folder(&version("s3://x", "")).is_err());
    }

    #[test]
    fn prefers_model_onnx() {
        let files = |names: &[&str]| -> Vec<FileInfo> {
            names
                .iter()
                .map(|n| FileInfo {
                    path: (*n).into(),
                    is_dir: false,
                })
                .collect()
        };
        let listed = files(&["model/a.onnx", "model/model.onnx", "model/model.json"]);
        assert_eq!(onnx_file(&listed), Some("model/model.onnx"));
        assert_eq!(onnx_file(&files(&["model/x.onnx"])), Some("model/x.onnx"));
        assert_eq!(onnx_file(&files(&["model/model.json"])), None);
    }
}
