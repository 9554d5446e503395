//! The latest reports over gRPC (`lucid.drift.v1.DriftService`) and as JSON over HTTP
//! (`GET /v1/monitors`, `GET /v1/monitors/{name}`), with health and metrics beside them.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use lucid_proto::drift::v1::{self as pb, drift_service_server::DriftService};

use crate::monitor::{BandName, ColumnReport, Report};
use crate::state::{AlertStore, Reports, Status};

/// The gRPC service.
pub struct Drift {
    pub(crate) reports: Reports,
}

#[tonic::async_trait]
impl DriftService for Drift {
    async fn list_monitors(
        &self,
        _request: tonic::Request<pb::ListMonitorsRequest>,
    ) -> Result<tonic::Response<pb::ListMonitorsResponse>, tonic::Status> {
        let monitors = self.reports.all().iter().map(info).collect();
        Ok(tonic::Response::new(pb::ListMonitorsResponse { monitors }))
    }

    async fn get_report(
        &self,
        request: tonic::Request<pb::GetReportRequest>,
    ) -> Result<tonic::Response<pb::Report>, tonic::Status> {
        let name = request.into_inner().monitor;
        let status = self
            .reports
            .get(&name)
            .ok_or_else(|| tonic::Status::not_found(format!("no monitor named {name:?}")))?;
        let (report, at) = status.latest.ok_or_else(|| {
            tonic::Status::failed_precondition(format!("monitor {name:?} has not checked yet"))
        })?;
        Ok(tonic::Response::new(report_pb(&report, at)))
    }
}

fn info(status: &Status) -> pb::MonitorInfo {
    let spec = &status.spec;
    pb::MonitorInfo {
        name: spec.name.clone(),
        topic: spec.topic.clone(),
        record: match spec.record {
            crate::row::RecordKind::ListeningEvent => "listening_event".into(),
            crate::row::RecordKind::PredictionLog => "prediction_log".into(),
        },
        model_name: spec.model.clone().unwrap_or_default(),
        model_version: spec.model_version.clone().unwrap_or_default(),
        columns: spec.columns.iter().map(|c| c.name.clone()).collect(),
        reference_ready: status.reference_ready,
        latest: status.latest.as_ref().map(|(r, at)| report_pb(r, *at)),
    }
}

fn band_pb(band: BandName) -> i32 {
    (match band {
        BandName::Ok => pb::Band::Ok,
        BandName::Warning => pb::Band::Warning,
        BandName::Drift => pb::Band::Drift,
        BandName::InsufficientData => pb::Band::InsufficientData,
    }) as i32
}

fn column_pb(c: &ColumnReport) -> pb::ColumnReport {
    pb::ColumnReport {
        column: c.column.clone(),
        method: c.method.clone(),
        statistic: c.statistic,
        p_value: c.p_value,
        value: c.value,
        warning_threshold: c.warning_threshold,
        drift_threshold: c.drift_threshold,
        band: band_pb(c.band),
        reference_count: c.reference_count as i64,
        current_count: c.current_count as i64,
        excluded: c.excluded as i64,
    }
}

fn report_pb(r: &Report, checked_at: i64) -> pb::Report {
    pb::Report {
        monitor: r.monitor.clone(),
        model_name: r.model_name.clone().unwrap_or_default(),
        model_version: r.model_version.clone().unwrap_or_default(),
        band: band_pb(r.band),
        window_start_unix_ms: r.window_start,
        window_end_unix_ms: r.window_end,
        reference_count: r.reference_count as i64,
        current_count: r.current_count as i64,
        columns: r.columns.iter().map(column_pb).collect(),
        drift_share: r.drift_share,
        share_threshold: r.share_threshold,
        dataset_drift: r.dataset_drift,
        checked_unix_ms: checked_at,
    }
}

#[derive(Clone)]
struct HttpState {
    reports: Reports,
    store: AlertStore,
    prometheus: metrics_exporter_prometheus::PrometheusHandle,
}

/// The HTTP routes.
pub fn router(reports: Reports, store: AlertStore) -> Router {
    let state = HttpState {
        reports,
        store,
        prometheus: lucid_telemetry::prometheus(),
    };
    Router::new()
        .route("/v1/monitors", get(list))
        .route("/v1/monitors/{name}", get(one))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route(
            "/metrics",
            get(|State(s): State<HttpState>| async move { s.prometheus.render() }),
        )
        .with_state(state)
}

fn status_json(status: &Status) -> serde_json::Value {
    serde_json::json!({
        "monitor": status.spec.name,
        "topic": status.spec.topic,
        "reference_ready": status.reference_ready,
        "checked_unix_ms": status.latest.as_ref().map(|(_, at)| at),
        "report": status.latest.as_ref().map(|(r, _)| r),
    })
}

async fn list(State(state): State<HttpState>) -> Json<serde_json::Value> {
    let all: Vec<_> = state.reports.all().iter().map(status_json).collect();
    Json(serde_json::json!({ "monitors": all }))
}

async fn one(State(state): State<HttpState>, Path(name): Path<String>) -> Response {
    match state.reports.get(&name) {
        Some(status) => Json(status_json(&status)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": format!("no monitor named {name:?}") })),
        )
            .into_response(),
    }
}

async fn ready(State(state): State<HttpState>) -> Response {
    let redis = state.store.ping().await.is_ok();
    let status = if redis {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(serde_json::json!({ "redis": redis }))).into_response()
}
