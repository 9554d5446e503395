//! Live-outcome analysis of one side of a rollout (stable or candidate): log loss and expected
//! calibration error of its scores against what listeners did, the share of predictions that
//! were not probabilities (its error rate), and the gateway's p99 latency. Then the verdict that
//! compares the two sides.
//!
//! Log loss clips scores to `[1e-15, 1 - 1e-15]` as scikit-learn does, so one confident miss
//! costs about 34.5 rather than infinity. Calibration uses 10 equal-width bins over `[0, 1]`
//! (a score of exactly 1 falls in the last): `ECE = sum_b n_b / N * |mean label_b - mean score_b|`.
//! p99 is the nearest-rank percentile.

use serde::{Deserialize, Serialize};

/// Number of equal-width calibration bins.
pub const CALIBRATION_BINS: usize = 10;

const CLIP: f64 = 1e-15;

/// Running sums of one side during one step.
#[derive(Debug, Clone, Default)]
pub struct SideStats {
    predictions: u64,
    errors: u64,
    latencies_us: Vec<i64>,
    outcomes: u64,
    log_loss_sum: f64,
    bins: [Bin; CALIBRATION_BINS],
}

#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    count: u64,
    score_sum: f64,
    label_sum: f64,
}

impl SideStats {
    /// Counts a served prediction (joined or not).
    pub fn prediction(&mut self, score: f64, latency_us: i64) {
        self.predictions += 1;
        if !is_probability(score) {
            self.errors += 1;
        }
        // Bounded by the predictions of one step of one rollout; a step is minutes to hours.
        self.latencies_us.push(latency_us.max(0));
    }

    /// Counts a prediction joined with its outcome; `label` 1 = skipped, 0 = completed.
    /// Scores that are not probabilities are errors, not outcomes.
    pub fn outcome(&mut self, score: f64, label: u8) {
        if !is_probability(score) {
            return;
        }
        let y = f64::from(label.min(1));
        let p = score.clamp(CLIP, 1.0 - CLIP);
        self.outcomes += 1;
        self.log_loss_sum -= y * p.ln() + (1.0 - y) * (1.0 - p).ln();
        let bin = ((score * CALIBRATION_BINS as f64) as usize).min(CALIBRATION_BINS - 1);
        let bin = &mut self.bins[bin];
        bin.count += 1;
        bin.score_sum += score;
        bin.label_sum += y;
    }

    /// The numbers the verdict reads.
    pub fn summary(&self) -> SideSummary {
        let n = self.outcomes as f64;
        let (log_loss, calibration_error) = if self.outcomes == 0 {
            (None, None)
        } else {
            let ece = self
                .bins
                .iter()
                .filter(|b| b.count > 0)
                .map(|b| {
                    let count = b.count as f64;
                    count / n * (b.label_sum / count - b.score_sum / count).abs()
                })
                .sum();
            (Some(self.log_loss_sum / n), Some(ece))
        };
        let (error_rate, p99_latency_ms) = if self.predictions == 0 {
            (None, None)
        } else {
            let rate = self.errors as f64 / self.predictions as f64;
            (Some(rate), Some(p99(&self.latencies_us) as f64 / 1000.0))
        };
        SideSummary {
            outcomes: self.outcomes,
            predictions: self.predictions,
            log_loss,
            calibration_error,
            error_rate,
            p99_latency_ms,
        }
    }
}

fn is_probability(score: f64) -> bool {
    (0.0..=1.0).contains(&score)
}

/// Nearest-rank 99th percentile; 0 for no values.
fn p99(values: &[i64]) -> i64 {
    if values.is_empty() {
        return 0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (0.99 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One side's numbers for a step. `None` (or NaN) means not computable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideSummary {
    /// Predictions joined with an outcome.
    pub outcomes: u64,
    /// Predictions served.
    pub predictions: u64,
    /// Mean log loss.
    pub log_loss: Option<f64>,
    /// Expected calibration error.
    pub calibration_error: Option<f64>,
    /// Share of predictions whose score was not a probability.
    pub error_rate: Option<f64>,
    /// p99 gateway latency, milliseconds.
    pub p99_latency_ms: Option<f64>,
}

/// Both sides of one analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// The champion (or, after a blue-green switch, the champion's preview numbers).
    pub stable: SideSummary,
    /// The candidate.
    pub candidate: SideSummary,
}

/// The outcome of comparing the sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The candidate is not worse beyond the margins.
    Successful,
    /// The candidate is worse beyond a margin.
    Failed,
    /// Too few outcomes, or a metric missing or NaN.
    Inconclusive,
}

impl Verdict {
    /// Upper-case name, as in events and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Successful => "SUCCESSFUL",
            Verdict::Failed => "FAILED",
            Verdict::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// Margins by which the candidate may be worse than stable and still pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Scored outcomes each side needs before a step can be judged.
    pub min_outcomes: u64,
    /// Largest allowed `candidate log loss - stable log loss`.
    pub max_log_loss_increase: f64,
    /// Largest allowed `candidate ECE - stable ECE`.
    pub max_calibration_error_increase: f64,
    /// Largest allowed `candidate error rate - stable error rate`.
    pub max_error_rate_increase: f64,
    /// Largest allowed `candidate p99 / stable p99` (checked when stable p99 is above 1 ms).
    pub max_latency_ratio: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_outcomes: 200,
            max_log_loss_increase: 0.02,
            max_calibration_error_increase: 0.05,
            max_error_rate_increase: 0.01,
            max_latency_ratio: 1.5,
        }
    }
}

/// Why a judgement came out as it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// True when the verdict is inconclusive only for lack of outcomes (more may come).
    pub too_few: bool,
    /// In words.
    pub reason: String,
}

/// Compares the sides: inconclusive first (counts, then missing or NaN metrics), then each
/// margin in turn; the first broken margin fails the candidate.
pub fn judge(thresholds: &Thresholds, analysis: &Analysis) -> Judgement {
    let (stable, candidate) = (&analysis.stable, &analysis.candidate);
    let min = thresholds.min_outcomes.max(1);
    if stable.outcomes < min || candidate.outcomes < min {
        return Judgement {
            verdict: Verdict::Inconclusive,
            too_few: true,
            reason: format!(
                "too few outcomes: stable {}, candidate {}, need {min} each",
                stable.outcomes, candidate.outcomes
            ),
        };
    }
    let pairs = [
        ("log loss", stable.log_loss, candidate.log_loss),
        (
            "calibration error",
            stable.calibration_error,
            candidate.calibration_error,
        ),
        ("error rate", stable.error_rate, candidate.error_rate),
        (
            "p99 latency",
            stable.p99_latency_ms,
            candidate.p99_latency_ms,
        ),
    ];
    let mut values = Vec::with_capacity(pairs.len());
    for (name, s, c) in pairs {
        match (s.filter(|v| v.is_finite()), c.filter(|v| v.is_finite())) {
            (Some(s), Some(c)) => values.push((s, c)),
            _ => {
                return Judgement {
                    verdict: Verdict::Inconclusive,
                    too_few: false,
                    reason: format!("{name} is missing or not a number"),
                };
            }
        }
    }
    let [(s_ll, c_ll), (s_ece, c_ece), (s_err, c_err), (s_lat, c_lat)] = values[..] else {
        unreachable!("four pairs were pushed")
    };
    let failed = |reason: String| Judgement {
        verdict: Verdict::Failed,
        too_few: false,
        reason,
    };
    if c_ll - s_ll > thresholds.max_log_loss_increase {
        return failed(format!(
            "log loss {c_ll:.4} exceeds stable {s_ll:.4} by more than {}",
            thresholds.max_log_loss_increase
        ));
    }
    if c_ece - s_ece > thresholds.max_calibration_error_increase {
        return failed(format!(
            "calibration error {c_ece:.4} exceeds stable {s_ece:.4} by more than {}",
            thresholds.max_calibration_error_increase
        ));
    }
    if c_err - s_err > thresholds.max_error_rate_increase {
        return failed(format!(
            "error rate {c_err:.4} exceeds stable {s_err:.4} by more than {}",
            thresholds.max_error_rate_increase
        ));
    }
    if s_lat > 1.0 && c_lat > s_lat * thresholds.max_latency_ratio {
        return failed(format!(
            "p99 latency {c_lat:.1} ms is more than {} times stable {s_lat:.1} ms",
            thresholds.max_latency_ratio
        ));
    }
    Judgement {
        verdict: Verdict::Successful,
        too_few: false,
        reason: format!(
            "log loss {c_ll:.4} vs {s_ll:.4}, calibration error {c_ece:.4} vs {s_ece:.4}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn log_loss_and_calibration_match_hand_computed_values() {
        // Scores and labels: (0.9, 1), (0.8, 1), (0.3, 0), (0.6, 0).
        // Log loss = -(ln .9 + ln .8 + ln .7 + ln .4) / 4
        //          = (0.1053605157 + 0.2231435513 + 0.3566749439 + 0.9162907319) / 4
        //          = 0.4003674357.
        // Bins: 9 -> {0.9: 1}, 8 -> {0.8: 1}, 3 -> {0.3: 0}, 6 -> {0.6: 0};
        // ECE = (0.1 + 0.2 + 0.3 + 0.6) / 4 = 0.3.
        let mut side = SideStats::default();
        for (score, label) in [(0.9, 1), (0.8, 1), (0.3, 0), (0.6, 0)] {
            side.prediction(score, 1000);
            side.outcome(score, label);
        }
        let s = side.summary();
        assert_eq!((s.outcomes, s.predictions), (4, 4));
        close(s.log_loss.expect("log loss"), 0.400_367_435_7);
        close(s.calibration_error.expect("ece"), 0.3);
        close(s.error_rate.expect("rate"), 0.0);
        close(s.p99_latency_ms.expect("p99"), 1.0);
    }

    #[test]
    fn calibration_averages_within_a_bin() {
        // Bin 7 holds 0.7 and 0.75 with labels 1 and 0: |0.5 - 0.725| = 0.225, weight 2/3.
        // Bin 1 holds 0.1 with label 0: |0 - 0.1| = 0.1, weight 1/3.
        // ECE = 0.15 + 0.0333333333 = 0.1833333333.
        let mut side = SideStats::default();
        for (score, label) in [(0.7, 1), (0.75, 0), (0.1, 0)] {
            side.outcome(score, label);
        }
        close(
            side.summary().calibration_error.expect("ece"),
            0.183_333_333_333,
        );
    }

    #[test]
    fn scores_that_are_not_probabilities_are_errors() {
        let mut side = SideStats::default();
        for score in [0.5, f64::NAN, 1.5, 0.2] {
            side.prediction(score, 0);
            side.outcome(score, 0);
        }
        let s = side.summary();
        assert_eq!(s.outcomes, 2);
        close(s.error_rate.expect("rate"), 0.5);
    }

    #[test]
    fn p99_is_the_nearest_rank() {
        let values: Vec<i64> = (1..=200).collect();
        // ceil(0.99 * 200) = 198.
        assert_eq!(p99(&values), 198);
        assert_eq!(p99(&[7]), 7);
    }

    #[test]
    fn confident_misses_are_clipped_not_infinite() {
        let mut side = SideStats::default();
        side.outcome(0.0, 1);
        close(side.summary().log_loss.expect("ll"), -(1e-15f64).ln());
    }

    fn summary(outcomes: u64, log_loss: f64, ece: f64) -> SideSummary {
        SideSummary {
            outcomes,
            predictions: outcomes,
            log_loss: Some(log_loss),
            calibration_error: Some(ece),
            error_rate: Some(0.0),
            p99_latency_ms: Some(10.0),
        }
    }

    #[test]
    fn verdicts_follow_the_margins() {
        let t = Thresholds {
            min_outcomes: 10,
            ..Thresholds::default()
        };
        let ok = Analysis {
            stable: summary(50, 0.60, 0.05),
            candidate: summary(50, 0.61, 0.06),
        };
        assert_eq!(judge(&t, &ok).verdict, Verdict::Successful);

        let worse = Analysis {
            candidate: summary(50, 0.65, 0.05),
            ..ok.clone()
        };
        let j = judge(&t, &worse);
        assert_eq!(j.verdict, Verdict::Failed);
        assert!(j.reason.contains("log loss"), "{}", j.reason);

        let few = Analysis {
            candidate: summary(9, 0.5, 0.0),
            ..ok.clone()
        };
        let j = judge(&t, &few);
        assert_eq!((j.verdict, j.too_few), (Verdict::Inconclusive, true));

        let mut nan = ok.clone();
        nan.candidate.calibration_error = Some(f64::NAN);
        let j = judge(&t, &nan);
        assert_eq!((j.verdict, j.too_few), (Verdict::Inconclusive, false));

        let mut missing = ok;
        missing.stable.log_loss = None;
        assert_eq!(judge(&t, &missing).verdict, Verdict::Inconclusive);
    }
}
