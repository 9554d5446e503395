//! The crate's one error type. Every variant is a caller's mistake (a column wired to the wrong
//! kind of window, a method that does not apply, thresholds out of order): retrying the same call
//! fails the same way, so a service should report it at start-up or drop the check, not retry.

use crate::method::{ColumnKind, Method};

/// Why a window, a reference or a check was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DriftError {
    /// The window and the reference hold different kinds of values.
    #[error("a {window} window cannot be checked against a {reference} reference")]
    KindMismatch {
        /// What the reference holds.
        reference: ColumnKind,
        /// What the window holds.
        window: ColumnKind,
    },
    /// Two windows of different kinds cannot be merged.
    #[error("a {other} window cannot be merged into a {this} window")]
    MergeMismatch {
        /// The window merged into.
        this: ColumnKind,
        /// The window merged from.
        other: ColumnKind,
    },
    /// A value of the wrong kind was pushed, for example a category into a numeric window.
    #[error("a {value} cannot be pushed into a {window} window")]
    ValueKind {
        /// The window's kind.
        window: ColumnKind,
        /// What was pushed: `number` or `category`.
        value: &'static str,
    },
    /// The method is defined for the other kind of column only.
    #[error("method {method} does not apply to {kind} columns")]
    MethodNotApplicable {
        /// The method asked for.
        method: Method,
        /// The column's kind.
        kind: ColumnKind,
    },
    /// A method name that this crate does not know.
    #[error(
        "unknown drift method {0:?} (expected auto, psi, ks, wasserstein, jensenshannon, chisquare or z)"
    )]
    UnknownMethod(String),
    /// Thresholds that are not numbers in range, or whose warning band lies beyond the drift one.
    #[error("invalid {score} thresholds: warning {warning}, drift {drift} ({why})")]
    InvalidThresholds {
        /// `p-value` or `distance`.
        score: &'static str,
        /// The warning threshold given.
        warning: f64,
        /// The drift threshold given.
        drift: f64,
        /// What is wrong with them.
        why: &'static str,
    },
    /// A sliding window needs a positive capacity and at least one slice.
    #[error("invalid sliding window: capacity {capacity}, slices {slices}")]
    InvalidSlidingWindow {
        /// Rows the window should span.
        capacity: u64,
        /// Sub-windows it is split into.
        slices: u32,
    },
}
