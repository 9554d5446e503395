//! Stable reason codes for refused events.
//!
//! The codes are part of the API: clients switch on them and the dead-letter topic stores them.
//! Add new codes; never rename one.

use std::fmt;

/// Why an event (or a whole request) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The request body is not valid JSON.
    MalformedJson,
    /// The body is JSON but not an array of objects.
    NotAnArray,
    /// An element of the array is not a JSON object.
    NotAnObject,
    /// A required field is absent or null.
    MissingField,
    /// A field the schema does not know.
    UnknownField,
    /// A field has the wrong JSON type.
    InvalidType,
    /// A field has a value outside its allowed set (enum name, id format, timestamp format).
    InvalidValue,
    /// A number is outside its allowed range.
    OutOfRange,
    /// A field is present that this action must not carry.
    FieldNotAllowed,
    /// The event time lies further in the future than the allowed clock skew.
    EventTimeInFuture,
    /// The event time is older than the allowed age.
    EventTimeTooOld,
    /// Another request with the same event id is being processed right now; retry later.
    InFlight,
    /// The broker did not confirm the event in time; retry later.
    Unavailable,
}

impl Reason {
    /// The machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::MalformedJson => "malformed_json",
            Reason::NotAnArray => "not_an_array",
            Reason::NotAnObject => "not_an_object",
            Reason::MissingField => "missing_field",
            Reason::UnknownField => "unknown_field",
            Reason::InvalidType => "invalid_type",
            Reason::InvalidValue => "invalid_value",
            Reason::OutOfRange => "out_of_range",
            Reason::FieldNotAllowed => "field_not_allowed",
            Reason::EventTimeInFuture => "event_time_in_future",
            Reason::EventTimeTooOld => "event_time_too_old",
            Reason::InFlight => "in_flight",
            Reason::Unavailable => "unavailable",
        }
    }

    /// True when sending the same input again later may succeed.
    pub fn retryable(self) -> bool {
        matches!(self, Reason::InFlight | Reason::Unavailable)
    }

    /// True when the input itself is bad and so belongs on the dead-letter topic.
    ///
    /// Retryable refusals are not dead-lettered: the client still holds the event and sends it
    /// again, so storing it would only create a second copy.
    pub fn dead_letters(self) -> bool {
        !self.retryable()
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A refusal of one event: the reason code, the field at fault and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The stable reason code.
    pub reason: Reason,
    /// The JSON path of the offending field, when there is one.
    pub field: Option<String>,
    /// What is wrong, in words, naming the field and the limit.
    pub message: String,
}

impl Rejection {
    /// A refusal about one field.
    pub fn field(reason: Reason, field: &str, message: impl Into<String>) -> Self {
        Rejection {
            reason,
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// A refusal about the event as a whole.
    pub fn event(reason: Reason, message: impl Into<String>) -> Self {
        Rejection {
            reason,
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}
