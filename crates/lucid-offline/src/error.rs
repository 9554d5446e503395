//! The crate's errors. Each names the file it is about, so an operator can find it.
//!
//! Retrying helps only with I/O errors (a full disk, a file being moved); a file that does not
//! follow the schema or a feature that does not exist stays wrong until someone fixes it.

use std::path::{Path, PathBuf};

/// A log or training-set file that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The file system refused an operation.
    #[error("failed to {action} {path}: {source}")]
    Io {
        /// What was being done, for example `create`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The Parquet encoder or decoder failed.
    #[error("parquet error in {path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Arrow could not build or read a batch.
    #[error("arrow error in {path}: {source}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: arrow_schema::ArrowError,
    },
    /// The file does not follow the offline log schema.
    #[error("{path} does not follow the offline log schema: {problem}")]
    Schema {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the column.
        problem: String,
    },
    /// A requested feature cannot be backfilled.
    #[error("cannot backfill {feature}: {problem}")]
    Feature {
        /// Full feature name.
        feature: String,
        /// Why not.
        problem: String,
    },
    /// The feature store's read failed (a bug: the in-memory store holds only what it wrote).
    #[error("failed to read features: {0}")]
    Read(#[from] lucid_features::ReadError),
}

impl OfflineError {
    /// Whether the same call may succeed later: only I/O errors may.
    pub fn is_retryable(&self) -> bool {
        matches!(self, OfflineError::Io { .. })
    }

    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        OfflineError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn parquet(path: &Path, source: parquet::errors::ParquetError) -> Self {
        OfflineError::Parquet {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn arrow(path: &Path, source: arrow_schema::ArrowError) -> Self {
        OfflineError::Arrow {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn schema(path: &Path, problem: impl Into<String>) -> Self {
        OfflineError::Schema {
            path: path.to_owned(),
            problem: problem.into(),
        }
    }
}
