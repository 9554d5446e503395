//! Small random draws shared by the model: weighted picks, ranges, ids.

use chrono::TimeDelta;
use rand::Rng;

/// Picks one item with probability proportional to its weight.
///
/// The weights are constants of the model and sum to more than zero; the last item takes any
/// rounding remainder.
pub(crate) fn pick<T: Copy>(items: &[(T, f64)], rng: &mut impl Rng) -> T {
    let total: f64 = items.iter().map(|(_, weight)| weight).sum();
    let mut left = rng.random::<f64>() * total;
    for (item, weight) in items {
        if left < *weight {
            return *item;
        }
        left -= weight;
    }
    items[items.len() - 1].0
}

/// A duration drawn uniformly between `min_ms` and `max_ms`, both included.
pub(crate) fn millis(min_ms: i64, max_ms: i64, rng: &mut impl Rng) -> TimeDelta {
    TimeDelta::milliseconds(rng.random_range(min_ms..=max_ms))
}

/// A UUID-formatted id (version 4 layout) made from the generator's bytes, so it is as
/// deterministic as the rest of the run.
pub(crate) fn uuid(rng: &mut impl Rng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Clamps to the unit interval.
pub(crate) fn unit(value: f64) -> f64 {
    value.clamp(0.0, 1.0)
}

/// Maps a unit-interval mood to the app's 1-9 check-in scale: `1 + round(8 x)`.
pub(crate) fn nine_point(value: f64) -> i32 {
    1 + (8.0 * unit(value)).round() as i32
}

/// Index of the first cumulative weight above `target`: a weighted pick from a prefix-sum table.
pub(crate) fn search(cumulative: &[f64], target: f64) -> usize {
    cumulative
        .partition_point(|sum| *sum <= target)
        .min(cumulative.len() - 1)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn pick_follows_the_weights() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let items = [("a", 0.7), ("b", 0.2), ("c", 0.1)];
        let draws = 20_000;
        let a = (0..draws).filter(|_| pick(&items, &mut rng) == "a").count();
        let share = a as f64 / draws as f64;
        assert!((share - 0.7).abs() < 0.015, "share of a is {share}");
    }

    #[test]
    fn uuid_is_version_4_text_and_repeats_for_a_seed() {
        let first = uuid(&mut ChaCha8Rng::seed_from_u64(1));
        let again = uuid(&mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(first, again);
        let parsed = Uuid::parse_str(&first).expect("uuid text");
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(first.len(), 36);
    }

    #[test]
    fn nine_point_scale_ends_and_middle() {
        assert_eq!(nine_point(0.0), 1);
        assert_eq!(nine_point(0.5), 5);
        assert_eq!(nine_point(1.0), 9);
        assert_eq!(nine_point(1.7), 9);
        assert_eq!(nine_point(-0.2), 1);
        assert_eq!(nine_point(0.06), 1);
        assert_eq!(nine_point(0.07), 2);
    }

    #[test]
    fn search_finds_the_bucket_of_a_target() {
        let cumulative = [1.0, 3.0, 6.0];
        assert_eq!(search(&cumulative, 0.0), 0);
        assert_eq!(search(&cumulative, 0.99), 0);
        assert_eq!(search(&cumulative, 1.0), 1);
        assert_eq!(search(&cumulative, 5.99), 2);
        assert_eq!(search(&cumulative, 6.0), 2);
    }
}
