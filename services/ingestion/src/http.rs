//! The HTTP front end: `POST /v1/events`, `/healthz`, `/readyz`, `/metrics`.

use std::{sync::Arc, time::Instant};

use axum::{
    Json, Router,
    body::{Body, to_bytes},
    extract::State,
    http::{
        HeaderMap, StatusCode,
        header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE},
    },
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::Utc;
use lucid_events::{PublishResponse, RejectedEvent, RejectionSource, parse_event};
use serde_json::Value;

use crate::{
    App,
    error::{ApiError, batch_status},
    metrics as m,
    pipeline::Item,
    privacy::sha256_hex,
};

/// The HTTP routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/events", post(publish))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .fallback(|uri: axum::http::Uri| async move { ApiError::NotFound(uri.path().to_owned()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(app)
}

async fn publish(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let response = match handle(&app, &headers, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };

    let status = response.status().as_u16().to_string();
    metrics::counter!(m::REQUESTS, "transport" => "http", "status" => status).increment(1);
    metrics::histogram!(m::REQUEST_DURATION, "transport" => "http")
        .record(started.elapsed().as_secs_f64());
    response
}

/// The body must be uncompressed JSON; a missing content type is taken as JSON.
fn plain_json(headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(encoding) = headers.get(CONTENT_ENCODING).and_then(|v| v.to_str().ok())
        && !encoding.eq_ignore_ascii_case("identity")
    {
        return Err(ApiError::UnsupportedMediaType(format!(
            "content-encoding {encoding} is not supported; send uncompressed JSON"
        )));
    }
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match content_type.map(|t| {
        t.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }) {
        None => Ok(()),
        Some(t) if t == "application/json" || t.ends_with("+json") => Ok(()),
        Some(t) => Err(ApiError::UnsupportedMediaType(format!(
            "content-type {t} is not supported; send application/json"
        ))),
    }
}

async fn handle(app: &App, headers: &HeaderMap, body: Body) -> Result<Response, ApiError> {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    app.keys
        .check(authorization)
        .ok_or(ApiError::Unauthenticated)?;
    plain_json(headers)?;

    let limit = app.limits.max_body_bytes;
    let bytes = to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::BodyTooLarge { limit })?;
    let elements = app.read_array(&bytes).await?;
    if elements.len() > app.limits.max_events {
        return Err(ApiError::TooManyEvents {
            count: elements.len(),
            limit: app.limits.max_events,
        });
    }

    let items = elements
        .into_iter()
        .map(|raw| Item {
            parsed: parse_event(&raw),
            raw,
        })
        .collect();
    let outcomes = app
        .ingestor
        .publish(items, RejectionSource::Http)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;

    let answer = PublishResponse::from_results(outcomes);
    let (status, retry_after) = batch_status(answer.has_retryable());
    let mut response = (status, Json(answer)).into_response();
    if let Some((name, value)) = retry_after {
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}

impl App {
    /// Parses the body as a JSON array. An unreadable body is dead-lettered: without its user id
    /// when it cannot be parsed at all, pseudonymised when it is JSON of the wrong shape.
    async fn read_array(&self, bytes: &[u8]) -> Result<Vec<Value>, ApiError> {
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(value) => value,
            Err(error) => {
                let error = ApiError::MalformedJson(error.to_string());
                self.dead_letter_body(&error, None, bytes).await;
                return Err(error);
            }
        };

        match value {
            Value::Array(elements) => Ok(elements),
            other => {
                let error = ApiError::NotAnArray(kind(&other));
                self.dead_letter_body(&error, Some(&other), bytes).await;
                Err(error)
            }
        }
    }

    async fn dead_letter_body(&self, error: &ApiError, value: Option<&Value>, bytes: &[u8]) {
        let record = RejectedEvent {
            reason: error.code().into(),
            detail: error.to_string(),
            source: RejectionSource::Http,
            event_id: value
                .and_then(|v| v.get("event_id"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            payload: value.and_then(|v| self.ingestor.pseudonyms.scrub(v)),
            payload_sha256: sha256_hex(bytes),
            rejected_time: Utc::now().timestamp_millis(),
            retryable: false,
        };
        self.ingestor.send_dead_letter(record).await;
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "an object",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
        Value::Array(_) => "an array",
    }
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    let checks = app.readiness().await;
    let status = if checks.iter().all(|(_, ok)| *ok) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body: serde_json::Map<String, Value> = checks
        .into_iter()
        .map(|(name, ok)| (name.to_owned(), Value::Bool(ok)))
        .collect();
    (status, Json(body)).into_response()
}

async fn metrics(State(app): State<Arc<App>>) -> String {
    app.prometheus.render()
}
