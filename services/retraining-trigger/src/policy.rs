//! The retraining policy, as pure functions of a model's state, an alert and the time: no I/O,
//! so every rule is tested with virtual time (`tests` below).
//!
//! An alert for a model is, in order:
//! 1. a duplicate when its monitor already reported a window ending at or after this one
//!    (a redelivered or replayed alert); nothing changes;
//! 2. a reset when it LEFT a band or is OK: the monitor's streak starts again;
//! 3. not counted when its band is not one of the policy's `bands` (no reset either);
//! 4. counted otherwise (ENTERED or REPEATED in a counting band), then the run is refused while
//!    the streak is shorter than `sustained`, while a run is active, during the `cooldown` after
//!    the last run finished, while fewer than `min_new_samples` records are new since the last
//!    run, and once `daily_budget` runs started on the alert's UTC day; else a run starts and
//!    the streak starts again.
//!
//! New samples: the alert's window holds `current_count` records between `window_start` and
//! `window_end` (event time). Records newer than the window end that decided the previous run
//! are new; assuming them evenly spread over the window, that is `current_count` times the
//! share of the window after that end (all of them before any run).

use std::{collections::BTreeMap, fmt, time::Duration};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A drift band, as `DriftAlert` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Band {
    /// Below the warning thresholds.
    Ok,
    /// Past a warning threshold.
    Warning,
    /// Past a drift threshold.
    Drift,
    /// Too few records to tell.
    InsufficientData,
}

/// Why the detector published an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertReason {
    /// Entered a higher band.
    Entered,
    /// Moved to a lower band.
    Left,
    /// Still in its band after the hold-off.
    Repeated,
}

/// What the policy reads from a `DriftAlert`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The alert's id.
    pub alert_id: String,
    /// The monitor that raised it.
    pub monitor: String,
    /// The model the monitor watches.
    pub model_name: Option<String>,
    /// The band now.
    pub band: Band,
    /// Why it was published.
    pub reason: AlertReason,
    /// Event time of the window's oldest record, epoch ms.
    pub window_start: i64,
    /// Event time of the window's newest record, epoch ms.
    pub window_end: i64,
    /// Records in the window.
    pub current_count: i64,
}

/// Where a model's runs execute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The pipeline as a subprocess.
    #[default]
    Local,
    /// Kubeflow Pipelines v2.
    Kubeflow,
    /// Ray Jobs.
    Ray,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Local => "local",
            BackendKind::Kubeflow => "kubeflow",
            BackendKind::Ray => "ray",
        })
    }
}

/// One model's retraining policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Bands whose alerts count towards a run.
    pub bands: Vec<Band>,
    /// Consecutive counting alerts of one monitor needed for a run.
    pub sustained: u32,
    /// Least new records since the last run (see the module docs).
    pub min_new_samples: i64,
    /// Least time from the end of a run to the start of the next.
    #[serde(with = "humantime_serde")]
    pub cooldown: Duration,
    /// Most runs started per UTC day (manual forced runs are counted, never refused).
    pub daily_budget: u32,
    /// Where runs execute.
    pub backend: BackendKind,
    /// A run still going after this long is stopped and failed.
    #[serde(with = "humantime_serde")]
    pub run_timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            bands: vec![Band::Drift],
            sustained: 2,
            min_new_samples: 1000,
            cooldown: Duration::from_secs(6 * 3600),
            daily_budget: 4,
            backend: BackendKind::Local,
            run_timeout: Duration::from_secs(2 * 3600),
        }
    }
}

impl Policy {
    /// Checks what types cannot; the message is the problem.
    pub fn validate(&self) -> Result<(), String> {
        if self.bands.is_empty() {
            return Err("bands must name at least one band".into());
        }
        if self.bands.contains(&Band::Ok) || self.bands.contains(&Band::InsufficientData) {
            return Err("bands may hold WARNING and DRIFT only".into());
        }
        if self.sustained == 0 {
            return Err("sustained must be at least 1".into());
        }
        if self.run_timeout.is_zero() {
            return Err("run_timeout must be above zero".into());
        }
        Ok(())
    }
}

/// A monitor's current streak of counting alerts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Streak {
    /// Consecutive counting alerts.
    pub count: u32,
    /// Their ids, oldest first.
    pub alert_ids: Vec<String>,
}

/// What the policy remembers of one model, stored in Redis between decisions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelState {
    /// Streaks by monitor.
    pub streaks: BTreeMap<String, Streak>,
    /// Newest window end seen per monitor, epoch ms.
    pub seen: BTreeMap<String, i64>,
    /// The active run's id.
    pub active: Option<String>,
    /// When the last run finished, wall clock, epoch ms.
    pub last_finished: Option<i64>,
    /// The window end of the alert that decided the last run, epoch ms.
    pub trained_until: Option<i64>,
    /// The UTC day (days since the epoch) `runs_today` counts.
    pub budget_day: i64,
    /// Runs started on `budget_day`.
    pub runs_today: u32,
}

/// Why no run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// The alert names no model.
    NoModel,
    /// The model has no policy.
    NoPolicy,
    /// The monitor already reported a window ending at or after this one.
    Duplicate {
        /// The newest window end seen.
        seen_until: i64,
    },
    /// A run with this dedupe key exists.
    DuplicateKey,
    /// The alert left a band or is OK: the streak starts again.
    Reset,
    /// The alert's band does not count.
    NotCounted,
    /// Too few consecutive alerts yet.
    NotSustained {
        /// Alerts in the streak.
        count: u32,
        /// Alerts needed.
        needed: u32,
    },
    /// A run is active.
    ActiveRun {
        /// Its id.
        run_id: String,
    },
    /// Inside the cooldown after the last run.
    Cooldown {
        /// Wall-clock end of the cooldown, epoch ms.
        until: i64,
    },
    /// Too few new records since the last run.
    NotEnoughNewSamples {
        /// Estimated new records.
        new: i64,
        /// Needed.
        needed: i64,
    },
    /// The day's runs are used up.
    BudgetExhausted {
        /// Runs started today.
        used: u32,
    },
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::NoModel => write!(f, "alert names no model"),
            Skip::NoPolicy => write!(f, "model has no retraining policy"),
            Skip::Duplicate { seen_until } => {
                write!(f, "duplicate: monitor already reported up to {seen_until}")
            }
            Skip::DuplicateKey => write!(f, "duplicate: a run with this dedupe key exists"),
            Skip::Reset => write!(f, "drift ended: streak reset"),
            Skip::NotCounted => write!(f, "band does not count"),
            Skip::NotSustained { count, needed } => {
                write!(f, "not sustained: {count} of {needed} consecutive alerts")
            }
            Skip::ActiveRun { run_id } => write!(f, "run {run_id} is active"),
            Skip::Cooldown { until } => write!(f, "cooldown until {until}"),
            Skip::NotEnoughNewSamples { new, needed } => {
                write!(f, "not enough new samples: {new} of {needed}")
            }
            Skip::BudgetExhausted { used } => write!(f, "daily budget used: {used} runs today"),
        }
    }
}

/// A decision to start a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// The alerts of the streak, oldest first.
    pub alert_ids: Vec<String>,
    /// Why, in words.
    pub reason: String,
}

const DAY_MS: i64 = 86_400_000;

impl ModelState {
    /// Decides on `alert` at wall-clock `now` (epoch ms) and updates the state. On `Ok`, the
    /// caller records the run as active with [`ModelState::started`].
    pub fn decide(&mut self, policy: &Policy, alert: &Alert, now: i64) -> Result<Start, Skip> {
        let monitor = alert.monitor.clone();
        if let Some(&seen_until) = self.seen.get(&monitor)
            && alert.window_end <= seen_until
        {
            return Err(Skip::Duplicate { seen_until });
        }
        self.seen.insert(monitor.clone(), alert.window_end);

        if alert.reason == AlertReason::Left || alert.band == Band::Ok {
            self.streaks.remove(&monitor);
            return Err(Skip::Reset);
        }
        if !policy.bands.contains(&alert.band) {
            return Err(Skip::NotCounted);
        }
        let streak = self.streaks.entry(monitor.clone()).or_default();
        streak.count += 1;
        streak.alert_ids.push(alert.alert_id.clone());
        if streak.count < policy.sustained {
            return Err(Skip::NotSustained {
                count: streak.count,
                needed: policy.sustained,
            });
        }

        self.admissible(policy, now)?;
        let new = new_samples(alert, self.trained_until);
        if new < policy.min_new_samples {
            return Err(Skip::NotEnoughNewSamples {
                new,
                needed: policy.min_new_samples,
            });
        }
        self.budget(policy, now)?;

        let streak = self.streaks.remove(&monitor).unwrap_or_default();
        self.trained_until = Some(alert.window_end);
        Ok(Start {
            reason: format!(
                "{} consecutive {:?} alerts of monitor {monitor}",
                streak.count, alert.band
            ),
            alert_ids: streak.alert_ids,
        })
    }

    /// Decides on a manual request: `force` skips the cooldown and the budget, never the
    /// one-active-run rule.
    pub fn decide_manual(&mut self, policy: &Policy, now: i64, force: bool) -> Result<(), Skip> {
        if let Some(run_id) = &self.active {
            return Err(Skip::ActiveRun {
                run_id: run_id.clone(),
            });
        }
        if force {
            return Ok(());
        }
        self.admissible(policy, now)?;
        self.budget(policy, now)
    }

    /// Records `run_id` as the active run, started at `now`.
    pub fn started(&mut self, run_id: &str, now: i64) {
        let day = now.div_euclid(DAY_MS);
        if day != self.budget_day {
            (self.budget_day, self.runs_today) = (day, 0);
        }
        self.runs_today += 1;
        self.active = Some(run_id.to_owned());
    }

    /// Records the end of `run_id` at `now`; another run's id changes nothing.
    pub fn finished(&mut self, run_id: &str, now: i64) {
        if self.active.as_deref() == Some(run_id) {
            self.active = None;
            self.last_finished = Some(now);
        }
    }

    fn admissible(&self, policy: &Policy, now: i64) -> Result<(), Skip> {
        if let Some(run_id) = &self.active {
            return Err(Skip::ActiveRun {
                run_id: run_id.clone(),
            });
        }
        if let Some(finished) = self.last_finished {
            let until = finished + policy.cooldown.as_millis() as i64;
            if now < until {
                return Err(Skip::Cooldown { until });
            }
        }
        Ok(())
    }

    fn budget(&self, policy: &Policy, now: i64) -> Result<(), Skip> {
        let used = if now.div_euclid(DAY_MS) == self.budget_day {
            self.runs_today
        } else {
            0
        };
        if used >= policy.daily_budget {
            return Err(Skip::BudgetExhausted { used });
        }
        Ok(())
    }
}

/// Estimated records of `alert`'s window newer than `trained_until` (module docs).
pub fn new_samples(alert: &Alert, trained_until: Option<i64>) -> i64 {
    let Some(until) = trained_until else {
        return alert.current_count;
    };
    if alert.window_end <= until {
        return 0;
    }
    let span = alert.window_end - alert.window_start;
    if span <= 0 || until <= alert.window_start {
        return alert.current_count;
    }
    let fresh = (alert.window_end - until) as i128;
    (alert.current_count as i128 * fresh / span as i128) as i64
}

/// The dedupe key of a run decided by an alert: `retrain-<model>-<16 hex>`, the hex being the
/// start of SHA-256 over `model|monitor|window_start|window_end`. A redelivered or repeated
/// alert for the same window gives the same key; the model stays readable for operators.
pub fn dedupe_key(model: &str, monitor: &str, window_start: i64, window_end: i64) -> String {
    let digest = Sha256::digest(format!("{model}|{monitor}|{window_start}|{window_end}"));
    format!("retrain-{}-{}", slug(model), &hex::encode(digest)[..16])
}

/// The dedupe key of a manual request: the same shape over `model|manual|<idempotency key>`.
pub fn manual_key(model: &str, idempotency_key: &str) -> String {
    let digest = Sha256::digest(format!("{model}|manual|{idempotency_key}"));
    format!("manual-{}-{}", slug(model), &hex::encode(digest)[..16])
}

/// Lowercase letters, digits and `-`: what Ray submission ids, Kubeflow display names and
/// MLflow run names all accept.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
