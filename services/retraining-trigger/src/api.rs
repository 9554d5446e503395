//! Runs over gRPC (`lucid.retraining.v1.RetrainingService`) and as JSON over HTTP
//! (`GET /v1/runs`, `GET /v1/runs/{id}`), with health and metrics beside them. Errors become
//! gRPC codes in [`status`] only.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use lucid_proto::retraining::v1::{self as pb, retraining_service_server::RetrainingService};

use crate::engine::{Decision, Engine, RequestError};

/// The gRPC service.
pub struct Retraining {
    pub(crate) engine: Arc<Engine>,
}

fn status(error: RequestError) -> tonic::Status {
    match error {
        RequestError::NoPolicy(_) => tonic::Status::invalid_argument(error.to_string()),
        RequestError::Store(_) => tonic::Status::unavailable(error.to_string()),
    }
}

#[tonic::async_trait]
impl RetrainingService for Retraining {
    async fn list_runs(
        &self,
        request: tonic::Request<pb::ListRunsRequest>,
    ) -> Result<tonic::Response<pb::ListRunsResponse>, tonic::Status> {
        let request = request.into_inner();
        let limit = match request.limit {
            0 => 50,
            n => n.min(500) as usize,
        };
        let model = Some(request.model_name.as_str()).filter(|m| !m.is_empty());
        let runs = self
            .engine
            .store
            .runs(model, limit)
            .await
            .map_err(|e| status(e.into()))?;
        Ok(tonic::Response::new(pb::ListRunsResponse {
            runs: runs.iter().map(|r| r.to_pb()).collect(),
        }))
    }

    async fn get_run(
        &self,
        request: tonic::Request<pb::GetRunRequest>,
    ) -> Result<tonic::Response<pb::Run>, tonic::Status> {
        let id = request.into_inner().run_id;
        match self
            .engine
            .store
            .run(&id)
            .await
            .map_err(|e| status(e.into()))?
        {
            Some(run) => Ok(tonic::Response::new(run.to_pb())),
            None => Err(tonic::Status::not_found(format!("no run {id:?}"))),
        }
    }

    async fn request_run(
        &self,
        request: tonic::Request<pb::RequestRunRequest>,
    ) -> Result<tonic::Response<pb::RequestRunResponse>, tonic::Status> {
        let r = request.into_inner();
        let decision = self
            .engine
            .request(&r.model_name, &r.reason, r.force, &r.idempotency_key)
            .await
            .map_err(status)?;
        Ok(tonic::Response::new(match decision {
            Decision::Started(run) => pb::RequestRunResponse {
                started: true,
                skip_reason: String::new(),
                run: Some(run.to_pb()),
            },
            Decision::Skipped(skip) => pb::RequestRunResponse {
                started: false,
                skip_reason: skip.to_string(),
                run: None,
            },
        }))
    }
}

#[derive(Clone)]
struct HttpState {
    engine: Arc<Engine>,
    prometheus: metrics_exporter_prometheus::PrometheusHandle,
}

/// The HTTP routes.
pub fn router(engine: Arc<Engine>) -> Router {
    let state = HttpState {
        engine,
        prometheus: lucid_telemetry::prometheus(),
    };
    Router::new()
        .route("/v1/runs", get(list))
        .route("/v1/runs/{id}", get(one))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route(
            "/metrics",
            get(|State(s): State<HttpState>| async move { s.prometheus.render() }),
        )
        .with_state(state)
}

#[derive(serde::Deserialize)]
struct ListQuery {
    model: Option<String>,
    limit: Option<usize>,
}

fn unavailable(error: impl std::fmt::Display) -> Response {
    let body = Json(serde_json::json!({ "error": error.to_string() }));
    (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
}

async fn list(State(state): State<HttpState>, Query(q): Query<ListQuery>) -> Response {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    match state.engine.store.runs(q.model.as_deref(), limit).await {
        Ok(runs) => Json(serde_json::json!({ "runs": runs })).into_response(),
        Err(error) => unavailable(error),
    }
}

async fn one(State(state): State<HttpState>, Path(id): Path<String>) -> Response {
    match state.engine.store.run(&id).await {
        Ok(Some(run)) => Json(run).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": format!("no run {id:?}") })),
        )
            .into_response(),
        Err(error) => unavailable(error),
    }
}

async fn ready(State(state): State<HttpState>) -> Response {
    let redis = state.engine.store.ping().await.is_ok();
    let code = if redis {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(serde_json::json!({ "redis": redis }))).into_response()
}
