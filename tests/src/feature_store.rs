//! The feature store in-process for a test or a benchmark: on a topic of its own holding given
//! events, returned once it has taken every one of them.

use std::time::{Duration, Instant};

use lucid_events::ListeningEvent;
use tokio_util::sync::CancellationToken;

use crate::{Stack, broker, catalog_dir, unique};

/// Starts the feature store on a new topic (`name` prefixes it, its group and Redis prefix)
/// holding `events`, and waits up to `wait` until it has applied them or counted them late.
pub async fn start_with_events(
    stack: &Stack,
    name: &str,
    events: &[ListeningEvent],
    wait: Duration,
    shutdown: CancellationToken,
) -> lucid_feature_store::Service {
    let topic = unique(name);
    broker::create_topics(&stack.brokers, &[&topic, &format!("{topic}-dlq")], 3).await;
    broker::produce_events(&stack.brokers, &topic, events).await;
    let config = lucid_feature_store::Config {
        grpc_addr: ([127, 0, 0, 1], 0).into(),
        http_addr: ([127, 0, 0, 1], 0).into(),
        catalog_dir: Some(catalog_dir()),
        kafka: broker::kafka(&stack.brokers),
        topic: topic.clone(),
        group_id: unique(name),
        dlq_topic: format!("{topic}-dlq"),
        redis_url: stack.redis_url.clone(),
        redis_prefix: unique(name),
        resume: lucid_feature_store::config::Resume::Beginning,
        ..Default::default()
    };
    let store = lucid_feature_store::start(config, shutdown)
        .await
        .expect("the feature store starts");
    let http = store.http_addr.to_string();
    let deadline = Instant::now() + wait;
    loop {
        let taken = metric(&http, "lucid_feature_store_events_applied_total").await
            + metric(&http, "lucid_feature_store_late_events_total").await;
        if taken as usize >= events.len() {
            return store;
        }
        assert!(
            Instant::now() < deadline,
            "the feature store took {taken} of {} events in {wait:?}",
            events.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The value of an unlabelled metric of the service whose HTTP address is `http` (0 when
/// absent).
pub async fn metric(http: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("http://{http}/metrics"))
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find(|l| l.split(' ').next() == Some(name))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}
