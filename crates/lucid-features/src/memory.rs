//! A feature store in a `HashMap`, for the backfill and for tests.
//!
//! It applies [`TileUpdate`]s with exactly the effects listed in `update.rs` and answers reads
//! through the same [`read_plan`](crate::read_plan) and [`evaluate`] as the Redis layer, so a
//! backfill that replays the offline log through it computes what the online store served.
//! Expiry follows Redis: a key is gone once `now` is past its `expire_at`.

use std::collections::HashMap;

use crate::error::ReadError;
use crate::layout::{encode_f64, encode_i64, last_companions};
use crate::observation::Observation;
use crate::read::{KeyFetch, ReadPlan};
use crate::spec::Registry;
use crate::tile::LastValue;
use crate::update::{Op, TileUpdate, updates};
use crate::value::{FeatureValue, evaluate};

/// Tiles kept in memory, keyed and laid out as in Redis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InMemoryStore {
    tiles: HashMap<String, Tile>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Tile {
    expire_at: Option<i64>,
    fields: HashMap<String, Stored>,
}

/// A field value, typed; rendered as Redis would hold it when fetched.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stored {
    Int(i64),
    Float(f64),
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies the updates of a batch.
    pub fn apply(&mut self, updates: &[TileUpdate]) {
        for update in updates {
            let tile = self.tiles.entry(update.key.clone()).or_default();
            for op in &update.ops {
                tile.apply(&op.field, op.op);
            }
            // Windowed tiles always get the same expiry; lifetime tiles never get one.
            tile.expire_at = tile.expire_at.max(update.expire_at);
        }
    }

    /// Computes and applies the updates of a batch of observations.
    pub fn observe(&mut self, registry: &Registry, observations: &[Observation]) {
        self.apply(&updates(registry, observations));
    }

    /// The values of the plan's fields at time `now`, as `HMGET`s would return them.
    pub fn fetch(&self, plan: &ReadPlan, now: i64) -> Vec<Vec<Option<String>>> {
        self.fetch_keys(plan.keys(), now)
    }

    fn fetch_keys(&self, keys: &[KeyFetch], now: i64) -> Vec<Vec<Option<String>>> {
        let live = |key: &str| {
            self.tiles
                .get(key)
                .filter(|t| t.expire_at.is_none_or(|e| now <= e))
        };
        keys.iter()
            .map(|fetch| {
                let tile = live(&fetch.key);
                let value =
                    |field: &String| tile.and_then(|t| t.fields.get(field)).map(Stored::render);
                fetch.fields.iter().map(value).collect()
            })
            .collect()
    }

    /// Fetches and evaluates a plan, with its request time as `now`.
    pub fn read(&self, plan: &ReadPlan) -> Result<Vec<Vec<FeatureValue>>, ReadError> {
        evaluate(plan, &self.fetch(plan, plan.request_time()))
    }

    /// Drops the keys expired at `now`; returns how many.
    pub fn evict_expired(&mut self, now: i64) -> usize {
        let before = self.tiles.len();
        self.tiles
            .retain(|_, t| t.expire_at.is_none_or(|e| now <= e));
        before - self.tiles.len()
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }
}

impl Tile {
    fn apply(&mut self, field: &str, op: Op) {
        match op {
            Op::IncrInt(n) => {
                let stored = self.int(field).unwrap_or(0).saturating_add(n);
                self.set(field, Stored::Int(stored));
            }
            Op::Min(v) => {
                if self.float(field).is_none_or(|stored| v < stored) {
                    self.set(field, Stored::Float(v));
                }
            }
            Op::Max(v) => {
                if self.float(field).is_none_or(|stored| v > stored) {
                    self.set(field, Stored::Float(v));
                }
            }
            Op::MaxTime(t) => {
                if self.int(field).is_none_or(|stored| t > stored) {
                    self.set(field, Stored::Int(t));
                }
            }
            Op::Last {
                value,
                time,
                tiebreak,
            } => self.apply_last(
                field,
                LastValue {
                    value,
                    time,
                    tiebreak,
                },
            ),
        }
    }

    fn apply_last(&mut self, field: &str, new: LastValue) {
        let (time_field, tiebreak_field) = last_companions(field);
        let stored = match (
            self.float(field),
            self.int(&time_field),
            self.int(&tiebreak_field),
        ) {
            (Some(value), Some(time), Some(tiebreak)) => Some(LastValue {
                value,
                time,
                tiebreak,
            }),
            _ => None,
        };
        if stored.is_none_or(|stored| new.is_after(&stored)) {
            self.set(field, Stored::Float(new.value));
            self.set(&time_field, Stored::Int(new.time));
            self.set(&tiebreak_field, Stored::Int(new.tiebreak));
        }
    }

    fn int(&self, field: &str) -> Option<i64> {
        match self.fields.get(field) {
            Some(Stored::Int(v)) => Some(*v),
            _ => None,
        }
    }

    fn float(&self, field: &str) -> Option<f64> {
        match self.fields.get(field) {
            Some(Stored::Float(v)) => Some(*v),
            _ => None,
        }
    }

    fn set(&mut self, field: &str, value: Stored) {
        self.fields.insert(field.to_owned(), value);
    }
}

impl Stored {
    fn render(&self) -> String {
        match *self {
            Stored::Int(v) => encode_i64(v),
            Stored::Float(v) => encode_f64(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::FieldOp;

    fn update(expire_at: Option<i64>, ops: &[(&str, Op)]) -> TileUpdate {
        TileUpdate {
            key: "k".into(),
            entity: crate::EntityType::Session,
            entity_key: "s".into(),
            expire_at,
            ops: ops
                .iter()
                .map(|(f, op)| FieldOp {
                    field: (*f).into(),
                    op: *op,
                })
                .collect(),
        }
    }

    fn fields(store: &InMemoryStore, now: i64, fields: &[&str]) -> Vec<Option<String>> {
        let fetch = KeyFetch {
            key: "k".into(),
            fields: fields.iter().map(|f| (*f).into()).collect(),
        };
        store
            .fetch_keys(std::slice::from_ref(&fetch), now)
            .remove(0)
    }

    #[test]
    fn operations_keep_sums_extremes_and_the_newest() {
        let mut store = InMemoryStore::new();
        store.apply(&[update(
            None,
            &[
                ("n", Op::IncrInt(2)),
                ("lo", Op::Min(0.5)),
                ("hi", Op::Max(0.5)),
            ],
        )]);
        store.apply(&[update(
            None,
            &[
                ("n", Op::IncrInt(3)),
                ("lo", Op::Min(0.25)),
                ("hi", Op::Max(0.25)),
            ],
        )]);
        store.apply(&[update(
            None,
            &[("t", Op::MaxTime(9)), ("t", Op::MaxTime(4))],
        )]);
        let got = fields(&store, 0, &["n", "lo", "hi", "t", "absent"]);
        let want = [Some("5"), Some("0.25"), Some("0.5"), Some("9"), None];
        assert_eq!(got, want.map(|v| v.map(str::to_owned)));
    }

    #[test]
    fn last_replaces_only_with_a_later_time_or_tiebreak() {
        let last = |value, time, tiebreak| {
            (
                "m:last",
                Op::Last {
                    value,
                    time,
                    tiebreak,
                },
            )
        };
        let mut store = InMemoryStore::new();
        store.apply(&[update(None, &[last(3.0, 20, 1)])]);
        store.apply(&[update(None, &[last(7.0, 10, 9)])]);
        let got = fields(&store, 0, &["m:last", "m:last_t", "m:last_tb"]);
        assert_eq!(got, [Some("3".into()), Some("20".into()), Some("1".into())]);
        store.apply(&[update(None, &[last(5.0, 20, 2)])]);
        let got = fields(&store, 0, &["m:last", "m:last_t", "m:last_tb"]);
        assert_eq!(got, [Some("5".into()), Some("20".into()), Some("2".into())]);
        // Same time, smaller tie-break: arriving last does not make it the last.
        store.apply(&[update(None, &[last(4.0, 20, 1)])]);
        let got = fields(&store, 0, &["m:last", "m:last_t", "m:last_tb"]);
        assert_eq!(got, [Some("5".into()), Some("20".into()), Some("2".into())]);
    }

    #[test]
    fn keys_expire_after_their_time_as_in_redis() {
        let mut store = InMemoryStore::new();
        store.apply(&[update(Some(100), &[("n", Op::IncrInt(1))])]);
        assert_eq!(fields(&store, 100, &["n"]), [Some("1".into())]);
        assert_eq!(fields(&store, 101, &["n"]), [None]);
        assert_eq!(store.evict_expired(100), 0);
        assert_eq!(store.evict_expired(101), 1);
        assert!(store.is_empty());
    }
}
