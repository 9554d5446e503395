//! Online values equal the offline computation: simulated sessions over the real catalog go
//! through ingestion to the feature store in five slices of event time; after each slice the
//! test reads sampled sessions, users and tracks over gRPC at the slice's end, and at the end it
//! computes the same (entity, time) pairs from the offline log with `features_as_of`. Every
//! value, status and event time must agree.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use lucid_events::{EventInput, PublishResponse};
use lucid_features::{EntityType, FeatureValue, Registry, Status};
use lucid_offline::{AsOf, features_as_of, read_events};
use lucid_proto::features::v1::{self as pb, feature_service_client::FeatureServiceClient};
use lucid_simulator::{SimConfig, simulate};
use lucid_tests::{
    Stack, catalog_dir, expected_pseudonym,
    ingestion::{Ingestion, PSEUDONYM_KEY},
    unique,
};
use redis::AsyncCommands;
use tokio_util::sync::CancellationToken;

const SLICES: usize = 5;
const SAMPLE_PER_TYPE: usize = 25;

/// One online answer to compare: the entity at a time, and a value per feature.
struct Observed {
    query: AsOf,
    values: Vec<pb::FeatureValue>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_values_equal_the_offline_values_at_sampled_entities_and_times() {
    let stack = Stack::require();
    // Fifty minutes: shorter than the shortest window (1 h), so no tile holding a simulated
    // event expires in Redis during the test; a read at a past time then sees what it saw then.
    let catalog = lucid_catalog::Catalog::load(catalog_dir()).expect("catalog");
    let mut sim = SimConfig::ending_at(Utc::now(), TimeDelta::minutes(50));
    (sim.seed, sim.listeners, sim.sessions) = (17, 80, 240);
    let mut events = simulate(&catalog, sim).expect("simulates");
    events.sort_by_key(|e| e.event_time);

    let ingestion = Ingestion::start(&stack).await;
    let offline = std::env::temp_dir().join(unique("fs-consistency-offline"));
    let prefix = unique("fsq");
    let group = unique("fsq");
    let config = lucid_feature_store::Config {
        grpc_addr: ([127, 0, 0, 1], 0).into(),
        http_addr: ([127, 0, 0, 1], 0).into(),
        catalog_dir: Some(catalog_dir()),
        kafka: ingestion.config.kafka.clone(),
        topic: ingestion.events_topic.clone(),
        dlq_topic: format!("{}-fs-dlq", ingestion.events_topic),
        group_id: group.clone(),
        redis_url: stack.redis_url.clone(),
        redis_prefix: prefix.clone(),
        resume: lucid_feature_store::config::Resume::Beginning,
        offline_dir: Some(offline.clone()),
        offline_flush_interval: Duration::from_millis(300),
        ..Default::default()
    };
    lucid_tests::broker::create_topics(&stack.brokers, &[&config.dlq_topic], 1).await;
    let shutdown = CancellationToken::new();
    let store = lucid_feature_store::start(config, shutdown.clone())
        .await
        .expect("the feature store starts");
    let mut lookups = FeatureServiceClient::connect(format!("http://{}", store.grpc_addr))
        .await
        .expect("lookups answer");
    let registry = Registry::from_toml(lucid_features::STARTER_DEFINITIONS).expect("starter set");
    let offsets = format!("{prefix}:fs:offsets:{group}:{}", ingestion.events_topic);
    let mut redis = redis_connection(&stack).await;

    let mut observed = Vec::new();
    let mut sent = 0;
    for (index, slice) in slices(&events).into_iter().enumerate() {
        post(&ingestion, slice).await;
        sent += slice.len();
        wait_applied(&mut redis, &offsets, sent).await;
        let t = if index + 1 == SLICES {
            Utc::now().timestamp_millis()
        } else {
            events[sent].event_time.timestamp_millis() - 1
        };
        for query in sample(&events[..sent], t) {
            let values = read_online(&mut lookups, &registry, &query).await;
            observed.push(Observed { query, values });
        }
    }

    shutdown.cancel();
    store.wait().await.expect("the feature store drains");
    ingestion.stop().await;

    let logged = read_events(&offline).expect("the offline log reads");
    assert_eq!(
        logged.len(),
        events.len(),
        "every event is in the offline log"
    );
    let (compared, present) = compare(&registry, &logged, &observed);
    assert!(
        present >= 500,
        "a real comparison: {present} of {compared} values present"
    );
    let _ = std::fs::remove_dir_all(&offline);
}

/// The events in `SLICES` runs of whole event times (a time never spans two slices).
fn slices(events: &[EventInput]) -> Vec<&[EventInput]> {
    let mut cuts = vec![0];
    for i in 1..SLICES {
        let mut cut = events.len() * i / SLICES;
        while cut < events.len() && events[cut].event_time == events[cut - 1].event_time {
            cut += 1;
        }
        cuts.push(cut);
    }
    cuts.push(events.len());
    cuts.windows(2).map(|w| &events[w[0]..w[1]]).collect()
}

/// Up to `SAMPLE_PER_TYPE` sessions, users and tracks of `sent`, spread over their sorted keys.
fn sample(sent: &[EventInput], t: i64) -> Vec<AsOf> {
    let sessions: BTreeSet<String> = sent.iter().map(|e| e.session_id.clone()).collect();
    let users: BTreeSet<String> = sent
        .iter()
        .map(|e| expected_pseudonym(PSEUDONYM_KEY, &e.user_id))
        .collect();
    let tracks: BTreeSet<String> = sent
        .iter()
        .filter_map(|e| e.track_id.map(|id| id.to_string()))
        .collect();
    let spread = |keys: BTreeSet<String>, entity: EntityType| {
        let step = keys.len().div_ceil(SAMPLE_PER_TYPE).max(1);
        keys.into_iter()
            .step_by(step)
            .map(|key| AsOf { entity, key, t })
            .collect::<Vec<_>>()
    };
    [
        spread(sessions, EntityType::Session),
        spread(users, EntityType::User),
        spread(tracks, EntityType::Track),
    ]
    .concat()
}

/// The starter features about an entity type, as full names.
fn features_of(registry: &Registry, entity: EntityType) -> Vec<String> {
    registry
        .views()
        .iter()
        .filter(|v| v.entity == entity)
        .flat_map(|v| v.features.iter().map(|f| format!("{}:{}", v.name, f.name)))
        .collect()
}

async fn read_online(
    client: &mut FeatureServiceClient<tonic::transport::Channel>,
    registry: &Registry,
    query: &AsOf,
) -> Vec<pb::FeatureValue> {
    let request = pb::GetOnlineFeaturesRequest {
        entity_type: query.entity.as_str().into(),
        entity_ids: vec![query.key.clone()],
        features: features_of(registry, query.entity),
        feature_service: String::new(),
        request_time_unix_ms: Some(query.t),
    };
    let answer = client
        .get_online_features(request)
        .await
        .expect("lookup succeeds")
        .into_inner();
    answer
        .entities
        .into_iter()
        .next()
        .expect("one entity")
        .values
}

/// Compares every observed value with the offline one; returns (compared, present), failing
/// with the first mismatches.
fn compare(
    registry: &Registry,
    logged: &[lucid_offline::LoggedEvent],
    observed: &[Observed],
) -> (usize, usize) {
    let mut mismatches = Vec::new();
    let (mut compared, mut present) = (0, 0);
    let mut by_entity: HashMap<EntityType, Vec<&Observed>> = HashMap::new();
    for o in observed {
        by_entity.entry(o.query.entity).or_default().push(o);
    }
    for (entity, group) in by_entity {
        let features = features_of(registry, entity);
        let queries: Vec<AsOf> = group.iter().map(|o| o.query.clone()).collect();
        let offline =
            features_as_of(registry, logged, &features, &queries).expect("offline values");
        for (o, expected) in group.iter().zip(offline) {
            for ((name, online), expected) in features.iter().zip(&o.values).zip(expected) {
                compared += 1;
                present += usize::from(expected.status == Status::Present);
                if !same(online, &expected) {
                    mismatches.push(format!(
                        "{} {} at {} {name}: online {online:?}, offline {expected:?}",
                        entity.as_str(),
                        o.query.key,
                        o.query.t
                    ));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {compared} values differ; first ones:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(10)].join("\n")
    );
    (compared, present)
}

fn same(online: &pb::FeatureValue, offline: &FeatureValue) -> bool {
    let status = match offline.status {
        Status::Present => pb::feature_value::Status::Present,
        Status::NotFound => pb::feature_value::Status::NotFound,
        Status::Stale => pb::feature_value::Status::Stale,
    };
    online.value == offline.value
        && online.status == status as i32
        && online.event_time_unix_ms == offline.event_time
}

async fn post(ingestion: &Ingestion, events: &[EventInput]) {
    for batch in events.chunks(200) {
        let response = ingestion
            .post(serde_json::to_vec(batch).expect("json"))
            .await;
        assert_eq!(response.status(), 200);
        let answer: PublishResponse = response.json().await.expect("publish response");
        assert_eq!(answer.accepted, batch.len() as u32, "{answer:?}");
    }
}

async fn redis_connection(stack: &Stack) -> redis::aio::MultiplexedConnection {
    redis::Client::open(stack.redis_url.as_str())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis answers")
}

/// Waits until the feature store's stored offsets cover `count` records (new topic: offsets
/// start at 0, so their sum is the number of records applied).
async fn wait_applied(redis: &mut redis::aio::MultiplexedConnection, key: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let offsets: HashMap<String, i64> = redis.hgetall(key).await.expect("offsets");
        if offsets.values().sum::<i64>() >= count as i64 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the feature store applied {} of {count} records in 120 s",
            offsets.values().sum::<i64>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
