//! One monitor's state: its reference, its current window as a ring of slices, and its checks.
//!
//! The current window is cut into ten slices, each holding one `lucid_drift::Window` per
//! column. A records window starts a new slice every tenth of its size and drops the oldest
//! past ten, so it spans between 90% and 100% of the latest N rows; a duration window keys
//! slices by event time (a tenth of the span each) and drops those that fall out of the span
//! behind the newest row, and a row older than the oldest slice is left out. A check merges the
//! slices, which costs their distinct values, not a rescan of the rows.

use std::collections::VecDeque;

use lucid_drift::{Band, CheckOptions, Reference, Window, check, dataset_verdict};
use serde::Serialize;

use crate::row::Row;
use crate::spec::{ColumnSpec, MonitorSpec, ReferenceSpec, WindowSpec};

/// Slices per current window.
const SLICES: u64 = 10;

/// One column's latest check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnReport {
    /// Column name.
    pub column: String,
    /// The measure computed, or the method asked for when there was too little data.
    pub method: String,
    /// Test statistic or distance.
    pub statistic: Option<f64>,
    /// p-value of a test.
    pub p_value: Option<f64>,
    /// The number compared with the thresholds.
    pub value: Option<f64>,
    /// Warning threshold.
    pub warning_threshold: f64,
    /// Drift threshold.
    pub drift_threshold: f64,
    /// Band.
    pub band: BandName,
    /// Reference values used.
    pub reference_count: u64,
    /// Current values used.
    pub current_count: u64,
    /// Current values left out (missing, NaN, infinite).
    pub excluded: u64,
}

/// A band, as reports and alerts name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BandName {
    /// No threshold crossed.
    Ok,
    /// Warning threshold crossed.
    Warning,
    /// Drift threshold crossed.
    Drift,
    /// Too little data for a verdict.
    InsufficientData,
}

impl From<Band> for BandName {
    fn from(band: Band) -> Self {
        match band {
            Band::Ok => BandName::Ok,
            Band::Warning => BandName::Warning,
            Band::Drift => BandName::Drift,
            Band::InsufficientData => BandName::InsufficientData,
        }
    }
}

/// A monitor's latest check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Monitor name.
    pub monitor: String,
    /// Model scope.
    pub model_name: Option<String>,
    /// Model version scope.
    pub model_version: Option<String>,
    /// The monitor's band: DRIFT when the dataset drifts, WARNING when some column is past a
    /// threshold but the dataset does not drift, INSUFFICIENT_DATA when the verdict is open.
    pub band: BandName,
    /// Event time of the oldest row in the window.
    pub window_start: i64,
    /// Event time of the newest row in the window.
    pub window_end: i64,
    /// Reference rows.
    pub reference_count: u64,
    /// Rows in the current window.
    pub current_count: u64,
    /// Per column.
    pub columns: Vec<ColumnReport>,
    /// Share of columns in the drift band.
    pub drift_share: f64,
    /// Share at which the dataset drifts.
    pub share_threshold: f64,
    /// Whether it does.
    pub dataset_drift: bool,
}

struct Slice {
    key: i64,
    rows: u64,
    first: i64,
    last: i64,
    columns: Vec<Window>,
}

/// A monitor's reference and current window.
pub struct Monitor {
    /// Its definition.
    pub spec: MonitorSpec,
    reference: Option<Vec<Reference>>,
    building: Vec<Window>,
    building_rows: u64,
    reference_start: Option<i64>,
    slices: VecDeque<Slice>,
    rows_seen: u64,
    since_check: u64,
}

impl Monitor {
    /// A monitor whose reference comes from the stream, or is given (`reference`).
    pub fn new(spec: MonitorSpec, reference: Option<Vec<Reference>>) -> Monitor {
        let building = new_windows(&spec.columns);
        Monitor {
            spec,
            reference,
            building,
            building_rows: 0,
            reference_start: None,
            slices: VecDeque::new(),
            rows_seen: 0,
            since_check: 0,
        }
    }

    /// Whether the row is in the monitor's scope (actions, model and version).
    pub fn wants(&self, row: &Row) -> bool {
        if !row.has_action(&self.spec.actions) {
            return false;
        }
        match (&row.model, &self.spec.model) {
            (Some((model, version)), Some(wanted)) => {
                model == wanted
                    && self
                        .spec
                        .model_version
                        .as_ref()
                        .is_none_or(|v| v == version)
            }
            _ => true,
        }
    }

    /// Adds a row in scope; returns true when a check is due. Rows go to the current window
    /// from the start, also while they build the reference, so the window is full when the
    /// reference completes.
    pub fn push(&mut self, row: &Row) -> bool {
        if self.reference.is_none() {
            self.push_reference(row);
        }
        let Some(index) = self.slice_for(row.time) else {
            return false;
        };
        let slice = &mut self.slices[index];
        for (window, column) in slice.columns.iter_mut().zip(&self.spec.columns) {
            // A kind mismatch is impossible: both come from the column's spec.
            let _ = window.push(row.get(&column.name).as_value());
        }
        slice.rows += 1;
        slice.first = slice.first.min(row.time);
        slice.last = slice.last.max(row.time);
        self.rows_seen += 1;
        if self.reference.is_none() {
            return false;
        }
        self.since_check += 1;
        self.since_check >= self.spec.check_every
    }

    /// Whether the reference is complete.
    pub fn has_reference(&self) -> bool {
        self.reference.is_some()
    }

    /// Adds a row to the reference being built, or completes it: after `first_records` rows,
    /// or at the first row `span` past the first row's time (that row is not part of it).
    fn push_reference(&mut self, row: &Row) {
        let first = *self.reference_start.get_or_insert(row.time);
        let complete = match self.spec.reference {
            ReferenceSpec::FirstSpan(span) => row.time >= first + span.as_millis() as i64,
            _ => false,
        };
        if !complete {
            for (window, column) in self.building.iter_mut().zip(&self.spec.columns) {
                let _ = window.push(row.get(&column.name).as_value());
            }
            self.building_rows += 1;
        }
        let complete = complete
            || matches!(self.spec.reference, ReferenceSpec::FirstRecords(n) if self.building_rows >= n);
        if complete {
            let windows = std::mem::take(&mut self.building);
            self.reference = Some(windows.into_iter().map(Reference::new).collect());
        }
    }

    /// The index of the slice a row at `time` goes to, starting or retiring slices as needed;
    /// `None` for a row older than the oldest slice.
    fn slice_for(&mut self, time: i64) -> Option<usize> {
        let key = match self.spec.window {
            WindowSpec::Records(n) => {
                let per_slice = n.div_ceil(SLICES).max(1);
                (self.rows_seen / per_slice) as i64
            }
            WindowSpec::Duration(span) => {
                let slice_ms = (span.as_millis() as i64 / SLICES as i64).max(1);
                time.div_euclid(slice_ms)
            }
        };
        let newest = self.slices.back().map_or(i64::MIN, |s| s.key);
        if key > newest {
            self.slices.push_back(Slice {
                key,
                rows: 0,
                first: time,
                last: time,
                columns: new_windows(&self.spec.columns),
            });
            while self
                .slices
                .front()
                .is_some_and(|s| s.key <= key - SLICES as i64)
            {
                self.slices.pop_front();
            }
        }
        self.slices.iter().rposition(|s| s.key == key)
    }

    /// Checks the current window against the reference.
    pub fn check(&mut self) -> Report {
        self.since_check = 0;
        let mut merged = new_windows(&self.spec.columns);
        for slice in &self.slices {
            for (into, from) in merged.iter_mut().zip(&slice.columns) {
                let _ = into.merge(from);
            }
        }
        let results: Vec<_> = match &self.reference {
            None => Vec::new(),
            Some(references) => self
                .spec
                .columns
                .iter()
                .zip(references)
                .zip(&mut merged)
                .map(|((column, reference), window)| {
                    window.fold();
                    check(reference, window, &self.options(column)).ok()
                })
                .collect(),
        };
        self.report(&results)
    }

    fn options(&self, column: &ColumnSpec) -> CheckOptions {
        CheckOptions {
            method: column.method,
            thresholds: column.thresholds,
            min_reference: column.min_size,
            min_current: column.min_size,
        }
    }

    fn report(&self, results: &[Option<lucid_drift::ColumnResult>]) -> Report {
        let columns: Vec<ColumnReport> = self
            .spec
            .columns
            .iter()
            .enumerate()
            .map(|(i, column)| column_report(column, results.get(i).and_then(Option::as_ref)))
            .collect();
        let checked: Vec<_> = results.iter().flatten().cloned().collect();
        let verdict = dataset_verdict(&checked, self.spec.drift_share);
        let dataset_drift = verdict.verdict == lucid_drift::Verdict::Drift;
        let past_a_threshold = verdict.drifted + verdict.warning > 0;
        let band = match verdict.verdict {
            lucid_drift::Verdict::Drift => BandName::Drift,
            _ if past_a_threshold => BandName::Warning,
            lucid_drift::Verdict::InsufficientData => BandName::InsufficientData,
            lucid_drift::Verdict::NoDrift => BandName::Ok,
        };
        Report {
            monitor: self.spec.name.clone(),
            model_name: self.spec.model.clone(),
            model_version: self.spec.model_version.clone(),
            band,
            window_start: self.slices.iter().map(|s| s.first).min().unwrap_or(0),
            window_end: self.slices.iter().map(|s| s.last).max().unwrap_or(0),
            reference_count: self.reference_rows(),
            current_count: self.slices.iter().map(|s| s.rows).sum(),
            columns,
            drift_share: verdict.share,
            share_threshold: self.spec.drift_share,
            dataset_drift,
        }
    }

    fn reference_rows(&self) -> u64 {
        match &self.reference {
            Some(references) => references
                .iter()
                .map(|r| r.window().rows())
                .max()
                .unwrap_or(0),
            None => self.building_rows,
        }
    }
}

fn new_windows(columns: &[ColumnSpec]) -> Vec<Window> {
    columns.iter().map(|c| Window::new(c.kind)).collect()
}

fn column_report(column: &ColumnSpec, result: Option<&lucid_drift::ColumnResult>) -> ColumnReport {
    let Some(result) = result else {
        let thresholds = column.thresholds.p_value;
        return ColumnReport {
            column: column.name.clone(),
            method: column.method.name().into(),
            statistic: None,
            p_value: None,
            value: None,
            warning_threshold: thresholds.warning,
            drift_threshold: thresholds.drift,
            band: BandName::InsufficientData,
            reference_count: 0,
            current_count: 0,
            excluded: 0,
        };
    };
    ColumnReport {
        column: column.name.clone(),
        method: result.measure.name().into(),
        statistic: result.statistic,
        p_value: result.p_value,
        value: result.score,
        warning_threshold: result.thresholds.warning,
        drift_threshold: result.thresholds.drift,
        band: result.band.into(),
        reference_count: result.reference_count,
        current_count: result.current_count,
        excluded: result.current_dropped.total(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::{Cell, RecordKind};
    use lucid_drift::{ColumnKind, Method, Thresholds};
    use std::collections::HashMap;

    fn spec(window: WindowSpec) -> MonitorSpec {
        let column = |name: &str, kind| ColumnSpec {
            name: name.into(),
            kind,
            method: Method::Auto,
            thresholds: Thresholds::default(),
            min_size: 100,
        };
        MonitorSpec {
            name: "m".into(),
            topic: "t".into(),
            record: RecordKind::ListeningEvent,
            actions: Vec::new(),
            model: None,
            model_version: None,
            window,
            reference: ReferenceSpec::FirstRecords(2000),
            min_size: 100,
            drift_share: 0.5,
            check_every: 1000,
            columns: vec![
                column("x", ColumnKind::Numeric),
                column("g", ColumnKind::Categorical),
            ],
        }
    }

    fn row(time: i64, x: f64, g: &str) -> Row {
        Row::from_cells(
            time,
            HashMap::from([
                ("x".to_owned(), Cell::Number(x)),
                ("g".to_owned(), Cell::Category(g.to_owned())),
            ]),
        )
    }

    #[test]
    fn a_records_window_follows_the_stream_and_names_the_shifted_column() {
        let mut monitor = Monitor::new(spec(WindowSpec::Records(1000)), None);
        // Reference: x cycles 0..100, g alternates a/b.
        for i in 0..2000 {
            assert!(!monitor.push(&row(i, (i % 100) as f64, ["a", "b"][i as usize % 2])));
        }
        assert!(monitor.has_reference());
        // The same distribution: no drift.
        let mut due = false;
        for i in 0..1000 {
            due = monitor.push(&row(2000 + i, (i % 100) as f64, ["a", "b"][i as usize % 2]));
        }
        assert!(due, "a check is due after check_every rows");
        let same = monitor.check();
        assert_eq!(same.band, BandName::Ok);
        assert_eq!(same.reference_count, 2000);
        assert_eq!((same.window_start, same.window_end), (2000, 2999));
        // x moves by half its range; g does not. After 1000 more rows the window holds only
        // shifted rows (between 900 and 1000 of them).
        for i in 0..1000 {
            monitor.push(&row(
                3000 + i,
                (i % 100) as f64 + 50.0,
                ["a", "b"][i as usize % 2],
            ));
        }
        let shifted = monitor.check();
        assert!(
            (900..=1000).contains(&shifted.current_count),
            "{}",
            shifted.current_count
        );
        assert!(
            shifted.window_start >= 3000,
            "old rows retired: {}",
            shifted.window_start
        );
        let bands: Vec<_> = shifted
            .columns
            .iter()
            .map(|c| (c.column.as_str(), c.band))
            .collect();
        assert_eq!(bands, [("x", BandName::Drift), ("g", BandName::Ok)]);
        // One of two columns drifted: exactly the 0.5 share.
        assert_eq!(shifted.band, BandName::Drift);
        assert_eq!(shifted.drift_share, 0.5);
    }

    #[test]
    fn a_duration_window_drops_rows_older_than_its_span() {
        let mut monitor = Monitor::new(
            spec(WindowSpec::Duration(std::time::Duration::from_secs(100))),
            None,
        );
        for i in 0..2000 {
            monitor.push(&row(i, 1.0, "a"));
        }
        // 10 s slices; rows every second from t = 1000 s to 1299 s.
        for s in 1000..1300 {
            monitor.push(&row(s * 1000, 1.0, "a"));
        }
        let report = monitor.check();
        // The newest slice is [1290, 1300) s; the window keeps the ten newest slices.
        assert_eq!(report.window_start, 1_200_000);
        assert_eq!(report.current_count, 100);
        // A row older than the oldest slice is left out.
        monitor.push(&row(5_000, 1.0, "a"));
        assert_eq!(monitor.check().current_count, 100);
    }

    #[test]
    fn too_few_rows_is_insufficient_data_not_ok() {
        let mut spec = spec(WindowSpec::Records(1000));
        for column in &mut spec.columns {
            column.min_size = 1500;
        }
        let mut monitor = Monitor::new(spec, None);
        for i in 0..2000 {
            monitor.push(&row(i, (i % 10) as f64, "a"));
        }
        for i in 0..50 {
            monitor.push(&row(3000 + i, 1000.0, "z"));
        }
        let report = monitor.check();
        assert_eq!(report.band, BandName::InsufficientData);
        assert!(
            report
                .columns
                .iter()
                .all(|c| c.band == BandName::InsufficientData)
        );
    }
}
