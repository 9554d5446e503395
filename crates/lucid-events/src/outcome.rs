//! What ingestion answers for a batch: one outcome per event, in request order.
//!
//! Shared by the HTTP API (as JSON) and by clients such as the simulator.

use serde::{Deserialize, Serialize};

use crate::Rejection;

/// The answer to `POST /v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishResponse {
    /// Events produced to `listening-events` by this request.
    pub accepted: u32,
    /// Events already seen within the idempotency window; not produced again.
    pub duplicates: u32,
    /// Events refused; see each outcome's reason.
    pub rejected: u32,
    /// One outcome per event, in request order.
    pub results: Vec<EventOutcome>,
}

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventOutcome {
    /// Position of the event in the request array.
    pub index: u32,
    /// The event's id, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Accepted, duplicate or rejected.
    pub status: Status,
    /// Reason code, for rejected events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Field at fault, for rejected events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Explanation, for rejected events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether sending it again later may succeed, for rejected events.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retryable: bool,
}

/// The three outcomes of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In Kafka: the broker confirmed it.
    Accepted,
    /// Seen before within the idempotency window.
    Duplicate,
    /// Refused; see the reason.
    Rejected,
}

/// The answer to a request refused as a whole (auth, size, unreadable body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorBody,
}

/// Code and message of a request-level error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code, for example `unauthenticated`, `body_too_large`, `malformed_json`.
    pub code: String,
    /// Explanation for people.
    pub message: String,
}

impl EventOutcome {
    /// An accepted or duplicate event.
    pub fn ok(index: u32, event_id: Option<String>, status: Status) -> Self {
        EventOutcome {
            index,
            event_id,
            status,
            reason: None,
            field: None,
            message: None,
            retryable: false,
        }
    }

    /// A refused event.
    pub fn rejected(index: u32, event_id: Option<String>, rejection: &Rejection) -> Self {
        EventOutcome {
            index,
            event_id,
            status: Status::Rejected,
            reason: Some(rejection.reason.code().to_owned()),
            field: rejection.field.clone(),
            message: Some(rejection.message.clone()),
            retryable: rejection.reason.retryable(),
        }
    }
}

impl PublishResponse {
    /// Builds the counts from the outcomes.
    pub fn from_results(results: Vec<EventOutcome>) -> Self {
        let count = |s: Status| results.iter().filter(|r| r.status == s).count() as u32;
        PublishResponse {
            accepted: count(Status::Accepted),
            duplicates: count(Status::Duplicate),
            rejected: count(Status::Rejected),
            results,
        }
    }

    /// True when some event should be sent again (the broker was unavailable for it).
    pub fn has_retryable(&self) -> bool {
        self.results.iter().any(|r| r.retryable)
    }
}
