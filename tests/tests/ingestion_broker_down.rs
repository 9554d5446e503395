//! With the broker down, nothing is acknowledged: HTTP answers 503 and gRPC UNAVAILABLE with
//! every event marked retryable. After the broker is back, the retried events arrive once.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use lucid_events::{PublishResponse, Status};
use lucid_proto::ingest::v1 as pb;
use lucid_tests::{
    Stack,
    broker::{self, PrivateBroker},
    ingestion::{Ingestion, authorized, test_config},
};
use prost::Message;
use serde_json::{Value, json};

fn events(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "event_id": format!("{prefix}-{i}"),
                "user_id": format!("user-{i}"),
                "session_id": "s-1",
                "event_time": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
                "action": "session_start",
                "context": "therapy_program",
                "platform": "android",
                "app_version": "4.12.0"
            })
        })
        .collect()
}

fn grpc_events(prefix: &str, n: usize) -> Vec<pb::Event> {
    (0..n)
        .map(|i| pb::Event {
            event_id: format!("{prefix}-{i}"),
            user_id: format!("user-{i}"),
            session_id: "s-2".into(),
            event_time_unix_ms: Utc::now().timestamp_millis(),
            action: pb::Action::SessionEnd as i32,
            context: pb::Context::Radio as i32,
            platform: pb::Platform::Ios as i32,
            app_version: "4.12.0".into(),
            ..Default::default()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_acknowledges_nothing_and_retries_arrive_once() {
    let stack = Stack::require();
    let mut private = PrivateBroker::start();
    let mut config = test_config(&private.brokers(), &stack.redis_url);
    config.delivery_timeout = Duration::from_secs(2);
    let ingestion = Ingestion::start_with(config).await;
    let topics = [
        ingestion.events_topic.as_str(),
        ingestion.dlq_topic.as_str(),
    ];

    private.kill();

    let http_batch = events("http", 20);
    let response = ingestion
        .post(serde_json::to_vec(&http_batch).expect("json"))
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let answer: PublishResponse = response.json().await.expect("publish response");
    assert_eq!(answer.accepted, 0);
    assert!(answer.results.iter().all(|r| r.status == Status::Rejected
        && r.retryable
        && r.reason.as_deref() == Some("unavailable")));

    let grpc_batch = grpc_events("grpc", 20);
    let mut client = ingestion.grpc_client().await;
    let status = client
        .publish(authorized(pb::PublishRequest {
            events: grpc_batch.clone(),
        }))
        .await
        .expect_err("the broker is down");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    let details =
        pb::PublishResponse::decode(status.details()).expect("outcomes in the status details");
    assert_eq!(details.accepted, 0);
    assert!(details.results.iter().all(|r| r.retryable));

    private.restart();
    broker::create_topics(&private.brokers(), &topics, 3).await;

    assert_eq!(retry_until_accepted(&ingestion, &http_batch).await, 20);
    let answer = client
        .publish(authorized(pb::PublishRequest { events: grpc_batch }))
        .await
        .expect("the broker is back")
        .into_inner();
    assert_eq!(answer.accepted, 20);

    let records = broker::read_topic(
        &private.brokers(),
        &ingestion.events_topic,
        40,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(records.len(), 40, "each retried event arrives exactly once");
    ingestion.stop().await;
}

/// The producer reconnects with backoff; retry as a client would, on 503 only, and count the
/// events accepted over all attempts.
async fn retry_until_accepted(ingestion: &Ingestion, batch: &[Value]) -> u32 {
    let mut accepted = 0;
    for _ in 0..20 {
        let response = ingestion
            .post(serde_json::to_vec(batch).expect("json"))
            .await;
        let status = response.status();
        let answer: PublishResponse = response.json().await.expect("publish response");
        accepted += answer.accepted;
        if status == 200 {
            assert_eq!(answer.accepted + answer.duplicates, batch.len() as u32);
            return accepted;
        }
        assert_eq!(status, 503);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("ingestion did not recover within 10s of the broker restarting");
}
