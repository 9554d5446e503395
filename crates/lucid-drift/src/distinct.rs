//! Finite numbers as sorted distinct values with their counts.
//!
//! This is the whole state a numeric column needs for the exact statistics: the empirical CDF
//! (KS, Wasserstein), the moments (the reference standard deviation) and any histogram (PSI,
//! Jensen-Shannon) follow from one walk over it, so a check costs the number of distinct
//! values, and two of them merge like the two halves of a merge sort.
//!
//! `-0.0` is stored as `0.0`: the two compare equal, as they do in numpy.

use crate::sort::{from_order_key, sorted_keys};

/// Sorted distinct finite values and how often each was seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distinct {
    values: Vec<f64>,
    counts: Vec<u64>,
    total: u64,
}

impl Distinct {
    /// Counts the finite values of `buffer`, sorting it in place first. Callers leave out
    /// non-finite values; any that slip through are skipped here.
    pub(crate) fn from_unsorted(mut buffer: Vec<f64>) -> Self {
        buffer.retain(|value| value.is_finite());
        let mut distinct = Distinct::default();
        for key in sorted_keys(buffer) {
            // `+ 0.0` turns -0.0, sorted just before 0.0, into 0.0.
            distinct.push_sorted(from_order_key(key) + 0.0, 1);
        }
        distinct
    }

    /// Appends `count` of `value`, which is not below the largest value held.
    fn push_sorted(&mut self, value: f64, count: u64) {
        self.total += count;
        if let (Some(last), Some(last_count)) = (self.values.last(), self.counts.last_mut())
            && *last == value
        {
            *last_count += count;
            return;
        }
        self.values.push(value);
        self.counts.push(count);
    }

    /// The values of both, counted together.
    pub(crate) fn merge(&self, other: &Distinct) -> Distinct {
        let capacity = self.values.len() + other.values.len();
        let mut merged = Distinct {
            values: Vec::with_capacity(capacity),
            counts: Vec::with_capacity(capacity),
            total: self.total + other.total,
        };
        let (a, b) = (self, other);
        let (mut i, mut j) = (0, 0);
        while i < a.values.len() && j < b.values.len() {
            let (x, y) = (a.values[i], b.values[j]);
            let (value, count) = if x < y {
                i += 1;
                (x, a.counts[i - 1])
            } else if y < x {
                j += 1;
                (y, b.counts[j - 1])
            } else {
                (i, j) = (i + 1, j + 1);
                (x, a.counts[i - 1] + b.counts[j - 1])
            };
            merged.values.push(value);
            merged.counts.push(count);
        }
        for (rest, from) in [(a, i), (b, j)] {
            merged.values.extend_from_slice(&rest.values[from..]);
            merged.counts.extend_from_slice(&rest.counts[from..]);
        }
        merged
    }

    /// `(value, count)` in ascending order of value.
    pub fn iter(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.values.iter().copied().zip(self.counts.iter().copied())
    }

    /// The sorted distinct values and their counts, index by index.
    pub(crate) fn as_slices(&self) -> (&[f64], &[u64]) {
        (&self.values, &self.counts)
    }

    /// How many values were counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// How many distinct values were seen.
    pub fn distinct(&self) -> usize {
        self.values.len()
    }

    /// The smallest and the largest value, if any.
    pub fn range(&self) -> Option<(f64, f64)> {
        Some((*self.values.first()?, *self.values.last()?))
    }

    /// The population standard deviation (numpy's `np.std`, `ddof=0`), if any value was seen.
    pub fn std_dev(&self) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let n = self.total as f64;
        let mean = sum(self.iter().map(|(value, count)| value * count as f64)) / n;
        let squares = sum(self.iter().map(|(value, count)| {
            let deviation = value - mean;
            deviation * deviation * count as f64
        }));
        Some((squares / n).sqrt())
    }
}

/// Compensated (Neumaier) summation: long sums over a million distinct values stay within a few
/// units in the last place, close to numpy's pairwise summation.
pub(crate) fn sum(terms: impl IntoIterator<Item = f64>) -> f64 {
    let mut total = Sum::default();
    terms.into_iter().for_each(|term| total.add(term));
    total.value()
}

/// A running compensated sum.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sum {
    total: f64,
    compensation: f64,
}

impl Sum {
    pub(crate) fn add(&mut self, term: f64) {
        let next = self.total + term;
        self.compensation += if self.total.abs() >= term.abs() {
            (self.total - next) + term
        } else {
            (term - next) + self.total
        };
        self.total = next;
    }

    pub(crate) fn value(&self) -> f64 {
        self.total + self.compensation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_ties_and_merges_negative_zero() {
        let distinct = Distinct::from_unsorted(vec![2.0, -1.0, 2.0, 0.0, -0.0, f64::NAN]);
        let pairs: Vec<_> = distinct.iter().collect();
        assert_eq!(pairs, vec![(-1.0, 1), (0.0, 2), (2.0, 2)]);
        assert_eq!(distinct.total(), 5);
    }

    #[test]
    fn merge_adds_counts_of_shared_values() {
        let a = Distinct::from_unsorted(vec![1.0, 3.0, 3.0]);
        let b = Distinct::from_unsorted(vec![2.0, 3.0]);
        let merged: Vec<_> = a.merge(&b).iter().collect();
        assert_eq!(merged, vec![(1.0, 1), (2.0, 1), (3.0, 3)]);
    }

    #[test]
    fn std_dev_is_the_population_one() {
        // Values 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population variance 4.
        let distinct = Distinct::from_unsorted(vec![2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(distinct.std_dev(), Some(2.0));
        assert_eq!(Distinct::default().std_dev(), None);
    }
}
