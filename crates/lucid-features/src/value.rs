//! Feature values: what a read returns, computed from the fetched fields.
//!
//! The value of a feature at request time t merges the tiles of its window as described in
//! `window.rs`: those holding (t − W, t], widened to tile edges, so up to one tile size older than
//! t − W and, inside the newest tile, events after t as well. Nothing inside a tile is filtered:
//! a point-in-time read is exact only on a store built from events at or before t, as the backfill
//! builds it.
//!
//! Each value has a status:
//!
//! - `NotFound` (no value, no time) when no event in the window contributed: none passed the
//!   filter, or none had the field, or a ratio's denominator is 0. A count is the exception: it
//!   reads 0 when the entity has any event in the view's tiles of the window (`_:t` set), and is
//!   not found only when it has none. Its time is then that of the entity's newest event there.
//! - `Stale` when the newest contributing event is older than t − max_age; the value is still
//!   given.
//! - `Present` otherwise.
//!
//! Means are sum / count; ratios numerator / denominator, both of counts.

use crate::error::ReadError;
use crate::layout::{components, decode_partial, decode_time};
use crate::read::{Planned, ReadPlan};
use crate::spec::Aggregation;
use crate::tile::Partial;

/// Whether a feature value can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Computed from recent enough events.
    Present,
    /// No event in the window contributed.
    NotFound,
    /// Computed, but the newest contributing event is older than the view's max_age.
    Stale,
}

/// One feature of one entity at one request time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureValue {
    /// The value; `None` when not found.
    pub value: Option<f64>,
    /// Whether it can be used.
    pub status: Status,
    /// Event time of the newest contributing event, epoch milliseconds.
    pub event_time: Option<i64>,
}

impl FeatureValue {
    /// The value of a feature with no contributing event.
    pub const NOT_FOUND: FeatureValue = FeatureValue {
        value: None,
        status: Status::NotFound,
        event_time: None,
    };
}

/// The values of a plan from what was fetched: per entity, per feature, in request order.
///
/// `fetched` holds one row per key of [`ReadPlan::keys`], one value per field, `None` where the
/// field (or the whole key) is absent, as `HMGET` returns them.
pub fn evaluate(
    plan: &ReadPlan,
    fetched: &[Vec<Option<String>>],
) -> Result<Vec<Vec<FeatureValue>>, ReadError> {
    if fetched.len() != plan.keys.len() {
        return Err(ReadError::KeyCount {
            expected: plan.keys.len(),
            actual: fetched.len(),
        });
    }
    for (key, row) in plan.keys.iter().zip(fetched) {
        if row.len() != key.fields.len() {
            let (expected, actual) = (key.fields.len(), row.len());
            return Err(ReadError::FieldCount {
                key: key.key.clone(),
                expected,
                actual,
            });
        }
    }

    let mut values = Vec::with_capacity(plan.tiles.len());
    for entity_tiles in &plan.tiles {
        let mut row = Vec::with_capacity(plan.features.len());
        for (planned, tiles) in plan.features.iter().zip(entity_tiles) {
            row.push(evaluate_feature(plan, planned, tiles, fetched)?);
        }
        values.push(row);
    }
    Ok(values)
}

fn evaluate_feature(
    plan: &ReadPlan,
    planned: &Planned,
    tiles: &[(usize, usize)],
    fetched: &[Vec<Option<String>>],
) -> Result<FeatureValue, ReadError> {
    let width = components(&planned.aggregation).len();
    let mut merged = Partial::default();
    let mut entity_seen: Option<i64> = None;

    for &(key, offset) in tiles {
        let row = &fetched[key];
        let seen = decode_time(&row[0]).map_err(|()| corrupt(plan, fetched, key, 0))?;
        entity_seen = entity_seen.max(seen);
        let partial = decode_partial(&planned.aggregation, &row[offset..offset + width])
            .map_err(|i| corrupt(plan, fetched, key, offset + i))?;
        merged = merged.merge(partial);
    }
    Ok(finish(planned, merged, entity_seen, plan.t))
}

/// The value of a feature from its merged partial (see the module header).
fn finish(planned: &Planned, p: Partial, entity_seen: Option<i64>, t: i64) -> FeatureValue {
    let (value, time) = match planned.aggregation {
        Aggregation::Count if p.newest.is_none() => (entity_seen.map(|_| 0.0), entity_seen),
        Aggregation::Count => (Some(p.count as f64), p.newest),
        Aggregation::Sum(f) => (Some(p.sum as f64 / f.scale() as f64), p.newest),
        Aggregation::Mean(f) if p.count > 0 => (
            Some(p.sum as f64 / (p.count as f64 * f.scale() as f64)),
            p.newest,
        ),
        Aggregation::Mean(_) => (None, None),
        Aggregation::Min(_) => (p.min, p.newest),
        Aggregation::Max(_) => (p.max, p.newest),
        Aggregation::Last(_) => (p.last.map(|l| l.value), p.newest),
        Aggregation::Ratio { .. } if p.denominator > 0 => {
            (Some(p.numerator as f64 / p.denominator as f64), p.newest)
        }
        Aggregation::Ratio { .. } => (None, None),
    };

    match (value, time) {
        (Some(value), Some(time)) => {
            let stale = time < t.saturating_sub(planned.max_age_ms);
            let status = if stale {
                Status::Stale
            } else {
                Status::Present
            };
            FeatureValue {
                value: Some(value),
                status,
                event_time: Some(time),
            }
        }
        _ => FeatureValue::NOT_FOUND,
    }
}

fn corrupt(
    plan: &ReadPlan,
    fetched: &[Vec<Option<String>>],
    key: usize,
    field: usize,
) -> ReadError {
    ReadError::Corrupt {
        key: plan.keys[key].key.clone(),
        field: plan.keys[key].fields[field].clone(),
        value: fetched[key][field].clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::read_plan;
    use crate::spec::EntityType;
    use crate::testing::registry;

    #[test]
    fn absent_keys_read_as_not_found() {
        let entities = ["a", "b"];
        let plan = read_plan(
            &registry(),
            EntityType::Session,
            &entities,
            &["s:plays", "s:mood"],
            0,
        )
        .expect("known features");
        let fetched: Vec<Vec<Option<String>>> = plan
            .keys()
            .iter()
            .map(|k| vec![None; k.fields.len()])
            .collect();
        let values = evaluate(&plan, &fetched).expect("well-formed");
        assert_eq!(values, vec![vec![FeatureValue::NOT_FOUND; 2]; 2]);
    }

    fn planned(aggregation: Aggregation) -> Planned {
        Planned {
            aggregation,
            max_age_ms: 100,
        }
    }

    #[test]
    fn a_count_without_matches_reads_zero_only_if_the_entity_was_seen() {
        let count = planned(Aggregation::Count);
        let zero = FeatureValue {
            value: Some(0.0),
            status: Status::Present,
            event_time: Some(150),
        };
        assert_eq!(finish(&count, Partial::default(), Some(150), 200), zero);
        assert_eq!(
            finish(&count, Partial::default(), None, 200),
            FeatureValue::NOT_FOUND
        );
    }

    #[test]
    fn stale_starts_strictly_before_t_minus_max_age() {
        let max = planned(Aggregation::Max(crate::Field::Position));
        let seen_at = |newest| Partial {
            max: Some(4.0),
            newest: Some(newest),
            ..Partial::default()
        };
        // t = 1000, max_age = 100: 900 is the last present time, 899 is stale.
        assert_eq!(
            finish(&max, seen_at(900), None, 1000).status,
            Status::Present
        );
        assert_eq!(finish(&max, seen_at(899), None, 1000).status, Status::Stale);
        assert_eq!(finish(&max, seen_at(899), None, 1000).value, Some(4.0));
    }

    #[test]
    fn a_ratio_over_nothing_is_not_found() {
        let actions = crate::Actions::of(&[]);
        let ratio = planned(Aggregation::Ratio {
            numerator: actions,
            denominator: actions,
        });
        let above_only = Partial {
            numerator: 2,
            newest: Some(5),
            ..Partial::default()
        };
        assert_eq!(
            finish(&ratio, above_only, Some(5), 10),
            FeatureValue::NOT_FOUND
        );
        let three_of_four = Partial {
            numerator: 3,
            denominator: 4,
            newest: Some(5),
            ..Partial::default()
        };
        assert_eq!(finish(&ratio, three_of_four, Some(5), 10).value, Some(0.75));
    }

    #[test]
    fn fetched_rows_must_match_the_plan() {
        let plan =
            read_plan(&registry(), EntityType::Session, &["s-1"], &["s:mood"], 0).expect("known");
        assert_eq!(
            evaluate(&plan, &[]),
            Err(ReadError::KeyCount {
                expected: 1,
                actual: 0
            })
        );
        let short = evaluate(&plan, &[vec![None]]).map_err(|e| e.to_string());
        assert_eq!(
            short,
            Err("fetched 1 values for the 4 fields of lucid:fs:{session:s-1}:s:0:0".into())
        );
        let garbage = vec![
            Some("1".into()),
            Some("x".into()),
            Some("1".into()),
            Some("1".into()),
        ];
        let corrupt = evaluate(&plan, &[garbage]).map_err(|e| e.to_string());
        let message = "lucid:fs:{session:s-1}:s:0:0 field mood:last holds unreadable value \"x\"";
        assert_eq!(corrupt, Err(message.into()));
    }
}
