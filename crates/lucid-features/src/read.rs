//! Planning a read: exactly which keys and fields to fetch for some entities and features at
//! request time t, so that the Redis layer issues one pipelined round trip of `HMGET`s.
//!
//! Each feature needs the tiles of its window at t (`window.rs`); features of a view with the
//! same tile size share those keys. Every key also fetches `_:t`, which tells a count whether the
//! entity had any event there. [`crate::evaluate`] turns what was fetched into values.

use std::collections::HashMap;

use crate::error::ReadError;
use crate::layout::{self, MARKER_FIELD, components, field_name};
use crate::spec::{Aggregation, EntityType, Registry};

/// One key to fetch and its fields, in the order [`crate::evaluate`] expects the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFetch {
    /// The tile's key.
    pub key: String,
    /// The fields to fetch (one `HMGET`).
    pub fields: Vec<String>,
}

/// What to fetch for a read, and how to turn it into values.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadPlan {
    pub(crate) t: i64,
    pub(crate) keys: Vec<KeyFetch>,
    pub(crate) features: Vec<Planned>,
    /// Per entity, per feature: the (key, offset of the feature's first field) of each tile.
    pub(crate) tiles: Vec<Vec<Vec<(usize, usize)>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Planned {
    pub(crate) aggregation: Aggregation,
    pub(crate) max_age_ms: i64,
}

impl ReadPlan {
    /// The keys to fetch, each with its fields; fetch them all, in one pipelined round trip.
    pub fn keys(&self) -> &[KeyFetch] {
        &self.keys
    }

    /// The request time, epoch milliseconds.
    pub fn request_time(&self) -> i64 {
        self.t
    }
}

/// Plans the read of `features` (full names) for each of `entity_keys` at request time `t`.
pub fn read_plan<K: AsRef<str>, F: AsRef<str>>(
    registry: &Registry,
    entity: EntityType,
    entity_keys: &[K],
    features: &[F],
    t: i64,
) -> Result<ReadPlan, ReadError> {
    let mut resolved = Vec::with_capacity(features.len());
    for name in features {
        let name = name.as_ref();
        let (v, f) = registry
            .resolve_index(name)
            .ok_or_else(|| ReadError::UnknownFeature(name.to_owned()))?;
        let view = &registry.views[v];
        if view.entity != entity {
            return Err(ReadError::WrongEntity {
                feature: name.to_owned(),
                actual: view.entity.as_str(),
                requested: entity.as_str(),
            });
        }
        resolved.push((v, f));
    }

    let features = resolved
        .iter()
        .map(|&(v, f)| Planned {
            aggregation: registry.views[v].features[f].aggregation,
            max_age_ms: registry.views[v].max_age_ms(),
        })
        .collect();
    let mut keys = Vec::new();
    let tiles = entity_keys
        .iter()
        .map(|key| plan_entity(registry, entity, key.as_ref(), &resolved, t, &mut keys))
        .collect();
    Ok(ReadPlan {
        t,
        keys,
        features,
        tiles,
    })
}

/// Adds the keys of one entity to `keys`; returns where each feature's fields are.
fn plan_entity(
    registry: &Registry,
    entity: EntityType,
    entity_key: &str,
    features: &[(usize, usize)],
    t: i64,
    keys: &mut Vec<KeyFetch>,
) -> Vec<Vec<(usize, usize)>> {
    let mut index: HashMap<(usize, u64, i64), usize> = HashMap::new();
    let mut tiles = Vec::with_capacity(features.len());

    for &(v, f) in features {
        let (view, feature) = (&registry.views[v], &registry.views[v].features[f]);
        let size = feature.window.tile_secs();
        let mut feature_tiles = Vec::new();
        for k in feature.window.read_tiles(t) {
            let key = *index.entry((v, size, k)).or_insert_with(|| {
                let name = layout::tile_key(
                    &registry.key_prefix,
                    entity,
                    entity_key,
                    &view.name,
                    size,
                    k,
                );
                keys.push(KeyFetch {
                    key: name,
                    fields: vec![MARKER_FIELD.to_owned()],
                });
                keys.len() - 1
            });
            let fields = &mut keys[key].fields;
            feature_tiles.push((key, fields.len()));
            let components = components(&feature.aggregation);
            fields.extend(components.iter().map(|c| field_name(&feature.name, *c)));
        }
        tiles.push(feature_tiles);
    }
    tiles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::registry;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_plan_fetches_each_tile_of_each_window_once() {
        let plan = read_plan(
            &registry(),
            EntityType::Session,
            &["s-1"],
            &["s:plays", "s:heard", "s:mood"],
            HOUR,
        )
        .expect("known features");
        // 1 h in 5 min tiles: 0 (holding t − W = 0) to 12 (holding t); then the lifetime tile.
        assert_eq!(plan.keys().len(), 14);
        let first = &plan.keys()[0];
        assert_eq!(first.key, "lucid:fs:{session:s-1}:s:300:0");
        let fields = [
            "_:t",
            "plays:n",
            "plays:t",
            "heard:n",
            "heard:sum",
            "heard:t",
        ];
        assert_eq!(first.fields, fields);
        let lifetime = &plan.keys()[13];
        assert_eq!(lifetime.key, "lucid:fs:{session:s-1}:s:0:0");
        assert_eq!(
            lifetime.fields,
            ["_:t", "mood:last", "mood:last_t", "mood:last_tb"]
        );
    }

    #[test]
    fn features_must_exist_and_be_about_the_entity() {
        let registry = registry();
        let unknown = read_plan(&registry, EntityType::Session, &["s-1"], &["s:skips"], 0);
        assert_eq!(
            unknown.map(|_| ()).map_err(|e| e.to_string()),
            Err("unknown feature s:skips".into())
        );
        let wrong = read_plan(&registry, EntityType::Session, &["s-1"], &["t:plays"], 0);
        let message = "feature t:plays is about track entities, not session";
        assert_eq!(
            wrong.map(|_| ()).map_err(|e| e.to_string()),
            Err(message.into())
        );
    }
}
