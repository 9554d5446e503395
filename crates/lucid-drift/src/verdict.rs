//! Thresholds, the band a column's score falls in, and the verdict over a dataset's columns.
//!
//! Each column has two thresholds: crossing `warning` puts it in the warning band, crossing
//! `drift` in the drift band. "Crossing" follows the measure's comparison ([`Measure::crosses`]):
//! below for p-values, at or above for distances. The drift thresholds default to Evidently's
//! (p < 0.05, distance >= 0.1); the warning ones sit halfway to no change (p < 0.1,
//! distance >= 0.05). A column without enough data is in [`Band::InsufficientData`], which is
//! neither an alert nor an all-clear.

use crate::check::ColumnResult;
use crate::error::DriftError;
use crate::method::{Measure, ScoreKind};

/// Evidently's share of drifted columns at which a dataset drifts.
pub const DEFAULT_DRIFT_SHARE: f64 = 0.5;

/// The two thresholds of one score kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnThresholds {
    /// Crossing this puts a column in the warning band.
    pub warning: f64,
    /// Crossing this puts a column in the drift band.
    pub drift: f64,
}

/// Thresholds for p-values and for distances; a check uses the pair of its measure's kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// For KS, chi-square and the Z-test.
    pub p_value: ColumnThresholds,
    /// For PSI, Wasserstein and Jensen-Shannon.
    pub distance: ColumnThresholds,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            p_value: ColumnThresholds {
                warning: 0.1,
                drift: 0.05,
            },
            distance: ColumnThresholds {
                warning: 0.05,
                drift: 0.1,
            },
        }
    }
}

impl Thresholds {
    /// Checks that p-value thresholds lie in `[0, 1]` with the warning one not below the drift
    /// one, and that distance thresholds are finite and non-negative with the warning one not
    /// above the drift one. Equal thresholds mean no warning band.
    pub fn validate(&self) -> Result<(), DriftError> {
        let invalid = |score, thresholds: ColumnThresholds, why| DriftError::InvalidThresholds {
            score,
            warning: thresholds.warning,
            drift: thresholds.drift,
            why,
        };
        let p = self.p_value;
        if !(0.0..=1.0).contains(&p.warning) || !(0.0..=1.0).contains(&p.drift) {
            return Err(invalid("p-value", p, "p-values lie in [0, 1]"));
        }
        if p.warning < p.drift {
            return Err(invalid("p-value", p, "warning must not be below drift"));
        }
        let d = self.distance;
        if !(d.warning >= 0.0 && d.drift >= 0.0 && d.warning.is_finite() && d.drift.is_finite()) {
            return Err(invalid("distance", d, "distances are finite and >= 0"));
        }
        if d.warning > d.drift {
            return Err(invalid("distance", d, "warning must not be above drift"));
        }
        Ok(())
    }

    /// The thresholds that apply to `measure`.
    pub fn for_measure(&self, measure: Measure) -> ColumnThresholds {
        match measure.score_kind() {
            ScoreKind::PValue => self.p_value,
            ScoreKind::Distance => self.distance,
        }
    }
}

/// Where a column's score falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Band {
    /// Neither threshold crossed.
    Ok,
    /// The warning threshold crossed, the drift one not.
    Warning,
    /// The drift threshold crossed.
    Drift,
    /// Reference or window below its minimum size: no verdict either way.
    InsufficientData,
}

impl Band {
    /// The band of `score` for `measure`.
    pub fn of(measure: Measure, score: f64, thresholds: ColumnThresholds) -> Band {
        if measure.crosses(score, thresholds.drift) {
            Band::Drift
        } else if measure.crosses(score, thresholds.warning) {
            Band::Warning
        } else {
            Band::Ok
        }
    }
}

/// The verdict over all columns of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Fewer drifted columns than the share, and the columns without data could not change that.
    NoDrift,
    /// At least the share of columns drifted.
    Drift,
    /// The columns without enough data could tip the verdict.
    InsufficientData,
}

/// Counts behind a dataset verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DatasetVerdict {
    /// Columns checked.
    pub columns: usize,
    /// Columns in the drift band.
    pub drifted: usize,
    /// Columns in the warning band.
    pub warning: usize,
    /// Columns without enough data.
    pub insufficient: usize,
    /// `drifted / columns` (0 when there are no columns), Evidently's share of drifted columns.
    pub share: f64,
    /// The verdict.
    pub verdict: Verdict,
}

/// Evidently's dataset drift rule, `drifted / columns >= share_threshold`, where a column
/// without enough data counts as not drifted (as a column that Evidently could not flag) but the
/// verdict is [`Verdict::InsufficientData`] rather than [`Verdict::NoDrift`] when those columns
/// drifting would have reached the share. No columns at all is insufficient data.
pub fn dataset_verdict(results: &[ColumnResult], share_threshold: f64) -> DatasetVerdict {
    let count = |band| results.iter().filter(|result| result.band == band).count();
    let (columns, drifted) = (results.len(), count(Band::Drift));
    let (warning, insufficient) = (count(Band::Warning), count(Band::InsufficientData));
    let share_of = |n: usize| {
        if columns == 0 {
            0.0
        } else {
            n as f64 / columns as f64
        }
    };
    let verdict = if columns == 0 {
        Verdict::InsufficientData
    } else if share_of(drifted) >= share_threshold {
        Verdict::Drift
    } else if insufficient > 0 && share_of(drifted + insufficient) >= share_threshold {
        Verdict::InsufficientData
    } else {
        Verdict::NoDrift
    };
    DatasetVerdict {
        columns,
        drifted,
        warning,
        insufficient,
        share: share_of(drifted),
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_measure_direction() {
        let thresholds = Thresholds::default();
        let p = thresholds.p_value;
        assert_eq!(Band::of(Measure::Ks, 0.05, p), Band::Drift);
        assert_eq!(Band::of(Measure::ChiSquare, 0.05, p), Band::Warning);
        assert_eq!(Band::of(Measure::ZTest, 0.5, p), Band::Ok);
        let d = thresholds.distance;
        assert_eq!(Band::of(Measure::Psi, 0.1, d), Band::Drift);
        assert_eq!(Band::of(Measure::Wasserstein, 0.07, d), Band::Warning);
        assert_eq!(Band::of(Measure::JensenShannon, 0.01, d), Band::Ok);
    }

    #[test]
    fn thresholds_out_of_order_are_refused() {
        assert!(Thresholds::default().validate().is_ok());
        let swapped = Thresholds {
            p_value: ColumnThresholds {
                warning: 0.01,
                drift: 0.05,
            },
            ..Thresholds::default()
        };
        assert!(swapped.validate().is_err());
        let mut negative = Thresholds::default();
        negative.distance.warning = -1.0;
        assert!(negative.validate().is_err());
    }
}
