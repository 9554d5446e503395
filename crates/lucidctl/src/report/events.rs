//! The platform's decisions as the report needs them, read out of their Avro records.
//!
//! Records are resolved to the newest shipped schema of their kind, so a field the report reads
//! is always there (older writers get the schema defaults).

use apache_avro::types::Value;
use lucid_avro::{Codec, DRIFT_ALERT, RETRAINING_RUN, ROLLOUT_EVENT, SINGLE_OBJECT_MAGIC};

/// One transition of a rollout (`rollouts`, `RolloutEvent`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    pub model_name: String,
    pub from_version: Option<String>,
    pub to_version: String,
    pub transition: String,
    pub state: String,
    /// `(version, percent)` of every route now in force.
    pub weights: Vec<(String, i32)>,
    pub verdict: Option<String>,
    pub stable_log_loss: Option<f64>,
    pub candidate_log_loss: Option<f64>,
    pub stable_calibration_error: Option<f64>,
    pub candidate_calibration_error: Option<f64>,
    pub reason: String,
    pub event_time: i64,
}

/// A drift alert (`drift-alerts`, `DriftAlert`).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub monitor: String,
    pub band: String,
    pub previous_band: String,
    pub reason: String,
    pub drift_share: f64,
    /// The columns in the drift band.
    pub drifted: Vec<String>,
    pub detected_time: i64,
}

/// A retraining decision or state change (`retraining-runs`, `RetrainingRun`).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub model_name: String,
    pub status: String,
    pub trigger: String,
    pub model_version: Option<String>,
    pub reason: String,
    pub event_time: i64,
}

/// What was read from the three topics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Events {
    pub rollouts: Vec<Rollout>,
    pub alerts: Vec<Alert>,
    pub runs: Vec<Run>,
}

impl Events {
    /// Keeps the events at or after `since_ms`, each kind in time order.
    pub fn since(mut self, since_ms: i64) -> Self {
        self.rollouts.retain(|r| r.event_time >= since_ms);
        self.alerts.retain(|a| a.detected_time >= since_ms);
        self.runs.retain(|r| r.event_time >= since_ms);
        self.rollouts.sort_by_key(|r| r.event_time);
        self.alerts.sort_by_key(|a| a.detected_time);
        self.runs.sort_by_key(|r| r.event_time);
        self
    }
}

/// Decodes a single-object record written with any shipped version of `reader`; `None` for
/// bytes this version of lucidctl cannot read.
pub async fn decode(codec: &Codec, bytes: &[u8], reader: &str) -> Option<Value> {
    if bytes.len() < 10 || bytes[..2] != SINGLE_OBJECT_MAGIC {
        return None;
    }
    Some(codec.decode(bytes, reader).await.ok()?.value)
}

/// The reader schema of each topic's records.
pub fn reader_of(topic: &str) -> Option<&'static str> {
    match topic {
        "rollouts" => Some(ROLLOUT_EVENT),
        "drift-alerts" => Some(DRIFT_ALERT),
        "retraining-runs" => Some(RETRAINING_RUN),
        _ => None,
    }
}

/// A `RolloutEvent` value as a [`Rollout`].
pub fn rollout(value: &Value) -> Option<Rollout> {
    let r = Fields::of(value)?;
    let weights = match r.get("weights")? {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| {
                let w = Fields::of(item)?;
                Some((w.string("version")?, w.long("weight")? as i32))
            })
            .collect(),
        _ => Vec::new(),
    };
    Some(Rollout {
        model_name: r.string("model_name")?,
        from_version: r.string("from_version"),
        to_version: r.string("to_version")?,
        transition: r.string("transition")?,
        state: r.string("state")?,
        weights,
        verdict: r.string("verdict"),
        stable_log_loss: r.double("stable_log_loss"),
        candidate_log_loss: r.double("candidate_log_loss"),
        stable_calibration_error: r.double("stable_calibration_error"),
        candidate_calibration_error: r.double("candidate_calibration_error"),
        reason: r.string("reason").unwrap_or_default(),
        event_time: r.long("event_time")?,
    })
}

/// A `DriftAlert` value as an [`Alert`].
pub fn alert(value: &Value) -> Option<Alert> {
    let a = Fields::of(value)?;
    let drifted = match a.get("columns") {
        Some(Value::Array(columns)) => columns
            .iter()
            .filter_map(Fields::of)
            .filter(|c| c.string("band").as_deref() == Some("DRIFT"))
            .filter_map(|c| c.string("column"))
            .collect(),
        _ => Vec::new(),
    };
    Some(Alert {
        monitor: a.string("monitor")?,
        band: a.string("band")?,
        previous_band: a.string("previous_band").unwrap_or_default(),
        reason: a.string("reason").unwrap_or_default(),
        drift_share: a.double("drift_share").unwrap_or_default(),
        drifted,
        detected_time: a.long("detected_time")?,
    })
}

/// A `RetrainingRun` value as a [`Run`].
pub fn run(value: &Value) -> Option<Run> {
    let r = Fields::of(value)?;
    Some(Run {
        model_name: r.string("model_name")?,
        status: r.string("status")?,
        trigger: r.string("trigger").unwrap_or_default(),
        model_version: r.string("model_version"),
        reason: r.string("reason").unwrap_or_default(),
        event_time: r.long("event_time")?,
    })
}

/// The fields of a record value, read by name; unions are looked through.
struct Fields<'a>(&'a [(String, Value)]);

impl<'a> Fields<'a> {
    fn of(value: &'a Value) -> Option<Self> {
        match value {
            Value::Record(fields) => Some(Fields(fields)),
            _ => None,
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        let (_, value) = self.0.iter().find(|(n, _)| n == name)?;
        Some(match value {
            Value::Union(_, inner) => inner,
            other => other,
        })
    }

    fn string(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            Value::String(s) | Value::Enum(_, s) => Some(s.clone()),
            _ => None,
        }
    }

    fn long(&self, name: &str) -> Option<i64> {
        match *self.get(name)? {
            Value::Int(n) => Some(n.into()),
            Value::Long(n) | Value::TimestampMillis(n) => Some(n),
            _ => None,
        }
    }

    fn double(&self, name: &str) -> Option<f64> {
        match *self.get(name)? {
            Value::Double(x) => Some(x),
            Value::Float(x) => Some(x.into()),
            _ => None,
        }
    }
}
