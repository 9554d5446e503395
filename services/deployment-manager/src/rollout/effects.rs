//! What a rollout's state means outside it: the traffic table and the registry aliases.

use serde::{Deserialize, Serialize};

use super::{Rollout, State, Strategy};
use lucid_routes::{Route as RouteKind, RouteTable as Traffic, Shadow, WeightedRoute as Route};

/// The registry aliases kept in step with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alias {
    /// The version serving (all or most) traffic.
    Champion,
    /// The candidate of the rollout in flight.
    Challenger,
    /// The champion before the current one.
    Previous,
}

impl Alias {
    /// The alias name in the registry.
    pub fn as_str(self) -> &'static str {
        match self {
            Alias::Champion => "champion",
            Alias::Challenger => "challenger",
            Alias::Previous => "previous",
        }
    }
}

/// The compare part of a compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expect {
    /// Whatever the alias holds.
    Any,
    /// Exactly this (none: the alias must be unset).
    Version(Option<String>),
}

/// Set (or, with `to: None`, delete) an alias if it holds what is expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasMove {
    /// Which alias.
    pub alias: Alias,
    /// What it must hold now.
    pub expected: Expect,
    /// What it must hold after.
    pub to: Option<String>,
}

impl AliasMove {
    pub(super) fn set(alias: Alias, expected: Expect, to: &str) -> AliasMove {
        AliasMove {
            alias,
            expected,
            to: Some(to.to_owned()),
        }
    }

    pub(super) fn delete(alias: Alias) -> AliasMove {
        AliasMove {
            alias,
            expected: Expect::Any,
            to: None,
        }
    }
}

/// The weight of `version` in `traffic` (0 when it has no route).
pub fn weight_of(traffic: &Traffic, version: &str) -> u32 {
    traffic
        .routes
        .iter()
        .filter(|r| r.version == version)
        .map(|r| r.weight)
        .sum()
}

impl Rollout {
    /// The traffic table this rollout's state puts in force.
    pub fn traffic(&self, now_ms: i64) -> Traffic {
        let to = self.to_version.as_str();
        let single = || Traffic {
            updated_ms: now_ms,
            ..Traffic::champion(to)
        };
        let Some(from) = self.from_version.as_deref() else {
            return single();
        };
        let route = |version: &str, weight: u32, route: RouteKind| Route {
            version: version.to_owned(),
            weight,
            route,
        };
        let (stable, candidate) = match self.strategy {
            Strategy::Canary => (RouteKind::Stable, RouteKind::Canary),
            Strategy::BlueGreen => (RouteKind::Blue, RouteKind::Green),
        };
        let withdrawn = vec![route(from, 100, stable), route(to, 0, candidate)];
        let routes = match (self.state, self.strategy) {
            (State::Promoted, _) => return single(),
            (State::RolledBack | State::Aborted, _) => withdrawn,
            (_, Strategy::Canary) => {
                let weight = self.policy.steps[self.step].min(100);
                vec![
                    route(from, 100 - weight, stable),
                    route(to, weight, candidate),
                ]
            }
            (_, Strategy::BlueGreen) if self.step == 0 => {
                return Traffic {
                    routes: vec![route(from, 100, stable)],
                    shadow: Some(Shadow {
                        version: to.to_owned(),
                    }),
                    updated_ms: now_ms,
                };
            }
            (_, Strategy::BlueGreen) => vec![route(from, 0, stable), route(to, 100, candidate)],
        };
        Traffic {
            routes,
            shadow: None,
            updated_ms: now_ms,
        }
    }

    /// Aliases when the rollout starts: the candidate becomes challenger.
    pub(super) fn start_aliases(&self) -> Vec<AliasMove> {
        vec![AliasMove::set(
            Alias::Challenger,
            Expect::Any,
            &self.to_version,
        )]
    }

    /// Aliases when the candidate takes all traffic: champion moves (compare-and-set on the
    /// version it left), the old champion becomes previous.
    pub(super) fn champion_aliases(&self) -> Vec<AliasMove> {
        let mut moves = vec![AliasMove::set(
            Alias::Champion,
            Expect::Version(self.from_version.clone()),
            &self.to_version,
        )];
        if let Some(from) = &self.from_version {
            moves.push(AliasMove::set(Alias::Previous, Expect::Any, from));
        }
        moves.push(AliasMove::delete(Alias::Challenger));
        moves
    }

    /// Aliases when the candidate is withdrawn: champion back where it was if it moved,
    /// previous restored, challenger gone.
    pub(super) fn withdraw_aliases(&self, champion_moved: bool) -> Vec<AliasMove> {
        let mut moves = Vec::new();
        if champion_moved && let Some(from) = &self.from_version {
            moves.push(AliasMove::set(
                Alias::Champion,
                Expect::Version(Some(self.to_version.clone())),
                from,
            ));
            moves.push(match &self.previous_before {
                Some(previous) => AliasMove::set(Alias::Previous, Expect::Any, previous),
                None => AliasMove::delete(Alias::Previous),
            });
        }
        moves.push(AliasMove::delete(Alias::Challenger));
        moves
    }
}
