//! A producer whose sends complete on the broker's delivery report.
//!
//! Contract with librdkafka: `message.timeout.ms` bounds the time from enqueue to the delivery
//! report, success or failure, so every returned future resolves within `delivery_timeout`. With
//! `enable.idempotence` the broker drops librdkafka's internal retries of the same batch, so a
//! confirmed message is stored once and per-partition order holds.
//!
//! After a delivery failure the librdkafka client is replaced by a fresh one (at most once per
//! delivery timeout). librdkafka bumps the idempotent producer's epoch locally when messages time
//! out; a broker that lost its producer state (a restarted broker with memory storage, a failed
//! over cluster) then answers UNKNOWN_PRODUCER_ID again and again, and sends never recover. A new
//! client starts with a new producer id. Failed messages were already reported to their callers,
//! so the swap loses nothing and sends nothing twice.

use std::{
    future::Future,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use rdkafka::{
    ClientConfig,
    error::{KafkaError, RDKafkaErrorCode},
    producer::{FutureProducer, FutureRecord, Producer as _},
};

use crate::KafkaConfig;

/// Producer tuning from service config.
#[derive(Debug, Clone, Copy)]
pub struct ProducerOptions {
    /// Most messages waiting in the local queue; past it, sends fail with [`ProduceError::QueueFull`].
    pub queue_max_messages: u32,
    /// Time from enqueue to a definite delivery report.
    pub delivery_timeout: Duration,
    /// How long librdkafka waits to fill a batch.
    pub linger: Duration,
}

impl Default for ProducerOptions {
    fn default() -> Self {
        ProducerOptions {
            queue_max_messages: 100_000,
            delivery_timeout: Duration::from_secs(10),
            linger: Duration::from_millis(5),
        }
    }
}

/// Where the broker stored a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Partition.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
}

/// A message was not stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProduceError {
    /// The local queue is full: the broker is slow or away. Retry later.
    #[error("producer queue is full")]
    QueueFull,
    /// The broker did not confirm the message within the delivery timeout.
    #[error("delivery failed: {detail}")]
    Delivery {
        /// librdkafka's explanation.
        detail: String,
        /// False for errors that a retry cannot fix (message too large, unknown topic).
        retryable: bool,
    },
    /// The producer could not be created.
    #[error("invalid producer settings: {0}")]
    Settings(String),
}

impl ProduceError {
    /// True when sending the same message later may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            ProduceError::QueueFull => true,
            ProduceError::Delivery { retryable, .. } => *retryable,
            ProduceError::Settings(_) => false,
        }
    }
}

/// An idempotent, `acks=all` producer.
#[derive(Clone)]
pub struct Producer {
    shared: Arc<Shared>,
}

struct Shared {
    current: RwLock<FutureProducer>,
    settings: ClientConfig,
    last_reset: Mutex<Instant>,
    reset_interval: Duration,
}

impl Producer {
    /// Creates the producer; it connects lazily.
    pub fn new(
        config: &KafkaConfig,
        client_id: &str,
        options: ProducerOptions,
    ) -> Result<Self, ProduceError> {
        let mut settings = config.client_config(client_id);
        settings
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set(
                "queue.buffering.max.messages",
                options.queue_max_messages.to_string(),
            )
            .set(
                "message.timeout.ms",
                options.delivery_timeout.as_millis().to_string(),
            )
            .set("linger.ms", options.linger.as_millis().to_string());
        for (key, value) in &config.properties {
            settings.set(key, value);
        }

        let current = settings
            .create()
            .map_err(|e| ProduceError::Settings(e.to_string()))?;
        let shared = Shared {
            current: RwLock::new(current),
            settings,
            last_reset: Mutex::new(Instant::now()),
            reset_interval: options.delivery_timeout,
        };
        Ok(Producer {
            shared: Arc::new(shared),
        })
    }

    /// Enqueues a message. Fails at once with [`ProduceError::QueueFull`] when the local queue is
    /// full; otherwise returns a future that resolves on the delivery report.
    pub fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<
        impl Future<Output = Result<Delivered, ProduceError>> + Send + 'static + use<>,
        ProduceError,
    > {
        let mut record = FutureRecord::<[u8], [u8]>::to(topic).payload(payload);
        if let Some(key) = key {
            record = record.key(key);
        }

        let delivery = self
            .current()
            .send_result(record)
            .map_err(|(error, _)| enqueue_error(error))?;
        let shared = self.shared.clone();
        Ok(async move {
            match delivery.await {
                Ok(Ok(delivery)) => Ok(Delivered {
                    partition: delivery.partition,
                    offset: delivery.offset,
                }),
                Ok(Err((error, _))) => {
                    shared.reset();
                    Err(delivery_error(error))
                }
                Err(_canceled) => Err(ProduceError::Delivery {
                    detail: "producer shut down before the delivery report".into(),
                    retryable: true,
                }),
            }
        })
    }

    /// Messages enqueued or in flight, not yet reported.
    pub fn in_flight(&self) -> i32 {
        self.current().in_flight_count()
    }

    /// Succeeds when a broker answers a metadata request within `timeout`. With a topic, the
    /// answer also warms librdkafka's metadata for it, so the first send does not wait for it.
    pub async fn ping(&self, topic: Option<&str>, timeout: Duration) -> Result<(), ProduceError> {
        let producer = self.current();
        let topic = topic.map(str::to_owned);
        let answer = tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(topic.as_deref(), timeout)
                .map(|_| ())
        })
        .await;
        let unavailable = |detail: String| ProduceError::Delivery {
            detail,
            retryable: true,
        };
        answer
            .map_err(|e| unavailable(e.to_string()))?
            .map_err(|e| unavailable(e.to_string()))
    }

    /// Waits up to `timeout` for every queued message to be reported.
    pub async fn flush(&self, timeout: Duration) {
        let producer = self.current();
        let flushed = tokio::task::spawn_blocking(move || producer.flush(timeout)).await;
        if let Ok(Err(error)) = flushed {
            tracing::warn!(%error, "producer flush did not finish");
        }
    }

    /// The librdkafka client in use now (a cheap handle).
    fn current(&self) -> FutureProducer {
        self.shared
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Shared {
    /// Replaces the librdkafka client with a fresh one, at most once per interval.
    fn reset(&self) {
        {
            let mut last = self.last_reset.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() < self.reset_interval {
                return;
            }
            *last = Instant::now();
        }
        let fresh: FutureProducer = match self.settings.create() {
            Ok(fresh) => fresh,
            Err(error) => {
                tracing::error!(%error, "failed to recreate the producer after delivery failures");
                return;
            }
        };

        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        let old = std::mem::replace(&mut *current, fresh);
        drop(current);
        tracing::warn!("recreated the producer after delivery failures");

        // Destroying a librdkafka client waits for its queue; keep that off the async workers.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(move || drop(old))),
            Err(_) => drop(old),
        }
    }
}

fn enqueue_error(error: KafkaError) -> ProduceError {
    match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::QueueFull) => ProduceError::QueueFull,
        _ => delivery_error(error),
    }
}

fn delivery_error(error: KafkaError) -> ProduceError {
    let retryable = !matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge)
            | Some(RDKafkaErrorCode::InvalidMessageSize)
            | Some(RDKafkaErrorCode::UnknownTopic)
            | Some(RDKafkaErrorCode::UnknownTopicOrPartition)
            | Some(RDKafkaErrorCode::TopicAuthorizationFailed)
    );
    ProduceError::Delivery {
        detail: error.to_string(),
        retryable,
    }
}
