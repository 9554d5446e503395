//! Reading feature definitions from TOML, and the checks that make them usable.
//!
//! ```toml
//! key_prefix = "lucid"                 # optional, the default
//!
//! [[view]]
//! name = "session_activity"
//! entity = "session"                   # session | user | track
//! source = "listening-events"          # optional, the default and so far the only source
//! max_age = "30m"                      # older newest events read as stale
//!
//! [[view.feature]]
//! name = "skip_rate"
//! aggregation = "ratio"                # count | sum | mean | min | max | last | ratio
//! numerator = ["skip"]                 # ratio only: counts of these actions ...
//! denominator = ["skip", "complete"]   # ... over counts of these
//! window = "24h"                       # whole seconds, or "lifetime"
//!
//! [[view.feature]]
//! name = "mean_energy"
//! aggregation = "mean"
//! field = "track.energy"               # sum, mean, min, max and last only
//! actions = ["play"]                   # optional filter, any aggregation but ratio
//! window = "24h"
//!
//! [[service]]
//! name = "skip_model"
//! features = ["session_activity:skip_rate", "session_activity:mean_energy"]
//! ```
//!
//! Unknown keys are refused, so a misspelt setting is an error rather than a silent default.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;

use crate::error::SpecError;
use crate::spec::{
    DEFAULT_KEY_PREFIX, EntityType, FeatureDef, LISTENING_EVENTS, Registry, ServiceDef, ViewDef,
};

mod feature;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    key_prefix: Option<String>,
    #[serde(default, rename = "view")]
    views: Vec<RawView>,
    #[serde(default, rename = "service")]
    services: Vec<RawService>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawView {
    name: String,
    entity: String,
    source: Option<String>,
    #[serde(with = "humantime_serde")]
    max_age: Duration,
    #[serde(default, rename = "feature")]
    features: Vec<feature::RawFeature>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: String,
    features: Vec<String>,
}

impl Registry {
    /// Parses and checks definitions.
    pub fn from_toml(text: &str) -> Result<Registry, SpecError> {
        let raw: RawFile = toml::from_str(text)?;
        let prefix = raw
            .key_prefix
            .unwrap_or_else(|| DEFAULT_KEY_PREFIX.to_owned());
        let views = check_views(raw.views)?;
        let services = check_services(raw.services, &views)?;
        Registry {
            key_prefix: String::new(),
            views,
            services,
        }
        .with_key_prefix(prefix)
    }

    /// The same definitions with another Redis key prefix, for example from service config.
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Result<Registry, SpecError> {
        let prefix = prefix.into();
        if prefix.is_empty() || prefix.contains(['{', '}']) || prefix.contains(char::is_whitespace)
        {
            let problem = format!("{prefix:?} must be non-empty, without braces or spaces");
            return Err(SpecError::invalid("key_prefix", problem));
        }
        self.key_prefix = prefix;
        Ok(self)
    }
}

fn check_views(raw: Vec<RawView>) -> Result<Vec<ViewDef>, SpecError> {
    let mut views: Vec<ViewDef> = Vec::with_capacity(raw.len());
    for raw in raw {
        let view = check_view(raw)?;
        if views.iter().any(|v| v.name == view.name) {
            return Err(SpecError::invalid(
                format!("view {}", view.name),
                "is defined twice",
            ));
        }
        views.push(view);
    }
    Ok(views)
}

fn check_view(raw: RawView) -> Result<ViewDef, SpecError> {
    let place = format!("view {}", raw.name);
    check_name(&place, &raw.name)?;
    let entity = EntityType::from_name(&raw.entity).ok_or_else(|| {
        let problem = format!("entity {:?} is not one of session, user, track", raw.entity);
        SpecError::invalid(&place, problem)
    })?;
    let source = raw.source.unwrap_or_else(|| LISTENING_EVENTS.to_owned());
    if source != LISTENING_EVENTS {
        let problem = format!("source {source:?} is not supported; only {LISTENING_EVENTS} is");
        return Err(SpecError::invalid(&place, problem));
    }
    if raw.max_age.is_zero() {
        return Err(SpecError::invalid(
            &place,
            "max_age must be longer than zero",
        ));
    }
    if raw.features.is_empty() {
        return Err(SpecError::invalid(&place, "has no features"));
    }

    let mut features: Vec<FeatureDef> = Vec::with_capacity(raw.features.len());
    for raw in raw.features {
        let feature = feature::check_feature(&place, raw)?;
        if features.iter().any(|f| f.name == feature.name) {
            let place = format!("{place}, feature {}", feature.name);
            return Err(SpecError::invalid(place, "is defined twice"));
        }
        features.push(feature);
    }
    Ok(ViewDef {
        name: raw.name,
        entity,
        source,
        max_age: raw.max_age,
        features,
    })
}

fn check_services(raw: Vec<RawService>, views: &[ViewDef]) -> Result<Vec<ServiceDef>, SpecError> {
    let mut services: Vec<ServiceDef> = Vec::with_capacity(raw.len());
    for raw in raw {
        let place = format!("service {}", raw.name);
        check_name(&place, &raw.name)?;
        if services.iter().any(|s| s.name == raw.name) {
            return Err(SpecError::invalid(place, "is defined twice"));
        }
        if raw.features.is_empty() {
            return Err(SpecError::invalid(place, "has no features"));
        }
        let mut seen = HashSet::new();
        for reference in &raw.features {
            let known = reference.split_once(':').and_then(|(view, feature)| {
                views.iter().find(|v| v.name == view)?.feature(feature)
            });
            if known.is_none() {
                let problem = format!("{reference:?} names no feature (expected <view>:<feature>)");
                return Err(SpecError::invalid(place, problem));
            }
            if !seen.insert(reference) {
                return Err(SpecError::invalid(
                    place,
                    format!("{reference} is listed twice"),
                ));
            }
        }
        services.push(ServiceDef {
            name: raw.name,
            features: raw.features,
        });
    }
    Ok(services)
}

/// Names go into Redis keys and field names, so they are kept plain.
fn check_name(place: &str, name: &str) -> Result<(), SpecError> {
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        return Ok(());
    }
    let problem = format!("name {name:?} must be a lowercase letter then a-z, 0-9 or _");
    Err(SpecError::invalid(place, problem))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Aggregation;

    const VIEW: &str = "[[view]]\nname = \"v\"\nentity = \"session\"\nmax_age = \"1h\"\n";

    /// The error for a view holding one feature with the given settings.
    fn error(feature: &str) -> String {
        let text = format!("{VIEW}[[view.feature]]\nname = \"f\"\n{feature}\n");
        Registry::from_toml(&text).expect_err("invalid").to_string()
    }

    fn invalid(place: &str, problem: &str) -> String {
        format!("invalid feature definitions: {place}: {problem}")
    }

    #[test]
    fn a_minimal_view_parses_with_defaults() {
        let text = format!(
            "{VIEW}[[view.feature]]\nname = \"f\"\naggregation = \"count\"\nwindow = \"7d\"\n"
        );
        let registry = Registry::from_toml(&text).expect("valid");
        assert_eq!(registry.key_prefix(), "lucid");
        let view = registry.view("v").expect("view v");
        assert_eq!(
            (view.source.as_str(), view.max_age_ms()),
            ("listening-events", 3_600_000)
        );
        let (_, feature) = registry.resolve("v:f").expect("v:f");
        assert_eq!(
            (feature.aggregation, feature.filter),
            (Aggregation::Count, None)
        );
        assert_eq!(registry.longest_window_ms(), Some(604_800_000));
    }

    #[test]
    fn names_must_be_unique_and_plain() {
        let feature = "[[view.feature]]\nname = \"f\"\naggregation = \"count\"\nwindow = \"1h\"\n";
        let twice = format!("{VIEW}{feature}{feature}");
        let message = Registry::from_toml(&twice).expect_err("twice").to_string();
        assert_eq!(message, invalid("view v, feature f", "is defined twice"));
        let message =
            Registry::from_toml(&format!("{VIEW}{feature}{VIEW}{feature}")).expect_err("twice");
        assert_eq!(message.to_string(), invalid("view v", "is defined twice"));
        let shouting = VIEW.replace("\"v\"", "\"V\"") + feature;
        let message = Registry::from_toml(&shouting)
            .expect_err("capital")
            .to_string();
        let problem = "name \"V\" must be a lowercase letter then a-z, 0-9 or _";
        assert_eq!(message, invalid("view V", problem));
    }

    #[test]
    fn services_name_existing_features_once() {
        let feature = "[[view.feature]]\nname = \"f\"\naggregation = \"count\"\nwindow = \"1h\"\n";
        let service = |features: &str| {
            let text = format!("{VIEW}{feature}[[service]]\nname = \"m\"\nfeatures = {features}\n");
            Registry::from_toml(&text)
                .map(|r| r.services().len())
                .map_err(|e| e.to_string())
        };
        assert_eq!(service("[\"v:f\"]"), Ok(1));
        let problem = "\"v:g\" names no feature (expected <view>:<feature>)";
        assert_eq!(service("[\"v:g\"]"), Err(invalid("service m", problem)));
        assert_eq!(
            service("[\"v:f\", \"v:f\"]"),
            Err(invalid("service m", "v:f is listed twice"))
        );
        assert_eq!(service("[]"), Err(invalid("service m", "has no features")));
    }

    #[test]
    fn misspelt_settings_and_bad_prefixes_are_refused() {
        let message = error("aggregation = \"count\"\nwindow = \"1h\"\nfilter = [\"play\"]");
        assert!(message.contains("unknown field `filter`"), "{message}");
        let feature = "[[view.feature]]\nname = \"f\"\naggregation = \"count\"\nwindow = \"1h\"\n";
        let text = format!("key_prefix = \"a b\"\n{VIEW}{feature}");
        let message = Registry::from_toml(&text).expect_err("space").to_string();
        let problem = "\"a b\" must be non-empty, without braces or spaces";
        assert_eq!(message, invalid("key_prefix", problem));
        let registry = Registry::from_toml(&format!("{VIEW}{feature}")).expect("valid");
        let braces = registry
            .clone()
            .with_key_prefix("a{b}")
            .map_err(|e| e.to_string());
        let problem = "\"a{b}\" must be non-empty, without braces or spaces";
        assert_eq!(braces.map(|_| ()), Err(invalid("key_prefix", problem)));
        let renamed = registry.with_key_prefix("staging").expect("plain prefix");
        assert_eq!(renamed.key_prefix(), "staging");
        let source = VIEW.replace("max_age", "source = \"plays\"\nmax_age");
        let message = Registry::from_toml(&source)
            .expect_err("source")
            .to_string();
        let problem = "source \"plays\" is not supported; only listening-events is";
        assert_eq!(message, invalid("view v", problem));
    }
}
