//! Properties of the whole path, observations → updates → store → reads, on random events.

use lucid_events::{Action, Context, ListeningEvent, Platform};
use lucid_features::{
    EntityType, FeatureValue, InMemoryStore, Observation, Registry, Status, TrackAttrs, read_plan,
};
use proptest::prelude::*;

const B: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;
const FIVE_MINUTES: i64 = 300_000;

fn registry() -> Registry {
    Registry::from_toml(include_str!("registry.toml")).expect("the test definitions are valid")
}

/// Session 0-2 (sessions 0 and 1 belong to user 0), track 7-10, action, time, listened, mood.
type Draw = (usize, i64, usize, i64, i64, i32);

fn any_draw() -> impl Strategy<Value = Draw> {
    // Often one of a few instants, so that `last` meets ties; often whole minutes, so that
    // events fall on tile edges.
    let time = prop_oneof![
        (0i64..3).prop_map(|m| m * 60_000),
        (0i64..180).prop_map(|m| m * 60_000),
        0i64..3 * HOUR,
    ];
    (
        0usize..3,
        7i64..11,
        0usize..Action::ALL.len(),
        time,
        0i64..=200_000,
        1i32..=9,
    )
}

fn event(i: usize, (session, track, action, time, listened, mood): Draw) -> ListeningEvent {
    let action = Action::ALL[action];
    let on_track = action.is_track_action();
    let checks_in = action == Action::MoodCheckin;
    ListeningEvent {
        event_id: format!("e{i}"),
        user_pseudonym: format!("u-{}", session / 2),
        session_id: format!("s-{session}"),
        event_time: B + time,
        ingest_time: B + time,
        action,
        track_id: on_track.then_some(track),
        position: on_track.then_some(0),
        listened_ms: on_track.then_some(listened),
        track_duration_ms: on_track.then_some(200_000),
        context: Context::Other,
        platform: Platform::Web,
        app_version: "5.1.0".into(),
        mood_valence: checks_in.then_some(mood),
        mood_arousal: checks_in.then_some(10 - mood),
    }
}

/// Track 10 is missing from the catalog; track 9's genre is unknown.
fn observe(event: &ListeningEvent) -> Observation {
    let attrs = event.track_id.filter(|t| *t < 10).map(|t| TrackAttrs {
        energy: [0.125, 0.5, 0.75][(t - 7) as usize],
        valence: 0.3,
        tempo: 90.0 + t as f64,
        danceability: 0.6,
        acousticness: 0.1,
        genre_hiphop: [Some(true), Some(false), None][(t - 7) as usize],
    });
    Observation::from_event(event, attrs.as_ref())
}

/// Every feature of every entity that appears, at a few request times.
fn read_all(registry: &Registry, store: &InMemoryStore) -> Vec<Vec<FeatureValue>> {
    let entities = [
        (EntityType::Session, vec!["s-0", "s-1", "s-2"]),
        (EntityType::User, vec!["u-0", "u-1"]),
        (EntityType::Track, vec!["7", "8", "9", "10"]),
    ];
    let mut reads = Vec::new();
    for t in [
        B + HOUR / 2,
        B + 90 * 60_000,
        B + 150 * 60_000,
        B + 4 * HOUR,
    ] {
        for (entity, keys) in &entities {
            let view = registry
                .views()
                .iter()
                .find(|v| v.entity == *entity)
                .expect("a view");
            let features: Vec<String> = view
                .features
                .iter()
                .map(|f| format!("{}:{}", view.name, f.name))
                .collect();
            let plan = read_plan(registry, *entity, keys, &features, t).expect("known features");
            reads.extend(store.read(&plan).expect("well-formed tiles"));
        }
    }
    reads
}

/// The values for session `s-<session>` from the tile rule, counted directly from the events.
fn expected(events: &[ListeningEvent], session: &str, t: i64) -> [FeatureValue; 2] {
    let from = (t - HOUR).div_euclid(FIVE_MINUTES) * FIVE_MINUTES;
    let until = (t.div_euclid(FIVE_MINUTES) + 1) * FIVE_MINUTES;
    let window: Vec<&ListeningEvent> = events
        .iter()
        .filter(|e| e.session_id == session && (from..until).contains(&e.event_time))
        .collect();
    let newest = |actions: &[Action]| {
        window
            .iter()
            .filter(|e| actions.contains(&e.action))
            .map(|e| e.event_time)
            .max()
    };
    let count = |action: Action| window.iter().filter(|e| e.action == action).count() as f64;
    let value = |value: f64, time: i64| {
        let status = if time < t - HOUR {
            Status::Stale
        } else {
            Status::Present
        };
        FeatureValue {
            value: Some(value),
            status,
            event_time: Some(time),
        }
    };

    let any_event = window.iter().map(|e| e.event_time).max();
    let plays = match (newest(&[Action::Play]), any_event) {
        (Some(time), _) => value(count(Action::Play), time),
        (None, Some(time)) => value(0.0, time),
        (None, None) => FeatureValue::NOT_FOUND,
    };
    let (skips, below) = (
        count(Action::Skip),
        count(Action::Skip) + count(Action::Complete),
    );
    let skip_rate = match newest(&[Action::Skip, Action::Complete]) {
        Some(time) => value(skips / below, time),
        None => FeatureValue::NOT_FOUND,
    };
    [plays, skip_rate]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_order_and_batching_give_the_same_store_and_reads(
        (draws, order) in prop::collection::vec(any_draw(), 0..40).prop_flat_map(|draws| {
            let order: Vec<usize> = (0..draws.len()).collect();
            (Just(draws), Just(order).prop_shuffle())
        }),
        cuts in prop::collection::vec(0usize..40, 0..6),
    ) {
        let registry = registry();
        let events: Vec<ListeningEvent> =
            draws.into_iter().enumerate().map(|(i, d)| event(i, d)).collect();
        let observations: Vec<Observation> = events.iter().map(observe).collect();

        let mut whole = InMemoryStore::new();
        whole.observe(&registry, &observations);

        let shuffled: Vec<Observation> = order.iter().map(|i| observations[*i].clone()).collect();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(shuffled.len())).collect();
        cuts.sort_unstable();
        let mut batched = InMemoryStore::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([shuffled.len()]) {
            batched.observe(&registry, &shuffled[start..cut]);
            start = cut;
        }

        prop_assert_eq!(&batched, &whole);
        prop_assert_eq!(read_all(&registry, &batched), read_all(&registry, &whole));
    }

    #[test]
    fn counts_and_ratios_match_a_direct_count_over_the_widened_window(
        draws in prop::collection::vec(any_draw(), 0..40),
        t in 0i64..4 * HOUR,
    ) {
        let registry = registry();
        let events: Vec<ListeningEvent> =
            draws.into_iter().enumerate().map(|(i, d)| event(i, d)).collect();
        let observations: Vec<Observation> = events.iter().map(observe).collect();
        let mut store = InMemoryStore::new();
        store.observe(&registry, &observations);

        let sessions = ["s-0", "s-1", "s-2"];
        let features = ["s:plays_1h", "s:skip_rate_1h"];
        let plan = read_plan(&registry, EntityType::Session, &sessions, &features, B + t)
            .expect("known features");
        let values = store.read(&plan).expect("well-formed tiles");
        for (session, got) in sessions.iter().zip(values) {
            prop_assert_eq!(got, expected(&events, session, B + t).to_vec(), "{}", session);
        }
    }
}
