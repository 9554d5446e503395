//! Topics and records on the real broker, and a private Tansu for tests that stop the broker.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use lucid_kafka::KafkaConfig;
use rdkafka::{
    ClientConfig, Message, TopicPartitionList,
    consumer::{BaseConsumer, Consumer},
};

/// One record as read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    /// Partition it was stored in.
    pub partition: i32,
    /// Key bytes, if any.
    pub key: Option<Vec<u8>>,
    /// Value bytes.
    pub payload: Vec<u8>,
}

/// Kafka settings for `brokers`.
pub fn kafka(brokers: &str) -> KafkaConfig {
    KafkaConfig { brokers: brokers.to_owned(), ..Default::default() }
}

/// Creates `topics` with `partitions` partitions each.
pub async fn create_topics(brokers: &str, topics: &[&str], partitions: i32) {
    lucid_kafka::admin::ensure_topics(&kafka(brokers), topics, partitions)
        .await
        .expect("topics can be created on the test broker");
}

/// Reads every record of `topic` from the beginning until `expected` records arrived or
/// `timeout` passed, then waits a little longer to catch any extra (duplicate) records.
pub async fn read_topic(brokers: &str, topic: &str, expected: usize, timeout: Duration) -> Vec<Record> {
    let brokers = brokers.to_owned();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || read_blocking(&brokers, &topic, expected, timeout))
        .await
        .expect("reader task does not panic")
}

fn read_blocking(brokers: &str, topic: &str, expected: usize, timeout: Duration) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", crate::unique("lucid-test-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer settings are valid");

    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)).expect("topic metadata");
    let mut assignment = TopicPartitionList::new();
    for partition in metadata.topics()[0].partitions() {
        assignment
            .add_partition_offset(topic, partition.id(), rdkafka::Offset::Beginning)
            .expect("valid partition");
    }
    consumer.assign(&assignment).expect("assignment");

    let mut records = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut settle_until: Option<Instant> = None;
    while Instant::now() < settle_until.unwrap_or(deadline) {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            records.push(Record {
                partition: message.partition(),
                key: message.key().map(<[u8]>::to_vec),
                payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            });
        }
        if records.len() >= expected && settle_until.is_none() {
            settle_until = Some(Instant::now() + Duration::from_millis(1500));
        }
    }
    records
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
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts: build it with `scripts/stack up`");
        self.child = Some(child);

        let deadline = Instant::now() + Duration::from_secs(10);
        while !crate::answers(&self.brokers()) {
            assert!(Instant::now() < deadline, "private tansu did not listen on {}", self.port);
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
    assert!(path.exists(), "tansu is not installed at {}: run `scripts/stack up`", path.display());
    path
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("an ephemeral port is available")
}
