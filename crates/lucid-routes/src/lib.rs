//! The route table of a served model: which registered versions take what share of traffic,
//! and which one, if any, scores mirrored traffic in shadow.
//!
//! The deployment manager writes a [`RouteTable`] as JSON to the Redis key [`key`]; the model
//! gateway polls it (about once a second) and sends each request to a version by
//! [`RouteTable::assign`]. When the key is absent, the gateway serves the registry's `champion`
//! alias at 100% [`Route::Stable`] ([`RouteTable::champion`]).
//!
//! ```json
//! {"routes":[{"version":"3","weight":90,"route":"STABLE"},
//!            {"version":"4","weight":10,"route":"CANARY"}],
//!  "shadow":{"version":"5"},
//!  "updated_ms":1796317200000}
//! ```
//!
//! Assignment is sticky: a listener's bucket (0..100) is a hash of the model name and the
//! listener's pseudonym, the same in every gateway replica and after every restart, and buckets
//! are handed to routes in the order they are listed. So one listener sees one version while the
//! weights hold still, and growing the last route's weight (a canary going 10 → 25) only moves
//! listeners from the routes before it to it: the canary's first listeners stay on it. Writers
//! keep the order of the routes fixed for the life of a rollout, the candidate listed last.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Buckets a listener can fall in; weights are percentages of them.
pub const BUCKETS: u32 = 100;

/// The Redis key holding the route table of `model` under the key prefix `prefix`.
pub fn key(prefix: &str, model: &str) -> String {
    format!("{prefix}:gateway:routes:{model}")
}

/// Which side of a rollout a version serves; the `Route` enum of the `PredictionLog` schema,
/// less `SHADOW`, which is never routed to (see [`RouteTable::shadow`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Route {
    /// The version in service.
    Stable,
    /// A candidate taking a share of traffic.
    Canary,
    /// One side of a blue-green pair.
    Blue,
    /// The other side of a blue-green pair.
    Green,
}

impl Route {
    /// The symbol, as in the schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Stable => "STABLE",
            Route::Canary => "CANARY",
            Route::Blue => "BLUE",
            Route::Green => "GREEN",
        }
    }
}

/// One version and its share of traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedRoute {
    /// The registered model version.
    pub version: String,
    /// Percent of listeners, 0 to 100.
    pub weight: u32,
    /// Its side of the rollout, logged with each prediction.
    pub route: Route,
}

/// The version scoring mirrored traffic: logged with route `SHADOW`, never returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shadow {
    /// The registered model version.
    pub version: String,
}

/// Traffic weights of one model's versions (see the crate header for the contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTable {
    /// Versions and weights; weights sum to 100; buckets are handed out in this order.
    pub routes: Vec<WeightedRoute>,
    /// A version scoring every request in shadow, or none.
    #[serde(default)]
    pub shadow: Option<Shadow>,
    /// When the writer last changed the table, UTC milliseconds since the epoch.
    #[serde(default)]
    pub updated_ms: i64,
}

/// Why a route table cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The JSON does not have the table's shape.
    #[error("route table is not valid JSON of the expected shape: {0}")]
    Json(String),
    /// No route at all.
    #[error("route table has no routes")]
    Empty,
    /// Weights do not sum to 100.
    #[error("route weights sum to {0}, not 100")]
    WeightSum(u64),
    /// A version appears in two routes.
    #[error("version {0:?} is listed in two routes")]
    Duplicate(String),
    /// A version name is empty.
    #[error("a route names an empty version")]
    EmptyVersion,
}

impl RouteTable {
    /// All traffic to `version` as [`Route::Stable`], no shadow: the table used when none is
    /// published (the registry's `champion`).
    pub fn champion(version: &str) -> Self {
        RouteTable {
            routes: vec![WeightedRoute {
                version: version.to_owned(),
                weight: BUCKETS,
                route: Route::Stable,
            }],
            shadow: None,
            updated_ms: 0,
        }
    }

    /// Parses and validates a table read from Redis.
    pub fn from_json(text: &str) -> Result<Self, RouteError> {
        let table: RouteTable =
            serde_json::from_str(text).map_err(|e| RouteError::Json(e.to_string()))?;
        table.validate()?;
        Ok(table)
    }

    /// The table as the JSON stored in Redis.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a route table always serializes")
    }

    /// Checks what the types cannot: routes present, weights summing to 100, distinct versions.
    pub fn validate(&self) -> Result<(), RouteError> {
        if self.routes.is_empty() {
            return Err(RouteError::Empty);
        }
        let sum: u64 = self.routes.iter().map(|r| u64::from(r.weight)).sum();
        if sum != u64::from(BUCKETS) {
            return Err(RouteError::WeightSum(sum));
        }
        for (i, route) in self.routes.iter().enumerate() {
            if route.version.is_empty() {
                return Err(RouteError::EmptyVersion);
            }
            if self.routes[..i].iter().any(|r| r.version == route.version) {
                return Err(RouteError::Duplicate(route.version.clone()));
            }
        }
        Ok(())
    }

    /// The route of the listener whose pseudonym is `user`, for `model`. The table must be
    /// valid ([`RouteTable::validate`]); on an invalid one the last route takes the remainder.
    pub fn assign(&self, model: &str, user: &str) -> &WeightedRoute {
        self.route_of_bucket(bucket(model, user))
    }

    /// The route that owns `bucket` (0..100): routes take consecutive buckets in listed order.
    pub fn route_of_bucket(&self, bucket: u32) -> &WeightedRoute {
        let mut end = 0;
        for route in &self.routes {
            end += route.weight;
            if bucket < end {
                return route;
            }
        }
        self.routes.last().expect("a validated table has routes")
    }

    /// Every version the table names, routes first, then the shadow.
    pub fn versions(&self) -> impl Iterator<Item = &str> {
        let routed = self.routes.iter().map(|r| r.version.as_str());
        routed.chain(self.shadow.iter().map(|s| s.version.as_str()))
    }
}

/// The listener's bucket for `model`, 0..100: the first 8 bytes of SHA-256 over the model
/// name, a zero byte and the pseudonym, big-endian, modulo 100. Stable across processes and
/// releases (it is part of the contract: changing it reshuffles every listener).
pub fn bucket(model: &str, user: &str) -> u32 {
    let mut hash = Sha256::new();
    hash.update(model.as_bytes());
    hash.update([0]);
    hash.update(user.as_bytes());
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % u64::from(BUCKETS)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(weights: &[(&str, u32, Route)]) -> RouteTable {
        RouteTable {
            routes: weights
                .iter()
                .map(|&(version, weight, route)| WeightedRoute {
                    version: version.into(),
                    weight,
                    route,
                })
                .collect(),
            shadow: None,
            updated_ms: 0,
        }
    }

    fn canary(weight: u32) -> RouteTable {
        table(&[
            ("3", 100 - weight, Route::Stable),
            ("4", weight, Route::Canary),
        ])
    }

    fn users(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("listener-{i:05}")).collect()
    }

    #[test]
    fn reads_the_documented_json() {
        let text = r#"{"routes":[{"version":"3","weight":90,"route":"STABLE"},
            {"version":"4","weight":10,"route":"CANARY"}],"shadow":{"version":"5"},
            "updated_ms":1796317200000}"#;
        let parsed = RouteTable::from_json(text).expect("valid");
        assert_eq!(parsed.routes, canary(10).routes);
        assert_eq!(
            parsed.shadow.as_ref().map(|s| s.version.as_str()),
            Some("5")
        );
        assert_eq!(parsed.updated_ms, 1_796_317_200_000);
        assert_eq!(RouteTable::from_json(&parsed.to_json()), Ok(parsed));
        let null_shadow = r#"{"routes":[{"version":"1","weight":100,"route":"BLUE"}],
            "shadow":null,"updated_ms":1}"#;
        assert_eq!(
            RouteTable::from_json(null_shadow).map(|t| t.shadow),
            Ok(None)
        );
    }

    #[test]
    fn refuses_tables_that_cannot_route() {
        assert_eq!(table(&[]).validate(), Err(RouteError::Empty));
        assert_eq!(
            table(&[("1", 60, Route::Stable), ("2", 30, Route::Canary)]).validate(),
            Err(RouteError::WeightSum(90))
        );
        assert_eq!(
            table(&[("1", 50, Route::Stable), ("1", 50, Route::Canary)]).validate(),
            Err(RouteError::Duplicate("1".into()))
        );
        let shadow_route = r#"{"routes":[{"version":"1","weight":100,"route":"SHADOW"}]}"#;
        assert!(matches!(
            RouteTable::from_json(shadow_route),
            Err(RouteError::Json(_))
        ));
    }

    #[test]
    fn the_key_follows_the_contract() {
        assert_eq!(
            key("lucid", "skip-model"),
            "lucid:gateway:routes:skip-model"
        );
    }

    #[test]
    fn a_listener_always_gets_the_same_version() {
        let routes = canary(50);
        for user in users(200) {
            let first = routes.assign("skip-model", &user).version.clone();
            for _ in 0..3 {
                assert_eq!(routes.assign("skip-model", &user).version, first);
            }
        }
        // Fixed by the contract: a change of hash would move every listener.
        assert_eq!(bucket("skip-model", "listener-00000"), bucket_by_hand());
    }

    /// SHA-256("skip-model\0listener-00000"), first 8 bytes, modulo 100, computed here again
    /// from the digest's bytes rather than through `bucket`.
    fn bucket_by_hand() -> u32 {
        let digest = Sha256::digest(b"skip-model\x00listener-00000");
        let n = digest[..8]
            .iter()
            .fold(0u128, |acc, &b| acc * 256 + u128::from(b));
        (n % 100) as u32
    }

    #[test]
    fn shares_follow_the_weights_within_two_points_on_ten_thousand_listeners() {
        // 10k listeners at p = 0.1: one standard deviation is 0.3 points; 2 points is > 6 sd.
        for weight in [0, 1, 10, 25, 50, 90, 100] {
            let routes = canary(weight);
            let on_canary = users(10_000)
                .iter()
                .filter(|u| routes.assign("skip-model", u).route == Route::Canary)
                .count();
            let share = on_canary as f64 / 100.0;
            assert!(
                (share - f64::from(weight)).abs() <= 2.0,
                "weight {weight}: {share}% of listeners on the canary"
            );
            if weight == 0 || weight == 100 {
                assert_eq!(share, f64::from(weight), "no leak at the edges");
            }
        }
    }

    #[test]
    fn growing_the_canary_keeps_its_listeners() {
        let all = users(10_000);
        let mut before: Vec<&String> = Vec::new();
        for weight in [0, 10, 25, 50, 100] {
            let routes = canary(weight);
            let now: Vec<&String> = all
                .iter()
                .filter(|u| routes.assign("skip-model", u).route == Route::Canary)
                .collect();
            assert!(
                before.iter().all(|u| now.contains(u)),
                "a listener left the canary when it grew to {weight}"
            );
            before = now;
        }
    }

    #[test]
    fn models_bucket_listeners_independently() {
        let same = users(1000)
            .iter()
            .filter(|u| bucket("skip-model", u) == bucket("mood-model", u))
            .count();
        // Independent buckets agree about 1% of the time.
        assert!(same < 40, "{same} of 1000 listeners share a bucket");
    }

    proptest::proptest! {
        #[test]
        fn every_bucket_has_exactly_one_owner(a in 0u32..=100, b in 0u32..=100) {
            let (a, b) = (a.min(b), a.max(b));
            let routes = table(&[
                ("1", a, Route::Stable),
                ("2", b - a, Route::Blue),
                ("3", 100 - b, Route::Green),
            ]);
            proptest::prop_assert!(routes.validate().is_ok());
            for version in ["1", "2", "3"] {
                let owned = (0..BUCKETS)
                    .filter(|&k| routes.route_of_bucket(k).version == version)
                    .count() as u32;
                let weight = routes.routes.iter().find(|r| r.version == version).map(|r| r.weight);
                proptest::prop_assert_eq!(Some(owned), weight);
            }
        }
    }
}
