//! The simulator: places sessions in time, picks their listeners and plays them.
//!
//! Randomness comes from ChaCha8 seeded with the run's seed: stream 0 draws the population and
//! stream `i + 1` draws session `i`, so each session depends only on the seed, the config and
//! its index, and sessions can be generated lazily and in any order.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use lucid_catalog::Catalog;
use lucid_events::EventInput;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::mood::Mood;
use crate::picker::Picker;
use crate::population::Population;
use crate::profile::{DAY_PROFILE, NIGHT_PROFILE, weight_at};
use crate::session::{self, Plan};
use crate::{Listener, SimConfig, SimError};

/// Size of the hip-hop cohort relative to the base population.
pub const COHORT_SIZE_FACTOR: f64 = 1.0;
/// Factor on the arousal target of sessions after the change point in `night_shift`.
pub const NIGHT_AROUSAL_FACTOR: f64 = 0.55;
/// Start times tried before the last one is taken regardless (never reached with the profiles,
/// whose quietest hour still weighs 0.06).
const MAX_START_DRAWS: usize = 100_000;

/// A configured simulation over a catalog.
#[derive(Debug, Clone)]
pub struct Simulator<'c> {
    config: SimConfig,
    picker: Picker<'c>,
    population: Population,
    max_intensity: f64,
}

impl<'c> Simulator<'c> {
    /// Checks the config, truncates its start to whole milliseconds and draws the population.
    pub fn new(catalog: &'c Catalog, mut config: SimConfig) -> Result<Simulator<'c>, SimError> {
        config.check()?;
        if catalog.is_empty() {
            return Err(SimError::EmptyCatalog);
        }
        config.start = config.start.trunc_subsecs(3);

        let cohort = if config.scenario.adds_cohort() {
            (config.listeners as f64 * COHORT_SIZE_FACTOR).round() as usize
        } else {
            0
        };
        let population = Population::generate(config.listeners, cohort, &mut rng(config.seed, 0));
        let max_intensity = population.activity(config.scenario.adds_cohort());

        Ok(Simulator {
            picker: Picker::new(catalog),
            population,
            max_intensity,
            config,
        })
    }

    /// The config in use (with the start truncated to milliseconds).
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Every listener: the base population, then the cohort if the scenario has one.
    pub fn listeners(&self) -> &[Listener] {
        self.population.listeners()
    }

    /// The events of session `index`, in time order.
    pub fn session(&self, index: usize) -> Vec<EventInput> {
        let mut rng = rng(self.config.seed, index as u64 + 1);
        let start = self.draw_start(&mut rng);
        let changed = start >= self.config.change_at();
        let scenario = self.config.scenario;

        let listener = self
            .population
            .choose(changed && scenario.adds_cohort(), &mut rng);
        let mut target = Mood {
            valence: listener.valence_target,
            arousal: listener.arousal_target,
        };
        if changed && scenario.shifts_to_night() {
            target.arousal *= NIGHT_AROUSAL_FACTOR;
        }

        let plan = Plan {
            listener,
            start,
            deadline: start + self.config.max_session(),
            target,
            buggy_release_out: changed && scenario.ships_seconds_bug(),
        };
        session::play(&plan, &self.picker, &mut rng)
    }

    /// Every session's events, session by session, generated as the iterator advances.
    pub fn sessions(&self) -> impl Iterator<Item = Vec<EventInput>> + '_ {
        (0..self.config.sessions).map(|index| self.session(index))
    }

    /// Every event of the run, ordered by event time (events of one instant keep session order).
    pub fn events(&self) -> Vec<EventInput> {
        let mut events: Vec<EventInput> = self.sessions().flatten().collect();
        events.sort_by_key(|event| event.event_time);
        events
    }

    /// Draws a session start: uniform over the start window, kept with probability
    /// `intensity / max intensity`, so starts follow the hour profile and the active population.
    fn draw_start(&self, rng: &mut impl Rng) -> DateTime<Utc> {
        let window = self.config.span - self.config.max_session();
        let mut time = self.config.start;
        for _ in 0..MAX_START_DRAWS {
            let offset = rng.random_range(0..=window.num_milliseconds());
            time = self.config.start + TimeDelta::milliseconds(offset);
            if rng.random::<f64>() * self.max_intensity < self.intensity(time) {
                break;
            }
        }
        time
    }

    /// Relative rate of session starts at `time`: hour weight × activity of existing listeners.
    fn intensity(&self, time: DateTime<Utc>) -> f64 {
        let changed = time >= self.config.change_at();
        let scenario = self.config.scenario;
        let profile = if changed && scenario.shifts_to_night() {
            &NIGHT_PROFILE
        } else {
            &DAY_PROFILE
        };
        weight_at(profile, time) * self.population.activity(changed && scenario.adds_cohort())
    }
}

/// Every event of a run, ordered by event time.
pub fn simulate(catalog: &Catalog, config: SimConfig) -> Result<Vec<EventInput>, SimError> {
    Ok(Simulator::new(catalog, config)?.events())
}

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}
