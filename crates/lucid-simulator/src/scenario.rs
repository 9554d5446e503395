//! The named scenarios: baseline behaviour and the changes a drift monitor should catch.
//!
//! Every scenario behaves like `baseline` until the change point, the middle of the simulated
//! span, so the first half of any run is a reference window and the second half shows the change.

use std::fmt;
use std::str::FromStr;

/// A simulated world, selectable by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scenario {
    /// Steady listening: day-heavy hours, mostly rock listeners.
    #[default]
    Baseline,
    /// A large cohort of new listeners who prefer hip-hop joins at the change point.
    HiphopCohort,
    /// After the change point sessions move to night hours with calmer mood targets.
    NightShift,
    /// After the change point app release 5.0.0 reports listened time in seconds, not ms.
    SecondsBug,
}

impl Scenario {
    /// Every scenario, baseline first.
    pub const ALL: [Scenario; 4] = [
        Scenario::Baseline,
        Scenario::HiphopCohort,
        Scenario::NightShift,
        Scenario::SecondsBug,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline",
            Scenario::HiphopCohort => "hiphop_cohort",
            Scenario::NightShift => "night_shift",
            Scenario::SecondsBug => "seconds_bug",
        }
    }

    /// One line saying what changes at the change point.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::Baseline => "no change: the whole span follows the baseline model",
            Scenario::HiphopCohort => {
                "as many new listeners as the base population join, strongly preferring hip-hop"
            }
            Scenario::NightShift => {
                "sessions follow a night-time hour profile and aim for calmer (lower arousal) moods"
            }
            Scenario::SecondsBug => {
                "phone listeners who upgrade to app 5.0.0 report listened_ms in seconds"
            }
        }
    }

    /// True when new listeners join at the change point.
    pub(crate) fn adds_cohort(self) -> bool {
        self == Scenario::HiphopCohort
    }

    /// True when sessions after the change point follow the night profile and calmer targets.
    pub(crate) fn shifts_to_night(self) -> bool {
        self == Scenario::NightShift
    }

    /// True when upgraded listeners run the buggy release after the change point.
    pub(crate) fn ships_seconds_bug(self) -> bool {
        self == Scenario::SecondsBug
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a name that is not a scenario.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scenario {name:?}; expected one of baseline, hiphop_cohort, night_shift, seconds_bug"
)]
pub struct UnknownScenario {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == s)
            .ok_or_else(|| UnknownScenario { name: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(scenario.name().parse::<Scenario>(), Ok(scenario));
            assert_eq!(scenario.to_string(), scenario.name());
        }
    }

    #[test]
    fn unknown_name_lists_the_valid_ones() {
        let error = "hiphop".parse::<Scenario>().expect_err("not a scenario");
        assert_eq!(
            error.to_string(),
            "unknown scenario \"hiphop\"; expected one of baseline, hiphop_cohort, night_shift, \
             seconds_bug"
        );
    }

    #[test]
    fn only_each_scenario_switches_its_own_change() {
        let flags = |s: Scenario| (s.adds_cohort(), s.shifts_to_night(), s.ships_seconds_bug());
        assert_eq!(flags(Scenario::Baseline), (false, false, false));
        assert_eq!(flags(Scenario::HiphopCohort), (true, false, false));
        assert_eq!(flags(Scenario::NightShift), (false, true, false));
        assert_eq!(flags(Scenario::SecondsBug), (false, false, true));
    }
}
