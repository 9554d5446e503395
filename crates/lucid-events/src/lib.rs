//! Listening events as they travel through the platform.
//!
//! - [`input`]: the JSON a phone sends to ingestion, parsed strictly.
//! - [`validate`]: the rules an input must meet before it is produced to Kafka.
//! - [`record`]: the `ListeningEvent` and `RejectedEvent` Avro records (see `schemas/`).
//! - [`reason`]: the stable reason codes used in per-event outcomes and the dead-letter topic.

pub mod input;
pub mod outcome;
pub mod reason;
pub mod record;
pub mod validate;

mod kinds;

pub use input::{EventInput, parse_event};
pub use kinds::{Action, Context, Platform};
pub use outcome::{ErrorBody, ErrorResponse, EventOutcome, PublishResponse, Status};
pub use reason::{Reason, Rejection};
pub use record::{ListeningEvent, RejectedEvent, RejectionSource};
pub use validate::{Limits, validate};
