//! The MLflow model registry over its REST API (2.0): aliases, versions and the offline
//! metrics of a version's training run.
//!
//! Calls used: `GET registered-models/get`, `GET|POST|DELETE registered-models/alias`,
//! `GET model-versions/search`, `GET runs/get`. Polling them is the source of truth; MLflow
//! has no compare-and-set on aliases, so [`Registry::compare_and_set`] reads, compares and
//! writes, and the caller holds the model's lease in Redis around it (`store.rs`) so two
//! deployment managers cannot interleave.

use std::{collections::HashMap, time::Duration};

use serde::Deserialize;
use serde_json::json;

use crate::gate::Metrics;
use crate::rollout::Expect;

/// A registry call failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// MLflow could not be reached or answered garbage. Retrying may help.
    #[error("mlflow request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// MLflow refused the call.
    #[error("mlflow answered {status}: {code} {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// MLflow's error code.
        code: String,
        /// MLflow's message.
        message: String,
    },
    /// Compare-and-set found something else than expected.
    #[error("alias {alias} holds {found}, expected {expected}")]
    Conflict {
        /// The alias.
        alias: String,
        /// What was expected.
        expected: String,
        /// What it holds.
        found: String,
    },
}

impl RegistryError {
    /// True when the same call later may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            RegistryError::Http(_) => true,
            RegistryError::Refused { status, .. } => *status >= 500,
            RegistryError::Conflict { .. } => false,
        }
    }
}

/// A registered model version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ModelVersion {
    /// Model name.
    pub name: String,
    /// Version number, as text.
    pub version: String,
    /// The training run, when known.
    #[serde(default)]
    pub run_id: Option<String>,
    /// Where the artifacts are.
    #[serde(default)]
    pub source: Option<String>,
    /// `READY` once usable.
    #[serde(default)]
    pub status: Option<String>,
    /// Registration time, epoch milliseconds.
    #[serde(default)]
    pub creation_timestamp: Option<i64>,
}

/// The MLflow client.
#[derive(Debug, Clone)]
pub struct Registry {
    http: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    message: String,
}

impl Registry {
    /// A client of the tracking server at `url`.
    pub fn new(url: &str) -> Registry {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a client with a timeout and default TLS builds");
        Registry {
            http,
            base: format!("{}/api/2.0/mlflow", url.trim_end_matches('/')),
        }
    }

    async fn answer<T: for<'de> Deserialize<'de>>(
        response: reqwest::Response,
    ) -> Result<T, RegistryError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response.json().await?);
        }
        let body: ErrorBody = response.json().await.unwrap_or(ErrorBody {
            error_code: String::new(),
            message: String::new(),
        });
        Err(RegistryError::Refused {
            status: status.as_u16(),
            code: body.error_code,
            message: body.message,
        })
    }

    /// Every alias of `model`, alias to version; empty for an unknown model.
    pub async fn aliases(&self, model: &str) -> Result<HashMap<String, String>, RegistryError> {
        #[derive(Deserialize)]
        struct Alias {
            alias: String,
            version: String,
        }
        #[derive(Deserialize)]
        struct Model {
            #[serde(default)]
            aliases: Vec<Alias>,
        }
        #[derive(Deserialize)]
        struct Answer {
            registered_model: Model,
        }
        let response = self
            .http
            .get(format!("{}/registered-models/get", self.base))
            .query(&[("name", model)])
            .send()
            .await?;
        match Self::answer::<Answer>(response).await {
            Ok(answer) => Ok(answer
                .registered_model
                .aliases
                .into_iter()
                .map(|a| (a.alias, a.version))
                .collect()),
            Err(RegistryError::Refused { status: 404, .. }) => Ok(HashMap::new()),
            Err(error) => Err(error),
        }
    }

    /// The version `alias` points at, if any.
    pub async fn alias(&self, model: &str, alias: &str) -> Result<Option<String>, RegistryError> {
        Ok(self.aliases(model).await?.remove(alias))
    }

    /// Points `alias` at `version`.
    pub async fn set_alias(
        &self,
        model: &str,
        alias: &str,
        version: &str,
    ) -> Result<(), RegistryError> {
        let response = self
            .http
            .post(format!("{}/registered-models/alias", self.base))
            .json(&json!({"name": model, "alias": alias, "version": version}))
            .send()
            .await?;
        Self::answer::<serde_json::Value>(response).await.map(drop)
    }

    /// Removes `alias`; removing an absent alias is not an error.
    pub async fn delete_alias(&self, model: &str, alias: &str) -> Result<(), RegistryError> {
        // MLflow versions differ in where DELETE reads its arguments: send both.
        let response = self
            .http
            .delete(format!("{}/registered-models/alias", self.base))
            .query(&[("name", model), ("alias", alias)])
            .json(&json!({"name": model, "alias": alias}))
            .send()
            .await?;
        match Self::answer::<serde_json::Value>(response).await {
            Ok(_) | Err(RegistryError::Refused { status: 404, .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Reads `alias`, checks it holds what `expected` says, then sets (or deletes) it.
    /// Returns what it held before.
    pub async fn compare_and_set(
        &self,
        model: &str,
        alias: &str,
        expected: &Expect,
        to: Option<&str>,
    ) -> Result<Option<String>, RegistryError> {
        let current = self.alias(model, alias).await?;
        // Already there: a retry after a crash between the write and the save.
        if current.as_deref() == to {
            return Ok(current);
        }
        if let Expect::Version(want) = expected
            && want != &current
        {
            return Err(RegistryError::Conflict {
                alias: alias.to_owned(),
                expected: want.clone().unwrap_or_else(|| "none".into()),
                found: current.unwrap_or_else(|| "none".into()),
            });
        }
        match to {
            Some(version) => self.set_alias(model, alias, version).await?,
            None => self.delete_alias(model, alias).await?,
        }
        Ok(current)
    }

    /// Every version of `model`, newest first.
    pub async fn versions(&self, model: &str) -> Result<Vec<ModelVersion>, RegistryError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            model_versions: Vec<ModelVersion>,
        }
        let filter = format!("name='{}'", model.replace('\'', "\\'"));
        let response = self
            .http
            .get(format!("{}/model-versions/search", self.base))
            .query(&[("filter", filter.as_str()), ("max_results", "1000")])
            .send()
            .await?;
        let mut versions = Self::answer::<Answer>(response).await?.model_versions;
        versions.sort_by_key(|v| std::cmp::Reverse(v.version.parse::<u64>().unwrap_or(0)));
        Ok(versions)
    }

    /// The latest value of each metric logged by the run that produced `version`.
    pub async fn version_metrics(
        &self,
        model: &str,
        version: &str,
    ) -> Result<Metrics, RegistryError> {
        let versions = self.versions(model).await?;
        let Some(run_id) = versions
            .into_iter()
            .find(|v| v.version == version)
            .and_then(|v| v.run_id)
            .filter(|r| !r.is_empty())
        else {
            return Ok(Metrics::new());
        };
        #[derive(Deserialize)]
        struct Metric {
            key: String,
            value: f64,
        }
        #[derive(Deserialize, Default)]
        struct Data {
            #[serde(default)]
            metrics: Vec<Metric>,
        }
        #[derive(Deserialize)]
        struct Run {
            #[serde(default)]
            data: Data,
        }
        #[derive(Deserialize)]
        struct Answer {
            run: Run,
        }
        let response = self
            .http
            .get(format!("{}/runs/get", self.base))
            .query(&[("run_id", run_id.as_str())])
            .send()
            .await?;
        let run = Self::answer::<Answer>(response).await?.run;
        Ok(run
            .data
            .metrics
            .into_iter()
            .map(|m| (m.key, m.value))
            .collect())
    }
}
