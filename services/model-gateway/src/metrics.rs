//! Metric names of the model gateway, declared in one place. Labels: `model` (from config;
//! `other` for a name not served), `version` (registered versions of those models), `route`
//! (the five schema symbols), `protocol` (`http`, `grpc`) and `reason` (the error kinds
//! below): all bounded.

use metrics::{Unit, describe_counter, describe_histogram};

/// Inference requests answered, by `model`, `version`, `route` and `protocol`.
pub const REQUESTS: &str = "lucid_model_gateway_requests_total";
/// Rows scored, by `model`, `version` and `route` (shadow included).
pub const ROWS: &str = "lucid_model_gateway_rows_scored_total";
/// Requests that failed, by `model`, `version` (empty before routing) and `reason`.
pub const ERRORS: &str = "lucid_model_gateway_errors_total";
/// Time from request to answer, by `model`, `version` and `route`.
pub const REQUEST_DURATION: &str = "lucid_model_gateway_request_duration_seconds";
/// Time of the feature store lookups of one request.
pub const FEATURE_DURATION: &str = "lucid_model_gateway_feature_fetch_duration_seconds";
/// Predictions written to the predictions topic, by `route`.
pub const LOGGED: &str = "lucid_model_gateway_predictions_logged_total";
/// Predictions that could not be logged (encoding or delivery failed).
pub const LOG_ERRORS: &str = "lucid_model_gateway_prediction_log_errors_total";
/// Model versions loaded from the registry, by `model` and `version`.
pub const LOADS: &str = "lucid_model_gateway_model_loads_total";
/// Failed reads of route tables or the champion alias, by `model`.
pub const ROUTE_ERRORS: &str = "lucid_model_gateway_route_read_errors_total";

/// Error reasons, the values of the `reason` label.
pub mod reason {
    /// The request was malformed.
    pub const BAD_REQUEST: &str = "bad_request";
    /// Registry, feature store or Redis did not answer.
    pub const UNAVAILABLE: &str = "unavailable";
    /// The model failed to score.
    pub const INTERNAL: &str = "internal";
}

/// Registers help text and units; call once at start.
pub fn describe() {
    describe_counter!(
        REQUESTS,
        Unit::Count,
        "Inference requests answered, by model, version, route and protocol."
    );
    describe_counter!(
        ROWS,
        Unit::Count,
        "Rows scored, by model, version and route (shadow included)."
    );
    describe_counter!(
        ERRORS,
        Unit::Count,
        "Inference requests that failed, by model, version and reason."
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from inference request to answer, by model, version and route."
    );
    describe_histogram!(
        FEATURE_DURATION,
        Unit::Seconds,
        "Time of the feature store lookups of one request."
    );
    describe_counter!(
        LOGGED,
        Unit::Count,
        "Predictions written to the predictions topic, by route."
    );
    describe_counter!(
        LOG_ERRORS,
        Unit::Count,
        "Predictions that could not be written to the predictions topic."
    );
    describe_counter!(
        LOADS,
        Unit::Count,
        "Model versions loaded from the registry, by model and version."
    );
    describe_counter!(
        ROUTE_ERRORS,
        Unit::Count,
        "Failed reads of a route table or the champion alias, by model."
    );
}
