//! The offline log beside the online store: every consumed event, with its track attributes and
//! late flag, appended to Parquet files (`lucid-offline`) for point-in-time training sets.
//!
//! The log is written by a thread of its own and flushed every `offline_flush_interval`; after a
//! flush it stores, per partition, the offset after the last logged record in Redis. The consumer
//! logs every record from that offset on, which after a crash can lie behind the online offset:
//! those records are read again, logged, and not applied to the tiles a second time. A crash
//! between a flush and storing its offset logs some records twice; the log's reader drops the
//! second copy by partition and offset.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::Context;
use lucid_offline::{LoggedEvent, OfflineLog};

/// One partition's records of a batch, and the partition's offset after them.
pub struct LogBatch {
    /// Partition.
    pub partition: i32,
    /// Offset after the last record.
    pub next: i64,
    /// The records.
    pub rows: Vec<LoggedEvent>,
}

/// Hands batches to the writer thread.
pub struct OfflineWriter {
    sender: Option<SyncSender<LogBatch>>,
    thread: Option<JoinHandle<()>>,
}

struct Writer {
    log: OfflineLog,
    redis: redis::Client,
    offsets_key: String,
    interval: Duration,
    pending: HashMap<i32, i64>,
}

impl OfflineWriter {
    /// Opens the log in `dir` and starts the writer thread.
    pub fn start(
        dir: PathBuf,
        redis_url: &str,
        offsets_key: String,
        interval: Duration,
    ) -> anyhow::Result<Self> {
        let log = OfflineLog::open(&dir)
            .with_context(|| format!("failed to open the offline log in {}", dir.display()))?;
        let redis = redis::Client::open(redis_url)?;
        let writer = Writer {
            log,
            redis,
            offsets_key,
            interval,
            pending: HashMap::new(),
        };
        // Bounded: a slow disk slows the consumer instead of growing memory.
        let (sender, receiver) = sync_channel(64);
        let thread = std::thread::Builder::new()
            .name("offline-log".into())
            .spawn(move || writer.run(receiver))
            .context("failed to start the offline log thread")?;
        Ok(OfflineWriter {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    /// Queues a batch, waiting for room when the writer is behind.
    pub async fn send(&self, batch: LogBatch) -> anyhow::Result<()> {
        let sender = self.sender.as_ref().context("the offline log is closed")?;
        match sender.try_send(batch) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(batch)) => {
                let sender = sender.clone();
                tokio::task::spawn_blocking(move || sender.send(batch))
                    .await?
                    .ok()
                    .context("the offline log thread stopped")
            }
            Err(TrySendError::Disconnected(_)) => anyhow::bail!("the offline log thread stopped"),
        }
    }

    /// Flushes what is queued and stops the thread.
    pub async fn close(mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Writer {
    fn run(mut self, receiver: Receiver<LogBatch>) {
        let mut last_flush = Instant::now();
        loop {
            let wait = self.interval.saturating_sub(last_flush.elapsed());
            match receiver.recv_timeout(wait) {
                Ok(batch) => self.append(batch),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush();
                    return;
                }
            }
            if last_flush.elapsed() >= self.interval {
                self.flush();
                last_flush = Instant::now();
            }
        }
    }

    fn append(&mut self, batch: LogBatch) {
        if let Err(error) = self.log.append(&batch.rows) {
            tracing::error!(%error, partition = batch.partition, "failed to append to the offline log");
            return;
        }
        let next = self.pending.entry(batch.partition).or_insert(batch.next);
        *next = (*next).max(batch.next);
    }

    /// Writes the files, then stores how far the log got. On failure the offsets stay behind,
    /// and the records are logged again after a restart.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if let Err(error) = self.log.flush() {
            tracing::error!(%error, "failed to flush the offline log");
            return;
        }
        let stored = self.redis.get_connection().and_then(|mut c| {
            let pairs: Vec<(i32, i64)> = self.pending.iter().map(|(p, o)| (*p, *o)).collect();
            redis::cmd("HSET")
                .arg(&self.offsets_key)
                .arg(pairs)
                .query::<()>(&mut c)
        });
        match stored {
            Ok(()) => self.pending.clear(),
            Err(error) => tracing::warn!(%error, "failed to store the offline log's offsets"),
        }
    }
}
