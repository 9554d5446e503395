//! Reading the offline log back: every Parquet file under a directory, recursively.
//!
//! Hidden entries (names starting with `.`, such as the writer's temporary files) are skipped,
//! and so are files not ending in `.parquet`. Files are read in path order, so the result does
//! not depend on the order the file system lists them in.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::codec::decode;
use crate::error::OfflineError;
use crate::schema::LoggedEvent;

/// Every event of every Parquet file under `dir`.
///
/// A record can be logged twice (the writer flushed it, then the process died before storing
/// how far it got, and the record was consumed again); its partition and offset identify it, so
/// the second copy is dropped here. One log folder holds one topic.
pub fn read_events(dir: impl AsRef<Path>) -> Result<Vec<LoggedEvent>, OfflineError> {
    let mut events = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for path in parquet_files(dir.as_ref())? {
        let fresh = read_file(&path)?
            .into_iter()
            .filter(|e| seen.insert((e.partition, e.offset)));
        events.extend(fresh);
    }
    Ok(events)
}

/// The events of one offline log file.
pub fn read_file(path: &Path) -> Result<Vec<LoggedEvent>, OfflineError> {
    let file = File::open(path).map_err(|e| OfflineError::io("open", path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| OfflineError::parquet(path, e))?;
    let mut events = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| OfflineError::arrow(path, e))?;
        events.extend(decode(&batch, path)?);
    }
    Ok(events)
}

/// The visible `.parquet` files under `dir`, sorted by path.
pub fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>, OfflineError> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries = fs::read_dir(&folder).map_err(|e| OfflineError::io("list", &folder, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| OfflineError::io("list", &folder, e))?;
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry
                .file_type()
                .map_err(|e| OfflineError::io("inspect", &path, e))?;
            if kind.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}
