//! Metric names of the drift detector, declared in one place. Labels are monitor and column
//! names from the definitions file: bounded by it.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// Records read, by `topic`.
pub const RECORDS: &str = "lucid_drift_detector_records_total";
/// Records that could not be decoded, by `topic`.
pub const UNDECODABLE: &str = "lucid_drift_detector_undecodable_records_total";
/// Checks run, by `monitor`.
pub const CHECKS: &str = "lucid_drift_detector_checks_total";
/// Time one check takes.
pub const CHECK_DURATION: &str = "lucid_drift_detector_check_duration_seconds";
/// Alerts published, by `monitor` and `band`.
pub const ALERTS: &str = "lucid_drift_detector_alerts_total";
/// Latest score per `monitor` and `column` (p-value or distance).
pub const COLUMN_SCORE: &str = "lucid_drift_detector_column_score";
/// Latest band per `monitor` and `column`: 0 ok, 1 warning, 2 drift, -1 insufficient data.
pub const COLUMN_BAND: &str = "lucid_drift_detector_column_band";
/// Latest share of drifted columns, by `monitor`.
pub const DRIFT_SHARE: &str = "lucid_drift_detector_drift_share_ratio";
/// Latest monitor band, by `monitor`: 0 ok, 1 warning, 2 drift, -1 insufficient data.
pub const MONITOR_BAND: &str = "lucid_drift_detector_monitor_band";

/// Registers help text and units; call once at start.
pub fn describe() {
    describe_counter!(RECORDS, Unit::Count, "Records read, by topic.");
    describe_counter!(
        UNDECODABLE,
        Unit::Count,
        "Records that could not be decoded, by topic."
    );
    describe_counter!(CHECKS, Unit::Count, "Drift checks run, by monitor.");
    describe_histogram!(CHECK_DURATION, Unit::Seconds, "Time one drift check takes.");
    describe_counter!(
        ALERTS,
        Unit::Count,
        "Drift alerts published, by monitor and band."
    );
    describe_gauge!(
        COLUMN_SCORE,
        "Latest drift score (p-value or distance) per monitor and column."
    );
    describe_gauge!(
        COLUMN_BAND,
        "Latest band per monitor and column: 0 ok, 1 warning, 2 drift, -1 insufficient data."
    );
    describe_gauge!(
        DRIFT_SHARE,
        Unit::Count,
        "Latest share of drifted columns per monitor."
    );
    describe_gauge!(
        MONITOR_BAND,
        "Latest band per monitor: 0 ok, 1 warning, 2 drift, -1 insufficient data."
    );
}
