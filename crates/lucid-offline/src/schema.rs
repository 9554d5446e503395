//! What one row of the offline log holds, and its Parquet schema.
//!
//! The columns are listed once, in [`EVENT_COLUMNS`]; the Arrow schema is built from that list
//! and the codec writes and reads the columns by those names.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use lucid_events::ListeningEvent;
use lucid_features::TrackAttrs;

/// A listening event as the feature store consumed it, with what the backfill needs to replay it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    /// The event as it was on `listening-events`.
    pub event: ListeningEvent,
    /// The catalog attributes joined to its track; `None` without a track or a catalog entry.
    pub attrs: Option<TrackAttrs>,
    /// Whether the consumer's watermark judged it late (and so did not apply it).
    pub late: bool,
    /// Kafka partition it was read from.
    pub partition: i32,
    /// Kafka offset it was read at.
    pub offset: i64,
}

/// The type of a column of the offline log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text; enums are written as their JSON names (`mood_checkin`).
    Utf8,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 64-bit float.
    Float64,
    /// Boolean.
    Boolean,
    /// Milliseconds since the Unix epoch, UTC.
    TimestampMs,
}

/// One column of the offline log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Column name.
    pub name: &'static str,
    /// Column type.
    pub kind: ColumnType,
    /// Whether it may hold nulls.
    pub nullable: bool,
}

const fn column(name: &'static str, kind: ColumnType, nullable: bool) -> Column {
    Column {
        name,
        kind,
        nullable,
    }
}

/// The columns of every offline log file, in file order.
///
/// - The 15 fields of [`ListeningEvent`] under their own names; `Option` fields are nullable and
///   `action`, `context` and `platform` hold the enums' JSON names.
/// - `track_energy` to `track_acousticness`: the joined [`TrackAttrs`], all null when the event
///   had none; `track_genre_hiphop` is also null when the genre is unknown.
/// - `late`, `partition`, `offset`: where and how the consumer saw the event.
pub const EVENT_COLUMNS: [Column; 24] = {
    use ColumnType::{Boolean, Float64, Int32, Int64, TimestampMs, Utf8};
    [
        column("event_id", Utf8, false),
        column("user_pseudonym", Utf8, false),
        column("session_id", Utf8, false),
        column("event_time", TimestampMs, false),
        column("ingest_time", TimestampMs, false),
        column("action", Utf8, false),
        column("track_id", Int64, true),
        column("position", Int32, true),
        column("listened_ms", Int64, true),
        column("track_duration_ms", Int64, true),
        column("context", Utf8, false),
        column("platform", Utf8, false),
        column("app_version", Utf8, false),
        column("mood_valence", Int32, true),
        column("mood_arousal", Int32, true),
        column("track_energy", Float64, true),
        column("track_valence", Float64, true),
        column("track_tempo", Float64, true),
        column("track_danceability", Float64, true),
        column("track_acousticness", Float64, true),
        column("track_genre_hiphop", Boolean, true),
        column("late", Boolean, false),
        column("partition", Int32, false),
        column("offset", Int64, false),
    ]
};

impl ColumnType {
    /// The Arrow type of the column.
    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::Utf8 => DataType::Utf8,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::TimestampMs => {
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
            }
        }
    }
}

/// The Arrow schema of [`EVENT_COLUMNS`].
pub fn event_schema() -> SchemaRef {
    let fields: Vec<Field> = EVENT_COLUMNS
        .iter()
        .map(|c| Field::new(c.name, c.kind.data_type(), c.nullable))
        .collect();
    Arc::new(Schema::new(fields))
}
