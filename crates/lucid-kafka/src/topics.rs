//! Topic names of the design (`docs/architecture.md`).

/// Accepted listening events, keyed by user pseudonym (`ListeningEvent`).
pub const LISTENING_EVENTS: &str = "listening-events";
/// Refused inputs with their reasons (`RejectedEvent`).
pub const LISTENING_EVENTS_DLQ: &str = "listening-events.dlq";
/// Every prediction the gateway served (`PredictionLog`).
pub const PREDICTIONS: &str = "predictions";
/// Drift alerts per monitor (`DriftAlert`).
pub const DRIFT_ALERTS: &str = "drift-alerts";
/// Retraining run state changes per model (`RetrainingRun`).
pub const RETRAINING_RUNS: &str = "retraining-runs";
/// Rollout transitions per model (`RolloutEvent`).
pub const ROLLOUTS: &str = "rollouts";

/// Every topic the platform uses; the local stack creates them all.
pub const ALL: &[&str] = &[
    LISTENING_EVENTS,
    LISTENING_EVENTS_DLQ,
    PREDICTIONS,
    DRIFT_ALERTS,
    RETRAINING_RUNS,
    ROLLOUTS,
];
