//! The reference side of a check, built once per column and shared by every check.

use std::borrow::Cow;

use crate::distinct::Distinct;
use crate::method::ColumnKind;
use crate::window::{Dropped, Window};

/// A column's reference data, frozen: sorted counts and standard deviation for numbers,
/// category counts for categories.
#[derive(Debug, Clone)]
pub struct Reference {
    window: Window,
    std_dev: Option<f64>,
}

impl Reference {
    /// Freezes a window as the reference.
    pub fn new(mut window: Window) -> Self {
        window.fold();
        let std_dev = match window.kind() {
            ColumnKind::Numeric => window.numbers().std_dev(),
            ColumnKind::Categorical => None,
        };
        Reference { window, std_dev }
    }

    /// A numeric reference from raw values (NaN and infinities are counted as dropped).
    pub fn from_numbers(values: impl IntoIterator<Item = f64>) -> Self {
        Reference::new(Window::from_numbers(values))
    }

    /// A categorical reference from raw values (`None` is missing).
    pub fn from_categories<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        Reference::new(Window::from_categories(values))
    }

    /// What the reference holds.
    pub fn kind(&self) -> ColumnKind {
        self.window.kind()
    }

    /// Values that take part in the statistics.
    pub fn len(&self) -> u64 {
        self.window.len()
    }

    /// Whether no value takes part in the statistics.
    pub fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    /// Values left out, by reason.
    pub fn dropped(&self) -> Dropped {
        self.window.dropped()
    }

    /// The population standard deviation of a numeric reference with at least one value.
    pub fn std_dev(&self) -> Option<f64> {
        self.std_dev
    }

    /// The underlying (folded) window.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// Sorted counts of a numeric reference; folded in [`Reference::new`], so this borrows.
    pub(crate) fn numbers(&self) -> Cow<'_, Distinct> {
        self.window.numbers()
    }
}
