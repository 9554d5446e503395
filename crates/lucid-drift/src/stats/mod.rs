//! The statistics, computed from sorted counts in one walk over the distinct values.
//!
//! - [`ks`]: two-sample Kolmogorov-Smirnov, with [`kolmogorov`] for large samples.
//! - [`binned`]: PSI and Jensen-Shannon over Evidently's bins.
//! - [`hypothesis`]: chi-square and the two-proportion Z-test.
//! - Wasserstein, here: the area between the two empirical CDFs.
//! - [`special`]: log-gamma and the incomplete gamma function behind the p-values.

pub(crate) mod binned;
pub(crate) mod hypothesis;
pub(crate) mod kolmogorov;
pub(crate) mod ks;
pub(crate) mod special;

use crate::distinct::{Distinct, Sum};
use crate::method::Measure;

/// Evidently's floor under the reference standard deviation that divides the Wasserstein
/// distance: a constant reference divides by 0.001 instead of 0.
pub const MIN_WASSERSTEIN_SCALE: f64 = 0.001;

/// A measure's outcome: the statistic, and the p-value for the tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Score {
    pub(crate) statistic: f64,
    pub(crate) p_value: Option<f64>,
}

impl Score {
    fn distance(statistic: f64) -> Self {
        Score {
            statistic,
            p_value: None,
        }
    }

    fn test((statistic, p_value): (f64, f64)) -> Self {
        Score {
            statistic,
            p_value: Some(p_value),
        }
    }

    /// The value compared with the thresholds: the p-value of a test, else the distance.
    pub(crate) fn value(&self) -> f64 {
        self.p_value.unwrap_or(self.statistic)
    }
}

/// `measure` between two non-empty numeric samples; `std_dev` is the reference's.
pub(crate) fn numeric(
    measure: Measure,
    reference: &Distinct,
    std_dev: f64,
    current: &Distinct,
) -> Score {
    match measure {
        Measure::Ks => Score::test(ks::two_sample(reference, current)),
        Measure::Wasserstein => {
            let scale = std_dev.max(MIN_WASSERSTEIN_SCALE);
            Score::distance(wasserstein(reference, current) / scale)
        }
        Measure::Psi => Score::distance(binned::psi(&binned::numeric_shares(reference, current))),
        Measure::JensenShannon => Score::distance(binned::jensen_shannon(&binned::numeric_shares(
            reference, current,
        ))),
        Measure::ChiSquare => {
            Score::test(hypothesis::chi_square(&aligned_numbers(reference, current)))
        }
        Measure::ZTest => Score::test(hypothesis::z_test(&aligned_numbers(reference, current))),
    }
}

/// `measure` between two non-empty categorical samples, given as counts sorted by category.
/// Only the measures that apply to categories are asked for; the others score as chi-square.
pub(crate) fn categorical(
    measure: Measure,
    reference: &[(&str, u64)],
    current: &[(&str, u64)],
) -> Score {
    let aligned = aligned_categories(reference, current);
    match measure {
        Measure::Psi => Score::distance(binned::psi(&binned::count_shares(&aligned))),
        Measure::JensenShannon => {
            Score::distance(binned::jensen_shannon(&binned::count_shares(&aligned)))
        }
        Measure::ZTest => Score::test(hypothesis::z_test(&aligned)),
        Measure::ChiSquare | Measure::Ks | Measure::Wasserstein => {
            Score::test(hypothesis::chi_square(&aligned))
        }
    }
}

/// Calls `visit(value, reference count, current count)` for each distinct value of both, in
/// ascending order.
pub(crate) fn walk_union(a: &Distinct, b: &Distinct, mut visit: impl FnMut(f64, u64, u64)) {
    let (left, right) = (a.as_slices(), b.as_slices());
    let (mut i, mut j) = (0, 0);
    while i < left.0.len() && j < right.0.len() {
        let (x, y) = (left.0[i], right.0[j]);
        if x < y {
            visit(x, left.1[i], 0);
            i += 1;
        } else if y < x {
            visit(y, 0, right.1[j]);
            j += 1;
        } else {
            visit(x, left.1[i], right.1[j]);
            (i, j) = (i + 1, j + 1);
        }
    }
    for (value, count) in left.0[i..].iter().zip(&left.1[i..]) {
        visit(*value, *count, 0);
    }
    for (value, count) in right.0[j..].iter().zip(&right.1[j..]) {
        visit(*value, 0, *count);
    }
}

/// How many distinct values the two samples have together, counting no further than `limit`
/// (`auto` only needs to know whether there are more than 5).
pub(crate) fn union_len_up_to(a: &Distinct, b: &Distinct, limit: usize) -> usize {
    let (left, right) = (a.as_slices().0, b.as_slices().0);
    let (mut i, mut j, mut len) = (0, 0, 0);
    while len < limit && (i < left.len() || j < right.len()) {
        match (left.get(i), right.get(j)) {
            (Some(x), Some(y)) if x == y => (i, j) = (i + 1, j + 1),
            (Some(x), Some(y)) if x < y => i += 1,
            (_, Some(_)) => j += 1,
            (Some(_), None) => i += 1,
            (None, None) => break,
        }
        len += 1;
    }
    len
}

/// `(reference count, current count)` per distinct value of both, ascending.
pub(crate) fn aligned_numbers(a: &Distinct, b: &Distinct) -> Vec<(u64, u64)> {
    let mut aligned = Vec::new();
    walk_union(a, b, |_, n, m| aligned.push((n, m)));
    aligned
}

/// `(reference count, current count)` per category of both, in category order.
pub(crate) fn aligned_categories(a: &[(&str, u64)], b: &[(&str, u64)]) -> Vec<(u64, u64)> {
    let mut aligned = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                aligned.push((x.1, y.1));
                (i, j) = (i + 1, j + 1);
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                aligned.push((x.1, 0));
                i += 1;
            }
            (_, Some(y)) => {
                aligned.push((0, y.1));
                j += 1;
            }
            (Some(x), None) => {
                aligned.push((x.1, 0));
                i += 1;
            }
            (None, None) => break,
        }
    }
    aligned
}

/// The Wasserstein-1 distance between two samples: the area between their empirical CDFs,
/// `Σ |F_ref(x_i) - F_cur(x_i)| (x_{i+1} - x_i)` over the distinct values of both (scipy's
/// `wasserstein_distance` on the raw values).
pub(crate) fn wasserstein(reference: &Distinct, current: &Distinct) -> f64 {
    let (n1, n2) = (reference.total() as f64, current.total() as f64);
    let (mut c1, mut c2) = (0_u64, 0_u64);
    let mut previous: Option<(f64, f64)> = None;
    let mut area = Sum::default();
    walk_union(reference, current, |value, a, b| {
        if let Some((x, gap)) = previous {
            area.add(gap * (value - x));
        }
        c1 += a;
        c2 += b;
        previous = Some((value, (c1 as f64 / n1 - c2 as f64 / n2).abs()));
    });
    area.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasserstein_matches_scipy_examples() {
        // scipy.stats.wasserstein_distance([0, 1, 3], [5, 6, 8]) = 5.0.
        let a = Distinct::from_unsorted(vec![0.0, 1.0, 3.0]);
        let b = Distinct::from_unsorted(vec![5.0, 6.0, 8.0]);
        assert!((wasserstein(&a, &b) - 5.0).abs() < 1e-15);
        assert_eq!(wasserstein(&a, &a), 0.0);
    }

    #[test]
    fn union_length_stops_at_the_limit() {
        let a = Distinct::from_unsorted(vec![1.0, 2.0, 3.0]);
        let b = Distinct::from_unsorted(vec![2.0, 4.0]);
        assert_eq!(union_len_up_to(&a, &b, 10), 4);
        assert_eq!(union_len_up_to(&a, &b, 2), 2);
        assert_eq!(union_len_up_to(&a, &Distinct::default(), 10), 3);
    }

    #[test]
    fn categories_align_on_the_union() {
        let aligned = aligned_categories(&[("a", 3), ("c", 1)], &[("b", 2), ("c", 4)]);
        assert_eq!(aligned, vec![(3, 0), (0, 2), (1, 4)]);
    }
}
