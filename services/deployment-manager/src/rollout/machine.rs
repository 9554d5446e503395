//! Transitions: start, the periodic tick that judges a step, and the operator's commands.

use super::{
    AnalysisRecord, OnInconclusive, Policy, Rollout, RolloutError, State, Strategy, Transition,
    TransitionKind,
};
use crate::analysis::{Analysis, Verdict, judge};

/// What the caller saw when it ticks a rollout.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// Now, epoch milliseconds.
    pub now_ms: i64,
    /// The registry's `champion` alias, when it was read for this tick (inner `None`: unset).
    pub champion: Option<Option<String>>,
    /// Live numbers of both sides since the step started.
    pub analysis: Analysis,
}

/// What a rollout starts from.
#[derive(Debug, Clone)]
pub struct Start {
    /// UUID.
    pub id: String,
    /// Registered model name.
    pub model: String,
    /// The current champion, if any.
    pub from_version: Option<String>,
    /// The current `previous` alias, if any.
    pub previous: Option<String>,
    /// The candidate.
    pub to_version: String,
    /// How.
    pub strategy: Strategy,
    /// Settings.
    pub policy: Policy,
    /// Now, epoch milliseconds.
    pub now_ms: i64,
}

impl Rollout {
    /// A new rollout and its first transition. A model without a champion has nothing to be
    /// compared with: its first version is promoted at once.
    pub fn start(start: Start) -> Result<(Rollout, Transition), RolloutError> {
        if start.strategy == Strategy::Canary {
            start.policy.validate().map_err(RolloutError::Policy)?;
        }
        if start.from_version.as_deref() == Some(start.to_version.as_str()) {
            return Err(RolloutError::AlreadyChampion(start.to_version));
        }
        let mut rollout = Rollout {
            id: start.id,
            model: start.model,
            from_version: start.from_version,
            to_version: start.to_version,
            strategy: start.strategy,
            policy: start.policy,
            state: State::Progressing,
            step: 0,
            step_started_ms: start.now_ms,
            started_ms: start.now_ms,
            updated_ms: start.now_ms,
            previous_before: start.previous,
            baseline: None,
            last_analysis: None,
            reason: String::new(),
        };
        let now = start.now_ms;
        if rollout.from_version.is_none() {
            rollout.state = State::Promoted;
            let aliases = rollout.champion_aliases();
            let reason = "no champion: the first version is promoted at once".to_owned();
            return Ok(finish(
                rollout,
                TransitionKind::Promoted,
                now,
                aliases,
                reason,
            ));
        }
        let aliases = rollout.start_aliases();
        let reason = format!(
            "{} rollout of version {} started",
            rollout.strategy.as_str().to_lowercase(),
            rollout.to_version
        );
        Ok(finish(
            rollout,
            TransitionKind::Started,
            now,
            aliases,
            reason,
        ))
    }

    /// Judges the step in force if it is due. Returns the transition, if any.
    pub fn tick(&mut self, observation: &Observation) -> Option<Transition> {
        let now = observation.now_ms;
        if self.state.is_final() {
            return None;
        }
        if let Some(champion) = &observation.champion
            && champion.as_deref() != self.expected_champion()
        {
            let reason = format!(
                "champion alias moved underneath: expected {}, found {}",
                self.expected_champion().unwrap_or("none"),
                champion.as_deref().unwrap_or("none")
            );
            self.state = State::Aborted;
            // Someone else owns the champion alias now: leave it, withdraw only our candidate.
            let aliases = self.withdraw_aliases(false);
            return Some(self.transition(TransitionKind::Aborted, now, aliases, reason));
        }
        if self.state == State::Paused {
            return None;
        }

        let switched = self.strategy == Strategy::BlueGreen && self.step == 1;
        let (hold, timeout) = if switched {
            let grace = self.policy.step_timeout_ms - self.policy.step_duration_ms;
            (
                self.policy.post_promotion_ms,
                self.policy.post_promotion_ms + grace,
            )
        } else {
            (self.policy.step_duration_ms, self.policy.step_timeout_ms)
        };
        let elapsed = now - self.step_started_ms;
        if elapsed < hold {
            return None;
        }
        let analysis = if switched {
            Analysis {
                stable: self.baseline.clone().unwrap_or_default(),
                candidate: observation.analysis.candidate.clone(),
            }
        } else {
            observation.analysis.clone()
        };
        let judgement = judge(&self.policy.thresholds, &analysis);
        if judgement.too_few && elapsed < timeout {
            return None;
        }
        self.last_analysis = Some(AnalysisRecord {
            verdict: judgement.verdict,
            reason: judgement.reason.clone(),
            analysis: analysis.clone(),
            at_ms: now,
        });
        let mut transition = match judgement.verdict {
            Verdict::Successful => self.advance(now, &analysis, judgement.reason),
            Verdict::Failed => self.withdraw(State::RolledBack, now, judgement.reason),
            Verdict::Inconclusive => match self.policy.on_inconclusive {
                OnInconclusive::Pause => {
                    self.state = State::Paused;
                    let reason = format!("paused: {}", judgement.reason);
                    self.transition(TransitionKind::Paused, now, Vec::new(), reason)
                }
                OnInconclusive::Abort => {
                    let reason = format!("aborted: {}", judgement.reason);
                    self.withdraw(State::Aborted, now, reason)
                }
            },
        };
        transition.verdict = Some(judgement.verdict);
        transition.analysis = Some(analysis);
        Some(transition)
    }

    /// Sends all traffic to the candidate now.
    pub fn promote(&mut self, now: i64, reason: &str) -> Result<Transition, RolloutError> {
        self.require_active("promote")?;
        let already_champion = self.strategy == Strategy::BlueGreen && self.step == 1;
        self.state = State::Promoted;
        let aliases = if already_champion {
            vec![super::AliasMove::delete(super::Alias::Challenger)]
        } else {
            self.champion_aliases()
        };
        let reason = manual("promoted", reason);
        Ok(self.transition(TransitionKind::Promoted, now, aliases, reason))
    }

    /// Holds the rollout at its step.
    pub fn pause(&mut self, now: i64, reason: &str) -> Result<Transition, RolloutError> {
        if self.state != State::Progressing {
            return Err(self.refuse("pause"));
        }
        self.state = State::Paused;
        let reason = manual("paused", reason);
        Ok(self.transition(TransitionKind::Paused, now, Vec::new(), reason))
    }

    /// Continues a paused rollout; the step's clock and outcomes start again.
    pub fn resume(&mut self, now: i64, reason: &str) -> Result<Transition, RolloutError> {
        if self.state != State::Paused {
            return Err(self.refuse("resume"));
        }
        self.state = State::Progressing;
        self.step_started_ms = now;
        let reason = manual("resumed", reason);
        Ok(self.transition(TransitionKind::Resumed, now, Vec::new(), reason))
    }

    /// Stops the rollout and withdraws the candidate.
    pub fn abort(&mut self, now: i64, reason: &str) -> Result<Transition, RolloutError> {
        self.require_active("abort")?;
        Ok(self.withdraw(State::Aborted, now, manual("aborted", reason)))
    }

    /// Stops the rollout because the registry did not hold what an alias change expected:
    /// someone else moved it, so only our candidate is withdrawn.
    pub fn registry_conflict(&mut self, now: i64, reason: String) -> Transition {
        self.state = State::Aborted;
        let aliases = self.withdraw_aliases(false);
        self.transition(TransitionKind::Aborted, now, aliases, reason)
    }

    fn require_active(&self, command: &'static str) -> Result<(), RolloutError> {
        if self.state.is_final() {
            return Err(self.refuse(command));
        }
        Ok(())
    }

    fn refuse(&self, command: &'static str) -> RolloutError {
        RolloutError::State {
            state: self.state.as_str(),
            command,
        }
    }

    /// A successful step: the next step, the switch, or the promotion.
    fn advance(&mut self, now: i64, analysis: &Analysis, reason: String) -> Transition {
        match self.strategy {
            Strategy::Canary => {
                self.step += 1;
                self.step_started_ms = now;
                if self.policy.steps[self.step] >= 100 {
                    self.state = State::Promoted;
                    let aliases = self.champion_aliases();
                    return self.transition(TransitionKind::Promoted, now, aliases, reason);
                }
                self.transition(TransitionKind::Step, now, Vec::new(), reason)
            }
            Strategy::BlueGreen if self.step == 0 => {
                self.step = 1;
                self.step_started_ms = now;
                self.baseline = Some(analysis.stable.clone());
                let mut aliases = self.champion_aliases();
                // The challenger stays until the post-promotion window has passed.
                aliases.retain(|m| m.alias != super::Alias::Challenger);
                self.transition(TransitionKind::Switched, now, aliases, reason)
            }
            Strategy::BlueGreen => {
                self.state = State::Promoted;
                let aliases = vec![super::AliasMove::delete(super::Alias::Challenger)];
                self.transition(TransitionKind::Promoted, now, aliases, reason)
            }
        }
    }

    /// Candidate weight 0, champion alias back on the version the rollout started from.
    fn withdraw(&mut self, state: State, now: i64, reason: String) -> Transition {
        let champion_moved = self.expected_champion() == Some(self.to_version.as_str());
        self.state = state;
        let aliases = self.withdraw_aliases(champion_moved);
        let kind = match state {
            State::RolledBack => TransitionKind::RolledBack,
            _ => TransitionKind::Aborted,
        };
        self.transition(kind, now, aliases, reason)
    }

    fn transition(
        &mut self,
        kind: TransitionKind,
        now: i64,
        aliases: Vec<super::AliasMove>,
        reason: String,
    ) -> Transition {
        self.updated_ms = now;
        self.reason = reason.clone();
        Transition {
            kind,
            traffic: self.traffic(now),
            aliases,
            verdict: None,
            analysis: None,
            reason,
        }
    }
}

fn finish(
    mut rollout: Rollout,
    kind: TransitionKind,
    now: i64,
    aliases: Vec<super::AliasMove>,
    reason: String,
) -> (Rollout, Transition) {
    let transition = rollout.transition(kind, now, aliases, reason);
    (rollout, transition)
}

fn manual(what: &str, reason: &str) -> String {
    if reason.is_empty() {
        format!("{what} by an operator")
    } else {
        format!("{what} by an operator: {reason}")
    }
}
