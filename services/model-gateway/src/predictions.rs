//! Every prediction, shadow ones included, as a `PredictionLog` record on the predictions topic,
//! keyed by the listener's pseudonym.
//!
//! Logging does not hold up the answer: the record is queued on the producer at once and its
//! delivery report is awaited in a task of its own. A record that cannot be queued or delivered
//! is counted and logged (rate-limited by the producer's queue: it fails fast when full).

use apache_avro::types::Value;
use lucid_avro::Encoder;
use lucid_kafka::Producer;

use crate::metrics as m;

/// The schema's `Route` symbols, in schema order.
pub const ROUTE_SYMBOLS: [&str; 5] = ["STABLE", "CANARY", "BLUE", "GREEN", "SHADOW"];

/// The shadow route's symbol.
pub const SHADOW: &str = "SHADOW";

/// One scored row.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The request's id.
    pub request_id: String,
    /// Registered model name.
    pub model: String,
    /// The version that scored.
    pub version: String,
    /// One of [`ROUTE_SYMBOLS`].
    pub route: &'static str,
    /// The listener, when the request named one.
    pub user: Option<String>,
    /// The session, when the request named one.
    pub session: Option<String>,
    /// The track, when the request named one.
    pub track: Option<i64>,
    /// The values the model saw, by feature name; `None` where it imputed.
    pub features: Vec<(String, Option<f64>)>,
    /// The score.
    pub score: f64,
    /// When it was scored, epoch milliseconds.
    pub predicted_ms: i64,
    /// Time in the gateway for the request, microseconds.
    pub latency_us: i64,
}

impl Prediction {
    /// The Avro value of the `PredictionLog` schema.
    pub fn to_avro(&self) -> Value {
        let route = ROUTE_SYMBOLS
            .iter()
            .position(|s| *s == self.route)
            .expect("routes are schema symbols");
        let features = self
            .features
            .iter()
            .map(|(name, value)| (name.clone(), nullable(value.map(Value::Double))))
            .collect();
        Value::Record(vec![
            ("request_id".into(), Value::String(self.request_id.clone())),
            ("model_name".into(), Value::String(self.model.clone())),
            ("model_version".into(), Value::String(self.version.clone())),
            (
                "route".into(),
                Value::Enum(route as u32, self.route.to_owned()),
            ),
            (
                "user_pseudonym".into(),
                nullable(self.user.clone().map(Value::String)),
            ),
            (
                "session_id".into(),
                nullable(self.session.clone().map(Value::String)),
            ),
            ("track_id".into(), nullable(self.track.map(Value::Long))),
            ("features".into(), Value::Map(features)),
            ("score".into(), Value::Double(self.score)),
            (
                "predicted_time".into(),
                Value::TimestampMillis(self.predicted_ms),
            ),
            ("latency_us".into(), Value::Long(self.latency_us)),
        ])
    }
}

fn nullable(value: Option<Value>) -> Value {
    match value {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(v) => Value::Union(1, Box::new(v)),
    }
}

/// Writes predictions to the topic.
#[derive(Clone)]
pub struct PredictionLog {
    pub(crate) producer: Producer,
    pub(crate) encoder: std::sync::Arc<Encoder>,
    pub(crate) topic: String,
}

impl PredictionLog {
    /// Queues `prediction`; its delivery is awaited in the background.
    pub fn log(&self, prediction: &Prediction) {
        let route = prediction.route;
        let bytes = match self.encoder.encode(prediction.to_avro()) {
            Ok(bytes) => bytes,
            Err(error) => {
                metrics::counter!(m::LOG_ERRORS).increment(1);
                tracing::error!(%error, "failed to encode a prediction");
                return;
            }
        };
        let key = prediction.user.as_deref().map(str::as_bytes);
        let delivery = match self.producer.send(&self.topic, key, &bytes) {
            Ok(delivery) => delivery,
            Err(error) => {
                metrics::counter!(m::LOG_ERRORS).increment(1);
                tracing::warn!(%error, "failed to queue a prediction");
                return;
            }
        };
        tokio::spawn(async move {
            match delivery.await {
                Ok(_) => metrics::counter!(m::LOGGED, "route" => route).increment(1),
                Err(error) => {
                    metrics::counter!(m::LOG_ERRORS).increment(1);
                    tracing::warn!(%error, "failed to deliver a prediction");
                }
            }
        });
    }

    /// Waits up to `timeout` for queued predictions to be delivered.
    pub async fn flush(&self, timeout: std::time::Duration) {
        self.producer.flush(timeout).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lucid_avro::{Codec, PREDICTION_LOG, SchemaSet};

    #[tokio::test]
    async fn encodes_and_decodes_with_the_shipped_schema() {
        let codec = Codec::single_object(SchemaSet::shipped());
        let encoder = codec
            .encoder(PREDICTION_LOG, "test")
            .await
            .expect("encoder");
        let prediction = Prediction {
            request_id: "r-1".into(),
            model: "skip-model".into(),
            version: "4".into(),
            route: SHADOW,
            user: Some("u".into()),
            session: None,
            track: Some(12),
            features: vec![("a:x".into(), Some(0.5)), ("a:y".into(), None)],
            score: 0.25,
            predicted_ms: 1_796_317_200_000,
            latency_us: 900,
        };
        let bytes = encoder.encode(prediction.to_avro()).expect("encodes");
        let decoded = codec.decode(&bytes, PREDICTION_LOG).await.expect("decodes");
        let Value::Record(fields) = decoded.value else {
            panic!("a record")
        };
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(field("route"), Some(Value::Enum(4, "SHADOW".into())));
        assert_eq!(field("score"), Some(Value::Double(0.25)));
        assert_eq!(
            field("track_id"),
            Some(Value::Union(1, Box::new(Value::Long(12))))
        );
    }
}
