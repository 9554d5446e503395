//! The feature-store binary killed with SIGKILL mid-stream and restarted ends with exactly the
//! Redis contents of a run without the crash; and those contents read like the in-memory store
//! fed the same events (online = what the backfill code computes).

use std::{
    collections::{BTreeMap, HashMap},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use chrono::{TimeDelta, Utc};
use lucid_events::ListeningEvent;
use lucid_features::{EntityType, InMemoryStore, Observation, Registry};
use lucid_simulator::{SimConfig, simulate};
use lucid_tests::{Stack, broker, catalog_dir, expected_pseudonym, unique};
use redis::AsyncCommands;

const PARTITIONS: i32 = 3;

struct Run {
    group: String,
    prefix: String,
}

/// A running service, killed when dropped, so a failing test leaves no process behind.
struct Running(Child);

impl Running {
    /// SIGKILL, as a crash would.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// SIGTERM: drain, flush the offline log, exit.
    fn stop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(stack: &Stack, topic: &str, run: &Run) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_feature-store"))
        .env("LUCID_FEATURE_STORE_GRPC_ADDR", "127.0.0.1:0")
        .env("LUCID_FEATURE_STORE_HTTP_ADDR", "127.0.0.1:0")
        .env("LUCID_FEATURE_STORE_CATALOG_DIR", catalog_dir())
        .env("LUCID_FEATURE_STORE_KAFKA__BROKERS", &stack.brokers)
        .env("LUCID_FEATURE_STORE_TOPIC", topic)
        .env("LUCID_FEATURE_STORE_DLQ_TOPIC", format!("{topic}-dlq"))
        .env("LUCID_FEATURE_STORE_GROUP_ID", &run.group)
        .env("LUCID_FEATURE_STORE_REDIS_URL", &stack.redis_url)
        .env("LUCID_FEATURE_STORE_REDIS_PREFIX", &run.prefix)
        .env("LUCID_FEATURE_STORE_BATCH_MAX_RECORDS", "40")
        .env("LUCID_FEATURE_STORE_CONFIG", config_file(&run.prefix))
        .stdout(Stdio::null())
        .stderr(log_file(&run.prefix))
        .spawn()
        .expect("the feature-store binary starts");
    Running(child)
}

/// What env variables cannot carry (librdkafka property names hold dots): Tansu cannot start a
/// fetch inside a record batch (see `config::Resume`), and a killed member should leave the group
/// in seconds rather than the default 45.
fn config_file(prefix: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{prefix}.toml"));
    let offline = std::env::temp_dir().join(format!("{prefix}-offline"));
    let text = format!(
        "resume = \"beginning\"\noffline_dir = {offline:?}\noffline_flush_interval = \"300ms\"\n\
         [kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"1000\"\n"
    );
    std::fs::write(&path, text).expect("config file written");
    path
}

/// The service's log, kept for a failing run: `$TMPDIR/<prefix>.log`.
fn log_file(prefix: &str) -> Stdio {
    let path = std::env::temp_dir().join(format!("{prefix}.log"));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_or(Stdio::null(), Stdio::from)
}

async fn applied(redis: &mut redis::aio::MultiplexedConnection, topic: &str, run: &Run) -> i64 {
    let key = format!("{}:fs:offsets:{}:{}", run.prefix, run.group, topic);
    let offsets: HashMap<String, i64> = redis.hgetall(key).await.expect("offsets");
    offsets.values().sum()
}

async fn wait_until(
    redis: &mut redis::aio::MultiplexedConnection,
    topic: &str,
    run: &Run,
    at_least: i64,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while applied(redis, topic, run).await < at_least {
        assert!(
            Instant::now() < deadline,
            "the feature store did not reach offset {at_least} in 120 s; log: {}",
            std::env::temp_dir()
                .join(format!("{}.log", run.prefix))
                .display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every hash under a prefix, with the prefix cut off the key.
async fn contents(
    redis: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let keys: Vec<String> = redis.keys(format!("{prefix}:fs:{{*")).await.expect("keys");
    let mut out = BTreeMap::new();
    for key in keys {
        let fields: BTreeMap<String, String> = redis.hgetall(&key).await.expect("hash");
        out.insert(key[prefix.len()..].to_owned(), fields);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_then_restart_equals_a_run_without_the_crash() {
    let stack = Stack::require();
    let catalog = lucid_catalog::Catalog::load(catalog_dir()).expect("catalog");
    let mut sim = SimConfig::ending_at(Utc::now(), TimeDelta::hours(6));
    (sim.seed, sim.listeners, sim.sessions) = (5, 60, 150);
    let events: Vec<ListeningEvent> = simulate(&catalog, sim)
        .expect("simulates")
        .iter()
        .map(|e| ListeningEvent::from_input(e, expected_pseudonym("k", &e.user_id), Utc::now()))
        .collect();

    let topic = unique("fs-crash");
    broker::create_topics(
        &stack.brokers,
        &[&topic, &format!("{topic}-dlq")],
        PARTITIONS,
    )
    .await;
    broker::produce_events(&stack.brokers, &topic, &events).await;
    let total = events.len() as i64;

    let client = redis::Client::open(stack.redis_url.as_str()).expect("redis url");
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut redis = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("redis");

    let clean = Run {
        group: unique("clean"),
        prefix: unique("fsc"),
    };
    let mut child = spawn(&stack, &topic, &clean);
    wait_until(&mut redis, &topic, &clean, total).await;
    child.stop();

    let crashed = Run {
        group: unique("crash"),
        prefix: unique("fsk"),
    };
    let mut child = spawn(&stack, &topic, &crashed);
    wait_until(&mut redis, &topic, &crashed, total / 3).await;
    child.kill();
    let at_kill = applied(&mut redis, &topic, &crashed).await;
    assert!(
        at_kill < total,
        "killed before the end ({at_kill} of {total})"
    );

    let mut child = spawn(&stack, &topic, &crashed);
    wait_until(&mut redis, &topic, &crashed, total).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.stop();

    let expected = contents(&mut redis, &clean.prefix).await;
    let got = contents(&mut redis, &crashed.prefix).await;
    assert!(
        expected.len() > 500,
        "a real amount of state: {} hashes",
        expected.len()
    );
    assert_eq!(
        got, expected,
        "the crashed run's tiles differ from the clean run's"
    );

    online_equals_in_memory(&mut redis, &clean.prefix, &events, &catalog).await;
    offline_logs_are_equal(&clean, &crashed, events.len());
}

/// The crashed run's offline log holds exactly the clean run's records, and gives the same
/// training set.
fn offline_logs_are_equal(clean: &Run, crashed: &Run, total: usize) {
    let read = |run: &Run| {
        let dir = std::env::temp_dir().join(format!("{}-offline", run.prefix));
        let mut events = lucid_offline::read_events(&dir).expect("the offline log reads");
        events.sort_by_key(|e| (e.partition, e.offset));
        events
    };
    let (clean_log, crashed_log) = (read(clean), read(crashed));
    assert_eq!(
        clean_log.len(),
        total,
        "the clean run logged every event once"
    );
    assert_eq!(
        crashed_log, clean_log,
        "the crashed run's offline log differs"
    );

    let registry = Registry::from_toml(lucid_features::STARTER_DEFINITIONS).expect("definitions");
    let features = registry
        .service("skip_model")
        .expect("skip_model service")
        .features
        .clone();
    let rows = |log| lucid_offline::training_set(&registry, log, &features).expect("training set");
    let clean_rows = rows(&clean_log);
    assert!(clean_rows.len() > 100, "{} training rows", clean_rows.len());
    assert_eq!(rows(&crashed_log), clean_rows);
}

/// Every feature of every entity read from Redis equals the in-memory store's value.
async fn online_equals_in_memory(
    redis: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
    events: &[ListeningEvent],
    catalog: &lucid_catalog::Catalog,
) {
    let registry = Registry::from_toml(lucid_features::STARTER_DEFINITIONS)
        .and_then(|r| r.with_key_prefix(prefix))
        .expect("starter definitions");
    let attrs = lucid_feature_store::attributes_of(catalog);
    let observations: Vec<Observation> = events
        .iter()
        .map(|e| Observation::from_event(e, e.track_id.and_then(|id| attrs.get(&id))))
        .collect();
    let mut memory = InMemoryStore::new();
    memory.observe(&registry, &observations);

    // Read at the current time, as a model would: Redis expires tiles by the wall clock, and a
    // tile a read at `t` needs expires only after `t` (its end plus the window).
    let t = Utc::now().timestamp_millis();
    let mut compared = 0;
    for entity in EntityType::ALL {
        let mut ids: Vec<String> = observations
            .iter()
            .filter_map(|o| o.entity_key(entity).map(|k| k.into_owned()))
            .collect();
        ids.sort();
        ids.dedup();
        let features: Vec<String> = registry
            .views()
            .iter()
            .filter(|v| v.entity == entity)
            .flat_map(|v| {
                v.features
                    .iter()
                    .map(move |f| format!("{}:{}", v.name, f.name))
            })
            .collect();
        let plan = lucid_features::read_plan(&registry, entity, &ids, &features, t).expect("plan");

        let mut pipe = redis::pipe();
        for key in plan.keys() {
            pipe.cmd("HMGET").arg(&key.key).arg(&key.fields);
        }
        let fetched: Vec<Vec<Option<String>>> = pipe.query_async(redis).await.expect("fetch");
        let online = lucid_features::evaluate(&plan, &fetched).expect("online values");
        let offline = memory.read(&plan).expect("in-memory values");
        let differing = ids
            .iter()
            .zip(online.iter().zip(&offline))
            .find(|(_, (on, off))| on != off);
        if let Some((id, (on, off))) = differing {
            panic!("{entity:?} {id}: redis {on:?} but in memory {off:?} for {features:?} at {t}");
        }
        compared += ids.len() * features.len();
    }
    assert!(compared > 1000, "compared {compared} values");
}
