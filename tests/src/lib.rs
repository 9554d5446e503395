//! Shared helpers for the integration tests in `tests/tests/`.
//!
//! The tests run the services in-process and talk to the real local stack (Tansu and Redis,
//! started by `scripts/stack up`). A test whose stack is missing fails and says how to start it.
//! Each test works on its own topics and Redis prefix, so tests run in parallel on one stack.

pub mod broker;
pub mod feature_store;
pub mod ingestion;

use std::{net::TcpStream, time::Duration};

/// Where the local stack listens, from the same variables the scripts use.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Kafka bootstrap servers.
    pub brokers: String,
    /// Redis URL.
    pub redis_url: String,
}

impl Stack {
    /// The running stack; panics with instructions when a part does not answer.
    pub fn require() -> Stack {
        let brokers =
            std::env::var("LUCID_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into());
        let redis_url =
            std::env::var("LUCID_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:16379".into());

        let redis_addr = redis_url
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        for (name, addr) in [
            ("broker", brokers.split(',').next().unwrap_or_default()),
            ("redis", &redis_addr),
        ] {
            if !answers(addr) {
                panic!(
                    "{name} is not reachable at {addr}: start the local stack with `scripts/stack up`"
                );
            }
        }
        Stack { brokers, redis_url }
    }
}

/// True when something accepts TCP connections at `addr`.
pub fn answers(addr: &str) -> bool {
    let Ok(addr) = addr.parse() else { return false };
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

/// A name no other test run uses: `prefix-<8 hex>`.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// The pseudonym the platform must produce for `user_id` under `key`, computed here with the
/// `hmac` crate directly rather than through the service's code.
pub fn expected_pseudonym(key: &str, user_id: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(user_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The real track catalog folder: `LUCID_CATALOG_DIR`, else the shared copy beside the checkout.
/// Panics with instructions when it is absent.
pub fn catalog_dir() -> std::path::PathBuf {
    let dir = std::env::var("LUCID_CATALOG_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/data/fma-echonest-features")
        });
    assert!(
        dir.join("echonest-metrics.json").exists(),
        "track catalog not found in {}: run `scripts/fetch-data` and set LUCID_CATALOG_DIR",
        dir.display()
    );
    dir
}
