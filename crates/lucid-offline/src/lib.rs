//! The offline side of the feature store: the event log in Parquet and the point-in-time
//! backfill of training sets from it.
//!
//! - [`schema`]: [`LoggedEvent`], one row of the log, and the columns ([`EVENT_COLUMNS`]).
//! - [`writer`]: [`OfflineLog`], which writes date-partitioned files, whole or not at all.
//! - [`reader`]: [`read_events`], which reads every file under a directory.
//! - [`backfill`]: [`training_set`], which replays the log through the feature store's own
//!   in-memory store, so a training row holds what the online store would have served.
//! - [`as_of`]: [`features_as_of`], feature values at given (entity, time) pairs.
//! - [`training`]: [`write_training_set`], the training set as a Parquet file.

pub mod as_of;
pub mod backfill;
pub mod error;
pub mod reader;
pub mod schema;
pub mod training;
pub mod writer;

mod codec;

pub use as_of::{AsOf, features_as_of};
pub use backfill::{Backfill, Row, training_set};
pub use error::OfflineError;
pub use reader::{read_events, read_file};
pub use schema::{Column, ColumnType, EVENT_COLUMNS, LoggedEvent, event_schema};
pub use training::{STATUS_SUFFIX, status_name, write_training_set};
pub use writer::{DEFAULT_FLUSH_ROWS, OfflineLog, event_date};
