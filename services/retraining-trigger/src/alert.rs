//! Reading a `DriftAlert` (`schemas/drift-alert.avsc`) into what the policy needs.

use apache_avro::types::Value;

use crate::policy::{Alert, AlertReason, Band};

/// Reads the fields the policy uses; the message names what is missing or malformed.
pub fn from_avro(value: Value) -> Result<Alert, String> {
    let Value::Record(fields) = value else {
        return Err("a drift alert is not a record".into());
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| format!("field {name} is missing"))
    };
    Ok(Alert {
        alert_id: string(field("alert_id")?, "alert_id")?,
        monitor: string(field("monitor")?, "monitor")?,
        model_name: match field("model_name")? {
            Value::Union(_, inner) => match inner.as_ref() {
                Value::Null => None,
                other => Some(string(other, "model_name")?),
            },
            other => Some(string(other, "model_name")?),
        },
        band: band(field("band")?)?,
        reason: reason(field("reason")?)?,
        window_start: millis(field("window_start")?, "window_start")?,
        window_end: millis(field("window_end")?, "window_end")?,
        current_count: millis(field("current_count")?, "current_count")?,
    })
}

fn string(value: &Value, name: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("field {name} is not a string: {other:?}")),
    }
}

fn millis(value: &Value, name: &str) -> Result<i64, String> {
    match value {
        Value::Long(v) | Value::TimestampMillis(v) => Ok(*v),
        Value::Int(v) => Ok(i64::from(*v)),
        other => Err(format!("field {name} is not a long: {other:?}")),
    }
}

fn band(value: &Value) -> Result<Band, String> {
    match value {
        Value::Enum(_, symbol) => match symbol.as_str() {
            "OK" => Ok(Band::Ok),
            "WARNING" => Ok(Band::Warning),
            "DRIFT" => Ok(Band::Drift),
            "INSUFFICIENT_DATA" => Ok(Band::InsufficientData),
            other => Err(format!("unknown band {other}")),
        },
        other => Err(format!("band is not an enum: {other:?}")),
    }
}

fn reason(value: &Value) -> Result<AlertReason, String> {
    match value {
        Value::Enum(_, symbol) => match symbol.as_str() {
            "ENTERED" => Ok(AlertReason::Entered),
            "LEFT" => Ok(AlertReason::Left),
            "REPEATED" => Ok(AlertReason::Repeated),
            other => Err(format!("unknown alert reason {other}")),
        },
        other => Err(format!("reason is not an enum: {other:?}")),
    }
}

/// A `DriftAlert` record as the drift detector publishes it, for tests and demos: one column,
/// the given band and window.
pub fn record(alert: &Alert, detected_time: i64) -> Value {
    let (band_index, band_symbol) = match alert.band {
        Band::Ok => (0, "OK"),
        Band::Warning => (1, "WARNING"),
        Band::Drift => (2, "DRIFT"),
        Band::InsufficientData => (3, "INSUFFICIENT_DATA"),
    };
    let (reason_index, reason_symbol) = match alert.reason {
        AlertReason::Entered => (0, "ENTERED"),
        AlertReason::Left => (1, "LEFT"),
        AlertReason::Repeated => (2, "REPEATED"),
    };
    let model = match &alert.model_name {
        Some(m) => Value::Union(1, Box::new(Value::String(m.clone()))),
        None => Value::Union(0, Box::new(Value::Null)),
    };
    let drifted = alert.band == Band::Drift;
    let column = Value::Record(vec![
        ("column".into(), Value::String("listened_ms".into())),
        ("method".into(), Value::String("wasserstein".into())),
        (
            "statistic".into(),
            Value::Union(1, Box::new(Value::Double(0.2))),
        ),
        ("p_value".into(), Value::Union(0, Box::new(Value::Null))),
        (
            "value".into(),
            Value::Union(1, Box::new(Value::Double(0.2))),
        ),
        ("warning_threshold".into(), Value::Double(0.05)),
        ("drift_threshold".into(), Value::Double(0.1)),
        ("band".into(), Value::Enum(band_index, band_symbol.into())),
        ("reference_count".into(), Value::Long(alert.current_count)),
        ("current_count".into(), Value::Long(alert.current_count)),
        ("excluded".into(), Value::Long(0)),
    ]);
    Value::Record(vec![
        ("alert_id".into(), Value::String(alert.alert_id.clone())),
        ("monitor".into(), Value::String(alert.monitor.clone())),
        ("model_name".into(), model),
        (
            "model_version".into(),
            Value::Union(0, Box::new(Value::Null)),
        ),
        ("band".into(), Value::Enum(band_index, band_symbol.into())),
        ("previous_band".into(), Value::Enum(0, "OK".into())),
        (
            "reason".into(),
            Value::Enum(reason_index, reason_symbol.into()),
        ),
        (
            "window_start".into(),
            Value::TimestampMillis(alert.window_start),
        ),
        (
            "window_end".into(),
            Value::TimestampMillis(alert.window_end),
        ),
        ("reference_count".into(), Value::Long(alert.current_count)),
        ("current_count".into(), Value::Long(alert.current_count)),
        ("columns".into(), Value::Array(vec![column])),
        (
            "drift_share".into(),
            Value::Double(if drifted { 1.0 } else { 0.0 }),
        ),
        ("share_threshold".into(), Value::Double(0.5)),
        ("dataset_drift".into(), Value::Boolean(drifted)),
        (
            "detected_time".into(),
            Value::TimestampMillis(detected_time),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use lucid_avro::{Codec, DRIFT_ALERT, SchemaSet};

    #[tokio::test]
    async fn an_alert_survives_the_shipped_schema_both_ways() {
        let alert = Alert {
            alert_id: "a1".into(),
            monitor: "listening-outcomes".into(),
            model_name: Some("skip-model".into()),
            band: Band::Drift,
            reason: AlertReason::Entered,
            window_start: 1_000,
            window_end: 2_000,
            current_count: 2_900,
        };
        let codec = Codec::single_object(SchemaSet::shipped());
        let encoder = codec.encoder(DRIFT_ALERT, "x").await.expect("schema");
        let bytes = encoder.encode(record(&alert, 3_000)).expect("valid");
        let decoded = codec.decode(&bytes, DRIFT_ALERT).await.expect("decodes");
        assert_eq!(from_avro(decoded.value), Ok(alert));
    }
}
