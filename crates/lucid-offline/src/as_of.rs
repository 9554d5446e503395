//! Feature values as of given (entity, time) pairs: the point-in-time join of an entity list
//! against the offline log, what Feast calls historical retrieval.
//!
//! The on-time events are replayed through [`InMemoryStore`] in event-time order, and each query
//! at time t is answered after every event at or before t and before any later one: the value
//! the online store served to a request at t once the events up to t had been applied. This
//! differs from a training row of [`crate::Backfill`], which sees only the events strictly
//! before its own.

use lucid_features::{EntityType, FeatureValue, InMemoryStore, Observation, Registry, read_plan};

use crate::error::OfflineError;
use crate::schema::LoggedEvent;

/// One entity at one request time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsOf {
    /// The entity's type.
    pub entity: EntityType,
    /// Its key: session id, user pseudonym or track id in decimal.
    pub key: String,
    /// The request time, epoch milliseconds; events at this time count.
    pub t: i64,
}

/// The values of `features` (full names, all about each query's entity type) for every query,
/// in query order.
pub fn features_as_of(
    registry: &Registry,
    events: &[LoggedEvent],
    features: &[String],
    queries: &[AsOf],
) -> Result<Vec<Vec<FeatureValue>>, OfflineError> {
    let mut on_time: Vec<&LoggedEvent> = events.iter().filter(|e| !e.late).collect();
    on_time.sort_by(|a, b| {
        (a.event.event_time, &a.event.event_id).cmp(&(b.event.event_time, &b.event.event_id))
    });
    let mut order: Vec<usize> = (0..queries.len()).collect();
    order.sort_by_key(|&i| queries[i].t);

    let mut store = InMemoryStore::new();
    let mut answers = vec![Vec::new(); queries.len()];
    let mut next = 0;
    for i in order {
        let query = &queries[i];
        let due = on_time[next..]
            .iter()
            .take_while(|l| l.event.event_time <= query.t)
            .count();
        let observations: Vec<Observation> = on_time[next..next + due]
            .iter()
            .map(|l| Observation::from_event(&l.event, l.attrs.as_ref()))
            .collect();
        store.observe(registry, &observations);
        next += due;

        let plan = read_plan(registry, query.entity, &[&query.key], features, query.t)?;
        answers[i] = store.read(&plan)?.into_iter().next().unwrap_or_default();
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lucid_events::{Action, Context, ListeningEvent, Platform};

    const DEFINITIONS: &str = r#"
[[view]]
name = "u"
entity = "user"
max_age = "1h"

[[view.feature]]
name = "plays"
aggregation = "count"
actions = ["play"]
window = "1h"
"#;

    fn play(id: &str, time: i64) -> LoggedEvent {
        let event = ListeningEvent {
            event_id: id.into(),
            user_pseudonym: "p".into(),
            session_id: "s".into(),
            event_time: time,
            ingest_time: time,
            action: Action::Play,
            track_id: Some(2),
            position: Some(0),
            listened_ms: Some(0),
            track_duration_ms: Some(1000),
            context: Context::Search,
            platform: Platform::Web,
            app_version: "1".into(),
            mood_valence: None,
            mood_arousal: None,
        };
        LoggedEvent {
            event,
            attrs: None,
            late: false,
            partition: 0,
            offset: 0,
        }
    }

    #[test]
    fn a_query_sees_events_up_to_and_at_its_time_only() {
        let registry = Registry::from_toml(DEFINITIONS).expect("definitions parse");
        let events = [
            play("a", 1_000),
            play("b", 2_000),
            play("c", 2_000),
            play("d", 9_000),
        ];
        let at = |t| AsOf {
            entity: EntityType::User,
            key: "p".into(),
            t,
        };
        // Asked out of time order; answered in query order.
        let queries = [at(2_000), at(999), at(1_999), at(10_000)];
        let features = ["u:plays".to_owned()];
        let values = features_as_of(&registry, &events, &features, &queries).expect("reads");
        let counts: Vec<Option<f64>> = values.iter().map(|v| v[0].value).collect();
        assert_eq!(counts, [Some(3.0), None, Some(1.0), Some(4.0)]);
        assert_eq!(values[0][0].event_time, Some(2_000));
    }
}
