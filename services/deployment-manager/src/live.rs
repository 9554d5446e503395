//! What the consumer has seen for the models under rollout, kept until the analysis needs it:
//! served predictions and joined outcomes per version with their prediction time, and the
//! registry's champion alias as last observed.
//!
//! A step's analysis reads only what was served since the step began (by the time the gateway
//! logged it, see `join::Prediction::served_ms`), so the buffers are
//! cut at the oldest step start of the model's active rollout on every tick.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::analysis::{Analysis, SideStats};

#[derive(Debug, Clone, Copy)]
enum Seen {
    Prediction { score: f64, latency_us: i64 },
    Outcome { score: f64, label: u8 },
}

#[derive(Debug, Default)]
struct Model {
    /// (version, prediction time, what).
    seen: Vec<(String, i64, Seen)>,
    /// Versions under rollout: only these are kept.
    versions: Vec<String>,
    /// Champion alias as observed, and when the observation was taken.
    champion: Option<(Option<String>, i64)>,
}

/// Shared between the consumer, the registry poller and the ticker.
#[derive(Debug, Clone, Default)]
pub struct Live {
    models: Arc<Mutex<HashMap<String, Model>>>,
}

impl Live {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Model>) -> T) -> T {
        let mut models = self
            .models
            .lock()
            .expect("live state lock is never poisoned");
        f(&mut models)
    }

    /// Keeps records of these versions of `model` (those of its active rollout).
    pub fn watch(&self, model: &str, versions: &[&str]) {
        self.with(|m| {
            m.entry(model.to_owned()).or_default().versions =
                versions.iter().map(|v| (*v).to_owned()).collect();
        });
    }

    /// True when records of `model` at `version` are kept.
    pub fn wants(&self, model: &str, version: &str) -> bool {
        self.with(|m| {
            m.get(model)
                .is_some_and(|x| x.versions.iter().any(|v| v == version))
        })
    }

    /// A served prediction.
    pub fn prediction(&self, model: &str, version: &str, at: i64, score: f64, latency_us: i64) {
        self.push(model, version, at, Seen::Prediction { score, latency_us });
    }

    /// A prediction joined with its outcome.
    pub fn outcome(&self, model: &str, version: &str, at: i64, score: f64, label: u8) {
        self.push(model, version, at, Seen::Outcome { score, label });
    }

    fn push(&self, model: &str, version: &str, at: i64, what: Seen) {
        self.with(|m| {
            if let Some(x) = m.get_mut(model)
                && x.versions.iter().any(|v| v == version)
            {
                x.seen.push((version.to_owned(), at, what));
            }
        });
    }

    /// Both sides' numbers from `since` on, and drops what is older.
    pub fn analysis(
        &self,
        model: &str,
        stable: Option<&str>,
        candidate: &str,
        since: i64,
    ) -> Analysis {
        self.with(|m| {
            let mut sides = (SideStats::default(), SideStats::default());
            if let Some(x) = m.get_mut(model) {
                x.seen.retain(|(_, at, _)| *at >= since);
                for (version, _, what) in &x.seen {
                    let side = if version == candidate {
                        &mut sides.1
                    } else if Some(version.as_str()) == stable {
                        &mut sides.0
                    } else {
                        continue;
                    };
                    match *what {
                        Seen::Prediction { score, latency_us } => {
                            side.prediction(score, latency_us)
                        }
                        Seen::Outcome { score, label } => side.outcome(score, label),
                    }
                }
            }
            Analysis {
                stable: sides.0.summary(),
                candidate: sides.1.summary(),
            }
        })
    }

    /// Records the champion alias as read by a poll that started at `asked_ms`; a poll older
    /// than our own last alias write does not overwrite it.
    pub fn observe_champion(&self, model: &str, champion: Option<String>, asked_ms: i64) {
        self.with(|m| {
            let x = m.entry(model.to_owned()).or_default();
            if x.champion.as_ref().is_none_or(|(_, at)| asked_ms > *at) {
                x.champion = Some((champion, asked_ms));
            }
        });
    }

    /// The champion alias as last observed, if it was.
    pub fn champion(&self, model: &str) -> Option<Option<String>> {
        self.with(|m| {
            m.get(model)
                .and_then(|x| x.champion.clone().map(|(c, _)| c))
        })
    }

    /// Forgets what was kept for `model` (its rollout is final).
    pub fn forget(&self, model: &str) {
        self.with(|m| {
            if let Some(x) = m.get_mut(model) {
                x.seen.clear();
                x.versions.clear();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_reads_only_the_step_and_the_two_versions() {
        let live = Live::default();
        live.watch("m", &["1", "2"]);
        live.prediction("m", "1", 10, 0.2, 1000);
        live.outcome("m", "1", 10, 0.2, 0);
        live.outcome("m", "2", 5, 0.9, 0); // before the step
        live.outcome("m", "2", 20, 0.9, 1);
        live.outcome("m", "3", 20, 0.9, 1); // not under rollout
        let a = live.analysis("m", Some("1"), "2", 10);
        assert_eq!((a.stable.outcomes, a.candidate.outcomes), (1, 1));
        assert_eq!(a.stable.predictions, 1);
        assert!(!live.wants("m", "3"));
    }

    #[test]
    fn a_stale_poll_does_not_overwrite_our_own_alias_write() {
        let live = Live::default();
        live.observe_champion("m", Some("2".into()), 100);
        live.observe_champion("m", Some("1".into()), 90);
        assert_eq!(live.champion("m"), Some(Some("2".into())));
    }
}
