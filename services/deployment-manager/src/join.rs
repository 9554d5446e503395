//! Joining predictions with what the listener then did.
//!
//! The rule: a prediction for track `t` in session `s`, made at time `p`, is labelled by the
//! first `SKIP` or `COMPLETE` listening event of the same session and track whose event time
//! lies in `[p - skew, p + window]`: `SKIP` is label 1 (the skip model predicts the
//! probability of a skip), `COMPLETE` label 0. `PAUSE`, `RESUME` and `PLAY` say nothing about
//! the outcome and are ignored. The simulator (`lucid-simulator`, `session.rs`) ends every
//! played track with exactly one of the two, at play time plus the time heard, so the window
//! must cover a track's length plus pauses; the skew covers the phone's clock running ahead of
//! the gateway's. A track played twice in a session is told apart by time: the earlier
//! outcome lies before the later prediction's `p - skew`.
//!
//! The two topics are read independently, so either side may arrive first; both wait in
//! memory until matched or until the watermark (the newest time seen) passes them by more than
//! `window + skew`. Predictions without a session or track cannot be joined and are left out.
//! Every prediction that shares a key and time range is labelled by the same outcome, so a
//! shadow prediction of the same request is judged on the same listener action.

use std::collections::HashMap;

/// A prediction as the analysis needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Registered model name.
    pub model: String,
    /// Version that produced the score.
    pub version: String,
    /// Listening session.
    pub session_id: String,
    /// Track scored.
    pub track_id: i64,
    /// Probability of a skip.
    pub score: f64,
    /// The time it was made as of, epoch milliseconds: the clock the join runs on.
    pub predicted_ms: i64,
    /// When the gateway logged it (the record's timestamp), epoch milliseconds: the traffic step
    /// it belongs to. The same as `predicted_ms` but for replays made as of an earlier time
    /// (the gateway's `request_time`), which the route table in force now still served.
    pub served_ms: i64,
}

/// What the listener did with a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// 1 = skipped, 0 = completed.
    pub label: u8,
    /// When, epoch milliseconds (phone clock).
    pub event_ms: i64,
}

/// A prediction with its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The prediction.
    pub prediction: Prediction,
    /// 1 = skipped, 0 = completed.
    pub label: u8,
}

type Key = (String, i64);

/// Pending predictions and outcomes, by session and track.
#[derive(Debug)]
pub struct Joiner {
    window_ms: i64,
    skew_ms: i64,
    predictions: HashMap<Key, Vec<Prediction>>,
    outcomes: HashMap<Key, Vec<Outcome>>,
    watermark: i64,
}

impl Joiner {
    /// A joiner that waits `window_ms` after a prediction for its outcome.
    pub fn new(window_ms: i64, skew_ms: i64) -> Joiner {
        Joiner {
            window_ms,
            skew_ms,
            predictions: HashMap::new(),
            outcomes: HashMap::new(),
            watermark: i64::MIN,
        }
    }

    fn matches(&self, prediction: &Prediction, outcome: &Outcome) -> bool {
        outcome.event_ms >= prediction.predicted_ms - self.skew_ms
            && outcome.event_ms <= prediction.predicted_ms + self.window_ms
    }

    /// Adds a prediction; returns it labelled when its outcome is already known.
    pub fn prediction(&mut self, prediction: Prediction) -> Option<Scored> {
        self.advance(prediction.predicted_ms);
        let key = (prediction.session_id.clone(), prediction.track_id);
        let label = self.outcomes.get(&key).and_then(|outcomes| {
            outcomes
                .iter()
                .filter(|o| self.matches(&prediction, o))
                .min_by_key(|o| o.event_ms)
                .map(|o| o.label)
        });
        match label {
            Some(label) => Some(Scored { prediction, label }),
            None => {
                self.predictions.entry(key).or_default().push(prediction);
                None
            }
        }
    }

    /// Adds an outcome; returns the waiting predictions it labels.
    pub fn outcome(&mut self, session_id: &str, track_id: i64, outcome: Outcome) -> Vec<Scored> {
        self.advance(outcome.event_ms);
        let key = (session_id.to_owned(), track_id);
        let mut labelled = Vec::new();
        if let Some(waiting) = self.predictions.remove(&key) {
            let (hit, rest): (Vec<_>, Vec<_>) =
                waiting.into_iter().partition(|p| self.matches(p, &outcome));
            labelled.extend(hit.into_iter().map(|prediction| Scored {
                prediction,
                label: outcome.label,
            }));
            if !rest.is_empty() {
                self.predictions.insert(key.clone(), rest);
            }
        }
        self.outcomes.entry(key).or_default().push(outcome);
        labelled
    }

    /// Entries waiting (predictions, outcomes).
    pub fn pending(&self) -> (usize, usize) {
        (
            self.predictions.values().map(Vec::len).sum(),
            self.outcomes.values().map(Vec::len).sum(),
        )
    }

    /// Moves the watermark and drops what can no longer match.
    fn advance(&mut self, time: i64) {
        if time <= self.watermark {
            return;
        }
        let before = self.watermark;
        self.watermark = time;
        // Sweep at most once per window of progress: entries live at least window + skew.
        let horizon = self.window_ms + self.skew_ms;
        if before != i64::MIN && time - before < horizon.max(1) / 4 {
            return;
        }
        let cutoff = time - 2 * horizon;
        self.predictions.retain(|_, ps| {
            ps.retain(|p| p.predicted_ms >= cutoff);
            !ps.is_empty()
        });
        self.outcomes.retain(|_, os| {
            os.retain(|o| o.event_ms >= cutoff);
            !os.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(version: &str, session: &str, track: i64, at: i64) -> Prediction {
        Prediction {
            model: "skip".into(),
            version: version.into(),
            session_id: session.into(),
            track_id: track,
            score: 0.5,
            predicted_ms: at,
            served_ms: at,
        }
    }

    #[test]
    fn a_later_skip_labels_the_prediction_one() {
        let mut joiner = Joiner::new(600_000, 5_000);
        assert_eq!(joiner.prediction(prediction("1", "s", 7, 1_000)), None);
        let scored = joiner.outcome(
            "s",
            7,
            Outcome {
                label: 1,
                event_ms: 40_000,
            },
        );
        assert_eq!(scored.len(), 1);
        assert_eq!(scored[0].label, 1);
        assert_eq!(joiner.pending().0, 0);
    }

    #[test]
    fn an_outcome_seen_first_labels_a_later_arriving_prediction_and_its_shadow() {
        let mut joiner = Joiner::new(600_000, 5_000);
        let complete = Outcome {
            label: 0,
            event_ms: 200_000,
        };
        assert!(joiner.outcome("s", 7, complete).is_empty());
        let live = joiner.prediction(prediction("1", "s", 7, 1_000));
        let shadow = joiner.prediction(prediction("2", "s", 7, 1_010));
        assert_eq!(live.map(|s| s.label), Some(0));
        assert_eq!(shadow.map(|s| s.label), Some(0));
    }

    #[test]
    fn outcomes_of_other_tracks_sessions_or_times_do_not_label() {
        let mut joiner = Joiner::new(600_000, 5_000);
        joiner.prediction(prediction("1", "s", 7, 1_000_000));
        let skip = |at| Outcome {
            label: 1,
            event_ms: at,
        };
        assert!(joiner.outcome("s", 8, skip(1_010_000)).is_empty());
        assert!(joiner.outcome("t", 7, skip(1_010_000)).is_empty());
        // An earlier play of the same track, before the prediction's skew.
        assert!(joiner.outcome("s", 7, skip(990_000)).is_empty());
        // Too late: past the window.
        assert!(joiner.outcome("s", 7, skip(1_700_000)).is_empty());
    }

    #[test]
    fn old_entries_are_dropped_past_the_watermark() {
        let mut joiner = Joiner::new(1_000, 100);
        joiner.prediction(prediction("1", "s", 1, 0));
        joiner.outcome(
            "x",
            1,
            Outcome {
                label: 0,
                event_ms: 0,
            },
        );
        joiner.prediction(prediction("1", "s", 2, 10_000));
        assert_eq!(joiner.pending(), (1, 0));
    }
}
