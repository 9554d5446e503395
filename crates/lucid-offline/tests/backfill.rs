//! The backfill: hand-computed rows, late events, ties, and agreement with a store fed directly.

mod common;

use std::fs::File;

use arrow_array::{Array, BooleanArray, Float64Array, StringArray};
use common::{B, attrs, event};
use lucid_events::Action;
use lucid_features::{
    EntityType, FeatureValue, InMemoryStore, Observation, Registry, STARTER_DEFINITIONS, Status,
    read_plan,
};
use lucid_offline::{LoggedEvent, Row, training_set, write_training_set};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use proptest::prelude::*;

fn registry() -> Registry {
    Registry::from_toml(STARTER_DEFINITIONS).expect("starter definitions are valid")
}

fn skip_model(registry: &Registry) -> Vec<String> {
    registry
        .service("skip_model")
        .expect("service")
        .features
        .clone()
}

fn present(value: f64) -> Option<f64> {
    Some(value)
}

/// Values by feature name of a row, `None` unless present.
fn value(features: &[String], row: &Row, name: &str) -> Option<f64> {
    let i = features
        .iter()
        .position(|f| f == name)
        .expect("requested feature");
    let v = row.features[i];
    v.value.filter(|_| v.status == Status::Present)
}

/// Session s-1: start, mood check-in, play 7, skip 7 (¼ heard), play 8, complete 8.
/// Session s-2 plays track 8 in between and skips it.
fn listening() -> Vec<LoggedEvent> {
    let mut mood = event("m", "s-1", B - 500, Action::MoodCheckin, None);
    (mood.event.mood_valence, mood.event.mood_arousal) = (Some(3), Some(7));
    let mut play7 = event("p7", "s-1", B, Action::Play, Some((7, 0)));
    play7.attrs = Some(attrs(0.5, 0.25));
    let mut skip7 = event("k7", "s-1", B + 30_000, Action::Skip, Some((7, 0)));
    skip7.event.listened_ms = Some(30_000);
    let mut play8 = event("p8", "s-1", B + 31_000, Action::Play, Some((8, 1)));
    play8.attrs = Some(attrs(0.75, 0.5));
    let mut done8 = event("c8", "s-1", B + 151_000, Action::Complete, Some((8, 1)));
    done8.event.listened_ms = Some(120_000);
    let other_play = event("q8", "s-2", B + 10_000, Action::Play, Some((8, 0)));
    let other_skip = event("r8", "s-2", B + 20_000, Action::Skip, Some((8, 0)));
    vec![
        event("st", "s-1", B - 1_000, Action::SessionStart, None),
        mood,
        play7,
        skip7,
        play8,
        done8,
        other_play,
        other_skip,
    ]
}

#[test]
fn rows_hold_what_happened_strictly_before_each_play() {
    let registry = registry();
    let features = skip_model(&registry);
    let rows = training_set(&registry, &listening(), &features).expect("backfill");
    let ids: Vec<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(ids, ["p7", "q8", "p8"], "one row per play, in time order");
    let labels: Vec<Option<bool>> = rows.iter().map(|r| r.label_skip).collect();
    assert_eq!(labels, [Some(true), Some(true), Some(false)]);

    let at = |row: &Row, name: &str| value(&features, row, name);
    let first = &rows[0];
    // Before p7: the start and the check-in. Counts read 0 for a session already seen.
    assert_eq!(at(first, "session_activity:plays"), present(0.0));
    assert_eq!(at(first, "session_activity:skips"), present(0.0));
    assert_eq!(at(first, "session_activity:skip_rate"), None);
    assert_eq!(at(first, "session_activity:mean_energy"), None);
    assert_eq!(
        at(first, "session_activity:last_mood_valence"),
        present(3.0)
    );
    assert_eq!(
        at(first, "session_activity:last_mood_arousal"),
        present(7.0)
    );
    assert_eq!(at(first, "user_behaviour:sessions_7d"), present(1.0));
    // 0 tracks finished over 1 session started.
    assert_eq!(
        at(first, "user_behaviour:tracks_per_session_7d"),
        present(0.0)
    );
    assert_eq!(
        at(first, "track_popularity:plays_1h"),
        None,
        "track 7 is new"
    );

    let second = &rows[2];
    // Before p8: p7 and its skip; p8 itself is not counted.
    assert_eq!(at(second, "session_activity:plays"), present(1.0));
    assert_eq!(at(second, "session_activity:skips"), present(1.0));
    assert_eq!(at(second, "session_activity:skip_rate"), present(1.0));
    // 30 000 of 120 000 ms heard.
    assert_eq!(
        at(second, "session_activity:mean_listened_ratio"),
        present(0.25)
    );
    assert_eq!(at(second, "session_activity:mean_energy"), present(0.5));
    assert_eq!(at(second, "session_activity:mean_valence"), present(0.25));
    assert_eq!(at(second, "user_behaviour:skip_rate_24h"), present(1.0));
    assert_eq!(
        at(second, "user_behaviour:tracks_per_session_7d"),
        present(1.0)
    );
    // Track 8 before p8: s-2's play and skip.
    assert_eq!(at(second, "track_popularity:plays_1h"), present(1.0));
    assert_eq!(at(second, "track_popularity:skip_rate_24h"), present(1.0));

    // The file holds the same values, nulls where not present.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("train.parquet");
    write_training_set(&path, &features, &rows).expect("write");
    let file = File::open(&path).expect("open");
    let batch = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .expect("reader")
        .next()
        .expect("a batch")
        .expect("readable");
    assert_eq!(batch.num_rows(), 3);
    assert_eq!(batch.num_columns(), 6 + 2 * features.len());
    let column = |name: &str| batch.column_by_name(name).expect(name).clone();
    let skips = column("session_activity:skips");
    let skips = skips.as_any().downcast_ref::<Float64Array>().expect("f64");
    assert_eq!(
        skips.iter().collect::<Vec<_>>(),
        [Some(0.0), None, Some(1.0)]
    );
    let status = column("session_activity:skips__status");
    let status = status.as_any().downcast_ref::<StringArray>().expect("text");
    let status: Vec<&str> = status.iter().map(|s| s.expect("non-null")).collect();
    assert_eq!(status, ["present", "not_found", "present"]);
    let label = column("label_skip");
    let label = label.as_any().downcast_ref::<BooleanArray>().expect("bool");
    assert_eq!(
        label.iter().collect::<Vec<_>>(),
        [Some(true), Some(true), Some(false)]
    );
}

#[test]
fn late_events_are_neither_replayed_nor_scored() {
    let registry = registry();
    let features = skip_model(&registry);
    let on_time = training_set(&registry, &listening(), &features).expect("backfill");

    let mut events = listening();
    let mut late_skip = event("late-k", "s-1", B + 15_000, Action::Skip, Some((7, 0)));
    late_skip.late = true;
    let mut late_play = event("late-p", "s-1", B + 40_000, Action::Play, Some((9, 2)));
    late_play.late = true;
    events.extend([late_skip, late_play]);
    let with_late = training_set(&registry, &events, &features).expect("backfill");

    assert_eq!(with_late, on_time);
    assert_eq!(
        value(&features, &with_late[2], "session_activity:skips"),
        present(1.0)
    );
}

#[test]
fn events_at_the_same_time_do_not_see_each_other() {
    let registry = registry();
    let features = vec!["track_popularity:plays_1h".to_owned()];
    let events = [
        event("a", "s-1", B, Action::Play, Some((9, 0))),
        event("b", "s-2", B, Action::Play, Some((9, 0))),
        event("c", "s-3", B + 1, Action::Play, Some((9, 0))),
    ];
    let rows = training_set(&registry, &events, &features).expect("backfill");
    let plays: Vec<Option<f64>> = rows
        .iter()
        .map(|r| value(&features, r, &features[0]))
        .collect();
    assert_eq!(plays, [None, None, present(2.0)]);
    let labels: Vec<Option<bool>> = rows.iter().map(|r| r.label_skip).collect();
    assert_eq!(labels, [None, None, None], "no outcome logged");
}

#[test]
fn unknown_features_are_refused() {
    let registry = registry();
    let error = training_set(
        &registry,
        &listening(),
        &["session_activity:nope".to_owned()],
    )
    .expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "cannot backfill session_activity:nope: no view defines it"
    );
}

/// Session 0-2 (user = session / 2), track 7-9, action, minute, listened, late.
type Draw = (usize, i64, usize, i64, i64, bool);

fn any_events() -> impl Strategy<Value = Vec<LoggedEvent>> {
    let draw = (
        0usize..3,
        7i64..10,
        0..Action::ALL.len(),
        0i64..240,
        0i64..=120_000,
        any::<bool>(),
    );
    prop::collection::vec(draw, 1..60).prop_map(|draws: Vec<Draw>| {
        draws
            .into_iter()
            .enumerate()
            .map(|(i, (session, track, action, minute, listened, late))| {
                let action = Action::ALL[action];
                let t = B + minute * 60_000;
                let mut e = event(
                    &format!("e{i}"),
                    &format!("s{session}"),
                    t,
                    action,
                    Some((track, 0)),
                );
                e.event.user_pseudonym = format!("u{}", session / 2);
                e.event.listened_ms = e.event.listened_ms.map(|_| listened);
                e.attrs = e
                    .event
                    .track_id
                    .map(|t| attrs(0.125 * t as f64 - 0.75, 0.5));
                if action == Action::MoodCheckin {
                    (e.event.mood_valence, e.event.mood_arousal) =
                        (Some(i as i32 % 9 + 1), Some(5));
                }
                // Only late events a quarter of the time, so plenty stay on time.
                e.late = late && i % 2 == 0;
                e
            })
            .collect()
    })
}

/// The features of the play's entities from a store fed, in one batch, every on-time event
/// strictly before `t`.
fn direct(
    registry: &Registry,
    features: &[String],
    events: &[LoggedEvent],
    play: &LoggedEvent,
) -> Vec<FeatureValue> {
    let t = play.event.event_time;
    let before: Vec<Observation> = events
        .iter()
        .filter(|e| !e.late && e.event.event_time < t)
        .map(|e| Observation::from_event(&e.event, e.attrs.as_ref()))
        .collect();
    let mut store = InMemoryStore::new();
    store.observe(registry, &before);
    let keys = [
        (EntityType::Session, play.event.session_id.clone()),
        (EntityType::User, play.event.user_pseudonym.clone()),
        (
            EntityType::Track,
            play.event
                .track_id
                .map(|t| t.to_string())
                .unwrap_or_default(),
        ),
    ];
    features
        .iter()
        .map(|name| {
            let (view, _) = registry.resolve(name).expect("known");
            let key = &keys
                .iter()
                .find(|(e, _)| *e == view.entity)
                .expect("entity")
                .1;
            let plan = read_plan(registry, view.entity, &[key], &[name], t).expect("plan");
            store.read(&plan).expect("read")[0][0]
        })
        .collect()
}

proptest! {
    #[test]
    fn the_last_play_sees_what_a_store_fed_everything_before_it_serves(events in any_events()) {
        let registry = registry();
        let features: Vec<String> = registry
            .views()
            .iter()
            .flat_map(|v| v.features.iter().map(move |f| format!("{}:{}", v.name, f.name)))
            .collect();
        let rows = training_set(&registry, &events, &features).expect("backfill");
        let mut plays: Vec<&LoggedEvent> =
            events.iter().filter(|e| !e.late && e.event.action == Action::Play).collect();
        plays.sort_by(|a, b| (a.event.event_time, &a.event.event_id).cmp(&(b.event.event_time, &b.event.event_id)));
        prop_assert_eq!(rows.len(), plays.len());
        if let (Some(last), Some(row)) = (plays.last(), rows.last()) {
            prop_assert_eq!(&row.event_id, &last.event.event_id);
            prop_assert_eq!(&row.features, &direct(&registry, &features, &events, last));
        }
    }
}
