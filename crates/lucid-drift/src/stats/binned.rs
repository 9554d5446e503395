//! PSI and Jensen-Shannon distance over bins, binned as Evidently's `get_binned_data` does.
//!
//! A numeric column whose reference has more than 20 distinct values is cut into Sturges bins
//! (`numpy.histogram_bin_edges(reference + current, bins="sturges")`): `ceil(range / width)`
//! equal bins with `width = range / (log2(n_ref + n_cur) + 1)`, each bin closed on the left and
//! the last one closed on both sides. Every other column gets one bin per distinct value (or
//! category) of reference and current together. Shares are counts divided by the window's size.
//!
//! PSI cannot take an empty bin (the logarithm of zero), so, in each window separately, a share
//! of zero becomes 0.0001, or a millionth of the smallest non-zero share when that is at most
//! 0.0001. Jensen-Shannon handles empty bins as they are (`0 ln 0 = 0`).

use super::{aligned_numbers, walk_union};
use crate::distinct::{Distinct, sum};

/// Reference distinct values above which a numeric column is binned rather than counted.
const MAX_COUNTED_VALUES: usize = 20;

/// The share of each window's values in each bin, the bins aligned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shares {
    pub(crate) reference: Vec<f64>,
    pub(crate) current: Vec<f64>,
}

/// Shares for a numeric column: Sturges bins or one bin per distinct value.
pub(crate) fn numeric_shares(reference: &Distinct, current: &Distinct) -> Shares {
    if reference.distinct() > MAX_COUNTED_VALUES {
        histogram_shares(reference, current)
    } else {
        count_shares(&aligned_numbers(reference, current))
    }
}

/// Shares from aligned counts, one bin per value.
pub(crate) fn count_shares(aligned: &[(u64, u64)]) -> Shares {
    let n_ref = aligned.iter().map(|(a, _)| a).sum::<u64>() as f64;
    let n_cur = aligned.iter().map(|(_, b)| b).sum::<u64>() as f64;
    Shares {
        reference: aligned.iter().map(|(a, _)| *a as f64 / n_ref).collect(),
        current: aligned.iter().map(|(_, b)| *b as f64 / n_cur).collect(),
    }
}

fn histogram_shares(reference: &Distinct, current: &Distinct) -> Shares {
    let n = reference.total() + current.total();
    let (low, high) = match (reference.range(), current.range()) {
        (Some((a, b)), Some((c, d))) => (a.min(c), b.max(d)),
        (Some(range), None) | (None, Some(range)) => range,
        (None, None) => (0.0, 0.0),
    };
    let edges = sturges_edges(low, high, n);
    let bins = edges.len() - 1;
    let mut counts = vec![(0_u64, 0_u64); bins];
    let mut bin = 0;
    walk_union(reference, current, |value, a, b| {
        // Values come in ascending order: move right while the value reaches the next edge.
        while bin + 1 < bins && value >= edges[bin + 1] {
            bin += 1;
        }
        counts[bin].0 += a;
        counts[bin].1 += b;
    });
    let (n_ref, n_cur) = (reference.total() as f64, current.total() as f64);
    Shares {
        reference: counts.iter().map(|(a, _)| *a as f64 / n_ref).collect(),
        current: counts.iter().map(|(_, b)| *b as f64 / n_cur).collect(),
    }
}

/// numpy's Sturges edges for `n` values spanning `[low, high]`, computed with numpy's
/// arithmetic (`linspace` as `i * step + start`, the last edge exactly `high`).
fn sturges_edges(low: f64, high: f64, n: u64) -> Vec<f64> {
    let width = (high - low) / ((n as f64).log2() + 1.0);
    let (first, last) = if low == high {
        (low - 0.5, high + 0.5)
    } else {
        (low, high)
    };
    let bins = if width > 0.0 {
        ((last - first) / width).ceil() as usize
    } else {
        1
    };
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..bins).map(|i| i as f64 * step + first).collect();
    edges.push(last);
    edges
}

/// Population stability index: `Σ (r - c) ln(r / c)` over the bins, empty bins filled.
pub(crate) fn psi(shares: &Shares) -> f64 {
    let reference = fill_empty(&shares.reference);
    let current = fill_empty(&shares.current);
    sum(reference
        .iter()
        .zip(&current)
        .map(|(r, c)| (r - c) * (r / c).ln()))
}

fn fill_empty(shares: &[f64]) -> Vec<f64> {
    let smallest = shares
        .iter()
        .copied()
        .filter(|share| *share != 0.0)
        .fold(f64::INFINITY, f64::min);
    let fill = if smallest <= 0.0001 {
        smallest / 1e6
    } else {
        0.0001
    };
    shares
        .iter()
        .map(|share| if *share == 0.0 { fill } else { *share })
        .collect()
}

/// Jensen-Shannon distance with natural logarithms (scipy's `jensenshannon`, base e), between
/// 0 and `sqrt(ln 2)`.
pub(crate) fn jensen_shannon(shares: &Shares) -> f64 {
    let p_total = sum(shares.reference.iter().copied());
    let q_total = sum(shares.current.iter().copied());
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for (p, q) in shares.reference.iter().zip(&shares.current) {
        let (p, q) = (p / p_total, q / q_total);
        let m = (p + q) / 2.0;
        left.push(relative_entropy(p, m));
        right.push(relative_entropy(q, m));
    }
    ((sum(left) + sum(right)) / 2.0).sqrt()
}

/// scipy's `rel_entr(x, y)`: `x ln(x / y)`, 0 when `x` is 0.
fn relative_entropy(x: f64, y: f64) -> f64 {
    if x == 0.0 { 0.0 } else { x * (x / y).ln() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sturges_edges_match_numpy() {
        // numpy.histogram_bin_edges(numpy.arange(100.0), bins="sturges"): 8 bins of 99/8.
        let edges = sturges_edges(0.0, 99.0, 100);
        assert_eq!(edges.len(), 9);
        assert_eq!(edges[1], 12.375);
        assert_eq!(edges[8], 99.0);
    }

    #[test]
    fn psi_fills_empty_bins_per_window() {
        let shares = Shares {
            reference: vec![0.5, 0.5],
            current: vec![1.0, 0.0],
        };
        // The empty current bin becomes 0.0001: 0.5 ln(0.5) + 0.4999 ln(0.5 / 0.0001).
        let expected = (0.5 - 1.0) * 0.5_f64.ln() + (0.5 - 0.0001) * (0.5_f64 / 0.0001).ln();
        assert!((psi(&shares) - expected).abs() < 1e-15);
    }

    #[test]
    fn jensen_shannon_of_disjoint_windows_is_root_ln_two() {
        let shares = Shares {
            reference: vec![1.0, 0.0],
            current: vec![0.0, 1.0],
        };
        assert!((jensen_shannon(&shares) - 2_f64.ln().sqrt()).abs() < 1e-15);
    }
}
