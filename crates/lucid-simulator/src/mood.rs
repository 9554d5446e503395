//! Moods on the valence/arousal plane, and how a session's music moves them.

use rand::Rng;
use rand_distr::{Distribution, Normal};

use crate::draw;

/// Mean and spread of the valence reported before a session.
pub const VALENCE_BEFORE: (f64, f64) = (0.42, 0.18);
/// Mean and spread of the arousal reported before a session.
pub const AROUSAL_BEFORE: (f64, f64) = (0.55, 0.20);
/// The most a session can move mood towards its music (reached after long listening).
pub const MAX_PULL: f64 = 0.6;
/// Minutes of listening after which the pull reaches 1 - 1/e of its maximum.
pub const PULL_MINUTES: f64 = 15.0;
/// Spread of the noise on the mood reported after a session.
pub const AFTER_NOISE: f64 = 0.04;

/// A point on the valence/arousal plane, both 0-1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mood {
    /// Negative (0) to positive (1).
    pub valence: f64,
    /// Calm (0) to energetic (1).
    pub arousal: f64,
}

/// Music heard in a session, summed for the mood update.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Heard {
    ms: f64,
    valence_ms: f64,
    energy_ms: f64,
}

impl Heard {
    /// Adds `ms` milliseconds of a track with this valence and energy.
    pub(crate) fn add(&mut self, ms: i64, valence: f64, energy: f64) {
        let ms = ms.max(0) as f64;
        self.ms += ms;
        self.valence_ms += ms * valence;
        self.energy_ms += ms * energy;
    }
}

impl Mood {
    /// The mood a listener reports before a session: independent of the target, since people
    /// open the app from wherever they are.
    pub(crate) fn before(rng: &mut impl Rng) -> Mood {
        Mood {
            valence: draw::unit(normal(VALENCE_BEFORE, rng)),
            arousal: draw::unit(normal(AROUSAL_BEFORE, rng)),
        }
    }

    /// The mood after hearing `heard`: pulled towards the listened-time-weighted mean valence
    /// and energy of the music by `MAX_PULL × (1 - exp(-minutes / PULL_MINUTES))`, plus noise.
    pub(crate) fn after(self, heard: Heard, rng: &mut impl Rng) -> Mood {
        let (music, pull) = if heard.ms > 0.0 {
            let music = Mood {
                valence: heard.valence_ms / heard.ms,
                arousal: heard.energy_ms / heard.ms,
            };
            (
                music,
                MAX_PULL * (1.0 - (-heard.ms / 60_000.0 / PULL_MINUTES).exp()),
            )
        } else {
            (self, 0.0)
        };
        Mood {
            valence: draw::unit(self.valence + pull * (music.valence - self.valence) + noise(rng)),
            arousal: draw::unit(self.arousal + pull * (music.arousal - self.arousal) + noise(rng)),
        }
    }
}

fn normal((mean, sd): (f64, f64), rng: &mut impl Rng) -> f64 {
    Normal::new(mean, sd)
        .expect("constant spread is positive")
        .sample(rng)
}

fn noise(rng: &mut impl Rng) -> f64 {
    normal((0.0, AFTER_NOISE), rng)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn fifteen_minutes_of_music_pull_by_0_38() {
        // pull = 0.6 × (1 - e^-1) = 0.37927; from 0.2 towards 0.8: 0.2 + 0.37927 × 0.6 = 0.42756.
        let mut heard = Heard::default();
        heard.add(15 * 60_000, 0.8, 0.8);
        let start = Mood {
            valence: 0.2,
            arousal: 0.2,
        };

        let runs = 2_000;
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mean = (0..runs)
            .map(|_| start.after(heard, &mut rng).valence)
            .sum::<f64>()
            / runs as f64;
        assert!((mean - 0.427_56).abs() < 0.005, "mean {mean}");
    }

    #[test]
    fn weights_tracks_by_listened_time() {
        let mut heard = Heard::default();
        heard.add(3 * 60_000, 1.0, 0.0);
        heard.add(60_000, 0.0, 1.0);
        assert!((heard.valence_ms / heard.ms - 0.75).abs() < 1e-12);
        assert!((heard.energy_ms / heard.ms - 0.25).abs() < 1e-12);
    }

    #[test]
    fn no_music_leaves_only_noise() {
        let start = Mood {
            valence: 0.5,
            arousal: 0.5,
        };
        let after = start.after(Heard::default(), &mut ChaCha8Rng::seed_from_u64(2));
        assert!((after.valence - 0.5).abs() < 0.2 && (after.arousal - 0.5).abs() < 0.2);
    }
}
