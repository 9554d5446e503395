//! Chi-square and the two-proportion Z-test over aligned counts (one entry per value or
//! category of reference and current together, in sorted order).

use super::special::{chi_square_sf, normal_two_sided};

/// Pearson's chi-square of the current counts against the reference counts scaled to the
/// current size, as Evidently calls `scipy.stats.chisquare`: `(statistic, p)`.
///
/// A category seen only in the current window has an expected count of zero, so the statistic
/// is infinite and p is 0 (as in Evidently). With a single category overall there are no
/// degrees of freedom; Evidently reports NaN (never drift), this crate reports statistic 0 and
/// p = 1, which says the same thing and keeps every score a number.
pub(crate) fn chi_square(aligned: &[(u64, u64)]) -> (f64, f64) {
    if aligned.len() < 2 {
        return (0.0, 1.0);
    }
    let n_ref: u64 = aligned.iter().map(|(a, _)| a).sum();
    let n_cur: u64 = aligned.iter().map(|(_, b)| b).sum();
    let scale = n_cur as f64 / n_ref as f64;
    let statistic: f64 = aligned
        .iter()
        .map(|(a, b)| {
            let expected = *a as f64 * scale;
            let gap = *b as f64 - expected;
            gap * gap / expected
        })
        .sum();
    (
        statistic,
        chi_square_sf(statistic, aligned.len() as u64 - 1),
    )
}

/// The Z-test for two proportions: the share of values other than the first (smallest) value
/// or category, reference against current, as Evidently computes it: `(z, p)`, two-sided.
/// When both windows hold one and the same value, p is 1 (Evidently's rule) and z is 0.
pub(crate) fn z_test(aligned: &[(u64, u64)]) -> (f64, f64) {
    let Some(((first_ref, first_cur), _)) = aligned.split_first() else {
        return (0.0, 1.0);
    };
    if aligned.len() == 1 {
        return (0.0, 1.0);
    }
    let n1 = aligned.iter().map(|(a, _)| a).sum::<u64>() as f64;
    let n2 = aligned.iter().map(|(_, b)| b).sum::<u64>() as f64;
    let p1 = (n1 - *first_ref as f64) / n1;
    let p2 = (n2 - *first_cur as f64) / n2;
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    (z, normal_two_sided(z))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from scipy 1.17.1.
    #[test]
    fn chi_square_matches_scipy() {
        // scipy.stats.chisquare([30, 50, 20], [40, 40, 20]) = (5.0, 0.0820849986238988).
        let (statistic, p) = chi_square(&[(40, 30), (40, 50), (20, 20)]);
        assert!((statistic - 5.0).abs() < 1e-12);
        assert!((p - 0.0820849986238988).abs() < 1e-12);
    }

    #[test]
    fn new_category_is_infinitely_surprising() {
        let (statistic, p) = chi_square(&[(10, 5), (0, 5)]);
        assert!(statistic.is_infinite());
        assert_eq!(p, 0.0);
    }

    #[test]
    fn z_test_matches_the_textbook_formula() {
        // Reference 40 of 100 other than the first value, current 60 of 100: pooled 0.5,
        // z = -0.2 / sqrt(0.25 * 0.02) = -2.8284271247461903.
        let (z, p) = z_test(&[(60, 40), (40, 60)]);
        assert!((z + 2.828_427_124_746_190_3).abs() < 1e-12);
        // 2 * scipy.stats.norm.sf(2.8284271247461903) = 0.0046777349810472576.
        assert!((p - 0.004_677_734_981_047_257_6).abs() < 1e-12);
        assert_eq!(z_test(&[(7, 3)]), (0.0, 1.0));
    }
}
