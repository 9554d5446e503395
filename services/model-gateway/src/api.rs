//! The KServe V2 (Open Inference Protocol) REST API, with health and metrics beside it.
//!
//! `GET /v2/health/live`, `GET /v2/health/ready`, `GET /v2/models/{name}`,
//! `GET /v2/models/{name}/ready`, `POST /v2/models/{name}/infer`; `/healthz`, `/readyz`,
//! `/metrics` as every service has them.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    error::GatewayError,
    infer::{Answer, Gateway, Request},
    tensors::{self, Data, OUTPUT, Tensor},
};

/// The request parameter carrying the request id.
pub const REQUEST_ID: &str = "request_id";
/// The request parameter choosing the output's datatype, `FP32` (default) or `FP64`.
pub const OUTPUT_DATATYPE: &str = "output_datatype";
/// Parameter: the time the request is made as of, epoch milliseconds (replays).
pub const REQUEST_TIME: &str = "request_time";

#[derive(Clone)]
struct HttpState {
    gateway: Gateway,
    prometheus: metrics_exporter_prometheus::PrometheusHandle,
}

/// The HTTP routes.
pub fn router(gateway: Gateway) -> Router {
    let state = HttpState {
        gateway,
        prometheus: lucid_telemetry::prometheus(),
    };
    Router::new()
        .route("/v2", get(server_metadata))
        .route(
            "/v2/health/live",
            get(|| async { Json(json!({"live": true})) }),
        )
        .route("/v2/health/ready", get(ready))
        .route("/v2/models/{name}", get(model_metadata))
        .route("/v2/models/{name}/ready", get(model_ready))
        .route("/v2/models/{name}/infer", post(infer))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route(
            "/metrics",
            get(|State(s): State<HttpState>| async move { s.prometheus.render() }),
        )
        .with_state(state)
}

async fn server_metadata() -> Json<Value> {
    Json(json!({
        "name": crate::SERVER_NAME,
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": [],
    }))
}

async fn ready(State(state): State<HttpState>) -> Response {
    let ready = state.gateway.ready();
    (status(ready), Json(json!({ "ready": ready }))).into_response()
}

async fn model_ready(State(state): State<HttpState>, Path(name): Path<String>) -> Response {
    if !state.gateway.serves(&name) {
        return GatewayError::UnknownModel(name).into_response();
    }
    let ready = state.gateway.stable(&name).is_ok();
    (status(ready), Json(json!({ "name": name, "ready": ready }))).into_response()
}

fn status(ready: bool) -> StatusCode {
    if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

async fn model_metadata(
    State(state): State<HttpState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, GatewayError> {
    let metadata = state.gateway.metadata(&name)?;
    let tensor = |name: &str| json!({ "name": name, "datatype": "FP32", "shape": [-1] });
    Ok(Json(json!({
        "name": metadata.name,
        "versions": metadata.versions,
        "platform": crate::PLATFORM,
        "inputs": metadata.features.iter().map(|f| tensor(f)).collect::<Vec<_>>(),
        "outputs": [tensor(OUTPUT)],
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InferBody {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    parameters: Map<String, Value>,
    inputs: Vec<InputBody>,
    #[serde(default)]
    outputs: Vec<OutputBody>,
}

#[derive(Deserialize)]
struct InputBody {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    data: Value,
}

#[derive(Deserialize)]
struct OutputBody {
    name: String,
}

async fn infer(
    State(state): State<HttpState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, GatewayError> {
    let (request, fp64) = parse(&name, &body, state.gateway.max_rows())
        .inspect_err(|error| state.gateway.count_refused(&name, error))?;
    let request_id = request.request_id.clone();
    let answer = state.gateway.infer(request, "http").await?;
    Ok(Json(response(&name, &request_id, &answer, fp64)))
}

/// The request in `body`, and whether FP64 output was asked for.
fn parse(model: &str, body: &[u8], max_rows: usize) -> Result<(Request, bool), GatewayError> {
    let body: InferBody = serde_json::from_slice(body)
        .map_err(|e| GatewayError::bad(format!("the body is not a V2 inference request: {e}")))?;
    if let Some(other) = body.outputs.iter().find(|o| o.name != OUTPUT) {
        return Err(GatewayError::bad(format!(
            "output {:?} does not exist; the model has one output, {OUTPUT:?}",
            other.name
        )));
    }
    let fp64 = output_fp64(body.parameters.get(OUTPUT_DATATYPE))?;
    let request_id = request_id(body.parameters.get(REQUEST_ID), body.id.as_deref())?;
    let as_of_ms = request_time(body.parameters.get(REQUEST_TIME))?;
    let inputs = body
        .inputs
        .into_iter()
        .map(tensor)
        .collect::<Result<_, _>>()?;
    let request = Request {
        model: model.to_owned(),
        request_id,
        input: tensors::parse(inputs, max_rows)?,
        as_of_ms,
    };
    Ok((request, fp64))
}

fn response(model: &str, request_id: &str, answer: &Answer, fp64: bool) -> Value {
    let (datatype, data) = if fp64 {
        let widened: Vec<f64> = answer.scores.iter().map(|s| f64::from(*s)).collect();
        ("FP64", json!(widened))
    } else {
        ("FP32", json!(answer.scores))
    };
    json!({
        "model_name": model,
        "model_version": answer.version,
        "id": request_id,
        "parameters": { REQUEST_ID: request_id, "route": answer.route },
        "outputs": [{
            "name": OUTPUT,
            "datatype": datatype,
            "shape": [answer.scores.len()],
            "data": data,
        }],
    })
}

/// The request id: the `request_id` parameter, else the request's `id`, else a new UUID.
pub(crate) fn request_id(
    parameter: Option<&Value>,
    id: Option<&str>,
) -> Result<String, GatewayError> {
    let given = match parameter {
        None => id.filter(|i| !i.is_empty()),
        Some(Value::String(s)) if !s.is_empty() => Some(s.as_str()),
        Some(_) => {
            return Err(GatewayError::bad(format!(
                "parameter {REQUEST_ID:?} must be a non-empty string"
            )));
        }
    };
    Ok(given.map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned))
}

/// The `request_time` parameter: epoch milliseconds, a whole number after 2000-01-01 and not
/// more than a minute ahead of this clock.
pub(crate) fn request_time(parameter: Option<&Value>) -> Result<Option<i64>, GatewayError> {
    const Y2000_MS: i64 = 946_684_800_000;
    let Some(parameter) = parameter else {
        return Ok(None);
    };
    let latest = chrono::Utc::now().timestamp_millis() + 60_000;
    match parameter.as_i64() {
        Some(ms) if (Y2000_MS..=latest).contains(&ms) => Ok(Some(ms)),
        _ => Err(GatewayError::bad(format!(
            "parameter {REQUEST_TIME:?} must be epoch milliseconds between 2000-01-01 and a \
             minute from now, got {parameter}"
        ))),
    }
}

/// Whether the `output_datatype` parameter asks for FP64.
pub(crate) fn output_fp64(parameter: Option<&Value>) -> Result<bool, GatewayError> {
    match parameter.map(|v| v.as_str()) {
        None | Some(Some("FP32")) => Ok(false),
        Some(Some("FP64")) => Ok(true),
        Some(_) => Err(GatewayError::bad(format!(
            "parameter {OUTPUT_DATATYPE:?} must be \"FP32\" or \"FP64\""
        ))),
    }
}

fn tensor(input: InputBody) -> Result<Tensor, GatewayError> {
    let mut flat = Vec::new();
    flatten(input.data, &mut flat);
    let name = input.name;
    let wrong =
        |what: &str| GatewayError::bad(format!("input {name:?} ({}) holds {what}", input.datatype));
    let data = match input.datatype.as_str() {
        "BYTES" => Data::Bytes(
            flat.into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(wrong("a value that is not a string")),
                })
                .collect::<Result<_, _>>()?,
        ),
        "INT64" | "INT32" | "INT16" | "INT8" | "UINT32" | "UINT16" | "UINT8" => Data::Ints(
            flat.iter()
                .map(|v| {
                    v.as_i64()
                        .ok_or_else(|| wrong("a value that is not an integer"))
                })
                .collect::<Result<_, _>>()?,
        ),
        "FP64" | "FP32" => Data::Floats(
            flat.iter()
                // JSON has no NaN: null stands for a missing value, which the model imputes.
                .map(|v| {
                    v.as_f64()
                        .or(v.is_null().then_some(f64::NAN))
                        .ok_or_else(|| wrong("a value that is not a number or null"))
                })
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(GatewayError::bad(format!(
                "input {name:?} has datatype {other:?}; use BYTES, INT64, INT32, FP64 or FP32"
            )));
        }
    };
    Ok(Tensor {
        name,
        shape: input.shape,
        data,
    })
}

/// V2 JSON allows data flat or nested in row-major order.
fn flatten(value: Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(items) => items.into_iter().for_each(|v| flatten(v, out)),
        other => out.push(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_come_from_the_parameter_then_the_id() {
        let given = Value::String("r-1".into());
        assert_eq!(request_id(Some(&given), Some("x")).expect("ok"), "r-1");
        assert_eq!(request_id(None, Some("x")).expect("ok"), "x");
        assert_eq!(request_id(None, None).expect("new").len(), 36);
        assert!(request_id(Some(&json!(5)), None).is_err());
    }

    #[test]
    fn request_time_is_epoch_milliseconds_not_in_the_future() {
        assert_eq!(request_time(None).expect("none"), None);
        let given = json!(1_796_317_200_000_i64);
        assert_eq!(
            request_time(Some(&given)).expect("ok"),
            Some(1_796_317_200_000)
        );
        let next_year = json!(chrono::Utc::now().timestamp_millis() + 365 * 86_400_000);
        for bad in [json!("1796317200000"), json!(1.5), json!(5), next_year] {
            assert!(request_time(Some(&bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_nested_data_and_refuses_wrong_elements() {
        let input = |datatype: &str, data: Value| InputBody {
            name: "a:x".into(),
            shape: vec![2, 1],
            datatype: datatype.into(),
            data,
        };
        let t = tensor(input("FP32", json!([[1.5], [2]]))).expect("numbers");
        assert_eq!(t.data, Data::Floats(vec![1.5, 2.0]));
        let t = tensor(input("FP64", json!([null, 1]))).expect("null is missing");
        let Data::Floats(values) = t.data else {
            panic!("floats")
        };
        assert!(values[0].is_nan() && values[1] == 1.0, "{values:?}");
        let error = tensor(input("INT64", json!([1.5, 2]))).expect_err("not integers");
        assert!(error.to_string().contains("not an integer"), "{error}");
        let error = tensor(input("BOOL", json!([true]))).expect_err("unsupported");
        assert!(error.to_string().contains("datatype \"BOOL\""), "{error}");
    }

    #[test]
    fn fp64_only_on_request() {
        assert!(!output_fp64(None).expect("default"));
        assert!(output_fp64(Some(&json!("FP64"))).expect("fp64"));
        assert!(output_fp64(Some(&json!("INT8"))).is_err());
    }
}
