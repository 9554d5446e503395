//! The point-in-time backfill: training rows from the offline log, computed by the feature
//! store's own code.
//!
//! On-time events (those the consumer applied; late ones it dropped, so they are dropped here
//! too) are replayed through [`InMemoryStore`] in (event time, event id) order. Events sharing an
//! event time are one step: the features of each scored event in it are read at that time
//! *before* the step is applied, so a row sees exactly the events strictly before it, never
//! itself, a tie or the future. Reads go through the same read plan and evaluation as the online
//! store, so a row holds what the online store would have served at that instant, had the
//! request come just before the event.
//!
//! The label of a scored event is the outcome of its track: the next `skip` (true) or `complete`
//! (false) of the same session, track and position, before that track is played again there;
//! `None` when none follows.

use std::collections::HashMap;

use lucid_events::Action;
use lucid_features::{EntityType, FeatureValue, InMemoryStore, Observation, Registry, read_plan};

use crate::error::OfflineError;
use crate::schema::LoggedEvent;

/// Replayed events between two evictions of expired tiles, to bound the store's memory.
const EVICT_EVERY: usize = 10_000;

/// One training example: a scored event, its features just before it and its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The scored event's id.
    pub event_id: String,
    /// Its event time, epoch milliseconds; the features are as of just before it.
    pub event_time: i64,
    /// Its session.
    pub session_id: String,
    /// Its listener.
    pub user_pseudonym: String,
    /// Its track, if any.
    pub track_id: Option<i64>,
    /// Whether the track was skipped; `None` when no outcome was logged.
    pub label_skip: Option<bool>,
    /// One value per requested feature, in request order.
    pub features: Vec<FeatureValue>,
}

/// A backfill of some features, planned once and run over any set of events.
#[derive(Debug, Clone)]
pub struct Backfill<'r> {
    registry: &'r Registry,
    features: Vec<String>,
    /// Per entity type: the feature names about it and their indexes in `features`.
    groups: Vec<(EntityType, Vec<String>, Vec<usize>)>,
    scored: Action,
}

impl<'r> Backfill<'r> {
    /// Plans a backfill of `features` (full names, `<view>:<feature>`), scoring `play` events.
    pub fn new(registry: &'r Registry, features: &[String]) -> Result<Self, OfflineError> {
        let mut groups: Vec<(EntityType, Vec<String>, Vec<usize>)> = Vec::new();
        for (index, name) in features.iter().enumerate() {
            let (view, _) = registry
                .resolve(name)
                .ok_or_else(|| OfflineError::Feature {
                    feature: name.clone(),
                    problem: "no view defines it".into(),
                })?;
            if features[..index].contains(name) {
                return Err(OfflineError::Feature {
                    feature: name.clone(),
                    problem: "requested twice".into(),
                });
            }
            match groups.iter_mut().find(|(e, _, _)| *e == view.entity) {
                Some((_, names, indexes)) => {
                    names.push(name.clone());
                    indexes.push(index);
                }
                None => groups.push((view.entity, vec![name.clone()], vec![index])),
            }
        }
        Ok(Backfill {
            registry,
            features: features.to_vec(),
            groups,
            scored: Action::Play,
        })
    }

    /// Scores events of `action` instead of `play`.
    pub fn scoring(mut self, action: Action) -> Self {
        self.scored = action;
        self
    }

    /// The features, in row order.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// One row per on-time scored event, in (event time, event id) order.
    pub fn run(&self, events: &[LoggedEvent]) -> Result<Vec<Row>, OfflineError> {
        let mut on_time: Vec<&LoggedEvent> = events.iter().filter(|e| !e.late).collect();
        on_time.sort_by(|a, b| {
            (a.event.event_time, &a.event.event_id).cmp(&(b.event.event_time, &b.event.event_id))
        });
        let labels = labels(&on_time, self.scored);

        let mut store = InMemoryStore::new();
        let mut rows = Vec::new();
        let (mut start, mut since_eviction) = (0, 0);
        while start < on_time.len() {
            let t = on_time[start].event.event_time;
            let len = on_time[start..]
                .iter()
                .take_while(|l| l.event.event_time == t)
                .count();
            let step = &on_time[start..start + len];
            let observations: Vec<Observation> = step
                .iter()
                .map(|l| Observation::from_event(&l.event, l.attrs.as_ref()))
                .collect();

            for (i, (logged, observation)) in step.iter().zip(&observations).enumerate() {
                if logged.event.action == self.scored {
                    let features = self.read(&store, observation, t)?;
                    rows.push(row(logged, labels[start + i], features));
                }
            }
            store.observe(self.registry, &observations);

            since_eviction += len;
            if since_eviction >= EVICT_EVERY {
                // Reads from now on are at t or later, where these keys are gone anyway.
                store.evict_expired(t);
                since_eviction = 0;
            }
            start += len;
        }
        Ok(rows)
    }

    /// The features of the observation's entities at `t`, as `store` holds them.
    fn read(
        &self,
        store: &InMemoryStore,
        observation: &Observation,
        t: i64,
    ) -> Result<Vec<FeatureValue>, OfflineError> {
        let mut values = vec![FeatureValue::NOT_FOUND; self.features.len()];
        for (entity, names, indexes) in &self.groups {
            let Some(key) = observation.entity_key(*entity) else {
                continue;
            };
            let plan = read_plan(self.registry, *entity, &[key], names, t)?;
            let read = store.read(&plan)?;
            for (value, &index) in read.iter().flatten().zip(indexes) {
                values[index] = *value;
            }
        }
        Ok(values)
    }
}

/// The training rows of `features` for every on-time `play` event of `events`.
pub fn training_set(
    registry: &Registry,
    events: &[LoggedEvent],
    features: &[String],
) -> Result<Vec<Row>, OfflineError> {
    Backfill::new(registry, features)?.run(events)
}

/// The label of each scored event of `sorted` (see the module header); `None` elsewhere.
fn labels(sorted: &[&LoggedEvent], scored: Action) -> Vec<Option<bool>> {
    let mut labels = vec![None; sorted.len()];
    let mut outcome: HashMap<(&str, Option<i64>, Option<i32>), bool> = HashMap::new();
    for (i, logged) in sorted.iter().enumerate().rev() {
        let e = &logged.event;
        let key = (e.session_id.as_str(), e.track_id, e.position);
        if e.action == scored {
            labels[i] = outcome.get(&key).copied();
        }
        match e.action {
            Action::Skip => {
                outcome.insert(key, true);
            }
            Action::Complete => {
                outcome.insert(key, false);
            }
            // An outcome before this play belongs to an earlier play of the track.
            Action::Play => {
                outcome.remove(&key);
            }
            _ => {}
        }
    }
    labels
}

fn row(logged: &LoggedEvent, label_skip: Option<bool>, features: Vec<FeatureValue>) -> Row {
    let e = &logged.event;
    Row {
        event_id: e.event_id.clone(),
        event_time: e.event_time,
        session_id: e.session_id.clone(),
        user_pseudonym: e.user_pseudonym.clone(),
        track_id: e.track_id,
        label_skip,
        features,
    }
}
