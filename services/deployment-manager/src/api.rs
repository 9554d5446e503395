//! The admin API over gRPC (`lucid.deploy.v1.DeploymentService`), the rollouts as JSON over
//! HTTP (`GET /v1/rollouts`, `GET /v1/rollouts/{id}`), health and metrics. Errors map to gRPC
//! codes in [`status`] only.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use hmac::{Hmac, Mac};
use lucid_proto::deploy::v1::{self as pb, deployment_service_server::DeploymentService};
use sha2::Sha256;

use crate::manager::{CommandError, Manager, StartRequest};
use crate::rollout::{Rollout, RolloutError, State as RolloutState, Strategy};

/// The gRPC service.
pub struct Deploy {
    pub(crate) manager: Manager,
}

fn status(error: CommandError) -> tonic::Status {
    match error {
        CommandError::NotFound(_) => tonic::Status::not_found(error.to_string()),
        CommandError::Rollout(RolloutError::Policy(_)) => {
            tonic::Status::invalid_argument(error.to_string())
        }
        CommandError::Rollout(_) | CommandError::Precondition(_) => {
            tonic::Status::failed_precondition(error.to_string())
        }
        CommandError::Unavailable(_) => tonic::Status::unavailable(error.to_string()),
    }
}

type Reply<T> = Result<tonic::Response<T>, tonic::Status>;

#[tonic::async_trait]
impl DeploymentService for Deploy {
    async fn list_rollouts(
        &self,
        request: tonic::Request<pb::ListRolloutsRequest>,
    ) -> Reply<pb::ListRolloutsResponse> {
        let request = request.into_inner();
        let limit = match request.limit {
            0 => 50,
            n => n.min(500) as usize,
        };
        let model = Some(request.model_name.as_str()).filter(|m| !m.is_empty());
        let rollouts = self
            .manager
            .store
            .list(model, limit)
            .await
            .map_err(|e| status(e.into()))?;
        Ok(tonic::Response::new(pb::ListRolloutsResponse {
            rollouts: rollouts.iter().map(rollout_pb).collect(),
        }))
    }

    async fn get_rollout(
        &self,
        request: tonic::Request<pb::GetRolloutRequest>,
    ) -> Reply<pb::Rollout> {
        let id = request.into_inner().rollout_id;
        let rollout = self
            .manager
            .store
            .load(&id)
            .await
            .map_err(|e| status(e.into()))?
            .ok_or_else(|| status(CommandError::NotFound(id)))?;
        Ok(tonic::Response::new(rollout_pb(&rollout)))
    }

    async fn start_rollout(
        &self,
        request: tonic::Request<pb::StartRolloutRequest>,
    ) -> Reply<pb::Rollout> {
        let r = request.into_inner();
        if r.model_name.is_empty() || r.to_version.is_empty() {
            return Err(tonic::Status::invalid_argument(
                "model_name and to_version are required",
            ));
        }
        let strategy = match pb::Strategy::try_from(r.strategy).unwrap_or_default() {
            pb::Strategy::Unspecified => None,
            pb::Strategy::Canary => Some(Strategy::Canary),
            pb::Strategy::BlueGreen => Some(Strategy::BlueGreen),
        };
        let request = StartRequest {
            model: r.model_name,
            version: r.to_version,
            strategy,
            steps: (!r.steps.is_empty()).then_some(r.steps),
            skip_gate: r.skip_gate,
            why: "started by an operator".into(),
        };
        let rollout = self.manager.start(request).await.map_err(status)?;
        Ok(tonic::Response::new(rollout_pb(&rollout)))
    }

    async fn promote(
        &self,
        request: tonic::Request<pb::RolloutControlRequest>,
    ) -> Reply<pb::Rollout> {
        let r = request.into_inner();
        self.control(&r, |rollout, now| rollout.promote(now, &r.reason))
            .await
    }

    async fn pause(
        &self,
        request: tonic::Request<pb::RolloutControlRequest>,
    ) -> Reply<pb::Rollout> {
        let r = request.into_inner();
        self.control(&r, |rollout, now| rollout.pause(now, &r.reason))
            .await
    }

    async fn resume(
        &self,
        request: tonic::Request<pb::RolloutControlRequest>,
    ) -> Reply<pb::Rollout> {
        let r = request.into_inner();
        self.control(&r, |rollout, now| rollout.resume(now, &r.reason))
            .await
    }

    async fn abort(
        &self,
        request: tonic::Request<pb::RolloutControlRequest>,
    ) -> Reply<pb::Rollout> {
        let r = request.into_inner();
        self.control(&r, |rollout, now| rollout.abort(now, &r.reason))
            .await
    }
}

impl Deploy {
    async fn control(
        &self,
        request: &pb::RolloutControlRequest,
        command: impl FnOnce(&mut Rollout, i64) -> Result<crate::rollout::Transition, RolloutError>,
    ) -> Reply<pb::Rollout> {
        let rollout = self
            .manager
            .command(&request.rollout_id, command)
            .await
            .map_err(status)?;
        Ok(tonic::Response::new(rollout_pb(&rollout)))
    }
}

fn side_pb(side: &crate::analysis::SideSummary) -> pb::SideAnalysis {
    pb::SideAnalysis {
        outcomes: side.outcomes as i64,
        predictions: side.predictions as i64,
        log_loss: side.log_loss.unwrap_or(f64::NAN),
        calibration_error: side.calibration_error.unwrap_or(f64::NAN),
        error_rate: side.error_rate.unwrap_or(f64::NAN),
        p99_latency_ms: side.p99_latency_ms.unwrap_or(f64::NAN),
    }
}

/// A rollout as the API shows it.
pub fn rollout_pb(r: &Rollout) -> pb::Rollout {
    let traffic = r.traffic(r.updated_ms);
    pb::Rollout {
        rollout_id: r.id.clone(),
        model_name: r.model.clone(),
        from_version: r.from_version.clone().unwrap_or_default(),
        to_version: r.to_version.clone(),
        strategy: match r.strategy {
            Strategy::Canary => pb::Strategy::Canary,
            Strategy::BlueGreen => pb::Strategy::BlueGreen,
        } as i32,
        state: match r.state {
            RolloutState::Progressing => pb::RolloutState::Progressing,
            RolloutState::Paused => pb::RolloutState::Paused,
            RolloutState::Promoted => pb::RolloutState::Promoted,
            RolloutState::RolledBack => pb::RolloutState::RolledBack,
            RolloutState::Aborted => pb::RolloutState::Aborted,
        } as i32,
        steps: r.policy.steps.clone(),
        step_index: r.step as u32,
        candidate_weight: r.candidate_weight(),
        routes: traffic
            .routes
            .iter()
            .map(|route| pb::RouteWeight {
                version: route.version.clone(),
                weight: route.weight,
                route: route.route.as_str().into(),
            })
            .collect(),
        shadow_version: traffic.shadow.map(|s| s.version).unwrap_or_default(),
        reason: r.reason.clone(),
        started_unix_ms: r.started_ms,
        step_started_unix_ms: r.step_started_ms,
        updated_unix_ms: r.updated_ms,
        last_analysis: r.last_analysis.as_ref().map(|a| pb::Analysis {
            verdict: a.verdict.as_str().into(),
            reason: a.reason.clone(),
            stable: Some(side_pb(&a.analysis.stable)),
            candidate: Some(side_pb(&a.analysis.candidate)),
            analysed_unix_ms: a.at_ms,
        }),
    }
}

#[derive(Clone)]
struct HttpState {
    manager: Manager,
    prometheus: metrics_exporter_prometheus::PrometheusHandle,
}

/// The HTTP routes.
pub fn router(manager: Manager) -> Router {
    let state = HttpState {
        manager,
        prometheus: lucid_telemetry::prometheus(),
    };
    Router::new()
        .route("/v1/rollouts", get(list))
        .route("/v1/rollouts/{id}", get(one))
        .route("/v1/registry-webhook", post(webhook))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route(
            "/metrics",
            get(|State(s): State<HttpState>| async move { s.prometheus.render() }),
        )
        .with_state(state)
}

fn error(code: StatusCode, message: String) -> Response {
    (code, Json(serde_json::json!({ "error": message }))).into_response()
}

async fn list(State(state): State<HttpState>) -> Response {
    match state.manager.store.list(None, 50).await {
        Ok(rollouts) => Json(serde_json::json!({ "rollouts": rollouts })).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

async fn one(State(state): State<HttpState>, Path(id): Path<String>) -> Response {
    match state.manager.store.load(&id).await {
        Ok(Some(rollout)) => Json(rollout).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no rollout {id}")),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// The signature header of the registry webhook.
pub const SIGNATURE: &str = "x-lucid-signature";

/// Whether `header` is `sha256=<hex of HMAC-SHA256(secret, body)>`, compared in constant time.
pub fn signed(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_mac) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(given) = hex::decode(hex_mac) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// A registry event (a version registered, an alias moved): with a valid signature, polls the
/// registry now instead of at the next interval. The body is not trusted beyond that.
async fn webhook(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &state.manager.config.webhook_secret else {
        return error(
            StatusCode::NOT_FOUND,
            "the registry webhook is off (set webhook_secret)".into(),
        );
    };
    let header = headers.get(SIGNATURE).and_then(|v| v.to_str().ok());
    if !signed(secret.expose(), &body, header) {
        tracing::warn!("registry webhook refused: bad signature");
        return error(
            StatusCode::UNAUTHORIZED,
            format!("missing or wrong {SIGNATURE} (sha256=<hex HMAC-SHA256 of the body>)"),
        );
    }
    let manager = state.manager.clone();
    tokio::spawn(async move { manager.poll_registry().await });
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "polling": true })),
    )
        .into_response()
}

async fn ready(State(state): State<HttpState>) -> Response {
    let redis = state.manager.store.ping().await.is_ok();
    let code = if redis {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(serde_json::json!({ "redis": redis }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signatures_are_hmac_sha256_of_the_body() {
        // HMAC-SHA256("s3cret", "{\"event\":\"MODEL_VERSION_CREATED\"}"), by Python's hmac module.
        let body = br#"{"event":"MODEL_VERSION_CREATED"}"#;
        let good = "sha256=83bdc171e033bf5b100a32fe850d0055cb631b0535d17fdd14532b2de4caaa51";
        assert!(signed("s3cret", body, Some(good)));
        assert!(!signed("other", body, Some(good)));
        assert!(!signed("s3cret", b"{}", Some(good)));
        assert!(!signed("s3cret", body, Some(&good[7..])), "prefix needed");
        assert!(!signed("s3cret", body, Some("sha256=zz")));
        assert!(!signed("s3cret", body, None));
    }
}
