//! The per-column accumulator of a current window.
//!
//! A numeric window appends each finite value to an unsorted buffer and folds the buffer into
//! its sorted [`Distinct`] counts once the buffer is as long as the counts (and at least
//! [`MIN_FOLD`]): each fold costs about as much as the values it adds, so a push is an append
//! plus an amortised sort, and a check reads the counts without rescanning the values. A
//! categorical window counts each category in a hash map.
//!
//! NaN, infinities and missing values are counted in [`Dropped`] and take no part in any
//! statistic, as in Evidently, which drops them before computing drift. Windows of one kind
//! merge, so per-partition state can be combined before a check.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::AddAssign;

use crate::distinct::Distinct;
use crate::error::DriftError;
use crate::method::ColumnKind;

/// Unsorted values a numeric window buffers, at least, before folding them into its counts.
pub const MIN_FOLD: usize = 1 << 16;

/// One value of a column, as pushed into a [`Window`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A number, for numeric columns; NaN and infinities are counted as dropped.
    Number(f64),
    /// A category, for categorical columns.
    Category(&'a str),
    /// No value (a null); counted as dropped in either kind of column.
    Missing,
}

/// Values left out of the statistics, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Missing values.
    pub missing: u64,
    /// NaN.
    pub nan: u64,
    /// Positive infinity.
    pub pos_inf: u64,
    /// Negative infinity.
    pub neg_inf: u64,
}

impl Dropped {
    /// All dropped values.
    pub fn total(&self) -> u64 {
        self.missing + self.nan + self.pos_inf + self.neg_inf
    }

    /// Counts `value` under its reason if it is NaN or infinite.
    fn count_non_finite(&mut self, value: f64) {
        if value.is_nan() {
            self.nan += 1;
        } else if value == f64::INFINITY {
            self.pos_inf += 1;
        } else if value == f64::NEG_INFINITY {
            self.neg_inf += 1;
        }
    }
}

impl AddAssign for Dropped {
    fn add_assign(&mut self, other: Dropped) {
        self.missing += other.missing;
        self.nan += other.nan;
        self.pos_inf += other.pos_inf;
        self.neg_inf += other.neg_inf;
    }
}

/// The values of one column in one window (or one partition of it).
#[derive(Debug, Clone)]
pub struct Window {
    values: Values,
    dropped: Dropped,
}

#[derive(Debug, Clone)]
enum Values {
    Numeric {
        counts: Distinct,
        pending: Vec<f64>,
    },
    Categorical {
        counts: HashMap<String, u64>,
        total: u64,
    },
}

impl Window {
    /// An empty window for a column of `kind`.
    pub fn new(kind: ColumnKind) -> Self {
        let values = match kind {
            ColumnKind::Numeric => Values::Numeric {
                counts: Distinct::default(),
                pending: Vec::new(),
            },
            ColumnKind::Categorical => Values::Categorical {
                counts: HashMap::new(),
                total: 0,
            },
        };
        Window {
            values,
            dropped: Dropped::default(),
        }
    }

    /// A numeric window holding `values`, sorted once (the batch path: no folds on the way).
    pub fn from_numbers(values: impl IntoIterator<Item = f64>) -> Self {
        let mut dropped = Dropped::default();
        let finite: Vec<f64> = values
            .into_iter()
            .filter(|value| {
                dropped.count_non_finite(*value);
                value.is_finite()
            })
            .collect();
        Window {
            values: Values::Numeric {
                counts: Distinct::from_unsorted(finite),
                pending: Vec::new(),
            },
            dropped,
        }
    }

    /// A categorical window holding `values`; `None` is a missing value.
    pub fn from_categories<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut window = Window::new(ColumnKind::Categorical);
        for value in values {
            let pushed = match value {
                Some(category) => window.push_category(category),
                None => window.push(Value::Missing),
            };
            debug_assert!(pushed.is_ok(), "a categorical window takes categories");
        }
        window
    }

    /// What the window holds.
    pub fn kind(&self) -> ColumnKind {
        match self.values {
            Values::Numeric { .. } => ColumnKind::Numeric,
            Values::Categorical { .. } => ColumnKind::Categorical,
        }
    }

    /// Adds one value; fails when its kind is not the window's.
    pub fn push(&mut self, value: Value<'_>) -> Result<(), DriftError> {
        match value {
            Value::Number(number) => self.push_number(number),
            Value::Category(category) => self.push_category(category),
            Value::Missing => {
                self.dropped.missing += 1;
                Ok(())
            }
        }
    }

    /// Adds one number to a numeric window.
    pub fn push_number(&mut self, value: f64) -> Result<(), DriftError> {
        let Values::Numeric { counts, pending } = &mut self.values else {
            return Err(self.refuse("number"));
        };
        if value.is_finite() {
            pending.push(value);
            if pending.len() >= MIN_FOLD.max(counts.distinct()) {
                self.fold();
            }
        } else {
            self.dropped.count_non_finite(value);
        }
        Ok(())
    }

    /// Adds one category to a categorical window.
    pub fn push_category(&mut self, value: &str) -> Result<(), DriftError> {
        let Values::Categorical { counts, total } = &mut self.values else {
            return Err(self.refuse("category"));
        };
        match counts.get_mut(value) {
            Some(count) => *count += 1,
            None => {
                counts.insert(value.to_owned(), 1);
            }
        }
        *total += 1;
        Ok(())
    }

    fn refuse(&self, value: &'static str) -> DriftError {
        DriftError::ValueKind {
            window: self.kind(),
            value,
        }
    }

    /// Values that take part in the statistics (dropped ones excluded).
    pub fn len(&self) -> u64 {
        match &self.values {
            Values::Numeric { counts, pending } => counts.total() + pending.len() as u64,
            Values::Categorical { total, .. } => *total,
        }
    }

    /// Whether no value takes part in the statistics.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values left out, by reason.
    pub fn dropped(&self) -> Dropped {
        self.dropped
    }

    /// Every value pushed, dropped ones included.
    pub fn rows(&self) -> u64 {
        self.len() + self.dropped.total()
    }

    /// Folds buffered numbers into the sorted counts. Checks do this on a copy when needed;
    /// calling it first spares that copy.
    pub fn fold(&mut self) {
        if let Values::Numeric { counts, pending } = &mut self.values
            && !pending.is_empty()
        {
            let added = Distinct::from_unsorted(std::mem::take(pending));
            *counts = counts.merge(&added);
        }
    }

    /// Adds every value of `other`, which must be of the same kind.
    pub fn merge(&mut self, other: &Window) -> Result<(), DriftError> {
        match (&mut self.values, &other.values) {
            (Values::Numeric { counts, pending }, Values::Numeric { .. }) => {
                let theirs = other.numbers();
                *counts = counts.merge(&theirs);
                let buffered = Distinct::from_unsorted(std::mem::take(pending));
                *counts = counts.merge(&buffered);
            }
            (
                Values::Categorical { counts, total },
                Values::Categorical {
                    counts: theirs,
                    total: their_total,
                },
            ) => {
                for (category, count) in theirs {
                    *counts.entry(category.clone()).or_insert(0) += count;
                }
                *total += their_total;
            }
            _ => {
                return Err(DriftError::MergeMismatch {
                    this: self.kind(),
                    other: other.kind(),
                });
            }
        }
        self.dropped += other.dropped;
        Ok(())
    }

    /// The numbers of a numeric window as sorted counts, folded on a copy if values are
    /// buffered; empty for a categorical window.
    pub(crate) fn numbers(&self) -> Cow<'_, Distinct> {
        match &self.values {
            Values::Numeric { counts, pending } if pending.is_empty() => Cow::Borrowed(counts),
            Values::Numeric { counts, pending } => {
                Cow::Owned(counts.merge(&Distinct::from_unsorted(pending.clone())))
            }
            Values::Categorical { .. } => Cow::Owned(Distinct::default()),
        }
    }

    /// The categories of a categorical window with their counts, sorted by category (byte
    /// order, which is Python's order for strings); empty for a numeric window.
    pub(crate) fn categories(&self) -> Vec<(&str, u64)> {
        let mut sorted: Vec<(&str, u64)> = match &self.values {
            Values::Categorical { counts, .. } => counts
                .iter()
                .map(|(category, count)| (category.as_str(), *count))
                .collect(),
            Values::Numeric { .. } => Vec::new(),
        };
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        sorted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_numbers_are_counted_not_kept() {
        let window = Window::from_numbers([1.0, f64::NAN, f64::INFINITY, -f64::INFINITY, 2.0]);
        assert_eq!(window.len(), 2);
        let expected = Dropped {
            missing: 0,
            nan: 1,
            pos_inf: 1,
            neg_inf: 1,
        };
        assert_eq!(window.dropped(), expected);
        assert_eq!(window.rows(), 5);
    }

    #[test]
    fn wrong_kind_is_refused() {
        let mut numeric = Window::new(ColumnKind::Numeric);
        assert!(numeric.push(Value::Category("a")).is_err());
        let mut categorical = Window::new(ColumnKind::Categorical);
        assert!(categorical.push(Value::Number(1.0)).is_err());
        assert!(numeric.merge(&categorical).is_err());
    }

    #[test]
    fn folding_keeps_every_value() {
        let mut window = Window::new(ColumnKind::Numeric);
        for i in 0..(3 * MIN_FOLD as u64 + 17) {
            window
                .push_number((i % 1000) as f64)
                .expect("numeric window");
        }
        assert_eq!(window.len(), 3 * MIN_FOLD as u64 + 17);
        assert_eq!(window.numbers().distinct(), 1000);
    }

    #[test]
    fn categories_are_sorted_and_missing_counted() {
        let window = Window::from_categories([Some("b"), None, Some("a"), Some("b")]);
        assert_eq!(window.categories(), vec![("a", 1), ("b", 2)]);
        assert_eq!(window.dropped().missing, 1);
    }
}
