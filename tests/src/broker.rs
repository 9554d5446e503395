//! Topics and records on the real broker, and a private Tansu for tests that stop the broker.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use lucid_kafka::{KafkaConfig, read::ReadUntil};

pub use lucid_kafka::read::Record;

/// Kafka settings for `brokers`.
pub fn kafka(brokers: &str) -> KafkaConfig {
    KafkaConfig {
        brokers: brokers.to_owned(),
        ..Default::default()
    }
}

/// Creates `topics` with `partitions` partitions each.
pub async fn create_topics(brokers: &str, topics: &[&str], partitions: i32) {
    lucid_kafka::admin::ensure_topics(&kafka(brokers), topics, partitions)
        .await
        .expect("topics can be created on the test broker");
}

/// Reads every record of `topic` from the beginning until `expected` records arrived and then
/// nothing more for 1.5 s (to catch duplicates), or until `timeout`.
pub async fn read_topic(
    brokers: &str,
    topic: &str,
    expected: usize,
    timeout: Duration,
) -> Vec<Record> {
    let until = ReadUntil {
        expected: Some(expected),
        idle: Duration::from_millis(1500),
        timeout,
    };
    lucid_kafka::read::read_all(&kafka(brokers), topic, until)
        .await
        .expect("topic can be read")
}

/// Produces listening events to `topic` as the ingestion service does (single-object Avro,
/// keyed by the user pseudonym) and waits for every delivery report.
pub async fn produce_events(brokers: &str, topic: &str, events: &[lucid_events::ListeningEvent]) {
    let codec = lucid_avro::Codec::single_object(lucid_avro::SchemaSet::shipped());
    let encoder = codec
        .encoder(lucid_avro::LISTENING_EVENT, "tests")
        .await
        .expect("encoder");
    let producer = lucid_kafka::Producer::new(&kafka(brokers), "lucid-tests", Default::default())
        .expect("producer settings are valid");
    let sends: Vec<_> = events
        .iter()
        .map(|e| {
            let bytes = encoder.encode(e.to_avro()).expect("a valid record encodes");
            producer
                .send(topic, Some(e.user_pseudonym.as_bytes()), &bytes)
                .expect("queued")
        })
        .collect();
    for delivery in futures::future::join_all(sends).await {
        delivery.expect("the broker confirms");
    }
}

/// A Tansu broker owned by one test, on its own port, so the test can stop and restart it.
pub struct PrivateBroker {
    port: u16,
    child: Option<Child>,
}

impl PrivateBroker {
    /// Starts Tansu (memory storage) on a free port.
    pub fn start() -> PrivateBroker {
        let port = free_port();
        let mut broker = PrivateBroker { port, child: None };
        broker.restart();
        broker
    }

    /// `host:port` for clients.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker (SIGKILL): connections drop, in-memory data is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(tansu_bin())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts: build it with `scripts/stack up`");
        self.child = Some(child);

        let deadline = Instant::now() + Duration::from_secs(10);
        while !crate::answers(&self.brokers()) {
            assert!(
                Instant::now() < deadline,
                "private tansu did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn tansu_bin() -> PathBuf {
    if let Ok(path) = std::env::var("LUCID_TANSU_BIN") {
        return path.into();
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let path = PathBuf::from(home).join(".cache/lucid/tools/bin/tansu");
    assert!(
        path.exists(),
        "tansu is not installed at {}: run `scripts/stack up`",
        path.display()
    );
    path
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("an ephemeral port is available")
}
