//! Each scenario moves its metric in the documented direction, by a margin a do-nothing
//! scenario could not reach. Expected values are worked out by hand in `docs/simulator.md`
//! ("Expected effects") from the model's constants; tolerances cover the sampling noise of
//! 3,000 sessions and of a 400-listener population with log-normal activity.

mod common;

use chrono::{DateTime, Timelike, Utc};
use lucid_catalog::{Catalog, Genre};
use lucid_events::{Action, EventInput};
use lucid_simulator::profile::is_night_hour;
use lucid_simulator::{Scenario, Simulator};

/// Numbers measured over the sessions of one half of a run.
#[derive(Debug, Default)]
struct Metrics {
    sessions: usize,
    night_sessions: usize,
    plays: usize,
    hip_hop_plays: usize,
    energy_sum: f64,
    skips: usize,
    completes: usize,
    complete_ratio_sum: f64,
    buggy_release_events: usize,
}

impl Metrics {
    fn add_session(&mut self, catalog: &Catalog, events: &[EventInput]) {
        self.sessions += 1;
        self.night_sessions += usize::from(is_night_hour(events[0].event_time.hour()));
        for event in events {
            self.buggy_release_events += usize::from(event.app_version == "5.0.0");
            let track = event.track_id.and_then(|id| catalog.get(id));
            match (event.action, track) {
                (Action::Play, Some(track)) => {
                    self.plays += 1;
                    self.hip_hop_plays += usize::from(track.genre == Some(Genre::HipHop));
                    self.energy_sum += track.energy;
                }
                (Action::Skip, _) => self.skips += 1,
                (Action::Complete, _) => {
                    self.completes += 1;
                    let (listened, duration) = (event.listened_ms, event.track_duration_ms);
                    let ratio = listened.unwrap_or(0) as f64 / duration.unwrap_or(1) as f64;
                    self.complete_ratio_sum += ratio;
                }
                _ => {}
            }
        }
    }

    fn night_share(&self) -> f64 {
        self.night_sessions as f64 / self.sessions as f64
    }

    fn hip_hop_share(&self) -> f64 {
        self.hip_hop_plays as f64 / self.plays as f64
    }

    fn mean_energy(&self) -> f64 {
        self.energy_sum / self.plays as f64
    }

    fn skip_rate(&self) -> f64 {
        self.skips as f64 / (self.skips + self.completes) as f64
    }

    fn listened_scale(&self) -> f64 {
        self.complete_ratio_sum / self.completes as f64
    }
}

/// Metrics of the sessions starting before and after the change point.
fn run(scenario: Scenario) -> (Metrics, Metrics) {
    let catalog = common::catalog();
    let sim = Simulator::new(&catalog, common::config(scenario, 2026)).expect("valid config");
    let change: DateTime<Utc> = sim.config().change_at();

    let (mut before, mut after) = (Metrics::default(), Metrics::default());
    for events in sim.sessions() {
        let half = if events[0].event_time < change {
            &mut before
        } else {
            &mut after
        };
        half.add_session(&catalog, &events);
    }
    eprintln!("{scenario} before: {before:?}\n{scenario} after: {after:?}");
    (before, after)
}

fn assert_near(what: &str, value: f64, expected: f64, tolerance: f64) {
    assert!(
        (value - expected).abs() <= tolerance,
        "{what} is {value:.4}; expected {expected:.4} ± {tolerance}"
    );
}

#[test]
fn baseline_matches_the_hand_computed_values() {
    let (before, after) = run(Scenario::Baseline);
    for half in [&before, &after] {
        // Night share of the day profile: 1.52 / 12.77 = 0.119.
        assert_near("baseline night share", half.night_share(), 0.119, 0.03);
        // 0.8 × 0.3/1.9 + 0.2 × 1/1.9 = 0.232 of plays are hip-hop.
        assert_near("baseline hip-hop share", half.hip_hop_share(), 0.232, 0.04);
        // Completes report duration plus 0-1.5 s: 1 + 750 ms / ~200 s.
        assert_near(
            "baseline listened scale",
            half.listened_scale(),
            1.004,
            0.003,
        );
        assert_eq!(half.buggy_release_events, 0);
    }
    // Nothing drifts: the skip rate holds steady across the halves.
    assert_near(
        "baseline skip rate change",
        after.skip_rate() - before.skip_rate(),
        0.0,
        0.02,
    );
    // Roughly half the sessions start after the midpoint (the window ends 2 h early).
    assert_near(
        "share of sessions after the change",
        after.sessions as f64 / 3_000.0,
        0.49,
        0.04,
    );
}

#[test]
fn hiphop_cohort_raises_hip_hop_share_and_volume_after_the_change() {
    let (before, after) = run(Scenario::HiphopCohort);
    assert_near("hip-hop share before", before.hip_hop_share(), 0.232, 0.04);
    // Half the sessions come from the cohort: 0.5 × 0.232 + 0.5 × 1/1.5 = 0.449.
    assert_near("hip-hop share after", after.hip_hop_share(), 0.449, 0.05);
    // The cohort doubles session volume after the change: 2/3 of sessions fall after it.
    assert_near(
        "share of sessions after",
        after.sessions as f64 / 3_000.0,
        0.66,
        0.05,
    );
}

#[test]
fn night_shift_moves_sessions_to_night_and_lowers_energy() {
    let (base_before, base_after) = run(Scenario::Baseline);
    let (before, after) = run(Scenario::NightShift);
    assert_near("night share before", before.night_share(), 0.119, 0.03);
    // Night profile: 6.20 / 9.34 = 0.664, less the 22:00-24:00 hours cut from the last day
    // by the two-hour session window: (24.80 - 1.75) / (37.36 - 1.75) = 0.647.
    assert_near("night share after", after.night_share(), 0.647, 0.04);

    // Calmer targets pick calmer tracks.
    assert!((before.mean_energy() - base_before.mean_energy()).abs() < 0.03);
    let drop = base_after.mean_energy() - after.mean_energy();
    assert!(drop > 0.08, "mean played energy fell by {drop:.3} only");
}

#[test]
fn seconds_bug_shrinks_listened_time_after_the_release() {
    let (before, after) = run(Scenario::SecondsBug);
    assert_near(
        "listened scale before",
        before.listened_scale(),
        1.004,
        0.003,
    );
    assert_eq!(before.buggy_release_events, 0);
    // 54% of listeners (60% of the 90% on phones) report ms / 1000 after the release:
    // 0.46 × 1.004 + 0.54 × 0.001 = 0.462.
    assert_near("listened scale after", after.listened_scale(), 0.462, 0.08);
    assert!(after.buggy_release_events > 0);
}

#[test]
fn seconds_bug_changes_nothing_before_the_release() {
    // The bug leaves session start intensity alone, so every session drawn before the change
    // point is the baseline's, event for event.
    let catalog = common::catalog();
    let baseline = Simulator::new(&catalog, common::config(Scenario::Baseline, 11)).expect("valid");
    let buggy = Simulator::new(&catalog, common::config(Scenario::SecondsBug, 11)).expect("valid");
    let change = baseline.config().change_at();

    let mut compared = 0;
    for (plain, bug) in baseline.sessions().zip(buggy.sessions()) {
        if plain[0].event_time < change {
            assert_eq!(plain, bug);
            compared += 1;
        } else {
            assert_eq!(plain[0].event_time, bug[0].event_time);
        }
    }
    assert!(compared > 1_300, "{compared} sessions before the change");
}

#[test]
fn skip_rate_rises_with_position_and_commute_hours() {
    let catalog = common::catalog();
    let sim = Simulator::new(&catalog, common::config(Scenario::Baseline, 7)).expect("valid");

    // Counts of (skips, ends) for position 0, positions 10+, commute plays, midday plays.
    let mut counts = [(0usize, 0usize); 4];
    for events in sim.sessions() {
        let plays = events.iter().filter(|e| e.action == Action::Play);
        let ends = events
            .iter()
            .filter(|e| matches!(e.action, Action::Skip | Action::Complete));
        for (play, end) in plays.zip(ends) {
            let skipped = usize::from(end.action == Action::Skip);
            let hour = play.event_time.hour();
            let position = play.position.unwrap_or_default();
            let buckets = [
                position == 0,
                position >= 10,
                (7..=9).contains(&hour),
                (10..=16).contains(&hour),
            ];
            for (count, _) in counts.iter_mut().zip(buckets).filter(|(_, hit)| *hit) {
                count.0 += skipped;
                count.1 += 1;
            }
        }
    }
    let rate = |(skips, ends): (usize, usize)| skips as f64 / ends as f64;
    eprintln!("skip counts {counts:?}");

    // Ten positions add 10 × 0.015 = 0.15; commute hours add 0.06 over midday.
    assert_near(
        "late minus first position",
        rate(counts[1]) - rate(counts[0]),
        0.15,
        0.05,
    );
    assert_near(
        "commute minus midday",
        rate(counts[2]) - rate(counts[3]),
        0.06,
        0.03,
    );
}
