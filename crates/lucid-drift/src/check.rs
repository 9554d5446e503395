//! One column's check: a window against its reference, with a method, thresholds and minimum
//! sizes, giving a [`ColumnResult`].

use crate::error::DriftError;
use crate::method::{AUTO_FEW_VALUES, ColumnKind, Measure, Method};
use crate::reference::Reference;
use crate::stats::{self, Score};
use crate::verdict::{Band, ColumnThresholds, Thresholds};
use crate::window::{Dropped, Window};

/// Values a window needs, by default, before its check gives a verdict.
pub const DEFAULT_MIN_CURRENT: u64 = 100;
/// Values a reference needs, by default, before checks against it give a verdict.
pub const DEFAULT_MIN_REFERENCE: u64 = 100;

/// How to check a column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckOptions {
    /// The method, `Auto` by default.
    pub method: Method,
    /// Warning and drift thresholds.
    pub thresholds: Thresholds,
    /// Finite (or non-missing) reference values below which the result is insufficient data.
    pub min_reference: u64,
    /// Finite (or non-missing) window values below which the result is insufficient data.
    pub min_current: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            method: Method::Auto,
            thresholds: Thresholds::default(),
            min_reference: DEFAULT_MIN_REFERENCE,
            min_current: DEFAULT_MIN_CURRENT,
        }
    }
}

impl CheckOptions {
    /// The defaults with another method.
    pub fn with_method(method: Method) -> Self {
        CheckOptions {
            method,
            ..CheckOptions::default()
        }
    }
}

/// The outcome of one column's check.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnResult {
    /// The measure computed (`auto` resolved).
    pub measure: Measure,
    /// The test statistic (KS D, chi-square, Z) or the distance; `None` without enough data.
    pub statistic: Option<f64>,
    /// The p-value of a test; `None` for distances and without enough data.
    pub p_value: Option<f64>,
    /// The value compared with the thresholds: the p-value of a test, else the distance.
    pub score: Option<f64>,
    /// The thresholds that applied.
    pub thresholds: ColumnThresholds,
    /// Where the score falls.
    pub band: Band,
    /// Reference values that took part.
    pub reference_count: u64,
    /// Window values that took part.
    pub current_count: u64,
    /// Reference values left out (NaN, infinities, missing).
    pub reference_dropped: Dropped,
    /// Window values left out (NaN, infinities, missing).
    pub current_dropped: Dropped,
}

impl ColumnResult {
    /// Whether the column is in the drift band.
    pub fn drifted(&self) -> bool {
        self.band == Band::Drift
    }
}

/// Checks `window` against `reference`. Fails only on wiring mistakes: different kinds, or a
/// method that does not apply to the column's kind. A window that still buffers unsorted
/// numbers is folded on a copy; [`Window::fold`] first spares it.
pub fn check(
    reference: &Reference,
    window: &Window,
    options: &CheckOptions,
) -> Result<ColumnResult, DriftError> {
    let kind = reference.kind();
    if window.kind() != kind {
        return Err(DriftError::KindMismatch {
            reference: kind,
            window: window.kind(),
        });
    }
    let (reference_count, current_count) = (reference.len(), window.len());
    let enough = reference_count >= options.min_reference.max(1)
        && current_count >= options.min_current.max(1);

    let (measure, score) = match kind {
        ColumnKind::Numeric => {
            let (ours, theirs) = (reference.numbers(), window.numbers());
            let distinct = match options.method {
                Method::Auto => stats::union_len_up_to(&ours, &theirs, AUTO_FEW_VALUES + 1),
                _ => 0,
            };
            let measure = options.method.resolve(kind, reference_count, distinct)?;
            let std_dev = reference.std_dev().unwrap_or(0.0);
            let score = enough.then(|| stats::numeric(measure, &ours, std_dev, &theirs));
            (measure, score)
        }
        ColumnKind::Categorical => {
            let (ours, theirs) = (reference.window().categories(), window.categories());
            let distinct = stats::aligned_categories(&ours, &theirs).len();
            let measure = options.method.resolve(kind, reference_count, distinct)?;
            let score = enough.then(|| stats::categorical(measure, &ours, &theirs));
            (measure, score)
        }
    };

    let thresholds = options.thresholds.for_measure(measure);
    let band = match score {
        Some(score) => Band::of(measure, score.value(), thresholds),
        None => Band::InsufficientData,
    };
    Ok(ColumnResult {
        measure,
        statistic: score.map(|score| score.statistic),
        p_value: score.and_then(|score| score.p_value),
        score: score.as_ref().map(Score::value),
        thresholds,
        band,
        reference_count,
        current_count,
        reference_dropped: reference.dropped(),
        current_dropped: window.dropped(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_windows_are_insufficient_never_ok() {
        let reference = Reference::from_numbers((0..500).map(f64::from));
        let window = Window::from_numbers((0..8).map(f64::from));
        let result = check(&reference, &window, &CheckOptions::default()).expect("numeric");
        assert_eq!(result.band, Band::InsufficientData);
        assert_eq!(result.measure, Measure::Ks);
        assert_eq!((result.statistic, result.score), (None, None));
        assert_eq!(result.current_count, 8);
    }

    #[test]
    fn an_empty_reference_is_insufficient_even_with_no_minimum() {
        let reference = Reference::from_numbers([f64::NAN]);
        let window = Window::from_numbers([1.0, 2.0]);
        let options = CheckOptions {
            min_reference: 0,
            min_current: 0,
            ..CheckOptions::default()
        };
        let result = check(&reference, &window, &options).expect("numeric");
        assert_eq!(result.band, Band::InsufficientData);
        assert_eq!(result.reference_dropped.nan, 1);
    }

    #[test]
    fn kinds_must_match() {
        let reference = Reference::from_categories([Some("a")]);
        let window = Window::from_numbers([1.0]);
        let refused = check(&reference, &window, &CheckOptions::default());
        assert!(matches!(refused, Err(DriftError::KindMismatch { .. })));
    }

    #[test]
    fn a_shifted_window_drifts() {
        let reference = Reference::from_numbers((0..2000).map(|i| f64::from(i % 100)));
        let window = Window::from_numbers((0..2000).map(|i| f64::from(i % 100) + 30.0));
        let result = check(&reference, &window, &CheckOptions::default()).expect("numeric");
        assert_eq!(result.measure, Measure::Wasserstein);
        assert_eq!(result.band, Band::Drift);
    }
}
