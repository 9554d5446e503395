//! Simulated events over HTTP and gRPC reach `listening-events` exactly once, pseudonymised,
//! with every field as sent; duplicates are recognised across a restart of the service.

use std::{collections::HashMap, time::Duration};

use chrono::{TimeDelta, Utc};
use lucid_avro::{Codec, LISTENING_EVENT, SchemaSet};
use lucid_events::{EventInput, ListeningEvent, PublishResponse};
use lucid_proto::ingest::v1 as pb;
use lucid_simulator::{Scenario, SimConfig, simulate};
use lucid_tests::{
    Stack, broker, catalog_dir, expected_pseudonym,
    ingestion::{Ingestion, PSEUDONYM_KEY, authorized},
};

fn simulated(seed: u64, sessions: usize) -> Vec<EventInput> {
    let catalog = lucid_catalog::Catalog::load(catalog_dir()).expect("catalog loads");
    let mut config = SimConfig::ending_at(Utc::now(), TimeDelta::hours(2));
    (
        config.scenario,
        config.seed,
        config.listeners,
        config.sessions,
    ) = (Scenario::Baseline, seed, 25, sessions);
    simulate(&catalog, config).expect("simulation runs")
}

async fn post_batches(ingestion: &Ingestion, events: &[EventInput]) {
    for batch in events.chunks(100) {
        let response = ingestion
            .post(serde_json::to_vec(batch).expect("json"))
            .await;
        assert_eq!(response.status(), 200);
        let answer: PublishResponse = response.json().await.expect("publish response");
        assert_eq!(
            (answer.accepted, answer.duplicates, answer.rejected),
            (batch.len() as u32, 0, 0),
            "{answer:?}"
        );
    }
}

async fn publish_grpc(ingestion: &Ingestion, events: &[EventInput]) {
    let mut client = ingestion.grpc_client().await;
    for batch in events.chunks(100) {
        let request = pb::PublishRequest {
            events: batch.iter().map(to_proto).collect(),
        };
        let answer = client
            .publish(authorized(request))
            .await
            .expect("publish succeeds")
            .into_inner();
        assert_eq!(
            (answer.accepted, answer.duplicates, answer.rejected),
            (batch.len() as u32, 0, 0)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_events_reach_the_topic_exactly_once_over_http_and_grpc() {
    let stack = Stack::require();
    let ingestion = Ingestion::start(&stack).await;
    let events = simulated(7, 60);
    assert!(
        events.len() > 400,
        "the simulation yields a few hundred events, got {}",
        events.len()
    );
    let (over_http, over_grpc) = events.split_at(events.len() / 2);

    let sent_from = Utc::now().timestamp_millis();
    post_batches(&ingestion, over_http).await;
    publish_grpc(&ingestion, over_grpc).await;
    let sent_until = Utc::now().timestamp_millis();

    let records = broker::read_topic(
        &stack.brokers,
        &ingestion.events_topic,
        events.len(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        records.len(),
        events.len(),
        "every event is stored exactly once"
    );

    let codec = Codec::single_object(SchemaSet::shipped());
    let sent: HashMap<&str, &EventInput> =
        events.iter().map(|e| (e.event_id.as_str(), e)).collect();
    let mut partition_of_user: HashMap<String, i32> = HashMap::new();
    for record in &records {
        let decoded = codec
            .decode(&record.payload, LISTENING_EVENT)
            .await
            .expect("record decodes");
        let stored = ListeningEvent::from_avro(decoded.value).expect("record is a ListeningEvent");
        let input = sent[stored.event_id.as_str()];
        let pseudonym = expected_pseudonym(PSEUDONYM_KEY, &input.user_id);

        let expected =
            ListeningEvent::from_input(input, pseudonym.clone(), chrono::DateTime::UNIX_EPOCH);
        assert_eq!(
            ListeningEvent {
                ingest_time: 0,
                ..stored.clone()
            },
            expected
        );
        assert!(
            (sent_from..=sent_until).contains(&stored.ingest_time),
            "ingest time is the time of sending"
        );
        assert_eq!(
            record.key.as_deref(),
            Some(pseudonym.as_bytes()),
            "key is the stable pseudonym"
        );
        assert_eq!(
            *partition_of_user
                .entry(pseudonym)
                .or_insert(record.partition),
            record.partition
        );

        let text = String::from_utf8_lossy(&record.payload);
        assert!(
            !text.contains("user-"),
            "a raw user id leaked into a record: {text}"
        );
    }
    ingestion.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resent_events_are_duplicates_even_after_a_restart() {
    let stack = Stack::require();
    let events = simulated(11, 8);
    let first = Ingestion::start(&stack).await;
    post_batches(&first, &events).await;
    let config = first.config.clone();
    first.stop().await;

    let second = Ingestion::start_with(config).await;
    let response = second
        .post(serde_json::to_vec(&events).expect("json"))
        .await;
    assert_eq!(response.status(), 200);
    let answer: PublishResponse = response.json().await.expect("publish response");
    assert_eq!(
        (answer.accepted, answer.duplicates, answer.rejected),
        (0, events.len() as u32, 0)
    );

    let records = broker::read_topic(
        &stack.brokers,
        &second.events_topic,
        events.len(),
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(
        records.len(),
        events.len(),
        "duplicates are not produced again"
    );
    second.stop().await;
}

fn to_proto(event: &EventInput) -> pb::Event {
    let action = pb::Action::from_str_name(&format!("ACTION_{}", event.action.avro_symbol()))
        .expect("action");
    let context = pb::Context::from_str_name(&format!("CONTEXT_{}", event.context.avro_symbol()))
        .expect("context");
    let platform =
        pb::Platform::from_str_name(&format!("PLATFORM_{}", event.platform.avro_symbol()))
            .expect("platform");
    pb::Event {
        event_id: event.event_id.clone(),
        user_id: event.user_id.clone(),
        session_id: event.session_id.clone(),
        event_time_unix_ms: event.event_time.timestamp_millis(),
        action: action as i32,
        track_id: event.track_id,
        position: event.position,
        listened_ms: event.listened_ms,
        track_duration_ms: event.track_duration_ms,
        context: context as i32,
        platform: platform as i32,
        app_version: event.app_version.clone(),
        mood_valence: event.mood_valence,
        mood_arousal: event.mood_arousal,
    }
}
