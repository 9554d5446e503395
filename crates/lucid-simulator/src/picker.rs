//! Choosing the next track: popularity proposes, genre preference and mood fit accept.
//!
//! The chance of a track is proportional to `popularity × genre weight × (floor + (1 - floor) ×
//! fit)`. Sampling is exact rejection sampling: a track is proposed by popularity from a
//! prefix-sum table (a binary search) and accepted with probability `genre weight × (floor +
//! (1 - floor) × fit)`, which is at most 1. That costs a few draws per track instead of a pass
//! over the catalog.

use lucid_catalog::{Catalog, Track};
use rand::Rng;

use crate::Listener;
use crate::draw;
use crate::mood::Mood;

/// Popularity is `listens ^ POPULARITY_EXPONENT`: damped so that one hit does not dominate.
pub const POPULARITY_EXPONENT: f64 = 0.5;
/// Width of the mood fit: at this distance in (valence, energy) space the fit is e^-0.5.
pub const FIT_SIGMA: f64 = 0.25;
/// Share of a track's choice weight that does not depend on mood fit.
pub const FIT_FLOOR: f64 = 0.15;
/// Proposals tried before the last one is taken regardless (only reached in tiny catalogs).
pub const MAX_PROPOSALS: usize = 10_000;
/// Shortest length given to a track of unknown duration, in ms.
pub const UNKNOWN_DURATION_MIN_MS: i64 = 120_000;
/// Longest length given to a track of unknown duration, in ms.
pub const UNKNOWN_DURATION_MAX_MS: i64 = 300_000;

/// The catalog prepared for track choice.
#[derive(Debug, Clone)]
pub(crate) struct Picker<'c> {
    tracks: &'c [Track],
    cumulative: Vec<f64>,
    durations: Vec<i64>,
}

impl<'c> Picker<'c> {
    /// Prepares popularity sums and durations. Tracks without listens count as the median
    /// of the known listen counts (1 when none is known).
    pub(crate) fn new(catalog: &'c Catalog) -> Picker<'c> {
        let tracks = catalog.tracks();
        let default_listens = median_listens(tracks);

        let mut sum = 0.0;
        let cumulative = tracks
            .iter()
            .map(|track| {
                sum += popularity(track.listens.unwrap_or(default_listens));
                sum
            })
            .collect();
        let durations = tracks.iter().map(duration_ms).collect();
        Picker {
            tracks,
            cumulative,
            durations,
        }
    }

    /// The track at a catalog index.
    pub(crate) fn track(&self, index: usize) -> &'c Track {
        &self.tracks[index]
    }

    /// The duration used for the track at a catalog index, in ms.
    pub(crate) fn duration_ms(&self, index: usize) -> i64 {
        self.durations[index]
    }

    /// Chooses the next track for `listener` aiming at `target`, avoiding `played` ones.
    pub(crate) fn choose(
        &self,
        listener: &Listener,
        target: Mood,
        played: &[usize],
        rng: &mut impl Rng,
    ) -> usize {
        let total = self.cumulative[self.cumulative.len() - 1];
        let mut index = 0;
        for _ in 0..MAX_PROPOSALS {
            index = draw::search(&self.cumulative, rng.random::<f64>() * total);
            if played.contains(&index) {
                continue;
            }
            let track = &self.tracks[index];
            let accept = listener.genre_weight(track.genre)
                * (FIT_FLOOR + (1.0 - FIT_FLOOR) * fit(track, target));
            if rng.random::<f64>() < accept {
                return index;
            }
        }
        index
    }
}

/// How well a track suits a mood target: `exp(-d² / (2 σ²))`, where `d` is the distance from
/// (valence, energy) to the target's (valence, arousal). 1 is a perfect fit.
pub fn fit(track: &Track, target: Mood) -> f64 {
    let dv = track.valence - target.valence;
    let de = track.energy - target.arousal;
    (-(dv * dv + de * de) / (2.0 * FIT_SIGMA * FIT_SIGMA)).exp()
}

/// The track's duration in ms; when unknown, 2:00-5:00 chosen by a hash of the track id so the
/// same track always has the same length.
pub fn duration_ms(track: &Track) -> i64 {
    track.duration_ms.unwrap_or_else(|| {
        let spread = (UNKNOWN_DURATION_MAX_MS - UNKNOWN_DURATION_MIN_MS + 1) as u64;
        UNKNOWN_DURATION_MIN_MS + (mix(track.id as u64) % spread) as i64
    })
}

/// The proposal weight of a track with this many listens.
pub fn popularity(listens: u64) -> f64 {
    (listens.max(1) as f64).powf(POPULARITY_EXPONENT)
}

fn median_listens(tracks: &[Track]) -> u64 {
    let mut known: Vec<u64> = tracks.iter().filter_map(|t| t.listens).collect();
    if known.is_empty() {
        return 1;
    }
    known.sort_unstable();
    known[known.len() / 2]
}

/// SplitMix64's finaliser: spreads consecutive ids over the whole range.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use lucid_catalog::Genre;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::population::Population;

    fn track(id: i64, valence: f64, energy: f64, listens: Option<u64>) -> Track {
        Track {
            id,
            acousticness: 0.5,
            danceability: 0.5,
            energy,
            instrumentalness: 0.5,
            liveness: 0.5,
            speechiness: 0.5,
            tempo: 120.0,
            valence,
            genre: Some(Genre::Rock),
            duration_ms: None,
            listens,
        }
    }

    #[test]
    fn fit_is_one_on_target_and_falls_with_distance() {
        let target = Mood {
            valence: 0.5,
            arousal: 0.5,
        };
        assert_eq!(fit(&track(1, 0.5, 0.5, None), target), 1.0);
        // d = 0.25 = sigma: exp(-0.5) = 0.60653.
        assert!((fit(&track(1, 0.75, 0.5, None), target) - 0.606_53).abs() < 1e-5);
        // d² = 0.5: exp(-0.5 / 0.125) = exp(-4) = 0.018316.
        assert!((fit(&track(1, 1.0, 1.0, None), target) - 0.018_316).abs() < 1e-6);
    }

    #[test]
    fn unknown_durations_are_stable_and_in_range() {
        let lengths: Vec<i64> = (0..1_000)
            .map(|id| duration_ms(&track(id, 0.5, 0.5, None)))
            .collect();
        assert!(lengths.iter().all(|ms| (120_000..=300_000).contains(ms)));
        let mean = lengths.iter().sum::<i64>() as f64 / 1_000.0;
        assert!((mean - 210_000.0).abs() < 6_000.0, "mean {mean}");
        assert_eq!(duration_ms(&track(7, 0.5, 0.5, None)), lengths[7]);

        let mut known = track(7, 0.5, 0.5, None);
        known.duration_ms = Some(198_000);
        assert_eq!(duration_ms(&known), 198_000);
    }

    #[test]
    fn popularity_is_the_square_root_of_listens() {
        assert_eq!(popularity(400), 20.0);
        assert_eq!(popularity(0), 1.0);
    }

    #[test]
    fn choice_follows_popularity_when_fit_and_genre_are_equal() {
        // Track 1 has 4 times the listens of track 2, so twice the popularity. Track 3 has no
        // listens and counts as the median of [100, 400] (the upper middle: 400).
        let tracks = vec![
            track(1, 0.5, 0.5, Some(400)),
            track(2, 0.5, 0.5, Some(100)),
            track(3, 0.5, 0.5, None),
        ];
        let catalog = Catalog::from_tracks(tracks).expect("valid");
        let picker = Picker::new(&catalog);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut listener =
            Population::generate(1, 0, &mut ChaCha8Rng::seed_from_u64(1)).listeners()[0].clone();
        listener.prefers = Genre::Rock;
        let target = Mood {
            valence: 0.5,
            arousal: 0.5,
        };

        let mut counts = [0usize; 3];
        for _ in 0..10_000 {
            counts[picker.choose(&listener, target, &[], &mut rng)] += 1;
        }
        // Weights 20 : 10 : 20 -> 0.4, 0.2, 0.4.
        assert!(
            (counts[0] as f64 / 10_000.0 - 0.4).abs() < 0.02,
            "{counts:?}"
        );
        assert!(
            (counts[1] as f64 / 10_000.0 - 0.2).abs() < 0.02,
            "{counts:?}"
        );
        assert_eq!(picker.choose(&listener, target, &[0, 2], &mut rng), 1);
    }
}
