//! Hand-written events through the real broker into the feature store; the online values at
//! chosen request times equal values computed by hand (track energies read from the catalog).

use std::time::Duration;

use lucid_avro::{Codec, LISTENING_EVENT, SchemaSet};
use lucid_events::{Action, Context, ListeningEvent, Platform};
use lucid_feature_store::Config;
use lucid_kafka::{Producer, ProducerOptions};
use lucid_proto::features::v1::{self as pb, feature_service_client::FeatureServiceClient};
use lucid_tests::{Stack, broker, catalog_dir, unique};
use tokio_util::sync::CancellationToken;

const SECOND: i64 = 1000;

/// The events' origin: 2026-12-03T17:00:00Z moved forward by whole 14-hour steps (the largest
/// tile of the starter set, a multiple of every smaller one) to between 16 and 2 hours ago.
/// Tile boundaries fall where they fell at the original time, and the tiles, which Redis
/// expires a window after their end by the wall clock, are still there when read.
fn origin() -> i64 {
    const ORIGIN: i64 = 1_796_317_200_000;
    const STEP: i64 = 14 * 3600 * SECOND;
    let latest = chrono::Utc::now().timestamp_millis() - 2 * 3600 * SECOND;
    ORIGIN + (latest - ORIGIN).div_euclid(STEP) * STEP
}

fn event(id: &str, session: &str, time: i64, action: Action) -> ListeningEvent {
    ListeningEvent {
        event_id: id.into(),
        user_pseudonym: "a".repeat(64),
        session_id: session.into(),
        event_time: time,
        ingest_time: time,
        action,
        track_id: None,
        position: None,
        listened_ms: None,
        track_duration_ms: None,
        context: Context::TherapyProgram,
        platform: Platform::Ios,
        app_version: "4.12.0".into(),
        mood_valence: None,
        mood_arousal: None,
    }
}

fn track(
    mut e: ListeningEvent,
    track: i64,
    position: i32,
    listened: i64,
    duration: i64,
) -> ListeningEvent {
    (e.track_id, e.position, e.listened_ms, e.track_duration_ms) =
        (Some(track), Some(position), Some(listened), Some(duration));
    e
}

/// Session s-1: two tracks (2 skipped after 30 s of 180 s, 3 completed), then a mood check-in.
fn session(t0: i64) -> Vec<ListeningEvent> {
    let mut mood = event("e6", "s-1", t0 + 400 * SECOND, Action::MoodCheckin);
    (mood.mood_valence, mood.mood_arousal) = (Some(7), Some(3));
    vec![
        event("e1", "s-1", t0, Action::SessionStart),
        track(
            event("e2", "s-1", t0 + SECOND, Action::Play),
            2,
            0,
            0,
            180_000,
        ),
        track(
            event("e3", "s-1", t0 + 31 * SECOND, Action::Skip),
            2,
            0,
            30_000,
            180_000,
        ),
        track(
            event("e4", "s-1", t0 + 32 * SECOND, Action::Play),
            3,
            1,
            0,
            200_000,
        ),
        track(
            event("e5", "s-1", t0 + 232 * SECOND, Action::Complete),
            3,
            1,
            200_000,
            200_000,
        ),
        mood,
    ]
}

async fn lookup(
    client: &mut FeatureServiceClient<tonic::transport::Channel>,
    ids: &[&str],
    features: &[&str],
    at: i64,
) -> Result<pb::GetOnlineFeaturesResponse, tonic::Status> {
    let request = pb::GetOnlineFeaturesRequest {
        entity_type: "session".into(),
        entity_ids: ids.iter().map(|s| s.to_string()).collect(),
        features: features.iter().map(|s| s.to_string()).collect(),
        feature_service: String::new(),
        request_time_unix_ms: Some(at),
    };
    client
        .get_online_features(request)
        .await
        .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_values_match_hand_computed_ones() {
    let t0 = origin();
    let stack = Stack::require();
    let topic = unique("fs-events");
    broker::create_topics(&stack.brokers, &[&topic], 1).await;

    let codec = Codec::single_object(SchemaSet::shipped());
    let encoder = codec
        .encoder(LISTENING_EVENT, "unused")
        .await
        .expect("encoder");
    let producer = Producer::new(
        &broker::kafka(&stack.brokers),
        "golden",
        ProducerOptions::default(),
    )
    .expect("producer");
    for e in session(t0) {
        let bytes = encoder.encode(e.to_avro()).expect("encodes");
        producer
            .send(&topic, Some(e.user_pseudonym.as_bytes()), &bytes)
            .expect("enqueued")
            .await
            .expect("delivered");
    }
    // A poison record: the consumer dead-letters it and keeps going.
    producer
        .send(&topic, None, b"\x00not avro")
        .expect("enqueued")
        .await
        .expect("delivered");

    let config = Config {
        grpc_addr: ([127, 0, 0, 1], 0).into(),
        http_addr: ([127, 0, 0, 1], 0).into(),
        catalog_dir: Some(catalog_dir()),
        kafka: broker::kafka(&stack.brokers),
        topic: topic.clone(),
        group_id: unique("fs-group"),
        dlq_topic: unique("fs-dlq"),
        redis_url: stack.redis_url.clone(),
        redis_prefix: unique("fs"),
        ..Config::default()
    };
    broker::create_topics(&stack.brokers, &[&config.dlq_topic], 1).await;
    let shutdown = CancellationToken::new();
    let service = lucid_feature_store::start(config.clone(), shutdown.clone())
        .await
        .expect("starts");
    let mut client = FeatureServiceClient::connect(format!("http://{}", service.grpc_addr))
        .await
        .expect("connects");

    let names = [
        "session_activity:plays",
        "session_activity:skips",
        "session_activity:skip_rate",
        "session_activity:mean_listened_ratio",
        "session_activity:mean_energy",
        "session_activity:last_mood_valence",
    ];
    let at = t0 + 600 * SECOND;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let answer = loop {
        let answer = lookup(&mut client, &["s-1"], &names, at)
            .await
            .expect("lookup");
        if answer.entities[0].values[5].status == pb::feature_value::Status::Present as i32 {
            break answer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "events not applied within 30s: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let catalog = lucid_catalog::Catalog::load(catalog_dir()).expect("catalog");
    let energy = |id| catalog.get(id).expect("track in catalog").energy;
    let expected = [
        2.0,                                // two plays
        1.0,                                // one skip
        0.5,                                // skip / (skip + complete)
        (30_000.0 / 180_000.0 + 1.0) / 2.0, // mean heard share of the finished tracks
        (energy(2) + energy(3)) / 2.0,      // mean energy of the played tracks
        7.0,                                // last mood valence
    ];
    let values: Vec<f64> = answer.entities[0]
        .values
        .iter()
        .map(|v| v.value.expect("a value"))
        .collect();
    // Sums of fractional fields are kept as integers in millionths (lucid-features, so that any
    // order of additions gives the same bits), so each summed value is rounded to 1e-6.
    for ((name, got), want) in names.iter().zip(&values).zip(expected) {
        assert!((got - want).abs() <= 1e-6, "{name}: got {got}, want {want}");
    }
    let mood = &answer.entities[0].values[5];
    assert_eq!(mood.event_time_unix_ms, Some(t0 + 400 * SECOND));

    // 31 minutes after the last event the session view (max age 30 m) is stale, never present.
    let stale = lookup(
        &mut client,
        &["s-1"],
        &names[..1],
        t0 + 400 * SECOND + 31 * 60 * SECOND,
    )
    .await
    .expect("lookup");
    assert_eq!(
        stale.entities[0].values[0].status,
        pb::feature_value::Status::Stale as i32
    );
    assert_eq!(stale.entities[0].values[0].value, Some(2.0));

    let unknown = lookup(&mut client, &["no-such-session"], &names[..1], at)
        .await
        .expect("lookup");
    assert_eq!(
        unknown.entities[0].values[0].status,
        pb::feature_value::Status::NotFound as i32
    );

    let bad = lookup(&mut client, &["s-1"], &["session_activity:nope"], at)
        .await
        .expect_err("unknown feature");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert!(
        bad.message().contains("session_activity:nope"),
        "{}",
        bad.message()
    );
    let ids: Vec<String> = (0..1001).map(|i| format!("s-{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let too_many = lookup(&mut client, &refs, &names[..1], at)
        .await
        .expect_err("1001 ids");
    assert_eq!(too_many.code(), tonic::Code::InvalidArgument);

    let dead = broker::read_topic(
        &stack.brokers,
        &config.dlq_topic,
        1,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(dead.len(), 1, "the poison record is dead-lettered once");

    shutdown.cancel();
    service.wait().await.expect("stops cleanly");
}
