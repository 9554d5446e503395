//! Metric names of the feature store, declared in one place.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// Events applied to the online store.
pub const EVENTS_APPLIED: &str = "lucid_feature_store_events_applied_total";
/// Events older than the watermark allows, left out of online aggregates.
pub const LATE_EVENTS: &str = "lucid_feature_store_late_events_total";
/// Records that could not be decoded, sent to the dead-letter topic, by `reason`.
pub const DEAD_LETTERED: &str = "lucid_feature_store_dead_lettered_total";
/// Records skipped because the store already held them (redelivery after a crash or rebalance).
pub const REDELIVERED: &str = "lucid_feature_store_redelivered_records_total";
/// Ingest time to Redis write, per event.
pub const FRESHNESS: &str = "lucid_feature_store_freshness_seconds";
/// Consumer lag per partition (records behind the high watermark).
pub const CONSUMER_LAG: &str = "lucid_feature_store_consumer_lag_records";
/// Lookup latency at the server, by `method`.
pub const LOOKUP_DURATION: &str = "lucid_feature_store_lookup_duration_seconds";
/// Failed Redis calls, by `operation`.
pub const REDIS_ERRORS: &str = "lucid_feature_store_redis_errors_total";

/// Registers help text and units; call once at start.
pub fn describe() {
    describe_counter!(
        EVENTS_APPLIED,
        Unit::Count,
        "Events applied to the online store."
    );
    describe_counter!(
        LATE_EVENTS,
        Unit::Count,
        "Events too late for the longest window, left out of online aggregates."
    );
    describe_counter!(
        DEAD_LETTERED,
        Unit::Count,
        "Undecodable records sent to the dead-letter topic, by reason."
    );
    describe_counter!(
        REDELIVERED,
        Unit::Count,
        "Records skipped because the store already held them."
    );
    describe_histogram!(
        FRESHNESS,
        Unit::Seconds,
        "Time from ingestion to the Redis write, per event."
    );
    describe_gauge!(
        CONSUMER_LAG,
        Unit::Count,
        "Records behind the partition's end, by partition."
    );
    describe_histogram!(
        LOOKUP_DURATION,
        Unit::Seconds,
        "Feature lookup time at the server, by method."
    );
    describe_counter!(
        REDIS_ERRORS,
        Unit::Count,
        "Failed Redis calls, by operation."
    );
}
