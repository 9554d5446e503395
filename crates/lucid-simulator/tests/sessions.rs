//! Shape, determinism and validity of generated sessions.

mod common;

use std::collections::HashSet;

use chrono::{TimeDelta, Utc};
use lucid_events::{Action, EventInput, Limits, validate};
use lucid_simulator::{Scenario, SimConfig, Simulator, simulate};

fn small(scenario: Scenario, seed: u64) -> SimConfig {
    SimConfig {
        sessions: 300,
        ..common::config(scenario, seed)
    }
}

#[test]
fn same_seed_gives_identical_events() {
    let catalog = common::catalog();
    let first = simulate(&catalog, small(Scenario::SecondsBug, 42)).expect("simulates");
    let second = simulate(&catalog, small(Scenario::SecondsBug, 42)).expect("simulates");
    assert!(first.len() > 3_000, "{} events", first.len());
    assert_eq!(first, second);
}

#[test]
fn different_seeds_give_different_events() {
    let catalog = common::catalog();
    let first = simulate(&catalog, small(Scenario::Baseline, 1)).expect("simulates");
    let second = simulate(&catalog, small(Scenario::Baseline, 2)).expect("simulates");

    let ids = |events: &[EventInput]| -> HashSet<String> {
        events.iter().map(|e| e.event_id.clone()).collect()
    };
    assert!(ids(&first).is_disjoint(&ids(&second)));
    let times = |events: &[EventInput]| events.iter().map(|e| e.event_time).collect::<Vec<_>>();
    assert_ne!(times(&first), times(&second));
}

#[test]
fn sessions_follow_the_documented_shape() {
    let catalog = common::catalog();
    let sim = Simulator::new(&catalog, small(Scenario::Baseline, 3)).expect("valid config");
    let (start, end) = (sim.config().start, sim.config().end());

    let mut event_ids = HashSet::new();
    let mut session_ids = HashSet::new();
    for events in sim.sessions() {
        let actions: Vec<Action> = events.iter().map(|e| e.action).collect();
        assert_eq!(actions[..2], [Action::SessionStart, Action::MoodCheckin]);
        assert_eq!(
            actions[actions.len() - 2..],
            [Action::MoodCheckin, Action::SessionEnd]
        );
        assert!(
            events
                .windows(2)
                .all(|w| w[0].event_time <= w[1].event_time)
        );
        assert!(events.iter().all(|e| (start..=end).contains(&e.event_time)));
        assert!(events.iter().all(|e| e.session_id == events[0].session_id));
        assert!(
            session_ids.insert(events[0].session_id.clone()),
            "session ids are unique"
        );

        let tracks: Vec<&EventInput> = events
            .iter()
            .filter(|e| e.action.is_track_action())
            .collect();
        let plays = tracks.iter().filter(|e| e.action == Action::Play).count();
        let ends = tracks
            .iter()
            .filter(|e| matches!(e.action, Action::Skip | Action::Complete));
        assert_eq!(
            plays,
            ends.count(),
            "every play ends in a skip or a complete"
        );
        for (position, play) in tracks
            .iter()
            .filter(|e| e.action == Action::Play)
            .enumerate()
        {
            assert_eq!(play.position, Some(position as i32));
            assert_eq!(play.listened_ms, Some(0));
            assert!(catalog_has(&catalog, play.track_id));
        }
        for event in events {
            assert!(event_ids.insert(event.event_id), "event ids are unique");
        }
    }
}

fn catalog_has(catalog: &lucid_catalog::Catalog, id: Option<i64>) -> bool {
    id.is_some_and(|id| catalog.get(id).is_some())
}

#[test]
fn every_scenario_passes_ingestion_validation_when_ending_now() {
    let catalog = common::catalog();
    for scenario in Scenario::ALL {
        let config = SimConfig {
            scenario,
            seed: 9,
            listeners: 200,
            sessions: 800,
            ..SimConfig::ending_at(Utc::now(), TimeDelta::days(6))
        };
        let events = simulate(&catalog, config).expect("simulates");
        let sent_at = Utc::now();
        for event in &events {
            if let Err(rejection) = validate(event, &Limits::default(), sent_at) {
                panic!("{scenario}: {rejection} in {event:?}");
            }
        }
        // Events still pass after a day spent sending them.
        let last_send = sent_at + TimeDelta::hours(23);
        assert!(
            events
                .iter()
                .all(|e| validate(e, &Limits::default(), last_send).is_ok())
        );
    }
}

#[test]
fn short_span_keeps_sessions_inside_it() {
    let catalog = common::catalog();
    let config = SimConfig {
        span: TimeDelta::minutes(10),
        sessions: 200,
        ..common::config(Scenario::Baseline, 4)
    };
    let sim = Simulator::new(&catalog, config).expect("valid");
    let (start, end) = (sim.config().start, sim.config().end());
    let events = sim.events();
    assert!(events.iter().all(|e| (start..=end).contains(&e.event_time)));
    assert!(
        events
            .windows(2)
            .all(|w| w[0].event_time <= w[1].event_time),
        "sorted by time"
    );
}

#[test]
fn empty_catalog_is_refused() {
    let empty = lucid_catalog::Catalog::from_tracks(Vec::new()).expect("empty is a catalog");
    let error = Simulator::new(&empty, small(Scenario::Baseline, 1)).expect_err("nothing to play");
    assert_eq!(
        error.to_string(),
        "the catalog is empty; there is nothing to play"
    );
}
