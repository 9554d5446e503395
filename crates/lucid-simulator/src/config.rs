//! What the caller chooses about a simulation run, and why a choice may be refused.

use chrono::{DateTime, TimeDelta, Utc};

use crate::Scenario;

/// Parameters of one simulation run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// The world to simulate.
    pub scenario: Scenario,
    /// Seed of every random draw; the same seed and config give the same events.
    pub seed: u64,
    /// Size of the base listener population (`user-000000` upwards).
    pub listeners: usize,
    /// Number of sessions to generate.
    pub sessions: usize,
    /// Start of the simulated span; truncated to whole milliseconds.
    pub start: DateTime<Utc>,
    /// Length of the simulated span; every event lies within `start..=start + span`.
    pub span: TimeDelta,
}

impl SimConfig {
    /// Default size of the base listener population.
    pub const DEFAULT_LISTENERS: usize = 1_000;
    /// Default number of sessions.
    pub const DEFAULT_SESSIONS: usize = 5_000;
    /// Shortest span accepted.
    pub const MIN_SPAN: TimeDelta = TimeDelta::minutes(10);
    /// Longest a session may last; shorter for spans under four hours (half the span).
    pub const MAX_SESSION: TimeDelta = TimeDelta::hours(2);

    /// A baseline run with default sizes whose span ends at `end`, seed 0.
    ///
    /// With `end` = now, every event passes ingestion's default age and clock-skew limits at
    /// sending time as long as the span stays under seven days minus the time sending takes.
    pub fn ending_at(end: DateTime<Utc>, span: TimeDelta) -> SimConfig {
        SimConfig {
            scenario: Scenario::Baseline,
            seed: 0,
            listeners: Self::DEFAULT_LISTENERS,
            sessions: Self::DEFAULT_SESSIONS,
            start: end - span,
            span,
        }
    }

    /// End of the simulated span.
    pub fn end(&self) -> DateTime<Utc> {
        self.start + self.span
    }

    /// The change point: the middle of the span, where a scenario departs from baseline.
    pub fn change_at(&self) -> DateTime<Utc> {
        self.start + self.span / 2
    }

    /// The longest a session may last in this run.
    pub fn max_session(&self) -> TimeDelta {
        Self::MAX_SESSION.min(self.span / 2)
    }

    /// Checks the parameters that do not depend on the catalog.
    pub fn check(&self) -> Result<(), SimError> {
        if self.listeners == 0 {
            return Err(SimError::Config("listeners must be at least 1".into()));
        }
        if self.span < Self::MIN_SPAN {
            return Err(SimError::Config(format!(
                "span is {}s; it must be at least {}s",
                self.span.num_seconds(),
                Self::MIN_SPAN.num_seconds()
            )));
        }
        Ok(())
    }
}

/// Why a simulation could not be set up. Retrying with the same input fails the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// A parameter is out of range; the message names it.
    #[error("invalid simulation config: {0}")]
    Config(String),
    /// The catalog has no track to play.
    #[error("the catalog is empty; there is nothing to play")]
    EmptyCatalog,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SimConfig {
        let end = "2026-12-03T17:00:00Z".parse().expect("valid time");
        SimConfig::ending_at(end, TimeDelta::hours(24))
    }

    #[test]
    fn span_ends_at_the_given_end_and_changes_halfway() {
        let config = config();
        assert_eq!(config.start.to_rfc3339(), "2026-12-02T17:00:00+00:00");
        assert_eq!(config.end().to_rfc3339(), "2026-12-03T17:00:00+00:00");
        assert_eq!(config.change_at().to_rfc3339(), "2026-12-03T05:00:00+00:00");
        assert_eq!(config.max_session(), TimeDelta::hours(2));
    }

    #[test]
    fn short_spans_shorten_sessions_and_tiny_ones_are_refused() {
        let mut config = config();
        config.span = TimeDelta::hours(1);
        assert_eq!(config.max_session(), TimeDelta::minutes(30));
        assert_eq!(config.check(), Ok(()));

        config.span = TimeDelta::minutes(9);
        let error = config.check().expect_err("too short");
        assert_eq!(
            error.to_string(),
            "invalid simulation config: span is 540s; it must be at least 600s"
        );
    }

    #[test]
    fn zero_listeners_are_refused() {
        let mut config = config();
        config.listeners = 0;
        assert!(config.check().is_err());
    }
}
