//! How tiles are laid out in Redis hashes; the Redis layer, its Lua script and
//! [`crate::InMemoryStore`] all follow this.
//!
//! # Keys
//!
//! One hash per view, entity, tile size and tile index:
//!
//! ```text
//! {prefix}:fs:{<entity_type>:<entity_key>}:<view>:<g_secs>:<k>
//! lucid:fs:{session:s-1}:session_activity:7200:250000
//! lucid:fs:{track:42}:track_popularity:0:0              (a lifetime tile)
//! ```
//!
//! The inner braces are literal: they are the Redis Cluster hash tag, so every tile of one entity
//! is in one slot and one script call may update all of them atomically. `g_secs` is the tile
//! size in seconds and `k` the tile index (see `window.rs`); lifetime tiles are `0:0`. Features of
//! a view that share a tile size share the hash.
//!
//! # Fields
//!
//! `_:t` is the newest event time of any event of the entity written to the tile, whether or not
//! it passed a feature's filter; a count reads 0 rather than not-found when it is set. Then each
//! feature has `<feature>:<component>` fields:
//!
//! | aggregation | components           |
//! |-------------|----------------------|
//! | count       | `n`, `t`             |
//! | sum         | `sum`, `t`           |
//! | mean        | `n`, `sum`, `t`      |
//! | min         | `min`, `t`           |
//! | max         | `max`, `t`           |
//! | last        | `last`, `last_t`, `last_tb` |
//! | ratio       | `num`, `den`, `t`    |
//!
//! `n`, `num` and `den` are counts; `sum` is an integer in units of [`crate::Field::scale`]; `min`,
//! `max` and `last` are floats; `t` and `last_t` are epoch milliseconds of the newest contributing
//! event; `last_tb` is its tie-break. A missing count or sum reads as 0; a feature with no `t`
//! (for last: no `last_t`) had no contributing event in the tile.
//!
//! # Values
//!
//! Integers in decimal, floats as the shortest decimal that reads back as the same `f64`
//! ([`encode_f64`]). A script must store float arguments as the strings it was given: Lua's own
//! number formatting keeps only 14 digits.

use crate::spec::{Aggregation, EntityType};
use crate::tile::{LastValue, Partial};

/// The field holding the newest event time of any event of the entity in the tile.
pub const MARKER_FIELD: &str = "_:t";

/// The Redis key of a tile.
pub fn tile_key(
    prefix: &str,
    entity: EntityType,
    entity_key: &str,
    view: &str,
    tile_secs: u64,
    k: i64,
) -> String {
    format!(
        "{prefix}:fs:{{{}:{entity_key}}}:{view}:{tile_secs}:{k}",
        entity.as_str()
    )
}

/// The hash field of one component of one feature.
pub(crate) fn field_name(feature: &str, component: Component) -> String {
    format!("{feature}:{}", component.suffix())
}

/// The time and tie-break fields written together with the `last` field `field`.
pub fn last_companions(field: &str) -> (String, String) {
    (format!("{field}_t"), format!("{field}_tb"))
}

/// An integer as stored in a hash field.
pub fn encode_i64(value: i64) -> String {
    value.to_string()
}

/// A float as stored in a hash field: the shortest decimal that reads back exactly.
pub fn encode_f64(value: f64) -> String {
    value.to_string()
}

/// One part of a feature's partial aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Component {
    Count,
    Sum,
    Min,
    Max,
    Last,
    LastTime,
    LastTiebreak,
    Numerator,
    Denominator,
    Newest,
}

impl Component {
    fn suffix(self) -> &'static str {
        match self {
            Component::Count => "n",
            Component::Sum => "sum",
            Component::Min => "min",
            Component::Max => "max",
            Component::Last => "last",
            Component::LastTime => "last_t",
            Component::LastTiebreak => "last_tb",
            Component::Numerator => "num",
            Component::Denominator => "den",
            Component::Newest => "t",
        }
    }
}

/// The components an aggregation stores, in the order of the table above.
pub(crate) fn components(aggregation: &Aggregation) -> &'static [Component] {
    use Component::*;
    match aggregation {
        Aggregation::Count => &[Count, Newest],
        Aggregation::Sum(_) => &[Sum, Newest],
        Aggregation::Mean(_) => &[Count, Sum, Newest],
        Aggregation::Min(_) => &[Min, Newest],
        Aggregation::Max(_) => &[Max, Newest],
        Aggregation::Last(_) => &[Last, LastTime, LastTiebreak],
        Aggregation::Ratio { .. } => &[Numerator, Denominator, Newest],
    }
}

/// Reads a partial from the fields of [`components`], fetched in that order.
///
/// Fails with the index of the first field that does not parse.
pub(crate) fn decode_partial(
    aggregation: &Aggregation,
    values: &[Option<String>],
) -> Result<Partial, usize> {
    let mut partial = Partial::default();
    let (mut last, mut last_time, mut last_tiebreak) = (None, None, None);

    for (i, (component, value)) in components(aggregation).iter().zip(values).enumerate() {
        let Some(text) = value else { continue };
        let int = || text.parse::<i64>().map_err(|_| i);
        let float = || text.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or(i);
        match component {
            Component::Count => partial.count = int()?,
            Component::Sum => partial.sum = int()?,
            Component::Min => partial.min = Some(float()?),
            Component::Max => partial.max = Some(float()?),
            Component::Last => last = Some(float()?),
            Component::LastTime => last_time = Some(int()?),
            Component::LastTiebreak => last_tiebreak = Some(int()?),
            Component::Numerator => partial.numerator = int()?,
            Component::Denominator => partial.denominator = int()?,
            Component::Newest => partial.newest = Some(int()?),
        }
    }

    match (last, last_time, last_tiebreak) {
        (Some(value), Some(time), Some(tiebreak)) => {
            partial.last = Some(LastValue {
                value,
                time,
                tiebreak,
            });
            partial.newest = Some(time);
        }
        (None, None, None) => {}
        // The three are written together; a tile holding only some of them is corrupt.
        _ => return Err(0),
    }
    Ok(partial)
}

/// Reads an event time field.
pub(crate) fn decode_time(value: &Option<String>) -> Result<Option<i64>, ()> {
    value.as_deref().map(str::parse).transpose().map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Actions, Field};

    fn fetched(values: &[Option<&str>]) -> Vec<Option<String>> {
        values.iter().map(|v| v.map(str::to_owned)).collect()
    }

    #[test]
    fn keys_carry_the_entity_as_hash_tag() {
        let key = tile_key(
            "lucid",
            EntityType::Session,
            "s-1",
            "session_activity",
            7200,
            250_000,
        );
        assert_eq!(key, "lucid:fs:{session:s-1}:session_activity:7200:250000");
        let key = tile_key("p", EntityType::Track, "42", "track_popularity", 0, 0);
        assert_eq!(key, "p:fs:{track:42}:track_popularity:0:0");
        assert_eq!(
            field_name("skip_rate", Component::Denominator),
            "skip_rate:den"
        );
        let companions = ("last_valence:last_t".into(), "last_valence:last_tb".into());
        assert_eq!(last_companions("last_valence:last"), companions);
    }

    #[test]
    fn floats_are_written_to_read_back_exactly() {
        for value in [0.1, 1.0 / 3.0, 120.5, 1e-300, 0.0] {
            assert_eq!(encode_f64(value).parse::<f64>(), Ok(value));
        }
        assert_eq!(encode_f64(0.25), "0.25");
        assert_eq!(encode_f64(3.0), "3");
    }

    #[test]
    fn partials_decode_by_component_order() {
        let mean = Aggregation::Mean(Field::TrackEnergy);
        let partial = decode_partial(&mean, &fetched(&[Some("2"), Some("900000"), Some("77")]));
        let expected = Partial {
            count: 2,
            sum: 900_000,
            newest: Some(77),
            ..Partial::default()
        };
        assert_eq!(partial, Ok(expected));

        let ratio = Aggregation::Ratio {
            numerator: Actions::of(&[]),
            denominator: Actions::of(&[]),
        };
        let partial = decode_partial(&ratio, &fetched(&[None, Some("3"), Some("5")]));
        let expected = Partial {
            denominator: 3,
            newest: Some(5),
            ..Partial::default()
        };
        assert_eq!(partial, Ok(expected));
    }

    #[test]
    fn last_needs_all_three_fields() {
        let last = Aggregation::Last(Field::MoodValence);
        let whole = decode_partial(&last, &fetched(&[Some("6"), Some("10"), Some("3")]));
        let value = LastValue {
            value: 6.0,
            time: 10,
            tiebreak: 3,
        };
        assert_eq!(
            whole.map(|p| (p.last, p.newest)),
            Ok((Some(value), Some(10)))
        );
        assert_eq!(
            decode_partial(&last, &fetched(&[Some("6"), None, None])),
            Err(0)
        );
    }

    #[test]
    fn garbage_is_reported_by_position() {
        let max = Aggregation::Max(Field::TrackTempo);
        assert_eq!(
            decode_partial(&max, &fetched(&[Some("fast"), Some("1")])),
            Err(0)
        );
        assert_eq!(
            decode_partial(&max, &fetched(&[Some("NaN"), Some("1")])),
            Err(0)
        );
        assert_eq!(
            decode_partial(&max, &fetched(&[Some("1.5"), Some("x")])),
            Err(1)
        );
        assert_eq!(decode_time(&Some("12".into())), Ok(Some(12)));
        assert_eq!(decode_time(&None), Ok(None));
        assert!(decode_time(&Some("soon".into())).is_err());
    }
}
