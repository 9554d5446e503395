//! `lucidctl watch`: a readable timeline of what the platform decides, from its topics.
//!
//! Reads `drift-alerts`, `retraining-runs` and `rollouts` (single-object Avro; the writer
//! schema is found by its fingerprint among the shipped schemas) and prints one line per
//! record, newest last, at the time the record says it happened, until interrupted.

use std::io::Write as _;
use std::time::Duration;

use anyhow::Context;
use apache_avro::types::Value;
use lucid_avro::{Codec, SINGLE_OBJECT_MAGIC, SchemaSet};
use rdkafka::{
    ClientConfig, Message, Offset, TopicPartitionList,
    consumer::{Consumer, StreamConsumer},
};

/// The topics watched, in the order of the loop.
const TOPICS: [&str; 3] = ["drift-alerts", "retraining-runs", "rollouts"];

/// Options of `lucidctl watch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kafka bootstrap servers.
    #[arg(long, env = "LUCID_KAFKA_BROKERS", default_value = "127.0.0.1:19092")]
    brokers: String,

    /// Start at the beginning of each topic rather than at its end.
    #[arg(long)]
    from_beginning: bool,
}

/// Prints the timeline until interrupted.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .set("group.id", "lucidctl-watch")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()
        .context("failed to create a kafka consumer")?;
    let start = if args.from_beginning {
        Offset::Beginning
    } else {
        Offset::End
    };
    let mut assignment = TopicPartitionList::new();
    for topic in TOPICS {
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .with_context(|| {
                format!(
                    "the broker at {} does not answer; start it with scripts/stack up",
                    args.brokers
                )
            })?;
        let partitions = metadata
            .topics()
            .first()
            .map_or(0, |t| t.partitions().len());
        for partition in 0..partitions as i32 {
            assignment.add_partition_offset(topic, partition, start)?;
        }
    }
    consumer.assign(&assignment)?;

    let codec = Codec::single_object(SchemaSet::shipped());
    let mut out = std::io::stdout().lock();
    loop {
        let message = consumer.recv().await.context("failed to read the topics")?;
        let decoded = decode(&codec, message.payload().unwrap_or_default()).await;
        let (line, at) = match &decoded {
            Some(value) => (describe(message.topic(), value), time_of(value)),
            None => (
                "(a record this version of lucidctl cannot read)".to_owned(),
                None,
            ),
        };
        let at = at
            .or_else(|| message.timestamp().to_millis())
            .and_then(chrono::DateTime::from_timestamp_millis)
            .unwrap_or_else(chrono::Utc::now);
        let written = writeln!(
            out,
            "{}  {:<16} {line}",
            at.format("%H:%M:%S"),
            message.topic()
        )
        .and_then(|()| out.flush());
        match written {
            Ok(()) => {}
            // The reader went away (`| head`): that ends the output, as for other tools.
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(error) => return Err(error).context("failed to write the timeline"),
        }
    }
}

/// When the record says it happened: a transition's or a run's `event_time`, an alert's
/// `detected_time`.
fn time_of(value: &Value) -> Option<i64> {
    let Value::Record(fields) = value else {
        return None;
    };
    ["event_time", "detected_time"].iter().find_map(|name| {
        match fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)? {
            Value::TimestampMillis(ms) | Value::Long(ms) => Some(*ms),
            _ => None,
        }
    })
}

async fn decode(codec: &Codec, bytes: &[u8]) -> Option<Value> {
    if bytes.len() < 10 || bytes[..2] != SINGLE_OBJECT_MAGIC {
        return None;
    }
    let print: [u8; 8] = bytes[2..10].try_into().ok()?;
    let schema = codec.schemas().by_fingerprint(&print)?;
    Some(codec.decode_as(bytes, &schema).await.ok()?.value)
}

/// The fields worth a glance, by name, in the order they are printed.
const SHOWN: [&str; 20] = [
    "monitor",
    "model_name",
    "model",
    "run_id",
    "band",
    "status",
    "transition",
    "state",
    "strategy",
    "from_version",
    "to_version",
    "model_version",
    "candidate_weight",
    "verdict",
    "stable_outcomes",
    "candidate_outcomes",
    "stable_log_loss",
    "candidate_log_loss",
    "drift_share",
    "reason",
];

/// One line for a record: its telling fields, and for drift alerts the drifted columns.
pub fn describe(topic: &str, value: &Value) -> String {
    let Value::Record(fields) = value else {
        return format!("{value:?}");
    };
    let mut parts: Vec<String> = SHOWN
        .iter()
        .filter_map(|name| {
            let (_, v) = fields.iter().find(|(n, _)| n == name)?;
            Some(format!("{name}={}", text(v)?))
        })
        .collect();
    if topic == "drift-alerts"
        && let Some((_, Value::Array(columns))) = fields.iter().find(|(n, _)| n == "columns")
    {
        let drifted: Vec<String> = columns.iter().filter_map(drifted_column).collect();
        if !drifted.is_empty() {
            parts.push(format!("drifted: {}", drifted.join(", ")));
        }
    }
    parts.join("  ")
}

fn drifted_column(column: &Value) -> Option<String> {
    let Value::Record(fields) = column else {
        return None;
    };
    let get = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    if text(get("band")?)? != "DRIFT" {
        return None;
    }
    Some(format!(
        "{} {} {}",
        text(get("column")?)?,
        text(get("method")?)?,
        text(get("value")?).unwrap_or_default()
    ))
}

fn text(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        Value::Union(_, inner) => return text(inner),
        Value::String(s) | Value::Enum(_, s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Long(n) => n.to_string(),
        Value::Double(x) => format!("{x:.3}"),
        Value::Float(x) => format!("{x:.3}"),
        Value::Boolean(b) => b.to_string(),
        Value::Array(items) => items.iter().filter_map(text).collect::<Vec<_>>().join("/"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_is_the_records_own() {
        let run = Value::Record(vec![
            ("status".into(), Value::Enum(2, "STARTED".into())),
            (
                "event_time".into(),
                Value::TimestampMillis(1_796_119_200_000),
            ),
        ]);
        let alert = Value::Record(vec![("detected_time".into(), Value::Long(5))]);
        assert_eq!(time_of(&run), Some(1_796_119_200_000));
        assert_eq!(time_of(&alert), Some(5));
        assert_eq!(time_of(&Value::Record(vec![])), None);
    }

    #[test]
    fn a_drift_alert_reads_as_one_line() {
        let column = |name: &str, band: &str, value: f64| {
            Value::Record(vec![
                ("column".into(), Value::String(name.into())),
                ("method".into(), Value::String("wasserstein".into())),
                (
                    "value".into(),
                    Value::Union(1, Box::new(Value::Double(value))),
                ),
                ("band".into(), Value::Enum(2, band.into())),
            ])
        };
        let alert = Value::Record(vec![
            ("monitor".into(), Value::String("listening-outcomes".into())),
            ("model_name".into(), Value::Union(0, Box::new(Value::Null))),
            ("band".into(), Value::Enum(2, "DRIFT".into())),
            ("reason".into(), Value::Enum(0, "ENTERED".into())),
            (
                "columns".into(),
                Value::Array(vec![
                    column("listened_ms", "DRIFT", 0.5471),
                    column("platform", "OK", 0.01),
                ]),
            ),
            ("drift_share".into(), Value::Double(0.2727)),
        ]);
        assert_eq!(
            describe("drift-alerts", &alert),
            "monitor=listening-outcomes  band=DRIFT  drift_share=0.273  reason=ENTERED  \
             drifted: listened_ms wasserstein 0.547"
        );
    }
}
