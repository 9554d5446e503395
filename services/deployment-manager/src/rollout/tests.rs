//! The state machine in virtual time: every verdict, missing and NaN metrics, operators'
//! commands, a restart mid-rollout, the registry moving underneath.

use super::*;
use crate::analysis::{Analysis, SideSummary, Thresholds, Verdict};

const MIN: i64 = 60_000;

fn policy() -> Policy {
    Policy {
        steps: vec![10, 25, 50, 100],
        step_duration_ms: 5 * MIN,
        step_timeout_ms: 20 * MIN,
        post_promotion_ms: 10 * MIN,
        thresholds: Thresholds {
            min_outcomes: 100,
            ..Thresholds::default()
        },
        on_inconclusive: OnInconclusive::Pause,
    }
}

fn start(strategy: Strategy, policy: Policy) -> (Rollout, Transition) {
    Rollout::start(Start {
        id: "r1".into(),
        model: "skip".into(),
        from_version: Some("3".into()),
        previous: Some("2".into()),
        to_version: "4".into(),
        strategy,
        policy,
        now_ms: 0,
    })
    .expect("valid start")
}

fn side(outcomes: u64, log_loss: f64) -> SideSummary {
    SideSummary {
        outcomes,
        predictions: outcomes,
        log_loss: Some(log_loss),
        calibration_error: Some(0.03),
        error_rate: Some(0.0),
        p99_latency_ms: Some(12.0),
    }
}

fn seen(now_ms: i64, stable: SideSummary, candidate: SideSummary) -> Observation {
    Observation {
        now_ms,
        champion: None,
        analysis: Analysis { stable, candidate },
    }
}

fn good(now_ms: i64) -> Observation {
    seen(now_ms, side(500, 0.60), side(500, 0.59))
}

fn bad(now_ms: i64) -> Observation {
    seen(now_ms, side(500, 0.60), side(500, 0.90))
}

fn weights(t: &Transition) -> Vec<(String, u32)> {
    t.traffic
        .routes
        .iter()
        .map(|r| (r.version.clone(), r.weight))
        .collect()
}

fn w(pairs: &[(&str, u32)]) -> Vec<(String, u32)> {
    pairs.iter().map(|(v, w)| (v.to_string(), *w)).collect()
}

#[test]
fn a_good_canary_walks_every_step_and_is_promoted() {
    let (mut r, started) = start(Strategy::Canary, policy());
    assert_eq!(started.kind, TransitionKind::Started);
    assert_eq!(weights(&started), w(&[("3", 90), ("4", 10)]));
    assert_eq!(
        started.aliases,
        vec![AliasMove {
            alias: Alias::Challenger,
            expected: Expect::Any,
            to: Some("4".into())
        }]
    );

    // Before the hold time nothing happens, however good the numbers.
    assert_eq!(r.tick(&good(5 * MIN - 1)), None);

    let t = r.tick(&good(5 * MIN)).expect("step 1");
    assert_eq!(
        (t.kind, t.verdict),
        (TransitionKind::Step, Some(Verdict::Successful))
    );
    assert_eq!(weights(&t), w(&[("3", 75), ("4", 25)]));
    let t = r.tick(&good(10 * MIN)).expect("step 2");
    assert_eq!(weights(&t), w(&[("3", 50), ("4", 50)]));
    let t = r.tick(&good(15 * MIN)).expect("promotion");
    assert_eq!(t.kind, TransitionKind::Promoted);
    assert_eq!(r.state, State::Promoted);
    assert_eq!(weights(&t), w(&[("4", 100)]));
    assert_eq!(
        t.aliases,
        vec![
            AliasMove {
                alias: Alias::Champion,
                expected: Expect::Version(Some("3".into())),
                to: Some("4".into())
            },
            AliasMove {
                alias: Alias::Previous,
                expected: Expect::Any,
                to: Some("3".into())
            },
            AliasMove {
                alias: Alias::Challenger,
                expected: Expect::Any,
                to: None
            },
        ]
    );
    // Final: nothing more happens.
    assert_eq!(r.tick(&bad(60 * MIN)), None);
}

#[test]
fn a_failed_step_rolls_back_to_weight_zero() {
    let (mut r, _) = start(Strategy::Canary, policy());
    r.tick(&good(5 * MIN)).expect("step 1");
    let t = r.tick(&bad(10 * MIN)).expect("rollback");
    assert_eq!(
        (t.kind, t.verdict),
        (TransitionKind::RolledBack, Some(Verdict::Failed))
    );
    assert_eq!(r.state, State::RolledBack);
    assert_eq!(weights(&t), w(&[("3", 100), ("4", 0)]));
    // The champion never moved in a canary, so only the challenger goes.
    assert_eq!(t.aliases, vec![AliasMove::delete(Alias::Challenger)]);
    assert!(t.reason.contains("log loss 0.9000"), "{}", t.reason);
    assert_eq!(r.candidate_weight(), 0);
}

#[test]
fn too_few_outcomes_wait_until_the_timeout_then_pause() {
    let (mut r, _) = start(Strategy::Canary, policy());
    let few = seen(6 * MIN, side(500, 0.6), side(99, 0.5));
    assert_eq!(r.tick(&few), None, "waits for outcomes before the timeout");
    let few = seen(20 * MIN, side(500, 0.6), side(99, 0.5));
    let t = r.tick(&few).expect("inconclusive at the timeout");
    assert_eq!(
        (t.kind, t.verdict),
        (TransitionKind::Paused, Some(Verdict::Inconclusive))
    );
    assert_eq!(r.state, State::Paused);
    // Traffic is held where it was.
    assert_eq!(weights(&t), w(&[("3", 90), ("4", 10)]));
    assert!(t.aliases.is_empty());
    // Paused: good numbers do not move it.
    assert_eq!(r.tick(&good(30 * MIN)), None);
}

#[test]
fn outcomes_arriving_before_the_timeout_let_the_step_pass() {
    let (mut r, _) = start(Strategy::Canary, policy());
    assert_eq!(r.tick(&seen(6 * MIN, side(500, 0.6), side(50, 0.6))), None);
    let t = r
        .tick(&good(7 * MIN))
        .expect("passes once outcomes arrived");
    assert_eq!(t.kind, TransitionKind::Step);
    assert_eq!(r.step_started_ms, 7 * MIN);
}

#[test]
fn nan_metric_is_inconclusive_at_once_and_aborts_by_config() {
    let mut p = policy();
    p.on_inconclusive = OnInconclusive::Abort;
    let (mut r, _) = start(Strategy::Canary, p);
    let mut nan = side(500, 0.6);
    nan.log_loss = Some(f64::NAN);
    let t = r
        .tick(&seen(5 * MIN, side(500, 0.6), nan))
        .expect("no waiting for a NaN");
    assert_eq!(
        (t.kind, t.verdict),
        (TransitionKind::Aborted, Some(Verdict::Inconclusive))
    );
    assert_eq!(r.state, State::Aborted);
    assert_eq!(weights(&t), w(&[("3", 100), ("4", 0)]));
    assert!(
        t.reason.contains("log loss is missing or not a number"),
        "{}",
        t.reason
    );
}

#[test]
fn missing_metric_pauses_by_default() {
    let (mut r, _) = start(Strategy::Canary, policy());
    let mut missing = side(500, 0.6);
    missing.calibration_error = None;
    let t = r
        .tick(&seen(5 * MIN, missing, side(500, 0.6)))
        .expect("inconclusive");
    assert_eq!(
        (t.kind, t.verdict),
        (TransitionKind::Paused, Some(Verdict::Inconclusive))
    );
    let analysed = r.last_analysis.as_ref().expect("recorded");
    assert_eq!(analysed.verdict, Verdict::Inconclusive);
    assert_eq!(analysed.at_ms, 5 * MIN);
}

#[test]
fn abort_mid_step_withdraws_the_candidate() {
    let (mut r, _) = start(Strategy::Canary, policy());
    r.tick(&good(5 * MIN)).expect("step 1");
    assert_eq!(r.tick(&good(7 * MIN)), None, "mid-step");
    let t = r.abort(7 * MIN, "bad vibes").expect("abortable");
    assert_eq!(t.kind, TransitionKind::Aborted);
    assert_eq!(weights(&t), w(&[("3", 100), ("4", 0)]));
    assert_eq!(t.reason, "aborted by an operator: bad vibes");
    assert!(
        r.abort(8 * MIN, "").is_err(),
        "final states refuse commands"
    );
    assert!(r.resume(8 * MIN, "").is_err());
    assert_eq!(r.tick(&good(60 * MIN)), None);
}

#[test]
fn pause_resume_restarts_the_step_clock_and_promote_skips_steps() {
    let (mut r, _) = start(Strategy::Canary, policy());
    r.pause(MIN, "").expect("pausable");
    assert!(r.pause(MIN, "").is_err());
    assert_eq!(r.tick(&good(10 * MIN)), None);
    r.resume(10 * MIN, "").expect("resumable");
    assert_eq!(
        r.tick(&good(14 * MIN)),
        None,
        "the step is held again from the resume"
    );
    assert!(r.tick(&good(15 * MIN)).is_some());
    let t = r.promote(16 * MIN, "").expect("promotable");
    assert_eq!(weights(&t), w(&[("4", 100)]));
    assert_eq!(r.expected_champion(), Some("4"));
}

#[test]
fn a_restored_rollout_makes_the_same_next_decisions() {
    let (mut r, _) = start(Strategy::Canary, policy());
    r.tick(&good(5 * MIN)).expect("step 1");
    let saved = serde_json::to_string(&r).expect("serialises");

    let mut restored: Rollout = serde_json::from_str(&saved).expect("deserialises");
    assert_eq!(restored, r);
    for (now, observation) in [(8 * MIN, good(8 * MIN)), (10 * MIN, good(10 * MIN))] {
        let _ = now;
        assert_eq!(restored.tick(&observation), r.tick(&observation));
    }
    assert_eq!(restored, r);
    assert_eq!(restored.step, 2);
    let a = r.tick(&bad(15 * MIN));
    let b = restored.tick(&bad(15 * MIN));
    assert_eq!(a, b);
    assert_eq!(restored.state, State::RolledBack);
}

#[test]
fn champion_alias_moved_underneath_aborts_with_the_reason() {
    let (mut r, _) = start(Strategy::Canary, policy());
    let mut o = good(MIN);
    o.champion = Some(Some("3".into()));
    assert_eq!(r.tick(&o), None, "the expected champion is fine");
    o.champion = Some(Some("7".into()));
    let t = r.tick(&o).expect("aborted");
    assert_eq!(t.kind, TransitionKind::Aborted);
    assert_eq!(
        t.reason,
        "champion alias moved underneath: expected 3, found 7"
    );
    // The alias is someone else's now: only our challenger is withdrawn.
    assert_eq!(t.aliases, vec![AliasMove::delete(Alias::Challenger)]);
    assert_eq!(weights(&t), w(&[("3", 100), ("4", 0)]));
}

#[test]
fn a_canary_at_weight_zero_is_refused_and_zero_evidence_never_passes() {
    let mut p = policy();
    p.steps = vec![0, 50, 100];
    let refused = Rollout::start(Start {
        id: "r".into(),
        model: "skip".into(),
        from_version: Some("3".into()),
        previous: None,
        to_version: "4".into(),
        strategy: Strategy::Canary,
        policy: p,
        now_ms: 0,
    });
    assert!(
        matches!(&refused, Err(RolloutError::Policy(m)) if m.contains("step of 0")),
        "{refused:?}"
    );

    // A candidate that got no traffic has no outcomes: never successful, paused at the timeout.
    let (mut r, _) = start(Strategy::Canary, policy());
    let empty = SideSummary::default();
    assert_eq!(r.tick(&seen(5 * MIN, side(500, 0.6), empty.clone())), None);
    let t = r
        .tick(&seen(20 * MIN, side(500, 0.6), empty))
        .expect("inconclusive");
    assert_eq!(t.verdict, Some(Verdict::Inconclusive));
    assert_eq!(r.state, State::Paused);
}

#[test]
fn other_bad_steps_are_refused() {
    for steps in [
        vec![100],
        vec![10, 10, 100],
        vec![10, 50],
        vec![50, 20, 100],
    ] {
        let p = Policy {
            steps: steps.clone(),
            ..policy()
        };
        assert!(p.validate().is_err(), "{steps:?}");
    }
    let same = Rollout::start(Start {
        id: "r".into(),
        model: "m".into(),
        from_version: Some("4".into()),
        previous: None,
        to_version: "4".into(),
        strategy: Strategy::Canary,
        policy: policy(),
        now_ms: 0,
    });
    assert_eq!(same.err(), Some(RolloutError::AlreadyChampion("4".into())));
}

#[test]
fn the_first_version_of_a_model_is_promoted_at_once() {
    let (r, t) = Rollout::start(Start {
        id: "r".into(),
        model: "m".into(),
        from_version: None,
        previous: None,
        to_version: "1".into(),
        strategy: Strategy::Canary,
        policy: policy(),
        now_ms: 0,
    })
    .expect("starts");
    assert_eq!(
        (r.state, t.kind),
        (State::Promoted, TransitionKind::Promoted)
    );
    assert_eq!(t.aliases[0].expected, Expect::Version(None));
    assert_eq!(weights(&t), w(&[("1", 100)]));
}

#[test]
fn blue_green_previews_in_shadow_switches_and_is_promoted() {
    let (mut r, t) = start(Strategy::BlueGreen, policy());
    assert_eq!(weights(&t), w(&[("3", 100)]));
    assert_eq!(
        t.traffic.shadow.as_ref().map(|s| s.version.as_str()),
        Some("4")
    );

    let t = r.tick(&good(5 * MIN)).expect("switch");
    assert_eq!(t.kind, TransitionKind::Switched);
    assert_eq!(weights(&t), w(&[("3", 0), ("4", 100)]));
    assert_eq!(t.traffic.shadow, None);
    assert_eq!(t.aliases[0].alias, Alias::Champion);
    assert_eq!(r.expected_champion(), Some("4"));
    assert_eq!(r.baseline, Some(side(500, 0.60)));

    // Post-promotion: the stable side no longer serves; the preview baseline is the yardstick.
    let after = seen(14 * MIN, SideSummary::default(), side(300, 0.61));
    assert_eq!(r.tick(&after), None, "within the window");
    let after = seen(15 * MIN, SideSummary::default(), side(300, 0.61));
    let t = r.tick(&after).expect("promoted");
    assert_eq!(t.kind, TransitionKind::Promoted);
    assert_eq!(weights(&t), w(&[("4", 100)]));
}

#[test]
fn blue_green_switches_back_when_post_promotion_analysis_fails() {
    let (mut r, _) = start(Strategy::BlueGreen, policy());
    r.tick(&good(5 * MIN)).expect("switch");
    let after = seen(15 * MIN, SideSummary::default(), side(300, 0.95));
    let t = r.tick(&after).expect("switched back");
    assert_eq!(t.kind, TransitionKind::RolledBack);
    assert_eq!(weights(&t), w(&[("3", 100), ("4", 0)]));
    assert_eq!(
        t.aliases,
        vec![
            AliasMove {
                alias: Alias::Champion,
                expected: Expect::Version(Some("4".into())),
                to: Some("3".into())
            },
            AliasMove {
                alias: Alias::Previous,
                expected: Expect::Any,
                to: Some("2".into())
            },
            AliasMove::delete(Alias::Challenger),
        ]
    );
}

#[test]
fn blue_green_preview_failure_never_switches() {
    let (mut r, _) = start(Strategy::BlueGreen, policy());
    let t = r.tick(&bad(5 * MIN)).expect("rolled back");
    assert_eq!(t.kind, TransitionKind::RolledBack);
    assert_eq!(t.traffic.shadow, None);
    assert_eq!(t.aliases, vec![AliasMove::delete(Alias::Challenger)]);
}
