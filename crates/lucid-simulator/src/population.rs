//! The simulated listeners: who they are, what they like and how often they listen.
//!
//! The base population is drawn first and the same way in every scenario, so a seed names the
//! same people whatever the scenario; the hip-hop cohort, when there is one, is drawn after it.

use lucid_catalog::Genre;
use lucid_events::Platform;
use rand::Rng;
use rand_distr::{Beta, Distribution, LogNormal};

use crate::draw;

/// Share of base listeners who prefer hip-hop; the rest prefer rock.
pub const HIP_HOP_PREFERENCE_SHARE: f64 = 0.2;
/// Choice weight a base listener gives the known genre they do not prefer.
pub const OTHER_GENRE_WEIGHT: f64 = 0.3;
/// Choice weight a base listener gives tracks whose genre the catalog does not know.
pub const UNKNOWN_GENRE_WEIGHT: f64 = 0.6;
/// Choice weight a cohort listener gives rock.
pub const COHORT_OTHER_GENRE_WEIGHT: f64 = 0.1;
/// Choice weight a cohort listener gives tracks of unknown genre.
pub const COHORT_UNKNOWN_GENRE_WEIGHT: f64 = 0.4;
/// Platforms and their shares.
pub const PLATFORMS: [(Platform, f64); 4] = [
    (Platform::Ios, 0.45),
    (Platform::Android, 0.45),
    (Platform::Web, 0.08),
    (Platform::Other, 0.02),
];
/// App versions of base listeners and their shares.
pub const APP_VERSIONS: [(&str, f64); 3] = [("4.12.0", 0.6), ("4.11.2", 0.3), ("4.10.1", 0.1)];
/// App version of cohort listeners (new installs get the latest release).
pub const COHORT_APP_VERSION: &str = "4.12.0";
/// The release that reports listened time in seconds (`seconds_bug`).
pub const BUGGY_RELEASE: &str = "5.0.0";
/// Share of phone (iOS and Android) listeners who upgrade to the buggy release.
pub const UPGRADE_SHARE: f64 = 0.6;
/// Sigma of the log-normal activity weight (median 1; a few listeners are much busier).
pub const ACTIVITY_SIGMA: f64 = 0.75;

/// One simulated listener.
#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    /// Raw app user id, `user-000123`.
    pub user_id: String,
    /// The genre this listener prefers (choice weight 1.0).
    pub prefers: Genre,
    /// Choice weight of the other known genre.
    pub other_genre_weight: f64,
    /// Choice weight of tracks of unknown genre.
    pub unknown_genre_weight: f64,
    /// Target valence 0-1: how positive the listener wants to feel.
    pub valence_target: f64,
    /// Target arousal 0-1: how energetic the listener wants to feel.
    pub arousal_target: f64,
    /// Device platform.
    pub platform: Platform,
    /// App version before any upgrade.
    pub app_version: &'static str,
    /// Whether this listener installs the buggy release when a scenario ships it.
    pub upgrades: bool,
    /// Relative rate at which this listener starts sessions.
    pub activity: f64,
    /// True for listeners of the hip-hop cohort, who exist only after the change point.
    pub cohort: bool,
}

impl Listener {
    /// The choice weight this listener gives a track of `genre`.
    pub fn genre_weight(&self, genre: Option<Genre>) -> f64 {
        match genre {
            Some(genre) if genre == self.prefers => 1.0,
            Some(_) => self.other_genre_weight,
            None => self.unknown_genre_weight,
        }
    }

    /// The app version in use, and whether it reports listened time in seconds.
    pub(crate) fn app(&self, buggy_release_out: bool) -> (&'static str, bool) {
        if buggy_release_out && self.upgrades {
            (BUGGY_RELEASE, true)
        } else {
            (self.app_version, false)
        }
    }
}

/// The base population and, in `hiphop_cohort`, the cohort after it.
#[derive(Debug, Clone)]
pub(crate) struct Population {
    listeners: Vec<Listener>,
    base: usize,
    /// Running sums of activity, for weighted picks among the first k listeners.
    cumulative: Vec<f64>,
}

impl Population {
    /// Draws `base` listeners, then `cohort` hip-hop cohort listeners.
    pub(crate) fn generate(base: usize, cohort: usize, rng: &mut impl Rng) -> Population {
        let mut listeners = Vec::with_capacity(base + cohort);
        for index in 0..base {
            listeners.push(base_listener(index, rng));
        }
        for index in base..base + cohort {
            listeners.push(cohort_listener(index, rng));
        }

        let cumulative = listeners
            .iter()
            .scan(0.0, |sum, listener| {
                *sum += listener.activity;
                Some(*sum)
            })
            .collect();
        Population {
            listeners,
            base,
            cumulative,
        }
    }

    /// Every listener, base population first.
    pub(crate) fn listeners(&self) -> &[Listener] {
        &self.listeners
    }

    /// Total activity of the listeners who exist (the cohort only after the change point).
    pub(crate) fn activity(&self, cohort_joined: bool) -> f64 {
        self.cumulative[self.active(cohort_joined) - 1]
    }

    /// Picks an existing listener with probability proportional to activity.
    pub(crate) fn choose(&self, cohort_joined: bool, rng: &mut impl Rng) -> &Listener {
        let active = &self.cumulative[..self.active(cohort_joined)];
        let target = rng.random::<f64>() * active[active.len() - 1];
        &self.listeners[draw::search(active, target)]
    }

    fn active(&self, cohort_joined: bool) -> usize {
        if cohort_joined {
            self.listeners.len()
        } else {
            self.base
        }
    }
}

fn user_id(index: usize) -> String {
    format!("user-{index:06}")
}

fn base_listener(index: usize, rng: &mut impl Rng) -> Listener {
    let prefers = if rng.random_bool(HIP_HOP_PREFERENCE_SHARE) {
        Genre::HipHop
    } else {
        Genre::Rock
    };
    let (valence_target, arousal_target) = mood_target(rng);
    let platform = draw::pick(&PLATFORMS, rng);
    let app_version = draw::pick(&APP_VERSIONS, rng);
    let upgrades = rng.random_bool(UPGRADE_SHARE) && is_phone(platform);

    Listener {
        user_id: user_id(index),
        prefers,
        other_genre_weight: OTHER_GENRE_WEIGHT,
        unknown_genre_weight: UNKNOWN_GENRE_WEIGHT,
        valence_target,
        arousal_target,
        platform,
        app_version,
        upgrades,
        activity: activity(rng),
        cohort: false,
    }
}

fn cohort_listener(index: usize, rng: &mut impl Rng) -> Listener {
    let (valence_target, arousal_target) = mood_target(rng);
    let platform = draw::pick(&PLATFORMS, rng);

    Listener {
        user_id: user_id(index),
        prefers: Genre::HipHop,
        other_genre_weight: COHORT_OTHER_GENRE_WEIGHT,
        unknown_genre_weight: COHORT_UNKNOWN_GENRE_WEIGHT,
        valence_target,
        arousal_target,
        platform,
        app_version: COHORT_APP_VERSION,
        upgrades: false,
        activity: activity(rng),
        cohort: true,
    }
}

/// Valence ~ Beta(2.5, 2) (mean 0.56: people come to feel a little better), arousal ~ Beta(2, 2).
fn mood_target(rng: &mut impl Rng) -> (f64, f64) {
    let valence = Beta::new(2.5, 2.0).expect("constant beta parameters are valid");
    let arousal = Beta::new(2.0, 2.0).expect("constant beta parameters are valid");
    (valence.sample(rng), arousal.sample(rng))
}

fn activity(rng: &mut impl Rng) -> f64 {
    let lognormal = LogNormal::new(0.0, ACTIVITY_SIGMA).expect("constant sigma is positive");
    lognormal.sample(rng)
}

fn is_phone(platform: Platform) -> bool {
    matches!(platform, Platform::Ios | Platform::Android)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn population(base: usize, cohort: usize) -> Population {
        Population::generate(base, cohort, &mut ChaCha8Rng::seed_from_u64(11))
    }

    #[test]
    fn base_population_follows_the_documented_shares() {
        let people = population(5_000, 0);
        let share = |f: &dyn Fn(&Listener) -> bool| {
            people.listeners().iter().filter(|l| f(l)).count() as f64 / 5_000.0
        };

        assert!((share(&|l| l.prefers == Genre::HipHop) - 0.2).abs() < 0.02);
        assert!((share(&|l| l.platform == Platform::Web) - 0.08).abs() < 0.015);
        assert!((share(&|l| l.app_version == "4.12.0") - 0.6).abs() < 0.025);
        // Upgraders: 60% of the 90% on phones.
        assert!((share(&|l| l.upgrades) - 0.54).abs() < 0.025);
        assert!(people.listeners().iter().all(|l| !l.cohort));
        assert_eq!(people.listeners()[123].user_id, "user-000123");
    }

    #[test]
    fn base_listeners_are_the_same_with_or_without_a_cohort() {
        let alone = population(200, 0);
        let with_cohort = population(200, 200);
        assert_eq!(alone.listeners(), &with_cohort.listeners()[..200]);

        let cohort = &with_cohort.listeners()[200..];
        assert!(
            cohort
                .iter()
                .all(|l| l.cohort && l.prefers == Genre::HipHop)
        );
        assert_eq!(cohort[0].user_id, "user-000200");
    }

    #[test]
    fn cohort_is_only_chosen_after_it_joins() {
        let people = population(100, 100);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert!((0..2_000).all(|_| !people.choose(false, &mut rng).cohort));
        let joined = (0..2_000)
            .filter(|_| people.choose(true, &mut rng).cohort)
            .count();
        let expected = 1.0 - people.activity(false) / people.activity(true);
        assert!(
            (joined as f64 / 2_000.0 - expected).abs() < 0.04,
            "{joined} {expected}"
        );
    }

    #[test]
    fn genre_weight_follows_preference() {
        let mut listener = population(1, 0).listeners()[0].clone();
        listener.prefers = Genre::Rock;
        assert_eq!(listener.genre_weight(Some(Genre::Rock)), 1.0);
        assert_eq!(
            listener.genre_weight(Some(Genre::HipHop)),
            OTHER_GENRE_WEIGHT
        );
        assert_eq!(listener.genre_weight(None), UNKNOWN_GENRE_WEIGHT);
    }

    #[test]
    fn buggy_release_applies_to_upgraders_only_once_out() {
        let mut listener = population(1, 0).listeners()[0].clone();
        listener.upgrades = true;
        assert_eq!(listener.app(false), (listener.app_version, false));
        assert_eq!(listener.app(true), (BUGGY_RELEASE, true));
        listener.upgrades = false;
        assert!(!listener.app(true).1);
    }
}
