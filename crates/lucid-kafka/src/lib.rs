//! Kafka for the platform's services.
//!
//! - [`topics`]: the topic names of the design, in one place.
//! - [`KafkaConfig`]: broker addresses and extra librdkafka settings, from service config.
//! - [`admin`]: creating topics (the local broker does not create them on first use) and
//!   checking reachability.
//! - [`read`]: reading a topic back and counting its records exactly.
//! - [`Producer`]: an idempotent, `acks=all` producer whose sends resolve only on the broker's
//!   delivery report, and refuse at once when the local queue is full.

pub mod admin;
pub mod read;
pub mod topics;

mod config;
mod producer;

pub use config::KafkaConfig;
pub use producer::{Delivered, ProduceError, Producer, ProducerOptions};
