//! Turning a batch of observations into pre-combined tile updates.
//!
//! [`updates`] merges the batch in memory first, so a batch yields at most one [`TileUpdate`] per
//! touched tile and at most one [`FieldOp`] per field of it. Applying the operations to a hash
//! (key and fields as in `layout.rs`) has these effects, which a Lua script reproduces:
//!
//! - `IncrInt(n)`: `HINCRBY key field n`.
//! - `Min(v)`, `Max(v)`: set the field to v if it is absent or v is smaller (larger).
//! - `MaxTime(t)`: set the field to t if it is absent or t is later.
//! - `Last { value, time, tiebreak }`: the field and its companions `<field>_t` and `<field>_tb`
//!   ([`layout::last_companions`]) hold value, time and tie-break; set all three if they are
//!   absent or (time, tiebreak, value) is greater than the stored triple, compared in that order.
//!
//! There is no float increment: sums are integers in units of [`crate::Field::scale`], because
//! `HINCRBYFLOAT` rounds in long double and any float sum depends on the order of additions.
//!
//! Then `PEXPIREAT key expire_at` when `expire_at` is set, never moving an expiry backwards.
//! Every operation is a merge of [`Partial`]s, so updates commute: applying them in any order,
//! or the events in any split into batches, leaves the same hashes. Applying one twice does
//! not: deduplication is the caller's (by offset).
//!
//! All updates of one entity share a hash tag ([`TileUpdate::hash_tag`]); group them by it to
//! apply them in one atomic script call on Redis Cluster.

use std::collections::BTreeMap;

use crate::layout::{self, Component, MARKER_FIELD, components, field_name};
use crate::observation::Observation;
use crate::spec::{EntityType, FeatureDef, Registry};
use crate::tile::Partial;
use crate::window::{ms, tile_index};

/// How one field changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// Add to an integer.
    IncrInt(i64),
    /// Keep the smaller float.
    Min(f64),
    /// Keep the larger float.
    Max(f64),
    /// Keep the later time.
    MaxTime(i64),
    /// Keep the later of two `last` values (the field and its two companions).
    Last {
        /// Value of the newest event.
        value: f64,
        /// Its event time.
        time: i64,
        /// Its tie-break.
        tiebreak: i64,
    },
}

/// One operation on one hash field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldOp {
    /// The field, `<feature>:<component>` or `_:t`.
    pub field: String,
    /// What to do to it.
    pub op: Op,
}

/// Everything a batch changes in one tile.
#[derive(Debug, Clone, PartialEq)]
pub struct TileUpdate {
    /// The tile's key (see `layout.rs`).
    pub key: String,
    /// The entity type the tile is about.
    pub entity: EntityType,
    /// The entity's key.
    pub entity_key: String,
    /// When the key may expire, epoch milliseconds: tile end plus the longest window using it;
    /// `None` for lifetime tiles.
    pub expire_at: Option<i64>,
    /// The field operations, at most one per field.
    pub ops: Vec<FieldOp>,
}

impl TileUpdate {
    /// The Redis Cluster hash tag of the key, `<entity_type>:<entity_key>`.
    pub fn hash_tag(&self) -> String {
        format!("{}:{}", self.entity.as_str(), self.entity_key)
    }
}

/// The tile updates for a batch of observations, in key order.
pub fn updates(registry: &Registry, observations: &[Observation]) -> Vec<TileUpdate> {
    let tilings: Vec<_> = registry.views.iter().map(|v| v.tilings()).collect();
    let mut tiles: BTreeMap<TileId, Pending> = BTreeMap::new();

    for obs in observations {
        for (view, def) in registry.views.iter().enumerate() {
            let Some(entity_key) = obs.entity_key(def.entity) else {
                continue;
            };
            for &(size, _) in &tilings[view] {
                let k = tile_index(size, obs.event_time());
                let id = TileId {
                    view,
                    entity_key: entity_key.to_string(),
                    size,
                    k,
                };
                tiles.entry(id).or_default().add(&def.features, size, obs);
            }
        }
    }

    tiles
        .into_iter()
        .map(|(id, pending)| {
            let longest = tilings[id.view].iter().find(|(s, _)| *s == id.size);
            pending.into_update(registry, id, longest.and_then(|(_, l)| *l))
        })
        .collect()
}

/// A tile touched by the batch.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct TileId {
    view: usize,
    entity_key: String,
    size: u64,
    k: i64,
}

/// What a batch adds to one tile so far.
#[derive(Debug, Default)]
struct Pending {
    newest_event: Option<i64>,
    partials: BTreeMap<usize, Partial>,
}

impl Pending {
    fn add(&mut self, features: &[FeatureDef], size: u64, obs: &Observation) {
        self.newest_event = self.newest_event.max(Some(obs.event_time()));
        let same_tiles = features
            .iter()
            .enumerate()
            .filter(|(_, f)| f.window.tile_secs() == size);
        for (f, feature) in same_tiles {
            if let Some(partial) = Partial::observe(feature, obs) {
                let merged = self.partials.get(&f).map_or(partial, |p| p.merge(partial));
                self.partials.insert(f, merged);
            }
        }
    }

    /// The update of tile `id`, which expires `longest` (the longest window using it) after its
    /// end.
    fn into_update(self, registry: &Registry, id: TileId, longest: Option<i64>) -> TileUpdate {
        let view = &registry.views[id.view];
        let key = layout::tile_key(
            &registry.key_prefix,
            view.entity,
            &id.entity_key,
            &view.name,
            id.size,
            id.k,
        );
        // Not yet: an expiry for lifetime tiles, because it needs a retention setting per view.
        let end = id.k.saturating_add(1).saturating_mul(ms(id.size));
        TileUpdate {
            key,
            entity: view.entity,
            entity_key: id.entity_key,
            expire_at: longest.map(|l| end.saturating_add(l)),
            ops: self.ops(&view.features),
        }
    }

    fn ops(&self, features: &[FeatureDef]) -> Vec<FieldOp> {
        let marker = self.newest_event.map(|t| FieldOp {
            field: MARKER_FIELD.into(),
            op: Op::MaxTime(t),
        });
        let mut ops: Vec<FieldOp> = marker.into_iter().collect();
        for (&f, partial) in &self.partials {
            ops.extend(feature_ops(&features[f], partial));
        }
        ops
    }
}

/// The operations writing `partial` into the fields of `feature`; zero increments are left out.
fn feature_ops(feature: &FeatureDef, partial: &Partial) -> Vec<FieldOp> {
    let mut ops = Vec::new();
    for &component in components(&feature.aggregation) {
        let op = match component {
            Component::Count => Some(Op::IncrInt(partial.count)).filter(|_| partial.count != 0),
            Component::Sum => Some(Op::IncrInt(partial.sum)).filter(|_| partial.sum != 0),
            Component::Numerator => {
                Some(Op::IncrInt(partial.numerator)).filter(|_| partial.numerator != 0)
            }
            Component::Denominator => {
                Some(Op::IncrInt(partial.denominator)).filter(|_| partial.denominator != 0)
            }
            Component::Min => partial.min.map(Op::Min),
            Component::Max => partial.max.map(Op::Max),
            Component::Last => partial.last.map(|l| Op::Last {
                value: l.value,
                time: l.time,
                tiebreak: l.tiebreak,
            }),
            // Written by `Last` together with its value.
            Component::LastTime | Component::LastTiebreak => None,
            Component::Newest => partial.newest.map(Op::MaxTime),
        };
        if let Some(op) = op {
            ops.push(FieldOp {
                field: field_name(&feature.name, component),
                op,
            });
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{mood, play, registry, skip};

    fn op(field: &str, op: Op) -> FieldOp {
        FieldOp {
            field: field.into(),
            op,
        }
    }

    #[test]
    fn a_batch_becomes_one_update_per_touched_tile() {
        // Tiles: session 1h → 300 s, lifetime → 0; track 10m → 50 s.
        let batch = [
            play("e1", 1_000),
            skip("e2", 2_000, 50_000),
            play("e3", 301_000),
        ];
        let updates = updates(&registry(), &batch);
        let keys: Vec<&str> = updates.iter().map(|u| u.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "lucid:fs:{session:s-1}:s:0:0",
                "lucid:fs:{session:s-1}:s:300:0",
                "lucid:fs:{session:s-1}:s:300:1",
                "lucid:fs:{track:42}:t:50:0",
                "lucid:fs:{track:42}:t:50:6",
            ]
        );

        // No mood check-in: the lifetime tile only learns the entity's newest event.
        assert_eq!(updates[0].ops, [op("_:t", Op::MaxTime(301_000))]);
        assert_eq!(updates[0].expire_at, None);

        // 50 000 / 200 000 = 0.25 → 250 000 millionths. Expiry: tile end 300 000 + 1 h.
        let expected = [
            op("_:t", Op::MaxTime(2_000)),
            op("plays:n", Op::IncrInt(1)),
            op("plays:t", Op::MaxTime(1_000)),
            op("heard:n", Op::IncrInt(1)),
            op("heard:sum", Op::IncrInt(250_000)),
            op("heard:t", Op::MaxTime(2_000)),
        ];
        assert_eq!(updates[1].ops, expected);
        assert_eq!(updates[1].expire_at, Some(3_900_000));
        assert_eq!(updates[2].expire_at, Some(4_200_000));

        // 301 000 / 50 000 = 6.02 → tile 6, ending 350 000; plus 10 min = 950 000.
        let expected = [
            op("_:t", Op::MaxTime(301_000)),
            op("plays:n", Op::IncrInt(1)),
            op("plays:t", Op::MaxTime(301_000)),
        ];
        assert_eq!(updates[4].ops, expected);
        assert_eq!(updates[4].expire_at, Some(950_000));
        assert_eq!(updates[4].hash_tag(), "track:42");
    }

    #[test]
    fn a_thousand_events_in_one_tile_are_one_increment() {
        let batch: Vec<_> = (0..1000)
            .map(|i| play(&format!("e{i}"), 10_000 + i))
            .collect();
        let updates = updates(&registry(), &batch);
        let session = updates
            .iter()
            .find(|u| u.key.ends_with(":s:300:0"))
            .expect("session tile");
        let expected = [
            op("_:t", Op::MaxTime(10_999)),
            op("plays:n", Op::IncrInt(1000)),
            op("plays:t", Op::MaxTime(10_999)),
        ];
        assert_eq!(session.ops, expected);
    }

    #[test]
    fn out_of_order_check_ins_combine_into_the_newest() {
        let batch = [mood("e1", 20, 3), mood("e2", 10, 7)];
        let updates = updates(&registry(), &batch);
        let lifetime = updates
            .iter()
            .find(|u| u.key.ends_with(":s:0:0"))
            .expect("lifetime tile");
        let tiebreak = batch[0].tiebreak();
        let last = Op::Last {
            value: 3.0,
            time: 20,
            tiebreak,
        };
        assert_eq!(
            lifetime.ops,
            [op("_:t", Op::MaxTime(20)), op("mood:last", last)]
        );
    }

    #[test]
    fn events_without_the_entity_touch_none_of_its_tiles() {
        let start = crate::testing::event("e1", 5, lucid_events::Action::SessionStart);
        let updates = updates(&registry(), &[Observation::from_event(&start, None)]);
        assert!(
            updates.iter().all(|u| u.entity == EntityType::Session),
            "{updates:?}"
        );
        assert_eq!(updates.len(), 2);
    }
}
