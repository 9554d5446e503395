//! Drift statistics for the drift detector: does a window of recent values still look like the
//! reference data the model was trained on?
//!
//! Pure computation, no I/O. The methods, defaults and numbers are Evidently 0.7's data drift
//! (PSI, Kolmogorov-Smirnov, Wasserstein, Jensen-Shannon, chi-square, Z-test, and `auto`, which
//! picks among them as Evidently does); `docs/drift.md` lists every rule and the few places where
//! this crate deliberately differs, and `tests/evidently_parity.rs` holds it to Evidently's own
//! output.
//!
//! - [`Window`]: one column's values in a window, pushed one by one, mergeable across
//!   partitions; [`SlidingWindow`] keeps the latest rows as a ring of windows.
//! - [`Reference`]: a column's reference data, built once.
//! - [`check`]: a window against its reference, giving a [`ColumnResult`] with its [`Band`];
//!   [`dataset_verdict`] combines the columns.
//! - [`Method`] and [`Measure`]: what was asked for and what was computed.
//!
//! ```
//! use lucid_drift::{Band, CheckOptions, Reference, Window, check};
//!
//! let reference = Reference::from_numbers((0..1000).map(|i| f64::from(i % 50)));
//! let mut window = Window::new(lucid_drift::ColumnKind::Numeric);
//! for i in 0..500 {
//!     window.push_number(f64::from(i % 50) + 20.0)?;
//! }
//! let result = check(&reference, &window, &CheckOptions::default())?;
//! assert_eq!(result.band, Band::Drift);
//! # Ok::<(), lucid_drift::DriftError>(())
//! ```

mod check;
mod distinct;
mod error;
mod method;
mod reference;
mod sliding;
mod sort;
mod stats;
mod verdict;
mod window;

pub use check::{CheckOptions, ColumnResult, DEFAULT_MIN_CURRENT, DEFAULT_MIN_REFERENCE, check};
pub use error::DriftError;
pub use method::{AUTO_SMALL_REFERENCE_ROWS, ColumnKind, Measure, Method, ScoreKind};
pub use reference::Reference;
pub use sliding::SlidingWindow;
pub use stats::MIN_WASSERSTEIN_SCALE;
pub use verdict::{
    Band, ColumnThresholds, DEFAULT_DRIFT_SHARE, DatasetVerdict, Thresholds, Verdict,
    dataset_verdict,
};
pub use window::{Dropped, MIN_FOLD, Value, Window};
