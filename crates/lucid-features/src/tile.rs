//! Partial aggregates: what a tile holds for one feature, and how tiles merge.
//!
//! A [`Partial`] has every component any aggregation needs; each aggregation fills only its own
//! (see `layout.rs` for which). Merging is associative and commutative, so a window may be
//! built from any split of its events in any order and come out the same to the bit:
//!
//! - counts and sums add as integers (sums in units of [`Field::scale`]), saturating at the
//!   ends of `i64` (out of reach: Redis would refuse the `HINCRBY` first);
//! - min and max take the smaller and larger value; values are finite and never −0.0;
//! - last keeps the greater of (event time, tie-break, value), compared in that order;
//! - newest keeps the later event time.

use std::cmp::Ordering;

use crate::observation::Observation;
use crate::spec::{Aggregation, FeatureDef, Field};

/// The value of the newest event, with what orders it against others.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LastValue {
    /// The field's value.
    pub value: f64,
    /// Event time, epoch milliseconds.
    pub time: i64,
    /// The event's [`Observation::tiebreak`].
    pub tiebreak: i64,
}

impl LastValue {
    /// Whether `self` comes after `other`: later time, then greater tie-break, then value.
    pub fn is_after(&self, other: &LastValue) -> bool {
        let order = (self.time, self.tiebreak)
            .cmp(&(other.time, other.tiebreak))
            .then(self.value.total_cmp(&other.value));
        order == Ordering::Greater
    }

    /// The later of the two.
    pub fn later(self, other: LastValue) -> LastValue {
        if other.is_after(&self) { other } else { self }
    }
}

/// The partial aggregate of one feature over some events.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Partial {
    /// Events counted (`count`) or carrying the field (`mean`).
    pub count: i64,
    /// Sum of the field in units of [`Field::scale`] (`sum`, `mean`).
    pub sum: i64,
    /// Smallest value (`min`).
    pub min: Option<f64>,
    /// Largest value (`max`).
    pub max: Option<f64>,
    /// Newest value (`last`).
    pub last: Option<LastValue>,
    /// Events in the numerator (`ratio`).
    pub numerator: i64,
    /// Events in the denominator (`ratio`).
    pub denominator: i64,
    /// Newest event time of a contributing event (all aggregations).
    pub newest: Option<i64>,
}

impl Partial {
    /// What one observation contributes to `feature`; `None` when it contributes nothing.
    pub fn observe(feature: &FeatureDef, obs: &Observation) -> Option<Partial> {
        if !feature.matches(obs.action()) {
            return None;
        }
        let time = obs.event_time();
        let base = Partial {
            newest: Some(time),
            ..Partial::default()
        };

        let partial = match feature.aggregation {
            Aggregation::Count => Partial { count: 1, ..base },
            Aggregation::Sum(f) => Partial {
                sum: fixed(obs.value(f)?, f),
                ..base
            },
            Aggregation::Mean(f) => Partial {
                count: 1,
                sum: fixed(obs.value(f)?, f),
                ..base
            },
            Aggregation::Min(f) => Partial {
                min: Some(obs.value(f)?),
                ..base
            },
            Aggregation::Max(f) => Partial {
                max: Some(obs.value(f)?),
                ..base
            },
            Aggregation::Last(f) => {
                let last = LastValue {
                    value: obs.value(f)?,
                    time,
                    tiebreak: obs.tiebreak(),
                };
                Partial {
                    last: Some(last),
                    ..base
                }
            }
            Aggregation::Ratio {
                numerator,
                denominator,
            } => {
                let (above, below) = (
                    numerator.contains(obs.action()),
                    denominator.contains(obs.action()),
                );
                if !above && !below {
                    return None;
                }
                Partial {
                    numerator: i64::from(above),
                    denominator: i64::from(below),
                    ..base
                }
            }
        };
        Some(partial)
    }

    /// The partial of both sets of events.
    pub fn merge(self, other: Partial) -> Partial {
        Partial {
            count: self.count.saturating_add(other.count),
            sum: self.sum.saturating_add(other.sum),
            min: both(self.min, other.min, f64::min),
            max: both(self.max, other.max, f64::max),
            last: both(self.last, other.last, LastValue::later),
            numerator: self.numerator.saturating_add(other.numerator),
            denominator: self.denominator.saturating_add(other.denominator),
            newest: both(self.newest, other.newest, i64::max),
        }
    }
}

/// `value` in whole units of `field`'s scale.
pub(crate) fn fixed(value: f64, field: Field) -> i64 {
    // `as` saturates; the values are finite (see `Observation::value`).
    (value * field.scale() as f64).round() as i64
}

fn both<T>(a: Option<T>, b: Option<T>, combine: impl FnOnce(T, T) -> T) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(combine(a, b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn last(time: i64, tiebreak: i64, value: f64) -> LastValue {
        LastValue {
            value,
            time,
            tiebreak,
        }
    }

    #[test]
    fn last_orders_by_time_then_tiebreak_then_value() {
        assert!(last(2, 0, 0.0).is_after(&last(1, 9, 9.0)));
        assert!(last(1, 5, 0.0).is_after(&last(1, 4, 9.0)));
        assert!(last(1, 4, 2.0).is_after(&last(1, 4, 1.0)));
        assert!(!last(1, 4, 1.0).is_after(&last(1, 4, 1.0)));
        assert_eq!(last(1, 4, 1.0).later(last(1, 5, 0.5)), last(1, 5, 0.5));
    }

    #[test]
    fn fixed_point_rounds_to_millionths_or_units() {
        assert_eq!(fixed(0.4166754, Field::TrackEnergy), 416_675);
        assert_eq!(fixed(0.416675, Field::TrackEnergy), 416_675);
        assert_eq!(fixed(0.1, Field::TrackEnergy), 100_000);
        assert_eq!(fixed(30_000.0, Field::ListenedMs), 30_000);
    }

    #[test]
    fn merging_with_empty_changes_nothing() {
        let p = Partial {
            count: 2,
            min: Some(0.5),
            newest: Some(7),
            ..Partial::default()
        };
        assert_eq!(p.merge(Partial::default()), p);
        assert_eq!(Partial::default().merge(p), p);
    }

    fn any_partial() -> impl Strategy<Value = Partial> {
        // Small ranges so that times and tie-breaks collide often.
        let value = -4i32..5;
        let last = (0i64..4, 0i64..3, value.clone())
            .prop_map(|(time, tiebreak, v)| last(time, tiebreak, f64::from(v) / 4.0));
        (
            (0i64..100, -1000i64..1000, 0i64..50, 0i64..50),
            prop::option::of(value.clone().prop_map(|v| f64::from(v) * 0.1)),
            prop::option::of(value.prop_map(|v| f64::from(v) * 0.3)),
            prop::option::of(last),
            prop::option::of(0i64..10),
        )
            .prop_map(
                |((count, sum, numerator, denominator), min, max, last, newest)| Partial {
                    count,
                    sum,
                    min,
                    max,
                    last,
                    numerator,
                    denominator,
                    newest,
                },
            )
    }

    proptest! {
        #[test]
        fn merge_is_commutative(a in any_partial(), b in any_partial()) {
            prop_assert_eq!(a.merge(b), b.merge(a));
        }

        #[test]
        fn merge_is_associative(a in any_partial(), b in any_partial(), c in any_partial()) {
            prop_assert_eq!(a.merge(b).merge(c), a.merge(b.merge(c)));
        }

        #[test]
        fn any_split_and_order_merge_to_the_same_partial(
            (parts, shuffled) in prop::collection::vec(any_partial(), 0..20)
                .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
            cuts in prop::collection::vec(0usize..20, 0..5),
        ) {
            let folded = parts.iter().fold(Partial::default(), |acc, p| acc.merge(*p));
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(shuffled.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([shuffled.len()]) {
                let chunk = &shuffled[start..cut];
                chunks.push(chunk.iter().fold(Partial::default(), |acc, p| acc.merge(*p)));
                start = cut;
            }
            let merged = chunks.into_iter().rev().fold(Partial::default(), |acc, p| p.merge(acc));
            prop_assert_eq!(merged, folded);
        }

        #[test]
        fn last_keeps_the_greatest_time_and_tiebreak(
            values in prop::collection::vec((0i64..4, 0i64..3, -4i32..5), 1..20),
        ) {
            let lasts: Vec<LastValue> =
                values.iter().map(|&(t, tb, v)| last(t, tb, f64::from(v))).collect();
            let kept = lasts.iter().copied().reduce(LastValue::later).expect("non-empty");
            let newest = lasts.iter().map(|l| (l.time, l.tiebreak)).max();
            let (time, tiebreak) = newest.expect("non-empty");
            prop_assert_eq!((kept.time, kept.tiebreak), (time, tiebreak));
        }
    }
}
