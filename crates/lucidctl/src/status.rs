//! `lucidctl status`: whether each service is up and ready, and the numbers that say how it is
//! doing (consumer lag, throughput counters, active runs and rollouts), from its HTTP
//! `/readyz` and `/metrics`.

use std::time::Duration;

use anyhow::Context as _;

use crate::record::metric_sum;

/// Options of `lucidctl status`. Each URL is the service's HTTP base.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(
        long,
        env = "LUCID_INGESTION_HTTP",
        default_value = "http://127.0.0.1:8080"
    )]
    ingestion: String,
    #[arg(
        long,
        env = "LUCID_FEATURE_STORE_HTTP",
        default_value = "http://127.0.0.1:8090"
    )]
    feature_store: String,
    #[arg(
        long,
        env = "LUCID_DRIFT_DETECTOR_HTTP",
        default_value = "http://127.0.0.1:8094"
    )]
    drift_detector: String,
    #[arg(
        long,
        env = "LUCID_MODEL_GATEWAY_HTTP",
        default_value = "http://127.0.0.1:8096"
    )]
    model_gateway: String,
    #[arg(
        long,
        env = "LUCID_RETRAINING_TRIGGER_HTTP",
        default_value = "http://127.0.0.1:8098"
    )]
    retraining_trigger: String,
    #[arg(
        long,
        env = "LUCID_DEPLOYMENT_MANAGER_HTTP",
        default_value = "http://127.0.0.1:8092"
    )]
    deployment_manager: String,
}

/// A service: its name, readiness path, and the metrics worth a glance.
struct Service {
    name: &'static str,
    url: String,
    ready_path: &'static str,
    shown: &'static [(&'static str, &'static str)],
}

/// Prints one line per service; fails when any is down or not ready, naming them.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let services = [
        Service {
            name: "ingestion",
            url: args.ingestion,
            ready_path: "/readyz",
            shown: &[
                ("accepted", "lucid_ingestion_events_accepted_total"),
                ("rejected", "lucid_ingestion_events_rejected_total"),
                ("dead-lettered", "lucid_ingestion_dead_lettered_total"),
            ],
        },
        Service {
            name: "feature-store",
            url: args.feature_store,
            ready_path: "/readyz",
            shown: &[
                ("lag", "lucid_feature_store_consumer_lag_records"),
                ("applied", "lucid_feature_store_events_applied_total"),
                ("late", "lucid_feature_store_late_events_total"),
                ("dead-lettered", "lucid_feature_store_dead_lettered_total"),
            ],
        },
        Service {
            name: "drift-detector",
            url: args.drift_detector,
            ready_path: "/readyz",
            shown: &[
                ("records", "lucid_drift_detector_records_total"),
                ("alerts", "lucid_drift_detector_alerts_total"),
            ],
        },
        Service {
            name: "model-gateway",
            url: args.model_gateway,
            ready_path: "/v2/health/ready",
            shown: &[
                ("rows scored", "lucid_model_gateway_rows_scored_total"),
                ("errors", "lucid_model_gateway_errors_total"),
            ],
        },
        Service {
            name: "retraining-trigger",
            url: args.retraining_trigger,
            ready_path: "/readyz",
            shown: &[
                ("active runs", "lucid_retraining_trigger_active_runs"),
                ("runs", "lucid_retraining_trigger_runs_total"),
            ],
        },
        Service {
            name: "deployment-manager",
            url: args.deployment_manager,
            ready_path: "/readyz",
            shown: &[
                (
                    "active rollouts",
                    "lucid_deployment_manager_active_rollouts",
                ),
                ("transitions", "lucid_deployment_manager_transitions_total"),
            ],
        },
    ];
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .context("failed to build the HTTP client")?;

    let mut unwell = Vec::new();
    for service in &services {
        let (state, ok) = readiness(&client, service).await;
        let numbers = match client
            .get(format!("{}/metrics", service.url.trim_end_matches('/')))
            .send()
            .await
        {
            Ok(answer) => summary(&answer.text().await.unwrap_or_default(), service.shown),
            Err(_) => String::new(),
        };
        println!("{:<20} {:<34} {numbers}", service.name, state);
        if !ok {
            unwell.push(service.name);
        }
    }
    if !unwell.is_empty() {
        anyhow::bail!(
            "not ready: {}; start the platform with scripts/demo, or a service with \
             `<service> --config FILE` (see its docs/*.md), and the stack with scripts/stack up",
            unwell.join(", ")
        );
    }
    Ok(())
}

async fn readiness(client: &reqwest::Client, service: &Service) -> (String, bool) {
    let url = format!(
        "{}{}",
        service.url.trim_end_matches('/'),
        service.ready_path
    );
    match client.get(&url).send().await {
        Err(_) => (format!("down ({})", service.url), false),
        Ok(answer) if answer.status().is_success() => ("ready".into(), true),
        Ok(answer) => {
            let status = answer.status();
            let body = answer.text().await.unwrap_or_default();
            (format!("not ready (HTTP {status}: {})", body.trim()), false)
        }
    }
}

/// `label value` pairs of the metrics in `shown`, each summed over its label sets (0 when the
/// service has not exported it yet).
fn summary(text: &str, shown: &[(&str, &str)]) -> String {
    shown
        .iter()
        .map(|(label, name)| format!("{label} {}", number(metric_sum(text, name))))
        .collect::<Vec<_>>()
        .join("  ")
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_counts_or_two_decimals() {
        let text = "lucid_feature_store_events_applied_total 1200\n\
                    lucid_feature_store_consumer_lag_records{partition=\"0\"} 3\n\
                    lucid_feature_store_consumer_lag_records{partition=\"1\"} 4.5\n";
        assert_eq!(
            summary(
                text,
                &[
                    ("lag", "lucid_feature_store_consumer_lag_records"),
                    ("late", "lucid_feature_store_late_events_total"),
                    ("applied", "lucid_feature_store_events_applied_total"),
                ]
            ),
            "lag 7.50  late 0  applied 1200"
        );
    }
}
