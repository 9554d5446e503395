//! Writing a training set to Parquet.
//!
//! Columns: `event_id`, `event_time` (timestamp ms, UTC), `session_id`, `user_pseudonym`,
//! `track_id` (nullable), `label_skip` (nullable: no outcome logged), then per feature, in
//! request order, `<feature>` (f64, null unless the status is present) and `<feature>__status`
//! (`present`, `not_found` or `stale`). The file is written under a hidden temporary name and
//! renamed, so it appears whole or not at all.

use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use lucid_features::Status;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::backfill::Row;
use crate::error::OfflineError;

/// The suffix of the status column of each feature.
pub const STATUS_SUFFIX: &str = "__status";

/// The name written in a status column.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Present => "present",
        Status::NotFound => "not_found",
        Status::Stale => "stale",
    }
}

/// Writes `rows`, whose values are of `features` in that order, to a Parquet file at `path`.
pub fn write_training_set(
    path: &Path,
    features: &[String],
    rows: &[Row],
) -> Result<(), OfflineError> {
    if let Some(row) = rows.iter().find(|r| r.features.len() != features.len()) {
        let problem = format!(
            "{} values for {} features",
            row.features.len(),
            features.len()
        );
        return Err(OfflineError::Feature {
            feature: row.event_id.clone(),
            problem,
        });
    }
    let batch = batch(features, rows).map_err(|e| OfflineError::arrow(path, e))?;

    let name = path.file_name().map_or_else(
        || "training.parquet".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let temp = path.with_file_name(format!(".{name}.tmp"));
    let result = write(&temp, &batch);
    if let Err(error) = result {
        // Best effort: the hidden temporary file is harmless if it stays.
        let _ = fs::remove_file(&temp);
        return Err(error);
    }
    fs::rename(&temp, path).map_err(|e| OfflineError::io("rename", &temp, e))
}

fn write(path: &Path, batch: &RecordBatch) -> Result<(), OfflineError> {
    let file = File::create(path).map_err(|e| OfflineError::io("create", path, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))
        .map_err(|e| OfflineError::parquet(path, e))?;
    writer
        .write(batch)
        .map_err(|e| OfflineError::parquet(path, e))?;
    let file = writer
        .into_inner()
        .map_err(|e| OfflineError::parquet(path, e))?;
    file.sync_all()
        .map_err(|e| OfflineError::io("sync", path, e))
}

fn batch(features: &[String], rows: &[Row]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let utc = || DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    let mut fields = vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new("event_time", utc(), false),
        Field::new("session_id", DataType::Utf8, false),
        Field::new("user_pseudonym", DataType::Utf8, false),
        Field::new("track_id", DataType::Int64, true),
        Field::new("label_skip", DataType::Boolean, true),
    ];
    let text = |f: fn(&Row) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let mut columns: Vec<ArrayRef> = vec![
        text(|r| &r.event_id),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.event_time))
                .with_timezone("UTC"),
        ),
        text(|r| &r.session_id),
        text(|r| &r.user_pseudonym),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.track_id))),
        Arc::new(BooleanArray::from_iter(rows.iter().map(|r| r.label_skip))),
    ];

    for (i, name) in features.iter().enumerate() {
        fields.push(Field::new(name, DataType::Float64, true));
        fields.push(Field::new(
            format!("{name}{STATUS_SUFFIX}"),
            DataType::Utf8,
            false,
        ));
        let value = |r: &Row| {
            let v = r.features[i];
            v.value.filter(|_| v.status == Status::Present)
        };
        columns.push(Arc::new(Float64Array::from_iter(rows.iter().map(value))));
        let status = rows.iter().map(|r| status_name(r.features[i].status));
        columns.push(Arc::new(StringArray::from_iter_values(status)));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}
