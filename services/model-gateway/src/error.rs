//! What an inference request can fail with, mapped to HTTP statuses and gRPC codes here and
//! nowhere else.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::{features::FeatureError, metrics::reason, registry::RegistryError};

/// Why a request was not answered.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The request is malformed; the message names the problem. Retrying the same request fails
    /// again.
    #[error("{0}")]
    BadRequest(String),
    /// The gateway does not serve a model of this name.
    #[error("model {0:?} is not served here")]
    UnknownModel(String),
    /// The registry, the feature store or the route table is unavailable, or the model has no
    /// version loaded yet; retrying later may help.
    #[error("{0}")]
    Unavailable(String),
    /// The model failed on a well-formed request.
    #[error("{0}")]
    Internal(String),
}

impl GatewayError {
    /// A malformed request.
    pub fn bad(message: impl Into<String>) -> Self {
        GatewayError::BadRequest(message.into())
    }

    /// The `reason` label of the errors metric.
    pub fn reason(&self) -> &'static str {
        match self {
            GatewayError::BadRequest(_) | GatewayError::UnknownModel(_) => reason::BAD_REQUEST,
            GatewayError::Unavailable(_) => reason::UNAVAILABLE,
            GatewayError::Internal(_) => reason::INTERNAL,
        }
    }

    fn http_status(&self) -> StatusCode {
        match self {
            GatewayError::BadRequest(_) => StatusCode::BAD_REQUEST,
            GatewayError::UnknownModel(_) => StatusCode::NOT_FOUND,
            GatewayError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn grpc_code(&self) -> tonic::Code {
        match self {
            GatewayError::BadRequest(_) => tonic::Code::InvalidArgument,
            GatewayError::UnknownModel(_) => tonic::Code::NotFound,
            GatewayError::Unavailable(_) => tonic::Code::Unavailable,
            GatewayError::Internal(_) => tonic::Code::Internal,
        }
    }
}

impl From<RegistryError> for GatewayError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::Invalid(_) => GatewayError::Internal(error.to_string()),
            // A version named by a route table but missing from the registry is the operator's
            // problem, not the caller's: the caller may retry once the table is fixed.
            _ => GatewayError::Unavailable(error.to_string()),
        }
    }
}

impl From<FeatureError> for GatewayError {
    fn from(error: FeatureError) -> Self {
        match error {
            FeatureError::Unavailable(_) => GatewayError::Unavailable(error.to_string()),
            _ => GatewayError::Internal(error.to_string()),
        }
    }
}

impl From<lucid_model::ModelError> for GatewayError {
    fn from(error: lucid_model::ModelError) -> Self {
        match error {
            lucid_model::ModelError::Infinite { .. } | lucid_model::ModelError::RowWidth { .. } => {
                GatewayError::BadRequest(error.to_string())
            }
            _ => GatewayError::Internal(error.to_string()),
        }
    }
}

impl From<GatewayError> for tonic::Status {
    fn from(error: GatewayError) -> Self {
        tonic::Status::new(error.grpc_code(), error.to_string())
    }
}

/// The KServe V2 error body: `{"error": "<message>"}`.
impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        (self.http_status(), Json(body)).into_response()
    }
}
