//! The rollout state machine: pure, with time passed in, so every decision can be replayed in
//! a test and after a restart.
//!
//! A canary walks through traffic steps (for example 10, 25, 50, 100 percent). Each step is
//! held for `step_duration` and until both sides have `min_outcomes` scored outcomes; then the
//! analysis decides: successful moves to the next step (the step of 100 percent is the
//! promotion), failed rolls back, inconclusive pauses (or aborts, by policy). A step that
//! still lacks outcomes at `step_timeout` is inconclusive.
//!
//! A blue-green rollout has two steps: the preview (all traffic on the champion, the candidate
//! scoring mirrored traffic in shadow) and, once the preview analysis passes, the switch (all
//! traffic to the candidate, the champion alias moved). The switch is watched for
//! `post_promotion_window` against the champion's preview numbers and switched back on failure.
//!
//! Every transition returns a [`Transition`]: the traffic table now in force, the alias moves
//! (compare-and-set) and the analysis that decided it. The caller applies them, persists the
//! rollout and publishes the event.

mod effects;
mod machine;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::analysis::{Analysis, SideSummary, Thresholds, Verdict};
use lucid_routes::RouteTable as Traffic;

pub use effects::{Alias, AliasMove, Expect, weight_of};
pub use machine::{Observation, Start};

/// How the candidate reaches traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Traffic steps.
    Canary,
    /// Shadow preview, then all traffic at once.
    BlueGreen,
}

impl Strategy {
    /// Upper-case name, as in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Canary => "CANARY",
            Strategy::BlueGreen => "BLUE_GREEN",
        }
    }
}

/// Where a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Steps are being held and judged.
    Progressing,
    /// Held at the current step until resumed.
    Paused,
    /// All traffic on the candidate, which is now champion. Final.
    Promoted,
    /// The candidate failed its analysis and was withdrawn. Final.
    RolledBack,
    /// Stopped by an operator, an inconclusive analysis (by policy) or a registry change. Final.
    Aborted,
}

impl State {
    /// True for states a rollout never leaves.
    pub fn is_final(self) -> bool {
        matches!(self, State::Promoted | State::RolledBack | State::Aborted)
    }

    /// Upper-case name, as in events.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Progressing => "PROGRESSING",
            State::Paused => "PAUSED",
            State::Promoted => "PROMOTED",
            State::RolledBack => "ROLLED_BACK",
            State::Aborted => "ABORTED",
        }
    }
}

/// What to do with an inconclusive step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnInconclusive {
    /// Hold the step until an operator resumes, promotes or aborts.
    Pause,
    /// Roll back as for a failure.
    Abort,
}

/// The settings a rollout runs under, copied when it starts so that a config change does not
/// alter a rollout in flight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Canary traffic steps, percent: strictly increasing, each in 1..=100, ending at 100.
    pub steps: Vec<u32>,
    /// Least time a step is held.
    pub step_duration_ms: i64,
    /// Time after which a step still short of outcomes is inconclusive.
    pub step_timeout_ms: i64,
    /// Blue-green: how long the switched traffic is watched before the rollout is final.
    pub post_promotion_ms: i64,
    /// Analysis margins.
    pub thresholds: Thresholds,
    /// Pause or abort on an inconclusive step.
    pub on_inconclusive: OnInconclusive,
}

impl Policy {
    /// Checks the steps; the error names the problem.
    pub fn validate(&self) -> Result<(), String> {
        if self.steps.len() < 2 {
            return Err("steps: need at least one step below 100 and a last step of 100".into());
        }
        if self.steps.first() == Some(&0) {
            return Err(
                "steps: a step of 0 sends the candidate no traffic, so it can never be judged"
                    .into(),
            );
        }
        if self.steps.windows(2).any(|w| w[0] >= w[1]) || self.steps.last() != Some(&100) {
            return Err("steps: must increase strictly and end at 100".into());
        }
        if self.step_duration_ms <= 0 || self.step_timeout_ms < self.step_duration_ms {
            return Err("step_timeout must be at least step_duration, which must be > 0".into());
        }
        Ok(())
    }
}

/// What happened in a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransitionKind {
    /// The rollout started.
    Started,
    /// A new traffic step is in force.
    Step,
    /// Blue-green: all traffic switched to the candidate.
    Switched,
    /// Held.
    Paused,
    /// Continued.
    Resumed,
    /// All traffic on the candidate, final.
    Promoted,
    /// The candidate withdrawn after a failed analysis.
    RolledBack,
    /// Stopped.
    Aborted,
}

impl TransitionKind {
    /// Upper-case name, as in events.
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::Started => "STARTED",
            TransitionKind::Step => "STEP",
            TransitionKind::Switched => "SWITCHED",
            TransitionKind::Paused => "PAUSED",
            TransitionKind::Resumed => "RESUMED",
            TransitionKind::Promoted => "PROMOTED",
            TransitionKind::RolledBack => "ROLLED_BACK",
            TransitionKind::Aborted => "ABORTED",
        }
    }
}

/// One transition and what the caller must do for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// What happened.
    pub kind: TransitionKind,
    /// The traffic table now in force (written even when unchanged: it is idempotent).
    pub traffic: Traffic,
    /// Registry alias changes, in order.
    pub aliases: Vec<AliasMove>,
    /// The verdict that caused it, if an analysis did.
    pub verdict: Option<Verdict>,
    /// The numbers behind the verdict.
    pub analysis: Option<Analysis>,
    /// In words.
    pub reason: String,
}

/// The latest analysis of a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisRecord {
    /// The verdict.
    pub verdict: Verdict,
    /// Why.
    pub reason: String,
    /// The numbers.
    pub analysis: Analysis,
    /// When, epoch milliseconds.
    pub at_ms: i64,
}

/// One rollout of a candidate version of a model. Serialised whole into Redis after every
/// transition; restoring it gives the same next decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    /// UUID.
    pub id: String,
    /// Registered model name.
    pub model: String,
    /// The champion when the rollout started; none for a model's first version.
    pub from_version: Option<String>,
    /// The candidate.
    pub to_version: String,
    /// How the candidate reaches traffic.
    pub strategy: Strategy,
    /// Settings, fixed at start.
    pub policy: Policy,
    /// Where it is.
    pub state: State,
    /// Index of the step in force (blue-green: 0 preview, 1 switched).
    pub step: usize,
    /// When the step in force began (or the rollout was resumed), epoch milliseconds.
    pub step_started_ms: i64,
    /// When the rollout started.
    pub started_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
    /// The `previous` alias when the rollout started, restored by a blue-green switch-back.
    pub previous_before: Option<String>,
    /// Blue-green: the champion's numbers from the preview, the yardstick after the switch.
    pub baseline: Option<SideSummary>,
    /// The latest analysis.
    pub last_analysis: Option<AnalysisRecord>,
    /// Why the rollout is where it is.
    pub reason: String,
}

/// A rollout could not start or an operator's command does not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// Bad steps or durations.
    #[error("invalid rollout policy: {0}")]
    Policy(String),
    /// The candidate is the champion already.
    #[error("version {0} is the champion already")]
    AlreadyChampion(String),
    /// The command does not apply in this state.
    #[error("rollout is {state}: cannot {command}")]
    State {
        /// The rollout's state.
        state: &'static str,
        /// The command refused.
        command: &'static str,
    },
}

impl Rollout {
    /// The number of steps of the plan.
    pub fn step_count(&self) -> usize {
        match self.strategy {
            Strategy::Canary => self.policy.steps.len(),
            Strategy::BlueGreen => 2,
        }
    }

    /// The alias `champion` must point at for this rollout to stay valid.
    pub fn expected_champion(&self) -> Option<&str> {
        let switched = self.strategy == Strategy::BlueGreen && self.step == 1;
        if self.state == State::Promoted || switched {
            Some(&self.to_version)
        } else {
            self.from_version.as_deref()
        }
    }

    /// The candidate's percent of live traffic now.
    pub fn candidate_weight(&self) -> u32 {
        weight_of(&self.traffic(0), &self.to_version)
    }
}
