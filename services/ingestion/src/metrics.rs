//! Metric names of the ingestion service, declared in one place.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// Events produced to the events topic.
pub const ACCEPTED: &str = "lucid_ingestion_events_accepted_total";
/// Events answered `duplicate`.
pub const DUPLICATES: &str = "lucid_ingestion_events_duplicate_total";
/// Events refused, by `reason`.
pub const REJECTED: &str = "lucid_ingestion_events_rejected_total";
/// Refused events written to the dead-letter topic.
pub const DEAD_LETTERED: &str = "lucid_ingestion_dead_lettered_total";
/// Dead-letter writes that failed (data loss: operator action).
pub const DEAD_LETTER_FAILURES: &str = "lucid_ingestion_dead_letter_failures_total";
/// Requests refused as a whole (auth, size, unreadable body), by `code`.
pub const REQUESTS_REFUSED: &str = "lucid_ingestion_requests_refused_total";
/// Requests, by `transport` and `status`.
pub const REQUESTS: &str = "lucid_ingestion_requests_total";
/// Request handling time, by `transport`.
pub const REQUEST_DURATION: &str = "lucid_ingestion_request_duration_seconds";
/// Time from enqueue to the broker's delivery report.
pub const PRODUCE_DURATION: &str = "lucid_ingestion_produce_duration_seconds";
/// Events waiting for the broker's delivery report.
pub const PRODUCER_QUEUE_DEPTH: &str = "lucid_ingestion_producer_queue_depth";

/// Registers help text and units; call once at start.
pub fn describe() {
    describe_counter!(
        ACCEPTED,
        Unit::Count,
        "Events produced to the events topic and confirmed by the broker."
    );
    describe_counter!(
        DUPLICATES,
        Unit::Count,
        "Events whose id was already produced within the idempotency window."
    );
    describe_counter!(REJECTED, Unit::Count, "Events refused, by reason code.");
    describe_counter!(
        REQUESTS_REFUSED,
        Unit::Count,
        "Requests refused as a whole, by error code."
    );
    describe_counter!(
        DEAD_LETTERED,
        Unit::Count,
        "Refused events written to the dead-letter topic."
    );
    describe_counter!(
        DEAD_LETTER_FAILURES,
        Unit::Count,
        "Refused events that could not be written to the dead-letter topic."
    );
    describe_counter!(
        REQUESTS,
        Unit::Count,
        "Publish requests, by transport and response status."
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time to answer a publish request, by transport."
    );
    describe_histogram!(
        PRODUCE_DURATION,
        Unit::Seconds,
        "Time from enqueue to the broker's delivery report."
    );
    describe_gauge!(
        PRODUCER_QUEUE_DEPTH,
        Unit::Count,
        "Events waiting for the broker's delivery report."
    );
}
