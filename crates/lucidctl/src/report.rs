//! `lucidctl report`: one self-contained HTML page of what a run did.
//!
//! Drawn from the samples `lucidctl record` wrote (drift statistics, feature store throughput)
//! and from the `rollouts`, `drift-alerts` and `retraining-runs` topics, each read from its
//! beginning to its end. The charts are inline SVG; the numbers they plot are also embedded as
//! JSON (`<script type="application/json" id="series">`) for tests and other tools.

mod chart;
mod events;
mod html;
mod series;
mod timeline;

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use lucid_avro::{Codec, SchemaSet};
use lucid_kafka::{
    KafkaConfig,
    read::{ReadUntil, read_all},
    topics::{DRIFT_ALERTS, RETRAINING_RUNS, ROLLOUTS},
};

use crate::record::Sample;
use events::Events;

/// How long a topic may take to read to its end before the report gives up on it.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of `lucidctl report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The JSON lines file written by `lucidctl record`.
    #[arg(long, value_name = "FILE")]
    samples: PathBuf,

    /// Kafka bootstrap servers.
    #[arg(long, env = "LUCID_KAFKA_BROKERS", default_value = "127.0.0.1:19092")]
    brokers: String,

    /// Leave out samples and events before this time (UTC milliseconds since the Unix epoch).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    since_ms: i64,

    /// The HTML file to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,

    /// The page's title.
    #[arg(long, default_value = "lucid run report")]
    title: String,
}

/// Reads the samples and the topics and writes the page.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.samples)
        .with_context(|| format!("failed to read {}", args.samples.display()))?;
    let samples = parse_samples(&text);
    let events = read_events(&args.brokers).await?;

    let page = build(&args.title, args.since_ms, &samples, events)?;
    std::fs::write(&args.out, page)
        .with_context(|| format!("failed to write {}", args.out.display()))
}

/// The samples of a file; a line that does not parse (the last one, when the recorder was
/// killed mid-write) is left out.
fn parse_samples(text: &str) -> Vec<Sample> {
    let mut bad = 0;
    let samples = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| {
            let sample = serde_json::from_str(line).ok();
            bad += usize::from(sample.is_none());
            sample
        })
        .collect();
    if bad > 0 {
        tracing::warn!(lines = bad, "left out sample lines that do not parse");
    }
    samples
}

/// The page for these samples and events: the pure part of the command.
fn build(title: &str, since_ms: i64, samples: &[Sample], events: Events) -> anyhow::Result<String> {
    let events = events.since(since_ms);
    let series = series::build(samples, &events.rollouts, since_ms);
    let end_ms = samples
        .iter()
        .map(|s| s.time_ms)
        .chain(events.rollouts.iter().map(|r| r.event_time))
        .chain(events.alerts.iter().map(|a| a.detected_time))
        .chain(events.runs.iter().map(|r| r.event_time))
        .fold(since_ms, i64::max);
    html::render(&html::Page {
        title,
        since_ms,
        end_ms,
        series: &series,
        events: &events,
    })
}

/// Every record of the three topics, decoded; records that cannot be read are left out.
async fn read_events(brokers: &str) -> anyhow::Result<Events> {
    let config = KafkaConfig {
        brokers: brokers.to_owned(),
        ..Default::default()
    };
    lucid_kafka::admin::ping(&config, Duration::from_secs(5))
        .await
        .with_context(|| {
            format!("the broker at {brokers} does not answer; start it with scripts/stack up")
        })?;

    let codec = Codec::single_object(SchemaSet::shipped());
    let mut out = Events::default();
    for topic in [ROLLOUTS, DRIFT_ALERTS, RETRAINING_RUNS] {
        let reader = events::reader_of(topic).expect("the report reads only known topics");
        let mut unreadable = 0;
        for payload in read_topic(&config, topic).await? {
            let Some(value) = events::decode(&codec, &payload, reader).await else {
                unreadable += 1;
                continue;
            };
            let read = match topic {
                ROLLOUTS => events::rollout(&value).map(|r| out.rollouts.push(r)),
                DRIFT_ALERTS => events::alert(&value).map(|a| out.alerts.push(a)),
                _ => events::run(&value).map(|r| out.runs.push(r)),
            };
            unreadable += usize::from(read.is_none());
        }
        if unreadable > 0 {
            tracing::warn!(
                topic,
                records = unreadable,
                "left out records this lucidctl cannot read"
            );
        }
    }
    Ok(out)
}

/// The payloads of a topic from its beginning to its end; none for a topic not created yet.
///
/// The end is where librdkafka reports each partition's end (its high watermark) and nothing
/// more arrives for a moment; `lucid_kafka::read` explains why the watermark alone is not
/// trusted on the local broker.
async fn read_topic(config: &KafkaConfig, topic: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let until = ReadUntil {
        expected: None,
        idle: Duration::from_millis(500),
        timeout: READ_TIMEOUT,
    };
    match read_all(config, topic, until).await {
        Ok(records) => Ok(records.into_iter().map(|r| r.payload).collect()),
        Err(error) if error.to_string().contains("UnknownTopic") => Ok(Vec::new()),
        Err(error) => Err(error).with_context(|| format!("failed to read topic {topic}")),
    }
}

#[cfg(test)]
mod tests;
