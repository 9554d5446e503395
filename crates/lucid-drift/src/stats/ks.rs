//! The two-sample Kolmogorov-Smirnov test, two-sided, as scipy's `ks_2samp(method="auto")`.
//!
//! The statistic is the largest gap between the two empirical CDFs over the distinct values of
//! both samples. The p-value is exact when neither sample has more than 10,000 values (the
//! lattice-path counts of Hodges 1958, with Viehmann's 2021 recursion for `1 - p`), else
//! asymptotic: the one-sample distribution of `D_n` at `n = round(n1 n2 / (n1 + n2))`. In exact
//! mode the statistic is reported as `h / lcm(n1, n2)` for the integer `h` it equals, as scipy
//! does.

use super::{kolmogorov, walk_union};
use crate::distinct::Distinct;

/// Above this many values in either sample, scipy's `auto` mode uses the asymptotic p-value.
const MAX_EXACT: u64 = 10_000;

/// `(D, p)` for two non-empty samples.
pub(crate) fn two_sample(reference: &Distinct, current: &Distinct) -> (f64, f64) {
    let (n1, n2) = (reference.total(), current.total());
    let (mut c1, mut c2) = (0_u64, 0_u64);
    let (mut largest_gap, mut widest) = (0.0_f64, 0_u128);
    walk_union(reference, current, |_, a, b| {
        c1 += a;
        c2 += b;
        // scipy's floating-point gap, and the exact one: |c1/n1 - c2/n2| = |c1 n2 - c2 n1| / n1 n2.
        let gap = (c1 as f64 / n1 as f64 - c2 as f64 / n2 as f64).abs();
        largest_gap = largest_gap.max(gap);
        let exact = (u128::from(c1) * u128::from(n2)).abs_diff(u128::from(c2) * u128::from(n1));
        widest = widest.max(exact);
    });

    if n1.max(n2) <= MAX_EXACT {
        let g = gcd(n1, n2);
        let lcm = (n1 / g) * n2;
        // |c1 n2 - c2 n1| is a multiple of g; divided by it, it is the gap in units of 1/lcm.
        let h = (widest / u128::from(g)) as u64;
        let d = h as f64 / lcm as f64;
        if h == 0 {
            return (d, 1.0);
        }
        let p = if n1 == n2 {
            outside_square(n1, h)
        } else {
            outside_band(n1, n2, g, h)
        };
        if (0.0..=1.0).contains(&p) {
            return (d, p);
        }
        return (d, asymptotic(d, n1, n2));
    }
    (largest_gap, asymptotic(largest_gap, n1, n2))
}

fn asymptotic(d: f64, n1: u64, n2: u64) -> f64 {
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let effective = (m * n / (m + n)).round_ties_even() as u64;
    kolmogorov::sf(d, effective).clamp(0.0, 1.0)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `P(D >= h/n)` for two samples of `n` values: the share of lattice paths that leave the band
/// `|x - y| < h`, by the alternating sum of binomial ratios evaluated Horner-style.
fn outside_square(n: u64, h: u64) -> f64 {
    let (n, h) = (n as i64, h as i64);
    let mut p = 0.0;
    for k in (0..=n / h).rev() {
        let mut ratio = 1.0;
        for j in 0..h {
            ratio = (n - k * h - j) as f64 * ratio / (n + k * h + j + 1) as f64;
        }
        p = ratio * (1.0 - p);
    }
    2.0 * p
}

/// `P(D >= h / lcm(m, n))` for samples of `m` and `n` values: one minus the share of lattice
/// paths from (0, 0) to (m, n) that stay strictly inside `|x/m - y/n| < h / lcm`, computed
/// column by column as a running share so nothing overflows (Viehmann 2021).
fn outside_band(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
    let (mg, ng) = ((m / g) as f64, (n / g) as f64);
    let hf = h as f64;

    let mut min_j = 0_i64;
    let mut max_j = ((hf / mg).ceil() as i64).min(n + 1);
    let mut current_len = max_j - min_j;
    let len = (2 * max_j + 2).min(n + 1) as usize;
    // Entries past the live part of the column stand for paths already outside: share 1.
    let mut column = vec![1.0_f64; len];
    column[..max_j as usize].fill(0.0);
    for i in 1..=m {
        let (last_min_j, last_len) = (min_j, current_len);
        let i_f = i as f64;
        min_j = (((ng * i_f - hf) / mg).floor() as i64 + 1).clamp(0, n);
        max_j = (((ng * i_f + hf) / mg).ceil() as i64).min(n + 1);
        if max_j <= min_j {
            return 1.0;
        }
        let mut value = if min_j == 0 { 0.0 } else { 1.0 };
        for jj in 0..(max_j - min_j) {
            let j = (jj + min_j) as f64;
            let left = column
                .get((jj + min_j - last_min_j) as usize)
                .copied()
                .unwrap_or(1.0);
            value = (left * i_f + value * j) / (i_f + j);
            if let Some(slot) = column.get_mut(jj as usize) {
                *slot = value;
            }
        }
        current_len = max_j - min_j;
        if last_len > current_len {
            let start = (current_len as usize).min(len);
            let end = (last_len as usize).min(len);
            column[start..end].fill(1.0);
        }
    }
    column
        .get((max_j - min_j - 1) as usize)
        .copied()
        .unwrap_or(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(values: &[f64]) -> Distinct {
        Distinct::from_unsorted(values.to_vec())
    }

    // Expected values from scipy 1.17.1, scipy.stats.ks_2samp(a, b).
    #[test]
    fn exact_p_values_match_scipy() {
        let a = sample(&[0.1, 0.5, 0.9, 1.3, 2.2, 2.8, 3.0]);
        let b = sample(&[1.0, 1.5, 2.5, 3.5, 4.0]);
        let (d, p) = two_sample(&a, &b);
        assert!((d - 0.42857142857142855).abs() < 1e-15, "{d}");
        assert!((p - 0.5454545454545454).abs() < 1e-12, "{p}");

        let c = sample(&[0.0, 1.0, 2.0, 3.0]);
        let e = sample(&[2.5, 3.5, 4.5, 5.5]);
        let (d, p) = two_sample(&c, &e);
        assert!((d - 0.75).abs() < 1e-15, "{d}");
        assert!((p - 0.22857142857142862).abs() < 1e-12, "{p}");
    }

    #[test]
    fn identical_samples_have_p_one() {
        let a = sample(&[1.0, 2.0, 2.0, 3.0]);
        assert_eq!(two_sample(&a, &a), (0.0, 1.0));
    }
}
