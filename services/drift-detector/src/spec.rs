//! Monitor definitions, read from a TOML file (the shipped `monitors.toml` by default).
//!
//! ```toml
//! [[monitor]]
//! name = "listening"
//! topic = "listening-events"
//! record = "listening_event"        # or "prediction_log"
//! actions = ["skip", "complete"]    # listening events only; default: every action
//! window = { records = 2000 }       # or { duration = "1h" } of event time
//! reference = { first_records = 2000 }   # or { span = "24h" }, or { file = "reference.jsonl" }
//! min_size = 200
//! drift_share = 0.5
//!
//! [monitor.thresholds]              # optional defaults for every column of the monitor
//! distance = { warning = 0.075, drift = 0.1 }
//! p_value = { warning = 0.1, drift = 0.05 }
//!
//! [[monitor.column]]
//! name = "listened_ratio"           # a field, or a derived column (see `row.rs`)
//! method = "auto"                   # psi, ks, wasserstein, jensenshannon, chisquare, z
//! warning = 0.05                    # optional; defaults depend on the method's score
//! drift = 0.1
//! min_size = 1000                   # optional; the monitor's min_size otherwise
//! ```

use std::{path::PathBuf, time::Duration};

use lucid_drift::{ColumnKind, ColumnThresholds, Measure, Method, Thresholds};
use serde::Deserialize;

use crate::row::{RecordKind, column_kind};

/// The monitors shipped with the platform.
pub const STARTER_MONITORS: &str = include_str!("../monitors.toml");

/// A monitor definition is not usable.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The TOML does not parse or has unknown keys.
    #[error("monitor definitions do not parse: {0}")]
    Parse(#[from] toml::de::Error),
    /// A monitor is inconsistent; the message names it.
    #[error("monitor {monitor:?}: {problem}")]
    Invalid {
        /// The monitor's name.
        monitor: String,
        /// What is wrong.
        problem: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    monitor: Vec<RawMonitor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMonitor {
    name: String,
    topic: String,
    record: RecordKind,
    #[serde(default)]
    actions: Vec<String>,
    model: Option<String>,
    model_version: Option<String>,
    window: WindowSpec,
    reference: ReferenceSpec,
    #[serde(default = "default_min_size")]
    min_size: u64,
    #[serde(default = "default_share")]
    drift_share: f64,
    #[serde(default = "default_check_every")]
    check_every: u64,
    thresholds: Option<RawThresholds>,
    column: Vec<RawColumn>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    distance: Option<RawPair>,
    p_value: Option<RawPair>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPair {
    warning: f64,
    drift: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    name: String,
    kind: Option<ColumnKindSpec>,
    #[serde(default)]
    method: Option<String>,
    warning: Option<f64>,
    drift: Option<f64>,
    min_size: Option<u64>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ColumnKindSpec {
    Numeric,
    Categorical,
}

/// How the current window is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum WindowSpec {
    /// The latest N records (kept as ten slices; see `lucid_drift::SlidingWindow`).
    Records(u64),
    /// Records of the latest span of event time (kept as ten slices of it).
    Duration(#[serde(with = "humantime_serde")] Duration),
}

/// Where the reference comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ReferenceSpec {
    /// The first N matching records the monitor sees on its topic.
    FirstRecords(u64),
    /// The matching records of the first span of event time on its topic (for example a day,
    /// so that the reference covers the daily cycle).
    #[serde(rename = "span")]
    FirstSpan(#[serde(with = "humantime_serde")] Duration),
    /// A file of rows: JSON lines (`.jsonl`, `.json`) or CSV with a header (`.csv`).
    File(PathBuf),
}

/// One monitored column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    /// Column name.
    pub name: String,
    /// Numeric or categorical.
    pub kind: ColumnKind,
    /// Drift method.
    pub method: Method,
    /// Thresholds for whichever score the method gives.
    pub thresholds: Thresholds,
    /// Fewer values than this on either side is insufficient data.
    pub min_size: u64,
}

/// One monitor, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorSpec {
    /// Unique name; the key of its alerts.
    pub name: String,
    /// Source topic.
    pub topic: String,
    /// What the topic holds.
    pub record: RecordKind,
    /// Listening events only: actions that count (empty: all).
    pub actions: Vec<String>,
    /// Scope: the model whose predictions (or inputs) are monitored.
    pub model: Option<String>,
    /// Scope: the model version.
    pub model_version: Option<String>,
    /// The current window.
    pub window: WindowSpec,
    /// The reference.
    pub reference: ReferenceSpec,
    /// Fewer values than this on either side is insufficient data.
    pub min_size: u64,
    /// Share of drifted columns at which the dataset drifts.
    pub drift_share: f64,
    /// Records between two checks.
    pub check_every: u64,
    /// The columns.
    pub columns: Vec<ColumnSpec>,
}

fn default_min_size() -> u64 {
    lucid_drift::DEFAULT_MIN_CURRENT
}

fn default_share() -> f64 {
    lucid_drift::DEFAULT_DRIFT_SHARE
}

fn default_check_every() -> u64 {
    200
}

/// Parses and validates monitor definitions.
pub fn parse(text: &str) -> Result<Vec<MonitorSpec>, SpecError> {
    let file: File = toml::from_str(text)?;
    let mut monitors = Vec::with_capacity(file.monitor.len());
    for raw in file.monitor {
        let monitor = validate(raw)?;
        if monitors
            .iter()
            .any(|m: &MonitorSpec| m.name == monitor.name)
        {
            return Err(invalid(&monitor.name, "defined twice"));
        }
        monitors.push(monitor);
    }
    Ok(monitors)
}

fn invalid(monitor: &str, problem: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        monitor: monitor.to_owned(),
        problem: problem.into(),
    }
}

fn validate(mut raw: RawMonitor) -> Result<MonitorSpec, SpecError> {
    let name = raw.name.clone();
    if name.is_empty() || raw.column.is_empty() {
        return Err(invalid(&name, "needs a name and at least one column"));
    }
    if !(raw.drift_share > 0.0 && raw.drift_share <= 1.0) {
        return Err(invalid(&name, "drift_share must lie in (0, 1]"));
    }
    match raw.window {
        WindowSpec::Records(n) if n < 10 => {
            return Err(invalid(&name, "window.records must be at least 10"));
        }
        WindowSpec::Duration(d) if d.as_secs() < 10 => {
            return Err(invalid(&name, "window.duration must be at least 10s"));
        }
        _ => {}
    }
    if raw.reference == ReferenceSpec::FirstRecords(0) || raw.check_every == 0 {
        return Err(invalid(
            &name,
            "first_records and check_every must be positive",
        ));
    }
    for action in &raw.actions {
        if raw.record != RecordKind::ListeningEvent {
            return Err(invalid(&name, "actions apply to listening events only"));
        }
        if !crate::row::ACTIONS.contains(&action.as_str()) {
            return Err(invalid(&name, format!("unknown action {action:?}")));
        }
    }
    let columns = std::mem::take(&mut raw.column)
        .into_iter()
        .map(|c| column(&name, &raw, c))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MonitorSpec {
        name,
        topic: raw.topic,
        record: raw.record,
        actions: raw.actions,
        model: raw.model,
        model_version: raw.model_version,
        window: raw.window,
        reference: raw.reference,
        min_size: raw.min_size,
        drift_share: raw.drift_share,
        check_every: raw.check_every,
        columns,
    })
}

fn column(monitor: &str, spec: &RawMonitor, raw: RawColumn) -> Result<ColumnSpec, SpecError> {
    let known = column_kind(spec.record, &raw.name);
    let kind = match (raw.kind, known) {
        (Some(ColumnKindSpec::Numeric), _) => ColumnKind::Numeric,
        (Some(ColumnKindSpec::Categorical), _) => ColumnKind::Categorical,
        (None, Some(kind)) => kind,
        (None, None) => {
            return Err(invalid(
                monitor,
                format!("column {:?} is not a known column; give its kind", raw.name),
            ));
        }
    };
    let method: Method = match &raw.method {
        None => Method::Auto,
        Some(text) => text
            .parse()
            .map_err(|e| invalid(monitor, format!("column {:?}: {e}", raw.name)))?,
    };
    let measure = measure_of(method);
    if measure.is_some_and(|m| !m.applies_to(kind)) {
        return Err(invalid(
            monitor,
            format!(
                "column {:?}: {} does not apply to {kind} columns",
                raw.name,
                method.name()
            ),
        ));
    }
    let mut thresholds = Thresholds::default();
    let pair = |p: RawPair| ColumnThresholds {
        warning: p.warning,
        drift: p.drift,
    };
    if let Some(defaults) = spec.thresholds {
        thresholds.distance = defaults.distance.map_or(thresholds.distance, pair);
        thresholds.p_value = defaults.p_value.map_or(thresholds.p_value, pair);
    }
    if raw.warning.is_some() || raw.drift.is_some() {
        let Some(measure) = measure else {
            return Err(invalid(
                monitor,
                format!("column {:?}: thresholds need an explicit method", raw.name),
            ));
        };
        let scores = match measure.score_kind() {
            lucid_drift::ScoreKind::PValue => &mut thresholds.p_value,
            lucid_drift::ScoreKind::Distance => &mut thresholds.distance,
        };
        let drift = raw.drift.unwrap_or(scores.drift);
        *scores = ColumnThresholds {
            warning: raw.warning.unwrap_or(drift),
            drift,
        };
    }
    thresholds
        .validate()
        .map_err(|e| invalid(monitor, format!("column {:?}: {e}", raw.name)))?;
    Ok(ColumnSpec {
        name: raw.name,
        kind,
        method,
        thresholds,
        min_size: raw.min_size.unwrap_or(spec.min_size),
    })
}

/// The measure a method always computes; `None` for `auto`, which depends on the data.
fn measure_of(method: Method) -> Option<Measure> {
    Some(match method {
        Method::Auto => return None,
        Method::Psi => Measure::Psi,
        Method::Ks => Measure::Ks,
        Method::Wasserstein => Measure::Wasserstein,
        Method::JensenShannon => Measure::JensenShannon,
        Method::ChiSquare => Measure::ChiSquare,
        Method::ZTest => Measure::ZTest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_monitors_parse() {
        let monitors = parse(STARTER_MONITORS).expect("starter monitors are valid");
        assert!(
            monitors
                .iter()
                .any(|m| m.record == RecordKind::ListeningEvent)
        );
        assert!(
            monitors
                .iter()
                .any(|m| m.record == RecordKind::PredictionLog)
        );
    }

    #[test]
    fn mistakes_are_named() {
        let base = |column: &str| {
            format!(
                "[[monitor]]\nname = \"m\"\ntopic = \"t\"\nrecord = \"listening_event\"\n\
                 window = {{ records = 100 }}\nreference = {{ first_records = 100 }}\n\
                 [[monitor.column]]\n{column}\n"
            )
        };
        let error = |text: String| parse(&text).expect_err("invalid").to_string();
        assert_eq!(
            error(base("name = \"nope\"")),
            "monitor \"m\": column \"nope\" is not a known column; give its kind"
        );
        assert_eq!(
            error(base("name = \"track_genre\"\nmethod = \"ks\"")),
            "monitor \"m\": column \"track_genre\": ks does not apply to categorical columns"
        );
        assert_eq!(
            error(base("name = \"listened_ms\"\ndrift = 0.2")),
            "monitor \"m\": column \"listened_ms\": thresholds need an explicit method"
        );
        let ok = parse(&base(
            "name = \"listened_ms\"\nmethod = \"psi\"\ndrift = 0.2",
        ))
        .expect("valid");
        assert_eq!(
            ok[0].columns[0].thresholds.distance,
            ColumnThresholds {
                warning: 0.2,
                drift: 0.2
            }
        );
    }
}
