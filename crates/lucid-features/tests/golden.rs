//! Golden values: hand-written events for one listener, two sessions and three tracks, read at
//! chosen times. Every expected value is worked out in the comments from the tile rule (1h → 5
//! min tiles, 10m → 50 s tiles) and the read bounds of `window.rs`.

use lucid_events::{Action, Context, ListeningEvent, Platform};
use lucid_features::{
    Admission, EntityType, FeatureValue, InMemoryStore, Observation, Registry, Status, TrackAttrs,
    Watermark, read_plan,
};

/// A multiple of both tile sizes (300 000 and 50 000 ms), so tiles start at whole minutes.
const B: i64 = 1_800_000_000_000;

/// `B` plus minutes and milliseconds.
fn at(minutes: i64, ms: i64) -> i64 {
    B + minutes * 60_000 + ms
}

fn registry() -> Registry {
    Registry::from_toml(include_str!("registry.toml")).expect("the test definitions are valid")
}

fn event(id: &str, session: &str, time: i64, action: Action) -> ListeningEvent {
    ListeningEvent {
        event_id: id.into(),
        user_pseudonym: "u-1".into(),
        session_id: session.into(),
        event_time: time,
        ingest_time: time,
        action,
        track_id: None,
        position: None,
        listened_ms: None,
        track_duration_ms: None,
        context: Context::Radio,
        platform: Platform::Ios,
        app_version: "5.1.0".into(),
        mood_valence: None,
        mood_arousal: None,
    }
}

/// Track 7 lasts 200 s, track 8 180 s and track 9 240 s.
fn on_track(id: &str, time: i64, action: Action, track: i64, listened_ms: i64) -> ListeningEvent {
    let mut event = event(id, "s-1", time, action);
    event.track_id = Some(track);
    event.position = Some(0);
    event.listened_ms = Some(listened_ms);
    event.track_duration_ms = Some([200_000, 180_000, 240_000][(track - 7) as usize]);
    event
}

fn check_in(id: &str, time: i64, valence: i32) -> ListeningEvent {
    let mut event = event(id, "s-1", time, Action::MoodCheckin);
    (event.mood_valence, event.mood_arousal) = (Some(valence), Some(5));
    event
}

/// Energy 0.2 for track 7, 0.5 for track 8, 0.9 for track 9.
fn attrs(track: i64) -> TrackAttrs {
    let energy = [0.2, 0.5, 0.9][(track - 7) as usize];
    let (valence, tempo, danceability, acousticness) = (0.5, 100.0, 0.5, 0.5);
    TrackAttrs {
        energy,
        valence,
        tempo,
        danceability,
        acousticness,
        genre_hiphop: Some(true),
    }
}

fn observe(events: &[ListeningEvent]) -> Vec<Observation> {
    let attrs = |e: &ListeningEvent| e.track_id.map(attrs);
    events
        .iter()
        .map(|e| Observation::from_event(e, attrs(e).as_ref()))
        .collect()
}

/// The events, in event-time order but for the two check-ins.
fn events() -> Vec<ListeningEvent> {
    vec![
        event("e01", "s-1", at(0, 0), Action::SessionStart),
        on_track("e02", at(9, 59_999), Action::Play, 7, 0),
        on_track("e03", at(10, 0), Action::Skip, 7, 30_000),
        on_track("e04", at(10, 1), Action::Play, 8, 0),
        on_track("e05", at(14, 0), Action::Complete, 8, 180_000),
        on_track("e06", at(20, 0), Action::Play, 9, 0),
        on_track("e07", at(21, 0), Action::Skip, 9, 60_000),
        check_in("e08", at(30, 0), 3),
        check_in("e09", at(25, 0), 7),
        event("e20", "s-2", at(40, 0), Action::SessionStart),
    ]
}

/// A play of track 7 at 73 min, applied only where a test says so.
fn play_at_73() -> ListeningEvent {
    on_track("e10", at(73, 0), Action::Play, 7, 0)
}

/// The events delivered out of order, in two batches.
fn store(registry: &Registry) -> InMemoryStore {
    let events = events();
    let pick = |indexes: &[usize]| -> Vec<ListeningEvent> {
        indexes.iter().map(|i| events[*i].clone()).collect()
    };
    let mut store = InMemoryStore::new();
    store.observe(registry, &observe(&pick(&[6, 0, 4, 7, 9])));
    store.observe(registry, &observe(&pick(&[2, 8, 1, 5, 3])));
    store
}

fn read(
    store: &InMemoryStore,
    registry: &Registry,
    entity: (EntityType, &str),
    features: &[&str],
    t: i64,
) -> Vec<FeatureValue> {
    let plan = read_plan(registry, entity.0, &[entity.1], features, t).expect("known features");
    store.read(&plan).expect("well-formed tiles").remove(0)
}

fn present(value: f64, time: i64) -> FeatureValue {
    FeatureValue {
        value: Some(value),
        status: Status::Present,
        event_time: Some(time),
    }
}

fn stale(value: f64, time: i64) -> FeatureValue {
    FeatureValue {
        value: Some(value),
        status: Status::Stale,
        event_time: Some(time),
    }
}

const SESSION: (EntityType, &str) = (EntityType::Session, "s-1");
const NOT_FOUND: FeatureValue = FeatureValue::NOT_FOUND;

#[test]
fn every_aggregation_at_seventy_minutes() {
    let registry = registry();
    let features = [
        "s:plays_1h",
        "s:skips_1h",
        "s:skip_rate_1h",
        "s:heard_1h",
        "s:min_energy_1h",
        "s:max_energy_1h",
        "s:listened_1h",
        "s:mood",
        "s:plays_ever",
    ];
    // t − W = 10:00 starts tile [10:00, 15:00): e03 to e09 count, e02 (9:59.999) does not.
    // Threshold for stale: 10:00; every newest event is later.
    let expected = [
        present(2.0, at(20, 0)),        // e04, e06
        present(2.0, at(21, 0)),        // e03, e07
        present(2.0 / 3.0, at(21, 0)),  // skips 2 of skip + complete 3
        present(7.0 / 15.0, at(21, 0)), // (0.15 + 1.0 + 0.25) / 3 = 1.4 / 3
        present(0.5, at(20, 0)),        // min of e04 (0.5) and e06 (0.9)
        present(0.9, at(20, 0)),        // max of the same
        present(270_000.0, at(21, 0)),  // 30 000 + 0 + 180 000 + 0 + 60 000
        present(3.0, at(30, 0)),        // e08 at 30:00 beats e09 at 25:00, applied later
        present(3.0, at(20, 0)),        // e02, e04, e06
    ];
    assert_eq!(
        read(&store(&registry), &registry, SESSION, &features, at(70, 0)),
        expected
    );
}

#[test]
fn window_edges_follow_the_tiles() {
    let registry = registry();
    let store = store(&registry);
    let features = ["s:plays_1h", "s:skips_1h", "s:min_energy_1h"];
    let read = |t| read(&store, &registry, SESSION, &features, t);

    // One ms before 70:00, t − W = 9:59.999 is in tile [5:00, 10:00): e02 counts too.
    let expected = [
        present(3.0, at(20, 0)),
        present(2.0, at(21, 0)),
        present(0.2, at(20, 0)),
    ];
    assert_eq!(read(at(69, 59_999)), expected);

    // At 72:00, t − W = 12:00 is in tile [10:00, 15:00): e03 at 10:00, 62 min old, still counts.
    let expected = [
        present(2.0, at(20, 0)),
        present(2.0, at(21, 0)),
        present(0.5, at(20, 0)),
    ];
    assert_eq!(read(at(72, 0)), expected);

    // At 75:00 the window starts at 15:00: only e06 and e07 are left.
    let expected = [
        present(1.0, at(20, 0)),
        present(1.0, at(21, 0)),
        present(0.9, at(20, 0)),
    ];
    assert_eq!(read(at(75, 0)), expected);
}

#[test]
fn values_go_stale_after_max_age() {
    let registry = registry();
    // At 81:00 the window starts at 20:00 (e06, e07); stale means older than 81:00 − 1 h = 21:00.
    let features = ["s:plays_1h", "s:skips_1h", "s:skip_rate_1h", "s:heard_1h"];
    let expected = [
        stale(1.0, at(20, 0)),
        present(1.0, at(21, 0)), // exactly at the threshold is not older
        present(1.0, at(21, 0)),
        present(0.25, at(21, 0)), // 60 000 / 240 000
    ];
    assert_eq!(
        read(&store(&registry), &registry, SESSION, &features, at(81, 0)),
        expected
    );
}

#[test]
fn a_count_reads_zero_only_while_the_entity_has_events_in_the_window() {
    let registry = registry();
    let store = store(&registry);
    let features = [
        "s:plays_1h",
        "s:skip_rate_1h",
        "s:listened_1h",
        "s:mood",
        "s:plays_ever",
    ];

    // At 90:00 the window starts at 30:00 and holds only the check-in e08: no play, so 0 at the
    // time of e08; no skip or complete, so no ratio; no listened_ms at all.
    let expected = [
        present(0.0, at(30, 0)),
        NOT_FOUND,
        NOT_FOUND,
        present(3.0, at(30, 0)),
        stale(3.0, at(20, 0)),
    ];
    assert_eq!(
        read(&store, &registry, SESSION, &features, at(90, 0)),
        expected
    );

    // At 96:00 the window starts at 35:00 and holds nothing of s-1; lifetime values go stale.
    let expected = [
        NOT_FOUND,
        NOT_FOUND,
        NOT_FOUND,
        stale(3.0, at(30, 0)),
        stale(3.0, at(20, 0)),
    ];
    assert_eq!(
        read(&store, &registry, SESSION, &features, at(96, 0)),
        expected
    );
}

#[test]
fn events_after_t_in_the_newest_tile_count() {
    let registry = registry();
    let mut store = store(&registry);
    store.observe(&registry, &observe(&[play_at_73()]));
    // Tile [70:00, 75:00) is read at 72:00 whole, with e10 at 73:00 in it.
    let read = |t| read(&store, &registry, SESSION, &["s:plays_1h"], t);
    assert_eq!(read(at(72, 0)), [present(3.0, at(73, 0))]);
    // At 69:59.999 that tile is not read: e02, e04 and e06, as before.
    assert_eq!(read(at(69, 59_999)), [present(3.0, at(20, 0))]);
}

#[test]
fn unknown_entities_are_not_found() {
    let registry = registry();
    let features = ["s:plays_1h", "s:plays_ever", "s:mood"];
    let values = read(
        &store(&registry),
        &registry,
        (EntityType::Session, "s-404"),
        &features,
        at(70, 0),
    );
    assert_eq!(values, [NOT_FOUND; 3]);
}

#[test]
fn lifetime_windows_keep_everything() {
    let registry = registry();
    let month_later = at(30 * 24 * 60, 0);
    let features = ["s:plays_1h", "s:plays_ever", "s:mood"];
    let expected = [NOT_FOUND, stale(3.0, at(20, 0)), stale(3.0, at(30, 0))];
    assert_eq!(
        read(
            &store(&registry),
            &registry,
            SESSION,
            &features,
            month_later
        ),
        expected
    );

    // Both sessions' starts, for life: stale a month on (max_age 7d), present just after.
    let user = read(
        &store(&registry),
        &registry,
        (EntityType::User, "u-1"),
        &["u:sessions_ever"],
        month_later,
    );
    assert_eq!(user, [stale(2.0, at(40, 0))]);
    let user = read(
        &store(&registry),
        &registry,
        (EntityType::User, "u-1"),
        &["u:sessions_ever"],
        at(41, 0),
    );
    assert_eq!(user, [present(2.0, at(40, 0))]);
}

#[test]
fn user_windows_use_fifty_second_tiles() {
    let registry = registry();
    let store = store(&registry);
    let read = |t| {
        read(
            &store,
            &registry,
            (EntityType::User, "u-1"),
            &["u:skips_10m"],
            t,
        )
    };
    // At 21:00, t − W = 11:00 lies in tile [10:50, 11:40): e07 only, e03 at 10:00 is out.
    assert_eq!(read(at(21, 0)), [present(1.0, at(21, 0))]);
    // At 20:49.999, t − W = 10:49.999 lies in tile [10:00, 10:50): e03; e07 is after t's tile.
    assert_eq!(read(at(20, 49_999)), [present(1.0, at(10, 0))]);
}

#[test]
fn track_features_follow_each_track() {
    let registry = registry();
    let mut store = store(&registry);
    store.observe(&registry, &observe(&[play_at_73()]));
    let features = ["t:plays_1h", "t:skip_rate_1h"];
    let read = |track| {
        read(
            &store,
            &registry,
            (EntityType::Track, track),
            &features,
            at(74, 0),
        )
    };
    // At 74:00 the window starts at 10:00 (tile of 14:00): e02 at 9:59.999 is out.
    assert_eq!(
        read("7"),
        [present(1.0, at(73, 0)), present(1.0, at(10, 0))]
    );
    assert_eq!(
        read("8"),
        [present(1.0, at(10, 1)), present(0.0, at(14, 0))]
    );
    assert_eq!(
        read("9"),
        [present(1.0, at(20, 0)), present(1.0, at(21, 0))]
    );
    assert_eq!(read("10"), [NOT_FOUND, NOT_FOUND]);
}

#[test]
fn late_events_are_dropped_by_the_watermark() {
    let registry = registry();
    // The longest window is 1 h: after an event at 73:00, anything before 13:00 is late.
    let mut watermark = Watermark::for_registry(&registry);
    let delivered = [
        on_track("e06", at(20, 0), Action::Play, 9, 0),
        play_at_73(),
        on_track("late", at(12, 59_999), Action::Skip, 9, 1_000),
        on_track("edge", at(13, 0), Action::Skip, 9, 1_000),
    ];
    let admitted: Vec<ListeningEvent> = delivered
        .into_iter()
        .filter(|e| watermark.admit(e.event_time) == Admission::OnTime)
        .collect();
    assert_eq!(
        admitted
            .iter()
            .map(|e| e.event_id.as_str())
            .collect::<Vec<_>>(),
        ["e06", "e10", "edge"]
    );
    assert_eq!(watermark.late_count(), 1);

    let mut store = InMemoryStore::new();
    store.observe(&registry, &observe(&admitted));
    // At 73:00 the window starts with tile [10:00, 15:00), which would hold both skips.
    let skips = read(&store, &registry, SESSION, &["s:skips_1h"], at(73, 0));
    assert_eq!(skips, [present(1.0, at(13, 0))]);
}
