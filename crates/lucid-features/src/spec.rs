//! Feature definitions: entities, fields, aggregations, views and services.
//!
//! A [`Registry`] is built once from TOML by [`Registry::from_toml`] (the format and its checks
//! are in `parse.rs`) and is read-only afterwards. On the API a feature is named
//! `<view>:<feature>`, for example `session_activity:skip_rate`.

use std::time::Duration;

use lucid_events::Action;

pub use crate::kinds::{Actions, EntityType, Field};
use crate::window::Window;

/// The only source topic so far: the views read `ListeningEvent`s.
pub const LISTENING_EVENTS: &str = "listening-events";

/// The Redis key prefix used when the definitions do not set `key_prefix`.
pub const DEFAULT_KEY_PREFIX: &str = "lucid";

/// How a feature combines the events of its window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregation {
    /// Number of events passing the filter.
    Count,
    /// Sum of the field.
    Sum(Field),
    /// Sum of the field divided by the number of events that have it.
    Mean(Field),
    /// Smallest value of the field.
    Min(Field),
    /// Largest value of the field.
    Max(Field),
    /// Value of the field on the newest event (ties broken by [`crate::Observation::tiebreak`]).
    Last(Field),
    /// Number of events in `numerator` divided by the number in `denominator`.
    Ratio {
        /// Actions counted above the line.
        numerator: Actions,
        /// Actions counted below the line.
        denominator: Actions,
    },
}

impl Aggregation {
    /// The name used in definitions.
    pub fn name(&self) -> &'static str {
        match self {
            Aggregation::Count => "count",
            Aggregation::Sum(_) => "sum",
            Aggregation::Mean(_) => "mean",
            Aggregation::Min(_) => "min",
            Aggregation::Max(_) => "max",
            Aggregation::Last(_) => "last",
            Aggregation::Ratio { .. } => "ratio",
        }
    }

    /// The field read from each event, for the aggregations that read one.
    pub fn field(&self) -> Option<Field> {
        match *self {
            Aggregation::Sum(f)
            | Aggregation::Mean(f)
            | Aggregation::Min(f)
            | Aggregation::Max(f)
            | Aggregation::Last(f) => Some(f),
            Aggregation::Count | Aggregation::Ratio { .. } => None,
        }
    }
}

/// One feature of a view.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureDef {
    /// Name, unique within the view.
    pub name: String,
    /// How events are combined.
    pub aggregation: Aggregation,
    /// Only events with these actions count; all events when `None`.
    pub filter: Option<Actions>,
    /// How far back events count.
    pub window: Window,
}

impl FeatureDef {
    /// Whether an event with `action` passes the filter.
    pub fn matches(&self, action: Action) -> bool {
        self.filter.is_none_or(|f| f.contains(action))
    }
}

/// Features about one entity type, computed from one source topic.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewDef {
    /// Name, unique in the registry.
    pub name: String,
    /// What the features are about.
    pub entity: EntityType,
    /// Topic the events come from.
    pub source: String,
    /// A value whose newest event is older than this at request time is stale.
    pub max_age: Duration,
    /// The features, in definition order.
    pub features: Vec<FeatureDef>,
}

impl ViewDef {
    /// `max_age` in milliseconds.
    pub fn max_age_ms(&self) -> i64 {
        i64::try_from(self.max_age.as_millis()).unwrap_or(i64::MAX)
    }

    /// The feature with this name.
    pub fn feature(&self, name: &str) -> Option<&FeatureDef> {
        self.features.iter().find(|f| f.name == name)
    }

    /// Each tile size the view uses, with the longest window using it (`None` for lifetime).
    pub(crate) fn tilings(&self) -> Vec<(u64, Option<i64>)> {
        let mut tilings: Vec<(u64, Option<i64>)> = Vec::new();
        for feature in &self.features {
            let (size, length) = (feature.window.tile_secs(), feature.window.length_ms());
            match tilings.iter_mut().find(|(s, _)| *s == size) {
                Some((_, longest)) => *longest = (*longest).max(length),
                None => tilings.push((size, length)),
            }
        }
        tilings
    }
}

/// A named group of features that one model reads together.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDef {
    /// Name, unique in the registry.
    pub name: String,
    /// Full feature names, `<view>:<feature>`.
    pub features: Vec<String>,
}

/// All definitions, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Registry {
    pub(crate) key_prefix: String,
    pub(crate) views: Vec<ViewDef>,
    pub(crate) services: Vec<ServiceDef>,
}

impl Registry {
    /// The prefix of every Redis key.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The views, in definition order.
    pub fn views(&self) -> &[ViewDef] {
        &self.views
    }

    /// The view with this name.
    pub fn view(&self, name: &str) -> Option<&ViewDef> {
        self.views.iter().find(|v| v.name == name)
    }

    /// The services, in definition order.
    pub fn services(&self) -> &[ServiceDef] {
        &self.services
    }

    /// The service with this name.
    pub fn service(&self, name: &str) -> Option<&ServiceDef> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The view and feature named `<view>:<feature>`.
    pub fn resolve(&self, full_name: &str) -> Option<(&ViewDef, &FeatureDef)> {
        let (view, feature) = self.resolve_index(full_name)?;
        let view = &self.views[view];
        Some((view, &view.features[feature]))
    }

    /// The longest window other than lifetime, in milliseconds; `None` when all are lifetime.
    pub fn longest_window_ms(&self) -> Option<i64> {
        self.views
            .iter()
            .flat_map(|v| &v.features)
            .filter_map(|f| f.window.length_ms())
            .max()
    }

    /// Indexes of the view and the feature named `<view>:<feature>`.
    pub(crate) fn resolve_index(&self, full_name: &str) -> Option<(usize, usize)> {
        let (view, feature) = full_name.split_once(':')?;
        let v = self.views.iter().position(|v| v.name == view)?;
        let f = self.views[v]
            .features
            .iter()
            .position(|f| f.name == feature)?;
        Some((v, f))
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::registry;

    #[test]
    fn features_resolve_by_full_name_only() {
        let registry = registry();
        let (view, feature) = registry.resolve("s:heard").expect("s:heard");
        assert_eq!((view.name.as_str(), feature.name.as_str()), ("s", "heard"));
        assert!(registry.resolve("s").is_none());
        assert!(registry.resolve("t:heard").is_none());
        assert!(registry.resolve("x:plays").is_none());
    }

    #[test]
    fn tilings_keep_the_longest_window_per_tile_size() {
        let registry = registry();
        let session = registry.view("s").expect("view s");
        // plays and heard: 1 h in 300 s tiles; mood: lifetime.
        assert_eq!(session.tilings(), [(300, Some(3_600_000)), (0, None)]);
        // The longest finite window anywhere is the session's hour, not the track's 10 min.
        assert_eq!(registry.longest_window_ms(), Some(3_600_000));
    }
}
