//! `lucidctl topics`: how many records each platform topic holds.
//!
//! Records are counted by reading the topics (see `lucid_kafka::read` for why watermarks are
//! not used), so this is meant for the local stack and demo-sized topics. The topics are read
//! at once, each on its own blocking thread, so the total is that of the largest topic.

use std::{collections::BTreeMap, path::PathBuf};

use anyhow::Context;
use lucid_kafka::{KafkaConfig, topics};
use tokio::task::JoinSet;

/// Options of `lucidctl topics`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kafka bootstrap servers.
    #[arg(long, env = "LUCID_KAFKA_BROKERS", default_value = "127.0.0.1:19092")]
    brokers: String,

    /// Print the counts as a JSON object (to save and compare later with --since).
    #[arg(long)]
    json: bool,

    /// A file written earlier with --json: also print what was added since.
    #[arg(long, value_name = "FILE")]
    since: Option<PathBuf>,
}

/// Counts the records of every platform topic and prints them.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = KafkaConfig {
        brokers: args.brokers.clone(),
        ..Default::default()
    };
    lucid_kafka::admin::ping(&config, std::time::Duration::from_secs(5))
        .await
        .with_context(|| {
            format!(
                "the broker at {} does not answer; start it with scripts/stack up",
                args.brokers
            )
        })?;

    let counts = count_all(&config).await?;

    if args.json {
        println!("{}", serde_json::to_string(&counts)?);
        return Ok(());
    }

    let before: BTreeMap<String, usize> = match &args.since {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("failed to read {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a --json output", path.display()))?
        }
        None => BTreeMap::new(),
    };
    println!(
        "  {:<24} {:>10} {:>12}",
        "topic",
        "records",
        if args.since.is_some() { "this run" } else { "" }
    );
    for (topic, n) in &counts {
        let added = args.since.as_ref().map(|_| {
            format!(
                "{:+}",
                *n as i64 - before.get(topic).copied().unwrap_or(0) as i64
            )
        });
        println!(
            "  {:<24} {:>10} {:>12}",
            topic,
            n,
            added.unwrap_or_default()
        );
    }
    Ok(())
}

/// Counts every platform topic concurrently; fails on the first topic that cannot be counted.
async fn count_all(config: &KafkaConfig) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut readers = JoinSet::new();
    for topic in topics::ALL {
        let config = config.clone();
        readers.spawn(async move {
            let n = lucid_kafka::read::count_records(&config, topic)
                .await
                .with_context(|| format!("failed to count the records of topic {topic}"))?;
            anyhow::Ok(((*topic).to_owned(), n))
        });
    }

    let mut counts = BTreeMap::new();
    while let Some(joined) = readers.join_next().await {
        let (topic, n) = joined.context("a topic reader task failed")??;
        counts.insert(topic, n);
    }
    Ok(counts)
}
