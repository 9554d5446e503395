//! Metric names of the retraining trigger, declared in one place. Labels are model names from
//! the config, backend kinds and decision kinds: bounded.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// Drift alerts read, by `outcome` (decided, undecodable, replayed).
pub const ALERTS: &str = "lucid_retraining_trigger_alerts_total";
/// Policy decisions, by `model` and `decision` (start, or the skip kind).
pub const DECISIONS: &str = "lucid_retraining_trigger_decisions_total";
/// Runs that reached a state, by `model`, `backend` and `status`.
pub const RUNS: &str = "lucid_retraining_trigger_runs_total";
/// Active runs, by `model`.
pub const ACTIVE_RUNS: &str = "lucid_retraining_trigger_active_runs";
/// Time from a run's start to its end, by `backend` and `status`.
pub const RUN_DURATION: &str = "lucid_retraining_trigger_run_duration_seconds";
/// Backend calls that failed, by `backend`; the run is tried again at the next poll.
pub const BACKEND_ERRORS: &str = "lucid_retraining_trigger_backend_errors_total";
/// `retraining-runs` records that could not be published.
pub const PUBLISH_ERRORS: &str = "lucid_retraining_trigger_publish_errors_total";

/// Registers help text and units; call once at start.
pub fn describe() {
    describe_counter!(
        ALERTS,
        Unit::Count,
        "Drift alerts read, by outcome (decided, undecodable, replayed)."
    );
    describe_counter!(
        DECISIONS,
        Unit::Count,
        "Retraining policy decisions, by model and decision (start or the skip kind)."
    );
    describe_counter!(
        RUNS,
        Unit::Count,
        "Retraining runs that reached a status, by model, backend and status."
    );
    describe_gauge!(
        ACTIVE_RUNS,
        Unit::Count,
        "Active retraining runs, by model."
    );
    describe_histogram!(
        RUN_DURATION,
        Unit::Seconds,
        "Time from a run's start to its end, by backend and status."
    );
    describe_counter!(
        BACKEND_ERRORS,
        Unit::Count,
        "Backend calls that failed and will be retried, by backend."
    );
    describe_counter!(
        PUBLISH_ERRORS,
        Unit::Count,
        "retraining-runs records that could not be published."
    );
}
