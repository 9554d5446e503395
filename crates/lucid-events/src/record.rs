//! The Avro records on the topics, and their conversion to and from Avro values.
//!
//! Conversion is written out by hand rather than through serde so that enums map to the schema's
//! symbols and nullable fields to `["null", T]` unions exactly, whatever serde's conventions are.

use apache_avro::types::Value;
use chrono::{DateTime, Utc};

use crate::{Action, Context, EventInput, Platform};

/// A listening event as it is stored on `listening-events` (`schemas/listening-event.avsc`).
#[derive(Debug, Clone, PartialEq)]
pub struct ListeningEvent {
    /// Unique id chosen by the phone.
    pub event_id: String,
    /// Keyed HMAC of the user id (hex).
    pub user_pseudonym: String,
    /// Listening session id.
    pub session_id: String,
    /// When it happened, epoch milliseconds.
    pub event_time: i64,
    /// When ingestion accepted it, epoch milliseconds.
    pub ingest_time: i64,
    /// What the listener did.
    pub action: Action,
    /// Catalog track id (track actions).
    pub track_id: Option<i64>,
    /// Position in session (track actions).
    pub position: Option<i32>,
    /// Milliseconds heard (track actions).
    pub listened_ms: Option<i64>,
    /// Track length in milliseconds (track actions).
    pub track_duration_ms: Option<i64>,
    /// Where playback was started from.
    pub context: Context,
    /// Device platform.
    pub platform: Platform,
    /// App version.
    pub app_version: String,
    /// Mood valence 1-9 (mood check-ins).
    pub mood_valence: Option<i32>,
    /// Mood arousal 1-9 (mood check-ins).
    pub mood_arousal: Option<i32>,
}

/// Where a refused input came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionSource {
    /// `POST /v1/events`.
    Http,
    /// gRPC `IngestService.Publish`.
    Grpc,
    /// A consumer that could not decode a record.
    Consumer,
}

/// A refused input as it is stored on a dead-letter topic (`schemas/rejected-event.avsc`).
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedEvent {
    /// Reason code.
    pub reason: String,
    /// Human-readable detail.
    pub detail: String,
    /// Entry point that refused it.
    pub source: RejectionSource,
    /// Event id, when it could be read.
    pub event_id: Option<String>,
    /// The pseudonymised input, when it could be pseudonymised.
    pub payload: Option<Vec<u8>>,
    /// Hex SHA-256 of the raw input.
    pub payload_sha256: String,
    /// When it was refused, epoch milliseconds.
    pub rejected_time: i64,
    /// Whether a retry may succeed.
    pub retryable: bool,
}

/// A record could not be read from an Avro value (the value does not follow our schema).
#[derive(Debug, thiserror::Error)]
#[error("avro value does not match {record}: {problem}")]
pub struct RecordError {
    record: &'static str,
    problem: String,
}

impl ListeningEvent {
    /// Builds the record for a validated input.
    pub fn from_input(
        input: &EventInput,
        user_pseudonym: String,
        ingest_time: DateTime<Utc>,
    ) -> Self {
        ListeningEvent {
            event_id: input.event_id.clone(),
            user_pseudonym,
            session_id: input.session_id.clone(),
            event_time: input.event_time.timestamp_millis(),
            ingest_time: ingest_time.timestamp_millis(),
            action: input.action,
            track_id: input.track_id,
            position: input.position,
            listened_ms: input.listened_ms,
            track_duration_ms: input.track_duration_ms,
            context: input.context,
            platform: input.platform,
            app_version: input.app_version.clone(),
            mood_valence: input.mood_valence,
            mood_arousal: input.mood_arousal,
        }
    }

    /// The Avro value, field order as in the schema.
    pub fn to_avro(&self) -> Value {
        Value::Record(vec![
            ("event_id".into(), Value::String(self.event_id.clone())),
            (
                "user_pseudonym".into(),
                Value::String(self.user_pseudonym.clone()),
            ),
            ("session_id".into(), Value::String(self.session_id.clone())),
            ("event_time".into(), Value::TimestampMillis(self.event_time)),
            (
                "ingest_time".into(),
                Value::TimestampMillis(self.ingest_time),
            ),
            (
                "action".into(),
                symbol(self.action.avro_index(), self.action.avro_symbol()),
            ),
            ("track_id".into(), nullable(self.track_id.map(Value::Long))),
            ("position".into(), nullable(self.position.map(Value::Int))),
            (
                "listened_ms".into(),
                nullable(self.listened_ms.map(Value::Long)),
            ),
            (
                "track_duration_ms".into(),
                nullable(self.track_duration_ms.map(Value::Long)),
            ),
            (
                "context".into(),
                symbol(self.context.avro_index(), self.context.avro_symbol()),
            ),
            (
                "platform".into(),
                symbol(self.platform.avro_index(), self.platform.avro_symbol()),
            ),
            (
                "app_version".into(),
                Value::String(self.app_version.clone()),
            ),
            (
                "mood_valence".into(),
                nullable(self.mood_valence.map(Value::Int)),
            ),
            (
                "mood_arousal".into(),
                nullable(self.mood_arousal.map(Value::Int)),
            ),
        ])
    }

    /// Reads the record from a value already resolved against our schema.
    pub fn from_avro(value: Value) -> Result<Self, RecordError> {
        let mut fields = Fields::new("ListeningEvent", value)?;
        Ok(ListeningEvent {
            event_id: fields.string("event_id")?,
            user_pseudonym: fields.string("user_pseudonym")?,
            session_id: fields.string("session_id")?,
            event_time: fields.timestamp("event_time")?,
            ingest_time: fields.timestamp("ingest_time")?,
            action: fields.symbol("action", Action::from_avro_symbol)?,
            track_id: fields.optional("track_id", as_long)?,
            position: fields.optional("position", as_int)?,
            listened_ms: fields.optional("listened_ms", as_long)?,
            track_duration_ms: fields.optional("track_duration_ms", as_long)?,
            context: fields.symbol("context", Context::from_avro_symbol)?,
            platform: fields.symbol("platform", Platform::from_avro_symbol)?,
            app_version: fields.string("app_version")?,
            mood_valence: fields.optional("mood_valence", as_int)?,
            mood_arousal: fields.optional("mood_arousal", as_int)?,
        })
    }
}

impl RejectionSource {
    fn avro(self) -> Value {
        match self {
            RejectionSource::Http => symbol(0, "HTTP"),
            RejectionSource::Grpc => symbol(1, "GRPC"),
            RejectionSource::Consumer => symbol(2, "CONSUMER"),
        }
    }

    fn from_symbol(symbol: &str) -> Option<Self> {
        match symbol {
            "HTTP" => Some(RejectionSource::Http),
            "GRPC" => Some(RejectionSource::Grpc),
            "CONSUMER" => Some(RejectionSource::Consumer),
            _ => None,
        }
    }
}

impl RejectedEvent {
    /// The Avro value, field order as in the schema.
    pub fn to_avro(&self) -> Value {
        Value::Record(vec![
            ("reason".into(), Value::String(self.reason.clone())),
            ("detail".into(), Value::String(self.detail.clone())),
            ("source".into(), self.source.avro()),
            (
                "event_id".into(),
                nullable(self.event_id.clone().map(Value::String)),
            ),
            (
                "payload".into(),
                nullable(self.payload.clone().map(Value::Bytes)),
            ),
            (
                "payload_sha256".into(),
                Value::String(self.payload_sha256.clone()),
            ),
            (
                "rejected_time".into(),
                Value::TimestampMillis(self.rejected_time),
            ),
            ("retryable".into(), Value::Boolean(self.retryable)),
        ])
    }

    /// Reads the record from a value already resolved against our schema.
    pub fn from_avro(value: Value) -> Result<Self, RecordError> {
        let mut fields = Fields::new("RejectedEvent", value)?;
        Ok(RejectedEvent {
            reason: fields.string("reason")?,
            detail: fields.string("detail")?,
            source: fields.symbol("source", RejectionSource::from_symbol)?,
            event_id: fields.optional("event_id", as_string)?,
            payload: fields.optional("payload", as_bytes)?,
            payload_sha256: fields.string("payload_sha256")?,
            rejected_time: fields.timestamp("rejected_time")?,
            retryable: matches!(fields.take("retryable")?, Value::Boolean(true)),
        })
    }
}

fn symbol(index: u32, name: &str) -> Value {
    Value::Enum(index, name.to_owned())
}

fn nullable(value: Option<Value>) -> Value {
    match value {
        Some(value) => Value::Union(1, Box::new(value)),
        None => Value::Union(0, Box::new(Value::Null)),
    }
}

/// The fields of a record value, taken out by name.
struct Fields {
    record: &'static str,
    fields: Vec<(String, Value)>,
}

impl Fields {
    fn new(record: &'static str, value: Value) -> Result<Self, RecordError> {
        match value {
            Value::Record(fields) => Ok(Fields { record, fields }),
            other => Err(RecordError {
                record,
                problem: format!("expected a record, got {other:?}"),
            }),
        }
    }

    fn error(&self, problem: String) -> RecordError {
        RecordError {
            record: self.record,
            problem,
        }
    }

    fn take(&mut self, name: &str) -> Result<Value, RecordError> {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some((_, value)) => Ok(std::mem::replace(value, Value::Null)),
            None => Err(self.error(format!("field {name} is missing"))),
        }
    }

    fn string(&mut self, name: &str) -> Result<String, RecordError> {
        let value = self.take(name)?;
        as_string(value).ok_or_else(|| self.error(format!("field {name} is not a string")))
    }

    fn timestamp(&mut self, name: &str) -> Result<i64, RecordError> {
        match self.take(name)? {
            Value::TimestampMillis(ms) | Value::Long(ms) => Ok(ms),
            other => Err(self.error(format!("field {name} is not a timestamp: {other:?}"))),
        }
    }

    fn symbol<T>(&mut self, name: &str, parse: fn(&str) -> Option<T>) -> Result<T, RecordError> {
        match self.take(name)? {
            Value::Enum(_, symbol) => parse(&symbol)
                .ok_or_else(|| self.error(format!("{name} has unknown symbol {symbol}"))),
            other => Err(self.error(format!("field {name} is not an enum: {other:?}"))),
        }
    }

    fn optional<T>(
        &mut self,
        name: &str,
        read: fn(Value) -> Option<T>,
    ) -> Result<Option<T>, RecordError> {
        let value = match self.take(name)? {
            Value::Union(_, inner) => *inner,
            other => other,
        };
        match value {
            Value::Null => Ok(None),
            other => read(other)
                .map(Some)
                .ok_or_else(|| self.error(format!("field {name} has the wrong type"))),
        }
    }
}

fn as_string(value: Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

fn as_bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::Bytes(b) => Some(b),
        _ => None,
    }
}

fn as_long(value: Value) -> Option<i64> {
    match value {
        Value::Long(v) => Some(v),
        Value::Int(v) => Some(i64::from(v)),
        _ => None,
    }
}

fn as_int(value: Value) -> Option<i32> {
    match value {
        Value::Int(v) => Some(v),
        _ => None,
    }
}
