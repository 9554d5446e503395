//! The JSON event a phone sends, parsed strictly.
//!
//! Unknown fields are refused by name, and a wrong type names the field it was found in, so a
//! client developer can fix the app from the error alone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Action, Context, Platform, Reason, Rejection};

/// One event as the phone sends it to `POST /v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Unique id chosen by the phone, reused on retries.
    pub event_id: String,
    /// The app's user id. Replaced by a pseudonym before anything leaves ingestion.
    pub user_id: String,
    /// Listening session id chosen by the phone.
    pub session_id: String,
    /// When the action happened (RFC 3339, for example `2026-12-03T17:00:00.250Z`).
    pub event_time: DateTime<Utc>,
    /// What the listener did.
    pub action: Action,
    /// Catalog track id (track actions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_id: Option<i64>,
    /// 0-based position of the track in the session (track actions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i32>,
    /// Milliseconds of the track heard so far (track actions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listened_ms: Option<i64>,
    /// Length of the track in milliseconds (track actions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_duration_ms: Option<i64>,
    /// Where playback was started from.
    pub context: Context,
    /// Device platform.
    pub platform: Platform,
    /// App version string.
    pub app_version: String,
    /// Mood check-ins only: valence 1-9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mood_valence: Option<i32>,
    /// Mood check-ins only: arousal 1-9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mood_arousal: Option<i32>,
}

/// Parses one element of the request array into an [`EventInput`].
///
/// The error names the field at fault and carries a reason code.
pub fn parse_event(value: &Value) -> Result<EventInput, Rejection> {
    if !value.is_object() {
        return Err(Rejection::event(
            Reason::NotAnObject,
            format!(
                "each event must be a JSON object, found {}",
                json_kind(value)
            ),
        ));
    }

    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        classify(&path, &inner)
    })
}

/// Turns serde's message into a reason code and a field name.
///
/// serde_json's messages for these cases are stable (`missing field`, `unknown field`,
/// `invalid type`, `unknown variant`); anything else is an invalid value.
fn classify(path: &str, message: &str) -> Rejection {
    let quoted = quoted_name(message);

    let (reason, field) = if message.starts_with("missing field") {
        (Reason::MissingField, quoted.unwrap_or(path))
    } else if message.starts_with("unknown field") {
        (Reason::UnknownField, quoted.unwrap_or(path))
    } else if message.starts_with("invalid type") {
        (Reason::InvalidType, path)
    } else {
        (Reason::InvalidValue, path)
    };

    let message = strip_position(message);
    if field.is_empty() || field == "." {
        Rejection::event(reason, message)
    } else {
        Rejection::field(reason, field, format!("{field}: {message}"))
    }
}

/// The first back-quoted name in a serde message, such as `user_id` in "missing field `user_id`".
fn quoted_name(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// serde_json appends " at line 1 column 5" for text input; values have no position, but be safe.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn play() -> Value {
        json!({
            "event_id": "0b9c5a52-7c1e-4d5e-9f1a-1c2d3e4f5a6b",
            "user_id": "user-42",
            "session_id": "s-1",
            "event_time": "2026-12-03T17:00:00.250Z",
            "action": "play",
            "track_id": 2,
            "position": 0,
            "listened_ms": 0,
            "track_duration_ms": 180000,
            "context": "therapy_program",
            "platform": "android",
            "app_version": "4.12.0"
        })
    }

    #[test]
    fn parses_a_play_event() {
        let event = parse_event(&play()).expect("valid");
        assert_eq!(event.action, Action::Play);
        assert_eq!(event.track_id, Some(2));
        assert_eq!(event.event_time.timestamp_millis(), 1_796_317_200_250);
    }

    #[test]
    fn unknown_field_is_named() {
        let mut value = play();
        value["volume"] = json!(7);
        let rejection = parse_event(&value).expect_err("unknown field");
        assert_eq!(rejection.reason, Reason::UnknownField);
        assert_eq!(rejection.field.as_deref(), Some("volume"));
    }

    #[test]
    fn missing_field_is_named() {
        let mut value = play();
        value.as_object_mut().expect("object").remove("user_id");
        let rejection = parse_event(&value).expect_err("missing field");
        assert_eq!(rejection.reason, Reason::MissingField);
        assert_eq!(rejection.field.as_deref(), Some("user_id"));
    }

    #[test]
    fn wrong_type_names_the_field() {
        let mut value = play();
        value["listened_ms"] = json!("a lot");
        let rejection = parse_event(&value).expect_err("wrong type");
        assert_eq!(rejection.reason, Reason::InvalidType);
        assert_eq!(rejection.field.as_deref(), Some("listened_ms"));
    }

    #[test]
    fn unknown_action_is_an_invalid_value() {
        let mut value = play();
        value["action"] = json!("rewind");
        let rejection = parse_event(&value).expect_err("bad enum");
        assert_eq!(rejection.reason, Reason::InvalidValue);
        assert_eq!(rejection.field.as_deref(), Some("action"));
    }

    #[test]
    fn non_object_is_refused() {
        let rejection = parse_event(&json!(17)).expect_err("not an object");
        assert_eq!(rejection.reason, Reason::NotAnObject);
    }
}
