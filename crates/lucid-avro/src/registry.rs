//! A client for the Confluent Schema Registry REST API (the subset the wire format needs).
//!
//! Written against the documented API rather than taken from a crate: the available client
//! crates pin their own `apache-avro` version, and this needs two calls.

use std::time::Duration;

use serde::Deserialize;

/// Talks to a schema registry at a base URL.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    base: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct IdResponse {
    id: u32,
}

#[derive(Deserialize)]
struct SchemaResponse {
    schema: String,
}

/// What the registry answered, or that it could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry does not have it (HTTP 404).
    #[error("not found")]
    NotFound,
    /// Network failure, timeout, 5xx or an unreadable answer.
    #[error("{0}")]
    Unavailable(String),
}

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

impl RegistryClient {
    /// A client for the registry at `base` (for example `http://127.0.0.1:8081`).
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a reqwest client with only a timeout set always builds");
        RegistryClient {
            base: base.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// Registers `schema` under `subject` (idempotent in the registry) and returns its id.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let url = format!("{}/subjects/{subject}/versions", self.base);
        let body = serde_json::json!({ "schema": schema });
        let response = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .json(&body)
            .send()
            .await;
        let answer: IdResponse = read(response).await?;
        Ok(answer.id)
    }

    /// The schema text with this id.
    pub async fn schema(&self, id: u32) -> Result<String, RegistryError> {
        let url = format!("{}/schemas/ids/{id}", self.base);
        let response = self.http.get(url).send().await;
        let answer: SchemaResponse = read(response).await?;
        Ok(answer.schema)
    }
}

async fn read<T: serde::de::DeserializeOwned>(
    response: reqwest::Result<reqwest::Response>,
) -> Result<T, RegistryError> {
    let response = response.map_err(|e| RegistryError::Unavailable(e.to_string()))?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(RegistryError::NotFound);
    }
    let response = response
        .error_for_status()
        .map_err(|e| RegistryError::Unavailable(e.to_string()))?;
    response
        .json()
        .await
        .map_err(|e| RegistryError::Unavailable(e.to_string()))
}
