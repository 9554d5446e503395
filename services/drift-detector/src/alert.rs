//! When a check becomes an alert, and the `DriftAlert` record.
//!
//! A monitor publishes when it enters a band (WARNING or DRIFT), when it leaves one (to a lower
//! band), and again while it stays in WARNING or DRIFT only once `hold_off` has passed since its
//! last alert: no storms. INSUFFICIENT_DATA never alerts and never clears a band. The first OK
//! after start-up is silent: there is nothing to clear.
//!
//! The published state (band, last alert time, and the event time the last check reached) is
//! kept in Redis, so a restart that replays the topic stays silent until the replay passes the
//! checks it had already made.

use apache_avro::types::Value;
use serde::{Deserialize, Serialize};

use crate::monitor::{BandName, Report};

/// Why an alert was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// Entered WARNING or DRIFT (or moved up from WARNING to DRIFT).
    Entered,
    /// Moved down to a lower band.
    Left,
    /// Still in its band after the hold-off.
    Repeated,
}

/// What a monitor last published, persisted between runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Published {
    /// The band of the last alert (OK before any).
    pub band: Band,
    /// Wall-clock time of the last alert, epoch ms.
    pub at: Option<i64>,
    /// Window end (event time) of the newest check made, epoch ms.
    pub checked_until: i64,
}

/// A band as the state machine orders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Band {
    /// No threshold crossed.
    Ok,
    /// A warning.
    Warning,
    /// Drift.
    Drift,
}

impl Default for Published {
    fn default() -> Self {
        Published {
            band: Band::Ok,
            at: None,
            checked_until: i64::MIN,
        }
    }
}

impl Published {
    /// Decides on a check at wall-clock `now`; updates the state when it alerts.
    pub fn decide(&mut self, report: &Report, now: i64, hold_off_ms: i64) -> Option<Reason> {
        if report.window_end <= self.checked_until {
            // A replay of a check made before a restart.
            return None;
        }
        self.checked_until = report.window_end;
        let band = match report.band {
            BandName::InsufficientData => return None,
            BandName::Ok => Band::Ok,
            BandName::Warning => Band::Warning,
            BandName::Drift => Band::Drift,
        };
        let reason = match band.cmp(&self.band) {
            std::cmp::Ordering::Greater => Reason::Entered,
            std::cmp::Ordering::Less => Reason::Left,
            std::cmp::Ordering::Equal if band == Band::Ok => return None,
            std::cmp::Ordering::Equal => {
                let due = self.at.is_none_or(|at| now - at >= hold_off_ms);
                if !due {
                    return None;
                }
                Reason::Repeated
            }
        };
        self.band = band;
        self.at = Some(now);
        Some(reason)
    }
}

fn band_symbol(band: BandName) -> (u32, &'static str) {
    match band {
        BandName::Ok => (0, "OK"),
        BandName::Warning => (1, "WARNING"),
        BandName::Drift => (2, "DRIFT"),
        BandName::InsufficientData => (3, "INSUFFICIENT_DATA"),
    }
}

fn band_name(band: Band) -> BandName {
    match band {
        Band::Ok => BandName::Ok,
        Band::Warning => BandName::Warning,
        Band::Drift => BandName::Drift,
    }
}

/// The `DriftAlert` Avro record of a report (`schemas/drift-alert.avsc`).
pub fn record(report: &Report, reason: Reason, before: Band, id: &str, now: i64) -> Value {
    let optional = |v: Option<f64>| match v {
        Some(v) => Value::Union(1, Box::new(Value::Double(v))),
        None => Value::Union(0, Box::new(Value::Null)),
    };
    let text = |v: &Option<String>| match v {
        Some(v) => Value::Union(1, Box::new(Value::String(v.clone()))),
        None => Value::Union(0, Box::new(Value::Null)),
    };
    let band = |b: BandName| {
        let (index, symbol) = band_symbol(b);
        Value::Enum(index, symbol.into())
    };
    let (reason_index, reason_symbol) = match reason {
        Reason::Entered => (0, "ENTERED"),
        Reason::Left => (1, "LEFT"),
        Reason::Repeated => (2, "REPEATED"),
    };
    let columns = report
        .columns
        .iter()
        .map(|c| {
            Value::Record(vec![
                ("column".into(), Value::String(c.column.clone())),
                ("method".into(), Value::String(c.method.clone())),
                ("statistic".into(), optional(c.statistic)),
                ("p_value".into(), optional(c.p_value)),
                ("value".into(), optional(c.value)),
                (
                    "warning_threshold".into(),
                    Value::Double(c.warning_threshold),
                ),
                ("drift_threshold".into(), Value::Double(c.drift_threshold)),
                ("band".into(), band(c.band)),
                (
                    "reference_count".into(),
                    Value::Long(c.reference_count as i64),
                ),
                ("current_count".into(), Value::Long(c.current_count as i64)),
                ("excluded".into(), Value::Long(c.excluded as i64)),
            ])
        })
        .collect();
    Value::Record(vec![
        ("alert_id".into(), Value::String(id.to_owned())),
        ("monitor".into(), Value::String(report.monitor.clone())),
        ("model_name".into(), text(&report.model_name)),
        ("model_version".into(), text(&report.model_version)),
        ("band".into(), band(report.band)),
        ("previous_band".into(), band(band_name(before))),
        (
            "reason".into(),
            Value::Enum(reason_index, reason_symbol.into()),
        ),
        (
            "window_start".into(),
            Value::TimestampMillis(report.window_start),
        ),
        (
            "window_end".into(),
            Value::TimestampMillis(report.window_end),
        ),
        (
            "reference_count".into(),
            Value::Long(report.reference_count as i64),
        ),
        (
            "current_count".into(),
            Value::Long(report.current_count as i64),
        ),
        ("columns".into(), Value::Array(columns)),
        ("drift_share".into(), Value::Double(report.drift_share)),
        (
            "share_threshold".into(),
            Value::Double(report.share_threshold),
        ),
        ("dataset_drift".into(), Value::Boolean(report.dataset_drift)),
        ("detected_time".into(), Value::TimestampMillis(now)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(band: BandName, window_end: i64) -> Report {
        Report {
            monitor: "m".into(),
            model_name: None,
            model_version: None,
            band,
            window_start: 0,
            window_end,
            reference_count: 100,
            current_count: 100,
            columns: Vec::new(),
            drift_share: 0.0,
            share_threshold: 0.5,
            dataset_drift: false,
        }
    }

    #[test]
    fn alerts_on_entering_and_leaving_and_after_the_hold_off_only() {
        use BandName::*;
        let mut state = Published::default();
        let hold_off = 600_000;
        // (band, window end, wall clock) -> expected reason
        let steps = [
            (Ok, 1, 0, None),
            (InsufficientData, 2, 10, None),
            (Warning, 3, 20, Some(Reason::Entered)),
            (Drift, 4, 30, Some(Reason::Entered)),
            (Drift, 5, 40, None),
            (InsufficientData, 6, 50, None),
            (Drift, 7, 600_030, Some(Reason::Repeated)),
            (Drift, 8, 600_040, None),
            (Warning, 9, 600_050, Some(Reason::Left)),
            (Ok, 10, 600_060, Some(Reason::Left)),
            (Ok, 11, 9_000_000, None),
        ];
        for (band, end, now, expected) in steps {
            assert_eq!(
                state.decide(&report(band, end), now, hold_off),
                expected,
                "{band:?} at {now}"
            );
        }
    }

    #[test]
    fn a_replayed_check_is_silent() {
        let mut state = Published::default();
        assert_eq!(
            state.decide(&report(BandName::Drift, 100), 0, 1),
            Some(Reason::Entered)
        );
        let mut restarted = state;
        assert_eq!(restarted.decide(&report(BandName::Ok, 50), 5, 1), None);
        assert_eq!(restarted.decide(&report(BandName::Drift, 100), 6, 1), None);
        assert_eq!(
            restarted.decide(&report(BandName::Ok, 101), 7, 1),
            Some(Reason::Left)
        );
    }
}

#[cfg(test)]
mod encoding {
    use super::*;
    use crate::monitor::ColumnReport;
    use lucid_avro::{Codec, DRIFT_ALERT, SchemaSet};

    #[tokio::test]
    async fn an_alert_encodes_with_the_shipped_schema_and_reads_back() {
        let column = ColumnReport {
            column: "listened_ms".into(),
            method: "wasserstein".into(),
            statistic: Some(0.8),
            p_value: None,
            value: Some(0.8),
            warning_threshold: 0.05,
            drift_threshold: 0.1,
            band: BandName::Drift,
            reference_count: 3000,
            current_count: 2900,
            excluded: 3,
        };
        let report = Report {
            monitor: "listening-outcomes".into(),
            model_name: Some("skip-model".into()),
            model_version: None,
            band: BandName::Drift,
            window_start: 10,
            window_end: 20,
            reference_count: 3000,
            current_count: 2900,
            columns: vec![column],
            drift_share: 1.0,
            share_threshold: 0.25,
            dataset_drift: true,
        };
        let codec = Codec::single_object(SchemaSet::shipped());
        let encoder = codec
            .encoder(DRIFT_ALERT, "drift-alerts-value")
            .await
            .expect("schema");
        let value = record(&report, Reason::Entered, Band::Ok, "id-1", 30);
        let bytes = encoder
            .encode(value)
            .expect("the record follows the schema");
        let decoded = codec.decode(&bytes, DRIFT_ALERT).await.expect("reads back");
        let Value::Record(fields) = decoded.value else {
            panic!("a record")
        };
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("band"), Some(Value::Enum(2, "DRIFT".into())));
        assert_eq!(get("previous_band"), Some(Value::Enum(0, "OK".into())));
        assert_eq!(get("reason"), Some(Value::Enum(0, "ENTERED".into())));
        assert_eq!(get("window_end"), Some(Value::TimestampMillis(20)));
    }
}
