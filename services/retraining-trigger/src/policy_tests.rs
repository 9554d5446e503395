//! The policy matrix with virtual time. Expected decisions are worked out by hand from the rules
//! in the module docs; dedupe keys were computed with `sha256sum`.

use super::*;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// Noon of some UTC day, well away from a day boundary.
const T0: i64 = 20_000 * DAY_MS + 12 * HOUR;

fn policy() -> Policy {
    Policy {
        bands: vec![Band::Drift],
        sustained: 2,
        min_new_samples: 100,
        cooldown: Duration::from_secs(3600),
        daily_budget: 2,
        backend: BackendKind::Local,
        run_timeout: Duration::from_secs(60),
    }
}

/// An alert of monitor `m` whose window is `[end - 1000, end]` with 500 records.
fn alert(id: &str, band: Band, reason: AlertReason, end: i64) -> Alert {
    Alert {
        alert_id: id.into(),
        monitor: "m".into(),
        model_name: Some("skip-model".into()),
        band,
        reason,
        window_start: end - 1000,
        window_end: end,
        current_count: 500,
    }
}

fn drift(id: &str, end: i64) -> Alert {
    alert(id, Band::Drift, AlertReason::Repeated, end)
}

fn start(ids: &[&str]) -> Result<Start, Skip> {
    Ok(Start {
        alert_ids: ids.iter().map(|s| s.to_string()).collect(),
        reason: format!("{} consecutive Drift alerts of monitor m", ids.len()),
    })
}

#[test]
fn a_single_drifted_window_waits_and_a_sustained_one_starts() {
    let (p, mut s) = (policy(), ModelState::default());
    let entered = alert("a1", Band::Drift, AlertReason::Entered, 1000);
    assert_eq!(
        s.decide(&p, &entered, T0),
        Err(Skip::NotSustained {
            count: 1,
            needed: 2
        })
    );
    assert_eq!(
        s.decide(&p, &drift("a2", 2000), T0 + MIN),
        start(&["a1", "a2"])
    );
    assert_eq!(s.trained_until, Some(2000));
    assert!(s.streaks.is_empty());
}

#[test]
fn leaving_drift_or_an_ok_band_resets_the_streak_and_warnings_do_not_count() {
    let (p, mut s) = (policy(), ModelState::default());
    let one = Err(Skip::NotSustained {
        count: 1,
        needed: 2,
    });
    assert_eq!(s.decide(&p, &drift("a1", 1000), T0), one);
    let left = alert("a2", Band::Warning, AlertReason::Left, 2000);
    assert_eq!(s.decide(&p, &left, T0), Err(Skip::Reset));
    assert_eq!(s.decide(&p, &drift("a3", 3000), T0), one);
    let ok = alert("a4", Band::Ok, AlertReason::Left, 4000);
    assert_eq!(s.decide(&p, &ok, T0), Err(Skip::Reset));
    assert_eq!(s.decide(&p, &drift("a5", 5000), T0), one);
    // A warning neither counts nor resets under a DRIFT-only policy.
    let warning = alert("a6", Band::Warning, AlertReason::Repeated, 6000);
    assert_eq!(s.decide(&p, &warning, T0), Err(Skip::NotCounted));
    assert_eq!(s.decide(&p, &drift("a7", 7000), T0), start(&["a5", "a7"]));
}

#[test]
fn redelivered_and_replayed_alerts_are_duplicates_and_change_nothing() {
    let (p, mut s) = (policy(), ModelState::default());
    let a1 = drift("a1", 1000);
    assert!(s.decide(&p, &a1, T0).is_err());
    let before = s.clone();
    assert_eq!(
        s.decide(&p, &a1, T0),
        Err(Skip::Duplicate { seen_until: 1000 })
    );
    assert_eq!(s, before);
    assert_eq!(s.decide(&p, &drift("a2", 2000), T0), start(&["a1", "a2"]));
    s.started("r1", T0);
    assert_eq!(
        s.decide(&p, &drift("a2", 2000), T0),
        Err(Skip::Duplicate { seen_until: 2000 })
    );
    // An older window of the same monitor, replayed after a restart.
    assert_eq!(
        s.decide(&p, &drift("a0", 500), T0),
        Err(Skip::Duplicate { seen_until: 2000 })
    );
}

#[test]
fn an_active_run_then_the_cooldown_hold_the_next_run_back() {
    let (p, mut s) = (policy(), ModelState::default());
    for (id, end) in [("a1", 1000), ("a2", 2000)] {
        let _ = s.decide(&p, &drift(id, end), T0);
    }
    s.started("r1", T0);
    let _ = s.decide(&p, &drift("a3", 3000), T0 + MIN);
    assert_eq!(
        s.decide(&p, &drift("a4", 4000), T0 + 2 * MIN),
        Err(Skip::ActiveRun {
            run_id: "r1".into()
        })
    );
    s.finished("other", T0 + 3 * MIN);
    assert_eq!(s.active.as_deref(), Some("r1"));
    s.finished("r1", T0 + 10 * MIN);
    assert_eq!(
        s.decide(&p, &drift("a5", 5000), T0 + 69 * MIN),
        Err(Skip::Cooldown {
            until: T0 + 70 * MIN
        })
    );
    // The streak held through the refusals: the first alert after the cooldown starts.
    assert_eq!(
        s.decide(&p, &drift("a6", 6000), T0 + 70 * MIN),
        start(&["a3", "a4", "a5", "a6"])
    );
}

#[test]
fn too_few_new_samples_since_the_last_run_waits() {
    let (p, mut s) = (policy(), ModelState::default());
    s.trained_until = Some(2000);
    // Window [1600, 2200] with 120 records: 200 of its 600 ms are new, so 40 records.
    let mut a = drift("a1", 2200);
    (a.window_start, a.current_count) = (1600, 120);
    assert_eq!(new_samples(&a, s.trained_until), 40);
    assert_eq!(new_samples(&a, None), 120);
    assert_eq!(new_samples(&a, Some(2200)), 0);
    assert_eq!(new_samples(&a, Some(1000)), 120);
    s.streaks.insert(
        "m".into(),
        Streak {
            count: 1,
            alert_ids: vec!["a0".into()],
        },
    );
    assert_eq!(
        s.decide(&p, &a, T0),
        Err(Skip::NotEnoughNewSamples {
            new: 40,
            needed: 100
        })
    );
    // [2500, 3500] lies wholly after the last run: all 500 records are new.
    assert_eq!(
        s.decide(&p, &drift("a2", 3500), T0),
        start(&["a0", "a1", "a2"])
    );
}

#[test]
fn the_daily_budget_refuses_a_third_run_until_the_next_utc_day() {
    let mut p = policy();
    p.cooldown = Duration::ZERO;
    let mut s = ModelState::default();
    let mut end = 0;
    let mut sustained_drift = |s: &mut ModelState, now: i64| {
        end += 1000;
        let _ = s.decide(&p, &drift(&format!("x{end}"), end), now);
        end += 1000;
        s.decide(&p, &drift(&format!("y{end}"), end), now)
    };
    // Each run is decided after the previous one finished: only the budget can refuse.
    for (at, run) in [(T0, "r1"), (T0 + 2 * MIN, "r2")] {
        assert!(sustained_drift(&mut s, at).is_ok());
        s.started(run, at);
        s.finished(run, at + MIN);
    }
    assert_eq!(
        sustained_drift(&mut s, T0 + 4 * MIN),
        Err(Skip::BudgetExhausted { used: 2 })
    );
    // The refused streak holds (as after a cooldown): one more alert on the next UTC day starts.
    let next_day = T0 + 12 * HOUR;
    let decided = s.decide(&p, &drift("z", 9000), next_day);
    assert_eq!(
        decided.map(|start| start.alert_ids.len()),
        Ok(3),
        "x5000, y6000 and z"
    );
    s.started("r3", next_day);
    assert_eq!((s.budget_day, s.runs_today), (20_001, 1));
}

#[test]
fn two_models_decide_independently() {
    let p = policy();
    let (mut a, mut b) = (ModelState::default(), ModelState::default());
    let for_b = |mut x: Alert| {
        x.model_name = Some("mood-model".into());
        x
    };
    assert!(a.decide(&p, &drift("a1", 1000), T0).is_err());
    assert!(b.decide(&p, &for_b(drift("b1", 1000)), T0).is_err());
    assert_eq!(a.decide(&p, &drift("a2", 2000), T0), start(&["a1", "a2"]));
    a.started("ra", T0);
    // Model a's active run does not hold model b back.
    assert_eq!(
        b.decide(&p, &for_b(drift("b2", 2000)), T0),
        start(&["b1", "b2"])
    );
}

#[test]
fn a_forced_manual_request_skips_cooldown_and_budget_but_not_an_active_run() {
    let mut p = policy();
    p.daily_budget = 0;
    let mut s = ModelState::default();
    assert_eq!(
        s.decide_manual(&p, T0, false),
        Err(Skip::BudgetExhausted { used: 0 })
    );
    assert_eq!(s.decide_manual(&p, T0, true), Ok(()));
    s.started("r1", T0);
    assert_eq!(
        s.decide_manual(&p, T0, true),
        Err(Skip::ActiveRun {
            run_id: "r1".into()
        })
    );
    s.finished("r1", T0 + MIN);
    p.daily_budget = 5;
    assert_eq!(
        s.decide_manual(&p, T0 + 2 * MIN, false),
        Err(Skip::Cooldown {
            until: T0 + 61 * MIN
        })
    );
}

#[test]
fn the_dedupe_key_depends_on_model_monitor_and_window_only() {
    let key = dedupe_key("skip-model", "listening-outcomes", 1000, 2000);
    assert_eq!(key, "retrain-skip-model-f2f0cbcdc0daebae");
    assert_eq!(
        dedupe_key("skip-model", "listening-outcomes", 1000, 2001),
        "retrain-skip-model-fda37ef3a5fd3479"
    );
    assert_eq!(
        dedupe_key("Skip_Model", "m", 0, 1)[..19],
        *"retrain-skip-model-"
    );
}

#[test]
fn skip_reasons_read_as_sentences() {
    let reasons = [
        (
            Skip::NotSustained {
                count: 1,
                needed: 3,
            },
            "not sustained: 1 of 3 consecutive alerts",
        ),
        (Skip::Cooldown { until: 42 }, "cooldown until 42"),
        (
            Skip::BudgetExhausted { used: 4 },
            "daily budget used: 4 runs today",
        ),
    ];
    for (skip, text) in reasons {
        assert_eq!(skip.to_string(), text);
    }
}
