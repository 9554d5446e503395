//! The offline log writer: logged events into Parquet files partitioned by event date.
//!
//! Rows are held in memory per UTC event date and written on [`OfflineLog::flush`], which the
//! writer also calls itself once [`OfflineLog::flush_rows`] rows are pending. Each flush writes one
//! file per date, `date=YYYY-MM-DD/part-<unix_ms>-<seq>.parquet`. A file is written under a
//! hidden temporary name, synced, then renamed, so a reader listing the directory sees whole
//! files only (rename is atomic within one file system).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::DateTime;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::codec::encode;
use crate::error::OfflineError;
use crate::schema::{LoggedEvent, event_schema};

/// Rows pending before the writer flushes on its own, unless set otherwise.
pub const DEFAULT_FLUSH_ROWS: usize = 100_000;

/// An offline log directory open for appending.
#[derive(Debug)]
pub struct OfflineLog {
    dir: PathBuf,
    flush_rows: usize,
    pending: BTreeMap<String, Vec<LoggedEvent>>,
    pending_rows: usize,
    seq: u64,
}

impl OfflineLog {
    /// Opens (creating it if needed) the log in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, OfflineError> {
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir).map_err(|e| OfflineError::io("create", &dir, e))?;
        Ok(OfflineLog {
            dir,
            flush_rows: DEFAULT_FLUSH_ROWS,
            pending: BTreeMap::new(),
            pending_rows: 0,
            seq: 0,
        })
    }

    /// Sets how many pending rows make [`OfflineLog::append`] flush (at least 1).
    pub fn with_flush_rows(mut self, rows: usize) -> Self {
        self.flush_rows = rows.max(1);
        self
    }

    /// Rows pending before an append flushes.
    pub fn flush_rows(&self) -> usize {
        self.flush_rows
    }

    /// Rows appended but not yet written.
    pub fn pending_rows(&self) -> usize {
        self.pending_rows
    }

    /// Adds events; writes them all once the pending rows reach the threshold.
    pub fn append(&mut self, events: &[LoggedEvent]) -> Result<(), OfflineError> {
        for event in events {
            let date = event_date(event.event.event_time);
            self.pending.entry(date).or_default().push(event.clone());
        }
        self.pending_rows += events.len();
        if self.pending_rows >= self.flush_rows {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the pending rows, one file per event date; returns the files written.
    ///
    /// On error the rows of the dates not yet written stay pending, so a retry writes them.
    pub fn flush(&mut self) -> Result<Vec<PathBuf>, OfflineError> {
        let mut written = Vec::new();
        while let Some((date, rows)) = self.pending.pop_first() {
            match self.write_file(&date, &rows) {
                Ok(path) => {
                    self.pending_rows -= rows.len();
                    written.push(path);
                }
                Err(error) => {
                    self.pending.insert(date, rows);
                    return Err(error);
                }
            }
        }
        Ok(written)
    }

    fn write_file(&mut self, date: &str, rows: &[LoggedEvent]) -> Result<PathBuf, OfflineError> {
        let folder = self.dir.join(format!("date={date}"));
        fs::create_dir_all(&folder).map_err(|e| OfflineError::io("create", &folder, e))?;
        self.seq += 1;
        let name = format!("part-{}-{}.parquet", unix_ms(), self.seq);
        let path = folder.join(&name);
        let temp = folder.join(format!(".{name}.tmp"));

        let result = write_parquet(&temp, rows);
        if let Err(error) = result {
            // Best effort: a leftover hidden temp file is ignored by readers anyway.
            let _ = fs::remove_file(&temp);
            return Err(error);
        }
        fs::rename(&temp, &path).map_err(|e| OfflineError::io("rename", &temp, e))?;
        Ok(path)
    }
}

/// Writes `rows` to a new Parquet file at `path` and syncs it.
fn write_parquet(path: &Path, rows: &[LoggedEvent]) -> Result<(), OfflineError> {
    let batch = encode(rows).map_err(|e| OfflineError::arrow(path, e))?;
    let file = File::create(path).map_err(|e| OfflineError::io("create", path, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(file, event_schema(), Some(props))
        .map_err(|e| OfflineError::parquet(path, e))?;
    writer
        .write(&batch)
        .map_err(|e| OfflineError::parquet(path, e))?;
    let file = writer
        .into_inner()
        .map_err(|e| OfflineError::parquet(path, e))?;
    file.sync_all()
        .map_err(|e| OfflineError::io("sync", path, e))
}

/// The UTC date of an epoch-milliseconds time, `YYYY-MM-DD`.
pub fn event_date(event_time_ms: i64) -> String {
    match DateTime::from_timestamp_millis(event_time_ms) {
        Some(time) => time.format("%Y-%m-%d").to_string(),
        // Outside chrono's range (about ±262 000 years): keep such rows, in a folder of their own.
        None => "out-of-range".to_owned(),
    }
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_days() {
        // 2027-01-15T00:00:00Z is 1_799_971_200 s after the epoch.
        assert_eq!(event_date(1_799_971_200_000), "2027-01-15");
        assert_eq!(event_date(1_799_971_199_999), "2027-01-14");
        assert_eq!(event_date(0), "1970-01-01");
        assert_eq!(event_date(-1), "1969-12-31");
    }
}
