//! The candidate gate: before a rollout starts, the candidate's offline metrics (those its
//! training run logged to the registry: `auc`, `log_loss`) must not be worse than the
//! champion's beyond a margin. A champion without metrics cannot be compared with and lets the
//! candidate through; a candidate without them is refused unless `require_metrics` is off.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The gate's margins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatePolicy {
    /// Off: every candidate passes.
    pub enabled: bool,
    /// Largest allowed `champion auc - candidate auc`.
    pub max_auc_decrease: f64,
    /// Largest allowed `candidate log_loss - champion log_loss`.
    pub max_log_loss_increase: f64,
    /// Refuse a candidate that has no `auc` or `log_loss`.
    pub require_metrics: bool,
}

impl Default for GatePolicy {
    fn default() -> Self {
        GatePolicy {
            enabled: true,
            max_auc_decrease: 0.01,
            max_log_loss_increase: 0.02,
            require_metrics: true,
        }
    }
}

/// Offline metrics of a version, by name.
pub type Metrics = HashMap<String, f64>;

/// `Ok` when the candidate may start; otherwise why not.
pub fn check(
    policy: &GatePolicy,
    candidate: &Metrics,
    champion: Option<&Metrics>,
) -> Result<(), String> {
    if !policy.enabled {
        return Ok(());
    }
    let metric = |m: &Metrics, name: &str| m.get(name).copied().filter(|v| v.is_finite());
    let (Some(auc), Some(log_loss)) = (metric(candidate, "auc"), metric(candidate, "log_loss"))
    else {
        return if policy.require_metrics {
            Err("candidate has no finite auc and log_loss in the registry".into())
        } else {
            Ok(())
        };
    };
    let Some(champion) = champion else {
        return Ok(());
    };
    if let Some(best) = metric(champion, "auc")
        && best - auc > policy.max_auc_decrease
    {
        return Err(format!(
            "candidate auc {auc:.4} is below the champion's {best:.4} by more than {}",
            policy.max_auc_decrease
        ));
    }
    if let Some(best) = metric(champion, "log_loss")
        && log_loss - best > policy.max_log_loss_increase
    {
        return Err(format!(
            "candidate log_loss {log_loss:.4} is above the champion's {best:.4} by more than {}",
            policy.max_log_loss_increase
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(auc: f64, log_loss: f64) -> Metrics {
        Metrics::from([("auc".into(), auc), ("log_loss".into(), log_loss)])
    }

    #[test]
    fn candidate_within_margins_passes_and_worse_is_refused() {
        let p = GatePolicy::default();
        let champion = metrics(0.70, 0.60);
        assert_eq!(check(&p, &metrics(0.695, 0.61), Some(&champion)), Ok(()));
        let auc = check(&p, &metrics(0.68, 0.60), Some(&champion)).expect_err("auc");
        assert!(auc.contains("auc 0.6800"), "{auc}");
        let ll = check(&p, &metrics(0.71, 0.63), Some(&champion)).expect_err("log loss");
        assert!(ll.contains("log_loss 0.6300"), "{ll}");
    }

    #[test]
    fn missing_metrics_follow_the_policy() {
        let p = GatePolicy::default();
        assert!(check(&p, &Metrics::new(), None).is_err());
        let nan = metrics(f64::NAN, 0.5);
        assert!(check(&p, &nan, None).is_err());
        let lenient = GatePolicy {
            require_metrics: false,
            ..p.clone()
        };
        assert_eq!(check(&lenient, &Metrics::new(), None), Ok(()));
        // A champion without metrics cannot be compared with.
        assert_eq!(check(&p, &metrics(0.5, 0.9), Some(&Metrics::new())), Ok(()));
    }
}
