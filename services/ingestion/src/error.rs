//! Request-level errors and their HTTP status and gRPC code, mapped here and nowhere else.

use axum::{
    Json,
    http::{
        HeaderValue, StatusCode,
        header::{RETRY_AFTER, WWW_AUTHENTICATE},
    },
    response::{IntoResponse, Response},
};
use lucid_events::{ErrorBody, ErrorResponse};

/// Seconds a client should wait before retrying after a 503 / UNAVAILABLE.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// A request refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No API key, or one that is not allowed.
    #[error("a valid API key is required: send `authorization: Bearer <key>`")]
    Unauthenticated,
    /// The body is larger than the limit.
    #[error("request body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// More events than allowed in one request.
    #[error("request holds {count} events; at most {limit} are allowed per request")]
    TooManyEvents {
        /// Events sent.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The body is not valid JSON.
    #[error("body is not valid JSON: {0}")]
    MalformedJson(String),
    /// The body is JSON but not an array.
    #[error("body must be a JSON array of events, found {0}")]
    NotAnArray(&'static str),
    /// The body is not plain JSON (another content type, or compressed).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No such route.
    #[error("no route {0}; events go to POST /v1/events")]
    NotFound(String),
    /// The route exists for another method.
    #[error("method not allowed; events go to POST /v1/events")]
    MethodNotAllowed,
    /// A dependency (idempotency store, broker) is down; nothing was produced.
    #[error("service unavailable, retry later: {0}")]
    Unavailable(String),
}

impl ApiError {
    /// The stable code in the error body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::BodyTooLarge { .. } => "body_too_large",
            ApiError::TooManyEvents { .. } => "too_many_events",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::NotAnArray(_) => "not_an_array",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Unavailable(_) => "unavailable",
        }
    }

    /// The HTTP status.
    pub fn http_status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::BodyTooLarge { .. } | ApiError::TooManyEvents { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::MalformedJson(_) | ApiError::NotAnArray(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The gRPC status code.
    pub fn grpc_code(&self) -> tonic::Code {
        match self {
            ApiError::Unauthenticated => tonic::Code::Unauthenticated,
            ApiError::BodyTooLarge { .. } | ApiError::TooManyEvents { .. } => {
                tonic::Code::InvalidArgument
            }
            ApiError::MalformedJson(_) | ApiError::NotAnArray(_) => tonic::Code::InvalidArgument,
            ApiError::UnsupportedMediaType(_) => tonic::Code::InvalidArgument,
            ApiError::NotFound(_) | ApiError::MethodNotAllowed => tonic::Code::Unimplemented,
            ApiError::Unavailable(_) => tonic::Code::Unavailable,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorResponse {
            error: ErrorBody {
                code: self.code().into(),
                message: self.to_string(),
            },
        };
        metrics::counter!(crate::metrics::REQUESTS_REFUSED, "code" => self.code()).increment(1);
        let mut response = (self.http_status(), Json(body)).into_response();
        if self.http_status() == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.http_status() == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}

impl From<ApiError> for tonic::Status {
    fn from(error: ApiError) -> Self {
        let mut status = tonic::Status::new(error.grpc_code(), error.to_string());
        if error.grpc_code() == tonic::Code::Unavailable {
            status
                .metadata_mut()
                .insert("retry-after", RETRY_AFTER_SECONDS.into());
        }
        status
    }
}

/// The status and headers of a batch whose events all got an outcome: 200, or 503 with
/// `Retry-After` when some events must be resent.
pub fn batch_status(
    has_retryable: bool,
) -> (StatusCode, Option<(axum::http::HeaderName, HeaderValue)>) {
    if has_retryable {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some((RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS))),
        )
    } else {
        (StatusCode::OK, None)
    }
}
