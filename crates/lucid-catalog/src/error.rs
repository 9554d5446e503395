//! Why a catalog could not be loaded.
//!
//! Every variant names the file at fault. None of them is helped by retrying: the files must be
//! fetched again (`scripts/fetch-data`) or fixed.

use std::io;
use std::path::PathBuf;

/// A failure to load the catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A data file does not exist.
    #[error("catalog file {} is missing; run scripts/fetch-data to download it", path.display())]
    Missing {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// A data file exists but could not be read.
    #[error("failed to read catalog file {}", path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The features file is not JSON of the expected column-oriented shape.
    #[error("{} is not valid echonest features JSON: {source}", path.display())]
    Json {
        /// The features file.
        path: PathBuf,
        /// What serde_json found, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The metadata CSV is unreadable, lacks a column, or a row holds a bad value.
    #[error("{}: {message}", path.display())]
    Csv {
        /// The metadata file.
        path: PathBuf,
        /// What is wrong, naming the line and column where there is one.
        message: String,
    },
    /// A value in a file breaks the catalog's rules (out of range, duplicate id, missing cell).
    #[error("{}: {message}", path.display())]
    BadValue {
        /// The file holding the value.
        path: PathBuf,
        /// What is wrong, naming the track or row.
        message: String,
    },
    /// Tracks given in memory break the catalog's rules (duplicate id).
    #[error("invalid catalog: {0}")]
    Invalid(String),
}

impl CatalogError {
    /// Maps an error opening a file to [`CatalogError::Missing`] or [`CatalogError::Read`].
    pub(crate) fn open(path: PathBuf, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound {
            CatalogError::Missing { path }
        } else {
            CatalogError::Read { path, source }
        }
    }
}
