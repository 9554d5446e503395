//! The numbers the report plots, computed from the samples and the rollout events.
//!
//! These are pure functions: the same series are drawn as charts and embedded in the page as
//! JSON, so a test can check what a chart shows without reading SVG. Times are UTC
//! milliseconds since the Unix epoch.

use std::collections::BTreeMap;

use serde::Serialize;

use super::events::Rollout;
use crate::record::Sample;

/// Everything plotted, by section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Series {
    /// By monitor name.
    pub drift: BTreeMap<String, MonitorSeries>,
    /// By model name.
    pub weights: BTreeMap<String, WeightSeries>,
    /// By model name.
    pub outcomes: BTreeMap<String, OutcomeSeries>,
    pub throughput: Throughput,
}

/// One monitor's reports, one point per check (a check seen in several samples counts once, at
/// the first sample that saw it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MonitorSeries {
    pub t: Vec<i64>,
    pub drift_share: Vec<f64>,
    pub share_threshold: Vec<f64>,
    /// By column; only the columns that had a value at least once.
    pub columns: BTreeMap<String, ColumnSeries>,
}

/// One column's statistic against its thresholds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ColumnSeries {
    pub method: String,
    pub t: Vec<i64>,
    /// `None` where the window had too little data.
    pub value: Vec<Option<f64>>,
    pub warning_threshold: Vec<f64>,
    pub drift_threshold: Vec<f64>,
}

/// The traffic table of one model after each rollout transition.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WeightSeries {
    pub t: Vec<i64>,
    /// Percent per version at each `t`; 0 where the version had no route.
    pub versions: BTreeMap<String, Vec<i32>>,
}

/// The live outcome metrics of each analysed transition (those with a verdict).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutcomeSeries {
    pub t: Vec<i64>,
    pub candidate: Vec<String>,
    pub transition: Vec<String>,
    pub verdict: Vec<String>,
    pub stable_log_loss: Vec<Option<f64>>,
    pub candidate_log_loss: Vec<Option<f64>>,
    pub stable_calibration_error: Vec<Option<f64>>,
    pub candidate_calibration_error: Vec<Option<f64>>,
}

/// The feature store between consecutive samples that reached it, at the later sample's time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Throughput {
    pub t: Vec<i64>,
    pub events_per_second: Vec<f64>,
    /// Mean freshness of the events applied in the interval; `None` when none were.
    pub freshness_seconds: Vec<Option<f64>>,
}

/// Builds every series from samples and rollouts at or after `since_ms`.
pub fn build(samples: &[Sample], rollouts: &[Rollout], since_ms: i64) -> Series {
    let samples: Vec<&Sample> = samples.iter().filter(|s| s.time_ms >= since_ms).collect();
    let rollouts: Vec<&Rollout> = rollouts
        .iter()
        .filter(|r| r.event_time >= since_ms)
        .collect();
    Series {
        drift: drift(&samples),
        weights: weights(&rollouts),
        outcomes: outcomes(&rollouts),
        throughput: throughput(&samples),
    }
}

fn drift(samples: &[&Sample]) -> BTreeMap<String, MonitorSeries> {
    let mut series: BTreeMap<String, MonitorSeries> = BTreeMap::new();
    let mut last_check: BTreeMap<String, i64> = BTreeMap::new();
    for sample in samples {
        for monitor in sample.monitors.iter().flatten() {
            if last_check.insert(monitor.monitor.clone(), monitor.checked_ms)
                == Some(monitor.checked_ms)
            {
                continue;
            }
            let m = series.entry(monitor.monitor.clone()).or_default();
            m.t.push(sample.time_ms);
            m.drift_share.push(monitor.drift_share);
            m.share_threshold.push(monitor.share_threshold);
            for column in &monitor.columns {
                let c = m.columns.entry(column.column.clone()).or_default();
                c.method.clone_from(&column.method);
                c.t.push(sample.time_ms);
                c.value.push(column.value);
                c.warning_threshold.push(column.warning_threshold);
                c.drift_threshold.push(column.drift_threshold);
            }
        }
    }
    for m in series.values_mut() {
        m.columns.retain(|_, c| c.value.iter().any(Option::is_some));
    }
    series
}

fn weights(rollouts: &[&Rollout]) -> BTreeMap<String, WeightSeries> {
    let mut series: BTreeMap<String, WeightSeries> = BTreeMap::new();
    for rollout in rollouts {
        let w = series.entry(rollout.model_name.clone()).or_default();
        // The traffic just before a rollout the report saw start: all on the version it
        // started from.
        if let (true, "STARTED", Some(from)) = (
            w.t.is_empty(),
            rollout.transition.as_str(),
            &rollout.from_version,
        ) {
            w.t.push(rollout.event_time - 1);
            w.versions.insert(from.clone(), vec![100]);
        }
        let earlier = w.t.len();
        w.t.push(rollout.event_time);
        for (version, _) in &rollout.weights {
            // A version first seen now had no traffic before.
            w.versions
                .entry(version.clone())
                .or_insert_with(|| vec![0; earlier]);
        }
        for (version, percents) in &mut w.versions {
            let percent = rollout
                .weights
                .iter()
                .filter(|(v, _)| v == version)
                .map(|(_, p)| p)
                .sum();
            percents.push(percent);
        }
    }
    series
}

fn outcomes(rollouts: &[&Rollout]) -> BTreeMap<String, OutcomeSeries> {
    let mut series: BTreeMap<String, OutcomeSeries> = BTreeMap::new();
    for rollout in rollouts {
        let Some(verdict) = &rollout.verdict else {
            continue;
        };
        let o = series.entry(rollout.model_name.clone()).or_default();
        o.t.push(rollout.event_time);
        o.candidate.push(rollout.to_version.clone());
        o.transition.push(rollout.transition.clone());
        o.verdict.push(verdict.clone());
        o.stable_log_loss.push(rollout.stable_log_loss);
        o.candidate_log_loss.push(rollout.candidate_log_loss);
        o.stable_calibration_error
            .push(rollout.stable_calibration_error);
        o.candidate_calibration_error
            .push(rollout.candidate_calibration_error);
    }
    series
}

fn throughput(samples: &[&Sample]) -> Throughput {
    let mut out = Throughput::default();
    let reached = samples
        .iter()
        .filter_map(|s| Some((s.time_ms, s.feature_store?)));
    let mut previous = None;
    for (time, now) in reached {
        let Some((before_time, before)) = previous.replace((time, now)) else {
            continue;
        };
        let seconds = (time - before_time) as f64 / 1000.0;
        let applied = now.events_applied - before.events_applied;
        let count = now.freshness_count - before.freshness_count;
        // A counter that went down means the feature store restarted: no rate across that.
        if seconds <= 0.0 || applied < 0.0 || count < 0.0 {
            continue;
        }
        out.t.push(time);
        out.events_per_second.push(applied / seconds);
        out.freshness_seconds
            .push((count > 0.0).then(|| (now.freshness_sum - before.freshness_sum) / count));
    }
    out
}
