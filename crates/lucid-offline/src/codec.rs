//! Logged events to Arrow record batches and back, column by column as [`EVENT_COLUMNS`] lists
//! them.
//!
//! Decoding finds columns by name, so a file whose columns were reordered still reads; a missing
//! column, a column of another type, a null where none is allowed or an unknown enum name is an
//! error naming the file and the column.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, PrimitiveArray,
    RecordBatch, StringArray, TimestampMillisecondArray, types::ArrowPrimitiveType,
};
use arrow_schema::ArrowError;
use lucid_events::{Action, Context, ListeningEvent, Platform};
use lucid_features::TrackAttrs;

use crate::error::OfflineError;
use crate::schema::{EVENT_COLUMNS, LoggedEvent, event_schema};

/// One record batch holding `events`, in order.
pub(crate) fn encode(events: &[LoggedEvent]) -> Result<RecordBatch, ArrowError> {
    let ev = || events.iter().map(|l| &l.event);
    let attr = |f: fn(&TrackAttrs) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter(
            events.iter().map(|l| l.attrs.as_ref().map(f)),
        ))
    };
    let text = |f: fn(&ListeningEvent) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(ev().map(f)))
    };
    let time = |f: fn(&ListeningEvent) -> i64| -> ArrayRef {
        Arc::new(TimestampMillisecondArray::from_iter_values(ev().map(f)).with_timezone("UTC"))
    };
    let columns: Vec<ArrayRef> = vec![
        text(|e| &e.event_id),
        text(|e| &e.user_pseudonym),
        text(|e| &e.session_id),
        time(|e| e.event_time),
        time(|e| e.ingest_time),
        text(|e| e.action.as_str()),
        Arc::new(Int64Array::from_iter(ev().map(|e| e.track_id))),
        Arc::new(Int32Array::from_iter(ev().map(|e| e.position))),
        Arc::new(Int64Array::from_iter(ev().map(|e| e.listened_ms))),
        Arc::new(Int64Array::from_iter(ev().map(|e| e.track_duration_ms))),
        text(|e| e.context.as_str()),
        text(|e| e.platform.as_str()),
        text(|e| &e.app_version),
        Arc::new(Int32Array::from_iter(ev().map(|e| e.mood_valence))),
        Arc::new(Int32Array::from_iter(ev().map(|e| e.mood_arousal))),
        attr(|a| a.energy),
        attr(|a| a.valence),
        attr(|a| a.tempo),
        attr(|a| a.danceability),
        attr(|a| a.acousticness),
        Arc::new(BooleanArray::from_iter(
            events
                .iter()
                .map(|l| l.attrs.as_ref().and_then(|a| a.genre_hiphop)),
        )),
        Arc::new(BooleanArray::from_iter(events.iter().map(|l| Some(l.late)))),
        Arc::new(Int32Array::from_iter_values(
            events.iter().map(|l| l.partition),
        )),
        Arc::new(Int64Array::from_iter_values(
            events.iter().map(|l| l.offset),
        )),
    ];
    debug_assert_eq!(columns.len(), EVENT_COLUMNS.len());
    RecordBatch::try_new(event_schema(), columns)
}

/// The events of one record batch read from `path`.
pub(crate) fn decode(batch: &RecordBatch, path: &Path) -> Result<Vec<LoggedEvent>, OfflineError> {
    let c = Columns { batch, path };
    let (event_id, user, session) = (
        c.text("event_id")?,
        c.text("user_pseudonym")?,
        c.text("session_id")?,
    );
    let (event_time, ingest_time) = (c.time("event_time")?, c.time("ingest_time")?);
    let (action, context, platform, app_version) = (
        c.text("action")?,
        c.text("context")?,
        c.text("platform")?,
        c.text("app_version")?,
    );
    let (track_id, position) = (c.primitive::<Int64Array>("track_id")?, c.int32("position")?);
    let listened_ms = c.primitive::<Int64Array>("listened_ms")?;
    let track_duration_ms = c.primitive::<Int64Array>("track_duration_ms")?;
    let (mood_valence, mood_arousal) = (c.int32("mood_valence")?, c.int32("mood_arousal")?);
    let attrs = [
        "track_energy",
        "track_valence",
        "track_tempo",
        "track_danceability",
        "track_acousticness",
    ]
    .map(|name| c.primitive::<Float64Array>(name));
    let [energy, valence, tempo, danceability, acousticness] = attrs;
    let (energy, valence, tempo) = (energy?, valence?, tempo?);
    let (danceability, acousticness) = (danceability?, acousticness?);
    let (hiphop, late) = (c.bools("track_genre_hiphop")?, c.bools("late")?);
    let partition = c.int32("partition")?;
    let offset = c.primitive::<Int64Array>("offset")?;

    let mut events = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let required = |name: &str, present: bool| {
            present
                .then_some(())
                .ok_or_else(|| OfflineError::schema(path, format!("null in {name}, row {i}")))
        };
        let attrs = match get(energy, i) {
            None => None,
            Some(energy) => {
                let read = |name: &str, a: &Float64Array| {
                    get(a, i).ok_or_else(|| {
                        OfflineError::schema(
                            path,
                            format!("null in {name} beside an energy, row {i}"),
                        )
                    })
                };
                Some(TrackAttrs {
                    energy,
                    valence: read("track_valence", valence)?,
                    tempo: read("track_tempo", tempo)?,
                    danceability: read("track_danceability", danceability)?,
                    acousticness: read("track_acousticness", acousticness)?,
                    genre_hiphop: (!hiphop.is_null(i)).then(|| hiphop.value(i)),
                })
            }
        };
        required("late", !late.is_null(i))?;
        required("partition", !partition.is_null(i))?;
        required("offset", !offset.is_null(i))?;
        let event = ListeningEvent {
            event_id: c.string(event_id, "event_id", i)?,
            user_pseudonym: c.string(user, "user_pseudonym", i)?,
            session_id: c.string(session, "session_id", i)?,
            event_time: c.value(event_time, "event_time", i)?,
            ingest_time: c.value(ingest_time, "ingest_time", i)?,
            action: c.symbol(action, "action", i, Action::ALL, Action::as_str)?,
            track_id: get(track_id, i),
            position: get(position, i),
            listened_ms: get(listened_ms, i),
            track_duration_ms: get(track_duration_ms, i),
            context: c.symbol(context, "context", i, Context::ALL, Context::as_str)?,
            platform: c.symbol(platform, "platform", i, Platform::ALL, Platform::as_str)?,
            app_version: c.string(app_version, "app_version", i)?,
            mood_valence: get(mood_valence, i),
            mood_arousal: get(mood_arousal, i),
        };
        events.push(LoggedEvent {
            event,
            attrs,
            late: late.value(i),
            partition: partition.value(i),
            offset: offset.value(i),
        });
    }
    Ok(events)
}

fn get<T: ArrowPrimitiveType>(array: &PrimitiveArray<T>, i: usize) -> Option<T::Native> {
    (!array.is_null(i)).then(|| array.value(i))
}

/// The columns of one batch, looked up by name and type.
struct Columns<'a> {
    batch: &'a RecordBatch,
    path: &'a Path,
}

impl<'a> Columns<'a> {
    fn column<A: Array + 'static>(&self, name: &str) -> Result<&'a A, OfflineError> {
        let array = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| OfflineError::schema(self.path, format!("no column {name}")))?;
        array.as_any().downcast_ref::<A>().ok_or_else(|| {
            let found = array.data_type();
            OfflineError::schema(self.path, format!("column {name} has type {found}"))
        })
    }

    fn text(&self, name: &str) -> Result<&'a StringArray, OfflineError> {
        self.column(name)
    }

    fn time(&self, name: &str) -> Result<&'a TimestampMillisecondArray, OfflineError> {
        self.column(name)
    }

    fn int32(&self, name: &str) -> Result<&'a Int32Array, OfflineError> {
        self.column(name)
    }

    fn bools(&self, name: &str) -> Result<&'a BooleanArray, OfflineError> {
        self.column(name)
    }

    fn primitive<A: Array + 'static>(&self, name: &str) -> Result<&'a A, OfflineError> {
        self.column(name)
    }

    fn null(&self, name: &str, i: usize) -> OfflineError {
        OfflineError::schema(self.path, format!("null in {name}, row {i}"))
    }

    fn string(&self, array: &StringArray, name: &str, i: usize) -> Result<String, OfflineError> {
        if array.is_null(i) {
            return Err(self.null(name, i));
        }
        Ok(array.value(i).to_owned())
    }

    fn value<T: ArrowPrimitiveType>(
        &self,
        array: &PrimitiveArray<T>,
        name: &str,
        i: usize,
    ) -> Result<T::Native, OfflineError> {
        get(array, i).ok_or_else(|| self.null(name, i))
    }

    /// The enum value whose JSON name is in row `i`.
    fn symbol<T: Copy>(
        &self,
        array: &StringArray,
        name: &str,
        i: usize,
        all: &[T],
        as_str: fn(T) -> &'static str,
    ) -> Result<T, OfflineError> {
        if array.is_null(i) {
            return Err(self.null(name, i));
        }
        let text = array.value(i);
        all.iter()
            .copied()
            .find(|v| as_str(*v) == text)
            .ok_or_else(|| OfflineError::schema(self.path, format!("unknown {name} {text:?}")))
    }
}
