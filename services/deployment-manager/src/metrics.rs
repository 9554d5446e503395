//! Metric names of the deployment manager, declared in one place. Labels are model names from
//! the configuration and registry, states, verdicts and sides: bounded.

use metrics::{Unit, describe_counter, describe_gauge};

/// Records read, by `topic`.
pub const RECORDS: &str = "lucid_deployment_manager_records_total";
/// Records that could not be decoded, by `topic`.
pub const UNDECODABLE: &str = "lucid_deployment_manager_undecodable_records_total";
/// Predictions joined with an outcome, by `model`.
pub const JOINED: &str = "lucid_deployment_manager_joined_outcomes_total";
/// Rollout transitions, by `model` and `transition`.
pub const TRANSITIONS: &str = "lucid_deployment_manager_transitions_total";
/// Step analyses, by `model` and `verdict`.
pub const ANALYSES: &str = "lucid_deployment_manager_analyses_total";
/// Candidate weight in percent, by `model`.
pub const CANDIDATE_WEIGHT: &str = "lucid_deployment_manager_candidate_weight_percent";
/// Active rollouts.
pub const ACTIVE: &str = "lucid_deployment_manager_active_rollouts";
/// Alias changes written to the registry, by `alias`.
pub const ALIAS_CHANGES: &str = "lucid_deployment_manager_alias_changes_total";
/// Failed calls to outside systems, by `system` (registry, redis, traffic, kafka).
pub const FAILURES: &str = "lucid_deployment_manager_failures_total";
/// Candidates refused by the offline gate, by `model`.
pub const GATE_REFUSED: &str = "lucid_deployment_manager_gate_refused_total";

/// Registers help text and units; call once at start.
pub fn describe() {
    describe_counter!(RECORDS, Unit::Count, "Records read, by topic.");
    describe_counter!(
        UNDECODABLE,
        Unit::Count,
        "Records that could not be decoded, by topic."
    );
    describe_counter!(
        JOINED,
        Unit::Count,
        "Predictions joined with a listener outcome, by model."
    );
    describe_counter!(
        TRANSITIONS,
        Unit::Count,
        "Rollout transitions, by model and transition."
    );
    describe_counter!(
        ANALYSES,
        Unit::Count,
        "Step analyses that decided a transition, by model and verdict."
    );
    describe_gauge!(
        CANDIDATE_WEIGHT,
        "Percent of live traffic on the candidate, by model."
    );
    describe_gauge!(ACTIVE, Unit::Count, "Rollouts not yet final.");
    describe_counter!(
        ALIAS_CHANGES,
        Unit::Count,
        "Registry alias changes written, by alias."
    );
    describe_counter!(
        FAILURES,
        Unit::Count,
        "Failed calls to outside systems, by system."
    );
    describe_counter!(
        GATE_REFUSED,
        Unit::Count,
        "Candidates refused by the offline gate, by model."
    );
}
